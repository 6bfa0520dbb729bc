"""Quality targets of the shipped course models (issue 3), measured and printed as tables.

    python benchmarks/course_model.py [--n-point 500]

1. test accuracy on 2,000 fresh images (a seed never used in training);
2. class model visualisation from a zero image (gradient ascent on the logit with L2
   decay and occasional blur only): steps to p >= 0.99 and final probability per class;
3. pointing game on fresh test images: input gradient (saliency) and occlusion, with
   random-point and image-centre baselines, exact and within 3 px;
4. first-layer filters: fraction with Gabor fit R^2 >= 0.8, with OSI >= 0.5, and both,
   trained versus at initialisation (default PyTorch init and the recipe's 0.1-scaled init);
5. shortcut model: share of occlusion mass on the watermark and within its reach (the mark
   dilated by the 8-px window) for the shortcut model and, as a control, the course model;
   how often the map's maximum is on it; accuracy with the mark present, removed and moved;
6. position model: fraction of the class image's energy in the training region,
   biased versus unbiased model, over 5 seeds.
"""
import argparse
import time

import numpy as np
import torch

import vizlib
from vizlib import attribution, data, filters, metrics, synthesis
from vizlib.models import CourseNet, normalize
from vizlib.train import CONFIGS, N_TEST, TEST_SEED


def predict(model, x, batch=500):
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def accuracy_table():
    print("## Test accuracy (2,000 fresh images, seed %d)\n" % TEST_SEED)
    print("| model | accuracy |\n|---|---|")
    for name, variant in vizlib.models.COURSE_MODELS.items():
        x, y, _ = vizlib.toy_world(N_TEST, seed=TEST_SEED, variant=variant)
        acc = (predict(vizlib.load_model(name, device="cpu"), normalize(x)) == y).float().mean().item()
        print(f"| {name} | {acc:.2%} |")


def class_model_table(model):
    print("\n## Class model visualisation from a zero image (L2 1e-3, blur sigma 0.6 every 4 steps, 300 steps)\n")
    print("| class | steps to p >= 0.99 | p after 300 steps | seconds |\n|---|---|---|---|")
    for c, name in enumerate(vizlib.TOY_CLASSES):
        t0 = time.perf_counter()
        _, hist = synthesis.class_model(model, c, steps=300, init="zeros", l2=1e-3, blur_every=4, blur_sigma=0.6,
                                        norm_clip=None, contrib_clip=None, jitter=0, progress=False)
        seconds = time.perf_counter() - t0
        probs = np.asarray(hist["prob"])
        reached = np.flatnonzero(probs >= 0.99)
        print(f"| {name} | {reached[0] if len(reached) else 'not reached'} | {probs[-1]:.3f} | {seconds:.1f} |")


def pointing_table(model, n):
    x01, y, masks = vizlib.toy_world(n, seed=TEST_SEED + 1)
    x = normalize(x01)
    maps = {
        "input gradient (saliency)": attribution.saliency(model, x, y),
        "occlusion 8x8, stride 4": attribution.occlusion(model, x, y, window=8, stride=4, progress=False),
        "random point": metrics.random_maps(n, 64, 64, seed=0),
        "image centre": metrics.center_maps(n, 64, 64),
    }
    print(f"\n## Pointing game ({n} fresh test images)\n")
    print("| map | hit (exact) | hit (within 3 px) |\n|---|---|---|")
    for name, m in maps.items():
        exact = metrics.pointing_game(m, masks).float().mean().item()
        near = metrics.pointing_game(m, masks, tolerance=3).float().mean().item()
        print(f"| {name} | {exact:.3f} | {near:.3f} |")


def gabor_table(model):
    print("\n## First-layer filters: Gabor fit R^2 and orientation selectivity (OSI, from gratings)\n")
    print("| conv1 | filters | R^2 >= 0.8 | OSI >= 0.5 | both | median R^2 | median OSI |\n|---|---|---|---|---|---|---|")
    kernel = CONFIGS["course"]["conv1_kernel"]  # the shipped model's first layer, not CourseNet's default
    torch.manual_seed(0)
    default_init = CourseNet(conv1_kernel=kernel)
    torch.manual_seed(0)
    scaled_init = CourseNet(conv1_kernel=kernel)
    with torch.no_grad():
        scaled_init.features.conv1.weight.mul_(CONFIGS["course"]["conv1_init_scale"])
    for name, net in (("trained (course)", model), ("PyTorch default init", default_init),
                      ("recipe init (x0.1)", scaled_init)):
        res = filters.fit_filters(filters.first_layer_filters(net))
        r2, osi = res["r2"], res["osi"]
        print(f"| {name} | {len(r2)} | {np.mean(r2 >= 0.8):.0%} | {np.mean(osi >= 0.5):.0%} | "
              f"{np.mean((r2 >= 0.8) & (osi >= 0.5)):.0%} | {np.median(r2):.2f} | {np.median(osi):.2f} |")


def shortcut_table(n):
    model = vizlib.load_model("course-shortcut", device="cpu")
    c = data.SHORTCUT_CLASS
    x01, y, _ = vizlib.toy_world(n, seed=TEST_SEED + 2)
    x01, y = x01[y == c], y[y == c]
    r, q = data.MARK_CORNER
    k = data.MARK_SIZE
    marked = data.add_mark(x01)
    moved = data.add_mark(x01, corner=(2, 2))
    on_mark = torch.zeros(1, 64, 64, dtype=torch.bool)
    on_mark[:, r:r + k, q:q + k] = True
    print(f"\n## Shortcut model ({len(y)} fresh '{vizlib.TOY_CLASSES[c]}' images)\n")
    print("| images | accuracy |\n|---|---|")
    for name, imgs in (("mark present", marked), ("no mark", x01), ("mark moved to top left", moved)):
        print(f"| {name} | {(predict(model, normalize(imgs)) == y).float().mean().item():.2%} |")
    others, yo, _ = vizlib.toy_world(n, seed=TEST_SEED + 3)
    others = others[yo != c]
    turned = (predict(model, normalize(data.add_mark(others))) == c).float().mean().item()
    base = (predict(model, normalize(others)) == c).float().mean().item()
    print(f"| other classes with the mark added: predicted '{vizlib.TOY_CLASSES[c]}' | {turned:.2%} (without the mark {base:.2%}) |")
    # An 8x8 window that covers any pixel of the mark spreads the drop over up to 7 px around it:
    # the "reach" of the mark is the mark dilated by window - 1, the finest place occlusion can point to.
    w = 8
    reach = torch.zeros(1, 64, 64, dtype=torch.bool)
    reach[:, max(r - w + 1, 0):r + k + w - 1, max(q - w + 1, 0):q + k + w - 1] = True
    print("\n| occlusion (8x8, stride 4) on marked images | share of positive mass on the 6x6 mark | "
          "... within the mark's reach | maximum on the mark | maximum within reach |\n|---|---|---|---|---|")
    for name, net in (("course-shortcut", model), ("course (control)", vizlib.load_model("course", device="cpu"))):
        occ = attribution.occlusion(net, normalize(marked), y, window=w, stride=4, progress=False).clamp(min=0)
        total = occ.flatten(1).sum(1).clamp(min=1e-12)
        row = []
        for region in (on_mark, reach):
            region = region.expand(len(y), -1, -1)
            row.append((occ * region).flatten(1).sum(1).div(total).mean().item())
        hits = [metrics.pointing_game(occ, region.expand(len(y), -1, -1)).float().mean().item() for region in (on_mark, reach)]
        print(f"| {name} | {row[0]:.2f} | {row[1]:.2f} | {hits[0]:.0%} | {hits[1]:.0%} |")
    print(f"\nThe mark is {k * k / 64 / 64:.1%} of the image, its reach {reach.float().mean().item():.1%}.")


def position_table(seeds=5):
    c = data.POSITION_CLASS
    print(f"\n## Position bias: class image of '{vizlib.TOY_CLASSES[c]}', energy fraction in the upper-left quadrant\n")
    print("| model | mean over %d seeds | per seed |\n|---|---|---|" % seeds)
    for name in ("course-position", "course"):
        model = vizlib.load_model(name, device="cpu")
        fr = [float(synthesis.region_energy_fraction(
            synthesis.class_model(model, c, steps=200, init="noise", seed=s, progress=False).image,
            data.POSITION_REGION)) for s in range(seeds)]
        print(f"| {name} | {np.mean(fr):.2f} | {', '.join(f'{f:.2f}' for f in fr)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-point", type=int, default=500, help="images for the pointing game")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = vizlib.load_model("course", device="cpu")
    t0 = time.perf_counter()
    accuracy_table()
    class_model_table(model)
    pointing_table(model, args.n_point)
    gabor_table(model)
    shortcut_table(2000)
    position_table()
    print(f"\n(total {time.perf_counter() - t0:.0f} s, torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
