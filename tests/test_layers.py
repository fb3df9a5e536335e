"""The packages stack in one direction (docs: ARCHITECTURE.md): ``edi`` (the library) at the bottom imports neither
``mappings`` nor ``cli``; ``mappings`` (the mappers, the claims build) imports no ``cli``; only ``edi/ledger``
speaks SQL (SQLAlchemy, Alembic); only ``cli`` imports Typer.

Every import statement of every module of the installed packages is read (``ast``), those inside functions
included, so a lazy import cannot slip past. ``benchmarks/`` and ``tests/`` are tools around the product, not
layers of it: they drive the command line (Typer's runner) and make or inspect databases (SQLAlchemy) on purpose.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("edi", "mappings", "cli", "samples")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The absolute names of the modules ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``:
    ``c`` may be a module)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's package
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, set[str]]:
    return {_module_name(path): _imports(path) for package in PACKAGES
            for path in sorted((ROOT / package).rglob("*.py"))}


MODULES = _modules()


def _top(name: str) -> str:
    return name.split(".")[0]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _breaches(allowed: str, forbidden: tuple[str, ...]) -> list[str]:
    """``module imports name`` for each module outside ``allowed`` that imports one of ``forbidden``."""
    return sorted(f"{module} imports {name}" for module, names in MODULES.items() if not _within(module, allowed)
                  for name in names if _top(name) in forbidden)


def test_the_walk_sees_the_imports_the_rules_are_about():
    """The rules below cannot pass for want of seeing anything: the layers that may use each library do."""
    assert any(_top(n) == "sqlalchemy" for n in MODULES["edi.ledger"])
    assert any(_top(n) == "alembic" for m, names in MODULES.items() if _within(m, "edi.ledger") for n in names)
    assert any(_top(n) == "typer" for n in MODULES["cli.claims"])
    assert any(_top(n) == "edi" for n in MODULES["mappings.build"])
    assert "mappings.build" in MODULES["mappings.demo"]  # a relative import would be resolved too


@pytest.mark.parametrize("above", ["mappings", "cli"])
def test_edi_imports_nothing_above_it(above):
    breaches = sorted(f"{module} imports {name}" for module, names in MODULES.items() if _within(module, "edi")
                      for name in names if _top(name) == above)
    assert breaches == []


def test_mappings_does_not_import_the_command_line():
    breaches = sorted(f"{module} imports {name}" for module, names in MODULES.items()
                      if _within(module, "mappings") for name in names if _top(name) == "cli")
    assert breaches == []


def test_only_the_ledger_speaks_sql():
    assert _breaches("edi.ledger", ("sqlalchemy", "alembic")) == []


def test_only_the_command_line_imports_typer():
    assert _breaches("cli", ("typer", "click")) == []


def test_the_library_can_be_imported_without_the_layers_above_it():
    """``edi`` used on its own (the ledger, the 835 reader, the 837 writer) loads no module of ``mappings`` or
    ``cli``: a fresh interpreter, so nothing else has imported them first."""
    code = ("import sys, edi.ledger, edi.x835, edi.x837; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mappings', 'cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
