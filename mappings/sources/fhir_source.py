"""FHIR R4 encounters: a Bundle whose Claim resources become encounters.

Each entry's resource is validated with ``fhir.resources.R4B`` (R4B shares R4's Claim, Coverage, Patient,
Practitioner, Organization and Location); an invalid resource is reported (``source.fhir.invalid``, naming
the resource and the elements, never their values) and the claims that need it are skipped. References are
resolved inside the Bundle, by ``fullUrl`` or ``Type/id``.

Mapping (one Claim -> one encounter):

- ``id``: ``Claim.identifier[0].value`` (the patient control number), else ``Claim.id``;
- ``kind``: ``Claim.type`` code (``professional`` or ``institutional``);
- ``frequency``: ``8`` when ``Claim.status`` is ``cancelled``, else ``7`` when ``Claim.related`` has a
  ``prior`` relationship, else ``1``; ``payer_claim_number`` is that related claim's ``reference.value``;
- insurance (a Claim with one): the ``focal`` ``Claim.insurance`` (else the first) -> Coverage;
  ``preAuthRef[0]`` -> ``prior_authorization``;
- ``payer``: the identifier of the Coverage's ``payor`` Organization whose system is ``urn:edi:payer-key``
  (the key of ``[payers]`` in edi.toml);
- subscriber: ``Coverage.subscriber`` (a Patient or RelatedPerson; else the beneficiary), member id
  ``Coverage.subscriberId``, group ``Coverage.class`` of type ``group`` (value, name);
- patient: ``Claim.patient`` when it is not the subscriber; ``Coverage.relationship`` (spouse, child,
  common, parent, other, injured) -> PAT01 (01, 19, 53, G8, G8, 21);
- several ``Claim.insurance`` (coordination of benefits): the encounter's ``coverages``, one per Coverage,
  ordered by ``Coverage.order`` (those without one after those with one), then by ``Claim.insurance.sequence``;
  each with its payor's payer key, its subscriber and member id as above, and its relationship (18 when the
  patient is the subscriber, else the PAT01 code above). The first is the primary, so a ``focal`` insurance must
  be the first (``source.fhir.unsupported`` otherwise: a claim to a later payer is built from the earlier
  payers' 835s); ``prior_authorization`` is the first's ``preAuthRef[0]``. A Claim with one insurance is read
  in the single form (``payer``, ``subscriber``, ``patient``), as before;
- ``billing_provider``: ``Claim.provider`` (Organization or Practitioner); NPI from the identifier with
  system ``http://hl7.org/fhir/sid/us-npi``, tax id from ``urn:oid:2.16.840.1.113883.4.4``, taxonomy from a
  coding with system ``http://nucc.org/provider-taxonomy`` (Organization.type, Practitioner.qualification);
- ``Claim.careTeam`` by role code: ``primary``/``rendering``/``performing`` -> rendering, ``referring``,
  ``attending``, ``operating``; a member's ``qualification`` (NUCC) is its taxonomy;
- ``service_facility``: ``Claim.facility`` (Location or Organization);
- diagnoses in ``sequence`` order, the one typed ``principal`` first; one typed only ``admitting`` is the
  admitting diagnosis and one typed ``patientreasonforvisit`` a reason for visit; ``onAdmission`` -> POA;
- ``Claim.procedure`` (ICD-10-PCS): the one typed ``principal`` (else the first) is the principal procedure;
- ``Claim.billablePeriod`` -> statement_from / statement_to;
- ``Claim.supportingInfo`` by category code: ``typeofbill``, ``admissionperiod`` (admission date and hour,
  discharge hour), ``admtype``, ``pointoforigin``, ``discharge-status``, ``medicalrecordnumber``,
  ``referralnumber``, ``onset``, ``conditioncode``, ``occurrencecode`` (+ timingDate), ``occurrencespan``
  (+ timingPeriod), ``valuecode`` (+ valueQuantity);
- ``Claim.item`` -> lines: ``productOrService`` -> procedure (none when its coding is a
  ``data-absent-reason``, as on a revenue-code-only line), ``modifier``, ``net`` (else ``unitPrice`` x
  ``quantity`` x ``factor``) -> charge, ``quantity`` -> units (1 when absent), ``diagnosisSequence`` ->
  pointers (renumbered to the diagnoses' positions), ``servicedDate``/``servicedPeriod``, ``revenue``,
  ``locationCodeableConcept`` -> place of service (the first line's is the claim's), the item's ``id`` ->
  line_id;
- ``Claim.total``, when given, must equal the sum of the line charges (``source.fhir.total``).

Codes: ``source.encoding``, ``source.fhir.syntax``, ``source.fhir.shape`` (not a Bundle, no Claim),
``source.fhir.invalid``, ``source.fhir.reference`` (a reference not in the Bundle, a diagnosis sequence no
diagnosis has), ``source.fhir.total``, ``source.fhir.unsupported`` (a diagnosisReference instead of a code, a
focal insurance that is not the primary).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from edi.problems import Problem, error
from mappings.encounter import encounter_from_dict
from mappings.sources import EncounterResult

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
TAXONOMY_SYSTEM = "http://nucc.org/provider-taxonomy"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
PAYER_KEY_SYSTEM = "urn:edi:payer-key"
ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

_RELATIONSHIP = {"spouse": "01", "child": "19", "common": "53", "parent": "G8", "other": "G8", "injured": "21"}
_CARE_TEAM = {"primary": "rendering_provider", "rendering": "rendering_provider", "performing": "rendering_provider",
              "referring": "referring_provider", "attending": "attending_provider",
              "operating": "operating_provider"}
_SEX = {"female": "F", "male": "M", "other": "U", "unknown": "U"}
_RESOURCES = ("Claim", "Patient", "RelatedPerson", "Coverage", "Practitioner", "Organization", "Location")
#: What each kind of reference the mapping follows may name.
_PROVIDERS = ("Practitioner", "Organization")
_FACILITIES = ("Location", "Organization")
_PEOPLE = ("Patient", "RelatedPerson")


def read_fhir(stream: BinaryIO, *, file: str | None = None) -> Iterator[EncounterResult]:
    raw = stream.read()
    try:
        data = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError:
        yield None, [error("source.encoding", "the file is not valid UTF-8", file=file)]
        return
    except json.JSONDecodeError as exc:
        yield None, [error("source.fhir.syntax", f"not valid JSON: {exc.msg} at line {exc.lineno}", file=file)]
        return
    except RecursionError:
        yield None, [error("source.fhir.syntax", "the JSON is nested too deeply to read", file=file)]
        return
    except ValueError:  # an integer longer than Python converts
        yield None, [error("source.fhir.syntax", "a number is too long to read (more than 4,300 digits)",
                           file=file)]
        return
    yield from read_bundle(data, file=file)


def read_bundle(data: Any, *, file: str | None = None) -> Iterator[EncounterResult]:
    """Encounters from a parsed Bundle (a dict)."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        yield None, [error("source.fhir.shape", "a FHIR encounter file holds one Bundle resource", file=file)]
        return
    entries = data.get("entry")
    if not isinstance(entries, list):
        yield None, [error("source.fhir.shape", "the Bundle has no entry list", file=file)]
        return
    index: dict[str, Any] = {}
    invalid: dict[str, list[Problem]] = {}
    claims: list[tuple[str, Any]] = []
    for n, entry in enumerate(entries, 1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str):
            yield None, [error("source.fhir.shape", f"Bundle.entry[{n}] has no resource", file=file,
                               element=f"Bundle.entry[{n}]")]
            continue
        if rtype not in _RESOURCES:
            continue
        rid = resource.get("id")
        name = f"{rtype}/{rid}" if isinstance(rid, str) else f"{rtype} (Bundle.entry[{n}])"
        keys = [name]
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            keys.append(full_url)
        try:
            model = get_fhir_model_class(rtype).model_validate(resource)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            problem = error("source.fhir.invalid", f"{name} is not a valid R4 {rtype}: {_errors(exc)}", file=file,
                            record=name)
            for key in keys:
                invalid[key] = [problem]
            yield None, [problem]
            continue
        for key in keys:
            index[key] = model
        if rtype == "Claim":
            claims.append((name, model))
    if not claims:
        yield None, [error("source.fhir.shape", "the Bundle has no Claim resource", file=file)]
        return
    for name, claim in claims:
        mapper = _ClaimMapper(claim, name, index, invalid, file)
        data_dict = mapper.map()
        if mapper.problems:
            enc_problems = encounter_from_dict(data_dict, file=file, record=name)[1]
            yield None, mapper.problems + enc_problems
        else:
            yield encounter_from_dict(data_dict, file=file, record=name)


def _errors(exc: Exception) -> str:
    """Element paths and error kinds from a pydantic ValidationError, without the input values."""
    errs = getattr(exc, "errors", None)
    if not callable(errs):
        return exc.__class__.__name__
    parts = []
    for e in errs(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()))
        parts.append(f"{loc or '(resource)'}: {e.get('msg', e.get('type', 'invalid'))}")
    more = len(errs(include_input=False, include_url=False)) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


# -- small helpers over fhir.resources models -----------------------------------------------------------------


def _codes(concept: Any) -> list[tuple[str | None, str]]:
    if concept is None:
        return []
    return [(c.system, c.code) for c in (concept.coding or []) if c.code]


def _code(concept: Any, system: str | None = None) -> str | None:
    codes = _codes(concept)
    if system is not None:
        for s, c in codes:
            if s == system:
                return c
    return codes[0][1] if codes else None


def _identifier(resource: Any, system: str) -> str | None:
    for ident in getattr(resource, "identifier", None) or []:
        if ident.system == system and ident.value:
            return str(ident.value)
    return None


def _day(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return None


def _hour(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.strftime("%H%M")
    return None


def _human(resource: Any) -> dict[str, Any]:
    """last_name, first_name, middle_name, birth_date, sex and address of a Patient or RelatedPerson."""
    out: dict[str, Any] = {}
    names = resource.name or []
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    if name is not None:
        if name.family:
            out["last_name"] = name.family
        given = [g for g in (name.given or []) if g]
        if given:
            out["first_name"] = given[0]
        if len(given) > 1:
            out["middle_name"] = given[1]
    if getattr(resource, "birthDate", None) is not None:
        out["birth_date"] = resource.birthDate.isoformat()
    if resource.gender:
        out["sex"] = _SEX.get(resource.gender, resource.gender)
    address = _address(resource.address)
    if address:
        out["address"] = address
    return out


def _address(addresses: Any) -> dict[str, Any] | None:
    if not addresses:
        return None
    if not isinstance(addresses, list):
        addresses = [addresses]
    a = next((x for x in addresses if x.use in ("billing", "work", "home")), addresses[0])
    out: dict[str, Any] = {}
    lines = [x for x in (a.line or []) if x]
    if lines:
        out["line1"] = lines[0]
    if len(lines) > 1:
        out["line2"] = lines[1]
    for key, value in (("city", a.city), ("state", a.state), ("zip", a.postalCode)):
        if value:
            out[key] = value
    return out


def _taxonomy(resource: Any) -> str | None:
    concepts = list(getattr(resource, "type", None) or [])
    concepts += [q.code for q in (getattr(resource, "qualification", None) or []) if q.code]
    for concept in concepts:
        code = _code(concept, TAXONOMY_SYSTEM)
        if code and any(s == TAXONOMY_SYSTEM for s, _ in _codes(concept)):
            return code
    return None


def _provider(resource: Any) -> dict[str, Any]:
    """A provider dict from an Organization, Practitioner or Location."""
    out: dict[str, Any] = {}
    rtype = resource.get_resource_type()
    if rtype == "Practitioner":
        names = resource.name or []
        name = next((n for n in names if n.use == "official"), names[0] if names else None)
        if name is not None:
            if name.family:
                out["name"] = name.family
            given = [g for g in (name.given or []) if g]
            if given:
                out["first_name"] = given[0]
            if len(given) > 1:
                out["middle_name"] = given[1]
        out["entity"] = "person"
    else:
        if resource.name:
            out["name"] = resource.name
        out["entity"] = "organization"
    npi = _identifier(resource, NPI_SYSTEM)
    if npi:
        out["npi"] = npi
    tin = _identifier(resource, TIN_SYSTEM)
    if tin:
        out["tax_id"] = tin
    taxonomy = _taxonomy(resource)
    if taxonomy:
        out["taxonomy"] = taxonomy
    address = _address(getattr(resource, "address", None))
    if address:
        out["address"] = address
    return out


class _ClaimMapper:
    def __init__(self, claim: Any, name: str, index: dict[str, Any], invalid: dict[str, list[Problem]],
                 file: str | None) -> None:
        self.claim = claim
        self.name = name
        self.index = index
        self.invalid = invalid
        self.file = file
        self.record = name
        self.problems: list[Problem] = []

    def report(self, code: str, message: str, element: str) -> None:
        self.problems.append(error(code, message, file=self.file, record=self.record, element=element))

    def resolve(self, ref: Any, element: str, types: tuple[str, ...], *, required: bool = True) -> Any:
        """The resource ``ref`` names in the Bundle, when it is one of ``types`` (FHIR lets a reference name
        other types than the mapping reads: a Coverage.subscriber that is an Organization, say)."""
        target = getattr(ref, "reference", None) if ref is not None else None
        if not target:
            if required:
                self.report("source.fhir.reference", f"{element} has no reference", element)
            return None
        if target in self.index:
            resource = self.index[target]
            kind = resource.get_resource_type()
            if kind in types:
                return resource
            self.report("source.fhir.reference", f"{element} refers to a {kind}; it must be "
                        f"{' or '.join(types)}", element)
            return None
        if target in self.invalid:
            self.report("source.fhir.reference", f"{element} refers to an invalid resource", element)
        else:
            self.report("source.fhir.reference", f"{element} refers to a resource that is not in the Bundle",
                        element)
        return None

    def map(self) -> dict[str, Any]:
        c = self.claim
        out: dict[str, Any] = {}
        enc_id = next((str(i.value) for i in (c.identifier or []) if i.value), None) or c.id
        if enc_id:
            out["id"] = enc_id
            self.record = enc_id
        kind = _code(c.type)
        if kind:
            out["kind"] = kind

        prior = next((r for r in (c.related or []) if "prior" in [code for _, code in _codes(r.relationship)]),
                     None)
        if prior is not None and prior.reference is not None and prior.reference.value:
            out["payer_claim_number"] = prior.reference.value
        if c.status == "cancelled":
            out["frequency"] = "8"
        elif prior is not None:
            out["frequency"] = "7"

        self._insurance(out)
        billing = self.resolve(c.provider, "Claim.provider", _PROVIDERS)
        if billing is not None:
            out["billing_provider"] = _provider(billing)
        for n, member in enumerate(c.careTeam or [], 1):
            roles = [code for _, code in _codes(member.role)]
            role = next((_CARE_TEAM[r] for r in roles if r in _CARE_TEAM), None)
            if role is None:
                continue
            resource = self.resolve(member.provider, f"Claim.careTeam[{n}].provider", _PROVIDERS)
            if resource is None:
                continue
            prov = _provider(resource)
            taxonomy = _code(member.qualification, TAXONOMY_SYSTEM)
            if taxonomy:
                prov["taxonomy"] = taxonomy
            prov.pop("tax_id", None)
            out.setdefault(role, prov)
        if c.facility is not None:
            facility = self.resolve(c.facility, "Claim.facility", _FACILITIES)
            if facility is not None:
                prov = _provider(facility)
                prov.pop("tax_id", None)
                prov.pop("taxonomy", None)
                out["service_facility"] = prov

        if c.billablePeriod is not None:
            if _day(c.billablePeriod.start):
                out["statement_from"] = _day(c.billablePeriod.start)
            if _day(c.billablePeriod.end):
                out["statement_to"] = _day(c.billablePeriod.end)
        sequences = self._diagnoses(out)
        self._procedures(out)
        self._supporting_info(out)
        self._items(out, sequences)
        return out

    def _insurance(self, out: dict[str, Any]) -> None:
        c = self.claim
        insurances = sorted(c.insurance or [], key=lambda i: i.sequence or 0)
        if len(insurances) > 1:
            self._coverages(out)
            return
        ins = next((i for i in insurances if i.focal), insurances[0] if insurances else None)
        if ins is None:
            return
        if ins.preAuthRef:
            out["prior_authorization"] = ins.preAuthRef[0]
        cov = self.resolve(ins.coverage, "Claim.insurance.coverage", ("Coverage",))
        patient = self.resolve(c.patient, "Claim.patient", ("Patient",))
        if cov is None:
            return
        payer, sub, same, relationship = self._coverage(cov, patient, "Coverage", "payer")
        if payer is not None:
            out["payer"] = payer
        out["subscriber"] = sub
        if not same and patient is not None:
            pt = _human(patient)
            if relationship:
                pt["relationship"] = _RELATIONSHIP.get(relationship, relationship)
            out["patient"] = pt

    def _coverages(self, out: dict[str, Any]) -> None:
        """Several ``Claim.insurance``: the list form, ordered by ``Coverage.order`` (a Coverage without one
        after those with one), then by ``Claim.insurance.sequence``."""
        c = self.claim
        found = []
        for n, ins in enumerate(c.insurance or [], 1):
            cov = self.resolve(ins.coverage, f"Claim.insurance[{n}].coverage", ("Coverage",))
            if cov is not None:
                found.append((cov.order is None, cov.order or 0, ins.sequence or 0, n, ins, cov))
        patient = self.resolve(c.patient, "Claim.patient", ("Patient",))
        if len(found) < len(c.insurance or []):
            return  # a coverage that cannot be read: which payer is primary is not known
        found.sort(key=lambda f: f[:4])
        first = found[0][4]
        focal = next(((n, ins) for *_, n, ins, _ in found if ins.focal), None)
        if focal is not None and focal[1] is not first:
            self.report("source.fhir.unsupported", f"Claim.insurance[{focal[0]}] is focal but its Coverage is not "
                        "the first by order: a claim to a later payer is built from the earlier payers' 835s "
                        "(edi claims secondary), not from the encounter", f"Claim.insurance[{focal[0]}].focal")
        if first.preAuthRef:
            out["prior_authorization"] = first.preAuthRef[0]
        coverages = []
        for i, (*_, n, _ins, cov) in enumerate(found, 1):
            label = f"Coverage/{cov.id}" if cov.id else f"Claim.insurance[{n}].coverage"
            payer, sub, same, relationship = self._coverage(cov, patient, label, f"coverages[{i}].payer")
            entry: dict[str, Any] = {"payer": payer} if payer is not None else {}
            if same:
                entry["relationship"] = "18"
            elif relationship:
                entry["relationship"] = _RELATIONSHIP.get(relationship, relationship)
            entry["subscriber"] = sub
            coverages.append(entry)
        out["coverages"] = coverages
        if coverages[0].get("relationship") != "18" and patient is not None:
            out["patient"] = _human(patient)

    def _coverage(self, cov: Any, patient: Any, label: str, payer_path: str
                  ) -> tuple[str | None, dict[str, Any], bool, str | None]:
        """One Coverage: its payer key, its subscriber dict, whether the patient is that subscriber, and the
        Coverage.relationship code. ``label`` names the Coverage in problems, ``payer_path`` the payer."""
        payer = None
        payor = self.resolve(cov.payor[0] if cov.payor else None, f"{label}.payor", ("Organization",))
        if payor is not None:
            payer = _identifier(payor, PAYER_KEY_SYSTEM)
            if not payer:
                self.report("encounter.field.missing", f"{payer_path} is missing: the payor Organization has no "
                            f"identifier with system {PAYER_KEY_SYSTEM} (the key of [payers] in edi.toml)",
                            payer_path)
        subscriber_res = self.resolve(cov.subscriber, f"{label}.subscriber", _PEOPLE, required=False) \
            if cov.subscriber is not None else None
        relationship = _code(cov.relationship)
        if subscriber_res is None and cov.subscriber is None:
            if relationship not in (None, "self"):  # the beneficiary is not the subscriber: who is, is not said
                self.report("encounter.field.missing", f"subscriber is missing: {label}.subscriber must name the "
                            f"subscriber when the patient's relationship to them is {relationship}",
                            f"{label}.subscriber")
            subscriber_res = self.resolve(cov.beneficiary, f"{label}.beneficiary", ("Patient",))
        same = subscriber_res is not None and (subscriber_res is patient or relationship == "self")
        sub: dict[str, Any] = _human(subscriber_res) if subscriber_res is not None else {}
        member_id = cov.subscriberId or next((str(i.value) for i in (cov.identifier or []) if i.value), None)
        if member_id:
            sub["member_id"] = member_id
        for klass in cov.class_fhir or []:
            if "group" in [code for _, code in _codes(klass.type)]:
                if klass.value:
                    sub["group_number"] = klass.value
                if klass.name:
                    sub["group_name"] = klass.name
        return payer or None, sub, same, relationship

    def _diagnoses(self, out: dict[str, Any]) -> dict[int, int]:
        """Fill diagnoses; return diagnosis sequence -> 1-based position in ``out["diagnoses"]``."""
        items = sorted(self.claim.diagnosis or [], key=lambda d: d.sequence or 0)
        listed: list[tuple[int, dict[str, Any] | str]] = []
        principal: tuple[int, dict[str, Any] | str] | None = None
        reasons: list[str] = []
        for n, dx in enumerate(items, 1):
            element = f"Claim.diagnosis[{n}]"
            if dx.diagnosisCodeableConcept is None:
                self.report("source.fhir.unsupported", f"{element} has no diagnosisCodeableConcept (a reference to a "
                            "Condition is not read)", element)
                continue
            code = _code(dx.diagnosisCodeableConcept, ICD10CM_SYSTEM)
            if not code:
                self.report("encounter.field.missing", f"{element} has no code", element)
                continue
            types = {t for concept in (dx.type or []) for _, t in _codes(concept)}
            poa = _code(dx.onAdmission)
            entry: dict[str, Any] | str = {"code": code, "poa": poa.upper()} if poa else code
            if "admitting" in types:
                out["admitting_diagnosis"] = code
            if "patientreasonforvisit" in types:
                reasons.append(code)
            if types and types <= {"admitting", "patientreasonforvisit"}:
                continue
            if "principal" in types and principal is None:
                principal = (dx.sequence or n, entry)
            else:
                listed.append((dx.sequence or n, entry))
        ordered = ([principal] if principal else []) + listed
        if ordered:
            out["diagnoses"] = [entry for _, entry in ordered]
        if reasons:
            out["reason_for_visit"] = reasons
        return {seq: pos for pos, (seq, _) in enumerate(ordered, 1)}

    def _procedures(self, out: dict[str, Any]) -> None:
        procs = sorted(self.claim.procedure or [], key=lambda p: p.sequence or 0)
        entries = []
        principal = None
        for n, proc in enumerate(procs, 1):
            code = _code(proc.procedureCodeableConcept)
            if not code:
                self.report("source.fhir.unsupported", f"Claim.procedure[{n}] has no procedureCodeableConcept",
                            f"Claim.procedure[{n}]")
                continue
            entry = {"code": code}
            if _day(proc.date):
                entry["date"] = _day(proc.date)
            types = {t for concept in (proc.type or []) for _, t in _codes(concept)}
            if "principal" in types and principal is None:
                principal = entry
            else:
                entries.append(entry)
        if principal is None and entries:
            principal = entries.pop(0)
        if principal is not None:
            out["principal_procedure"] = principal
        if entries:
            out["other_procedures"] = entries

    def _supporting_info(self, out: dict[str, Any]) -> None:
        admission: dict[str, Any] = {}
        for info in self.claim.supportingInfo or []:
            category = _code(info.category)
            code = _code(info.code)
            if category == "typeofbill" and code:
                out["bill_type"] = code
            elif category == "admissionperiod" and info.timingPeriod is not None:
                start, end = info.timingPeriod.start, info.timingPeriod.end
                if _day(start):
                    admission["date"] = _day(start)
                if _hour(start):
                    admission["hour"] = _hour(start)
                if _hour(end):
                    out["discharge_hour"] = _hour(end)
            elif category == "admtype" and code:
                admission["type"] = code
            elif category == "pointoforigin" and code:
                admission["source"] = code
            elif category == "discharge-status" and code:
                out["discharge_status"] = code
            elif category == "medicalrecordnumber" and info.valueString:
                out["medical_record_number"] = info.valueString
            elif category == "referralnumber" and info.valueString:
                out["referral_number"] = info.valueString
            elif category == "onset" and _day(info.timingDate):
                out["onset_date"] = _day(info.timingDate)
            elif category == "conditioncode" and code:
                out.setdefault("condition_codes", []).append(code)
            elif category == "occurrencecode" and code:
                entry = {"code": code}
                if _day(info.timingDate):
                    entry["date"] = _day(info.timingDate)
                out.setdefault("occurrence_codes", []).append(entry)
            elif category == "occurrencespan" and code:
                span = {"code": code}
                if info.timingPeriod is not None:
                    if _day(info.timingPeriod.start):
                        span["from"] = _day(info.timingPeriod.start)
                    if _day(info.timingPeriod.end):
                        span["to"] = _day(info.timingPeriod.end)
                out.setdefault("occurrence_spans", []).append(span)
            elif category == "valuecode" and code:
                value: dict[str, Any] = {"code": code}
                if info.valueQuantity is not None and info.valueQuantity.value is not None:
                    value["amount"] = info.valueQuantity.value
                out.setdefault("value_codes", []).append(value)
        if admission:
            out["admission"] = admission

    def _items(self, out: dict[str, Any], sequences: dict[int, int]) -> None:
        lines = []
        total = Decimal(0)
        items = sorted(self.claim.item or [], key=lambda i: i.sequence or 0)
        for n, item in enumerate(items, 1):
            element = f"Claim.item[{n}]"
            ln: dict[str, Any] = {}
            # a revenue-code-only line (837I) says so with a data-absent-reason coding
            present = [code for system, code in _codes(item.productOrService) if system != ABSENT_SYSTEM]
            procedure = present[0] if present else None
            if procedure:
                ln["procedure"] = procedure
            modifiers = [m for concept in (item.modifier or []) if (m := _code(concept))]
            if modifiers:
                ln["modifiers"] = modifiers
            quantity = item.quantity.value if item.quantity is not None and item.quantity.value is not None \
                else Decimal(1)
            ln["units"] = quantity
            if item.net is not None and item.net.value is not None:
                ln["charge"] = item.net.value
            elif item.unitPrice is not None and item.unitPrice.value is not None:
                ln["charge"] = item.unitPrice.value * quantity * (item.factor if item.factor is not None
                                                                  else Decimal(1))
            if "charge" in ln:
                total += ln["charge"]
            pointers = []
            for j, seq in enumerate(item.diagnosisSequence or [], 1):
                if seq in sequences:
                    pointers.append(sequences[seq])
                else:
                    self.report("source.fhir.reference", f"{element}.diagnosisSequence[{j}] is {seq}, which no "
                                "listed diagnosis has", f"{element}.diagnosisSequence[{j}]")
            if pointers and out.get("kind") != "institutional":  # an 837I line points at no diagnosis
                ln["diagnosis_pointers"] = pointers
            if item.servicedDate is not None:
                ln["service_date"] = _day(item.servicedDate)
            elif item.servicedPeriod is not None:
                if _day(item.servicedPeriod.start):
                    ln["service_date"] = _day(item.servicedPeriod.start)
                end = _day(item.servicedPeriod.end)
                if end and end != ln.get("service_date"):
                    ln["service_date_end"] = end
            revenue = _code(item.revenue)
            if revenue:
                ln["revenue_code"] = revenue
            pos = _code(item.locationCodeableConcept)
            if pos and out.get("kind") != "institutional":
                ln["place_of_service"] = pos
                out.setdefault("place_of_service", pos)
            if item.id:
                ln["line_id"] = item.id
            lines.append(ln)
        out["lines"] = lines
        c = self.claim
        if c.total is not None and c.total.value is not None and lines and c.total.value != total:
            self.report("source.fhir.total", f"Claim.total is {c.total.value} but the items add up to {total}",
                        "Claim.total")
