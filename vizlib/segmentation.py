"""From a saliency map to an object mask: seeds, colour models and a graph cut.

Simonyan et al. (2014, section 3.1) turn an image-specific class saliency map
into a segmentation without any segmentation training: the most salient pixels
(above the map's 95% quantile) are taken as foreground seeds, the least salient
(below its 30% quantile) as background seeds, colour models are estimated from
both, and a graph cut (Boykov and Jolly 2001, as in GrabCut, Rother et al. 2004)
propagates the labels to the rest of the image. This module implements that
pipeline in small parts, each usable on its own:

* :func:`seed_masks` - foreground/background seeds from the map's quantiles;
* :func:`colour_costs` - unary costs ``-log p(colour | fg or bg)`` from seed
  colour histograms;
* :func:`contrast_weights` - contrast-sensitive Potts weights between 4-neighbours;
* :func:`graph_cut` - the exact minimum of the binary energy below, by a
  minimum s-t cut (``scipy.sparse.csgraph.maximum_flow``);
* :func:`energy` - that energy, evaluated for a given labelling;
* :func:`largest_component` - the largest connected part of a mask, which the
  paper keeps as the object;
* :func:`saliency_segmentation` (one image) and :func:`saliency_segmentation_batch`
  (N images) - the whole pipeline;
* :func:`threshold_segmentation` - the baseline: keep the map's top pixels;
* :func:`iou` - intersection over union against a ground-truth mask.

The energy of a labelling ``L`` (True = foreground) is::

    E(L) = sum_p cost_fg[p] * L[p] + cost_bg[p] * (1 - L[p])
           + sum_{p~q} w[p, q] * [L[p] != L[q]]

over 4-connected neighbours ``p~q``; seeds can be imposed as hard constraints.

Masks are returned as NumPy bool arrays; maps and images may be NumPy arrays
or torch tensors.

Example:
    >>> sal = vizlib.attribution.saliency(model, vizlib.normalize(images, "course"), labels)
    >>> pred = saliency_segmentation_batch(sal, images)       # (8, 64, 64) bool
    >>> round(float(iou(pred, masks).mean()), 2)              # masks: the true object masks
    0.91
"""
from __future__ import annotations

import numbers

import numpy as np
import torch
from scipy import ndimage, sparse
from scipy.sparse import csgraph

__all__ = [
    "SMOOTHNESS", "colour_costs", "contrast_weights", "energy", "graph_cut", "iou", "largest_component",
    "saliency_segmentation", "saliency_segmentation_batch", "seed_masks", "threshold_segmentation",
]

_INT32_MAX = np.iinfo(np.int32).max
#: Default weight of the pairwise term of :func:`saliency_segmentation`: GrabCut's value
#: (Rother et al. 2004, gamma = 50), for unary costs in nats.
SMOOTHNESS = 50.0


# --------------------------------------------------------------------------- helpers


def _to_numpy(value, arg: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise TypeError(f"{arg} must be a NumPy array or a torch.Tensor; got {type(value).__name__}")


def _map2d(value, arg: str) -> np.ndarray:
    arr = _to_numpy(value, arg)
    if arr.ndim != 2:
        raise ValueError(f"{arg} must have shape (H, W); got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{arg} must not be empty; got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{arg} must hold real numbers; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{arg} must be finite; got NaN or infinite values")
    return arr


def _image(value, shape, arg: str = "image") -> np.ndarray:
    arr = _to_numpy(value, arg)
    if arr.ndim != 3 or arr.shape[0] not in (1, 3):
        raise ValueError(f"{arg} must have shape (3, H, W) or (1, H, W) in [0, 1]; got {arr.shape}")
    if arr.shape[1:] != tuple(shape):
        raise ValueError(f"{arg} must have the map's height and width {tuple(shape)}; got {arr.shape[1:]}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{arg} must be floating point in [0, 1]; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{arg} must lie in [0, 1] (the raw image, not the normalised model input)")
    return arr


def _fraction(value, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a number in (0, 1); got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"{arg} must lie strictly between 0 and 1; got {value}")
    return float(value)


def _non_negative(value, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a non-negative number; got {type(value).__name__}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{arg} must be a finite number >= 0; got {value}")
    return float(value)


def _positive_int(value, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{arg} must be >= 1; got {value}")
    return int(value)


def _mask(value, shape, arg: str) -> np.ndarray:
    arr = _to_numpy(value, arg)
    if arr.shape != tuple(shape):
        raise ValueError(f"{arg} must have shape {tuple(shape)}; got {arr.shape}")
    if arr.dtype != bool:
        raise ValueError(f"{arg} must be a bool mask; got dtype {arr.dtype}")
    return arr


# --------------------------------------------------------------------------- parts


def seed_masks(saliency_map, *, fg_quantile: float = 0.95, bg_quantile: float = 0.3):
    """Foreground and background seeds from the map's top and bottom quantiles.

    The foreground seeds are the ``1 - fg_quantile`` fraction of pixels with the
    highest saliency, the background seeds the ``bg_quantile`` fraction with the
    lowest (Simonyan et al. 2014 use 0.95 and 0.3). Seeds are chosen by rank, so
    the two sets never overlap and are never empty, even when the map has ties
    (ties are broken by pixel order, row by row).

    Args:
        saliency_map: (H, W) real array or tensor.
        fg_quantile: in (0, 1); pixels above this quantile are foreground seeds.
        bg_quantile: in (0, fg_quantile); pixels below it are background seeds.

    Returns:
        ``(fg, bg)``: two (H, W) bool arrays.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)       # (8, 64, 64)
        >>> fg, bg = seed_masks(sal[0], fg_quantile=0.95, bg_quantile=0.3)
        >>> fg.shape, int(fg.sum()), int(bg.sum())                     # 5% and 30% of 4096 pixels
        ((64, 64), 205, 1229)
    """
    m = _map2d(saliency_map, "saliency_map")
    hi, lo = _fraction(fg_quantile, "fg_quantile"), _fraction(bg_quantile, "bg_quantile")
    if lo >= hi:
        raise ValueError(f"bg_quantile must be smaller than fg_quantile; got bg_quantile={lo}, fg_quantile={hi}")
    n = m.size
    if n < 2:
        raise ValueError(f"saliency_map must have at least 2 pixels; got shape {m.shape}")
    n_fg = min(max(1, int(round((1 - hi) * n))), n - 1)
    n_bg = min(max(1, int(round(lo * n))), n - n_fg)
    order = np.argsort(m.ravel(), kind="stable")  # ascending; ties keep pixel order
    fg, bg = np.zeros(n, bool), np.zeros(n, bool)
    fg[order[n - n_fg:]] = True
    bg[order[:n_bg]] = True
    return fg.reshape(m.shape), bg.reshape(m.shape)


def colour_costs(image, fg_seeds, bg_seeds, *, bins: int = 8, prior: float = 1.0):
    """Unary costs ``-log p(colour | fg)`` and ``-log p(colour | bg)`` from seed histograms.

    Each colour model is a histogram of the seeds' colours with ``bins`` bins per
    channel (``bins**3`` colour cells for RGB), smoothed by adding ``prior`` to
    every cell (Boykov and Jolly 2001 use seed intensity histograms; GrabCut,
    Rother et al. 2004, uses Gaussian mixtures instead).

    Args:
        image: (3, H, W) or (1, H, W) float in [0, 1].
        fg_seeds, bg_seeds: (H, W) bool masks, each non-empty.
        bins: histogram bins per channel (>= 1).
        prior: pseudo-count added to every cell (> 0).

    Returns:
        ``(cost_fg, cost_bg)``: two (H, W) float arrays, >= 0 (nats): the cost of
        labelling each pixel foreground and background.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)
        >>> cost_fg, cost_bg = colour_costs(images[0], *seed_masks(sal[0]))
        >>> cost_fg.shape, cost_bg.shape
        ((64, 64), (64, 64))
    """
    first = _to_numpy(fg_seeds, "fg_seeds")
    shape = first.shape
    if len(shape) != 2:
        raise ValueError(f"fg_seeds must have shape (H, W); got {shape}")
    img = _image(image, shape)
    fg, bg = _mask(fg_seeds, shape, "fg_seeds"), _mask(bg_seeds, shape, "bg_seeds")
    if not fg.any() or not bg.any():
        raise ValueError("fg_seeds and bg_seeds must each hold at least one pixel")
    bins = _positive_int(bins, "bins")
    prior = _non_negative(prior, "prior")
    if prior == 0:
        raise ValueError("prior must be > 0 (a colour absent from the seeds would get an infinite cost)")
    idx = np.clip((img * bins).astype(np.int64), 0, bins - 1)  # (C, H, W) bin per channel
    cell = np.zeros(shape, np.int64)
    for channel in idx:
        cell = cell * bins + channel
    n_cells = bins ** img.shape[0]
    costs = []
    for seeds in (fg, bg):
        counts = np.bincount(cell[seeds], minlength=n_cells).astype(np.float64) + prior
        costs.append(-np.log(counts / counts.sum())[cell])
    return costs[0], costs[1]


def contrast_weights(image, *, smoothness: float = 1.0):
    """Contrast-sensitive Potts weights between 4-neighbours (Boykov and Jolly 2001; Rother et al. 2004).

    ``w[p, q] = smoothness * exp(-beta * ||I_p - I_q||^2)`` with
    ``beta = 1 / (2 * mean ||I_p - I_q||^2)`` over all neighbour pairs, so that a
    cut along a colour edge is cheap and a cut through a flat region is expensive.

    Args:
        image: (3, H, W) or (1, H, W) float in [0, 1].
        smoothness: the weight of the pairwise term (>= 0; 0 gives a per-pixel decision).

    Returns:
        ``(weight_right, weight_down)``: (H, W-1) weights between each pixel and its
        right neighbour, (H-1, W) between each pixel and the one below.

    Example:
        >>> w_right, w_down = contrast_weights(images[0], smoothness=2.0)
        >>> w_right.shape, w_down.shape
        ((64, 63), (63, 64))
    """
    arr = _to_numpy(image, "image")
    if arr.ndim != 3:
        raise ValueError(f"image must have shape (3, H, W) or (1, H, W) in [0, 1]; got {arr.shape}")
    img = _image(image, arr.shape[1:])
    lam = _non_negative(smoothness, "smoothness")
    d_right = ((img[:, :, 1:] - img[:, :, :-1]) ** 2).sum(0)
    d_down = ((img[:, 1:, :] - img[:, :-1, :]) ** 2).sum(0)
    mean = np.concatenate([d_right.ravel(), d_down.ravel()]).mean() if d_right.size + d_down.size else 0.0
    beta = 0.0 if mean == 0 else 1.0 / (2.0 * mean)
    return lam * np.exp(-beta * d_right), lam * np.exp(-beta * d_down)


def _check_terms(cost_fg, cost_bg, weight_right, weight_down):
    cf, cb = _map2d(cost_fg, "cost_fg"), _map2d(cost_bg, "cost_bg")
    h, w = cf.shape
    if cb.shape != (h, w):
        raise ValueError(f"cost_bg must have the shape of cost_fg {(h, w)}; got {cb.shape}")
    wr = _to_numpy(weight_right, "weight_right").astype(np.float64)
    wd = _to_numpy(weight_down, "weight_down").astype(np.float64)
    if wr.shape != (h, w - 1):
        raise ValueError(f"weight_right must have shape (H, W-1) = {(h, w - 1)}; got {wr.shape}")
    if wd.shape != (h - 1, w):
        raise ValueError(f"weight_down must have shape (H-1, W) = {(h - 1, w)}; got {wd.shape}")
    for name, a in (("cost_fg", cf), ("cost_bg", cb), ("weight_right", wr), ("weight_down", wd)):
        if not np.all(np.isfinite(a)) or (a.size and a.min() < 0):
            raise ValueError(f"{name} must be finite and >= 0")
    return cf, cb, wr, wd


def energy(labels, cost_fg, cost_bg, weight_right, weight_down) -> float:
    """The binary energy of a labelling (True = foreground), as :func:`graph_cut` minimises it.

    ``E = sum(cost_fg[L]) + sum(cost_bg[~L]) + sum of w over 4-neighbours with different labels``.

    Args:
        labels: (H, W) bool.
        cost_fg, cost_bg: (H, W) non-negative costs of the two labels.
        weight_right: (H, W-1) and weight_down: (H-1, W) non-negative pair weights.

    Example:
        >>> cost_fg, cost_bg = np.array([[0.0, 2.0]]), np.array([[3.0, 1.0]])   # a 1 x 2 image
        >>> w_right, w_down = np.array([[2.0]]), np.zeros((0, 2))
        >>> energy(np.array([[True, False]]), cost_fg, cost_bg, w_right, w_down)   # 0 + 1 + 2
        3.0
    """
    cf, cb, wr, wd = _check_terms(cost_fg, cost_bg, weight_right, weight_down)
    lab = _mask(labels, cf.shape, "labels")
    unary = cf[lab].sum() + cb[~lab].sum()
    pair = wr[lab[:, 1:] != lab[:, :-1]].sum() + wd[lab[1:, :] != lab[:-1, :]].sum()
    return float(unary + pair)


def graph_cut(cost_fg, cost_bg, weight_right, weight_down, *, fg_seeds=None, bg_seeds=None,
              resolution: float = 100.0) -> np.ndarray:
    """The labelling of minimum :func:`energy`, by a minimum s-t cut (Boykov and Jolly 2001).

    The graph has one node per pixel plus a source (foreground) and a sink
    (background): an edge source -> p of capacity ``cost_bg[p]`` (cut when p ends
    up background), p -> sink of capacity ``cost_fg[p]`` and, both ways between
    4-neighbours, ``w[p, q]``. A cut's capacity equals the energy of the labelling
    it induces, so the minimum cut, found by ``scipy.sparse.csgraph.maximum_flow``
    and a search of the residual graph from the source, is the minimum energy.
    The solver needs integer capacities: every term is multiplied by
    ``resolution`` and rounded, so the result is exact for energies on a grid of
    ``1 / resolution`` (integer costs with ``resolution=1``) and otherwise optimal
    up to that rounding. Seeds are hard constraints, imposed with a capacity
    ``K = 1 + max_p sum_q w[p, q]`` as in the paper. Among several minima the
    one with the fewest foreground pixels is returned.

    Args:
        cost_fg, cost_bg: (H, W) non-negative costs of labelling each pixel
            foreground / background.
        weight_right: (H, W-1), weight_down: (H-1, W): non-negative pair weights.
        fg_seeds, bg_seeds: optional (H, W) bool masks of pixels forced to
            foreground / background (they must not overlap).
        resolution: integer units per unit of energy (> 0).

    Returns:
        (H, W) bool array, True on the foreground.

    Example:
        >>> cost_fg, cost_bg = np.array([[0.0, 2.0]]), np.array([[3.0, 1.0]])   # a 1 x 2 image
        >>> graph_cut(cost_fg, cost_bg, np.array([[2.0]]), np.zeros((0, 2)))   # energy 2, not 3
        array([[ True,  True]])
    """
    cf, cb, wr, wd = _check_terms(cost_fg, cost_bg, weight_right, weight_down)
    h, w = cf.shape
    if (isinstance(resolution, bool) or not isinstance(resolution, numbers.Real)
            or not np.isfinite(resolution) or resolution <= 0):
        raise ValueError(f"resolution must be a finite number > 0; got {resolution!r}")
    fg = np.zeros((h, w), bool) if fg_seeds is None else _mask(fg_seeds, (h, w), "fg_seeds")
    bg = np.zeros((h, w), bool) if bg_seeds is None else _mask(bg_seeds, (h, w), "bg_seeds")
    if (fg & bg).any():
        raise ValueError("fg_seeds and bg_seeds must not overlap")

    as_int = lambda a: np.rint(a * resolution).astype(np.int64)  # noqa: E731
    src, snk, wr_i, wd_i = as_int(cb), as_int(cf), as_int(wr), as_int(wd)
    # hard constraints: a seed labelled against its seed type costs K, more than it could ever save
    around = np.zeros((h, w), np.int64)
    around[:, 1:] += wr_i
    around[:, :-1] += wr_i
    around[1:, :] += wd_i
    around[:-1, :] += wd_i
    k = 1 + int(around.max())
    src = np.where(fg, k, np.where(bg, 0, src))
    snk = np.where(bg, k, np.where(fg, 0, snk))
    # only the difference of the two terminal capacities matters: keep the smaller at zero
    common = np.minimum(src, snk)
    src, snk = src - common, snk - common
    # every capacity, and the flow value (at most the capacity out of the source), must fit in int32
    largest = max(k, src.max(), snk.max(), wr_i.max(initial=0), wd_i.max(initial=0))
    if largest > _INT32_MAX or min(int(src.sum()), int(snk.sum())) > _INT32_MAX:
        raise ValueError(
            f"the energy is too large for the solver's 32-bit capacities at resolution={resolution}; "
            "lower resolution or scale the costs down"
        )

    n = h * w
    source, sink = n, n + 1
    pix = np.arange(n).reshape(h, w)
    rows = [np.full(n, source), pix.ravel(), pix[:, :-1].ravel(), pix[:, 1:].ravel(),
            pix[:-1, :].ravel(), pix[1:, :].ravel()]
    cols = [pix.ravel(), np.full(n, sink), pix[:, 1:].ravel(), pix[:, :-1].ravel(),
            pix[1:, :].ravel(), pix[:-1, :].ravel()]
    caps = [src.ravel(), snk.ravel(), wr_i.ravel(), wr_i.ravel(), wd_i.ravel(), wd_i.ravel()]
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(caps)
    keep = v > 0
    capacity = sparse.csr_matrix((v[keep].astype(np.int32), (r[keep], c[keep])), shape=(n + 2, n + 2))
    capacity.sum_duplicates()
    flow = csgraph.maximum_flow(capacity, source, sink).flow
    residual = (capacity - flow).tocsr()
    residual.data[residual.data < 0] = 0  # cannot happen for a valid flow; guards the search below
    residual.eliminate_zeros()
    reached = csgraph.breadth_first_order(residual, source, directed=True, return_predecessors=False)
    labels = np.zeros(n + 2, bool)
    labels[reached] = True
    return labels[:n].reshape(h, w)


# --------------------------------------------------------------------------- pipelines


def largest_component(mask) -> np.ndarray:
    """The largest 4-connected component of a bool mask (all False if the mask is empty).

    Simonyan et al. (2014) keep only this component of the graph-cut foreground.
    Among components of equal size, the first in row-major order wins.

    Args:
        mask: (H, W) bool array or tensor.

    Returns:
        (H, W) bool array.

    Example:
        >>> largest_component(np.array([[True, False, True, True]]))
        array([[False, False,  True,  True]])
    """
    arr = _to_numpy(mask, "mask")
    if arr.ndim != 2 or arr.dtype != bool:
        raise ValueError(f"mask must be an (H, W) bool mask; got shape {arr.shape}, dtype {arr.dtype}")
    labelled, n = ndimage.label(arr)  # 4-connectivity by default
    if n == 0:
        return np.zeros(arr.shape, bool)
    sizes = np.bincount(labelled.ravel())[1:]
    return labelled == 1 + int(np.argmax(sizes))


def saliency_segmentation(saliency_map, image, *, fg_quantile: float = 0.95, bg_quantile: float = 0.3,
                          smoothness: float = SMOOTHNESS, bins: int = 8, hard_seeds: bool = False,
                          largest_only: bool = True) -> np.ndarray:
    """Segment the object that a saliency map points at (Simonyan et al. 2014, section 3.1).

    Seeds from the map's quantiles (:func:`seed_masks`), colour models from the
    seeds (:func:`colour_costs`), contrast-sensitive smoothness
    (:func:`contrast_weights`), the minimum-energy labelling by a graph cut
    (:func:`graph_cut`, Boykov and Jolly 2001; Rother et al. 2004), and, as in
    the paper, only the largest connected component of the foreground
    (:func:`largest_component`). As in the paper, the seeds only estimate the
    colour models by default (``hard_seeds=False``).

    Args:
        saliency_map: (H, W) real array or tensor (for example one map of
            ``vizlib.attribution.saliency``).
        image: (3, H, W) float in [0, 1], the image the map explains (not the
            normalised model input).
        fg_quantile, bg_quantile: seed quantiles, ``0 < bg_quantile < fg_quantile < 1``.
        smoothness: weight of the pairwise term (>= 0).
        bins: colour-histogram bins per channel.
        hard_seeds: if True, seeds keep their label (hard constraints); if False
            (the paper's choice) they only shape the colour models, and the cut
            may relabel them.
        largest_only: keep only the largest 4-connected foreground component.

    Returns:
        (H, W) bool array, True on the object.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)
        >>> mask = saliency_segmentation(sal[0], images[0])
        >>> mask.shape, mask.dtype
        ((64, 64), dtype('bool'))
    """
    m = _map2d(saliency_map, "saliency_map")
    img = _image(image, m.shape)
    for name, flag in (("hard_seeds", hard_seeds), ("largest_only", largest_only)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool; got {type(flag).__name__}")
    fg, bg = seed_masks(m, fg_quantile=fg_quantile, bg_quantile=bg_quantile)
    cost_fg, cost_bg = colour_costs(img, fg, bg, bins=bins)
    w_right, w_down = contrast_weights(img, smoothness=smoothness)
    seeds = dict(fg_seeds=fg, bg_seeds=bg) if hard_seeds else {}
    mask = graph_cut(cost_fg, cost_bg, w_right, w_down, **seeds)
    return largest_component(mask) if largest_only else mask


def saliency_segmentation_batch(saliency_maps, images, *, progress: bool = False, **options) -> np.ndarray:
    """:func:`saliency_segmentation` for each of N maps and images.

    Args:
        saliency_maps: (N, H, W) real array or tensor.
        images: (N, 3, H, W) float in [0, 1].
        progress: show a progress bar (``tqdm.auto``).
        **options: passed to :func:`saliency_segmentation` (``fg_quantile``,
            ``bg_quantile``, ``smoothness``, ``bins``, ``hard_seeds``, ``largest_only``).

    Returns:
        (N, H, W) bool array.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)
        >>> saliency_segmentation_batch(sal, images, smoothness=2.0).shape
        (8, 64, 64)
    """
    maps = _to_numpy(saliency_maps, "saliency_maps")
    imgs = _to_numpy(images, "images")
    if maps.ndim != 3:
        raise ValueError(f"saliency_maps must have shape (N, H, W); got {maps.shape}")
    if imgs.ndim != 4 or imgs.shape[0] != maps.shape[0] or imgs.shape[2:] != maps.shape[1:]:
        raise ValueError(f"images must have shape (N, 3, H, W) = (N, 3) + {maps.shape[1:]} with N={maps.shape[0]}; "
                         f"got {imgs.shape}")
    from tqdm.auto import tqdm

    out = np.zeros(maps.shape, bool)
    for i in tqdm(range(maps.shape[0]), disable=not progress, desc="segmentation"):
        out[i] = saliency_segmentation(maps[i], imgs[i], **options)
    return out


def threshold_segmentation(saliency_map, quantile: float = 0.7) -> np.ndarray:
    """The baseline: foreground where the map reaches its ``quantile`` (per map).

    Args:
        saliency_map: (H, W) or (N, H, W) real array or tensor.
        quantile: in (0, 1); e.g. 0.7 keeps the top 30% of each map's pixels
            (more where there are ties at the threshold).

    Returns:
        Bool array of the map's shape.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)
        >>> baseline = threshold_segmentation(sal, 0.7)
        >>> baseline.shape, round(float(baseline.mean()), 2)      # the top 30% of every map
        ((8, 64, 64), 0.3)
    """
    m = _to_numpy(saliency_map, "saliency_map")
    if m.ndim not in (2, 3):
        raise ValueError(f"saliency_map must have shape (H, W) or (N, H, W); got {m.shape}")
    q = _fraction(quantile, "quantile")
    maps = [_map2d(mi, "saliency_map") for mi in (m[None] if m.ndim == 2 else m)]
    out = np.stack([mi >= np.quantile(mi, q) for mi in maps]) if maps else np.zeros(m.shape, bool)
    return out[0] if m.ndim == 2 else out


def iou(pred, true):
    """Intersection over union of bool masks: ``|pred & true| / |pred | true|``.

    Two empty masks agree perfectly: their IoU is defined as 1.

    Args:
        pred, true: (H, W) or (N, H, W) bool arrays or tensors of the same shape.

    Returns:
        A float for (H, W) masks, an (N,) float array for (N, H, W) masks.

    Example:
        >>> iou(np.array([[True, True, False]]), np.array([[True, False, False]]))
        0.5
    """
    p, t = _to_numpy(pred, "pred"), _to_numpy(true, "true")
    if p.ndim not in (2, 3):
        raise ValueError(f"pred must have shape (H, W) or (N, H, W); got {p.shape}")
    if t.shape != p.shape:
        raise ValueError(f"true must have the shape of pred {p.shape}; got {t.shape}")
    for name, a in (("pred", p), ("true", t)):
        if a.dtype != bool:
            raise ValueError(f"{name} must be a bool mask; got dtype {a.dtype}")
    axes = (-2, -1)
    inter = (p & t).sum(axis=axes).astype(np.float64)
    union = (p | t).sum(axis=axes).astype(np.float64)
    out = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(out) if p.ndim == 2 else out
