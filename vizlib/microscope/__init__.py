"""The microscope: a catalogue page of every conv unit of the course model (issue 16).

For each of the 352 units of ``features.relu1`` .. ``features.relu4`` (32 + 64 + 128 + 128) the
page shows

- its feature visualisation (:func:`vizlib.synthesis.feature_vis` with its default recipe:
  Fourier parameterisation, decorrelated colour, transformation robustness, 256 Adam steps, on
  the unit's centre neuron before the ReLU), :data:`BATCH` units per call;
- its top dataset patches (:func:`vizlib.activations.top_patches`, the ``k`` best images of the
  held-out set :data:`DATA`, one patch per image);
- its network-dissection label, IoU and runner-up (:func:`vizlib.dissection.dissect` over the
  same images, quantile :data:`QUANTILE`), marked above the cuts :data:`CUTS`;
- the class most of its top images belong to, and a link to its row in the page's full table.

Run ``python -m vizlib.microscope [--out chapters]``: it writes ``<out>/microscope.md`` and
``<out>/microscope/`` (one PNG sprite sheet per layer for the visualisations and one for the
patches, and ``catalogue.json`` with every record and the sha256 of the weights it was made
from). Everything is seeded, so a second run writes the same records; the book's build does not
run it (``tests/test_microscope.py`` checks the stored catalogue against the current weights).

The page needs no network and no framework: the sprites are referenced by markdown image syntax
in its "Contact sheets" section, so Sphinx copies them into ``_images/``, and the cards crop them
with CSS (``../_images/<name>``); a small inline script filters the cards and the table by layer
and label, and without JavaScript everything is shown.

Example:
    >>> images = visualise(model, "features.relu1", [0, 1], steps=4, progress=False)
    >>> images.shape, bool(images.min() >= 0 and images.max() <= 1)
    (torch.Size([2, 3, 64, 64]), True)
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import _validate

#: The conv units of the course model: the ReLU after each convolution.
LAYERS = ("features.relu1", "features.relu2", "features.relu3", "features.relu4")
#: The held-out images the patches and the dissection use (the course model trained on seed 1000).
DATA = dict(n=2000, seed=7)
#: Units per ``feature_vis`` call; unit ``c`` of a layer is image ``c % BATCH`` of the call that
#: makes channels ``BATCH * (c // BATCH), ...``.
BATCH = 32
#: Adam steps of each feature visualisation (``feature_vis``'s default) and its seed.
STEPS = 256
SEED = 0
#: Top patches per unit and their side in the sprite sheet (pixels).
K = 9
PATCH_PX = 32
#: Dissection quantile (Bau et al. 2017) and the IoU cuts the page marks: Bau et al.'s and a
#: stricter one.
QUANTILE = 0.005
CUTS = (0.04, 0.1)
#: Sprite sheets have this many units a row.
SPRITE_COLUMNS = 16
#: Display sizes on the page (CSS pixels): a visualisation, and one patch.
VIS_CSS, PATCH_CSS = 96, 32
#: Where the assets go, relative to ``--out``; the page's name.
ASSETS = "microscope"
PAGE = "microscope.md"
CATALOGUE = "catalogue.json"
WEIGHTS = "course"


def _short(layer: str) -> str:
    return layer.rsplit(".", 1)[-1]


def _check_layer(layer) -> str:
    if not isinstance(layer, str):
        raise TypeError(f"layer must be one of {LAYERS}; got {_validate.describe(layer)}")
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}; got {layer!r}")
    return layer


def _units_of(model: nn.Module, layer: str) -> int:
    """Channels of the convolution that ``layer`` (``features.reluN``) follows."""
    from ..hooks import get_module

    conv = get_module(model, layer.replace("relu", "conv"))
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"model must have a Conv2d before {layer!r} (the course model); got "
                         f"{type(conv).__name__}")
    return conv.out_channels


def _check_channels(model, layer, channels) -> list:
    units = _units_of(model, layer)
    if isinstance(channels, (bool, str)) or not isinstance(channels, (list, tuple, range)):
        raise TypeError(f"channels must be a list of channel indices of {layer!r}; got "
                        f"{_validate.describe(channels)}")
    out = [_validate.integer(c, "channels") for c in channels]
    if not out:
        raise ValueError("channels must hold at least one channel; got an empty list")
    bad = [c for c in out if not 0 <= c < units]
    if bad:
        raise ValueError(f"channels must be in [0, {units}) for {layer!r}; got {bad[:5]}")
    return out


def held_out(n: int = DATA["n"], seed: int = DATA["seed"]):
    """The held-out toy-world images: ``(images (n, 3, 64, 64) in [0, 1], labels (n,), masks
    (n, 64, 64))``, by default ``toy_world(2000, seed=7)``."""
    from ..data import toy_world

    return toy_world(n, seed=seed)


def visualise(model: nn.Module, layer: str, channels, *, batch_size: int = BATCH, steps: int = STEPS,
              seed: int = SEED, progress: bool = True) -> torch.Tensor:
    """Feature visualisations of ``channels`` of ``layer``, as the microscope makes them.

    :func:`vizlib.synthesis.feature_vis` with its defaults (Fourier, decorrelated colour,
    transforms, the centre neuron before the ReLU), ``batch_size`` channels per call, in the
    order given. Image ``j`` of a call starts from row ``j`` of the call's seeded spectrum and all
    images of a call share the transforms, so a unit's image depends on its place in its call:
    the microscope calls it on ``range(0, units)`` (see :func:`regenerate`).

    Args:
        model: the course model (or a ``CourseNet``).
        layer: one of :data:`LAYERS`.
        channels: a list of channel indices of ``layer``.
        batch_size: channels per call (>= 1). steps, seed: as in ``feature_vis``.
        progress: one progress bar over the calls.

    Returns:
        (len(channels), 3, 64, 64) float images in [0, 1] on the CPU.
    """
    from tqdm.auto import tqdm

    from ..models import denormalize
    from ..synthesis import feature_vis

    layer = _check_layer(layer)
    channels = _check_channels(model, layer, channels)
    batch_size = _validate.positive_int(_validate.integer(batch_size, "batch_size"), "batch_size")
    out = []
    starts = range(0, len(channels), batch_size)
    for s in tqdm(starts, desc=f"feature vis {_short(layer)}", disable=not progress):
        result = feature_vis(model, layer, channels[s:s + batch_size], pre_relu=True, steps=steps,
                             seed=seed, progress=False)
        out.append(denormalize(result.image.detach().cpu()).clamp(0, 1))
    return torch.cat(out)


def regenerate(model: nn.Module, layer: str, channel: int, *, batch_size: int = BATCH) -> torch.Tensor:
    """Unit ``channel``'s image again, as in the stored catalogue: its call's channels from the
    first one of its batch up to ``channel`` (the later ones do not change it).

    Returns:
        (3, 64, 64) float image in [0, 1].
    """
    layer = _check_layer(layer)
    (channel,) = _check_channels(model, layer, [channel])
    batch_size = _validate.positive_int(_validate.integer(batch_size, "batch_size"), "batch_size")
    start = batch_size * (channel // batch_size)
    return visualise(model, layer, list(range(start, channel + 1)), batch_size=batch_size,
                     progress=False)[-1]


def patches(model: nn.Module, x: torch.Tensor, images: torch.Tensor, layer: str, *, k: int = K,
            size: int = PATCH_PX):
    """Top patches of every unit of ``layer``: ``(patches (U, k, 3, size, size) in [0, 1],
    image indices (U, k))``, each patch (the unit's receptive field, grey outside the image)
    resized to ``size`` pixels (bilinear, antialiased when shrinking)."""
    from ..activations import top_patches

    layer = _check_layer(layer)
    size = _validate.positive_int(_validate.integer(size, "size"), "size")
    top = top_patches(model, x, layer, images=images, k=k, batch_size=250)
    p = top.patches
    u, kk, c, h, w = p.shape
    flat = p.reshape(u * kk, c, h, w).float()
    resized = F.interpolate(flat, size=(size, size), mode="bilinear", align_corners=False,
                            antialias=size < h)
    return resized.clamp(0, 1).reshape(u, kk, c, size, size), top.indices


def _dissection(model, x, images, labels, masks):
    from ..dissection import concepts, dissect

    return dissect(model, list(LAYERS), x, concepts(images, labels, masks), quantile=QUANTILE,
                   batch_size=250)


def records(model: nn.Module, *, n: int = DATA["n"], seed: int = DATA["seed"], progress: bool = True):
    """Everything of the catalogue but the visualisations: per layer the patches, and one record
    per unit (layer, channel, label, IoU, runner-up and its IoU, class of most top images and
    how many of the ``k``, the top images' indices).

    Returns:
        ``(units: list of dict, patches: {layer: (U, k, 3, s, s)})``.
    """
    from ..models import class_names, normalize

    images, labels, masks = held_out(n, seed)
    x = normalize(images).to(next(model.parameters()).device)
    names = class_names("course")
    dis = _dissection(model, x, images, labels, masks)
    units, sheets = [], {}
    i = 0
    for layer in LAYERS:
        p, idx = patches(model, x, images, layer)
        sheets[layer] = p
        for c in range(p.shape[0]):
            rec = dis[i]
            i += 1
            assert (rec.layer, rec.channel) == (layer, c)
            classes = labels[idx[c]].tolist()
            counts = Counter(classes)
            best = max(counts.values())
            top_class = min(cl for cl, v in counts.items() if v == best)  # ties: the lower class index
            units.append(dict(layer=layer, channel=c, label=rec.label, iou=rec.iou,
                              runner_up=rec.runner_up, runner_up_iou=rec.runner_up_iou,
                              top_class=names[top_class], top_class_count=best,
                              top_images=idx[c].tolist()))
    return units, sheets


def _tiled(tiles: torch.Tensor, columns: int) -> torch.Tensor:
    """(..., N, 3, h, w) -> (..., 3, rows * h, columns * w): the N tiles row by row, padded with
    white (1.0) where the last row is short."""
    *lead, n, c, h, w = tiles.shape
    rows = math.ceil(n / columns)
    out = torch.ones(*lead, c, rows * h, columns * w, dtype=tiles.dtype)
    for j in range(n):
        r, col = divmod(j, columns)
        out[..., r * h:(r + 1) * h, col * w:(col + 1) * w] = tiles[..., j, :, :, :]
    return out


def _grid(tiles: torch.Tensor, columns: int) -> np.ndarray:
    """(U, 3, h, w) in [0, 1] -> (rows * h, columns * w, 3) uint8, row by row, white padding."""
    return (_tiled(tiles, columns).clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _patch_blocks(p: torch.Tensor) -> torch.Tensor:
    """(U, k, 3, s, s) -> (U, 3, rows * s, 3 * s): each unit's patches in a block, 3 a row."""
    return _tiled(p.float(), 3)


def sprite_names(layer: str) -> tuple[str, str]:
    """File names of ``layer``'s two sprite sheets (unique in the book: Sphinx copies images
    into one ``_images/`` folder by their names)."""
    short = _short(_check_layer(layer))
    return f"microscope-{short}-vis.png", f"microscope-{short}-patches.png"


def read_sprite(path) -> np.ndarray:
    """A sprite sheet as (H, W, 3) uint8."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def tile(sheet: np.ndarray, index: int, h: int, w: int, columns: int = SPRITE_COLUMNS) -> np.ndarray:
    """Tile ``index`` (row by row, ``columns`` a row) of ``h`` x ``w`` pixels of a sprite sheet."""
    r, c = divmod(index, columns)
    return sheet[r * h:(r + 1) * h, c * w:(c + 1) * w]


def weights_record(name: str = WEIGHTS) -> dict:
    """``{"name", "file", "sha256"}`` of the shipped weights ``name`` (hashed from the file)."""
    from ..models import WEIGHTS_DIR, read_manifest, sha256

    entry = read_manifest().get(name)
    if entry is None:
        raise FileNotFoundError(f"no shipped weights named {name!r} in vizlib/weights/manifest.json")
    return {"name": name, "file": entry["file"], "sha256": sha256(WEIGHTS_DIR / entry["file"])}


def build(out, *, steps: int = STEPS, progress: bool = True) -> dict:
    """Generate the page ``<out>/microscope.md`` and its assets ``<out>/microscope/``.

    Args:
        out: an existing folder (the book's ``chapters``).
        steps: Adam steps of each visualisation (the page's are :data:`STEPS`; fewer for a
            quick look at the layout).
        progress: progress bars.

    Returns:
        the catalogue (also written as ``<out>/microscope/catalogue.json``), with ``"bytes"``:
        the size of each asset file.
    """
    from PIL import Image

    from ..models import load_model

    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a folder path; got {_validate.describe(out)}")
    steps = _validate.positive_int(_validate.integer(steps, "steps"), "steps")
    out = Path(out)
    if not out.is_dir():
        raise ValueError(f"out must be an existing folder; got {str(out)!r}")
    assets = out / ASSETS
    assets.mkdir(exist_ok=True)
    model = load_model(WEIGHTS, device="cpu")
    weights = weights_record()
    t0 = time.perf_counter()
    units, sheets = records(model, progress=progress)
    t_records = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = {}
    for layer in LAYERS:
        count = sheets[layer].shape[0]
        vis = visualise(model, layer, list(range(count)), steps=steps, progress=progress)
        vis_name, patch_name = sprite_names(layer)
        Image.fromarray(_grid(vis, SPRITE_COLUMNS)).save(assets / vis_name, optimize=True)
        Image.fromarray(_grid(_patch_blocks(sheets[layer]), SPRITE_COLUMNS)).save(assets / patch_name,
                                                                                   optimize=True)
        files[layer] = {"vis": vis_name, "patches": patch_name, "units": count}
    t_vis = time.perf_counter() - t0
    catalogue = {
        "weights": weights,
        "data": {"function": "vizlib.toy_world", **DATA},
        "feature_vis": {"function": "vizlib.synthesis.feature_vis", "steps": steps, "seed": SEED,
                        "batch": BATCH, "pre_relu": True, "objective": "neuron", "param": "fourier",
                        "decorrelate": True, "transforms": True, "image_px": 64},
        "patches": {"function": "vizlib.activations.top_patches", "k": K, "px": PATCH_PX,
                    "per_row": 3},
        "dissection": {"function": "vizlib.dissection.dissect", "quantile": QUANTILE,
                       "cuts": list(CUTS)},
        "sprite_columns": SPRITE_COLUMNS,
        "layers": files,
        "units": units,
        "torch": torch.__version__,
    }
    (assets / CATALOGUE).write_text(json.dumps(catalogue, indent=1) + "\n", encoding="utf-8")
    (out / PAGE).write_text(page(catalogue), encoding="utf-8")
    sizes = {p.name: p.stat().st_size for p in sorted(assets.iterdir()) if p.is_file()}
    sizes[PAGE] = (out / PAGE).stat().st_size
    return {**catalogue, "bytes": sizes, "seconds": {"records": t_records, "visualisations": t_vis}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vizlib.microscope", description=(__doc__ or "The microscope of the course model.").split("\n")[0])
    parser.add_argument("--out", default="chapters", help="folder of the page (default: chapters)")
    parser.add_argument("--steps", type=int, default=STEPS,
                        help=f"Adam steps of each visualisation (default {STEPS}; fewer only for a quick look)")
    parser.add_argument("--page-only", action="store_true",
                        help="only rewrite the page from the stored catalogue.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not Path(args.out).is_dir():
        parser.error(f"--out must be an existing folder; got {args.out!r}")
    if args.page_only:
        print(f"wrote {write_page(args.out)}")
        return 0
    t0 = time.perf_counter()
    if args.steps < 1:
        parser.error(f"--steps must be a positive int; got {args.steps}")
    result = build(args.out, steps=args.steps, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    print(f"wrote {Path(args.out) / PAGE} and {Path(args.out) / ASSETS}/ ({len(result['units'])} units) "
          f"in {seconds:.0f} s (dissection and patches {result['seconds']['records']:.0f} s, "
          f"visualisations {result['seconds']['visualisations']:.0f} s)")
    for name, size in result["bytes"].items():
        print(f"  {name}: {size:,} bytes")
    print(f"  total: {sum(result['bytes'].values()):,} bytes")
    return 0


from .page import page, unit_id, write_page  # noqa: E402  (the page needs the names above)
