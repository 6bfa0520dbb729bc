"""Self-checks of the evaluating chapter: the pointing game, the deletion curve."""
from __future__ import annotations

import numpy as np
import torch

from ._common import _fail, _real_result, compare, small_cnn


__all__ = ["check_pointing_game", "check_deletion_curve"]


def _pointing_cases():
    """Fixed inputs for check_pointing_game: (maps, masks) pairs with non-square maps, no ties."""
    gen = torch.Generator().manual_seed(8)
    cases = []
    # random maps with random rectangles as masks, H != W so that row/column mix-ups show
    maps = torch.rand(12, 8, 11, generator=gen)
    masks = torch.zeros(12, 8, 11, dtype=torch.bool)
    for i in range(12):
        r, c = torch.randint(0, 5, (2,), generator=gen).tolist()
        masks[i, r : r + 4, c : c + 6] = True
    cases.append((maps, masks))
    # hand-made: maximum at (1, 7); the mask holds it in image 0, its transposed-looking twin in image 1
    maps = torch.rand(2, 8, 11, generator=gen) * 0.5
    maps[:, 1, 7] = 1.0
    masks = torch.zeros(2, 8, 11, dtype=torch.bool)
    masks[0, 1, 7] = True
    masks[1, 7, 1] = True
    masks[1, 0:2, 0:3] = True
    cases.append((maps, masks))
    # one image whose minimum, not maximum, lies on the object; one whose maximum is negative
    maps = torch.rand(2, 6, 9, generator=gen) + 1.0
    maps[0, 2, 3], maps[0, 4, 8] = 0.0, 5.0
    maps[1] = -maps[1]
    masks = torch.zeros(2, 6, 9, dtype=torch.bool)
    masks[0, 2, 3] = True
    masks[1].view(-1)[maps[1].flatten().argmax()] = True
    cases.append((maps, masks))
    return cases


def check_pointing_game(fn) -> float:
    """Check ``fn(maps, masks)``, a pointing game, against :func:`vizlib.metrics.pointing_game`.

    ``fn`` takes maps (N, H, W) float and masks (N, H, W) bool and must return one
    hit per image, (N,) bool (or 0/1): True where the map's maximum lies inside
    the mask. Three fixed cases with non-square maps; prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> def my_pointing_game(maps, masks):
        ...     peak = maps.flatten(1).argmax(1)                  # (N,) index of each map's maximum
        ...     return masks.flatten(1)[torch.arange(len(peak)), peak]
        >>> err = vizlib.checks.check_pointing_game(my_pointing_game)
        PASS check_pointing_game: max |error| 0 over 3 cases
    """
    from ..metrics import pointing_game

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(maps, masks); got {type(fn).__name__}")
    pairs = []
    for maps, masks in _pointing_cases():
        got = fn(maps.clone(), masks.clone())
        if isinstance(got, torch.Tensor):
            got = got.detach().cpu().float()
        pairs.append((got, pointing_game(maps, masks).float()))
    hint = ("Return one True/False per image (shape (N,)), not the mean. Take the argmax of each "
            "flattened map (the maximum, not the minimum, not |map|), turn it into "
            "row = index // W and column = index % W, and look that pixel up in the mask.")
    return compare("check_pointing_game", pairs, atol=0, rtol=0, hint=hint)


def _deletion_check_model():
    """A small fixed CNN (any image size, 5 classes), built the same way on every call."""
    return small_cnn(5, weight_scale=0.7, bias_scale=0.2, head="avg")

#: (height, width, n_steps, seed) of check_deletion_curve: non-square images; in the second
#: case H * W / n_steps is not a whole number, so the pixel counts are rounded.
_DELETION_CASES = ((10, 12, 8, 1), (9, 11, 7, 2), (8, 8, 4, 3))


def _deletion_case(h, w, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 3, h, w, generator=gen) + 0.5  # the mean colour is 0, not the image's
    maps = torch.rand(4, h, w, generator=gen)          # no ties
    target = torch.tensor([0, 3, 1, 4])
    return x, target, maps


def _deletion_variant(model, x, target, maps, n_steps, *, order="descending", base="mean",
                      count="round", steps="all", score="softmax", area="trapezoid"):
    """The deletion curve with one thing done right or wrong (the check's mistakes)."""
    from ..metrics.causal import _gaussian_blur

    n, _, h, w = x.shape
    ranked = maps.flatten(1).argsort(1, descending=order == "descending")
    if base == "mean":
        fill = torch.zeros_like(x)
    elif base == "black":
        fill = x.amin((2, 3), keepdim=True).expand_as(x)
    else:  # "blur"
        fill = _gaussian_blur(x, h / 32)
    ks = range(n_steps + 1) if steps == "all" else range(n_steps) if steps == "no_last" \
        else range(1, n_steps + 1)
    counts = [round(k * h * w / n_steps) if count == "round" else k * (h * w // n_steps)
              for k in ks]
    curve = []
    with torch.no_grad():
        for c in counts:
            gone = torch.zeros(n, h * w, dtype=torch.bool)
            gone[torch.arange(n)[:, None], ranked[:, :c]] = True
            out = model(torch.where(gone.view(n, 1, h, w), fill, x))
            out = out.softmax(1) if score == "softmax" else out
            curve.append(out[torch.arange(n), target])
    curve = torch.stack(curve, 1)
    fractions = torch.tensor(counts, dtype=curve.dtype) / (h * w)
    if area == "trapezoid":
        auc = torch.trapezoid(curve, fractions, dim=1)
    elif area == "steps":  # over the step index 0..n_steps, not the fraction 0..1
        auc = torch.trapezoid(curve, dim=1)
    else:  # "mean": the mean of the points
        auc = curve.mean(1)
    return curve, auc


#: (keyword arguments of _deletion_variant, what that mistake is), tried in this order.
_DELETION_MISTAKES = (
    (dict(order="ascending"), "the pixels are deleted in ascending order of the map, least "
     "important first; sort descending (the most important pixel goes first)"),
    (dict(base="black"), "deleted pixels take the image's darkest value; the baseline is 0, the "
     "data set's mean colour in normalised space (as vizlib.metrics.deletion_curve's default)"),
    (dict(base="blur"), "deleted pixels take a blurred copy of the image; the baseline here is 0, "
     "the mean colour (baseline='mean')"),
    (dict(count="floor"), "the pixel count at step k is k * (H*W // n_steps); it must be "
     "round(k * H * W / n_steps), so that the last step deletes every pixel"),
    (dict(score="logit"), "the curve holds logits; record the softmax probability of the target"),
)
_AREA_MISTAKES = (
    (dict(area="steps"), "the area is not normalised: you integrated over the step index "
     "0..n_steps instead of the deleted fraction 0..1 (divide by n_steps, or integrate over "
     "count / (H*W))"),
    (dict(area="mean"), "the area is the mean of the curve's points; use the trapezoid rule over "
     "the deleted fraction (torch.trapezoid(curve, fractions))"),
)


def check_deletion_curve(fn) -> float:
    """Check ``fn(model, x, target, maps, n_steps)``, the deletion curve of Petsiuk et al.

    ``x`` (N, C, H, W) normalised images, ``target`` (N,) classes, ``maps`` (N, H, W).
    ``fn`` must return ``(curve, area)`` as :func:`vizlib.metrics.deletion_curve` does with
    its defaults: curve (N, n_steps + 1), the target's softmax probability after the
    ``round(k * H * W / n_steps)`` highest-ranked pixels (k = 0 .. n_steps) are set to 0 in
    every channel; area (N,), the trapezoid rule over the deleted fraction in [0, 1].
    Three cases on a small fixed CNN with non-square images; prints PASS/FAIL and names
    the mistake when it recognises it (ascending order, wrong baseline, off by one,
    unnormalised area, ...).

    Example:
        >>> err = vizlib.checks.check_deletion_curve(
        ...     lambda m, x, t, maps, k: vizlib.metrics.deletion_curve(m, x, t, maps, n_steps=k))
        PASS check_deletion_curve: max |error| 0 over 6 cases
    """
    from ..metrics import deletion_curve

    name = "check_deletion_curve"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, x, target, maps, n_steps); "
                        f"got {type(fn).__name__}")
    hint = ("Rank the pixels by the map, most important first; for k = 0 .. n_steps set the "
            "round(k * H * W / n_steps) first ones to 0 in every channel, record "
            "softmax(model(x))[i, target[i]]; area = torch.trapezoid(curve, deleted fraction).")
    model = _deletion_check_model()
    pairs = []
    for i, (h, w, n_steps, seed) in enumerate(_DELETION_CASES):
        x, target, maps = _deletion_case(h, w, seed)
        args = (x.clone(), target.clone(), maps.clone())
        got = fn(model, *args, n_steps)
        if not (torch.equal(args[0], x) and torch.equal(args[2], maps)):
            _fail(name, f"case {i}: your function modified x or maps in place; delete pixels in "
                        "a copy of x (x.clone(), or torch.where).")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            _fail(name, f"case {i}: return a pair (curve, area); got {type(got).__name__}")
        curve = _real_result(name, got[0], hint)
        auc = _real_result(name, got[1], hint)
        expected_curve, expected_area = deletion_curve(model, x, target, maps, n_steps=n_steps)
        if curve.shape != tuple(expected_curve.shape):
            if curve.shape == (x.shape[0], n_steps):
                _fail(name, f"case {i}: off by one: the curve has {n_steps} points; it has "
                            f"n_steps + 1 = {n_steps + 1}, from k = 0 (nothing deleted) to "
                            "k = n_steps (everything deleted).")
            _fail(name, f"case {i}: curve shape {curve.shape}, expected "
                        f"{tuple(expected_curve.shape)}. {hint}")
        close = dict(atol=1e-5, rtol=1e-4)
        if not np.allclose(curve, expected_curve.double().numpy(), **close):
            for kwargs, what in _DELETION_MISTAKES:
                wrong, _ = _deletion_variant(model, x, target, maps, n_steps, **kwargs)
                if np.allclose(curve, wrong.double().numpy(), **close):
                    _fail(name, f"case {i}: {what}.")
            if np.allclose(curve[:, 0], expected_curve[:, 0].double().numpy(), **close):
                _fail(name, f"case {i}: the curve starts right (nothing deleted) but goes wrong "
                            f"later. {hint}")
        pairs.append((curve, expected_curve))
        if auc.shape == tuple(expected_area.shape) and not np.allclose(
                auc, expected_area.double().numpy(), **close):
            for kwargs, what in _AREA_MISTAKES:
                _, wrong = _deletion_variant(model, x, target, maps, n_steps, **kwargs)
                if np.allclose(auc, wrong.double().numpy(), **close):
                    _fail(name, f"case {i}: {what}.")
        pairs.append((auc, expected_area))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)
