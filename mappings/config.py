"""The configuration file, ``edi.toml``: who submits, through which clearinghouses, to which payers.

.. code-block:: toml

    [submitter]                 # loop 1000A, and the sender in ISA06 / GS02
    name = "SYNTH BILLING"      # NM103
    id = "SYNTHSUB01"           # NM109 (ETIN the clearinghouse assigned)
    contact_name = "BILLING OFFICE"
    phone = "5555550100"        # 10 digits; "555-555-0100" is accepted
    # email = "..."             optional
    # isa_qualifier = "ZZ"      optional, ISA05 (default ZZ)
    # isa_id = "SYNTHSUB01"     optional, ISA06 (default: id; at most 15 characters)
    # gs_id = "SYNTHSUB01"      optional, GS02 (default: id)

    [clearinghouses.hub]        # one table per clearinghouse; "hub" is the key payers name
    name = "SYNTH HUB"          # 1000B NM103
    isa_qualifier = "ZZ"        # ISA07: 01, 14, 20, 27, 28, 29, 30, 33 or ZZ
    isa_id = "SYNTHHUB"         # ISA08, at most 15 characters
    gs_id = "SYNTHHUB"          # GS03, 2 to 15 characters
    usage = "T"                 # ISA15: T test, P production
    # receiver_id = "SYNTHHUB"  optional, 1000B NM109 (default: isa_id)

    [clearinghouses.hub.transport]      # optional: how files reach the clearinghouse (edi.transport)
    kind = "sftp"                       # "directory" (plain folders) or "sftp"
    outbox = "/inbound/837"             # where 837s go (a folder, or a path on the SFTP server)
    inbox = "/outbound"                 # where TA1, 999, 277CA and 835 files are picked up
    host = "sftp.example.org"           # sftp only, as are the keys down to retry_delay
    user = "synthsub01"
    key_file = "~/.ssh/edi_hub"         # a private key; passphrase_env names the variable holding its passphrase
    # port = 22
    # known_hosts = "~/.ssh/known_hosts"
    # password_env = "EDI_HUB_PASSWORD" the environment variable holding a password (never the password here);
    #                                   like passphrase_env, a name of capitals, digits and _
    # timeout = 30                      seconds, for each step (connect, handshake, login, each request); a
    #                                   whole transfer gets twice that plus its size at 64 KiB/s
    # retries = 3                       further attempts after a refused, reset or timed-out connection
    # retry_delay = 1                   seconds before the first retry, doubled each time
    # remote_name = "{name}"            the uploaded file's name: {name} {isa13} {date} {time} {clearinghouse}
    # after_fetch = "leave"             after an import: "leave", "delete" or "move:<folder>" (in the inbox)

    Relative local paths (a directory transport's folders, key_file, known_hosts) are relative to the folder
    of edi.toml. A ``password`` or ``passphrase`` key is refused: secrets come only from the environment.

    [payers.acme]               # one table per payer; encounters name "acme" in their payer field
    name = "ACME HEALTH PLAN"   # 2010BB NM103
    payer_id = "ACME01"         # 2010BB NM109 (the clearinghouse's payer id)
    clearinghouse = "hub"       # a key of [clearinghouses]
    filing_indicator = "CI"     # SBR09: CI, MB, MA, MC, BL, HM, 12...
    # responsibility = "P"      optional, SBR01 (default P)
    # address = { line1 = "...", city = "...", state = "IL", zip = "62701" }   optional, 2010BB N3/N4
    # appeal_days = 180         optional: days to appeal a denial, from its payment date (edi ledger denials)
    # remit_ids = ["12345", "ACME-ERA"]   optional: the ids this payer's 835s name it by (REF*2U, else N1*PR
    #                           N104; or the N1*PR name of an 835 with no id) when they differ from payer_id

    [remit]                     # optional: posting 835s (edi remit import)
    # cross_payer = "suspense"  a claim payment whose claim was billed to another payer: "suspense" (held,
    #                           with a warning) or "post" (posted onto the claim, with a warning)

    [billing]                   # optional claim defaults
    # provider_signature = true       CLM06
    # assignment = "A"                CLM07: A, B or C
    # benefits_assigned = true        CLM08
    # release_of_information = "Y"    CLM09: Y or I
    # line_control_numbers = true     mapped claims carry REF*6R numbers: the line_id, else "<id>-<line number>"
    #                                 (the 837 writer sends a REF*6R on every line either way: 835 lines match by it)
    # non_ascii = "transliterate"     names, addresses, notes outside ASCII: spelled in ASCII with a warning
    #                                 naming each field (JOSÉ as JOSE), or "refuse" (an error instead)

A missing, mistyped or unknown key raises ``ConfigError`` naming the file and the key, with every problem of
the file in one message (one per line). This is the one place mappings raises: a configuration is read once,
before any encounter, and nothing useful can happen without it.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from edi.model import Address, Payer, Submitter
from edi.transport import KINDS, TransportConfig, after_fetch_problem, is_env_name, remote_name_pattern_problem
from mappings.codesets import (
    FILING_INDICATORS,
    ISA_QUALIFIERS,
    RESPONSIBILITY,
    UNWRITABLE_TEXT,
    US_STATES,
    X12_DELIMITERS,
)

#: What a clearinghouse key, which starts its 837 files' names (``<key>-<ISA13>.837``), may not hold: a path
#: separator, a control character, a leading dot (``..`` would leave the --out folder) or dash (an option to
#: the commands that get the file).
_NOT_IN_FILE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|\A[.-]")
#: Bytes a clearinghouse key may take: file names hold 255, and the temporary name adds about 20.
_KEY_BYTES = 100


class ConfigError(Exception):
    """A configuration problem. ``errors`` holds every ``(key, message)`` found; ``key`` is the first key."""

    def __init__(self, file: str, errors: list[tuple[str, str]]) -> None:
        self.file = file
        self.errors = tuple(errors)
        self.key = errors[0][0] if errors else ""
        super().__init__("\n".join(f"{file}: {message}" for _, message in errors))


@dataclass(frozen=True, slots=True)
class SubmitterConfig:
    name: str
    id: str
    contact_name: str
    phone: str
    email: str | None = None
    isa_qualifier: str = "ZZ"
    isa_id: str = ""
    gs_id: str = ""


@dataclass(frozen=True, slots=True)
class Clearinghouse:
    key: str
    name: str
    isa_qualifier: str
    isa_id: str
    gs_id: str
    usage: str  # ISA15: T or P
    receiver_id: str  # 1000B NM109
    transport: TransportConfig | None = None  # [clearinghouses.NAME.transport], when configured


@dataclass(frozen=True, slots=True)
class PayerProfile:
    key: str
    name: str
    payer_id: str
    clearinghouse: str
    filing_indicator: str
    responsibility: str = "P"
    address: Address | None = None
    #: the ids (or, for 835s that carry none, names) this payer's 835s name it by, when not payer_id
    remit_ids: tuple[str, ...] = ()
    #: days from a denial's payment date to appeal it (edi ledger denials); None: not configured
    appeal_days: int | None = None

    def payer(self) -> Payer:
        return Payer(name=self.name, payer_id=self.payer_id, filing_indicator=self.filing_indicator,
                     responsibility=self.responsibility, address=self.address)


@dataclass(frozen=True, slots=True)
class BillingDefaults:
    provider_signature: bool = True
    assignment: str = "A"
    benefits_assigned: bool = True
    release_of_information: str = "Y"
    line_control_numbers: bool = True
    #: names, addresses and free text outside ASCII: "transliterate" (spelled in ASCII, with a warning naming
    #: each field) or "refuse" (an error naming each field); see mappings.encounter.to_ascii
    non_ascii: str = "transliterate"


#: What ``[remit] cross_payer`` may say (edi.ledger.post.CROSS_PAYER: mappings does not import the ledger).
CROSS_PAYER = frozenset({"suspense", "post"})


@dataclass(frozen=True, slots=True)
class RemitDefaults:
    cross_payer: str = "suspense"


@dataclass(frozen=True, slots=True)
class Config:
    submitter: SubmitterConfig
    clearinghouses: Mapping[str, Clearinghouse]
    payers: Mapping[str, PayerProfile]
    billing: BillingDefaults = field(default_factory=BillingDefaults)
    file: str | None = None
    remit: RemitDefaults = field(default_factory=RemitDefaults)

    def payer_matching(self):
        """How ``edi remit import`` matches an 835's payer to the payers claims were billed to: each payer's
        ``remit_ids`` as aliases of its ``payer_id``, and ``[remit] cross_payer`` (an
        ``edi.ledger.PayerMatching``)."""
        from edi.ledger.post import PayerMatching, payer_id_key, payer_name_key

        aliases: dict[str, set[str]] = {}
        for p in self.payers.values():
            billed = payer_id_key(p.payer_id)
            if billed is None:
                continue
            for alias in p.remit_ids:
                for key in {payer_id_key(alias), payer_name_key(alias)} - {None}:
                    aliases.setdefault(key, set()).add(billed)
        return PayerMatching(aliases=MappingProxyType({k: frozenset(v) for k, v in aliases.items()}),
                             cross_payer=self.remit.cross_payer)

    def clearinghouse_for(self, payer_key: str) -> Clearinghouse:
        return self.clearinghouses[self.payers[payer_key].clearinghouse]

    def submitter_for(self, payer_key: str) -> Submitter:
        """The 1000A submitter with the 1000B receiver of the payer's clearinghouse."""
        ch = self.clearinghouse_for(payer_key)
        s = self.submitter
        return Submitter(name=s.name, id=s.id, contact_name=s.contact_name, phone=s.phone, email=s.email,
                         receiver_name=ch.name, receiver_id=ch.receiver_id)


# -- reading --------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[tuple[str, str]] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append((key, message))

    def table(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> Mapping[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                self.error(path, f"[{path}] is missing")
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"{path} must be a table ([{path}])")
            return {}
        return value

    def known(self, data: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                self.error(where, f"{where} is not a known key (expected one of: {', '.join(allowed)})")

    def text(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True,
             default: str | None = None, min_len: int = 1, max_len: int = 80, ascii: bool = False) -> str | None:
        where = f"{path}.{key}"
        value = data.get(key)
        if value is None:
            if required:
                self.error(where, f"{where} is missing")
            return default
        if not isinstance(value, str):
            self.error(where, f"{where} must be a string (in quotes)")
            return default
        value = value.strip()
        if not min_len <= len(value) <= max_len:
            self.error(where, f"{where} must have {min_len} to {max_len} characters, not {len(value)}")
            return default
        bad = sorted(set(value) & X12_DELIMITERS)
        if bad:
            self.error(where, f"{where} contains {', '.join(repr(c) for c in bad)}, which X12 uses as a "
                       "delimiter")
            return default
        if UNWRITABLE_TEXT.search(value):
            self.error(where, f"{where} contains a control character, a line separator or a lone surrogate, "
                       "which cannot be written into an X12 element")
            return default
        if ascii and not (value.isascii() and value.isprintable()):
            self.error(where, f"{where} must be plain ASCII: the ISA and GS ids are fixed-width fields "
                       "counted in bytes")
            return default
        return value

    def choice(self, data: Mapping[str, Any], key: str, path: str, choices: Mapping[str, str] | frozenset[str],
               *, required: bool = True, default: str | None = None) -> str | None:
        value = self.text(data, key, path, required=required, default=None)
        if value is None:
            return default
        if value not in choices:
            where = f"{path}.{key}"
            self.error(where, f'{where} is "{value}"; expected one of: {", ".join(sorted(choices))}')
            return default
        return value

    def flag(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(f"{path}.{key}", f"{path}.{key} must be true or false")
            return default
        return value


def config_from_dict(data: Mapping[str, Any], *, file: str = "edi.toml") -> Config:
    """Build a ``Config`` from parsed TOML, raising one ``ConfigError`` that lists every problem."""
    r = _Reader(file)
    r.known(data, ("submitter", "clearinghouses", "payers", "billing", "remit"), "")

    s = r.table(data, "submitter", "submitter")
    r.known(s, ("name", "id", "contact_name", "phone", "email", "isa_qualifier", "isa_id", "gs_id"), "submitter")
    sub_id = r.text(s, "id", "submitter", min_len=2, max_len=80, ascii=True) or ""
    phone = r.text(s, "phone", "submitter")
    if phone is not None:
        digits = "".join(ch for ch in phone if ch not in " -().+")
        if not (digits.isascii() and digits.isdigit() and len(digits) == 10):
            r.error("submitter.phone", "submitter.phone must be a 10-digit telephone number")
        phone = digits
    isa_id = r.text(s, "isa_id", "submitter", required=False, max_len=15, ascii=True)
    if isa_id is None and "isa_id" not in s and len(sub_id) > 15:
        r.error("submitter.isa_id", "submitter.isa_id is missing: it defaults to submitter.id, which is longer "
                "than the 15 characters ISA06 allows")
    gs_id = r.text(s, "gs_id", "submitter", required=False, min_len=2, max_len=15, ascii=True)
    if gs_id is None and "gs_id" not in s and len(sub_id) > 15:
        r.error("submitter.gs_id", "submitter.gs_id is missing: it defaults to submitter.id, which is longer "
                "than the 15 characters GS02 allows")
    submitter = SubmitterConfig(
        name=r.text(s, "name", "submitter", max_len=60) or "",
        id=sub_id,
        contact_name=r.text(s, "contact_name", "submitter", max_len=60) or "",
        phone=phone or "",
        email=r.text(s, "email", "submitter", required=False, max_len=256),
        isa_qualifier=r.choice(s, "isa_qualifier", "submitter", ISA_QUALIFIERS, required=False, default="ZZ")
        or "ZZ",
        isa_id=isa_id or sub_id[:15],
        gs_id=gs_id or sub_id[:15],
    )

    clearinghouses: dict[str, Clearinghouse] = {}
    chs = r.table(data, "clearinghouses", "clearinghouses")
    if isinstance(data.get("clearinghouses"), Mapping) and not chs:
        r.error("clearinghouses", "[clearinghouses] has no clearinghouse: add a [clearinghouses.NAME] table")
    for key, ch in chs.items():
        path = f"clearinghouses.{key}"
        if _NOT_IN_FILE_NAME.search(key) or len(key.encode("utf-8", "surrogatepass")) > _KEY_BYTES:
            r.error(path, f"{path}: a clearinghouse's name starts its 837 files' names: no '/', '\\', control "
                    f"character, leading '.' or '-', and at most {_KEY_BYTES} bytes")
            continue
        if not isinstance(ch, Mapping):
            r.error(path, f"{path} must be a table ([{path}])")
            continue
        r.known(ch, ("name", "isa_qualifier", "isa_id", "gs_id", "usage", "receiver_id", "transport"), path)
        ch_isa = r.text(ch, "isa_id", path, max_len=15, ascii=True) or ""
        clearinghouses[key] = Clearinghouse(
            key=key,
            name=r.text(ch, "name", path, max_len=60) or "",
            isa_qualifier=r.choice(ch, "isa_qualifier", path, ISA_QUALIFIERS) or "ZZ",
            isa_id=ch_isa,
            gs_id=r.text(ch, "gs_id", path, min_len=2, max_len=15, ascii=True) or "",
            usage=r.choice(ch, "usage", path, frozenset({"T", "P"})) or "T",
            receiver_id=r.text(ch, "receiver_id", path, required=False, min_len=2, max_len=80) or ch_isa,
            transport=_transport(r, ch, path, Path(file).parent),
        )

    payers: dict[str, PayerProfile] = {}
    ps = r.table(data, "payers", "payers")
    if isinstance(data.get("payers"), Mapping) and not ps:
        r.error("payers", "[payers] has no payer: add a [payers.NAME] table")
    for key, p in ps.items():
        path = f"payers.{key}"
        if not isinstance(p, Mapping):
            r.error(path, f"{path} must be a table ([{path}])")
            continue
        r.known(p, ("name", "payer_id", "clearinghouse", "filing_indicator", "responsibility", "address",
                    "remit_ids", "appeal_days"), path)
        ch_key = r.text(p, "clearinghouse", path) or ""
        if ch_key and ch_key not in chs:
            r.error(f"{path}.clearinghouse", f'{path}.clearinghouse names "{ch_key}", which is not in '
                    "[clearinghouses]")
        payers[key] = PayerProfile(
            key=key,
            name=r.text(p, "name", path, max_len=60) or "",
            payer_id=r.text(p, "payer_id", path, min_len=2, max_len=80) or "",
            clearinghouse=ch_key,
            filing_indicator=r.choice(p, "filing_indicator", path, FILING_INDICATORS) or "CI",
            responsibility=r.choice(p, "responsibility", path, RESPONSIBILITY, required=False, default="P") or "P",
            address=_address(r, p, path),
            remit_ids=_remit_ids(r, p, path),
            appeal_days=_appeal_days(r, p, path),
        )

    b = r.table(data, "billing", "billing", required=False)
    r.known(b, ("provider_signature", "assignment", "benefits_assigned", "release_of_information",
                "line_control_numbers", "non_ascii"), "billing")
    billing = BillingDefaults(
        provider_signature=r.flag(b, "provider_signature", "billing", True),
        assignment=r.choice(b, "assignment", "billing", frozenset("ABC"), required=False, default="A") or "A",
        benefits_assigned=r.flag(b, "benefits_assigned", "billing", True),
        release_of_information=r.choice(b, "release_of_information", "billing", frozenset("YI"), required=False,
                                        default="Y") or "Y",
        line_control_numbers=r.flag(b, "line_control_numbers", "billing", True),
        non_ascii=r.choice(b, "non_ascii", "billing", frozenset({"transliterate", "refuse"}), required=False,
                           default="transliterate") or "transliterate",
    )

    rm = r.table(data, "remit", "remit", required=False)
    r.known(rm, ("cross_payer",), "remit")
    remit = RemitDefaults(cross_payer=r.choice(rm, "cross_payer", "remit", CROSS_PAYER, required=False,
                                               default="suspense") or "suspense")

    if r.errors:
        raise ConfigError(file, r.errors)
    return Config(submitter=submitter, clearinghouses=MappingProxyType(clearinghouses),
                  payers=MappingProxyType(payers), billing=billing, file=file, remit=remit)


def _appeal_days(r: _Reader, p: Mapping[str, Any], path: str) -> int | None:
    """``appeal_days``: a whole number of days from 1 to 3650 (ten years), or absent."""
    value = p.get("appeal_days")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        r.error(f"{path}.appeal_days", f"{path}.appeal_days must be a whole number of days from 1 to 3650 "
                "(without quotes), as in appeal_days = 180")
        return None
    return value


def _remit_ids(r: _Reader, p: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """``remit_ids``: a list of 1 to 20 ids (or names), each 1 to 80 characters without control characters."""
    where = f"{path}.remit_ids"
    value = p.get("remit_ids")
    if value is None:
        return ()
    if not isinstance(value, list) or not 1 <= len(value) <= 20:
        r.error(where, f'{where} must be a list of 1 to 20 ids in quotes, as in remit_ids = ["12345", "ACME-ERA"]')
        return ()
    out: list[str] = []
    for k, item in enumerate(value):
        text = r.text({f"remit_ids[{k}]": item}, f"remit_ids[{k}]", path, max_len=80)
        if text is not None and text not in out:
            out.append(text)
    return tuple(out)


def _address(r: _Reader, p: Mapping[str, Any], path: str) -> Address | None:
    a = r.table(p, "address", f"{path}.address", required=False)
    if not a:
        return None
    where = f"{path}.address"
    r.known(a, ("line1", "line2", "city", "state", "zip"), where)
    state = r.choice(a, "state", where, US_STATES)
    zip_ = (r.text(a, "zip", where) or "").replace("-", "")
    if zip_ and not (zip_.isascii() and zip_.isdigit() and len(zip_) in (5, 9)):
        r.error(f"{where}.zip", f"{where}.zip must have 5 or 9 digits")
    return Address(line1=r.text(a, "line1", where, max_len=55) or "", line2=r.text(a, "line2", where,
                   required=False, max_len=55), city=r.text(a, "city", where, max_len=30) or "",
                   state=state or "", zip=zip_)


_SFTP_KEYS = ("host", "port", "user", "key_file", "known_hosts", "passphrase_env", "password_env", "timeout",
              "retries", "retry_delay")
_TRANSPORT_KEYS = ("kind", "outbox", "inbox", "remote_name", "after_fetch", *_SFTP_KEYS)
#: Keys that would put a secret in the file: refused, pointing at the ``*_env`` key to use instead.
_SECRET_KEYS = {"password": "password_env", "passphrase": "passphrase_env"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _transport(r: _Reader, ch: Mapping[str, Any], ch_path: str, base: Path) -> TransportConfig | None:
    """``[clearinghouses.NAME.transport]``, or None when the clearinghouse has none. Relative local paths
    are made relative to ``base``, the folder of edi.toml."""
    path = f"{ch_path}.transport"
    t = r.table(ch, "transport", path, required=False)
    if "transport" not in ch or not isinstance(ch.get("transport"), Mapping):
        return None
    for key, env_key in _SECRET_KEYS.items():
        if key in t:
            r.error(f"{path}.{key}", f"{path}.{key}: secrets are never read from edi.toml; put the {key} in an "
                    f"environment variable and name that variable with {env_key}")
    r.known({k: v for k, v in t.items() if k not in _SECRET_KEYS}, _TRANSPORT_KEYS, path)

    kind = r.choice(t, "kind", path, frozenset(KINDS))
    sftp = kind == "sftp"

    def plain(key: str, *, required: bool = False, max_len: int = 1024, spaces: bool = True) -> str | None:
        where = f"{path}.{key}"
        value = t.get(key)
        if value is None:
            if required:
                r.error(where, f"{where} is missing")
            return None
        if not isinstance(value, str):
            r.error(where, f"{where} must be a string (in quotes)")
            return None
        value = value.strip()
        if not 1 <= len(value) <= max_len:
            r.error(where, f"{where} must have 1 to {max_len} characters, not {len(value)}")
            return None
        if _CONTROL.search(value) or (not spaces and " " in value):
            r.error(where, f"{where} contains a control character{'' if spaces else ' or a space'}")
            return None
        return value

    def local(value: str | None) -> str | None:
        if value is None or value.startswith("~") or Path(value).is_absolute() or base == Path("."):
            return value
        return str(base / value)

    def number(key: str, default: float, low: float, high: float, *, integer: bool = False,
               low_open: bool = False) -> float:
        where = f"{path}.{key}"
        value = t.get(key, default)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            r.error(where, f"{where} must be {'a whole number' if integer else 'a number'}")
            return default
        if not math.isfinite(value):  # TOML has nan and inf: no comparison below would catch nan
            r.error(where, f"{where} must be a finite number, not {value}")
            return default
        if value < low or value > high or (low_open and value == low):
            r.error(where, f"{where} must be {'more than' if low_open else 'at least'} {low:g} and at most "
                    f"{high:g}, not {value}")
            return default
        return value

    if kind == "directory":
        for key in _SFTP_KEYS:
            if key in t:
                r.error(f"{path}.{key}", f'{path}.{key} is only for kind = "sftp"')
    outbox = plain("outbox", required=True)
    inbox = plain("inbox", required=True)
    if kind == "directory":
        outbox, inbox = local(outbox), local(inbox)

    remote_name = plain("remote_name", max_len=200) or "{name}"
    problem = remote_name_pattern_problem(remote_name)
    if problem:
        r.error(f"{path}.remote_name", f"{path}.remote_name {problem}")
    after_fetch = plain("after_fetch") or "leave"
    problem = after_fetch_problem(after_fetch)
    if problem:
        r.error(f"{path}.after_fetch", f"{path}.after_fetch {problem}")

    envs = {}
    for key in ("passphrase_env", "password_env"):
        envs[key] = plain(key, max_len=200)
        if envs[key] is not None and not is_env_name(envs[key]):
            # the value is never echoed: it may be the secret itself, pasted in place of a name
            r.error(f"{path}.{key}", f"{path}.{key} must name an environment variable (capital letters, digits "
                    "and _, not starting with a digit, as in EDI_HUB_PASSWORD), not hold the secret itself; "
                    "the value is not shown")
    host = plain("host", required=sftp, max_len=253, spaces=False)
    user = plain("user", required=sftp, max_len=128, spaces=False)
    key_file = local(plain("key_file"))
    if sftp:
        if key_file is None and envs["password_env"] is None and "key_file" not in t and "password_env" not in t:
            r.error(f"{path}.key_file", f"{path}: set key_file (a private key) or password_env (the environment "
                    "variable holding a password), or both")
        if envs["passphrase_env"] is not None and key_file is None and "key_file" not in t:
            r.error(f"{path}.passphrase_env", f"{path}.passphrase_env is the passphrase of key_file, which is "
                    "not set")
    port = number("port", 22, 1, 65535, integer=True)
    timeout = number("timeout", 30.0, 0, 3600, low_open=True)
    retries = number("retries", 3, 0, 10, integer=True)
    retry_delay = number("retry_delay", 1.0, 0, 60)

    if kind is None or outbox is None or inbox is None:
        return None
    return TransportConfig(
        kind=kind, outbox=outbox, inbox=inbox, host=host, port=int(port), user=user, key_file=key_file,
        known_hosts=local(plain("known_hosts")), passphrase_env=envs["passphrase_env"],
        password_env=envs["password_env"], remote_name=remote_name, timeout=float(timeout), retries=int(retries),
        retry_delay=float(retry_delay), after_fetch=after_fetch)


def parse_config(text: str, *, file: str = "edi.toml") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, [("", f"is not valid TOML: {exc}")]) from None
    return config_from_dict(data, file=file)


def load_config(path: str | Path) -> Config:
    """Read and check ``edi.toml``. Raises ``ConfigError`` (naming the file and each key) on any problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, [("", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, [("", f"cannot be read: {exc.__class__.__name__}")]) from None
    return parse_config(text, file=file)


# -- the starter configuration (edi init) ---------------------------------------------------------------------

_STARTER = '''\
# edi.toml: who submits claims, through which clearinghouse, to which payers.
# Every value below is an example: replace it with what your clearinghouse enrolment gave you.
# Values may not contain * ~ : ^ (X12 delimiters). `edi` refuses unknown keys, so a typo is reported.

[submitter]                        # 837 loop 1000A and the ISA/GS sender
name = "EXAMPLE BILLING OFFICE"    # NM103, at most 60 characters
id = "EXAMPLESUB01"                # NM109: the submitter id (ETIN) the clearinghouse assigned you
contact_name = "BILLING OFFICE"    # PER02
phone = "5555550100"               # PER04, 10 digits
# email = "billing@example.org"    # optional, a second PER contact
# isa_qualifier = "ZZ"             # ISA05 (default ZZ, mutually defined)
# isa_id = "EXAMPLESUB01"          # ISA06 (default: id), at most 15 characters
# gs_id = "EXAMPLESUB01"           # GS02 (default: id)

# One table per clearinghouse. The name after the dot is the key payers refer to.
[clearinghouses.example_hub]
name = "EXAMPLE CLEARINGHOUSE"     # 1000B NM103
isa_qualifier = "ZZ"               # ISA07: 01, 14, 20, 27, 28, 29, 30, 33 or ZZ
isa_id = "EXAMPLEHUB"              # ISA08, at most 15 characters
gs_id = "EXAMPLEHUB"               # GS03
usage = "T"                        # ISA15: T while testing, P in production
# receiver_id = "EXAMPLEHUB"       # 1000B NM109 (default: isa_id)

# How files reach this clearinghouse (optional): a drop folder, or its SFTP mailbox.
# [clearinghouses.example_hub.transport]
# kind = "sftp"                    # or "directory" (outbox and inbox are then local folders)
# outbox = "/inbound"              # where 837s are uploaded
# inbox = "/outbound"              # where TA1, 999, 277CA and 835 files are picked up
# host = "sftp.example.org"
# user = "examplesub01"
# key_file = "~/.ssh/edi_example_hub"  # its public key registered with the clearinghouse
# passphrase_env = "EDI_KEY_PASSPHRASE"  # the environment variable holding the key's passphrase, if any
# known_hosts = "~/.ssh/known_hosts"   # the server's key must be there: `edi transport trust example_hub`
# remote_name = "{name}"           # or e.g. "{isa13}_{date}{time}.837"
# after_fetch = "leave"            # or "delete", or "move:processed"

# One table per payer. Encounters name the key ("example_plan") in their payer field.
[payers.example_plan]
name = "EXAMPLE HEALTH PLAN"       # 2010BB NM103
payer_id = "EXAMPLE01"             # 2010BB NM109: the payer id from the clearinghouse payer list
clearinghouse = "example_hub"      # a key of [clearinghouses]
filing_indicator = "CI"            # SBR09: CI commercial, MB Medicare Part B, MA Part A, MC Medicaid, BL BCBS...
# responsibility = "P"             # SBR01: P primary, S secondary, T tertiary

[billing]                          # claim defaults (these are the defaults)
provider_signature = true          # CLM06: signature on file
assignment = "A"                   # CLM07: A assigned, B lab services only, C not assigned
benefits_assigned = true           # CLM08
release_of_information = "Y"       # CLM09: Y signed statement, I informed consent
line_control_numbers = true        # mapped claims carry REF*6R (line_id, else "<encounter id>-<line number>");
                                   # the 837 writer generates one for every line anyway
'''


def starter_toml() -> str:
    """A commented starter ``edi.toml`` (for ``edi init``) that loads as it is."""
    return _STARTER
