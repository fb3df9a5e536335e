"""Encounters to ``Claim``s: the last step before the 837 writer, and the one loop every caller goes through.

``encounter_to_claim`` checks one encounter (every check of ``mappings.checks``) and maps it; it is pure, the
clock is injected as ``today``. The loop over a source is two steps, shared by ``iter_claims``,
``build_claims`` and the claims build (``mappings.build``, which runs the first in worker processes):

* ``map_item`` makes a ``MappedClaim`` of one item of a source: check, map and (for the build, and for a
  correction's fingerprint) format the claim as the 837 will carry it;
* ``batch_checked`` adds, in input order, what needs the whole batch (``mappings.checks.BatchChecks``): ids
  unique in the batch, originals not already billed, corrections not already sent (by the ``fingerprint`` of
  their 837 text).

``build_claims`` returns the good claims with every problem; ``iter_claims`` is its streaming form (one result
per encounter, nothing kept but the ids seen, compactly), for batches too large to hold.

Mapping choices:

- the payer key becomes ``Payer`` from ``[payers.KEY]`` (name, payer id, SBR09 filing indicator, SBR01);
- diagnoses lose their dot; the first is the principal (ABK), the others ABF; an 837I admitting diagnosis
  (ABJ) and reasons for visit (APR) follow them, so 1-based diagnosis pointers keep their meaning;
- lines are numbered from 1 (LX01); a line's place of service is kept only when it differs from the claim's
  (SV105); an 837I line keeps no diagnosis pointers (it carries none; ``mappings.checks`` warns);
  ``line_control_number`` (REF*6R) is the line's ``line_id``, else ``<id>-<line number>`` (with a ``-k``
  suffix when a given ``line_id`` already has that value: ``edi.x837.formats.line_control_number``) unless
  ``[billing] line_control_numbers = false``;
- a rendering provider with the billing provider's NPI is dropped (2310B is sent only when it differs);
- an 837I ``bill_type`` becomes facility type + frequency (``"0131"`` -> ``"131"``); 3-digit revenue codes
  get their leading zero;
- ``payer_claim_number`` is carried only on a replacement (7) or void (8);
- ``total_charge`` is the sum of the line charges; ``source`` is the encounter file and id;
- the coverages after the first (``Encounter.coverages[1:]``) become ``Claim.other_payers`` without any
  adjudication (loops 2320/2330A/2330B, which the TR3 requires when other coverage is known): the payer from its
  ``[payers.KEY]``, its place in the order of payment (SBR01) the codes after the claim payer's (P: S, T, A...),
  its subscriber (group number and name in SBR03/SBR04) and the patient's relationship to that subscriber (SBR02).
  A one-coverage encounter carries none (its 837 is what it was).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, TypeVar

from edi.model import (
    ZERO,
    Claim,
    CodeDate,
    Diagnosis,
    OtherPayer,
    Patient,
    Payer,
    Provider,
    ServiceLine,
    Source,
    Subscriber,
    fast_new,
)
from edi.problems import Problem, has_errors
from edi.x837.formats import line_control_number
from mappings.checks import BatchChecks, ClaimKey, check_encounter
from mappings.codesets import facility_type, normalize_icd10, normalize_revenue_code
from mappings.config import Config, PayerProfile
from mappings.encounter import Encounter, EncounterCoverage, EncounterProvider, EncounterSubscriber

if TYPE_CHECKING:
    from edi.x837.writer import FormattedClaim

log = logging.getLogger(__name__)

# The model objects built per claim, through their fast constructors (same arguments, equal objects).
_Claim, _ServiceLine, _Subscriber, _Patient, _Source, _Diagnosis = (
    fast_new(Claim), fast_new(ServiceLine), fast_new(Subscriber), fast_new(Patient), fast_new(Source),
    fast_new(Diagnosis))


def _provider(p: EncounterProvider | None) -> Provider | None:
    return None if p is None else _provider_of(p)


@lru_cache(maxsize=4096)
def _provider_of(p: EncounterProvider) -> Provider:
    """One ``Provider`` per distinct provider: claims of a batch share them (less memory, same values)."""
    return Provider(name=p.name, npi=p.npi, entity=p.entity, first_name=p.first_name, middle_name=p.middle_name,
                    tax_id=p.tax_id, tax_id_qualifier=p.tax_id_qualifier, taxonomy=p.taxonomy, address=p.address)


@lru_cache(maxsize=256)
def _payer(profile: PayerProfile) -> Payer:
    return profile.payer()


def _diagnoses(enc: Encounter) -> tuple[Diagnosis, ...]:
    out = [_Diagnosis(normalize_icd10(dx.code), "ABK" if i == 0 else "ABF",
                     dx.poa if enc.institutional else None) for i, dx in enumerate(enc.diagnoses)]
    if enc.institutional:
        if enc.admitting_diagnosis:
            out.append(Diagnosis(normalize_icd10(enc.admitting_diagnosis), "ABJ"))
        out += [Diagnosis(normalize_icd10(code), "APR") for code in enc.reason_for_visit]
    return tuple(out)


def _institutional_codes(enc: Encounter) -> tuple[CodeDate, ...]:
    out = [CodeDate("BG", code) for code in enc.condition_codes]
    out += [CodeDate("BH", c.code, date=c.date) for c in enc.occurrence_codes]
    out += [CodeDate("BI", c.code, date=c.start, date_end=c.end) for c in enc.occurrence_spans]
    out += [CodeDate("BE", c.code, amount=c.amount) for c in enc.value_codes]
    if enc.principal_procedure is not None:
        out.append(CodeDate("BBR", enc.principal_procedure.code, date=enc.principal_procedure.date))
    out += [CodeDate("BBQ", c.code, date=c.date) for c in enc.other_procedures]
    return tuple(out)


#: SBR01 codes in the order of payment (primary, secondary, tertiary, then payers 4 to 11): the 837 names each once.
PAYMENT_ORDER = "PSTABCDEFGH"


def _subscriber(sub: EncounterSubscriber) -> Subscriber:
    return _Subscriber(member_id=sub.member_id, last_name=sub.last_name, first_name=sub.first_name,
                       middle_name=sub.middle_name, birth_date=sub.birth_date, sex=sub.sex,  # type: ignore[arg-type]
                       address=sub.address, group_number=sub.group_number, group_name=sub.group_name)


def _other_payers(coverages: tuple[EncounterCoverage, ...], config: Config, first: str) -> tuple[OtherPayer, ...]:
    """The coverages after the primary as other payers of its claim, not adjudicated: each names its payer,
    its place in the order of payment (the codes after ``first``, the claim payer's SBR01), its subscriber and
    the patient's relationship to that subscriber. The subscriber keeps only what loop 2330A and SBR03/SBR04
    carry (no birth date or sex), so that the claim read back from its 837 is this one."""
    at = PAYMENT_ORDER.find(first)
    order = PAYMENT_ORDER[at + 1:] if at >= 0 else PAYMENT_ORDER[1:]
    out = []
    for cov, responsibility in zip(coverages, order, strict=False):
        payer = _payer(config.payers[cov.payer])
        if payer.responsibility != responsibility:
            payer = replace(payer, responsibility=responsibility)
        sub = cov.subscriber
        out.append(OtherPayer(payer=payer, relationship=cov.relationship, subscriber=_Subscriber(
            member_id=sub.member_id, last_name=sub.last_name, first_name=sub.first_name,
            middle_name=sub.middle_name, address=sub.address, group_number=sub.group_number,
            group_name=sub.group_name)))
    return tuple(out)


def _map(enc: Encounter, config: Config) -> Claim:
    profile = config.payers[enc.payer]
    source = _Source(file=enc.source.file if enc.source else None, record=enc.id)
    lines = []
    generate = config.billing.line_control_numbers
    taken = {ln.line_id for ln in enc.lines if ln.line_id is not None}
    for n, ln in enumerate(enc.lines, 1):
        if ln.line_id is not None:
            control = ln.line_id
        else:
            control = line_control_number(enc.id, n, taken) if generate else None
        lines.append(_ServiceLine(
            number=n,
            charge=ln.charge,
            units=ln.units,
            service_date=ln.service_date,
            service_date_end=ln.service_date_end,
            procedure=ln.procedure,
            modifiers=ln.modifiers,
            revenue_code=normalize_revenue_code(ln.revenue_code) if ln.revenue_code and enc.institutional else None,
            unit_basis=ln.unit_basis or "UN",
            diagnosis_pointers=() if enc.institutional else ln.diagnosis_pointers,
            place_of_service=ln.place_of_service if not enc.institutional
            and ln.place_of_service != enc.place_of_service else None,
            line_control_number=control,
            description=ln.description,
            source=source,
        ))
    subscriber = _subscriber(enc.subscriber)
    patient = None
    if enc.patient is not None:
        pt = enc.patient
        patient = _Patient(last_name=pt.last_name, first_name=pt.first_name, relationship=pt.relationship,
                          birth_date=pt.birth_date, sex=pt.sex, address=pt.address,  # type: ignore[arg-type]
                          middle_name=pt.middle_name)
    rendering = enc.rendering_provider
    if rendering is not None and rendering.npi is not None and rendering.npi == enc.billing_provider.npi:
        rendering = None
    billing = config.billing
    institutional = enc.institutional
    adm = enc.admission
    payer = _payer(profile)
    others = _other_payers(enc.coverages[1:], config, payer.responsibility) if len(enc.coverages) > 1 else ()
    return _Claim(
        kind=enc.kind,
        patient_control_number=enc.id,
        total_charge=sum((ln.charge for ln in lines), ZERO),
        billing_provider=_provider_of(enc.billing_provider),
        subscriber=subscriber,
        payer=payer,
        diagnoses=_diagnoses(enc),
        lines=tuple(lines),
        frequency=enc.frequency,
        place_of_service=None if institutional else enc.place_of_service,
        bill_type=facility_type(enc.bill_type) + enc.frequency if institutional and enc.bill_type else None,
        patient=patient,
        payer_claim_number=enc.payer_claim_number if enc.frequency in ("7", "8") else None,
        prior_authorization=enc.prior_authorization,
        referral_number=enc.referral_number,
        medical_record_number=enc.medical_record_number,
        rendering_provider=_provider(rendering),
        referring_provider=_provider(enc.referring_provider),
        service_facility=_provider(enc.service_facility),
        attending_provider=_provider(enc.attending_provider) if institutional else None,
        operating_provider=_provider(enc.operating_provider) if institutional else None,
        provider_signature=billing.provider_signature,
        assignment=billing.assignment,
        benefits_assigned=billing.benefits_assigned,
        release_of_information=billing.release_of_information,
        onset_date=None if institutional else enc.onset_date,
        statement_from=enc.statement_from if institutional else None,
        statement_to=enc.statement_to if institutional else None,
        admission_date=adm.date if institutional and adm else None,
        admission_hour=adm.hour if institutional and adm else None,
        admission_type=adm.type if institutional and adm else None,
        admission_source=adm.source if institutional and adm else None,
        discharge_status=enc.discharge_status if institutional else None,
        discharge_hour=enc.discharge_hour if institutional else None,
        institutional_codes=_institutional_codes(enc) if institutional else (),
        note=enc.note,
        other_payers=others,
        source=source,
    )


def encounter_to_claim(encounter: Encounter, config: Config, *, today: date) -> tuple[Claim | None, list[Problem]]:
    """Check one encounter and map it to a ``Claim`` (``None`` when any check found an error). Pure: the
    same encounter, configuration and ``today`` always give the same claim and problems."""
    problems = check_encounter(encounter, config, today=today)
    if has_errors(problems):
        return None, problems
    return _map(encounter, config), problems


# -- the loop over a source -----------------------------------------------------------------------------------

#: Frequencies of a claim that corrects another (replacement, void): the batch checks know them by fingerprint.
CORRECTIONS = ("7", "8")


def fingerprint(text: FormattedClaim) -> str:
    """sha256 of a claim's 837 text (its billing provider, subscriber, patient and claim loops, which hold no
    envelope or HL numbers): the same encounter and configuration always give the same one, so a correction
    built twice is known by it (``BatchChecks``), and the ledger keeps it (``claims.fingerprint``)."""
    h = hashlib.sha256()
    for part in (text.billing, text.subscriber, text.patient, text.body):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(slots=True)
class MappedClaim:
    """What ``map_item`` makes of one item of an encounter source, and what ``batch_checked`` adds.

    ``key`` is what the batch checks need (None when the source gave no encounter); ``found`` the source's
    problems; ``checked`` the encounter's checks' (and the writer's, when every claim is formatted); ``claim``
    the claim (None when any of those is an error, or, formatting every claim, when it cannot be written);
    ``text`` the claim as the 837 carries it (``FormattedClaim``, whose ``claim`` is the claim as written), when
    it was formatted; ``problems`` every problem of the item, in order, once ``batch_checked`` has seen it."""

    key: ClaimKey | None
    found: list[Problem]
    checked: list[Problem] = field(default_factory=list)
    claim: Claim | None = None
    text: FormattedClaim | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def writable(self) -> bool:
        """Whether it made a claim (the batch checks ask the ledger about it only then)."""
        return self.claim is not None


def map_item(encounter: Encounter | None, found: list[Problem], config: Config, *, today: date,
             write: bool = False) -> MappedClaim:
    """Check, map and format one item of a source (``(Encounter | None, problems)``, as
    ``mappings.sources.read_encounters`` yields them). With ``write`` (the build) every claim is formatted, and
    one the writer refuses is none, with the writer's problems. Without it only corrections are formatted, for
    their fingerprint, and the writer is not asked about the others (``build_claims`` and ``iter_claims`` give
    the claims an 837 writer would then check). Pure, as ``encounter_to_claim``."""
    if encounter is None:
        return MappedClaim(None, found)
    claim, checked = encounter_to_claim(encounter, config, today=today)
    text: FormattedClaim | None = None
    if claim is not None and (write or encounter.frequency in CORRECTIONS):
        text, more = _format(claim)
        if write and text is None:  # the writer reports problems only when it refuses the claim
            checked = [*checked, *more]
            claim = None
    source = encounter.source
    key = ClaimKey(encounter.id, encounter.frequency, source.file if source is not None else None,
                   fingerprint(text) if text is not None else None,
                   claim.total_charge if claim is not None else None)
    return MappedClaim(key, found, checked, claim, text)


def _format(claim: Claim) -> tuple[FormattedClaim | None, tuple[Problem, ...]]:
    """The claim as the 837 writer formats it."""
    return _writer().format_claim(claim, claim.kind)


@cache
def _writer() -> ModuleType:
    """``edi.x837.writer``, imported on first use: ``import mappings`` stays free of the writer and the X12 syntax
    under it (tests/mappings/test_claims.py), and a claim formatted later does not pay for an import statement."""
    from edi.x837 import writer

    return writer


class Checkable(Protocol):
    """An item ``batch_checked`` takes: ``MappedClaim``, or the build's lighter ``mappings.build.BuiltClaim``."""

    key: ClaimKey | None
    found: list[Problem]
    checked: list[Problem]
    problems: list[Problem]

    @property
    def writable(self) -> bool: ...


C = TypeVar("C", bound=Checkable)


def batch_checked(items: Iterable[C], batch: BatchChecks) -> Iterator[C]:
    """Each item with its ``problems`` filled in: its source's, the batch's (ids unique, not already billed or
    sent) and its own checks', in that order. Items must come in input order: the first of two with one id is
    the good one."""
    for item in items:
        key = item.key
        item.problems = item.found if key is None else batch.problems(key, item.found, item.checked,
                                                                       item.writable)
        yield item


def iter_claims(encounters_with_problems: Iterable[tuple[Encounter | None, list[Problem]]], config: Config, *,
                today: date, already_billed: Callable[[str], bool] | None = None,
                already_sent: Callable[[str, str, str, Decimal], bool] | None = None,
                ) -> Iterator[tuple[Claim | None, list[Problem]]]:
    """The streaming form of ``build_claims``: one ``(Claim | None, problems)`` per item of the source (a
    source problem with no encounter gives ``(None, problems)``). The claim is ``None`` when the item has any
    error, from its source, its checks or the batch checks. Holds only the ids seen so far (see
    ``mappings.checks.SeenIds``). ``already_sent`` (``Ledger.corrections_checker()``) refuses a replacement or
    void that was built before, as the build does."""
    batch = BatchChecks(already_billed, already_sent)
    try:
        mapped = (map_item(enc, found, config, today=today) for enc, found in encounters_with_problems)
        for item in batch_checked(mapped, batch):
            yield (None if has_errors(item.problems) else item.claim), item.problems
    finally:
        batch.close()


def build_claims(encounters_with_problems: Iterable[tuple[Encounter | None, list[Problem]]], config: Config, *,
                 today: date, already_billed: Callable[[str], bool] | None = None,
                 already_sent: Callable[[str, str, str, Decimal], bool] | None = None,
                 strict: bool = False) -> tuple[list[Claim], list[Problem]]:
    """Claims for the good encounters of a batch, and every problem (the sources' too).

    ``encounters_with_problems`` is what ``mappings.sources.read_encounters`` yields. An encounter with any
    error (from its source, its checks or the batch checks) is skipped; the others become claims.
    ``already_billed(claim_id)`` lets the ledger refuse originals it has billed before, and ``already_sent``
    corrections it holds already (see ``iter_claims``). With ``strict``, no claim is returned when any
    encounter is bad."""
    claims: list[Claim] = []
    problems: list[Problem] = []
    bad = 0
    for claim, found in iter_claims(encounters_with_problems, config, today=today, already_billed=already_billed,
                                    already_sent=already_sent):
        problems += found
        if claim is not None:
            claims.append(claim)
        elif has_errors(found):
            bad += 1
    log.info("built %d claims; %d encounters skipped", len(claims), bad)
    if strict and bad:
        return [], problems
    return claims, problems
