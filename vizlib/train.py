"""Train the shipped course models from scratch: ``python -m vizlib.train``.

Generates the toy world, trains :class:`~vizlib.models.CourseNet` on the CPU
(or a GPU when there is one), measures test accuracy on 2,000 images from a
seed never used in training, and writes the weights (float32 state dict), their
sha256, the accuracy and the configuration into ``vizlib/weights/``.

    python -m vizlib.train                      # all five shipped models
    python -m vizlib.train --model course       # just one
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .data import toy_world
from .hooks import model_device, running
from .models import COURSE_MODELS, MANIFEST, WEIGHTS_DIR, CourseNet, default_device, sha256
from .seed import set_seed

#: Training recipes. Seeds: training data from ``data_seed`` upwards, test data from TEST_SEED.
CONFIGS = {
    "course": dict(n_train=40_000, epochs=8, batch_size=128, lr=2e-3, weight_decay=0.01, conv1_kernel=11,
                   conv1_init_scale=0.1, flips=True, data_seed=1000, seed=0),
    "course-shortcut": dict(n_train=20_000, epochs=6, batch_size=128, lr=2e-3, weight_decay=0.01, conv1_kernel=7,
                            conv1_init_scale=0.1, flips=False, data_seed=2000, seed=0),
    "course-position": dict(n_train=20_000, epochs=6, batch_size=128, lr=2e-3, weight_decay=0.01, conv1_kernel=7,
                            conv1_init_scale=0.1, flips=False, data_seed=3000, seed=0),
    "course-pose": dict(n_train=20_000, epochs=6, batch_size=128, lr=2e-3, weight_decay=0.01, conv1_kernel=7,
                        conv1_init_scale=0.1, flips=False, data_seed=4000, seed=0),
    # an independent copy of "course" (same recipe; other initialisation, other training images)
    # for comparing what single units learn across two trainings (convergent learning)
    "course-b": dict(n_train=40_000, epochs=8, batch_size=128, lr=2e-3, weight_decay=0.01, conv1_kernel=11,
                     conv1_init_scale=0.1, flips=True, data_seed=5000, seed=1),
}
TEST_SEED = 999_999
N_TEST = 2_000
_CHUNK = 2_000


def _chunk(args):
    n, seed, variant = args
    return toy_world(n, seed=seed, variant=variant)


def make_dataset(n: int, first_seed: int, variant=None, workers: int | None = None):
    """``n`` toy-world images generated in chunks of 2,000 with seeds first_seed, first_seed+1, ..."""
    jobs = [(min(_CHUNK, n - i), first_seed + k, variant) for k, i in enumerate(range(0, n, _CHUNK))]
    # spawn, not fork: forking after torch has started its thread pools (or CUDA) can deadlock
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers or min(os.cpu_count() or 1, 8), mp_context=ctx) as pool:
        parts = list(pool.map(_chunk, jobs))
    return tuple(torch.cat(p) for p in zip(*parts))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Fraction of images (already normalised) whose argmax logit equals the label; the model
    runs in eval mode without gradients (:func:`vizlib.hooks.running`), its flags restored."""
    device = model_device(model)
    with running(model, grad=False):
        hits = sum(
            (model(x[i : i + batch_size].to(device)).argmax(1).cpu() == y[i : i + batch_size]).sum().item()
            for i in range(0, len(y), batch_size)
        )
    return hits / len(y)


def train(name: str = "course", *, progress: bool = True, device=None, **overrides):
    """Train one course model; returns (model, record) where record holds accuracy and config."""
    from .models import normalize

    cfg = {**CONFIGS[name], **overrides}
    variant = COURSE_MODELS[name]
    device = default_device() if device is None else torch.device(device)
    set_seed(cfg["seed"])
    t0 = time.perf_counter()
    x, y, _ = make_dataset(cfg["n_train"], cfg["data_seed"], variant)
    x = normalize(x, "course")
    xt, yt, _ = toy_world(N_TEST, seed=TEST_SEED, variant=variant)
    xt = normalize(xt, "course")
    t_data = time.perf_counter() - t0

    model = CourseNet(conv1_kernel=cfg["conv1_kernel"]).to(device)
    with torch.no_grad():
        model.features.conv1.weight.mul_(cfg["conv1_init_scale"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps_per_epoch = (len(y) + cfg["batch_size"] - 1) // cfg["batch_size"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], epochs=cfg["epochs"],
                                                steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg["seed"])
    loss_fn = nn.CrossEntropyLoss()
    bar = tqdm(total=cfg["epochs"] * steps_per_epoch, desc=f"train {name}", disable=not progress)
    t1 = time.perf_counter()
    model.train()
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), cfg["batch_size"]):
            idx = order[i : i + cfg["batch_size"]]
            xb, yb = x[idx], y[idx]
            if cfg["flips"]:
                flip = torch.rand(len(idx), generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    model.eval()
    t_train = time.perf_counter() - t1
    record = dict(
        test_accuracy=round(accuracy(model, xt, yt), 4), n_test=N_TEST, test_seed=TEST_SEED,
        data_seconds=round(t_data, 1), train_seconds=round(t_train, 1),
        images_per_second=round(cfg["epochs"] * len(y) / t_train), device=str(device),
        torch=torch.__version__, config=cfg,
    )
    return model, record


def save(name: str, model: nn.Module, record: dict, out_dir: Path = WEIGHTS_DIR) -> dict:
    """Write ``<name>.pt`` and its manifest entry (sha256, accuracy, config)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.pt"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, path)
    manifest_path = out_dir / MANIFEST.name
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {"file": path.name, "sha256": sha256(path), **record}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest[name]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(CONFIGS) + ["all"], default="all")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output folder (default: the shipped weights)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override recipe entries, e.g. --set conv1_kernel=11 epochs=4")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in CONFIGS["course"]:
            parser.error(f"--set: unknown key {key!r}; valid keys: {', '.join(CONFIGS['course'])}")
        overrides[key] = type(CONFIGS["course"][key])(json.loads(value))
    for name in CONFIGS if args.model == "all" else [args.model]:
        model, record = train(name, progress=not args.no_progress, **overrides)
        entry = save(name, model, record, args.out)
        print(f"{name}: test accuracy {entry['test_accuracy']:.2%}, data {entry['data_seconds']} s, "
              f"training {entry['train_seconds']} s, sha256 {entry['sha256'][:16]}...")


if __name__ == "__main__":
    main()
