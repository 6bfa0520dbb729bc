"""pytest configuration shared by the whole repository (the options are in pyproject.toml).

The test command runs on all cores with pytest-xdist, file by file (``--dist loadfile``, so the
cells of a notebook, which share one kernel, stay on one worker, in order). Each worker, and
each notebook kernel it starts, gets its share of the cores (``OMP_NUM_THREADS``), so that two
workers on two cores do not run four PyTorch threads.
"""
from __future__ import annotations

import os


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // int(workers)))
