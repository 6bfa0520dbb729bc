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
MODULES = sorted(p.stem for p in (ROOT / "vizlib").glob("*.py"))


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
    module = importlib.import_module("vizlib" if name == "__init__" else f"vizlib.{name}")
    found = sum(len(test.examples) for test in doctest.DocTestFinder().find(module))
    assert found == prompt_lines(ROOT / "vizlib" / f"{name}.py")


def test_the_package_has_doctest_examples():
    assert sum(prompt_lines(ROOT / "vizlib" / f"{name}.py") for name in MODULES) > 100
