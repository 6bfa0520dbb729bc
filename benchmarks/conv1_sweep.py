"""What makes the course model's first-layer filters Gabor-like? Train variants, measure them.

    python benchmarks/conv1_sweep.py conv1_kernel=7 conv1_kernel=11 "conv1_kernel=11 weight_decay=0.05"
    python benchmarks/conv1_sweep.py --trained /tmp/sweep/k7 /tmp/sweep/k11   # measure only

Each argument is one recipe: ``key=value`` overrides of the course recipe (as in
``python -m vizlib.train --set``), trained from scratch with ``vizlib.train`` into a
temporary folder (about 7 minutes each on a 2-core CPU). ``--trained`` instead measures
folders that ``python -m vizlib.train --out DIR`` already wrote. The shipped weights are
never touched. For each recipe it prints test accuracy (2,000 fresh images), training time,
and for the conv1 filters: the fraction with Gabor fit R^2 >= 0.8, with orientation
selectivity >= 0.5, and both, for two selectivity indices:

- the vector-sum index of ``vizlib.filters.orientation_selectivity`` (1 - circular variance,
  Ringach et al. 2002), the book's measure: a Gabor with sigma = lambda / 2 scores 0.8, an edge
  (lambda = 4 sigma) 0.46;
- the classic index ``(r_pref - r_orth) / (r_pref + r_orth)`` from the same tuning curve,
  which rewards any filter that is silent at the orthogonal orientation (an edge scores ~1).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from vizlib import filters
from vizlib.models import CourseNet, _load_course_weights, read_manifest


def conv1_stats(model) -> dict:
    """Fractions of ``model``'s first-layer filters with R^2 >= 0.8, OSI >= 0.5 and both (both indices)."""
    weights = filters.first_layer_filters(model)
    res = filters.fit_filters(weights)
    r2, osi = res["r2"], res["osi"]
    classic = res["osi_classic"]
    good = r2 >= 0.8
    return {
        "r2": float(np.mean(good)), "osi": float(np.mean(osi >= 0.5)), "both": float(np.mean(good & (osi >= 0.5))),
        "osi_median": float(np.median(osi)), "classic_both": float(np.mean(good & (classic >= 0.5))),
        "classic_median": float(np.median(classic)),
    }


def measure(folder: Path) -> dict:
    entry = read_manifest(folder)["course"]
    net = CourseNet(conv1_kernel=entry["config"]["conv1_kernel"])
    net.load_state_dict(_load_course_weights("course", folder))  # weights_only, sha256 checked
    return {
        "recipe": " ".join(f"{k}={v}" for k, v in sorted(entry["config"].items())
                           if k in ("conv1_kernel", "weight_decay", "epochs", "n_train", "conv1_init_scale", "lr")),
        "accuracy": entry["test_accuracy"], "train_s": entry["train_seconds"], "data_s": entry["data_seconds"],
        "device": entry["device"], **conv1_stats(net),
    }


def train(overrides: str, out: Path) -> None:
    cmd = [sys.executable, "-m", "vizlib.train", "--model", "course", "--out", str(out), "--no-progress",
           "--set", *overrides.split()]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="*", default=["conv1_kernel=7", "conv1_kernel=11"],
                        help="recipes to train, each a space-separated list of key=value overrides")
    parser.add_argument("--trained", nargs="+", type=Path, help="measure these training output folders instead")
    args = parser.parse_args()
    if args.trained:
        rows = [measure(folder) for folder in args.trained]
    else:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, recipe in enumerate(args.recipes):
                out = Path(tmp) / f"recipe{i}"
                train(recipe, out)
                rows.append(measure(out))
    print("\n| recipe | device | test acc. | train (s) | R² ≥ 0.8 | OSI ≥ 0.5 | both | median OSI "
          "| both, classic OSI | median classic OSI |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['recipe']} | {r['device']} | {r['accuracy']:.2%} | {r['train_s']:.0f} | {r['r2']:.0%} | "
              f"{r['osi']:.0%} | {r['both']:.0%} | {r['osi_median']:.2f} | {r['classic_both']:.0%} | "
              f"{r['classic_median']:.2f} |")
    print(f"\n(torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
