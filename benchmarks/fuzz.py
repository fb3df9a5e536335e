"""A mutation fuzzer over every reader and importer: real files (``samples/`` and, when present,
``../shared/corpus``) with bytes, segments, elements and delimiters changed, run through

- the tokenizer (fed in random chunks), ``validate_bytes``, the 835, 837 and acknowledgement readers;
- ``edi remit show --json``, ``edi acks show --json``, ``edi x12 view --json`` and ``edi x12 validate --json``:
  each must end with a documented exit code, and what it prints on stdout must parse as JSON;
- the importers (``Ledger.import_835``, ``record_837``, ``import_acks``) on one SQLite ledger, after which
  ``Ledger.check()`` must find nothing.

A case fails when an exception escapes any of them, an exit code is not documented, or the JSON or the ledger
check fails. ``tests/test_fuzz.py`` runs a bounded, derandomized share of it in CI; this script runs longer:

    python benchmarks/fuzz.py [--cases 2000] [--seed 1] [--corpus ../shared/corpus] [--save-failures DIR]
                              [--db postgresql+psycopg://...]

It prints the number of cases run, their speed and each failure (the seed file, the mutations, what failed),
and exits 1 when any case failed. ``--save-failures DIR`` writes each failing input there to reproduce it.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # keep stdlib `tokenize` importable

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"
SUFFIXES = {".835", ".837", ".999", ".277", ".x12", ".edi", ".txt", ".dat", ".ta1", ".997"}

#: Values that have broken readers somewhere: amounts Python reads too kindly (NaN, 1E+999999, 27_3.86),
#: fractions of a cent, over-long values, control and format characters, bytes that are not UTF-8, line
#: separators JSON output must escape.
NASTY = [
    b"", b" ", b"NaN", b"sNaN", b"-0", b"Infinity", b"1E+999999", b"1E+25", b"27_3.86", b"273.865", b"0.001",
    b"-1", b"99999999999999999999", b"12345678901234567890.12", b"1" * 81, b"X" * 300, b"\x1b]0;title\x07",
    b"\x1b[2J", b"\xff\xfe", b"\xc3", b"\xe2\x80\xa8", b"\xe2\x80\xae", b"\xc2\x85", b"\x00", b"20250230",
    b"99999999", b"\xed\xa0\x80", b"CO", b"PR", b"22", b"4", b"0", b"HP", b"HC", b"835", b"837", b"999", b"277",
]


def seed_files(corpus: Path | None = CORPUS, *, max_bytes: int = 40_000) -> list[Path]:
    """The real files mutations start from: every X12 sample, and the corpus's files when it is there (the
    largest left out: a case must stay fast)."""
    found = [p for p in sorted((ROOT / "samples").rglob("*")) if p.is_file() and p.suffix in (".835", ".837",
                                                                                             ".999", ".277")]
    if corpus is not None and corpus.is_dir():
        found += [p for p in sorted(corpus.rglob("*")) if p.is_file() and p.name not in ("MANIFEST.tsv", "README.md")
                  and p.stat().st_size <= max_bytes]
    return found


def _terminator(data: bytes) -> bytes:
    """The segment terminator: ISA's 106th byte when the file starts with an ISA, else ``~``."""
    start = data.find(b"ISA")
    if start >= 0 and len(data) > start + 105:
        return data[start + 105:start + 106]
    return b"~"


def _separator(data: bytes) -> bytes:
    start = data.find(b"ISA")
    return data[start + 3:start + 4] if start >= 0 and len(data) > start + 3 else b"*"


def mutate(data: bytes, rnd: random.Random, *, count: int | None = None) -> tuple[bytes, list[str]]:
    """``data`` with 1 to 4 mutations drawn from ``rnd``; what was done, in words."""
    done: list[str] = []
    for _ in range(count or rnd.randint(1, 4)):
        kind = rnd.choice(("byte", "insert", "delete", "truncate", "segment", "segment", "element", "element",
                           "element", "delimiter", "envelope"))
        term, sep = _terminator(data), _separator(data)
        if kind == "byte" and data:
            i = rnd.randrange(len(data))
            b = rnd.randrange(256)
            data = data[:i] + bytes([b]) + data[i + 1:]
            done.append(f"byte {i} = {b:#04x}")
        elif kind == "insert":
            i = rnd.randint(0, len(data))
            blob = rnd.choice(NASTY + [bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8))), term, sep])
            data = data[:i] + blob + data[i:]
            done.append(f"insert {blob!r} at {i}")
        elif kind == "delete" and data:
            i = rnd.randrange(len(data))
            n = rnd.randint(1, 40)
            data = data[:i] + data[i + n:]
            done.append(f"delete {n} bytes at {i}")
        elif kind == "truncate" and data:
            i = rnd.randrange(len(data))
            data = data[:i]
            done.append(f"truncate at {i}")
        elif kind == "segment":
            segs = data.split(term)
            if len(segs) < 2:
                continue
            i, j = rnd.randrange(len(segs)), rnd.randrange(len(segs))
            how = rnd.choice(("drop", "repeat", "swap", "move"))
            if how == "drop":
                del segs[i]
            elif how == "repeat":
                segs.insert(i, segs[i])
            elif how == "swap":
                segs[i], segs[j] = segs[j], segs[i]
            else:
                segs.insert(j, segs.pop(i))
            data = term.join(segs)
            done.append(f"segment {how} {i} {j}")
        elif kind == "element":
            segs = data.split(term)
            i = rnd.randrange(len(segs))
            if segs[i].lstrip().startswith(b"ISA"):
                continue  # the ISA is fixed width: its bytes are mutated as bytes
            els = segs[i].split(sep)
            k = rnd.randrange(len(els) + 1)
            value = rnd.choice(NASTY)
            if k == len(els):
                els.append(value)
            elif k:
                els[k] = value if rnd.random() < 0.8 else els[k] + value
            else:
                els[0] = rnd.choice((b"CLP", b"SVC", b"CAS", b"PLB", b"BPR", b"TRN", b"CLM", b"SV1", b"HL", b"STC",
                                     b"AK2", b"IK5", b"SE", b"GE", b"IEA", b"ST", b"GS", b"N1", b"NM1", value))
            segs[i] = sep.join(els)
            data = term.join(segs)
            done.append(f"segment {i} element {k} = {value!r}")
        elif kind == "delimiter":
            old = rnd.choice((sep, term, b":", b"^"))
            new = rnd.choice((b"*", b"~", b":", b"^", b"|", b"\n", b"\x1d", b"+"))
            if rnd.random() < 0.5:
                data = data.replace(old, new)
                done.append(f"every {old!r} -> {new!r}")
            else:
                start = data.find(b"ISA")
                pos = rnd.choice((3, 82, 104, 105))
                if start >= 0 and len(data) > start + pos:
                    data = data[:start + pos] + new + data[start + pos + 1:]
                    done.append(f"ISA byte {pos} = {new!r}")
        elif kind == "envelope":
            a, b = rnd.sample([b"835", b"837", b"999", b"277", b"997", b"HP", b"HC", b"FA", b"HN", b"ZZ"], 2)
            data = data.replace(sep + a + sep, sep + b + sep, 1)
            done.append(f"first {a!r} -> {b!r}")
    return data, done


_command = None  # the click command of `edi`, built once


@dataclass
class Fuzz:
    """Runs cases against one SQLite ledger in a folder of its own."""

    folder: Path
    db: str | None = None  # a ledger URL (PostgreSQL); by default an SQLite file in ``folder``
    ledger: object = None
    cases: int = 0
    failures: list[tuple[str, list[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ledger = self._open()

    def _open(self):
        from edi.ledger import Ledger

        return Ledger(self.db or f"sqlite:///{self.folder / 'fuzz.db'}")

    def close(self) -> None:
        self.ledger.close()

    def run(self, data: bytes, name: str = "case") -> list[str]:
        """Every reader, command and importer on ``data``; what failed (empty when nothing did)."""
        self.cases += 1
        path = self.folder / f"{name}.x12"
        path.write_bytes(data)
        failed: list[str] = []
        for what, check in (("tokenizer", self._tokenizer), ("validate", self._validate), ("readers", self._readers),
                            ("commands", self._commands), ("importers", self._importers)):
            try:
                failed += check(data, str(path))
            except Exception as exc:  # what the fuzzer is looking for
                failed.append(f"{what}: {type(exc).__name__}: {str(exc)[:200]}\n{_where(exc)}")
        path.unlink()
        return failed

    @staticmethod
    def _tokenizer(data: bytes, path: str) -> list[str]:
        from edi.x12.tokenizer import Tokenizer

        rnd = random.Random(len(data))
        tok = Tokenizer(file=path)
        i = 0
        while i < len(data):
            n = rnd.randint(1, 4096)
            list(tok.feed(data[i:i + n]))
            i += n
        list(tok.close())
        return []

    @staticmethod
    def _validate(data: bytes, path: str) -> list[str]:
        from edi.validate import validate_bytes

        report = validate_bytes(data, file=path)
        json.dumps(report.as_dict(), default=str)
        return []

    @staticmethod
    def _readers(data: bytes, path: str) -> list[str]:
        from edi.acks.reader import parse_acks
        from edi.x835.reader import parse_remittances, read_remittances
        from edi.x837.reader import read_837_bytes

        parse_remittances(data, path)
        reader = read_remittances(path)
        for _ in reader:
            pass
        stream = read_837_bytes(data, file=path)
        for _ in stream:
            pass
        parse_acks(data, path)
        return []

    @staticmethod
    def _commands(data: bytes, path: str) -> list[str]:
        import typer.testing
        from typer.main import get_command

        from cli.main import app

        global _command
        if _command is None:  # built once: Typer builds the command anew for each invoke, the most of a short run
            _command = get_command(app)
        failed = []
        runner = typer.testing.CliRunner()
        real, typer.testing._get_command = typer.testing._get_command, lambda _app: _command
        try:
            runs = [(args, runner.invoke(app, [*args[:2], path, *args[2:]]))
                    for args in (["remit", "show", "--json"], ["acks", "show", "--json"], ["x12", "view", "--json"],
                                 ["x12", "validate", "--json"], ["remit", "show"])]
        finally:
            typer.testing._get_command = real
        for args, r in runs:
            said = f"edi {' '.join(args[:2])} {' '.join(args[2:])}"
            if r.exception is not None and not isinstance(r.exception, SystemExit):
                failed.append(f"{said}: {type(r.exception).__name__}: {str(r.exception)[:200]}\n"
                              f"{_where(r.exception)}")
                continue
            if r.exit_code not in (0, 1, 2) or "Traceback" in r.stderr:
                failed.append(f"{said}: exit {r.exit_code}: {r.stderr[-300:]}")
            if "--json" in args and r.stdout.strip():
                try:
                    json.loads(r.stdout)
                except ValueError as exc:
                    failed.append(f"{said}: not JSON ({exc})")
        return failed

    def _importers(self, data: bytes, path: str) -> list[str]:
        failed = []
        for how in ("record_837", "import_acks", "import_835"):
            getattr(self.ledger, how)(path)
            problems = self.ledger.check()
            if problems:
                failed.append(f"ledger check after {how}: " + "; ".join(f"{p.code}: {p.message}" for p in problems))
                # a ledger that fails its check stays failed: start again so later cases say something of their own
                self.ledger.close()
                if self.db is None:
                    os.replace(self.folder / "fuzz.db", self.folder / f"fuzz-failed-{self.cases}.db")
                    self.ledger = self._open()
                else:  # PostgreSQL: the failed ledger is kept, later cases add to it
                    self.ledger = self._open()
                break
        return failed


def _where(exc: BaseException) -> str:
    """The innermost frames of ``exc`` inside the project (file:line function), for a report."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(ROOT) in f.filename]
    return " <- ".join(f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} {f.name}" for f in reversed(frames[-3:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--save-failures", type=Path, default=None)
    parser.add_argument("--db", default=None, help="the ledger to import into (a PostgreSQL URL whose schema is "
                        "empty); by default a new SQLite file")
    args = parser.parse_args()

    seeds = seed_files(args.corpus)
    rnd = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edi-fuzz-") as folder:
        os.environ["XDG_CACHE_HOME"] = str(Path(folder) / "cache")
        fuzz = Fuzz(Path(folder), db=args.db)
        try:
            for n in range(args.cases):
                seed = rnd.choice(seeds)
                data, done = mutate(seed.read_bytes(), rnd)
                failed = fuzz.run(data, name=f"case{n}")
                if failed:
                    fuzz.failures.append((str(seed.relative_to(ROOT.parent)), done, "\n".join(failed)))
                    if args.save_failures:
                        args.save_failures.mkdir(parents=True, exist_ok=True)
                        (args.save_failures / f"case{n}-{seed.name}").write_bytes(data)
        finally:
            fuzz.close()
    elapsed = time.perf_counter() - started
    print(f"{fuzz.cases} cases from {len(seeds)} seed files (seed {args.seed}) in {elapsed:.1f} s "
          f"({fuzz.cases / elapsed:.1f} cases/s): {len(fuzz.failures)} failed")
    causes: dict[str, int] = {}
    for seed, done, failed in fuzz.failures:
        print(f"\n{seed}: {'; '.join(done)}\n  " + failed.replace("\n", "\n  "))
        for line in failed.splitlines():
            if not line.startswith(" ") and ": " in line:
                key = line.split(": ")[0] + ": " + line.split(": ")[1]
                causes[key] = causes.get(key, 0) + 1
    if causes:
        print("\nby cause:")
        for key, n in sorted(causes.items(), key=lambda kv: -kv[1]):
            print(f"  {n:5}  {key}")
    raise SystemExit(1 if fuzz.failures else 0)


if __name__ == "__main__":
    main()
