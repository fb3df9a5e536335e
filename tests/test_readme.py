"""Docs as tests: the README's shell examples are run, and what they print is compared with what the README says.

The convention (a README block is checked when it follows it):

- An example is a fenced ``console`` block. Each line that starts with ``$ `` is a command, run by ``bash`` in the
  block's workspace (stdout and stderr together, unbuffered, so they interleave as a terminal shows them); the
  lines after it, up to the next ``$ `` line, are what it prints. A command's exit code is not compared (the
  output says what happened).
- An HTML comment on the line before the fence (invisible on GitHub) says where the block runs:

  ``<!-- check: demo -->``
      in the workspace ``edi demo --dir`` made (one for the whole README: blocks share it in README order, so a
      write-off in one block shows in the next), with ``SOURCE_DATE_EPOCH`` set to ``DEMO_EPOCH``, so that the
      demo's figures and files are the same on every run (``edi demo`` itself, run in a block, too);
  ``<!-- check: samples -->``
      in a fresh folder holding a copy of ``samples/`` (``edi x12 view samples/835/...``), its own ledger;
  ``<!-- check: demo; before: COMMANDS -->`` (or ``samples; before: ...``)
      runs COMMANDS (bash, output not compared) first: ``cp samples/acks/* .``;
  ``<!-- check: skip REASON -->``
      not run, and reported as skipped with REASON (``pip install``, a server, a 2,000-claim file).

- A ``console`` block without a mark fails: nothing in the README goes unchecked without saying why.

Every block runs with ``TMPDIR`` inside the test's own folder (an ``edi demo`` leaves nothing in ``/tmp``).
Light normalisation on both sides before comparing: trailing blanks, the demo's temporary folder name
(``/tmp/edi-demo-<id>``, wherever the temporary folder is), timestamps the ledger prints (``on 2026-11-27
17:37``), the date and time an acknowledgement or an upload is made (ISA09/ISA10, GS04/GS05, ``-20261204.837``).
A line of ``...`` in the expected output matches any number of lines (for long outputs shown in part).

Until README.md carries its first mark the module is skipped, saying so; ``EDI_README=path`` checks another file
(a marked copy). ``test_the_convention_*`` run always: they check the checker on an inline README.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = Path(os.environ.get("EDI_README", ROOT / "README.md"))
#: The instant ``demo`` blocks run at (``SOURCE_DATE_EPOCH``): 2025-10-01 12:00 UTC, as the README says.
DEMO_EPOCH = "1759320000"

_FENCE = re.compile(r"^```(\S*)\s*$")
_MARK = re.compile(r"^<!--\s*check:\s*(.*?)\s*-->\s*$")


@dataclass
class Example:
    """One ``console`` block: where it starts, its mark, and its (command, expected output) pairs."""

    line: int
    mark: str | None
    steps: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def workspace(self) -> str | None:
        return None if self.mark is None else self.mark.split(";")[0].split()[0]

    @property
    def before(self) -> str:
        m = re.search(r";\s*before:\s*(.*)$", self.mark or "")
        return m.group(1) if m else ""

    @property
    def skip_reason(self) -> str:
        return (self.mark or "")[len("skip"):].strip() or "(no reason given)"


def examples(text: str) -> list[Example]:
    """The ``console`` blocks of a markdown text, in order, with the mark on the line before each."""
    found: list[Example] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start, lang = i, fence.group(1)
        i += 1
        body = []
        while i < len(lines) and not _FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if lang != "console":
            continue
        mark = _MARK.match(lines[start - 1]) if start else None
        ex = Example(start + 1, mark.group(1) if mark else None)
        for line in body:
            if line.startswith("$ "):
                ex.steps.append((line[2:], []))
            elif ex.steps:
                ex.steps[-1][1].append(line)
        found.append(ex)
    return found


_NORMAL = [
    (re.compile(r"(?:/[\w.-]+)*/edi-demo-\w+"), "/tmp/edi-demo-<id>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b"), "<timestamp>"),
    (re.compile(r"^(ISA\*(?:[^*]*\*){8})\d{6}\*\d{4}\*"), r"\1<date>*<time>*"),
    (re.compile(r"^(GS\*(?:[^*]*\*){3})\d{8}\*\d{4}\*"), r"\1<date>*<time>*"),
    (re.compile(r"-\d{8}\.837\b"), "-<date>.837"),
]


def normal(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        line = line.rstrip()
        for pattern, repl in _NORMAL:
            line = pattern.sub(repl, line)
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected``, a ``...`` line in it standing for any lines."""
    if "..." not in expected:
        return expected == actual
    k = expected.index("...")
    head, tail = expected[:k], expected[k + 1:]
    if actual[:len(head)] != head:
        return False
    rest = actual[len(head):]
    return any(matches(tail, rest[j:]) for j in range(len(rest) + 1))


class Workspaces:
    """The folders blocks run in, made when a block first asks for one."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.made: dict[str, Path] = {}

    def env(self, workspace: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("EDI_DATABASE_URL", "EDI_DEBUG",
                                                                  "SOURCE_DATE_EPOCH")}
        (self.base / "tmp").mkdir(exist_ok=True)
        env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "200", "XDG_CACHE_HOME": str(self.base / "cache"),
                    "TMPDIR": str(self.base / "tmp"),
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                    "SAMPLES": str(ROOT / "samples"), "REPO": str(ROOT)})
        if workspace == "demo":
            env["SOURCE_DATE_EPOCH"] = DEMO_EPOCH
        return env

    def get(self, name: str) -> Path:
        if name not in self.made:
            folder = self.base / name
            if name == "demo":
                run = subprocess.run(["edi", "demo", "--dir", str(folder)], env=self.env(name), capture_output=True,
                                     text=True, timeout=300)
                assert run.returncode == 0, run.stdout + run.stderr
            elif name == "samples":
                folder.mkdir()
                shutil.copytree(ROOT / "samples", folder / "samples",
                                ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
            else:
                raise AssertionError(f"unknown workspace {name!r} (demo or samples)")
            self.made[name] = folder
        return self.made[name]

    def run(self, ex: Example) -> list[tuple[str, list[str], list[str]]]:
        """Each step's command, expected and actual output (normalised)."""
        folder = self.get(ex.workspace)
        if ex.before:
            done = subprocess.run(["bash", "-c", ex.before], cwd=folder, env=self.env(ex.workspace),
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"before: {ex.before}: {done.stdout}{done.stderr}"
        out = []
        for command, expected in ex.steps:
            done = subprocess.run(["bash", "-c", command], cwd=folder, env=self.env(ex.workspace),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            out.append((command, normal(expected), normal(done.stdout.splitlines())))
        return out


def check(ex: Example, spaces: Workspaces) -> None:
    if ex.mark is None:
        pytest.fail(f"README.md line {ex.line}: a console block without a <!-- check: ... --> mark (demo, samples, "
                    "or skip REASON): mark it")
    if ex.workspace == "skip":
        pytest.skip(f"README.md line {ex.line}: {ex.skip_reason}")
    for command, expected, actual in spaces.run(ex):
        if not matches(expected, actual):
            import difflib

            diff = "\n".join(difflib.unified_diff(expected, actual, "README", "edi", lineterm=""))
            pytest.fail(f"README.md line {ex.line}: `{command}` prints otherwise:\n{diff}")


# -- the README --------------------------------------------------------------------------------------------------

TEXT = README.read_text(encoding="utf-8") if README.exists() else ""
EXAMPLES = examples(TEXT)
MARKED = any(ex.mark is not None for ex in EXAMPLES)


@pytest.fixture(scope="module")
def spaces(tmp_path_factory) -> Workspaces:
    return Workspaces(tmp_path_factory.mktemp("readme"))


@pytest.mark.skipif(not MARKED, reason=f"{README.name} has no <!-- check: ... --> mark yet: its examples are not "
                    "checked (see the convention in tests/test_readme.py)")
@pytest.mark.parametrize("ex", EXAMPLES, ids=[f"line{ex.line}" for ex in EXAMPLES])
def test_readme_example(ex: Example, spaces: Workspaces):
    check(ex, spaces)


# -- the checker itself -------------------------------------------------------------------------------------------

INLINE = """
Some text.

<!-- check: samples -->
```console
$ edi x12 validate samples/835/synthetic-payment.835
samples/835/synthetic-payment.835: ok - 116 segments, 1 transaction sets (835 005010X221A1); 0 errors, 0 warnings
$ edi x12 view samples/835/synthetic-payment.835 | head -3
      1  ISA*00*          *00*          *ZZ*SYNTHPAYER     *ZZ*SYNTHCLINIC    *250301*1200*^*00501*000000001*0*T*:
...
      3      ST*835*0001
```

<!-- check: samples; before: cp samples/835/synthetic-payment.835 era.835 -->
```console
$ edi x12 ack era.835 2>/dev/null | head -1
ISA*00*          *00*          *ZZ*SYNTHCLINIC    *ZZ*SYNTHPAYER     *991231*2359*^*00501*000000001*0*T*:~
```

<!-- check: skip needs the network -->
```console
$ pip install edi
```

```console
$ edi --version
```

```toml
[not] = "checked"
```
"""


def test_the_convention_reads_blocks_marks_and_steps():
    found = examples(INLINE)
    assert [(ex.line, ex.workspace, len(ex.steps)) for ex in found] == [(5, "samples", 2), (15, "samples", 1),
                                                                      (21, "skip", 1), (25, None, 1)]
    assert found[0].steps[1][1][1] == "..." and found[1].before == "cp samples/835/synthetic-payment.835 era.835"
    assert found[2].skip_reason == "needs the network"


def test_the_convention_runs_marked_blocks_and_fails_on_a_difference(tmp_path):
    spaces = Workspaces(tmp_path)
    first, second, skipped, unmarked = examples(INLINE)
    check(first, spaces)
    check(second, spaces)  # the ack's date and time differ from the README's: normalised
    with pytest.raises(pytest.skip.Exception, match="needs the network"):
        check(skipped, spaces)
    with pytest.raises(pytest.fail.Exception, match="without a <!-- check"):
        check(unmarked, spaces)
    wrong = Example(1, "samples", [("edi x12 validate samples/835/synthetic-payment.835", ["something else"])])
    with pytest.raises(pytest.fail.Exception, match=r"\+samples/835/synthetic-payment.835: ok"):
        check(wrong, spaces)


def test_the_normalisation_is_light():
    assert normal(["posted on 2026-11-27 17:37 (as era.835)   ", "", ""]) == ["posted on <timestamp> (as era.835)"]
    assert normal(["edi demo in /tmp/edi-demo-x1y2z3"]) == ["edi demo in /tmp/edi-demo-<id>"]
    assert normal(["  ledger  sqlite:////tmp/pytest-of-u/p-3/readme0/tmp/edi-demo-a_b1/edi.db"]) == [
        "  ledger  sqlite:////tmp/edi-demo-<id>/edi.db"]
    assert normal(["ENC-P-0001 2025-03-03 170.50"]) == ["ENC-P-0001 2025-03-03 170.50"]  # data dates stay
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"]) and not matches(["a", "...", "z"], ["a", "b"])
