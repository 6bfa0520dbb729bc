"""How long the toy world takes to generate: 20,000 images, one process and the
training script's parallel chunks.  python benchmarks/data_speed.py [--n 20000]"""
import argparse
import os
import time

from vizlib.data import toy_world
from vizlib.train import make_dataset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    toy_world(args.n, seed=0)
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    make_dataset(args.n, 0, workers=os.cpu_count())
    parallel = time.perf_counter() - t0
    print(f"| images | one process | {os.cpu_count()} processes (vizlib.train) |")
    print("|---|---|---|")
    print(f"| {args.n:,} | {single:.1f} s | {parallel:.1f} s |")


if __name__ == "__main__":
    main()
