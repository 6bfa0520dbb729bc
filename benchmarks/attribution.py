"""Attribution speed on the CPU: batched occlusion and the ReLU-rule overhead.

    flock /tmp/cpu.lock python benchmarks/attribution.py [--quick]

Prints a table with, for the course model at 64x64 and AlexNet (random weights)
at 224x224:

- ``occlusion`` (batched) against a one-window-at-a-time loop (target: >= 5x faster)
  and against the same number of plain batched forward passes (target: <= 1.3x);
- ``guided_backprop`` and ``deconvnet`` against ``gradient`` (target: <= 1.5x), and the
  other gradient methods for reference.

Each time is the shortest of several interleaved runs after a warm-up (the machine is shared). Nothing is asserted: the
numbers are for the README and the notes.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

import vizlib
from vizlib import attribution as A


def best_times(fns, repeats: int) -> list[float]:
    """Shortest time of each function over ``repeats`` rounds, after a warm-up round.

    The functions are run in turn within each round, so that a burst of load from other
    processes on the shared machine slows all of them alike instead of one.
    """
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def naive_occlusion(model, x, target, window, stride):
    """One occluded image per forward pass (the loop the batched version replaces)."""
    _, _, h, w = x.shape
    rows = A.occlusion_positions(h, window, stride)
    cols = A.occlusion_positions(w, window, stride)
    with torch.no_grad():
        p0 = model(x).softmax(1)[0, target]
        out = torch.zeros(len(rows), len(cols))
        for a, r in enumerate(rows):
            for b, c in enumerate(cols):
                xo = x.clone()
                xo[..., r:r + window, c:c + window] = 0.0
                out[a, b] = p0 - model(xo).softmax(1)[0, target]
    return out


def plain_forwards(model, x, n_images: int, batch_size: int):
    """``n_images`` forward passes of copies of x, ``batch_size`` at a time, nothing else.

    The copies are channels-last, as ``occlusion`` makes them on the CPU, so that the ratio
    measures occlusion's own overhead (building the copies, bookkeeping), not the layout.
    """
    with torch.no_grad():
        model(x)  # the clean pass occlusion also makes
        batch = x.expand(batch_size, *x.shape[1:]).contiguous(memory_format=torch.channels_last)
        done = 0
        while done < n_images:
            m = min(batch_size, n_images - done)
            model(batch[:m])
            done += m


def load(name: str):
    if vizlib.is_course(name):
        try:
            model = vizlib.load_model(name, device="cpu")
            label = f"{name} (trained)"
        except (FileNotFoundError, RuntimeError):
            model, label = vizlib.load_model(name, weights=None, device="cpu"), f"{name} (random)"
    else:
        model, label = vizlib.load_model(name, weights=None, device="cpu"), f"{name} (random)"
    return model, label


def main(quick: bool = False) -> list[tuple]:
    torch.manual_seed(0)
    rows = []
    settings = [("course", 64, 8, 4, 128, 16), ("alexnet", 224, 32, 16, 64, 4)]
    for name, size, window, stride, batch_size, grad_batch in settings:
        model, label = load(name)
        x1 = torch.randn(1, 3, size, size)
        n_win = len(A.occlusion_positions(size, window, stride)) ** 2
        t_batched, t_naive, t_plain = best_times([
            lambda: A.occlusion(model, x1, 1, window=window, stride=stride, batch_size=batch_size, progress=False),
            lambda: naive_occlusion(model, x1, 1, window, stride),
            lambda: plain_forwards(model, x1, n_win, batch_size),
        ], 2 if quick else 5)
        what = f"{n_win} windows {window}px/{stride}px, batch {batch_size}"
        rows.append((label, "occlusion vs one-window loop", what, t_batched, t_naive, t_naive / t_batched, ">= 5x faster"))
        rows.append((label, "occlusion vs plain batched forwards", what, t_batched, t_plain, t_batched / t_plain,
                     "<= 1.3x"))
        xb = torch.randn(grad_batch, 3, size, size)
        target = torch.arange(grad_batch) % 5
        methods = (A.gradient, A.guided_backprop, A.deconvnet, A.saliency, A.grad_cam)
        times = best_times([lambda m=m: m(model, xb, target) for m in methods], 5 if quick else 15)
        for method, t in zip(methods[1:], times[1:]):
            goal = "<= 1.5x" if method in (A.guided_backprop, A.deconvnet) else ""
            rows.append((label, f"{method.__name__} vs gradient", f"batch {grad_batch}", t, times[0], t / times[0], goal))
    return rows


def print_table(rows) -> None:
    print(f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    head = ("model", "comparison", "setting", "time (s)", "baseline (s)", "ratio", "target")
    widths = [max(len(str(r[i])) if i < 3 or i == 6 else 9 for r in [head, *rows]) for i in range(7)]
    fmt = lambda r: " | ".join(  # noqa: E731
        (f"{r[i]:.3f}" if isinstance(r[i], float) and i in (3, 4) else f"{r[i]:.2f}x" if i == 5 and isinstance(r[i], float)
         else str(r[i])).ljust(widths[i]) for i in range(7))
    print(fmt(head))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    print_table(main(parser.parse_args().quick))
