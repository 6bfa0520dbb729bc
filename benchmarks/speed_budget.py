"""The book's speed budget in one table: chapters, attribution ratios, course-model training.

    flock /tmp/cpu.lock python benchmarks/speed_budget.py            # about 12 minutes on 2 cores
    python benchmarks/speed_budget.py --skip-training                # training time from the manifest

Runs, one after the other on an otherwise idle machine:

1. every chapter notebook of ``_toc.yml`` in a fresh kernel (``benchmarks/notebooks.py``),
   target: each <= 180 s, the whole book <= 900 s;
2. the attribution ratios of ``benchmarks/attribution.py`` (batched occlusion against a
   one-window loop and against plain batched forwards; the ReLU rules against the gradient);
3. ``python -m vizlib.train --model course`` into a temporary folder (the shipped weights
   are not touched), target: <= 600 s for data plus training on a 2-core CPU.

Nothing is asserted; the table is for the README and the notes.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from vizlib.models import read_manifest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import attribution as attribution_bench  # noqa: E402  (benchmarks/attribution.py)
import notebooks as notebooks_bench  # noqa: E402  (benchmarks/notebooks.py)

ROOT = HERE.parent


def chapter_rows() -> list[tuple]:
    rows, total = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in [ROOT / p for p in notebooks_bench.toc_notebooks()]:
            seconds = notebooks_bench.run(path, Path(tmp))
            total += seconds
            rows.append((f"chapter {path.stem}", f"{seconds:.0f} s", "<= 180 s", seconds <= 180))
            print(f"{path.stem}: {seconds:.1f} s", flush=True)
    rows.append(("all chapters", f"{total:.0f} s", "<= 900 s", total <= 900))
    return rows


def attribution_rows() -> list[tuple]:
    rows = []
    for model, comparison, setting, _, _, ratio, target in attribution_bench.main():
        if not target:
            continue
        met = ratio >= 5 if target.startswith(">=") else ratio <= float(target.split()[1].rstrip("x"))
        rows.append((f"{model}: {comparison} ({setting})", f"{ratio:.2f}x", target, met))
    return rows


def training_rows(skip: bool) -> list[tuple]:
    if skip:
        entry = read_manifest()["course"]
        where = f"shipped weights, trained on {entry['device']}"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "vizlib.train", "--model", "course", "--out", tmp, "--no-progress"],
                           check=True, cwd=ROOT)
            entry = read_manifest(tmp)["course"]
        where = "trained now"
    seconds = entry["data_seconds"] + entry["train_seconds"]
    return [(f"course model: data + training ({where}; test accuracy {entry['test_accuracy']:.2%})",
             f"{entry['data_seconds']:.0f} + {entry['train_seconds']:.0f} s", "<= 600 s on 2 cores", seconds <= 600)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-training", action="store_true", help="report the shipped model's training time")
    args = parser.parse_args()
    rows = chapter_rows() + attribution_rows() + training_rows(args.skip_training)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"\nMachine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), {device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| what | measured | target | met |\n|---|---|---|---|")
    for what, measured, target, met in rows:
        print(f"| {what} | {measured} | {target} | {'yes' if met else 'NO'} |")


if __name__ == "__main__":
    main()
