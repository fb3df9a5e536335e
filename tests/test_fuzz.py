"""The mutation fuzzer (benchmarks/fuzz.py) in CI: real files from samples/ and ../shared/corpus (when present)
with bytes, segments, elements and delimiters changed, through every reader (tokenizer, validation, the 835,
837 and acknowledgement readers), the reading commands' --json output and the importers on one SQLite ledger.
No exception may escape, every --json output must parse, and `edi ledger check` must pass after each import.

Derandomized and bounded (a few hundred cases, well under 30 s): the same cases on every run, so a failure
here is a regression, not luck. `python benchmarks/fuzz.py --cases N` runs longer with fresh cases.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from benchmarks.fuzz import Fuzz, mutate, seed_files

SEEDS = seed_files()
SEED_BYTES = {p: p.read_bytes() for p in SEEDS}


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    import os

    folder = tmp_path_factory.mktemp("fuzz")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")  # an internal error's traceback file stays here
    f = Fuzz(folder)
    yield f
    f.close()
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


def test_the_seeds_hold_every_kind_of_file():
    kinds = {p.suffix for p in SEEDS}
    assert {".835", ".837", ".999", ".277"} <= kinds


def test_an_unmutated_seed_passes(fuzz):
    """The fuzzer's checks on files that are fine find nothing (so what they find in a mutant is the mutation's)."""
    for path in SEEDS[:12]:
        assert fuzz.run(SEED_BYTES[path]) == [], path


@settings(max_examples=400, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), rnd=st.randoms(use_true_random=False))
def test_no_mutation_of_a_real_file_escapes_a_reader_a_command_or_an_importer(fuzz, seed, rnd: random.Random):
    data, done = mutate(SEED_BYTES[seed], rnd)
    note(f"{seed.name}: {'; '.join(done)}")
    failed = fuzz.run(data)
    assert failed == [], "\n".join(failed)
