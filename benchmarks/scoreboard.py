"""The full scoreboard: every attribution method of the book, scored against the toy world's masks.

    python benchmarks/scoreboard.py                  # 500 images, course model, CPU or GPU
    python benchmarks/scoreboard.py --n 2000 --device cuda

For each method it computes maps for the true class of ``--n`` toy-world images
(seed ``--seed``, never used in training) and prints, per method, the mean over
images of

* the pointing game, exact and within ``--tolerance`` pixels (Zhang et al. 2016);
* the mass in the mask (share of |map| on the object);
* the deletion area (smaller is better) and the insertion area (larger is
  better) over ``--steps`` steps (Petsiuk et al. 2018), both with the mean
  colour for pixels that are deleted or not yet inserted;

with a 95% interval (mean +- 1.96 standard errors) for the pointing game, and the
seconds each method took to make its maps. Maps with channels are reduced with
``vizlib.metrics.reduce_channels`` (max |.| over channels), so "gradient" and
"saliency" coincide and appear as one row. The random-map and image-centre
baselines are scored the same way. The chapter ``chapters/evaluating.ipynb``
shows the same table on a smaller subset.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch

import vizlib
from vizlib import attribution as A
from vizlib import metrics


def methods(occlusion_window: int = 8, occlusion_stride: int = 4, smoothgrad_samples: int = 25,
            ig_steps: int = 32) -> dict:
    """name -> fn(model, x, target) returning maps, for every method in the book."""
    table = {
        "gradient / saliency": A.saliency,
        "deconvnet": A.deconvnet,
        "guided backprop": A.guided_backprop,
        "gradient x input": A.gradient_x_input,
        "integrated gradients": lambda m, x, t: A.integrated_gradients(m, x, t, steps=ig_steps, batch_size=256),
        "SmoothGrad": lambda m, x, t: A.smoothgrad(m, x, t, n_samples=smoothgrad_samples, batch_size=256),
        "occlusion": lambda m, x, t: A.occlusion(m, x, t, window=occlusion_window, stride=occlusion_stride,
                                                 batch_size=256, progress=False),
        "Grad-CAM": A.grad_cam,  # default layer: the last convolution (conv4, 4x4, for the course model)
        "Grad-CAM (relu3)": lambda m, x, t: A.grad_cam(m, x, t, layer="features.relu3"),
        "guided Grad-CAM": A.guided_grad_cam,
    }
    return {k: v for k, v in table.items() if v is not None}


def batched(fn, model, x, target, batch_size: int):
    return torch.cat([fn(model, x[i : i + batch_size], target[i : i + batch_size]).detach()
                      for i in range(0, len(x), batch_size)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="course", help="course model name (default: course)")
    parser.add_argument("--n", type=int, default=500, help="number of toy-world images (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="toy_world seed (default 0)")
    parser.add_argument("--steps", type=int, default=16, help="deletion/insertion steps (default 16)")
    parser.add_argument("--tolerance", type=float, default=3, help="pointing-game slack in pixels (default 3)")
    parser.add_argument("--batch-size", type=int, default=100, help="images per attribution call")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--random-weights", action="store_true", help="untrained model (smoke test)")
    parser.add_argument("--json", default=None, help="also write the table to this JSON file")
    args = parser.parse_args(argv)
    if not vizlib.is_course(args.model):
        parser.error("the scoreboard needs object masks: use a course model")

    vizlib.set_seed(0)
    device = torch.device(args.device) if args.device else vizlib.default_device()
    model = vizlib.load_model(args.model, weights=None if args.random_weights else "default", device=device)
    images, labels, masks = vizlib.toy_world(args.n, seed=args.seed)
    x, y, masks = vizlib.normalize(images).to(device), labels.to(device), masks.to(device)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    print(f"model {args.model} on {device}; {args.n} images (seed {args.seed}); accuracy {acc:.3f}", flush=True)

    n, _, h, w = x.shape
    candidates = {name: (lambda fn: lambda: batched(fn, model, x, y, args.batch_size))(fn)
                  for name, fn in methods().items()}
    candidates["random map (baseline)"] = lambda: metrics.random_maps(n, h, w, seed=args.seed).to(device)
    candidates["image centre (baseline)"] = lambda: metrics.center_maps(n, h, w).to(device)

    rows = {}
    header = (f"{'method':<26}{'pointing':>15}{f'within {args.tolerance:g}px':>12}{'mass':>8}"
              f"{'deletion':>10}{'insertion':>11}{'map s':>8}{'score s':>9}")
    print(header)
    print("-" * len(header))
    for name, make in candidates.items():
        t0 = time.perf_counter()
        maps = metrics.reduce_channels(make())
        if device.type == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        s = metrics.score_maps(model, x, y, maps, masks, tolerance=args.tolerance, n_steps=args.steps,
                               batch_size=1024)
        t2 = time.perf_counter()
        mean = {k: v.nanmean().item() for k, v in s.items()}
        p = mean["pointing"]
        half = 1.96 * math.sqrt(max(p * (1 - p), 1e-12) / n)
        rows[name] = dict(mean, pointing_ci95=half, map_seconds=t1 - t0, score_seconds=t2 - t1)
        print(f"{name:<26}{p:>8.3f} ±{half:.3f}{mean['pointing_tol']:>12.3f}{mean['mass']:>8.3f}"
              f"{mean['deletion']:>10.3f}{mean['insertion']:>11.3f}{t1 - t0:>8.1f}{t2 - t1:>9.1f}", flush=True)
    print(f"\npointing: share of images whose map maximum lies on the object (± 95% interval); "
          f"mass: share of |map| on the object; deletion (lower is better) and insertion (higher) "
          f"areas over {args.steps} steps; map s / score s: seconds to make / score the maps on {device}.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(model=args.model, n=args.n, seed=args.seed, steps=args.steps, accuracy=acc,
                           device=str(device), rows=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
