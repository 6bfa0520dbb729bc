"""How the shipped course model does on ``toy_world(..., variant="hard")`` against the plain world:
accuracy, mean confidence, the share of unsure predictions (top probability < 0.9) and the
expected calibration error (ECE, 10 equal-width confidence bins), on 2,000 fresh images each
(seed 999999, the seed of the course model's test accuracy).

    python benchmarks/hard_world.py
"""
import time

import torch

import vizlib
from vizlib import data, metrics

N, SEED = 2000, 999999


def main():
    model = vizlib.load_model("course", device="cpu")
    print(f"hard world: radius {data.HARD_RADIUS}, blend {data.HARD_BLEND}, clutter {data.HARD_CLUTTER}, "
          f"up to {data.HARD_OCCLUDERS} leaves in front; {N} images, seed {SEED}\n")
    print("| world | accuracy | mean confidence | unsure (p < 0.9) | ECE | mask area | generation |")
    print("|---|---|---|---|---|---|---|")
    for variant in (None, "hard"):
        t0 = time.perf_counter()
        x, y, m = vizlib.toy_world(N, seed=SEED, variant=variant)
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            probs = torch.cat([model(vizlib.normalize(x[i:i + 500])).softmax(1) for i in range(0, N, 500)])
        r = metrics.calibration(probs, y, n_bins=10, threshold=0.9)
        print(f"| {variant or 'plain'} | {r['accuracy']:.3f} | {r['confidence']:.3f} | {r['unsure']:.3f} | "
              f"{r['ece']:.3f} | {m.float().mean().item():.3f} | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
