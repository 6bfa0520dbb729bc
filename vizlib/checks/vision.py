"""Self-checks of the vision chapter: simple and complex cells, a Neocognitron S-cell."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _fail, _real_result

__all__ = ["check_simple_cell", "check_complex_cell", "check_s_cell"]


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


def _s_cell(u, a, c, b, r, *, sqrt=True, divisive=True, rectify=True, gain_front=True, flip=False,
            channel_sum=True):
    """Fukushima's S-cell on every valid window, with switchable mistakes (float64, private)."""
    u, a, c = u.double(), a.double(), c.double()
    if flip:
        a, c = a.flip(-2, -1), c.flip(-2, -1)
    k = a.shape[-1]
    patches = u.unfold(1, k, 1).unfold(2, k, 1)  # (K, H', W', k, k)
    dims = (0, 3, 4) if channel_sum else (3, 4)
    e = (a[:, None, None] * patches).sum(dims)
    v = (c[:, None, None] * patches ** 2).sum(dims)
    v = v.sqrt() if sqrt else v
    gain = r / (1 + r)
    inner = (1 + e) / (1 + gain * b * v) - 1 if divisive else e - gain * b * v
    inner = inner.clamp_min(0) if rectify else inner
    return gain * inner if gain_front else inner


def _s_cell_cases():
    """(u (K, H, W) >= 0, a (K, k, k) >= 0, c (K, k, k) >= 0 summing to 1, b, r); H != W, k = 3 or 5."""
    gen = torch.Generator().manual_seed(23)
    cases = []
    for n_in, h, w, k, r in ((1, 9, 8, 3, 1.0), (3, 10, 12, 3, 4.0), (2, 11, 9, 5, 0.5), (4, 8, 10, 3, 16.0)):
        u = torch.rand(n_in, h, w, generator=gen) ** 2
        c = torch.rand(n_in, k, k, generator=gen)
        c = c / c.sum()
        template = torch.rand(n_in, k, k, generator=gen)
        template[..., 0, :] = 0.0  # an asymmetric template: a flipped kernel shows
        a = 6.0 * c * template  # Fukushima's learning: a grows as c * (the training input)
        u = 0.4 * u
        u[:, 1:1 + k, 2:2 + k] = template  # the trained pattern, and a noisy copy of it
        u[:, h - k:, w - k:] = template + 0.3 * torch.rand(n_in, k, k, generator=gen)
        b = 6.0 * float((c * template ** 2).sum().sqrt())
        cases.append((u, a, c, b, r))
    return cases


def check_s_cell(fn) -> float:
    """Check ``fn(u, a, c, b, r)``, an S-cell of Fukushima's Neocognitron on every position.

    ``u`` (K, H, W) holds the K input maps (C-cells, non-negative), ``a`` (K, k, k) the
    excitatory weights, ``c`` (K, k, k) the fixed weights of the inhibitory V-cell, ``b`` its
    weight and ``r`` the selectivity. For every k x k window lying entirely inside the maps
    (no padding), ``fn`` must return ``r / (1 + r) * max(0, (1 + e) / (1 + r / (1 + r) * b * v) - 1)``
    with ``e = sum(a * patch)`` and ``v = sqrt(sum(c * patch ** 2))`` summed over all K maps
    and the window (a correlation, as ``Conv2d``): a tensor (H - k + 1, W - k + 1). Four
    cases. Prints PASS/FAIL; a failure names the mistake it recognises and raises
    ``AssertionError``.

    Example:
        >>> from vizlib.checks.vision import _s_cell
        >>> err = vizlib.checks.check_s_cell(lambda u, a, c, b, r: _s_cell(u, a, c, b, r))
        PASS check_s_cell: max |error| 0 over 4 cases
    """
    name = "check_s_cell"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(u, a, c, b, r); got {type(fn).__name__}")
    hint = ("for every window inside the maps, sum a * patch over all maps and the window (e), take "
            "v = sqrt(sum(c * patch ** 2)), divide 1 + e by 1 + r / (1 + r) * b * v, subtract 1, rectify and "
            "multiply by r / (1 + r).")
    mistakes = [
        (dict(sqrt=False), "the inhibition v has no square root; the V-cell is the weighted root mean square "
                           "sqrt(sum(c * patch ** 2))."),
        (dict(divisive=False), "the inhibition is subtracted; in the S-cell it divides (shunting inhibition): "
                               "(1 + e) / (1 + r / (1 + r) * b * v) - 1."),
        (dict(rectify=False), "the result has negative values; an S-cell cannot fire below zero: rectify with "
                              "max(0, .) before multiplying by r / (1 + r)."),
        (dict(gain_front=False), "the factor r / (1 + r) in front is missing (it scales the output, and the "
                                 "same factor multiplies b * v in the denominator)."),
        (dict(flip=True), "the weights are flipped (a true convolution); the S-cell matches the patch with "
                          "a and c as they are, like Conv2d (a correlation)."),
    ]
    pairs = []
    for i, (u, a, c, b, r) in enumerate(_s_cell_cases()):
        inputs = [t.clone() for t in (u, a, c)]
        got = _real_result(name, fn(u, a, c, b, r), hint)
        if not all(torch.equal(t, t0) for t, t0 in zip((u, a, c), inputs)):
            _fail(name, f"case {i}: your function changed u, a or c in place; work on copies.")
        expected = _s_cell(u, a, c, b, r).numpy()
        k = a.shape[-1]
        if got.shape != expected.shape:
            if got.shape == tuple(u.shape[1:]):
                _fail(name, f"case {i}: shape {got.shape} is the input's; keep only windows that lie entirely "
                            f"inside the maps (no padding): {expected.shape} for a {k}x{k} window.")
            if got.shape == (u.shape[0],) + expected.shape:
                _fail(name, f"case {i}: shape {got.shape}: one map per input plane; an S-cell sums over all "
                            f"K input maps and returns one map {expected.shape}.")
            if got.shape in ((expected.shape[0] - 1, expected.shape[1] - 1), (expected.shape[0] + 1, expected.shape[1] + 1)):
                _fail(name, f"case {i}: shape {got.shape}, expected {expected.shape}: off by one in the window "
                            f"loop; positions run from 0 to H - k inclusive.")
            _fail(name, f"case {i}: shape {got.shape}, expected {expected.shape}. {hint}")
        if not np.allclose(got, expected, atol=1e-5, rtol=1e-4):
            for kwargs, message in mistakes:
                wrong = _s_cell(u, a, c, b, r, **kwargs).numpy()
                if np.allclose(got, wrong, atol=1e-5, rtol=1e-4):
                    _fail(name, f"case {i}: {message}")
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)
