"""Self-checks of the deconvnet chapter: the backward rules of a ReLU."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _attr_fail, _as_array

__all__ = ["check_guided_relu_backward"]


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
