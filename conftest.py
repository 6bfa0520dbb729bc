"""pytest configuration shared by the whole repository (see pyproject.toml for the options).

The test command runs on several workers (pytest-xdist, ``--dist loadgroup``). nbval turns
every cell of a chapter notebook into a test that shares one kernel with the notebook's other
cells, so all cells of a notebook must run on the same worker, in order: this hook puts them
in one ``xdist_group`` per notebook. It runs before xdist reads the groups (``tryfirst``).
"""
from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = getattr(item, "path", None)
        if path is not None and path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group(name=f"nbval-{path.stem}"))
