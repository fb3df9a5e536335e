"""edi.toml: the sample and the starter load; every mistake is a ConfigError naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from mapping_helpers import SAMPLES

from edi.model import Payer, Submitter
from edi.transport import TransportConfig
from mappings.config import ConfigError, load_config, parse_config, starter_toml

GOOD = '''
[submitter]
name = "SYNTH BILLING"
id = "SYNBILL01"
contact_name = "BILLING DESK"
phone = "555-555-0100"

[clearinghouses.hub]
name = "SYNTH HUB"
isa_qualifier = "ZZ"
isa_id = "SYNTHHUB"
gs_id = "SYNTHHUB"
usage = "T"

[payers.acme]
name = "ACME SYNTHETIC HEALTH PLAN"
payer_id = "SYNACME1"
clearinghouse = "hub"
filing_indicator = "CI"
'''


def errors_of(text: str, file: str = "edi.toml") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, file=file)
    return info.value


def test_sample_configuration_loads() -> None:
    cfg = load_config(SAMPLES / "edi.toml")
    assert set(cfg.payers) == {"acme", "blueplan", "medicare_b", "medicare_a", "medicaid"}
    assert set(cfg.clearinghouses) == {"synthhub", "testbridge"}
    assert cfg.payers["medicare_b"].payer() == Payer(name="SYNTHETIC MEDICARE PART B", payer_id="SYNMCRB1",
                                                     filing_indicator="MB")
    assert cfg.payers["medicare_a"].address is not None and cfg.payers["medicare_a"].address.zip == "627010002"
    assert cfg.clearinghouse_for("medicaid").name == "TEST BRIDGE EDI"
    assert cfg.submitter_for("medicaid") == Submitter(
        name="SYNTHETIC BILLING SERVICE", id="SYNBILL01", contact_name="BILLING DESK", phone="5555550100",
        email="billing@example.org", receiver_name="TEST BRIDGE EDI", receiver_id="TESTBRIDGE01")
    assert cfg.submitter.isa_id == "SYNBILL01" and cfg.submitter.gs_id == "SYNBILL01"
    assert cfg.file == str(SAMPLES / "edi.toml")


def test_starter_toml_loads_and_is_commented() -> None:
    text = starter_toml()
    cfg = parse_config(text)
    assert list(cfg.payers) == ["example_plan"] and list(cfg.clearinghouses) == ["example_hub"]
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith("#")) >= 5


def test_defaults() -> None:
    cfg = parse_config(GOOD)
    assert cfg.submitter.phone == "5555550100"
    assert cfg.submitter.isa_qualifier == "ZZ"
    assert cfg.clearinghouses["hub"].receiver_id == "SYNTHHUB"
    assert cfg.payers["acme"].responsibility == "P"
    b = cfg.billing
    assert (b.provider_signature, b.assignment, b.benefits_assigned, b.release_of_information,
            b.line_control_numbers) == (True, "A", True, "Y", True)


def test_configuration_is_read_only() -> None:
    cfg = parse_config(GOOD)
    with pytest.raises(TypeError):
        cfg.payers["other"] = cfg.payers["acme"]  # type: ignore[index]


def test_a_clearinghouse_key_may_hold_spaces_and_letters_of_any_language() -> None:
    text = GOOD.replace("[clearinghouses.hub]", '[clearinghouses."synth hüb"]').replace(
        'clearinghouse = "hub"', 'clearinghouse = "synth hüb"')
    assert list(parse_config(text).clearinghouses) == ["synth hüb"]


def test_unknown_clearinghouse_names_key_and_file() -> None:
    err = errors_of(GOOD.replace('clearinghouse = "hub"', 'clearinghouse = "x"'))
    assert str(err) == 'edi.toml: payers.acme.clearinghouse names "x", which is not in [clearinghouses]'
    assert err.key == "payers.acme.clearinghouse" and err.file == "edi.toml"


@pytest.mark.parametrize(("old", "new", "key", "text"), [
    ('name = "SYNTH BILLING"\n', "", "submitter.name", "submitter.name is missing"),
    ('payer_id = "SYNACME1"\n', "", "payers.acme.payer_id", "payers.acme.payer_id is missing"),
    ('usage = "T"', 'usage = "X"', "clearinghouses.hub.usage", 'clearinghouses.hub.usage is "X"; expected one of: '
     "P, T"),
    ('filing_indicator = "CI"', 'filing_indicator = "XX"', "payers.acme.filing_indicator",
     'payers.acme.filing_indicator is "XX"'),
    ('isa_qualifier = "ZZ"', 'isa_qualifier = "99"', "clearinghouses.hub.isa_qualifier",
     "clearinghouses.hub.isa_qualifier"),
    ('isa_id = "SYNTHHUB"', 'isa_id = "SYNTHHUB-TOO-LONG-ID"', "clearinghouses.hub.isa_id",
     "must have 1 to 15 characters"),
    ('phone = "555-555-0100"', "phone = 5555550100", "submitter.phone", "submitter.phone must be a string"),
    ('phone = "555-555-0100"', 'phone = "555-0100"', "submitter.phone", "10-digit"),
    ('name = "ACME SYNTHETIC HEALTH PLAN"', 'name = "ACME*PLAN"', "payers.acme.name",
     "payers.acme.name contains '*', which X12 uses as a delimiter"),
    ('filing_indicator = "CI"', 'filing_indicator = "CI"\nfilling_indicator = "CI"',
     "payers.acme.filling_indicator", "payers.acme.filling_indicator is not a known key"),
    ('id = "SYNBILL01"', 'id = "SYNTHETICBILLINGSUBMITTER"', "submitter.isa_id", "longer than the 15 characters"),
    # what the writer cannot write, refused where it is configured (it crashed or half-wrote the build)
    ('name = "SYNTH HUB"', 'name = "SYNTH\\u0085HUB"', "clearinghouses.hub.name", "a control character"),
    ('name = "SYNTH HUB"', 'name = "SYNTH\\u2028HUB"', "clearinghouses.hub.name", "a line separator"),
    ('name = "SYNTH HUB"', 'name = "SYNTH\\tHUB"', "clearinghouses.hub.name", "a control character"),
    ('gs_id = "SYNTHHUB"', 'gs_id = "SYNTH\\u0085HUB"', "clearinghouses.hub.gs_id", "a control character"),
    ('isa_id = "SYNTHHUB"', 'isa_id = "SYNTHHÜB"', "clearinghouses.hub.isa_id", "must be plain ASCII"),
    ('id = "SYNBILL01"', 'id = "SYNBILLÉ1"', "submitter.id", "must be plain ASCII"),
    # the key names the 837 files
    ("[clearinghouses.hub]", '[clearinghouses."sub/hub"]', "clearinghouses.sub/hub", "no '/'"),
    ("[clearinghouses.hub]", '[clearinghouses."../up"]', "clearinghouses.../up", "leading '.'"),
    ("[clearinghouses.hub]", '[clearinghouses."-rf"]', "clearinghouses.-rf", "leading '.' or '-'"),
    ("[clearinghouses.hub]", '[clearinghouses."' + "漢" * 40 + '"]', "clearinghouses." + "漢" * 40,
     "at most 100 bytes"),
])
def test_a_wrong_key_is_named(old: str, new: str, key: str, text: str) -> None:
    assert old in GOOD
    err = errors_of(GOOD.replace(old, new, 1))
    assert key in [k for k, _ in err.errors]
    assert text in str(err)
    assert all(line.startswith("edi.toml: ") for line in str(err).splitlines())


def test_missing_tables() -> None:
    err = errors_of('[submitter]\nname = "A"\nid = "AB"\ncontact_name = "C"\nphone = "5555550100"\n')
    assert [k for k, _ in err.errors] == ["clearinghouses", "payers"]
    err = errors_of(GOOD + "\n[payers.broken]\n")
    assert "payers.broken.name is missing" in str(err)
    err = errors_of(GOOD.replace("[clearinghouses.hub]", "[other]"))
    assert {"other", "clearinghouses"} <= {k for k, _ in err.errors}


def test_every_problem_is_listed() -> None:
    err = errors_of(GOOD.replace('usage = "T"', 'usage = "Q"').replace('filing_indicator = "CI"', ""))
    assert [k for k, _ in err.errors] == ["clearinghouses.hub.usage", "payers.acme.filing_indicator"]
    assert len(str(err).splitlines()) == 2


def test_billing_section() -> None:
    cfg = parse_config(GOOD + '\n[billing]\nassignment = "C"\nline_control_numbers = false\n')
    assert cfg.billing.assignment == "C" and cfg.billing.line_control_numbers is False
    err = errors_of(GOOD + '\n[billing]\nprovider_signature = "yes"\n')
    assert str(err) == "edi.toml: billing.provider_signature must be true or false"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    err = errors_of("[submitter\n", file="bad.toml")
    assert str(err).startswith("bad.toml: is not valid TOML")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert str(info.value) == f"{tmp_path / 'absent.toml'}: no such file"
    bad = tmp_path / "edi.toml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(bad)


# -- [clearinghouses.NAME.transport] --------------------------------------------------------------------------

SFTP = GOOD + '''
[clearinghouses.hub.transport]
kind = "sftp"
outbox = "/inbound/837"
inbox = "/outbound"
host = "sftp.example.org"
user = "synbill01"
key_file = "keys/hub_ed25519"
passphrase_env = "EDI_HUB_KEY_PASSPHRASE"
'''


def test_a_clearinghouse_without_transport_has_none() -> None:
    assert parse_config(GOOD).clearinghouses["hub"].transport is None


def test_sftp_transport_with_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "edi.toml").write_text(SFTP, encoding="utf-8")
    t = load_config(tmp_path / "edi.toml").clearinghouses["hub"].transport
    assert t == TransportConfig(kind="sftp", outbox="/inbound/837", inbox="/outbound", host="sftp.example.org",
                                port=22, user="synbill01", key_file=str(tmp_path / "keys" / "hub_ed25519"),
                                known_hosts=None, passphrase_env="EDI_HUB_KEY_PASSPHRASE", password_env=None,
                                remote_name="{name}", timeout=30.0, retries=3, retry_delay=1.0, after_fetch="leave")
    assert t.known_hosts_path == Path("~/.ssh/known_hosts").expanduser()


def test_sftp_transport_every_key() -> None:
    text = SFTP.replace('key_file = "keys/hub_ed25519"', 'key_file = "~/.ssh/edi_hub"') + '''
port = 2222
known_hosts = "/etc/edi/known_hosts"
password_env = "EDI_HUB_PASSWORD"
remote_name = "{clearinghouse}_{isa13}_{date}{time}.x12"
timeout = 7.5
retries = 0
retry_delay = 0.25
after_fetch = "move:processed"
'''
    t = parse_config(text).clearinghouses["hub"].transport
    assert t is not None
    assert (t.port, t.key_file, t.known_hosts, t.password_env, t.remote_name, t.timeout, t.retries, t.retry_delay,
            t.after_fetch) == (2222, "~/.ssh/edi_hub", "/etc/edi/known_hosts", "EDI_HUB_PASSWORD",
                               "{clearinghouse}_{isa13}_{date}{time}.x12", 7.5, 0, 0.25, "move:processed")


def test_directory_transport_folders_are_relative_to_the_configuration(tmp_path: Path) -> None:
    text = GOOD + '''
[clearinghouses.hub.transport]
kind = "directory"
outbox = "drop/out"
inbox = "/srv/edi/hub/in"
after_fetch = "delete"
'''
    (tmp_path / "edi.toml").write_text(text, encoding="utf-8")
    t = load_config(tmp_path / "edi.toml").clearinghouses["hub"].transport
    assert t == TransportConfig(kind="directory", outbox=str(tmp_path / "drop" / "out"), inbox="/srv/edi/hub/in",
                                after_fetch="delete")
    assert parse_config(text).clearinghouses["hub"].transport.outbox == "drop/out"  # type: ignore[union-attr]


@pytest.mark.parametrize("key", ["password", "passphrase"])
def test_a_secret_in_the_file_is_refused(key: str) -> None:
    err = errors_of(SFTP + f'{key} = "hunter2-in-the-file"\n')
    assert [k for k, _ in err.errors] == [f"clearinghouses.hub.transport.{key}"]
    assert str(err) == (f"edi.toml: clearinghouses.hub.transport.{key}: secrets are never read from edi.toml; put "
                        f"the {key} in an environment variable and name that variable with {key}_env")
    assert "hunter2" not in str(err)


@pytest.mark.parametrize(("old", "new", "key", "text"), [
    ('kind = "sftp"', 'kind = "ftp"', "kind", 'kind is "ftp"; expected one of: directory, sftp'),
    ('kind = "sftp"\n', "", "kind", "clearinghouses.hub.transport.kind is missing"),
    ('outbox = "/inbound/837"\n', "", "outbox", "clearinghouses.hub.transport.outbox is missing"),
    ('inbox = "/outbound"', "inbox = 7", "inbox", "inbox must be a string"),
    ('host = "sftp.example.org"\n', "", "host", "clearinghouses.hub.transport.host is missing"),
    ('user = "synbill01"', 'user = "syn bill"', "user", "user contains a control character or a space"),
    ('key_file = "keys/hub_ed25519"\npassphrase_env = "EDI_HUB_KEY_PASSPHRASE"\n', "", "key_file",
     "set key_file (a private key) or password_env (the environment variable holding a password), or both"),
    ('key_file = "keys/hub_ed25519"\n', "", "passphrase_env",
     "passphrase_env is the passphrase of key_file, which is not set"),
    ('passphrase_env = "EDI_HUB_KEY_PASSPHRASE"', 'passphrase_env = "my key passphrase"', "passphrase_env",
     "must name an environment variable (capital letters, digits and _, not starting with a digit, as in "
     "EDI_HUB_PASSWORD), not hold the secret itself; the value is not shown"),
    ('user = "synbill01"', 'user = "synbill01"\nport = 0', "port", "port must be at least 1 and at most 65535, not 0"),
    ('user = "synbill01"', 'user = "synbill01"\nport = "22"', "port", "port must be a whole number"),
    ('user = "synbill01"', 'user = "synbill01"\ntimeout = 0', "timeout", "timeout must be more than 0"),
    ('user = "synbill01"', 'user = "synbill01"\ntimeout = true', "timeout", "timeout must be a number"),
    ('user = "synbill01"', 'user = "synbill01"\nretries = 11', "retries", "retries must be at least 0 and at most 10"),
    ('user = "synbill01"', 'user = "synbill01"\nretries = 1.5', "retries", "retries must be a whole number"),
    ('user = "synbill01"', 'user = "synbill01"\nretry_delay = -1', "retry_delay", "retry_delay must be at least 0"),
    ('user = "synbill01"', 'user = "synbill01"\nafter_fetch = "archive"', "after_fetch",
     'after_fetch must be "leave", "delete" or "move:<folder>"'),
    ('user = "synbill01"', 'user = "synbill01"\nafter_fetch = "move:"', "after_fetch",
     'after_fetch names no folder after "move:"'),
    ('user = "synbill01"', 'user = "synbill01"\nremote_name = "{sender}.837"', "remote_name",
     "remote_name uses {sender}; the fields are {name}, {isa13}, {date}, {time}, {clearinghouse}"),
    ('user = "synbill01"', 'user = "synbill01"\nremote_name = "claims.837"', "remote_name",
     "remote_name uses no field"),
    ('user = "synbill01"', 'user = "synbill01"\nremote_name = "up/{name}"', "remote_name",
     "remote_name holds a folder separator"),
    ('user = "synbill01"', 'user = "synbill01"\nremote_name = "{name:>20}"', "remote_name",
     "remote_name formats {name}: write the field alone"),
    ('user = "synbill01"', 'user = "synbill01"\nhostname = "x"', "hostname",
     "clearinghouses.hub.transport.hostname is not a known key (expected one of: kind, outbox, inbox"),
    ('kind = "sftp"', 'kind = "directory"', "host", 'clearinghouses.hub.transport.host is only for kind = "sftp"'),
])
def test_a_wrong_transport_key_is_named(old: str, new: str, key: str, text: str) -> None:
    assert old in SFTP
    err = errors_of(SFTP.replace(old, new, 1))
    assert f"clearinghouses.hub.transport.{key}" in [k for k, _ in err.errors]
    assert text in str(err)
    assert all(line.startswith("edi.toml: clearinghouses.hub.transport") for line in str(err).splitlines())


@pytest.mark.parametrize("key", ["timeout", "retry_delay"])
@pytest.mark.parametrize("value", ["nan", "+nan", "-nan", "inf", "+inf", "-inf"])
def test_a_timing_that_is_not_a_finite_number_is_refused(key: str, value: str) -> None:
    """TOML has nan and inf; nan passes every comparison, and either would fail later, when connecting."""
    err = errors_of(SFTP + f"{key} = {value}\n")
    assert [k for k, _ in err.errors] == [f"clearinghouses.hub.transport.{key}"]
    assert str(err) == f"edi.toml: clearinghouses.hub.transport.{key} must be a finite number, not {float(value)}"


@pytest.mark.parametrize("value", ["hunter2", "Sup3r secret!", "edi_hub_password", "1PASSWORD", "EDI-HUB", "ÉDI"])
@pytest.mark.parametrize("key", ["password_env", "passphrase_env"])
def test_an_environment_variable_name_must_look_like_one(key: str, value: str) -> None:
    """Only a conventional name (capitals, digits, _) is taken: anything else may be the secret pasted in its
    place, so it is refused and never echoed."""
    err = errors_of(SFTP.replace('passphrase_env = "EDI_HUB_KEY_PASSPHRASE"\n', "") + f'{key} = "{value}"\n')
    assert [k for k, _ in err.errors] == [f"clearinghouses.hub.transport.{key}"]
    assert value not in str(err)
    assert "must name an environment variable" in str(err)


def test_conventional_environment_variable_names_are_taken() -> None:
    for name in ("EDI_HUB_PASSWORD", "_PW", "X1", "A"):
        t = parse_config(SFTP + f'password_env = "{name}"\n').clearinghouses["hub"].transport
        assert t is not None and t.password_env == name


def test_transport_must_be_a_table() -> None:
    err = errors_of(GOOD.replace('usage = "T"', 'usage = "T"\ntransport = "sftp"'))
    assert str(err) == "edi.toml: clearinghouses.hub.transport must be a table ([clearinghouses.hub.transport])"


def test_starter_shows_a_transport_that_loads_when_uncommented() -> None:
    text = starter_toml()
    assert "# [clearinghouses.example_hub.transport]" in text
    lines = text.splitlines()
    start = lines.index("# [clearinghouses.example_hub.transport]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    uncommented = "\n".join(lines[:start] + block + lines[start + len(block):])
    t = parse_config(uncommented).clearinghouses["example_hub"].transport
    assert t is not None and t.kind == "sftp" and t.passphrase_env == "EDI_KEY_PASSPHRASE"
