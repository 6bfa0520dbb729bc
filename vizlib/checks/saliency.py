"""Self-checks of the saliency chapter: reducing a gradient to a map, the SmoothGrad loop."""
from __future__ import annotations

import numpy as np
import torch

from ._common import _fail, _real_result, compare, small_cnn


__all__ = ["check_saliency_reduction", "check_smoothgrad"]


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


def _smoothgrad_check_model():
    """A small fixed CNN (any image size, 5 classes), built the same way on every call."""
    return small_cnn(11, weight_scale=0.6, bias_scale=0.1, head="avg")

#: (n_samples, noise_level, image seed) of check_smoothgrad; the images of a case have
#: different value ranges, so that each image's range and the batch's range differ.
_SMOOTHGRAD_CASES = ((4, 0.15, 1), (6, 0.3, 2), (3, 0.1, 3))


def _smoothgrad_case(n_samples, seed):
    gen = torch.Generator().manual_seed(seed)
    scale = torch.tensor([0.5, 1.0, 2.5]).view(3, 1, 1, 1)
    x = torch.randn(3, 3, 10, 12, generator=gen) * scale  # (N, C, H, W), H != W
    target = torch.tensor([1, 4, 2])
    noise = torch.randn((n_samples, *x.shape), generator=gen)
    return x, target, noise


def _smoothgrad_variant(model, x, target, noise, noise_level, *, spread="image", score="logit",
                        noise_on=True, reduce="mean", samples=None, value="signed"):
    """SmoothGrad with one thing done right or wrong (the check's reference and its mistakes)."""
    n = x.shape[0]
    if spread == "image":
        sigma = (x.amax((1, 2, 3)) - x.amin((1, 2, 3))).view(n, 1, 1, 1) * noise_level
    elif spread == "batch":
        sigma = (x.max() - x.min()) * noise_level
    else:  # "absolute"
        sigma = torch.tensor(float(noise_level))
    used = noise if samples is None else noise[samples]
    grads = []
    for eps in used:
        xi = (x + sigma * eps if noise_on else x.clone()).requires_grad_(True)
        out = model(xi)
        if score == "softmax":
            out = out.softmax(1)
        elif score in ("log_softmax", "loss"):
            out = out.log_softmax(1) * (-1 if score == "loss" else 1)  # loss: cross-entropy
        (g,) = torch.autograd.grad(out[torch.arange(n), target].sum(), xi)
        grads.append(g.abs() if value == "abs" else g**2 if value == "square" else g)
    total = torch.stack(grads).sum(0)
    return total if reduce == "sum" else total / len(noise)


#: (keyword arguments of _smoothgrad_variant, what that mistake is), tried in this order.
_SMOOTHGRAD_MISTAKES = (
    (dict(spread="absolute"), "the noise's standard deviation is noise_level itself; it must be "
     "noise_level * (x.max() - x.min()) of each image (relative to the image's value range)"),
    (dict(spread="batch"), "the noise is scaled by the value range of the whole batch; take each "
     "image's own range, x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3)), shaped (N, 1, 1, 1)"),
    (dict(noise_on=False), "no noise reached the model: every gradient was taken at the clean "
     "image (add sigma * noise[s] to x for sample s)"),
    (dict(score="softmax"), "you averaged the gradient of the softmax probability; SmoothGrad "
     "averages the gradient of the class score, the logit model(x)[i, target[i]]"),
    (dict(score="log_softmax"), "you averaged the gradient of the log-softmax; SmoothGrad "
     "averages the gradient of the class score, the logit"),
    (dict(score="loss"), "you averaged the gradient of the cross-entropy loss; SmoothGrad "
     "averages the gradient of the class score, the logit (not of a loss)"),
    (dict(reduce="sum"), "you summed the gradients over the samples; divide by the number of "
     "samples (the mean)"),
    (dict(samples=slice(1, None)), "off by one: the first noisy sample is missing (loop over all "
     "noise[s], s = 0 .. n_samples - 1)"),
    (dict(samples=slice(None, -1)), "off by one: the last noisy sample is missing (loop over all "
     "noise[s], s = 0 .. n_samples - 1)"),
    (dict(value="abs"), "you averaged |gradient|; average the signed gradients (take the absolute "
     "value only afterwards, for the map)"),
    (dict(value="square"), "you averaged the squared gradients (SmoothGrad-Squared); average the "
     "signed gradients"),
)


def check_smoothgrad(fn) -> float:
    """Check ``fn(model, x, target, noise, noise_level)``, the SmoothGrad loop of Smilkov et al.

    ``x`` is a normalised batch (N, C, H, W), ``target`` (N,) class indices, ``noise``
    (S, N, C, H, W) standard normal samples. ``fn`` must return the (N, C, H, W) mean over
    s = 0 .. S-1 of the gradient of the target's logit ``model(x_s)[i, target[i]]`` at
    ``x_s = x + sigma * noise[s]``, where ``sigma = noise_level * (x[i].max() - x[i].min())``
    for image i, as in ``vizlib.attribution.smoothgrad``. It must not modify ``x``. Three
    cases on a small fixed CNN; prints PASS/FAIL and names the mistake when it recognises it.

    Example:
        >>> def my_smoothgrad(model, x, target, noise, noise_level):
        ...     spread = (x.amax((1, 2, 3)) - x.amin((1, 2, 3))).view(-1, 1, 1, 1)
        ...     grads = [vizlib.attribution.gradient(model, x + noise_level * spread * eps, target)
        ...              for eps in noise]
        ...     return torch.stack(grads).mean(0)
        >>> err = vizlib.checks.check_smoothgrad(my_smoothgrad)  # doctest: +ELLIPSIS
        PASS check_smoothgrad: max |error| ... over 3 cases
    """
    name = "check_smoothgrad"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, x, target, noise, noise_level); "
                        f"got {type(fn).__name__}")
    hint = ("For each sample s: x_s = x + sigma * noise[s] with sigma = noise_level * (each "
            "image's max - min); the gradient of model(x_s)[i, target[i]] (the logit) with "
            "respect to x_s; return the mean over the samples, shape (N, C, H, W).")
    model = _smoothgrad_check_model()
    pairs = []
    for i, (n_samples, level, seed) in enumerate(_SMOOTHGRAD_CASES):
        x, target, noise = _smoothgrad_case(n_samples, seed)
        args = (x.clone(), target.clone(), noise.clone())
        got = fn(model, *args, level)
        if not (torch.equal(args[0], x) and torch.equal(args[2], noise)):
            _fail(name, f"case {i}: your function modified x or noise in place; build each noisy "
                        "copy as a new tensor (x + sigma * noise[s]), never x += ...")
        expected = _smoothgrad_variant(model, x, target, noise, level)
        got_arr = _real_result(name, got, hint)
        if got_arr.shape != tuple(expected.shape):
            if got_arr.shape == (x.shape[0], *x.shape[2:]):
                _fail(name, f"case {i}: shape {got_arr.shape}: return the averaged gradient "
                            f"(N, C, H, W), not the reduced map. {hint}")
            _fail(name, f"case {i}: shape {got_arr.shape}, expected {tuple(expected.shape)}. {hint}")
        if not np.allclose(got_arr, expected.double().numpy(), atol=1e-5, rtol=1e-4):
            for kwargs, what in _SMOOTHGRAD_MISTAKES:
                wrong = _smoothgrad_variant(model, x, target, noise, level, **kwargs)
                if np.allclose(got_arr, wrong.double().numpy(), atol=1e-5, rtol=1e-4):
                    _fail(name, f"case {i}: {what}.")
        pairs.append((got_arr, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)
