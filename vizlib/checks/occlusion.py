"""Self-checks of the occlusion chapter: the occlusion loop."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _as_array, _attr_fail, small_cnn


__all__ = ["check_occlusion_loop"]


def _occlusion_check_model():
    """A small fixed CNN for 16x16 images with 5 classes (built the same way on every call)."""
    return small_cnn(7, weight_scale=0.6, bias_scale=0.1, head="max")

#: (window, stride, target, image seed) cases of check_occlusion_loop; (16 - window) % stride == 0 in all.
_OCCLUSION_CASES = ((4, 4, 0, 1), (6, 2, 3, 2), (3, 1, 1, 3), (16, 1, 4, 4), (8, 8, 2, 5))


def _variant(model, image, target, window, stride, *, output="prob", size_delta=0, shift=0,
             cumulative=False, channels=None, baseline=0.0):
    """One typical wrong occlusion loop (a plain loop written independently of vizlib.attribution)."""
    _, h, w = image.shape
    rows, cols = range(0, h - window + 1, stride), range(0, w - window + 1, stride)
    grid = np.zeros((len(rows), len(cols)))
    with torch.no_grad():
        clean = model(image[None]).softmax(1)[0, target]
        work = image.clone()
        for i, r in enumerate(rows):
            for j, s in enumerate(cols):
                occluded = work if cumulative else image.clone()
                r0, s0 = r + shift, s + shift
                occluded[channels if channels is not None else slice(None),
                         r0:r0 + window + size_delta, s0:s0 + window + size_delta] = baseline
                logits = model(occluded[None])[0]
                if output == "logit":
                    grid[i, j] = logits[target]
                elif output == "drop":
                    grid[i, j] = clean - logits.softmax(0)[target]
                elif output == "log":
                    grid[i, j] = logits.log_softmax(0)[target]
                else:
                    grid[i, j] = logits.softmax(0)[target]
    return grid


#: (variant keyword arguments, what the mistake is) in the order they are tried.
_MISTAKES = (
    ({"output": "logit"}, "you stored the target's logit; store its softmax probability "
                          "(model(...).softmax(1)[0, target])."),
    ({"output": "log"}, "you stored the log-probability; store the softmax probability itself."),
    ({"output": "drop"}, "you stored the drop p(clean) - p(occluded); the grid holds the occluded "
                         "image's probability itself (map (d) of Zeiler and Fergus)."),
    ({"cumulative": True}, "the squares pile up: you occlude one copy again and again; make a fresh "
                           "copy of the image (image.clone()) for every position."),
    ({"size_delta": -1}, "your square is one pixel too small: the slice r:r + window covers "
                         "window pixels (no -1)."),
    ({"size_delta": 1}, "your square is one pixel too large: the slice r:r + window already "
                        "covers window pixels (no +1)."),
    ({"shift": 1}, "your square sits one pixel too far down and right: its top-left corner is "
                   "(i * stride, j * stride), starting at 0."),
    ({"channels": 0}, "you occluded only the first channel; set the square to 0 on every channel "
                      "(occluded[:, r:r + window, s:s + window])."),
    ({"baseline": 0.5}, "your square has the value 0.5; in normalised images the mean colour is 0."),
)


def _positions(h, window, stride):
    return len(range(0, h - window + 1, stride))


def check_occlusion_loop(fn) -> float:
    """Check ``fn(model, image, target, window, stride)``, the occlusion loop of Zeiler and Fergus.

    ``image`` is one normalised image (C, H, W); ``fn`` must return the (R, S) grid of the
    target class's softmax probability when the ``window`` x ``window`` square with top-left
    corner ``(i * stride, j * stride)`` is set to 0 on every channel, for
    ``i * stride <= H - window`` and ``j * stride <= W - window`` (every case here has
    ``(H - window) % stride == 0``), as ``vizlib.attribution.occlusion_grid(...).target_prob``.
    Five cases on a small fixed CNN with 16x16 images. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer, naming the mistake where it is a typical one (the
    image modified in place, logits or drops instead of probabilities, rows and columns
    swapped, a square or a range off by one, the wrong stride, squares piling up, ...).

    Example:
        >>> def my_occlusion_grid(model, image, target, window, stride):
        ...     grid = vizlib.attribution.occlusion_grid(model, image[None], target, window=window,
        ...                                              stride=stride, progress=False)
        ...     return grid.target_prob[0]
        >>> err = vizlib.checks.check_occlusion_loop(my_occlusion_grid)
        PASS check_occlusion_loop: max |error| 0 over 5 cases
    """
    from ..attribution import occlusion_grid

    name = "check_occlusion_loop"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, image, target, window, stride); got {type(fn).__name__}")
    hint = ("occlude a fresh copy of the image for every position (rows first, then columns), set the "
            "window to 0 on all channels, run the model on a batch of one, and keep the softmax probability "
            "of the target class (not the logit, not the drop).")
    model = _occlusion_check_model()
    pairs = []
    for case, (window, stride, target, seed) in enumerate(_OCCLUSION_CASES):
        image = torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(seed))
        original = image.clone()
        with torch.no_grad():
            got = fn(model, image, target, window, stride)
        if not torch.equal(image, original):
            _attr_fail(name, "your function modified the image in place; occlude a copy (image.clone()).")
        expected = occlusion_grid(model, original[None], target, window=window, stride=stride,
                                  progress=False).target_prob[0]
        where = f"case {case} (window {window}, stride {stride})"
        g = _as_array(got)
        n = _positions(16, window, stride)
        if g.shape != (n, n):
            if g.ndim != 2 or g.shape[0] != g.shape[1]:
                _attr_fail(name, f"{where}: the result has shape {g.shape}; return the 2-D grid of "
                                 f"positions, here ({n}, {n}).")
            m = g.shape[0]
            causes = {len(range(0, 16 - window, stride)): "you left out the last position: the square's "
                      "corner runs up to H - window inclusive, range(0, H - window + 1, stride).",
                      len(range(0, 16, stride)): "your square also starts where it no longer fits in the "
                      "image: stop at H - window, range(0, H - window + 1, stride).",
                      len(range(0, 16 - window + 1)): "you moved the square by 1 pixel; move it by "
                      "stride pixels, range(0, H - window + 1, stride).",
                      len(range(0, 16 - window + 1, window)): "you moved the square by window pixels; "
                      "move it by stride pixels."}
            causes.pop(n, None)
            _attr_fail(name, f"{where}: your grid is {m} x {m}, expected {n} x {n}; "
                             + causes.get(m, "count the positions r = 0, stride, 2 * stride, ... "
                                             "<= H - window."))
        if not np.allclose(g, _as_array(expected), atol=1e-5, rtol=1e-4):
            e = _as_array(expected)
            if np.allclose(g, 1.0, atol=1e-5):
                _attr_fail(name, f"{where}: every value is 1: the softmax ran over the batch of one "
                                 "(dim 0); take it over the classes (softmax(1) on (1, K) logits).")
            if np.allclose(g, e.T, atol=1e-5, rtol=1e-4):
                _attr_fail(name, f"{where}: rows and columns are swapped: grid[i, j] belongs to the square "
                                 "at row i * stride, column j * stride.")
            for kwargs, why in _MISTAKES:
                if np.allclose(g, _variant(model, original, target, window, stride, **kwargs),
                               atol=1e-5, rtol=1e-4):
                    _attr_fail(name, f"{where}: {why}")
            compare(name, [(got, expected)], atol=1e-5, rtol=1e-4, hint=f"{where}: {hint}")
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)
