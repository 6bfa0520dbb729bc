"""Self-checks of the vision chapter: simple and complex cells."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _real_result

__all__ = ["check_simple_cell", "check_complex_cell"]


def _cell_cases():
    """(stimuli (N, H, W), rfs (M, H, W)) with H != W, mixed-sign responses and one all-negative case."""
    from ..filters import gabor_function

    gen = torch.Generator().manual_seed(11)
    cases = [(torch.rand(6, 12, 10, generator=gen), torch.randn(3, 12, 10, generator=gen))]
    y, x = np.mgrid[0:16, 0:14] - np.array([7.5, 6.5])[:, None, None]
    rfs = torch.from_numpy(np.stack([gabor_function(x - d, y, sigma=2.5, theta=0.3, wavelength=6.0)
                                     for d in (-2, 0, 2)])).float()
    bars = torch.zeros(5, 16, 14)
    for i, col in enumerate((3, 5, 7, 9, 11)):
        bars[i, :, col : col + 2] = 1.0
    cases.append((bars, rfs))
    stim = torch.rand(4, 6, 5, generator=gen)
    cases.append((stim, -torch.rand(2, 6, 5, generator=gen)))  # every response negative before rectification
    return cases


def check_simple_cell(fn) -> float:
    """Check ``fn(stimuli, rf)``, a model simple cell: rectified linear response.

    ``fn`` takes stimuli (N, H, W) and a receptive field rf (H, W) and must return (N,):
    ``max(0, sum over pixels of rf * stimulus)`` for every stimulus, as
    :func:`vizlib.vision.simple_cell_response`. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_simple_cell(vizlib.vision.simple_cell_response)
        PASS check_simple_cell: max |error| 0 over 8 cases
    """
    from ..vision import simple_cell_response

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(stimuli, rf); got {type(fn).__name__}")
    hint = ("multiply each stimulus by the receptive field pixel by pixel, sum over both spatial axes "
            "(one number per stimulus), then rectify with max(0, .).")
    pairs = []
    for stimuli, rfs in _cell_cases():
        for rf in rfs:
            got = _real_result("check_simple_cell", fn(stimuli.clone(), rf.clone()), hint)
            pairs.append((got, simple_cell_response(stimuli, rf)))
    return compare("check_simple_cell", pairs, atol=1e-4, rtol=1e-4, hint=hint)


def check_complex_cell(fn) -> float:
    """Check ``fn(stimuli, rfs)``, a model complex cell: the maximum of simple cells.

    ``fn`` takes stimuli (N, H, W) and the receptive fields rfs (M, H, W) of M simple
    cells and must return (N,): ``max over m of max(0, sum(rfs[m] * stimulus))``, as
    :func:`vizlib.vision.complex_cell_response`. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_complex_cell(vizlib.vision.complex_cell_response)
        PASS check_complex_cell: max |error| 0 over 3 cases
    """
    from ..vision import complex_cell_response

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(stimuli, rfs); got {type(fn).__name__}")
    hint = ("compute every simple cell's rectified response max(0, sum(rf * s)) and take the maximum "
            "over the M cells (not the sum or the mean); the result has one value per stimulus.")
    pairs = []
    for stimuli, rfs in _cell_cases():
        got = _real_result("check_complex_cell", fn(stimuli.clone(), rfs.clone()), hint)
        pairs.append((got, complex_cell_response(stimuli, rfs)))
    return compare("check_complex_cell", pairs, atol=1e-4, rtol=1e-4, hint=hint)
