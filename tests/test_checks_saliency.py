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


# ------------------------------------------------------------------ check_smoothgrad
from vizlib.attribution import smoothgrad  # noqa: E402
from vizlib.checks import check_smoothgrad  # noqa: E402
from vizlib.checks.saliency import (  # noqa: E402
    _SMOOTHGRAD_CASES, _smoothgrad_case, _smoothgrad_check_model, _smoothgrad_variant)


def _reference_smoothgrad(model, x, target, noise, noise_level):
    n = x.shape[0]
    spread = x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3))
    sigma = (noise_level * spread).view(n, 1, 1, 1)
    total = torch.zeros_like(x)
    for eps in noise:
        noisy = (x.detach() + sigma * eps).requires_grad_(True)
        scores = model(noisy)[torch.arange(n), target]
        (grad,) = torch.autograd.grad(scores.sum(), noisy)
        total += grad
    return total / len(noise)


def _batched_smoothgrad(model, x, target, noise, noise_level):
    """Correct, written differently: all noisy copies in one batch, per-pixel loops for sigma."""
    s, n = noise.shape[:2]
    sigma = torch.stack([noise_level * (x[i].max() - x[i].min()) for i in range(n)])
    noisy = (x[None] + sigma.view(1, n, 1, 1, 1) * noise).reshape(s * n, *x.shape[1:])
    noisy.requires_grad_(True)
    model(noisy)[torch.arange(s * n), target.repeat(s)].sum().backward()
    return noisy.grad.view(s, *x.shape).mean(0)


def test_check_smoothgrad_passes_reference_and_batched_version(capsys):
    assert check_smoothgrad(_reference_smoothgrad) < 1e-5
    assert check_smoothgrad(_batched_smoothgrad) < 1e-5
    assert capsys.readouterr().out.count("PASS check_smoothgrad") == 2


def test_check_smoothgrad_expected_values_match_vizlib_smoothgrad():
    """The check's reference equals vizlib.attribution.smoothgrad when it draws the same noise."""
    model = _smoothgrad_check_model()
    for n_samples, level, seed in _SMOOTHGRAD_CASES:
        x, target, _ = _smoothgrad_case(n_samples, seed)
        noise = torch.randn((n_samples, *x.shape), generator=torch.Generator().manual_seed(3))
        ours = _smoothgrad_variant(model, x, target, noise, level)
        theirs = smoothgrad(model, x, target, n_samples=n_samples, noise_level=level, seed=3,
                            batch_size=n_samples * len(x))
        assert torch.allclose(ours, theirs, atol=1e-6)


def _first_only(model, x, target, noise, noise_level):
    return _reference_smoothgrad(model, x, target, noise[:1], noise_level)


def _in_place_smoothgrad(model, x, target, noise, noise_level):
    out = _reference_smoothgrad(model, x, target, noise, noise_level)
    x += 0.0 * x + 1.0
    return out


def _variant(**kwargs):
    return lambda m, x, t, e, lvl: _smoothgrad_variant(m, x, t, e, lvl, **kwargs)


@pytest.mark.parametrize("fn, words", [
    (_variant(spread="absolute"), "relative to the image's value range"),
    (_variant(spread="batch"), "whole batch"),
    (_variant(noise_on=False), "no noise"),
    (_variant(score="softmax"), "softmax probability"),
    (_variant(score="loss"), "cross-entropy loss"),
    (_variant(score="log_softmax"), "log-softmax"),
    (_variant(reduce="sum"), "summed"),
    (_variant(samples=slice(1, None)), "first noisy sample is missing"),
    (_variant(samples=slice(None, -1)), "last noisy sample is missing"),
    (_variant(value="abs"), "|gradient|"),
    (_variant(value="square"), "squared"),
    (lambda m, x, t, e, lvl: _reference_smoothgrad(m, x, t, e, lvl).abs().amax(1), "reduced map"),
    (_in_place_smoothgrad, "in place"),
], ids=["absolute-noise", "batch-range", "no-noise", "softmax", "loss", "log-softmax", "sum",
        "missing-first", "missing-last", "abs", "square", "reduced", "in-place"])
def test_check_smoothgrad_names_each_mistake(fn, words, capsys):
    with pytest.raises(AssertionError, match="FAIL check_smoothgrad") as err:
        check_smoothgrad(fn)
    assert words in str(err.value)
    assert capsys.readouterr().out.startswith("FAIL check_smoothgrad")


def test_check_smoothgrad_leaves_its_cases_unchanged():
    before = [_smoothgrad_case(s, seed) for s, _, seed in _SMOOTHGRAD_CASES]
    check_smoothgrad(_reference_smoothgrad)
    after = [_smoothgrad_case(s, seed) for s, _, seed in _SMOOTHGRAD_CASES]
    for b, a in zip(before, after):
        assert all(torch.equal(u, v) for u, v in zip(b, a))


def test_check_smoothgrad_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        check_smoothgrad("smoothgrad")
