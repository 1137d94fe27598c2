"""The package rules of the README's architecture, read from the source with ``ast``.

``cli -> coach -> {metronome, stepdetect}`` and nothing upward: cli may use everything below it,
coach uses metronome and stepdetect, and metronome and stepdetect use no other project package
(not each other either). click and rich are imported only in cli/ and sounddevice only in
metronome/engine.py (lazily, through ``import_sounddevice``). Every import counts: at the top of a
module, inside a function, under ``if TYPE_CHECKING:``, relative ones, and ``importlib.import_module``
/ ``__import__`` calls with a literal module name. A failure names each offending file:line.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: the product packages (shipped in the wheel) and the project packages each one may import
ALLOWED: dict[str, frozenset[str]] = {
    "cli": frozenset({"cli", "coach", "metronome", "stepdetect", "samples"}),
    "coach": frozenset({"coach", "metronome", "stepdetect", "samples"}),
    "metronome": frozenset({"metronome"}),
    "stepdetect": frozenset({"stepdetect"}),
}
#: top-level names that belong to this repository (tests and benchmarks are never shipped)
PROJECT = frozenset({*ALLOWED, "samples", "tests", "benchmarks"})
#: third-party modules confined to some files: module -> predicate on the path relative to ROOT
CONFINED: dict[str, tuple[str, Callable[[str], bool]]] = {
    "click": ("cli/", lambda rel: rel.startswith("cli/")),
    "rich": ("cli/", lambda rel: rel.startswith("cli/")),
    "sounddevice": ("metronome/engine.py", lambda rel: rel == "metronome/engine.py"),
}


@dataclass(frozen=True)
class Import:
    path: str  # relative to ROOT, with forward slashes
    line: int
    module: str  # absolute dotted name ("" for a relative import reaching above the top package)
    lazy: bool = False  # inside a function (runs when called, not when the module is imported)
    verb: str = "imports"

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.verb} {self.module or '(beyond the top-level package)'}"


def _resolve(module: str | None, level: int, package: str) -> str:
    """The absolute name of ``from <level dots><module> import ...`` inside ``package``."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    if level > len(parts):
        return ""
    base = parts[: len(parts) - level + 1]
    return ".".join([*base, module] if module else base)


def imports_in(source: str, path: str) -> list[Import]:
    """Every module the source imports, wherever the import statement or call stands."""
    package = ".".join(path.split("/")[:-1])  # of a module and of an __init__.py alike
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        lazy = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(node, ast.Import):
            found.extend(Import(path, node.lineno, alias.name, lazy) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append(Import(path, node.lineno, _resolve(node.module, node.level, package), lazy))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _is_import_call(node.func):
            found.append(Import(path, node.lineno, node.args[0].value, lazy))
        for child in ast.iter_child_nodes(node):
            visit(child, lazy)

    visit(ast.parse(source, filename=path), False)
    return sorted(found, key=lambda imp: (imp.path, imp.line, imp.module))


def _is_import_call(func: ast.expr) -> bool:
    """``__import__(...)``, ``import_module(...)`` or ``importlib.import_module(...)``."""
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def layer_violations(imports: list[Import]) -> list[Import]:
    """Imports of a project package the importing package may not use (upward or sideways)."""
    bad = []
    for imp in imports:
        own = imp.path.split("/")[0]
        if imp.module == "" or (imp.top in PROJECT and imp.top not in ALLOWED[own]):
            bad.append(imp)
    return bad


def confined_violations(imports: list[Import], module: str) -> list[Import]:
    """Imports of a third-party module outside the files allowed to import it."""
    _, allowed = CONFINED[module]
    return [imp for imp in imports if imp.top == module and not allowed(imp.path)]


def eager_imports(imports: list[Import], module: str) -> list[Import]:
    """Imports of ``module`` that run when the importing module is imported (not in a function)."""
    return [imp for imp in imports if imp.top == module and not imp.lazy]


def _is_sys_modules(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "modules" \
        and isinstance(node.value, ast.Name) and node.value.id == "sys"


def _keys(node: ast.expr | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [key for k in node.keys for key in _keys(k)]
    return []


def fake_project_modules(source: str, path: str) -> list[Import]:
    """Project modules a test or benchmark replaces in ``sys.modules`` (``sys.modules[name] = ...``,
    ``monkeypatch.setitem(sys.modules, name, ...)``, ``patch.dict(sys.modules, {...})``,
    ``sys.modules.update/setdefault``): tests drive the real packages."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=path)):
        names: list[str] = []
        if not isinstance(node, (ast.stmt, ast.expr)):
            continue
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            names = [k for t in targets if isinstance(t, ast.Subscript) and _is_sys_modules(t.value) for k in _keys(t.slice)]
        elif isinstance(node, ast.Call):
            func, args = node.func, node.args
            if len(args) >= 2 and _is_sys_modules(args[0]) and isinstance(func, (ast.Name, ast.Attribute)) \
                    and getattr(func, "attr", getattr(func, "id", "")) in {"setitem", "delitem", "dict"}:
                names = _keys(args[1])
            elif isinstance(func, ast.Attribute) and _is_sys_modules(func.value) and args \
                    and func.attr in {"update", "setdefault", "__setitem__", "pop"}:
                names = _keys(args[0])
        found.extend(Import(path, node.lineno, name, verb="fakes") for name in names if name.split(".")[0] in PROJECT)
    return sorted(found, key=lambda imp: (imp.path, imp.line, imp.module))


def _product_imports() -> list[Import]:
    found: list[Import] = []
    for package in ALLOWED:
        for file in sorted((ROOT / package).rglob("*.py")):
            rel = file.relative_to(ROOT).as_posix()
            found += imports_in(file.read_text(encoding="utf-8"), rel)
    return found


@pytest.fixture(scope="module")
def product_imports() -> list[Import]:
    return _product_imports()


def _report(rule: str, bad: list[Import]) -> str:
    return f"{rule}; {len(bad)} offending import(s):\n" + "\n".join(f"  {imp}" for imp in bad)


# --- the rules, on the real source ------------------------------------------------------------


def test_the_scan_sees_every_package_and_the_imports_inside_functions(product_imports: list[Import]) -> None:
    """Guards the rules below against passing vacuously (an empty or top-level-only scan)."""
    seen = {imp.path.split("/")[0] for imp in product_imports}
    assert seen == set(ALLOWED)
    assert any(imp.path == "metronome/engine.py" and imp.module == "sounddevice" for imp in product_imports)
    assert any(imp.path.startswith("cli/") and imp.top == "click" for imp in product_imports)
    assert any(imp.path.startswith("coach/") and imp.top == "metronome" for imp in product_imports)
    assert len(product_imports) > 200


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str, product_imports: list[Import]) -> None:
    """cli -> coach -> {metronome, stepdetect}; metronome and stepdetect import no other package."""
    bad = layer_violations([imp for imp in product_imports if imp.path.startswith(f"{package}/")])
    others = ", ".join(sorted(ALLOWED[package] - {package})) or "no other package"
    assert not bad, _report(f"{package}/ may import {others} of the project", bad)


@pytest.mark.parametrize("module", sorted(CONFINED))
def test_third_party_modules_stay_in_their_place(module: str, product_imports: list[Import]) -> None:
    """click and rich only in cli/, sounddevice only in metronome/engine.py."""
    bad = confined_violations(product_imports, module)
    assert not bad, _report(f"{module} may be imported only in {CONFINED[module][0]}", bad)


def test_sounddevice_is_imported_lazily(product_imports: list[Import]) -> None:
    """Importing metronome.engine (hence ``cadence --help``, plans, history) never loads PortAudio."""
    bad = eager_imports(product_imports, "sounddevice")
    assert not bad, _report("sounddevice is imported inside a function (import_sounddevice), never at import time", bad)


def test_tests_and_benchmarks_use_the_real_project_modules() -> None:
    """No fake project module in sys.modules: tests drive coach (and the rest) directly."""
    bad = []
    for folder in ("tests", "benchmarks"):
        for file in sorted((ROOT / folder).rglob("*.py")):
            bad += fake_project_modules(file.read_text(encoding="utf-8"), file.relative_to(ROOT).as_posix())
    assert not bad, _report("a test replaces a project module in sys.modules", bad)


# --- the checker itself flags violations (so the rules above can fail) -------------------------

_VIOLATING = '''\
"""A module that breaks every rule."""
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cli.display import Display

def play():
    import sounddevice as sd
    from ..cli import main
    from rich.console import Console
    return importlib.import_module("click")

def detect():
    from . import lowband
    from stepdetect.peaks import find
    __import__("metronome.engine")
'''


def test_the_checker_flags_upward_sideways_and_confined_imports_with_their_line() -> None:
    imports = imports_in(_VIOLATING, "coach/bad.py")
    assert [str(imp) for imp in layer_violations(imports)] == [
        "coach/bad.py:6: imports cli.display",  # under TYPE_CHECKING
        "coach/bad.py:10: imports (beyond the top-level package)",  # relative, inside a function
    ]
    assert [str(imp) for imp in confined_violations(imports, "sounddevice")] == ["coach/bad.py:9: imports sounddevice"]
    assert [str(imp) for imp in confined_violations(imports, "rich")] == ["coach/bad.py:11: imports rich.console"]
    assert [str(imp) for imp in confined_violations(imports, "click")] == ["coach/bad.py:12: imports click"]
    # the same source in metronome/: stepdetect and coach are sideways/upward, metronome its own
    imports = imports_in(_VIOLATING, "metronome/bad.py")
    assert [str(imp) for imp in layer_violations(imports)] == [
        "metronome/bad.py:6: imports cli.display",
        "metronome/bad.py:10: imports (beyond the top-level package)",
        "metronome/bad.py:16: imports stepdetect.peaks",
    ]


def test_the_checker_resolves_relative_imports_and_allows_what_the_rules_allow() -> None:
    imports = imports_in("from . import units\nfrom .engine import Player\nfrom .. import x\n", "metronome/__init__.py")
    assert [imp.module for imp in imports] == ["metronome", "metronome.engine", ""]
    imports = imports_in("import sounddevice\nfrom stepdetect import ticks\n", "metronome/engine.py")
    assert confined_violations(imports, "sounddevice") == []
    assert [str(imp) for imp in layer_violations(imports)] == ["metronome/engine.py:2: imports stepdetect"]
    imports = imports_in("from coach.run import run_session\nimport rich\nfrom metronome import units\n", "cli/x.py")
    assert layer_violations(imports) == [] and confined_violations(imports, "rich") == []


def test_the_checker_tells_lazy_imports_from_eager_ones() -> None:
    imports = imports_in(_VIOLATING, "metronome/engine.py")
    assert eager_imports(imports, "sounddevice") == []
    imports = imports_in("import sounddevice\nclass Player:\n    def start(self):\n        import sounddevice\n",
                         "metronome/engine.py")
    assert [str(imp) for imp in eager_imports(imports, "sounddevice")] == ["metronome/engine.py:1: imports sounddevice"]


def test_the_checker_flags_fake_project_modules_only() -> None:
    source = """\
import sys
from unittest import mock

def test_x(monkeypatch):
    sys.modules["sounddevice"] = None
    sys.modules["coach.store"] = object()
    monkeypatch.setitem(sys.modules, "cli.cmd_analyze", object())
    with mock.patch.dict(sys.modules, {"stepdetect": None, "numpy": None}):
        pass
    sys.modules.update({"metronome.engine": None})
"""
    assert [str(imp) for imp in fake_project_modules(source, "tests/test_x.py")] == [
        "tests/test_x.py:6: fakes coach.store",
        "tests/test_x.py:7: fakes cli.cmd_analyze",
        "tests/test_x.py:8: fakes stepdetect",
        "tests/test_x.py:10: fakes metronome.engine",
    ]
