"""Self-checks of the single-units chapter: one unit's network-dissection IoU."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._common import _fail, compare

__all__ = ["check_unit_iou"]

#: (images N, map h, map w, concept H, concept W, concepts K, quantile, seed) of each case.
_IOU_CASES = (
    (12, 8, 8, 32, 32, 4, 0.05, 0),
    (30, 4, 4, 64, 64, 3, 0.02, 1),
    (16, 16, 16, 32, 32, 5, 0.005, 2),
    (10, 6, 5, 24, 20, 3, 0.1, 3),
)
#: Upsampled values closer than this (relative) to the threshold make a case ambiguous.
_MARGIN = 1e-4


def _threshold(acts: torch.Tensor, quantile: float) -> torch.Tensor:
    """The ``ceil(quantile * N * h * w)``-th largest value of ``acts`` (N, h, w)."""
    k = math.ceil(quantile * acts.numel())
    return acts.flatten().sort(descending=True).values[k - 1]


def _upsample(acts: torch.Tensor, size, mode="bilinear", align_corners=False) -> torch.Tensor:
    kw = {} if mode == "nearest" else {"align_corners": align_corners}
    return F.interpolate(acts[:, None], size=size, mode=mode, **kw)[:, 0]


def _iou(mask: torch.Tensor, concepts: torch.Tensor) -> torch.Tensor:
    """(K,) IoU over the data set of ``mask`` (N, H, W) bool with ``concepts`` (K, N, H, W) bool."""
    inter = (mask[None] & concepts).flatten(1).sum(1).double()
    union = (mask[None] | concepts).flatten(1).sum(1).double()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))


def _iou_case(n, h, w, big_h, big_w, k, quantile, seed):
    """Smooth random feature maps (N, h, w) float32 and K concepts (K, N, H, W) bool; the last
    concept is the unit's own top-quantile mask (its IoU is 1). Seeds are shifted until no
    upsampled value lies within ``_MARGIN`` of the threshold, so float32 and float64 agree."""
    for shift in range(100):
        gen = torch.Generator().manual_seed(1000 * seed + shift)
        acts = torch.randn(n, h + 2, w + 2, generator=gen)
        acts = F.avg_pool2d(acts[:, None], 3, stride=1)[:, 0] * 3 + 0.5   # spatially correlated
        up = _upsample(acts.double(), (big_h, big_w))
        t = _threshold(acts.double(), quantile)
        if ((up - t).abs() / t.abs().clamp_min(1e-12)).min() > _MARGIN:
            break
    noise = torch.randn(k - 1, n, 1, big_h // 4 + 2, big_w // 4 + 2, generator=gen)
    blobs = F.interpolate(noise.flatten(0, 1), size=(big_h, big_w), mode="bilinear",
                          align_corners=False).view(k - 1, n, big_h, big_w) > 0.8
    concepts = torch.cat([blobs, (up > t)[None]])
    return acts, concepts


def _iou_variants(acts, concepts, quantile):
    """The reference IoU (float64) and the IoUs that common mistakes give, name -> (K,) tensor."""
    a = acts.double()
    size = concepts.shape[-2:]
    t = _threshold(a, quantile)
    up = _upsample(a, size)
    per_image_t = torch.stack([_threshold(one[None], quantile) for one in a])
    per_image = [_iou(up[i:i + 1] > per_image_t[i], concepts[:, i:i + 1]) for i in range(len(a))]
    per_image_iou = torch.stack([
        _iou(up[i:i + 1] > t, concepts[:, i:i + 1]) for i in range(len(a))]).mean(0)
    return {
        "reference": _iou(up > t, concepts),
        "the threshold is one for the whole data set (the top quantile of all the unit's values "
        "over every image and position), not one per image": torch.stack(per_image).mean(0),
        "sum the intersections and the unions over the data set before dividing; do not average "
        "per-image IoUs": per_image_iou,
        "threshold at the top quantile (the largest values), not the bottom one":
            _iou(up > torch.quantile(a.flatten(), quantile), concepts),
        "take the ceil(quantile * N * h * w)-th largest value as the threshold; torch.quantile "
        "interpolates between two values": _iou(up > torch.quantile(a.flatten(), 1 - quantile), concepts),
        "upsample bilinearly (mode='bilinear'), not by repeating pixels (nearest)":
            _iou(_upsample(a, size, mode="nearest") > t, concepts),
        "use align_corners=False (Bau et al.'s and the library's upsampling)":
            _iou(_upsample(a, size, align_corners=True) > t, concepts),
        "upsample the raw activations first, then threshold them; not the thresholded map":
            _iou(_upsample((a > t).double(), size) > 0.5, concepts),
    }


def check_unit_iou(fn) -> float:
    """Check ``fn``, one unit's network-dissection IoU with each concept (Bau et al. 2017).

    ``fn(acts, concepts, quantile)`` gets one unit's feature maps ``acts`` (N, h, w) float32 over
    a data set of N images, the concept masks ``concepts`` (K, N, H, W) bool at image size, and
    the top quantile, and returns the (K,) IoU of the unit with each concept: the threshold ``T``
    is the ``ceil(quantile * N * h * w)``-th largest value of ``acts``; the unit's mask on each
    image is its map upsampled bilinearly to (H, W) (``F.interpolate(..., mode="bilinear",
    align_corners=False)``) and compared ``> T``; the IoU is the intersection summed over the
    images divided by the union summed over the images (0 where the union is empty). The reference
    is an independent float64 computation on four fixed cases; the last concept of every case is
    the unit's own mask, whose IoU is 1. Prints PASS/FAIL and raises ``AssertionError`` naming the
    mistake when it finds a typical one.

    Example:
        >>> import math
        >>> import torch.nn.functional as F
        >>> def my_iou(acts, concepts, quantile):
        ...     k = math.ceil(quantile * acts.numel())
        ...     t = acts.flatten().topk(k).values[-1]
        ...     up = F.interpolate(acts[:, None], size=concepts.shape[-2:], mode="bilinear",
        ...                        align_corners=False)[:, 0]
        ...     m = (up > t)[None]
        ...     inter = (m & concepts).flatten(1).sum(1)
        ...     union = (m | concepts).flatten(1).sum(1)
        ...     return inter.double() / union.clamp_min(1)
        >>> err = vizlib.checks.check_unit_iou(my_iou)
        PASS check_unit_iou: max |error| 0 over 4 cases
    """
    name = "check_unit_iou"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(acts, concepts, quantile); got {type(fn).__name__}")
    pairs, hint = [], ""
    for i, case in enumerate(_IOU_CASES):
        quantile = case[6]
        acts, concepts = _iou_case(*case)
        a0, c0 = acts.clone(), concepts.clone()
        got = fn(acts, concepts, quantile)
        if not (torch.equal(acts, a0) and torch.equal(concepts, c0)):
            _fail(name, f"case {i}: your function changed its input in place; work on copies.")
        if got is None:
            _fail(name, f"case {i}: fn returned None; return the IoU with each concept, shape (K,) "
                        f"= ({concepts.shape[0]},).")
        got = torch.as_tensor(got).detach().cpu().double()
        variants = _iou_variants(acts, concepts, quantile)
        expected = variants.pop("reference")
        close = lambda a, b: a.shape == b.shape and torch.allclose(a, b, atol=1e-6, rtol=1e-5)  # noqa: E731
        if not hint and not close(got, expected):
            hint = next((why for why, wrong in variants.items() if close(got, wrong)),
                        "the last concept of each case is the unit's own mask (IoU 1): check your "
                        "threshold and your mask on it first.")
            hint = "Hint: " + hint
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-6, rtol=1e-5, hint=hint)
