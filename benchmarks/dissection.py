"""Network dissection of the course model (issue 16): speed, memory and units per layer.

    flock /tmp/cpu.lock python benchmarks/dissection.py [--n 2000] [--threads 2]

All four conv layers (relu1-relu4, 352 units) over ``toy_world(n, seed=7)`` (held out) with
the 32 concepts of ``vizlib.dissection.concepts``, quantile 0.005, for the trained course model
and a randomly initialised copy (PyTorch's default init, seed 0). Prints:

1. wall and CPU time of building the concepts and of ``dissect`` (after a warm-up call on 100
   images), with and without the permutation null, and the peak extra resident memory during
   the call (sampled every 5 ms; target: <= 15 s on the quiet 2-core machine);
2. per layer and model: units interpretable at IoU > 0.04 and at the stricter cut from the
   permutation null (the largest null IoU of the layer) and at 0.1, distinct concepts, shape
   units (label a shape or shape boundary), the null's cut.

The load average is printed beside the times: the machine is shared. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

import psutil
import torch

import vizlib
from vizlib import dissection as D
from vizlib.models import CourseNet

LAYERS = [f"features.relu{i}" for i in range(1, 5)]


class PeakMemory:
    """Peak resident memory above the level at entry, sampled by a thread."""

    def __enter__(self):
        self.process, self.base, self.peak, self.done = psutil.Process(), 0, 0, False
        self.base = self.peak = self.process.memory_info().rss

        def sample():
            while not self.done:
                self.peak = max(self.peak, self.process.memory_info().rss)
                time.sleep(0.005)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done = True
        self.thread.join()
        self.extra_mb = (self.peak - self.base) / 2**20


def timed(fn):
    load = os.getloadavg()[0]
    with PeakMemory() as mem:
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return out, wall, cpu, mem.extra_mb, (load + os.getloadavg()[0]) / 2


def main(n: int) -> None:
    images, labels, masks = vizlib.toy_world(n, seed=7)
    x = vizlib.normalize(images)
    c, t_wall, t_cpu, t_mem, t_load = timed(lambda: D.concepts(images, labels, masks))
    torch.manual_seed(0)
    models = {"trained": vizlib.load_model("course", device="cpu"),
              "random init": CourseNet(conv1_kernel=11).eval()}
    D.dissect(models["trained"], LAYERS, x[:100], D.concepts(images[:100], labels[:100], masks[:100]))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores; "
          f"{n} images, {len(c.names)} concepts, {len(LAYERS)} layers, quantile 0.005")
    print()
    print("| step | wall (s) | CPU (s) | peak extra memory (MB) | load average |")
    print("|---|---|---|---|---|")
    print(f"| concepts | {t_wall:.1f} | {t_cpu:.1f} | {t_mem:.0f} | {t_load:.1f} |")
    results = {}
    for name, model in models.items():
        for null in (False, True):
            d, wall, cpu, mem, load = timed(lambda: D.dissect(model, LAYERS, x, c, null=null))
            what = f"dissect, {name}" + (", with null" if null else "")
            print(f"| {what} | {wall:.1f} | {cpu:.1f} | {mem:.0f} | {load:.1f} |")
        results[name] = d
    print()
    print("| layer | model | units | IoU > 0.04 | distinct | shape units | null cut | "
          "> null cut | > 0.1 | top labels (> 0.04) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for layer in LAYERS:
        for name, d in results.items():
            part = d.select(layer)
            cut = D.null_cuts(part)[layer]
            s04, snull, s10 = (D.summarise(part, cut=k)[0] for k in (D.CUT, cut, 0.1))
            shape = sum(s04.kinds.get(k, 0) for k in D.SHAPE_KINDS)
            top = ", ".join(f"{label} {count}" for label, count in list(s04.counts.items())[:3])
            print(f"| {layer.split('.')[-1]} | {name} | {s04.units} | {s04.interpretable} | "
                  f"{s04.distinct} | {shape} | {cut:.3f} | {snull.interpretable} | "
                  f"{s10.interpretable} | {top} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    main(args.n)
