"""The docstring examples of ``vizlib`` are part of the test suite.

pytest runs them (``--doctest-modules`` over ``vizlib``, configured in pyproject.toml; the names
they assume, ``model``, ``images``, ``x``, ..., come from the fixture in conftest.py). These tests
check that the configuration is in place and that every example is one the doctest finder sees,
so that no example can go stale unnoticed again.
"""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# every module file of the package, subpackages included, as a path relative to vizlib/
FILES = sorted(p.relative_to(ROOT / "vizlib") for p in (ROOT / "vizlib").rglob("*.py"))
MODULES = [".".join(f.with_suffix("").parts) for f in FILES]


def import_name(name: str) -> str:
    return "vizlib." + name.removesuffix("__init__").rstrip(".") if name != "__init__" else "vizlib"


def path_of(name: str) -> Path:
    return ROOT / "vizlib" / (name.replace(".", "/") + ".py")


def prompt_lines(path: Path) -> int:
    """Number of source lines that start (after indentation) with the ``>>>`` prompt."""
    return sum(line.lstrip().startswith(">>>") for line in path.read_text(encoding="utf-8").splitlines())


def test_pyproject_runs_vizlib_doctests():
    tomllib = pytest.importorskip("tomllib")
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"].split()
    assert "vizlib" in options["testpaths"]


@pytest.mark.parametrize("name", MODULES)
def test_every_prompt_line_of_a_module_is_a_doctest_example(name):
    module = importlib.import_module(import_name(name))
    found = sum(len(test.examples) for test in doctest.DocTestFinder().find(module))
    assert found == prompt_lines(path_of(name))


def test_the_package_has_doctest_examples():
    assert "synthesis.render" in MODULES and "attribution.__init__" in MODULES
    assert import_name("attribution.__init__") == "vizlib.attribution"
    assert sum(prompt_lines(path_of(name)) for name in MODULES) > 100
