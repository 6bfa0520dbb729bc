"""The package as a newcomer meets it: ``from vizlib import *`` works, every submodule the
package advertises exists, and every module imports under ``python -OO`` (no docstrings)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "vizlib"
# top-level modules and subpackages (a folder with an __init__.py), and every module file inside
MODULES = sorted([p.stem for p in PKG.glob("*.py") if p.stem != "__init__"]
                 + [p.parent.name for p in PKG.glob("*/__init__.py")])
ALL_MODULES = sorted(".".join(p.relative_to(PKG).with_suffix("").parts).removesuffix(".__init__")
                     for p in PKG.rglob("*.py") if p.parent == PKG or (p.parent / "__init__.py").exists())
ALL_MODULES = [m for m in ALL_MODULES if m != "__init__"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_star_import_gives_every_advertised_name():
    code = ("import vizlib\nnames = list(vizlib.__all__)\nfrom vizlib import *\n"
            "missing = [n for n in names if n not in globals()]\nprint(len(names), missing)")
    done = run("-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    count, missing = done.stdout.split(" ", 1)
    assert int(count) > 10 and missing.strip() == "[]", done.stdout


def test_module_lists_see_subpackages():
    assert "checks" in MODULES and "checks.filters" in ALL_MODULES and "checks._common" in ALL_MODULES


def test_every_advertised_submodule_is_a_module_file():
    import vizlib

    advertised = set(vizlib.__all__) & set(vizlib._SUBMODULES)
    assert set(vizlib._SUBMODULES) <= set(MODULES), set(vizlib._SUBMODULES) - set(MODULES)
    assert advertised == set(vizlib._SUBMODULES)


@pytest.mark.parametrize("flag", ["-O", "-OO"])
def test_every_module_imports_without_docstrings(flag):
    code = "import importlib\n" + "".join(f"importlib.import_module('vizlib.{m}')\n" for m in ALL_MODULES)
    done = run(flag, "-c", code)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_checks_module_is_collected():
    import vizlib.checks

    files = {p.stem for p in (PKG / "checks").glob("*.py")} - {"__init__", "_common"}
    assert files <= set(vizlib.checks.CHAPTERS), files - set(vizlib.checks.CHAPTERS)
    for stem in files:
        module = __import__(f"vizlib.checks.{stem}", fromlist=["__all__"])
        defined = {n for n in vars(module) if n.startswith("check_") and callable(getattr(module, n))}
        assert set(module.__all__) == defined, (stem, defined ^ set(module.__all__))
        assert set(module.__all__) <= set(vizlib.checks.__all__)


def test_no_module_of_vizlib_is_over_450_lines():
    """One method family per file (issue 17: attribution.py had 924 lines, filters.py 831)."""
    sizes = {str(p.relative_to(PKG)): len(p.read_text(encoding="utf-8").splitlines()) for p in PKG.rglob("*.py")}
    assert len(sizes) > 40
    assert {k: v for k, v in sizes.items() if v > 450} == {}
