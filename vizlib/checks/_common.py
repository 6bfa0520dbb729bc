"""Shared parts of the self-checks: compare results, fail with a message."""
from __future__ import annotations

import numpy as np
import torch


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def compare(name: str, cases, *, atol: float = 1e-5, rtol: float = 1e-4, hint: str = "") -> float:
    """Compare (got, expected) pairs; print PASS/FAIL and raise AssertionError on a mismatch.

    Args:
        name: the check's name, printed in the verdict.
        cases: iterable of ``(got, expected)`` array-likes.
        atol, rtol: tolerances as in ``numpy.allclose``.
        hint: printed after a failure.

    Returns:
        The largest absolute error over all cases.
    """
    worst, n = 0.0, 0
    for i, (got, expected) in enumerate(cases):
        n += 1
        g, e = _as_array(got), _as_array(expected)
        if g.shape != e.shape:
            msg = f"FAIL {name}: case {i}: shape {g.shape}, expected {e.shape}. {hint}".strip()
            print(msg)
            raise AssertionError(msg)
        if not np.all(np.isfinite(g)):
            msg = f"FAIL {name}: case {i}: the result contains NaN or inf. {hint}".strip()
            print(msg)
            raise AssertionError(msg)
        err = float(np.max(np.abs(g - e))) if g.size else 0.0
        worst = max(worst, err)
        if not np.allclose(g, e, atol=atol, rtol=rtol):
            msg = f"FAIL {name}: case {i}: max |error| {err:.3g} (tolerance {atol:g}). {hint}".strip()
            print(msg)
            raise AssertionError(msg)
    print(f"PASS {name}: max |error| {worst:.2g} over {n} cases")
    return worst



def _fail(name: str, msg: str):
    text = f"FAIL {name}: {msg}"
    print(text)
    raise AssertionError(text)


def _real_result(name: str, got, hint: str):
    """Convert a student's result to a real float64 array, failing clearly on complex values."""
    if isinstance(got, torch.Tensor):
        if got.is_complex():
            _fail(name, f"the result is complex; {hint}")
        return got.detach().cpu().double().numpy()
    arr = np.asarray(got)
    if np.iscomplexobj(arr):
        _fail(name, f"the result is complex; {hint}")
    return arr.astype(np.float64)


_attr_fail = _fail


def small_cnn(seed: int, *, weight_scale: float, bias_scale: float = 0.1, head: str = "max",
              frozen: bool = False):
    """The small fixed CNN of the self-checks (3 -> 6 -> 8 channels, 5 classes), its weights drawn
    from a private generator (the same on every call; the global RNG is left alone).

    ``head="max"``: max pooling twice, for 16x16 images; ``head="avg"``: adaptive average pooling
    to 2x2, for any image size. ``frozen``: parameters without ``requires_grad``."""
    from torch import nn

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the layers' default initialisation draws from it
        if head == "max":
            tail = [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 5)]
        else:
            tail = [nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(8 * 2 * 2, 5)]
        model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), *tail)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (weight_scale if p.ndim > 1 else bias_scale))
    if frozen:
        for p in model.parameters():
            p.requires_grad_(False)
    return model.eval()
