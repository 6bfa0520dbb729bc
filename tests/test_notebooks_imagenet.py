"""Every chapter notebook of the book runs on an ImageNet model (the Colab path).

Each notebook listed in ``_toc.yml`` is executed top to bottom in a fresh kernel with
``VIZLIB_MODEL=alexnet`` and ``VIZLIB_WEIGHTS=random``: torchvision's AlexNet architecture with
random weights, so nothing is downloaded. Any cell that raises fails the test. Outputs are
not compared (random weights) and nothing is written back to the notebook.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from scripts.toc import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT_S = 600


@pytest.mark.parametrize("notebook", toc_notebooks())
def test_chapter_runs_with_imagenet_architecture_and_random_weights(notebook, monkeypatch):
    monkeypatch.setenv("VIZLIB_MODEL", "alexnet")
    monkeypatch.setenv("VIZLIB_WEIGHTS", "random")
    path = ROOT / notebook
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{notebook} failed in ImageNet mode (VIZLIB_MODEL=alexnet VIZLIB_WEIGHTS=random):\n{err}")
    setup = next(c for c in nb.cells if c.cell_type == "code")
    printed = "".join(o.get("text", "") for o in setup.outputs if o.output_type == "stream")
    assert "model: alexnet" in printed, f"the setup cell did not pick up VIZLIB_MODEL: {printed!r}"
