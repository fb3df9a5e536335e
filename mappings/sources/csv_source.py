"""CSV encounters: one row per service line, grouped into encounters by ``encounter_id``.

The rows of one encounter must be consecutive. Encounter-level columns may be repeated on every row of the
encounter or left empty after its first row; a value that differs from an earlier row's is reported
(``source.csv.conflict``). Empty cells are absent values. UTF-8 (a byte-order mark is allowed), comma
separated, double-quoted as usual. Columns may come in any order; only ``encounter_id`` is required in the
header; an unknown column is reported once (a warning) and ignored.

Lists inside a cell are separated by ``:`` (``25:59``); items of code lists that carry a date or an amount
use ``=`` (``11=2025-03-01``, a span ``70=2025-03-01/2025-03-04``, a value ``80=3``).

Columns (encounter level)::

    encounter_id, kind, payer, frequency, payer_claim_number, place_of_service, prior_authorization,
    referral_number, medical_record_number, onset_date, note,
    diagnoses (E11.9:I10), diagnosis_poa (Y:N, aligned with diagnoses; an empty item for none),
    billing_npi, billing_name, billing_first_name, billing_tax_id, billing_taxonomy, billing_address_line1,
    billing_address_line2, billing_city, billing_state, billing_zip,
    rendering_npi, rendering_last_name, rendering_first_name, rendering_taxonomy,
    referring_npi, referring_last_name, referring_first_name,
    facility_npi, facility_name, facility_address_line1, facility_address_line2, facility_city, facility_state,
    facility_zip,
    subscriber_member_id, subscriber_last_name, subscriber_first_name, subscriber_birth_date, subscriber_sex,
    subscriber_address_line1, subscriber_address_line2, subscriber_city, subscriber_state, subscriber_zip,
    subscriber_group_number, subscriber_group_name,
    patient_relationship, patient_last_name, patient_first_name, patient_birth_date, patient_sex,
    patient_address_line1, patient_address_line2, patient_city, patient_state, patient_zip,
    bill_type, statement_from, statement_to, admission_date, admission_hour, admission_type, admission_source,
    discharge_status, discharge_hour,
    attending_npi, attending_last_name, attending_first_name, attending_taxonomy,
    operating_npi, operating_last_name, operating_first_name, operating_taxonomy,
    admitting_diagnosis, reason_for_visit (list), condition_codes (list), occurrence_codes (code=date list),
    occurrence_spans (code=from/to list), value_codes (code=amount list), principal_procedure (code=date),
    other_procedures (code=date list)

Columns of further coverages (a secondary payer, a tertiary one), ``secondary_`` or ``tertiary_`` followed by::

    payer, relationship (the patient's relationship to this coverage's subscriber: 18 self, 01 spouse, 19
    child...), member_id, last_name, first_name, birth_date, sex, address_line1, address_line2, city, state, zip,
    group_number, group_name

An encounter with a value in any of them is read in the list form (``coverages``, see ``mappings.encounter``):
``coverages[1]``, the primary, is ``payer`` and the ``subscriber_`` columns, its relationship
``patient_relationship`` (18 when no ``patient_`` column has a value); ``coverages[2]`` the ``secondary_``
columns, ``coverages[3]`` the ``tertiary_`` ones; problems name them so (``coverages[2].subscriber.member_id``
is ``secondary_member_id``, ``coverages[1].subscriber.member_id`` is ``subscriber_member_id``). An encounter
with none of them is read in the single form, as before they existed.

Columns (service line)::

    line_id, line_procedure, line_modifiers (list), line_charge, line_units, line_unit_basis,
    line_diagnosis_pointers (list: 1:2), line_service_date, line_service_date_end, line_revenue_code,
    line_place_of_service, line_description

Problems use the encounter's field paths (``billing_provider.npi``, ``lines[2].charge``); before the id is
known they name the line of the file. Codes: ``source.encoding``, ``source.csv.header`` (no header,
no ``encounter_id`` column: an error; an unknown or repeated column: a warning), ``source.csv.syntax``,
``source.csv.split`` (rows of an encounter not consecutive: the input is read twice, a pipe through a
temporary file, so that every group of the encounter is refused), ``source.csv.conflict``.

An encounter is never built from part of its rows: a row that cannot be read (too few or too many cells,
which an unquoted comma makes) refuses the encounter its id cell names, and a row with no ``encounter_id``
or a row the CSV parser gives up on refuses the encounter whose rows it follows.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from edi.problems import error, warning
from mappings.encounter import encounter_from_dict
from mappings.sources import EncounterResult

# -- the column table: column -> (path in the encounter dict, cell kind) ---------------------------------------

TEXT, LIST, DATED, SPAN, AMOUNT, DATED_ONE, POA = "text", "list", "dated", "span", "amount", "dated_one", "poa"

_ADDRESS = (("address_line1", "line1"), ("address_line2", "line2"), ("city", "city"), ("state", "state"),
            ("zip", "zip"))


def _provider_columns(prefix: str, role: str, fields: tuple[tuple[str, str], ...],
                      address: bool) -> dict[str, tuple[tuple[str, ...], str]]:
    out = {f"{prefix}_{col}": ((role, key), TEXT) for col, key in fields}
    if address:
        out.update({f"{prefix}_{col}": ((role, "address", key), TEXT) for col, key in _ADDRESS})
    return out


_PERSON = (("npi", "npi"), ("last_name", "name"), ("first_name", "first_name"), ("taxonomy", "taxonomy"))

ENCOUNTER_COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "encounter_id": (("id",), TEXT),
    **{name: ((name,), TEXT) for name in (
        "kind", "payer", "frequency", "payer_claim_number", "place_of_service", "prior_authorization",
        "referral_number", "medical_record_number", "onset_date", "note")},
    "diagnoses": (("diagnoses",), LIST),
    "diagnosis_poa": (("diagnoses",), POA),
    **_provider_columns("billing", "billing_provider", (("npi", "npi"), ("name", "name"),
                        ("first_name", "first_name"), ("tax_id", "tax_id"), ("taxonomy", "taxonomy")), True),
    **_provider_columns("rendering", "rendering_provider", _PERSON, False),
    **_provider_columns("referring", "referring_provider", _PERSON[:3], False),
    **_provider_columns("facility", "service_facility", (("npi", "npi"), ("name", "name")), True),
    **{f"subscriber_{key}": (("subscriber", key), TEXT) for key in (
        "member_id", "last_name", "first_name", "birth_date", "sex")},
    **{f"subscriber_{col}": (("subscriber", "address", key), TEXT) for col, key in _ADDRESS},
    "subscriber_group_number": (("subscriber", "group_number"), TEXT),
    "subscriber_group_name": (("subscriber", "group_name"), TEXT),
    **{f"patient_{key}": (("patient", key), TEXT) for key in (
        "relationship", "last_name", "first_name", "birth_date", "sex")},
    **{f"patient_{col}": (("patient", "address", key), TEXT) for col, key in _ADDRESS},
    "bill_type": (("bill_type",), TEXT),
    "statement_from": (("statement_from",), TEXT),
    "statement_to": (("statement_to",), TEXT),
    **{f"admission_{key}": (("admission", key), TEXT) for key in ("date", "hour", "type", "source")},
    "discharge_status": (("discharge_status",), TEXT),
    "discharge_hour": (("discharge_hour",), TEXT),
    **_provider_columns("attending", "attending_provider", _PERSON, False),
    **_provider_columns("operating", "operating_provider", _PERSON, False),
    "admitting_diagnosis": (("admitting_diagnosis",), TEXT),
    "reason_for_visit": (("reason_for_visit",), LIST),
    "condition_codes": (("condition_codes",), LIST),
    "occurrence_codes": (("occurrence_codes",), DATED),
    "occurrence_spans": (("occurrence_spans",), SPAN),
    "value_codes": (("value_codes",), AMOUNT),
    "principal_procedure": (("principal_procedure",), DATED_ONE),
    "other_procedures": (("other_procedures",), DATED),
    **{f"{prefix}_{col}": (path, TEXT) for prefix, n in (("secondary", 2), ("tertiary", 3)) for col, path in (
        ("payer", (f"coverages[{n}]", "payer")), ("relationship", (f"coverages[{n}]", "relationship")),
        *((key, (f"coverages[{n}]", "subscriber", key)) for key in (
            "member_id", "last_name", "first_name", "birth_date", "sex")),
        *((col, (f"coverages[{n}]", "subscriber", "address", key)) for col, key in _ADDRESS),
        *((key, (f"coverages[{n}]", "subscriber", key)) for key in ("group_number", "group_name")))},
}
#: The keys of the encounter dict that the secondary_ and tertiary_ columns fill, in coverage order.
_FURTHER_COVERAGES = ("coverages[2]", "coverages[3]")

LINE_COLUMNS: dict[str, tuple[str, str]] = {
    "line_id": ("line_id", TEXT),
    "line_procedure": ("procedure", TEXT),
    "line_modifiers": ("modifiers", LIST),
    "line_charge": ("charge", TEXT),
    "line_units": ("units", TEXT),
    "line_unit_basis": ("unit_basis", TEXT),
    "line_diagnosis_pointers": ("diagnosis_pointers", LIST),
    "line_service_date": ("service_date", TEXT),
    "line_service_date_end": ("service_date_end", TEXT),
    "line_revenue_code": ("revenue_code", TEXT),
    "line_place_of_service": ("place_of_service", TEXT),
    "line_description": ("description", TEXT),
}

CSV_COLUMNS: tuple[str, ...] = (*ENCOUNTER_COLUMNS, *LINE_COLUMNS)


def _split(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(":") if item.strip()]


def _dated(item: str) -> dict[str, str]:
    code, _, when = item.partition("=")
    out = {"code": code.strip()}
    if when.strip():
        out["date"] = when.strip()
    return out


def _cell_value(kind: str, cell: str) -> Any:
    if kind == LIST:
        return _split(cell)
    if kind == DATED:
        return [_dated(item) for item in _split(cell)]
    if kind == DATED_ONE:
        return _dated(cell)
    if kind == SPAN:
        out = []
        for item in _split(cell):
            code, _, period = item.partition("=")
            start, _, end = period.partition("/")
            out.append({k: v for k, v in (("code", code.strip()), ("from", start.strip()), ("to", end.strip()))
                        if v})
        return out
    if kind == AMOUNT:
        out = []
        for item in _split(cell):
            code, _, amount = item.partition("=")
            out.append({k: v for k, v in (("code", code.strip()), ("amount", amount.strip())) if v})
        return out
    return cell


def _set(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        d = d.setdefault(key, {})
    d[path[-1]] = value


# -- grouping -------------------------------------------------------------------------------------------------


class _Group:
    """The rows of one encounter being collected."""

    def __init__(self, enc_id: str, first_line: int) -> None:
        self.id = enc_id
        self.first_line = first_line
        self.cells: dict[str, str] = {}  # encounter-level column -> first non-empty value
        self.lines: list[dict[str, Any]] = []
        self.problems: list = []


def read_csv(stream: BinaryIO, *, file: str | None = None) -> Iterator[EncounterResult]:
    if not stream.seekable():  # a pipe: kept in a temporary file, read twice like any file
        with tempfile.TemporaryFile() as copy:
            shutil.copyfileobj(stream, copy, 1 << 20)
            copy.seek(0)
            yield from read_csv(copy, file=file)
        return
    split = _split_ids(stream)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _read(text, file, split)
    except UnicodeDecodeError:
        yield None, [error("source.encoding", "the file is not valid UTF-8", file=file)]
    finally:
        text.detach()


def _split_ids(stream: BinaryIO) -> set[str]:
    """The ids whose rows are not consecutive, found by a first pass over a file (rows that cannot be read
    count with the id in their id cell). An encounter is streamed as soon as its rows end, so without this
    pass the first group of a split encounter would be built from part of its lines."""
    start = stream.tell()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    split: set[str] = set()
    try:
        reader = csv.reader(text)
        header = [h.strip() for h in next(reader, None) or ()]
        if "encounter_id" in header:
            id_index = header.index("encounter_id")
            done: set[str] = set()
            current = None
            for row in reader:
                enc_id = row[id_index].strip() if len(row) > id_index else ""
                if not enc_id or enc_id == current:
                    continue
                if enc_id in done:
                    split.add(enc_id)
                if current is not None:
                    done.add(current)
                current = enc_id
    except (csv.Error, UnicodeDecodeError):
        pass  # the reading pass reports it (and reads no further)
    finally:
        text.detach()
        stream.seek(start)
    return split


def _read(text: io.TextIOWrapper, file: str | None, split: set[str]) -> Iterator[EncounterResult]:
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield None, [error("source.csv.syntax", f"the header cannot be read: {exc}", file=file, record="line 1")]
        return
    if header is None:
        return
    header = [h.strip() for h in header]
    if "encounter_id" not in header:
        yield None, [error("source.csv.header", "the header has no encounter_id column (the first line must name "
                           "the columns)", file=file, record="line 1")]
        return
    header_problems = []
    columns: list[tuple[int, str]] = []
    for i, name in enumerate(header):
        if name not in ENCOUNTER_COLUMNS and name not in LINE_COLUMNS:
            if name:
                header_problems.append(warning("source.csv.header", f"column {name} is not a known column and is "
                                               "ignored", file=file, record="line 1", element=name))
            continue
        if any(name == seen for _, seen in columns):
            header_problems.append(warning("source.csv.header", f"column {name} appears twice; the first is read",
                                           file=file, record="line 1", element=name))
            continue
        columns.append((i, name))
    if header_problems:
        yield None, header_problems
    id_index = header.index("encounter_id")
    width = len(header)

    done: set[str] = set()
    broken: dict[str, int] = {}  # id -> the line of a row of it that could not be read (outside its group)
    group: _Group | None = None
    skipping: str | None = None  # the id of a split encounter whose rows are being skipped

    def finish(group: _Group) -> EncounterResult:
        # a row that may belong to the encounter and was not read, or rows elsewhere in the file: building it
        # from the rows at hand would bill less than was coded
        if group.id in split:
            group.problems.append(error("source.csv.split", f"the rows of encounter {group.id} are not consecutive: "
                                        "its rows must follow each other; the encounter is not built from part "
                                        "of them", file=file, record=group.id, element="id"))
        if group.id in broken:
            group.problems.append(error("source.csv.syntax", f"a row of encounter {group.id} (line "
                                        f"{broken[group.id]}) could not be read; the encounter is not built "
                                        "from the others", file=file, record=group.id))
        return _finish(group, file)

    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            if group is not None:
                group.problems.append(error("source.csv.syntax", f"line {reader.line_num} cannot be read ({exc}) "
                                            "and may be a row of this encounter; the file is not read further",
                                            file=file, record=group.id))
                yield finish(group)
            yield None, [error("source.csv.syntax", f"{exc}", file=file, record=f"line {reader.line_num}")]
            return
        if row is None:
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            problem = error("source.csv.syntax", f"the row has {len(row)} cells; the header has {width}", file=file,
                            record=f"line {line}")
            row_id = row[id_index].strip() if len(row) > id_index else ""
            if row_id:
                problem = problem.at(record=row_id)
                if group is not None and row_id == group.id:
                    group.problems.append(problem)  # the encounter is refused, not built without this row
                    continue
                broken.setdefault(row_id, line)
            yield None, [problem]
            continue
        enc_id = row[id_index].strip()
        if not enc_id:
            problem = error("encounter.field.missing", "id is missing (the encounter_id cell is empty)", file=file,
                            record=f"line {line}", element="id")
            if group is not None:  # most likely a further row of the encounter above: that one is refused too
                group.problems.append(error("source.csv.syntax", f"line {line} has no encounter_id and may be a "
                                            "row of this encounter", file=file, record=group.id))
            yield None, [problem]
            continue
        if group is not None and enc_id == group.id:
            _add_row(group, row, columns, line, file)
            continue
        if enc_id == skipping:
            continue
        if group is not None:
            yield finish(group)
            done.add(group.id)
            group = None
        skipping = None
        if enc_id in done:
            skipping = enc_id
            yield None, [error("source.csv.split", f"the rows of encounter {enc_id} are not consecutive: line "
                               f"{line} starts a second group; rows of one encounter must follow each other "
                               "(these rows are not read)", file=file, record=enc_id, element="id")]
            continue
        group = _Group(enc_id, line)
        _add_row(group, row, columns, line, file)
    if group is not None:
        yield finish(group)


def _add_row(group: _Group, row: list[str], columns: list[tuple[int, str]], line: int, file: str | None) -> None:
    ln: dict[str, Any] = {}
    for i, name in columns:
        cell = row[i].strip()
        if not cell:
            continue
        if name in LINE_COLUMNS:
            key, kind = LINE_COLUMNS[name]
            ln[key] = _cell_value(kind, cell)
            continue
        earlier = group.cells.get(name)
        if earlier is None:
            group.cells[name] = cell
        elif earlier != cell:
            path, _ = ENCOUNTER_COLUMNS[name]
            group.problems.append(error("source.csv.conflict", f"column {name} on line {line} differs from an "
                                        "earlier row of the same encounter", file=file, record=group.id,
                                        element=".".join(path)))
    group.lines.append(ln)


def _finish(group: _Group, file: str | None) -> EncounterResult:
    data: dict[str, Any] = {}
    poa: list[str] | None = None
    for name, cell in group.cells.items():
        path, kind = ENCOUNTER_COLUMNS[name]
        if kind == POA:
            poa = [item.strip() for item in cell.split(":")]
            continue
        _set(data, path, _cell_value(kind, cell))
    if poa is not None:
        codes = data.get("diagnoses", [])
        data["diagnoses"] = [{"code": code, "poa": poa[i]} if i < len(poa) and poa[i] else code
                             for i, code in enumerate(codes)]
        if len(poa) > len(codes):
            group.problems.append(error("source.csv.conflict", "diagnosis_poa has more items than diagnoses",
                                        file=file, record=group.id, element="diagnoses"))
    _coverages(data)
    data["lines"] = group.lines
    enc, problems = encounter_from_dict(data, file=file, record=f"line {group.first_line}")
    if group.problems:
        return None, group.problems + problems
    return enc, problems


def _coverages(data: dict[str, Any]) -> None:
    """Turn ``data`` into the list form when a secondary_ or tertiary_ column has a value: the primary from
    payer and the subscriber_ columns, its relationship the patient's (18 without a patient), then the others
    (a tertiary without a secondary leaves coverages[2] empty, which the parser reports)."""
    further = [data.pop(key, None) for key in _FURTHER_COVERAGES]
    while further and further[-1] is None:
        further.pop()
    if not further:
        return
    primary = {key: data.pop(key) for key in ("payer", "subscriber") if key in data}
    patient = data.get("patient")
    if patient is None:
        primary["relationship"] = "18"
    elif "relationship" in patient:
        primary["relationship"] = patient["relationship"]
    data["coverages"] = [primary, *(coverage or {} for coverage in further)]
