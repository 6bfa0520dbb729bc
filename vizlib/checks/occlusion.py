"""Self-checks of the occlusion chapter: the occlusion loop."""
from __future__ import annotations

import torch

from ._common import compare, _attr_fail

__all__ = ["check_occlusion_loop"]


def _occlusion_check_model():
    """A small fixed CNN for 16x16 images with 5 classes (built the same way on every call)."""
    from torch import nn

    gen = torch.Generator().manual_seed(7)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.6 if p.ndim > 1 else 0.1))
    return model.eval()


#: (window, stride, target, image seed) cases of check_occlusion_loop; (16 - window) % stride == 0 in all.
_OCCLUSION_CASES = ((4, 4, 0, 1), (6, 2, 3, 2), (3, 1, 1, 3), (16, 1, 4, 4), (8, 8, 2, 5))


def check_occlusion_loop(fn) -> float:
    """Check ``fn(model, image, target, window, stride)``, the occlusion loop of Zeiler and Fergus.

    ``image`` is one normalised image (C, H, W); ``fn`` must return the (R, S) grid of the
    target class's softmax probability when the ``window`` x ``window`` square with top-left
    corner ``(i * stride, j * stride)`` is set to 0 on every channel, for
    ``i * stride <= H - window`` and ``j * stride <= W - window`` (every case here has
    ``(H - window) % stride == 0``), as ``vizlib.attribution.occlusion_grid(...).target_prob``.
    Five cases on a small fixed CNN with 16x16 images. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

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
    for window, stride, target, seed in _OCCLUSION_CASES:
        image = torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(seed))
        original = image.clone()
        with torch.no_grad():
            got = fn(model, image, target, window, stride)
        if not torch.equal(image, original):
            _attr_fail(name, "your function modified the image in place; occlude a copy (image.clone()).")
        expected = occlusion_grid(model, original[None], target, window=window, stride=stride,
                                  progress=False).target_prob[0]
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)
