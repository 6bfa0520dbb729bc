"""Self-checks of the saliency chapter: reducing a gradient to a map."""
from __future__ import annotations

import torch

from ._common import compare

__all__ = ["check_saliency_reduction"]


def _saliency_reduction_cases():
    """Fixed gradients (N, C, H, W) for check_saliency_reduction, with H != W and mixed signs."""
    gen = torch.Generator().manual_seed(14)
    cases = [torch.randn(2, 3, 5, 7, generator=gen)]
    # hand-made: at (0, 0) the largest magnitude is negative (-3), at (0, 1) positive (2),
    # at (1, 0) all channels are negative, at (1, 1) all zero
    cases.append(torch.tensor([[[[-3.0, 2.0], [-1.0, 0.0]],
                                [[1.0, -0.5], [-2.0, 0.0]],
                                [[2.5, 1.5], [-0.5, 0.0]]]]))
    # one channel (a grey-scale model), mostly negative
    cases.append(torch.randn(3, 1, 4, 6, generator=gen) - 1.0)
    return cases


def check_saliency_reduction(fn) -> float:
    """Check ``fn(gradient)``, the saliency reduction of Simonyan et al. (2014).

    ``fn`` takes an input gradient (N, C, H, W) float tensor and must return the
    saliency map (N, H, W): for every pixel, the maximum over the channels of the
    gradient's absolute value, ``max_c |g[n, c, i, j]|``. It must not modify its
    argument. Three fixed cases; prints PASS/FAIL with the size of the error and
    raises ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().amax(dim=1))
        PASS check_saliency_reduction: max |error| 0 over 3 cases
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(gradient); got {type(fn).__name__}")
    hint = ("Take the absolute value first, then the maximum over the channel axis (dim=1): "
            "g.abs().amax(dim=1) has shape (N, H, W). Not the mean or sum over channels, not |max g| "
            "(a large negative gradient counts as much as a large positive one); torch.max(..., dim=1) "
            "returns (values, indices), so take .values.")
    pairs = []
    for i, g in enumerate(_saliency_reduction_cases()):
        arg = g.clone()
        got = fn(arg)
        if not torch.equal(arg, g):
            msg = (f"FAIL check_saliency_reduction: case {i}: your function changed its input gradient "
                   "(an in-place operation such as g.abs_()); compute on a copy (g.abs()).")
            print(msg)
            raise AssertionError(msg)
        if isinstance(got, (tuple, list)) and not isinstance(got, torch.Tensor):
            msg = (f"FAIL check_saliency_reduction: case {i}: got a {type(got).__name__}, expected one "
                   f"tensor (N, H, W). {hint}")
            print(msg)
            raise AssertionError(msg)
        pairs.append((got, g.abs().amax(dim=1)))
    return compare("check_saliency_reduction", pairs, atol=1e-6, rtol=1e-6, hint=hint)
