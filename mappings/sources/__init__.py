"""Encounter sources: JSON (an array), NDJSON (one encounter per line), CSV (one row per service line) and
FHIR R4 (a Bundle of Claim, Patient, Coverage, Practitioner and Organization resources).

``read_encounters(path, format=None)`` is the one entry point: it yields ``(Encounter | None, problems)``
per encounter, streaming (NDJSON and JSON arrays in constant memory; CSV keeps only the current encounter's
rows and the ids already seen; a FHIR Bundle is one JSON document and is read whole). It never raises on
bad data: an unreadable file is a ``source.read`` problem.

``detect_format(path)`` decides from the extension (``.ndjson``/``.jsonl``, ``.csv``) or, for ``.json``
and anything else, from the first bytes: ``[`` is a JSON array, an object whose ``resourceType`` is
``Bundle`` is FHIR, an object on one line is NDJSON, a header line naming ``encounter_id`` is CSV.

Source problem codes: ``source.read``, ``source.format``, ``source.encoding``, ``source.json.syntax``,
``source.json.shape``, ``source.csv.header``, ``source.csv.syntax``, ``source.csv.split``,
``source.csv.conflict``, ``source.fhir.syntax``, ``source.fhir.shape``, ``source.fhir.invalid``,
``source.fhir.reference``, ``source.fhir.total``, ``source.fhir.unsupported`` (see each module).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from edi.problems import Problem, error
from mappings.encounter import Encounter

FORMATS = ("json", "ndjson", "csv", "fhir")
SNIFF_BYTES = 65536

EncounterResult = tuple[Encounter | None, list[Problem]]

_BUNDLE = re.compile(rb'"resourceType"\s*:\s*"Bundle"')


def sniff_format(head: bytes) -> str | None:
    """The format of a file from its first bytes (``None`` when they say nothing)."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        if _BUNDLE.search(text[:SNIFF_BYTES]):
            return "fhir"
        first, newline, _ = text.partition(b"\n")
        if newline:
            try:
                if isinstance(json.loads(first), dict):
                    return "ndjson"
            except (ValueError, UnicodeDecodeError):
                pass
            return "json"  # a pretty-printed object: one encounter
        return "ndjson"
    first_line = text.split(b"\n", 1)[0]
    if b"encounter_id" in first_line and (b"," in first_line or first_line.strip() == b"encounter_id"):
        return "csv"
    return None


def detect_format(path: str | Path) -> str | None:
    """``"json"``, ``"ndjson"``, ``"csv"`` or ``"fhir"``; ``None`` when neither the name nor the content tells."""
    suffix = Path(path).suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix == ".csv":
        return "csv"
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return None
    if suffix == ".json" and not head.strip():
        return "json"  # an empty .json file: no encounters, like an empty .ndjson or .csv
    return sniff_format(head)


def read_stream(stream: BinaryIO, format: str, *, file: str | None = None) -> Iterator[EncounterResult]:
    """Encounters from an open binary stream in a known format."""
    if format == "ndjson":
        from mappings.sources.json_source import read_ndjson

        yield from read_ndjson(stream, file=file)
    elif format == "json":
        from mappings.sources.json_source import read_json

        yield from read_json(stream, file=file)
    elif format == "csv":
        from mappings.sources.csv_source import read_csv

        yield from read_csv(stream, file=file)
    elif format == "fhir":
        from mappings.sources.fhir_source import read_fhir

        yield from read_fhir(stream, file=file)
    else:
        yield None, [error("source.format", f'unknown format "{format}"; expected one of: {", ".join(FORMATS)}',
                           file=file)]


def read_encounters(path: str | Path, format: str | None = None) -> Iterator[EncounterResult]:
    """Yield ``(Encounter | None, problems)`` for each encounter of ``path`` (``"-"`` is standard input,
    which needs ``format``). Streams; never raises on bad data."""
    file = str(path)
    if file == "-":
        if format is None:
            yield None, [error("source.format", "reading standard input needs a format (json, ndjson, csv or "
                               "fhir)", file=file)]
            return
        yield from read_stream(sys.stdin.buffer, format, file=file)
        return
    fmt = format or detect_format(path)
    if fmt is None:
        if not Path(path).exists():
            yield None, [error("source.read", "no such file", file=file)]
        else:
            yield None, [error("source.format", "cannot tell the format from the name or the content; give it "
                               "(json, ndjson, csv or fhir)", file=file)]
        return
    try:
        with open(path, "rb") as stream:
            yield from read_stream(stream, fmt, file=file)
    except OSError as exc:
        yield None, [error("source.read", f"cannot be read: {exc.strerror or exc.__class__.__name__}", file=file)]


__all__ = ["FORMATS", "EncounterResult", "detect_format", "read_encounters", "read_stream", "sniff_format"]
