"""The backward rules of a ReLU (backprop, deconvnet, guided) and the mode that applies them to
every rectifier of a forward pass, modules and functional calls alike."""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode



#: Springenberg et al.'s guided backpropagation.
RULES = ("backprop", "deconvnet", "guided")


class UnsupportedActivationError(ValueError):
    """The model applies an activation for which deconvnet/guided backprop has no rule."""




# --------------------------------------------------------------------------- ReLU rules


def relu_backward(forward_input: torch.Tensor, grad_output: torch.Tensor, rule: str = "backprop", *,
                  upper: float | None = None) -> torch.Tensor:
    """The gradient a ReLU sends back under each of the three rules.

    For a ReLU ``y = max(x, 0)`` with incoming gradient ``g = dL/dy``:

    - ``"backprop"``: ``g * [x > 0]`` (the chain rule);
    - ``"deconvnet"``: ``max(g, 0)``, ignoring the forward pass (Zeiler and Fergus 2014);
    - ``"guided"``: ``max(g, 0) * [x > 0]`` (Springenberg et al. 2015).

    Args:
        forward_input: ``x``, the ReLU's input in the forward pass, any shape.
        grad_output: ``g``, same shape.
        rule: one of :data:`RULES`.
        upper: for ReLU6-like clipping ``min(max(x, 0), upper)``: the forward gate
            becomes ``[0 < x < upper]``.

    Example:
        >>> relu_backward(torch.tensor([-1., 2., 3.]), torch.tensor([5., -4., 1.]), "guided")
        tensor([0., 0., 1.])
    """
    _check_rule(rule)
    if not isinstance(forward_input, torch.Tensor) or not isinstance(grad_output, torch.Tensor):
        raise TypeError("forward_input and grad_output must be tensors")
    if forward_input.shape != grad_output.shape:
        raise ValueError(f"grad_output must have the shape of forward_input {tuple(forward_input.shape)}; "
                         f"got {tuple(grad_output.shape)}")
    gate = forward_input > 0
    if upper is not None:
        gate = gate & (forward_input < upper)
    if rule == "backprop":
        return grad_output * gate
    if rule == "deconvnet":
        return grad_output.clamp(min=0)
    return grad_output.clamp(min=0) * gate


class _RectifierWithRule(torch.autograd.Function):
    """``clamp(x, 0, upper)`` forward, out of place; backward by :func:`relu_backward`.

    The output ``y`` is saved instead of ``x`` (``y > 0`` exactly where ``x > 0``, and
    ``y < upper`` exactly where ``x < upper``), so an in-place ReLU may overwrite ``x``.
    """

    @staticmethod
    def forward(ctx, x, rule, upper):
        ctx.rule, ctx.upper = rule, upper
        y = x.clamp(min=0) if upper is None else x.clamp(0, upper)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return relu_backward(y, grad, ctx.rule, upper=ctx.upper), None, None


def _arg(args, kwargs, i, name, default):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


_RELU_FUNCS = {F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
_THRESHOLD_FUNCS = {F.threshold, torch.threshold, torch.threshold_, F.threshold_}
_HARDTANH_FUNCS = {F.hardtanh, F.hardtanh_, torch._C._nn.hardtanh, torch._C._nn.hardtanh_}
_RELU6_FUNCS = {F.relu6}
_INPLACE_FUNCS = {torch.relu_, torch.Tensor.relu_, torch.threshold_, F.threshold_, F.hardtanh_,
                  torch._C._nn.hardtanh_}
_OTHER_ACTIVATIONS = {
    F.silu: "SiLU", F.gelu: "GELU", F.hardswish: "Hardswish", F.hardsigmoid: "Hardsigmoid",
    F.elu: "ELU", F.elu_: "ELU", F.selu: "SELU", F.celu: "CELU", F.leaky_relu: "LeakyReLU",
    F.leaky_relu_: "LeakyReLU", F.prelu: "PReLU", F.rrelu: "RReLU", F.mish: "Mish", F.softplus: "Softplus",
    F.glu: "GLU", torch._C._nn.gelu: "GELU", torch._C._nn.silu: "SiLU", torch._C._nn.hardswish: "Hardswish",
    torch._C._nn.elu: "ELU", torch._C._nn.leaky_relu: "LeakyReLU", torch._C._nn.softplus: "Softplus",
    torch._C._nn.mish: "Mish", torch.prelu: "PReLU", torch.selu: "SELU", torch.celu: "CELU",
    torch.rrelu: "RReLU",
}
# ATen ops that mean a rectifier or another activation ran without our rule.
_ESCAPED_ATEN = {
    "relu", "relu_", "threshold", "threshold_", "hardtanh", "hardtanh_", "silu", "silu_", "gelu", "gelu_",
    "hardswish", "hardswish_", "hardsigmoid", "hardsigmoid_", "elu", "elu_", "leaky_relu", "leaky_relu_",
    "_prelu_kernel", "prelu", "rrelu_with_noise", "mish", "mish_", "softplus", "glu", "celu", "selu",
}


_INTERCEPTED = _RELU_FUNCS | _THRESHOLD_FUNCS | _HARDTANH_FUNCS | _RELU6_FUNCS | set(_OTHER_ACTIVATIONS)


def _unsupported(name: str, rule: str):
    return UnsupportedActivationError(
        f"the {rule} backward rule is defined for ReLU (and ReLU6) only, but the model applies {name}; "
        "use gradient(), grad_cam() or occlusion() for this model, or replace its activations by ReLU"
    )


class _RuleMode(TorchFunctionMode):
    """During the forward pass, replace every ReLU call by :class:`_RectifierWithRule`."""

    def __init__(self, rule: str):
        super().__init__()
        self.rule = rule
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            known = func in _INTERCEPTED
        except TypeError:  # unhashable callable
            known = False
        if not known:
            return func(*args, **kwargs)
        x = args[0] if args else kwargs["input"]
        upper = None
        inplace = func in _INPLACE_FUNCS
        if func in _RELU_FUNCS:
            inplace = inplace or bool(_arg(args, kwargs, 1, "inplace", False))
        elif func in _THRESHOLD_FUNCS:
            threshold, value = _arg(args, kwargs, 1, "threshold", None), _arg(args, kwargs, 2, "value", None)
            if threshold != 0 or value != 0:
                raise _unsupported(f"threshold(x, {threshold}, {value})", self.rule)
            inplace = inplace or bool(_arg(args, kwargs, 3, "inplace", False))
        elif func in _HARDTANH_FUNCS:
            lo, hi = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
            if lo != 0 or not hi > 0:
                raise _unsupported(f"Hardtanh(min_val={lo}, max_val={hi})", self.rule)
            upper = float(hi)
            inplace = inplace or bool(_arg(args, kwargs, 3, "inplace", False))
        elif func in _RELU6_FUNCS:
            upper = 6.0
            inplace = inplace or bool(_arg(args, kwargs, 1, "inplace", False))
        else:
            raise _unsupported(_OTHER_ACTIVATIONS[func], self.rule)
        self.count += 1
        y = _RectifierWithRule.apply(x, self.rule, upper)
        if not inplace:
            return y
        # Keep in-place semantics (callers may ignore the return value): x now holds y's
        # values, and autograd routes x's gradient through y, hence through the rule.
        return x.copy_(y)


class _EscapeCheck(TorchDispatchMode):
    """Raise if an activation reaches ATen without passing through :class:`_RuleMode`."""

    def __init__(self, rule: str):
        super().__init__()
        self.rule = rule

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in _ESCAPED_ATEN:
            raise _unsupported(f"aten::{name} (called in a way the {self.rule} rule could not intercept)", self.rule)
        return func(*args, **(kwargs or {}))


@contextmanager
def _relu_rule(rule: str | None):
    """Forward passes in the body use ``rule`` at every ReLU (``None`` or "backprop": unchanged)."""
    if rule in (None, "backprop"):
        yield None
        return
    with _RuleMode(rule) as mode, _EscapeCheck(rule):
        yield mode


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    return rule
