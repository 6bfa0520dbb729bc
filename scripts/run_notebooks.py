"""Execute chapter notebooks in place and store their outputs, the way the book keeps them.

    python scripts/run_notebooks.py chapters/filters.ipynb [more.ipynb ...]

Runs each notebook top to bottom in a fresh kernel (the current Python), keeps
outputs and widget state, drops per-cell timing metadata, and prints each
notebook's run time. A cell that raises stops that notebook and exits non-zero.
Environment variables (VIZLIB_MODEL, ...) pass through to the kernel.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            store_widget_state=True, resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    status = 0
    for p in map(Path, paths):
        try:
            print(f"{p}: {run(p):.1f} s", flush=True)
        except Exception as err:  # report and go on with the others
            print(f"{p}: FAILED: {type(err).__name__}: {str(err)[-2000:]}", flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
