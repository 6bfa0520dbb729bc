"""Feature visualisation on the course model: speed, an ablation, and channel_model before and after issue 16.

    flock /tmp/cpu.lock python benchmarks/feature_vis.py [--quick] [--threads N]

Prints (markdown tables; nothing is asserted, the numbers are for the notes and the chapter):

1. **Speed**: one unit's feature visualisation (``synthesis.feature_vis`` defaults: Fourier,
   decorrelated colour, transforms, 256 steps), the shortest of 3 runs after a warm-up; the
   same per unit when 32 units share one call; the estimate for all 352 conv units
   (target: <= 1 s a unit, <= 6 min for 352).
2. **Ablation** on 10 units of relu3 (0, 13, ..., 117): pixel vs Fourier, with and without
   decorrelated colour and transforms, and ``channel_model`` with its old and new defaults.
   Columns: the activation reached by the image clipped to the valid range, relative to the best
   of the 2,000 images of ``toy_world(2000, seed=7)`` (the same objective: the centre neuron's
   pre-ReLU value, or the channel mean for channel_model); the same averaged over 16 random
   transforms (jitter, scale, rotation); the high-frequency energy (share above 0.25 cycles per
   pixel; the toy images' median for reference); the share of pixel values outside the valid range
   before clipping; the same unit of ``course-b`` (if shipped); seconds a unit. Medians over units.
3. **channel_model, every layer**: for relu1 .. relu4, how many units have an exactly zero gradient
   at the noise start (post-ReLU objective vs pre-ReLU), and the share of units whose image
   (clipped) beats 0 and beats the best dataset image (post-ReLU channel mean), with the defaults
   before issue 16 (post-ReLU, lr 200, l2 1e-3, no clipping) and after.

The load average is printed before and after: the machine is shared, and times under load are
longer. ``--quick``: fewer units (for a smoke run).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import torch

import vizlib
from vizlib import synthesis as S

LAYERS = ("features.relu1", "features.relu2", "features.relu3", "features.relu4")
OLD = dict(l2=1e-3, clip=False, pre_relu=False)  # channel_model's defaults before issue 16 (lr 200 both)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def dataset_best(model, x, batch=250):
    """Per layer: the best dataset value of each unit's centre neuron (pre-ReLU), its pre-ReLU
    channel mean, and its post-ReLU channel mean."""
    best = {}
    with torch.no_grad():
        for i in range(0, len(x), batch):
            h = x[i:i + batch]
            for name, module in model.features.named_children():
                out = module(h)
                if isinstance(module, torch.nn.ReLU):
                    key = f"features.{name}"
                    c = h.shape[-1] // 2
                    vals = (h[:, :, c, c].max(0).values, h.mean((2, 3)).max(0).values, out.mean((2, 3)).max(0).values)
                    old = best.get(key)
                    best[key] = vals if old is None else tuple(torch.maximum(a, b) for a, b in zip(old, vals))
                h = out
    return best


def speed(model, quick):
    S.feature_vis(model, "features.relu3", 0, steps=8, pre_relu=True, progress=False)  # warm-up
    times = []
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        S.feature_vis(model, "features.relu3", 5, pre_relu=True, progress=False)
        times.append(time.perf_counter() - t0)
    one = min(times)
    print("## Speed (256 steps, Fourier + decorrelated colour + transforms, relu3)\n")
    print("| | s a unit | 352 units |")
    print("|---|---|---|")
    print(f"| one unit per call | {one:.2f} | {352 * one / 60:.1f} min |")
    for size in ((8,) if quick else (32, 128)):
        t0 = time.perf_counter()
        S.feature_vis(model, "features.relu3", list(range(size)), pre_relu=True, progress=False)
        batched = (time.perf_counter() - t0) / size
        print(f"| {size} units per call | {batched:.2f} | {352 * batched / 60:.1f} min |")
    print()


def ablation(model, other, x, best, other_best, quick):
    units = list(range(0, 128, 13))[:4 if quick else 10]
    layer = "features.relu3"
    robust = S.robust_transforms()
    neuron_best, post_best = best[layer][0], best[layer][2]
    toy_hf = statistics.median(S.high_frequency_energy(vizlib.models.denormalize(x[:200])).tolist())
    recipes = [("channel_model, old defaults (post-ReLU, l2 1e-3, no clip)", "cm", OLD)]
    recipes.append(("channel_model, new defaults (pre-ReLU, l2 0, clipped)", "cm", dict(pre_relu=True)))
    for param in ("pixel", "fourier"):
        for dec in (False, True):
            for tr in (False, True):
                name = f"{param}, {'decorrelated' if dec else 'RGB'}, {'transforms' if tr else 'no transforms'}"
                recipes.append((name, "fv", dict(param=param, decorrelate=dec, transforms=tr)))
    recipes.append(("pixel, RGB, transforms, no sigmoid (raw pixels)", "raw", {}))
    rows = []
    for name, kind, kw in recipes:
        cols = {k: [] for k in ("rel", "relT", "hf", "oor", "other", "s")}
        for u in units:
            t0 = time.perf_counter()
            if kind == "cm":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = S.channel_model(model, layer, u, progress=False, **kw)
                # the post-ReLU channel mean: its dataset best is >= 0 (pre-ReLU means are often negative)
                obj, ref, ref_other = S.channel(layer, u), post_best[u], other_best[layer][2][u] if other_best else None
                raw = out.image
            elif kind == "fv":
                out = S.feature_vis(model, layer, u, pre_relu=True, progress=False, **kw)
                obj, ref = S.neuron(f"{layer}:input", u), neuron_best[u]
                ref_other = other_best[layer][0][u] if other_best else None
                raw = out.image
            else:
                obj, ref = S.neuron(f"{layer}:input", u), neuron_best[u]
                ref_other = other_best[layer][0][u] if other_best else None
                p = S.pixel_image((1, 3, 64, 64), squash=None)
                out = S.render(model, obj, param=p, steps=256, lr=0.05, transform=robust, progress=False)
                mean, std = S.space_stats("course")
                with torch.no_grad():
                    raw = (p.image_fn() - mean) / std  # the raw pixels, before render's clipping
            cols["s"].append(time.perf_counter() - t0)
            shown = S.clip_valid(raw)
            cols["oor"].append(float(S.out_of_range(raw)))
            cols["rel"].append(float(S.evaluate(model, obj, shown)) / float(ref))
            cols["relT"].append(float(S.evaluate(model, obj, shown, transform=robust, samples=16)) / float(ref))
            cols["hf"].append(float(S.high_frequency_energy(vizlib.models.denormalize(shown)[0])))
            if other is not None:
                if float(ref_other) > 0:  # a unit of course-b that no dataset image drives is left out
                    cols["other"].append(float(S.evaluate(other, obj, shown)) / float(ref_other))
        rows.append((name, {k: statistics.median(v) if v else float("nan") for k, v in cols.items()}))
    print(f"## Ablation: {len(units)} units of relu3 ({units}), medians\n")
    print(f"Best dataset image: the maximum over toy_world(2000, seed=7); toy images' HF energy {toy_hf:.3f}. "
          "channel_model rows: the post-ReLU channel mean; the others: the centre neuron, pre-ReLU. "
          "course-b: unit u of the independently trained copy, relative to its own best dataset image "
          "(units are not matched across the two models).\n")
    print("| recipe | activation / best dataset image (clipped) | under transforms | HF energy "
          "| pixels out of range | course-b same unit | s / unit |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        other_col = f"{r['other']:.2f}" if other is not None else "n/a"
        print(f"| {name} | {r['rel']:.2f} | {r['relT']:.2f} | {r['hf']:.3f} | {r['oor']:.1%} | {other_col} "
              f"| {r['s']:.2f} |")
    print()


def zero_gradients(model, layer, start):
    x = start.clone().requires_grad_(True)
    h, pre = x, None
    for name, module in model.features.named_children():
        if f"features.{name}" == layer:
            pre = h
        h = module(h)
        if f"features.{name}" == layer:
            break
    post = h
    stuck_post = stuck_pre = 0
    for c in range(post.shape[1]):
        (g,) = torch.autograd.grad(post[0, c].mean(), x, retain_graph=True)
        stuck_post += int(not g.any())
        (g,) = torch.autograd.grad(pre[0, c].mean(), x, retain_graph=True)
        stuck_pre += int(not g.any())
    return stuck_post, stuck_pre, post.shape[1]


def channel_model_table(model, best, quick):
    start = S._start_image(model, "noise", None, 0)
    print("## channel_model on every layer (100 steps, clipped image scored)\n")
    print("| layer | units | zero gradient at start: post-ReLU / pre-ReLU | old defaults: beats 0 / beats best "
          "| new defaults: beats 0 / beats best | s / unit (new) |")
    print("|---|---|---|---|---|---|")
    for layer in LAYERS:
        stuck_post, stuck_pre, n = zero_gradients(model, layer, start)
        units = list(range(0, n, 8 if quick else 2))
        scores = {}
        for label, kw in (("old", OLD), ("new", dict(pre_relu=True))):
            beat0 = beatbest = 0
            t0 = time.perf_counter()
            for u in units:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = S.channel_model(model, layer, u, progress=False, **kw)
                value = float(S.evaluate(model, S.channel(layer, u), S.clip_valid(out.image)))
                beat0 += value > 0
                beatbest += value > float(best[layer][2][u])
            scores[label] = (beat0 / len(units), beatbest / len(units), (time.perf_counter() - t0) / len(units))
        print(f"| {layer} | {n} (sampled {len(units)}) | {stuck_post} / {stuck_pre} "
              f"| {scores['old'][0]:.0%} / {scores['old'][1]:.0%} | {scores['new'][0]:.0%} / {scores['new'][1]:.0%} "
              f"| {scores['new'][2]:.2f} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer units and repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--skip", nargs="*", default=(), choices=("speed", "ablation", "layers"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {load()}\n")
    model = vizlib.load_model("course", device="cpu")
    other = vizlib.load_model("course-b", device="cpu") if "course-b" in vizlib.models.model_names() \
        and "course-b" in vizlib.models.read_manifest() else None
    S.toy_colour_matrix()
    t0 = time.perf_counter()
    images, _, _ = vizlib.toy_world(500 if args.quick else 2000, seed=7)
    x = vizlib.normalize(images)
    best = dataset_best(model, x)
    print(f"dataset and its best activations: {time.perf_counter() - t0:.1f} s\n")
    if "speed" not in args.skip:
        speed(model, args.quick)
    if "ablation" not in args.skip:
        ablation(model, other, x, best, dataset_best(other, x) if other is not None else None, args.quick)
    if "layers" not in args.skip:
        channel_model_table(model, best, args.quick)
    print(load())


if __name__ == "__main__":
    main()
