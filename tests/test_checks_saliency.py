import numpy as np
import pytest
import torch

from vizlib.checks import check_saliency_reduction


def _loop_reference(g):
    """Written as explicit loops over pixels, independently of the check's reference."""
    n, c, h, w = g.shape
    out = torch.empty(n, h, w)
    for i in range(n):
        for r in range(h):
            for s in range(w):
                out[i, r, s] = max(abs(float(g[i, k, r, s])) for k in range(c))
    return out


@pytest.mark.parametrize("fn", [
    lambda g: g.abs().amax(dim=1),
    lambda g: torch.max(g.abs(), dim=1).values,
    lambda g: torch.maximum(g.amax(1), -g.amin(1)),
    lambda g: np.abs(g.numpy()).max(axis=1),  # NumPy result
    _loop_reference,
], ids=["amax", "max-values", "max-of-max-and-minus-min", "numpy", "loops"])
def test_check_saliency_reduction_passes_correct_implementations(fn, capsys):
    err = check_saliency_reduction(fn)
    assert err <= 1e-6
    assert capsys.readouterr().out.startswith("PASS check_saliency_reduction")


def _in_place(g):
    return g.abs_().amax(dim=1)


@pytest.mark.parametrize("fn", [
    lambda g: g.amax(dim=1),                      # no absolute value
    lambda g: g.amax(dim=1).abs(),                # |max g| instead of max |g|
    lambda g: g.abs().mean(dim=1),                # mean over channels
    lambda g: g.abs().sum(dim=1),                 # sum over channels
    lambda g: g.norm(dim=1),                      # L2 norm over channels
    lambda g: g.abs().amax(dim=-1),               # wrong axis
    lambda g: g.abs().amax(dim=1, keepdim=True),  # (N, 1, H, W)
    lambda g: g[:, 0].abs(),                      # first channel only
    lambda g: torch.max(g.abs(), dim=1),          # (values, indices) tuple
    lambda g: g.abs().amax(dim=1) / g.abs().amax(),  # normalised to [0, 1]
    _in_place,                                    # right values, but modifies its input
], ids=["no-abs", "abs-of-max", "mean", "sum", "l2", "wrong-axis", "keepdim", "first-channel", "tuple",
        "normalised", "in-place"])
def test_check_saliency_reduction_fails_wrong_implementations(fn, capsys):
    with pytest.raises(AssertionError):
        check_saliency_reduction(fn)
    assert capsys.readouterr().out.startswith("FAIL check_saliency_reduction")


def test_check_saliency_reduction_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        check_saliency_reduction(torch.zeros(3))
