"""Does texture in the training images make the course model's conv1 filters striped Gabors?

    python benchmarks/conv1_texture.py [--kernel 11] [--where both|background|objects]

Trains the course recipe (``vizlib.train.train``, the same code as ``python -m vizlib.train``)
on a textured toy world and measures conv1 like ``conv1_sweep.py``. The texture is added in
this process only: three random discs of each dead-leaves background and half of the objects
are multiplied by a sinusoidal grating (contrast 0.45, wavelength 3-8 px, random orientation
and phase). Images are generated in this process (no worker pool), so the patched generator is
the one used. The shipped weights are never touched. About 8-20 minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import vizlib.data as data
import vizlib.train as train

from conv1_sweep import conv1_stats

YY, XX = data._GRID


def grating(rng: np.random.Generator) -> np.ndarray:
    theta, lam, phase = rng.uniform(0, np.pi), rng.uniform(3, 8), rng.uniform(0, 2 * np.pi)
    return 1 + 0.45 * np.sin(2 * np.pi * (XX * np.cos(theta) + YY * np.sin(theta)) / lam + phase)


def textured(where: str):
    plain_leaves = data._dead_leaves

    def leaves(rng, size):
        img = plain_leaves(rng, size)
        if where in ("both", "background"):
            for _ in range(3):
                cy, cx = rng.uniform(0, size, 2)
                r = rng.uniform(6, 20)
                disc = (YY - cy) ** 2 + (XX - cx) ** 2 <= r * r
                img[disc] = np.clip(img[disc] * grating(rng)[disc][:, None], 0, 1)
        return img

    def make_dataset(n, first_seed, variant=None, workers=None):
        parts = []
        for k, i in enumerate(range(0, n, train._CHUNK)):
            x, y, m = data.toy_world(min(train._CHUNK, n - i), seed=first_seed + k, variant=variant)
            if where in ("both", "objects"):
                rng = np.random.default_rng(first_seed + k + 12345)
                for j in range(len(y)):
                    if rng.uniform() < 0.5:
                        g = torch.from_numpy(grating(rng).astype(np.float32))
                        x[j] = torch.where(m[j], (x[j] * g).clamp(0, 1), x[j])
            parts.append((x, y, m))
        return tuple(torch.cat(p) for p in zip(*parts))

    data._dead_leaves = leaves
    train.make_dataset = make_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", type=int, default=11)
    parser.add_argument("--where", choices=["both", "background", "objects"], default="both")
    args = parser.parse_args()
    textured(args.where)
    t0 = time.perf_counter()
    model, record = train.train("course", progress=False, conv1_kernel=args.kernel)
    print(json.dumps(dict(texture=args.where, conv1_kernel=args.kernel, test_accuracy=record["test_accuracy"],
                          seconds=round(time.perf_counter() - t0), **conv1_stats(model))))


if __name__ == "__main__":
    main()
