"""Speed budget of the book: execute every chapter notebook of the table of contents in a
fresh kernel and print a table of run times (targets: each <= 3 minutes, the book <= 15).

    python benchmarks/notebooks.py                 # course mode
    VIZLIB_MODEL=alexnet VIZLIB_WEIGHTS=random python benchmarks/notebooks.py

Notebooks are executed from a temporary copy; the stored chapters are not modified.
"""
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.toc import toc_notebooks  # noqa: E402


def run(path: Path, workdir: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    t0 = time.perf_counter()
    client.execute()
    return time.perf_counter() - t0


def main():
    mode = os.environ.get("VIZLIB_MODEL", "course") + (" (random weights)" if os.environ.get("VIZLIB_WEIGHTS") == "random" else "")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {os.cpu_count()} cores ({platform.processor() or platform.machine()})"
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in [ROOT / p for p in toc_notebooks()]:
            seconds = run(path, Path(tmp))
            total += seconds
            rows.append((path.stem, seconds))
            print(f"{path.stem}: {seconds:.1f} s", flush=True)
    print(f"\nModel: {mode}; device: {device}; torch {torch.__version__}\n")
    print("| chapter | run time (s) |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **whole book** | **{total:.1f}** |")


if __name__ == "__main__":
    main()
