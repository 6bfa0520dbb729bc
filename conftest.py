"""pytest configuration shared by the whole repository (the options are in pyproject.toml).

The test command runs on all cores with pytest-xdist, file by file (``--dist loadfile``, so the
cells of a notebook, which share one kernel, stay on one worker, in order); but each test of the
files in :data:`_SPREAD` runs a whole notebook in a kernel of its own, so it is handed out by
itself (:func:`pytest_xdist_make_scheduler`), and these long jobs are handed out first. Each worker, and
each notebook kernel it starts, gets its share of the cores (``OMP_NUM_THREADS``), so that two
workers on two cores do not run four PyTorch threads. The docstring examples of ``vizlib`` run as
doctests (``--doctest-modules``); the names they share (``model``, ``images``, ``x``, ...) are set
by :func:`_vizlib_doctest_namespace` below.
"""
from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // int(workers)))


#: Test files in which every test executes a whole notebook in a fresh kernel of its own.
_SPREAD = ("test_notebooks_imagenet.py", "test_student_notebooks.py")


def pytest_xdist_make_scheduler(config, log):
    """xdist's file-by-file scheduler (``--dist loadfile``), except that each test of the
    :data:`_SPREAD` files is a unit of its own."""
    from xdist.scheduler import LoadScopeScheduling

    class SpreadNotebookRuns(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path.rsplit("/", 1)[-1] in _SPREAD else path

    return SpreadNotebookRuns(config, log)


def pytest_collection_modifyitems(config, items):
    """The :data:`_SPREAD` tests first (handing out the longest jobs first keeps both workers busy
    to the end); the order within every file is kept."""
    items[:] = ([item for item in items if item.path.name in _SPREAD]
                + [item for item in items if item.path.name not in _SPREAD])


@pytest.fixture(scope="session")
def _doctest_model():
    """The shipped course model on the CPU, loaded once per session (or once per xdist worker)."""
    import vizlib

    return vizlib.load_model("course", device="cpu")


@pytest.fixture(autouse=True)
def _vizlib_doctest_namespace(request, doctest_namespace):
    """The names that the docstring examples of ``vizlib`` (``--doctest-modules``) may assume.

    Each example also sees the globals of its own module (``capture``, ``gabor_kernel``, ``nn``),
    and an example in a subpackage's module (``vizlib.synthesis.render``) also the public names of
    its package (``class_score``, ``to_display``), as a reader who imports the package would.
    Only doctest items get these names; for other tests this fixture does nothing (and loads nothing).

    - ``torch``, ``np`` (numpy), ``plt`` (matplotlib.pyplot, on the Agg backend), ``vizlib``.
    - ``model``: ``vizlib.load_model("course", device="cpu")``, the shipped CourseNet in eval mode
      (loaded once per session; examples must not change it).
    - ``images, labels, masks = vizlib.toy_world(8, seed=0)``: images (8, 3, 64, 64) float in [0, 1],
      labels (8,) int64, masks (8, 64, 64) bool (the object's pixels).
    - ``x = vizlib.normalize(images)``: (8, 3, 64, 64) float, normalised for the course model.

    ``images``, ``labels``, ``masks`` and ``x`` are made fresh for every example, so an example that
    changes one (``x.requires_grad_()``) cannot change the next.
    """
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import vizlib

    images, labels, masks = vizlib.toy_world(8, seed=0)
    import importlib

    module = request.node.dtest.globs.get("__name__", "")
    parts = module.split(".")
    if len(parts) == 3 and parts[0] == "vizlib":  # vizlib.<package>.<module>
        package = importlib.import_module(".".join(parts[:2]))
        doctest_namespace.update({n: getattr(package, n) for n in getattr(package, "__all__", ())})
    doctest_namespace.update(
        torch=torch, np=np, plt=plt, vizlib=vizlib, model=request.getfixturevalue("_doctest_model"),
        images=images, labels=labels, masks=masks, x=vizlib.normalize(images),
    )
    yield
    plt.close("all")
