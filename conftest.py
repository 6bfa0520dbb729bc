"""pytest configuration shared by the whole repository (see pyproject.toml for the options).

The test command runs on several workers (pytest-xdist, ``--dist loadgroup``):

- nbval turns every cell of a chapter notebook into a test that shares one kernel with the
  notebook's other cells, so all cells of a notebook must run on the same worker, in order:
  ``pytest_collection_modifyitems`` puts them in one ``xdist_group`` per notebook (``tryfirst``,
  so that it runs before xdist reads the groups);
- each worker, and each notebook kernel it starts, gets its share of the cores
  (``OMP_NUM_THREADS``), so that two workers on two cores do not run four PyTorch threads.
"""
from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // int(workers)))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = getattr(item, "path", None)
        if path is not None and path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group(name=f"nbval-{path.stem}"))
