"""Reading NDJSON encounters: the parser path against the msgspec fast path, in microseconds of CPU per line.

    python benchmarks/decode.py [--lines 20000] [--repeat 5]

Generates ``--lines`` encounters with ``benchmarks/claims.py``'s generator (the lines ``edi claims build`` reads
in its benchmark) and reads each line, dropping the result as the build does once it has mapped it:

- ``parser``: ``json`` then ``encounter_from_dict`` (``json_source.parse_line``), and its two halves;
- ``fast path``: ``ndjson_line``, which decodes with msgspec into typed structs and converts them
  (``mappings.decode``), and its two halves; then the same with the dataclasses' own constructors instead of
  ``edi.model.fast_new``, which shows what the fast constructors still save there.

CPU time of this process (``time.process_time``), the best of ``--repeat`` runs: other work on the machine
stretches the wall clock more than the CPU time.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # keep stdlib `tokenize` importable

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.claims import write_encounters  # noqa: E402


def best_us(run: Callable[[], object], n: int, repeat: int) -> float:
    """The least CPU time of ``repeat`` runs of ``run``, in microseconds per line."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description="NDJSON encounter decoding: parser against msgspec fast path")
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()

    import mappings.decode as decode
    from edi.model import Address, Source
    from mappings.encounter import (
        Encounter,
        EncounterDiagnosis,
        EncounterLine,
        EncounterPatient,
        EncounterProvider,
        EncounterSubscriber,
        encounter_from_dict,
    )
    from mappings.sources.json_source import _loads, ndjson_line, parse_line

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "encounters.ndjson"
        write_encounters(path, a.lines)
        lines = path.read_bytes().splitlines(keepends=True)
    n = len(lines)
    texts = [raw.decode("utf-8") for raw in lines]
    dicts = [_loads(text) for text in texts]
    structs = [decode._DECODER.decode(raw) for raw in lines]
    taken = sum(decode.encounter_from_json_line(raw, "f") is not None for raw in lines)
    same = all(ndjson_line(raw, i, "f") == parse_line(raw, i, "f") for i, raw in enumerate(lines, 2))

    def each(fn: Callable[..., object], items: list) -> Callable[[], None]:
        def run() -> None:
            for i, item in enumerate(items, 2):
                fn(item, i)
        return run

    def fast() -> float:
        return best_us(each(lambda raw, i: ndjson_line(raw, i, "f"), lines), n, a.repeat)

    rows = [
        ("parser: json.loads, then encounter_from_dict", best_us(each(parse_line, lines), n, a.repeat)),
        ("  json.loads (Decimal for fractions)", best_us(each(lambda t, i: _loads(t), texts), n, a.repeat)),
        ("  encounter_from_dict", best_us(each(lambda d, i: encounter_from_dict(d, file="f", record="line 1"),
                                               dicts), n, a.repeat)),
        ("fast path: ndjson_line (msgspec)", fast()),
        ("  msgspec decode into structs", best_us(each(lambda r, i: decode._DECODER.decode(r), lines), n,
                                                  a.repeat)),
        ("  conversion to Encounter, missing_fields", best_us(each(
            lambda s, i: decode.missing_fields(decode._encounter(s, "f")), structs), n, a.repeat)),
    ]
    names = ("_Address", "_Source", "_Provider", "_Subscriber", "_Patient", "_Diagnosis", "_Line", "_Encounter")
    fast_ones = [getattr(decode, name) for name in names]
    plain = (Address, Source, EncounterProvider, EncounterSubscriber, EncounterPatient, EncounterDiagnosis,
             EncounterLine, Encounter)
    for name, cls in zip(names, plain, strict=True):
        setattr(decode, name, cls)
    try:
        rows.append(("fast path with the dataclasses' own constructors", fast()))
    finally:
        for name, made in zip(names, fast_ones, strict=True):
            setattr(decode, name, made)

    print(f"{n:,} NDJSON lines of benchmarks/claims.py ({sum(map(len, lines)) / n:.0f} bytes each): {taken:,} "
          f"taken by the fast path; same encounters and problems on both paths: {same}")
    print(f"CPU us per line, best of {a.repeat}:")
    for label, us in rows:
        print(f"  {label:<52} {us:7.2f}")
    print(f"fast path: {rows[0][1] / rows[3][1]:.1f} times faster than the parser")


if __name__ == "__main__":
    main()
