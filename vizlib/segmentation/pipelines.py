"""Saliency segmentation end to end, a threshold baseline, and IoU."""
from __future__ import annotations


import numpy as np
from scipy import ndimage
from .. import _validate
from ._common import SMOOTHNESS, _image, _map2d
from .parts import colour_costs, contrast_weights, graph_cut, seed_masks


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
    arr = _validate.array(mask, "mask")
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
    maps = _validate.array(saliency_maps, "saliency_maps")
    imgs = _validate.array(images, "images")
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
    m = _validate.array(saliency_map, "saliency_map")
    if m.ndim not in (2, 3):
        raise ValueError(f"saliency_map must have shape (H, W) or (N, H, W); got {m.shape}")
    q = _validate.fraction(quantile, "quantile")
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
    p, t = _validate.array(pred, "pred"), _validate.array(true, "true")
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
