"""Self-checks of the deconvnet chapter: the backward rules of a ReLU, and guided backpropagation
written with a custom ``torch.autograd.Function``."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _attr_fail, _as_array


__all__ = ["check_guided_relu_backward", "check_guided_backprop"]


def _relu_rule_cases():
    """(forward_input, grad_output) pairs with exact zeros, negatives and positives in both."""
    g = torch.Generator().manual_seed(11)
    small = (torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]), torch.tensor([1.0, -1.0, 2.0, -3.0, 0.5, 0.0]))
    x = torch.randn(2, 3, 5, 5, generator=g)
    grad = torch.randn(2, 3, 5, 5, generator=g)
    x[0, 0, 0, :3] = 0.0
    grad[1, 2, 4, 2:] = 0.0
    return [small, (x, grad)]


def check_guided_relu_backward(fn) -> float:
    """Check ``fn(forward_input, grad_output, rule)``: what a ReLU sends back under each rule.

    For ``y = max(x, 0)`` with ``x = forward_input`` and ``g = grad_output`` (any shape),
    ``fn`` must return, like :func:`vizlib.attribution.relu_backward`:

    - ``rule="backprop"``: ``g * [x > 0]``;
    - ``rule="deconvnet"``: ``max(g, 0)`` (the forward pass is ignored);
    - ``rule="guided"``: ``max(g, 0) * [x > 0]``;

    without modifying its arguments. Prints PASS/FAIL and raises ``AssertionError`` on a
    wrong answer.

    Example:
        >>> err = vizlib.checks.check_guided_relu_backward(vizlib.attribution.relu_backward)
        PASS check_guided_relu_backward: max |error| 0 over 6 cases
    """
    from ..attribution import RULES, relu_backward

    name = "check_guided_relu_backward"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(forward_input, grad_output, rule); got {type(fn).__name__}")
    hints = {
        "backprop": "backprop is the chain rule: keep g where the forward input x was > 0 (x = 0 counts as "
                    "inactive), zero elsewhere; the sign of g does not matter.",
        "deconvnet": "deconvnet rectifies the backward signal itself, max(g, 0), whatever x was in the forward "
                     "pass.",
        "guided": "guided backprop keeps g only where BOTH the forward input x > 0 AND g > 0 "
                  "(max(g, 0) * [x > 0]).",
    }
    pairs = []
    for rule in RULES:
        for x, g in _relu_rule_cases():
            x_in, g_in = x.clone(), g.clone()
            got = fn(x_in, g_in, rule)
            if not (torch.equal(x_in, x) and torch.equal(g_in, g)):
                _attr_fail(name, f"rule {rule!r}: your function modified its arguments in place; "
                                 "return a new tensor (no relu_, clamp_ or masked_fill_ on the inputs).")
            expected = relu_backward(x, g, rule)
            got_arr = _as_array(got)
            if got_arr.shape != tuple(expected.shape) or not np.allclose(got_arr, _as_array(expected), atol=1e-6):
                compare(name, [(got_arr, expected)], atol=1e-6, rtol=1e-6, hint=f"rule {rule!r}: {hints[rule]}")
            pairs.append((got_arr, expected))
    return compare(name, pairs, atol=1e-6, rtol=1e-6)


def _guided_check_model():
    """A small fixed CNN for 8x8 images with 5 classes, its ReLUs nested one level deep
    (one of them in-place), built the same way on every call."""
    from torch import nn

    gen = torch.Generator().manual_seed(5)
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.ReLU()),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.5 if p.ndim > 1 else 0.2))
    return model


def _model_state(model):
    """What a function must leave as it found it: module types, weights, flags, hooks."""
    from ..hooks import hook_count

    return ([type(m).__name__ for m in model.modules()],
            [p.detach().clone() for p in model.parameters()],
            [m.training for m in model.modules()],
            [p.requires_grad for p in model.parameters()],
            hook_count(model))


def _close(a, b, atol=1e-5):
    a, b = _as_array(a), _as_array(b)
    return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=1e-4)


def check_guided_backprop(fn) -> float:
    """Check ``fn(model, x, target)``: guided backpropagation with your own guided ReLU.

    ``x`` is a batch of normalised images (N, C, H, W) and ``target`` a (N,) tensor of class
    indices; ``fn`` must return the (N, C, H, W) gradient of each image's target *logit* with
    respect to ``x``, computed with the guided rule of Springenberg et al. at every ReLU
    (pass the backward signal only where the ReLU's forward input was > 0 and the signal
    is > 0), as :func:`vizlib.attribution.guided_backprop`. The caller's model (its modules,
    weights, training flags and ``requires_grad`` flags, no hook left behind) and ``x`` must
    come back unchanged. Two cases on a small fixed CNN whose ReLUs sit inside nested
    ``nn.Sequential`` blocks, one of them in-place; the second case hands over the model in
    training mode. Prints PASS/FAIL and raises ``AssertionError`` naming the mistake.

    Example:
        >>> err = vizlib.checks.check_guided_backprop(vizlib.attribution.guided_backprop)
        PASS check_guided_backprop: max |error| 0 over 2 cases
    """
    from torch import nn

    from ..attribution import deconvnet, gradient, guided_backprop

    name = "check_guided_backprop"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, x, target); got {type(fn).__name__}")
    pairs = []
    for case, (seed, target, train) in enumerate(((1, [1, 3], False), (2, [4, 0, 2], True))):
        model = _guided_check_model().train(train)
        x = torch.randn(len(target), 3, 8, 8, generator=torch.Generator().manual_seed(seed))
        target = torch.tensor(target)
        x_in, before = x.clone(), _model_state(model)
        got = fn(model, x_in, target.clone())
        after = _model_state(model)
        if after[0] != before[0]:
            _attr_fail(name, f"case {case}: your function replaced modules of the caller's model "
                             f"({sorted(set(after[0]) - set(before[0]))} appeared); swap the ReLUs in a "
                             "copy (copy.deepcopy(model)) and leave the caller's model alone.")
        if not all(torch.equal(a, b) for a, b in zip(after[1], before[1])):
            _attr_fail(name, f"case {case}: your function changed the caller's weights.")
        if after[2] != before[2] or after[3] != before[3]:
            _attr_fail(name, f"case {case}: your function changed the caller's model's training or "
                             "requires_grad flags (model.eval() or requires_grad_ on the caller's model); "
                             "change them on your copy only.")
        if after[4] != before[4]:
            _attr_fail(name, f"case {case}: your function left {after[4] - before[4]} hook(s) registered; "
                             "remove every hook you register (handle.remove() in a finally block).")
        if not torch.equal(x_in, x) or x_in.grad is not None:
            _attr_fail(name, f"case {case}: your function changed x or left a .grad on it; take the "
                             "gradient of a private copy (x.detach().clone().requires_grad_()).")
        if isinstance(got, torch.Tensor):
            got = got.detach()
        expected = guided_backprop(model, x, target)
        if not _close(got, expected):
            guesses = [
                (deconvnet(model, x, target), "it equals the deconvnet map: you rectified the backward "
                 "signal but forgot the forward mask [x > 0] of the guided rule."),
                (gradient(model, x, target), "it equals the plain gradient: the guided rule was never "
                 "applied (were the ReLUs replaced, also those inside nested blocks? does backward "
                 "clamp the signal at 0 as well as mask by the forward input?)."),
                (-expected, "it has the opposite sign: return d(logit)/dx, not its negative."),
                (guided_backprop(model, x, torch.zeros_like(target)), "it explains class 0 for every "
                 "image: use target[i] for image i."),
                (guided_backprop(nn.Sequential(model, nn.Softmax(1)), x, target),
                 "it explains the softmax probability: take the target's logit (the score before softmax)."),
                (guided_backprop(nn.Sequential(model, nn.LogSoftmax(1)), x, target),
                 "it explains the log-probability (a loss): take the target's logit."),
            ]
            with torch.no_grad():
                predicted = model(x).argmax(1)
            if not torch.equal(predicted, target):
                guesses.append((guided_backprop(model, x, predicted), "it explains the predicted class: "
                                "use the given target instead of the argmax."))
            for value, why in guesses:
                if _close(got, value):
                    _attr_fail(name, f"case {case}: {why}")
            compare(name, [(got, expected)], atol=1e-5, rtol=1e-4,
                    hint=f"case {case}: in backward return grad_output.clamp(min=0) * (x > 0) with x the "
                         "ReLU's forward input saved in forward; replace every nn.ReLU of a copy of the "
                         "model; take the gradient of the target logits' sum.")
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4)
