"""Attribution: which part of the input made the network decide.

Every method has one signature, ``method(model, x, target, **options)``:

- ``model``: any ``nn.Module`` that maps ``(N, C, H, W)`` images to ``(N, classes)``
  pre-softmax logits (the course model, torchvision's AlexNet, VGG, ResNet, DenseNet, ...);
- ``x``: ``(N, C, H, W)`` float, already in the model's input space (normalised), on
  the model's device;
- ``target``: an int (the same class for every image) or an ``(N,)`` integer tensor
  (or list) of class indices; the class score is the target's pre-softmax logit.

Gradient methods return ``(N, C, H, W)`` (:func:`gradient`, :func:`gradient_x_input`,
:func:`deconvnet`, :func:`guided_backprop`, :func:`smoothgrad`,
:func:`integrated_gradients`, :func:`guided_grad_cam`); map methods return
``(N, H, W)`` (:func:`saliency`, :func:`occlusion`, :func:`grad_cam`).

Guarantees, for every function here:

- the caller's model comes back unchanged: no hook left, parameters bitwise the same,
  every module's ``training`` flag and every parameter's ``requires_grad`` as before,
  also when the call raises midway;
- a model in training mode is evaluated in eval mode (dropout off, batch-norm running
  statistics used and not updated) and its flags are restored afterwards; no error is
  raised for it;
- the caller's ``x`` is never modified and its ``.grad`` is never touched;
- gradients are enabled locally, so the functions work inside ``torch.no_grad()``;
- the device is the model's; ``x`` must already be there.

Deconvnet and guided backpropagation replace the backward rule of **every** ReLU
that the forward pass applies, however it is applied: ``nn.ReLU`` modules (in-place or
not, reused or not) and functional calls (``F.relu``, ``torch.relu``, ``Tensor.relu``,
their in-place variants, ``F.threshold(x, 0, 0)``). This is done by a
:class:`torch.overrides.TorchFunctionMode` active during the forward pass, which
turns each ReLU into an autograd function carrying the chosen rule, plus a check at
the ATen level that no rectifier escaped. No module hook is involved, so in-place
ReLUs cannot trigger the "view modified in-place" error of backward hooks; an
in-place ReLU still rectifies its input tensor in place, as it does without the rule. ReLU6 (``nn.ReLU6``, ``F.relu6``,
``hardtanh(x, 0, t)``) gets the analogous rule (gradient passed where ``0 < x < t``
for guided backprop, rectified for deconvnet). Any other activation (Hardswish,
SiLU, GELU, ELU, LeakyReLU, ...) raises :class:`UnsupportedActivationError` naming
it. Sigmoid and tanh, which CNNs use as gates (squeeze-and-excitation), are
back-propagated normally.

Example:
    >>> model = vizlib.load_model("course", device="cpu")
    >>> x = vizlib.normalize(images, "course")                # images: (8, 3, 64, 64) in [0, 1]
    >>> sal = saliency(model, x, labels)
    >>> gb = guided_backprop(model, x, labels)
    >>> occ = occlusion(model, x[:1], labels[:1], window=16, stride=8, progress=False)
    >>> sal.shape, gb.shape, occ.shape
    (torch.Size([8, 64, 64]), torch.Size([8, 3, 64, 64]), torch.Size([1, 64, 64]))
"""
from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from tqdm.auto import tqdm

from . import hooks

__all__ = [
    "RULES", "UnsupportedActivationError", "OcclusionGrid", "relu_backward",
    "gradient", "saliency", "gradient_x_input", "deconvnet", "guided_backprop", "project_unit",
    "smoothgrad", "integrated_gradients", "occlusion", "occlusion_grid", "occlusion_positions",
    "grad_cam", "guided_grad_cam", "default_cam_layer",
]

#: Backward rules for a ReLU: plain backpropagation, Zeiler and Fergus's deconvnet,
#: Springenberg et al.'s guided backpropagation.
RULES = ("backprop", "deconvnet", "guided")


class UnsupportedActivationError(ValueError):
    """The model applies an activation for which deconvnet/guided backprop has no rule."""


# --------------------------------------------------------------------------- validation


def _check_model(model) -> None:
    hooks.check_model(model)


def _first_conv_channels(model: nn.Module):
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return m.in_channels
    return None


def _check_x(model: nn.Module, x, arg: str = "x") -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of shape (N, C, H, W); got {type(x).__name__}")
    if x.ndim != 4:
        hint = " (a single image? add the batch dimension with x[None])" if x.ndim == 3 else ""
        raise ValueError(f"{arg} must have shape (N, C, H, W); got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        raise TypeError(
            f"{arg} must be a floating-point tensor in the model's input space; got dtype {x.dtype} "
            "(uint8 images: divide by 255, then vizlib.normalize)"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{arg} must hold at least one image; got an empty batch {tuple(x.shape)}")
    channels = _first_conv_channels(model)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{arg} must have {channels} channels like the model's first convolution, shape "
            f"(N, {channels}, H, W); got {tuple(x.shape)} (grayscale or RGBA image?)"
        )
    device = hooks.model_device(model)
    if x.device != device:
        raise ValueError(f"{arg} is on {x.device} but the model is on {device}; move it with {arg}.to({str(device)!r})")
    for p in model.parameters():
        if p.is_floating_point() and p.dtype != x.dtype:
            raise TypeError(f"{arg} must have the model's dtype {p.dtype}; got {x.dtype}")
        break
    if not torch.isfinite(x).all():
        raise ValueError(f"{arg} must be finite; got NaN or infinite values")


def _check_target(target, n: int, device) -> torch.Tensor:
    """int or (N,) integer tensor/list -> (N,) int64 tensor on ``device`` (range checked later)."""
    if isinstance(target, bool):
        raise TypeError(f"target must be an int or an (N,) tensor of class indices; got {target!r}")
    if isinstance(target, numbers.Integral):
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if isinstance(target, (list, tuple)):
        if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in target):
            raise TypeError("target must be an int or a sequence of ints (class indices)")
        target = torch.tensor(list(target), dtype=torch.long)
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be an int or an (N,) tensor of class indices; got {type(target).__name__}")
    if target.dtype == torch.bool or target.is_floating_point() or target.is_complex():
        raise TypeError(f"target must hold integer class indices; got dtype {target.dtype}")
    if target.ndim == 0:
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(f"target must be an int or have shape ({n},), one class per image; got {tuple(target.shape)}")
    return target.to(device=device, dtype=torch.long)


def _check_logits(logits, n: int) -> int:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != n or logits.shape[1] < 1:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"model must return logits of shape (N, classes) = ({n}, K); got {got}")
    return logits.shape[1]


def _check_range(target: torch.Tensor, k: int) -> None:
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= k:
        raise ValueError(f"target must be class indices in [0, {k - 1}]; got values in [{lo}, {hi}]")


def _pos_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int; got {value}")
    return int(value)


def _pair(name: str, value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width); got {value!r}")
        return _pos_int(name, value[0]), _pos_int(name, value[1])
    v = _pos_int(name, value)
    return v, v


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    return rule


# --------------------------------------------------------------------------- session


def _leaf(x: torch.Tensor) -> torch.Tensor:
    """A private copy of ``x`` that requires grad (the caller's tensor and its .grad stay untouched)."""
    return x.detach().clone().requires_grad_(True)


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


# --------------------------------------------------------------------------- gradients


def _input_gradient(model, x, target, rule=None) -> torch.Tensor:
    """d logit_target / d x for validated inputs, inside a session."""
    xi = _leaf(x)
    with _relu_rule(rule):
        logits = model(xi)
    k = _check_logits(logits, len(xi))
    _check_range(target, k)
    score = logits.gather(1, target[:, None].clone()).sum()  # clone: target may be an inference tensor
    (g,) = torch.autograd.grad(score, xi)
    return g.detach()


def _prepare(model, x, target):
    _check_model(model)
    _check_x(model, x)
    return _check_target(target, x.shape[0], x.device)


def gradient(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Input gradient of the target logit.

    Args:
        model: classifier returning ``(N, classes)`` logits.
        x: ``(N, C, H, W)`` float, normalised, on the model's device.
        target: int or ``(N,)`` class indices.

    Returns:
        ``(N, C, H, W)``: ``d logit_target / d x`` for each image.

    Example:
        >>> gradient(model, x, 3).shape      # d logit[3] / d x, for every image
        torch.Size([8, 3, 64, 64])
    """
    t = _prepare(model, x, target)
    with hooks.running(model):
        return _input_gradient(model, x, t)


def saliency(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Saliency map of Simonyan et al. (2014): ``max_c |d logit_target / d x_c|``.

    Args:
        model, x, target: as in :func:`gradient`.

    Returns:
        ``(N, H, W)``, non-negative.

    Example:
        >>> saliency(model, x, labels).shape
        torch.Size([8, 64, 64])
    """
    return gradient(model, x, target).abs().amax(dim=1)


def gradient_x_input(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Gradient times input, ``x * d logit_target / d x``: ``(N, C, H, W)``.

    Example:
        >>> gxi = gradient_x_input(model, x, labels)
    """
    return gradient(model, x, target) * x.detach()


def deconvnet(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Deconvnet reconstruction of the target logit (Zeiler and Fergus 2014).

    The backward pass through each ReLU passes only the positive part of the
    incoming signal, whatever the forward input was; max pooling routes it to the
    forward maximum (unpooling with switches); convolutions apply their transposed
    filters. See the module docstring for which activations are supported.

    Args:
        model, x, target: as in :func:`gradient`.

    Returns:
        ``(N, C, H, W)``.

    Raises:
        UnsupportedActivationError: the model uses an activation other than ReLU/ReLU6.

    Example:
        >>> deconvnet(model, x, labels).shape
        torch.Size([8, 3, 64, 64])
    """
    t = _prepare(model, x, target)
    with hooks.running(model):
        return _input_gradient(model, x, t, rule="deconvnet")


def guided_backprop(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Guided backpropagation (Springenberg et al. 2015).

    The backward pass through each ReLU passes a signal only where the forward
    input was positive and the incoming signal is positive.

    Args:
        model, x, target: as in :func:`gradient`.

    Returns:
        ``(N, C, H, W)``.

    Raises:
        UnsupportedActivationError: the model uses an activation other than ReLU/ReLU6.

    Example:
        >>> gb = guided_backprop(model, x, labels)
    """
    t = _prepare(model, x, target)
    with hooks.running(model):
        return _input_gradient(model, x, t, rule="guided")


class _Stop(Exception):
    """Raised by a hook to end a forward pass early (never escapes this module)."""


def _capture(model, layer, *, stop: bool):
    """A forward hook on ``layer`` that stores its (last) output and optionally stops the forward.

    The stored tensor is the layer's own output; the rest of the network gets a clone,
    so in-place operations downstream cannot change it.
    """
    store = {}

    def hook(module, inputs, output):
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"layer must output a tensor; {type(module).__name__} returned {type(output).__name__}")
        store["out"] = output
        if stop:
            raise _Stop
        return output.clone()

    return hooks.forward_hooks(model, {layer: hook}), store


def project_unit(model: nn.Module, x: torch.Tensor, layer, channel: int, *, position=None,
                 rule: str = "deconvnet") -> torch.Tensor:
    """Project one unit of a layer back to the input (Zeiler and Fergus 2014, figure 2).

    All activations of ``layer`` except the chosen unit are set to zero and the
    unit's activation is sent back to the input with ``rule`` at every ReLU.

    Args:
        model: any CNN (the forward pass stops at ``layer``).
        x: ``(N, C, H, W)`` float, normalised, on the model's device.
        layer: a layer name from ``model.named_modules()`` (or the module) whose output
            is a feature map ``(N, K, h, w)``, e.g. ``"features.relu3"``.
        channel: the feature map ``0 <= channel < K``.
        position: ``(row, col)`` in the feature map, or None for each image's
            strongest activation of that channel.
        rule: ``"deconvnet"`` (default), ``"guided"`` or ``"backprop"``.

    Returns:
        ``(N, C, H, W)``.

    Example:
        >>> project_unit(model, x, "features.relu3", channel=5).shape
        torch.Size([8, 3, 64, 64])
    """
    _check_model(model)
    _check_x(model, x)
    _check_rule(rule)
    hooks.get_module(model, layer)
    if isinstance(channel, bool) or not isinstance(channel, numbers.Integral):
        raise TypeError(f"channel must be an int; got {type(channel).__name__}")
    with hooks.running(model):
        xi = _leaf(x)
        ctx, store = _capture(model, layer, stop=True)
        with ctx, _relu_rule(rule):
            try:
                model(xi)
            except _Stop:
                pass
        if "out" not in store:
            raise ValueError(f"layer {layer!r} was not used in the model's forward pass")
        a = store.pop("out")
        if a.ndim != 4:
            raise ValueError(f"layer must output a feature map (N, K, h, w); {layer!r} gives {tuple(a.shape)}")
        n, k, h, w = a.shape
        if not 0 <= channel < k:
            raise ValueError(f"channel must be in [0, {k - 1}] for layer {layer!r}; got {channel}")
        amap = a.detach()[:, channel].reshape(n, -1)
        if position is None:
            flat = amap.argmax(1)
        else:
            if len(position) != 2 or not all(isinstance(p, numbers.Integral) for p in position):
                raise TypeError(f"position must be a pair of ints (row, col); got {position!r}")
            r, c = position
            if not (0 <= r < h and 0 <= c < w):
                raise ValueError(f"position must lie in the {h}x{w} feature map of {layer!r}; got {position}")
            flat = torch.full((n,), r * w + c, dtype=torch.long, device=a.device)
        seed = torch.zeros_like(amap)
        seed.scatter_(1, flat[:, None], amap.gather(1, flat[:, None]))
        full = torch.zeros_like(a)
        full[:, channel] = seed.view(n, h, w)
        (g,) = torch.autograd.grad(a, xi, grad_outputs=full)
        return g.detach()


def _chunks(total: int, size: int):
    for start in range(0, total, size):
        yield start, min(start + size, total)


def smoothgrad(model: nn.Module, x: torch.Tensor, target, *, n_samples: int = 25, noise_level: float = 0.15,
               method: str = "gradient", batch_size: int = 32, seed: int = 0, progress: bool = False) -> torch.Tensor:
    """SmoothGrad (Smilkov et al. 2017): the average gradient over noisy copies of ``x``.

    Noise is Gaussian with standard deviation ``noise_level * (x.max() - x.min())``
    per image; it is drawn from a private generator seeded with ``seed`` on the CPU
    (the global random state is not touched, and results do not depend on the device).

    Args:
        model, x, target: as in :func:`gradient`.
        n_samples: number of noisy copies per image.
        noise_level: noise spread relative to each image's value range (the paper's 10-20 %).
        method: ``"gradient"``, ``"guided_backprop"`` or ``"deconvnet"``: what is averaged.
        batch_size: noisy copies per forward pass.
        seed: seed of the noise.
        progress: show a progress bar.

    Returns:
        ``(N, C, H, W)``; take ``.abs().amax(1)`` for a saliency-style map.

    Example:
        >>> smoothgrad(model, x[:2], labels[:2], n_samples=8).shape
        torch.Size([2, 3, 64, 64])
    """
    rules = {"gradient": None, "guided_backprop": "guided", "deconvnet": "deconvnet"}
    if method not in rules:
        raise ValueError(f"method must be one of {tuple(rules)}; got {method!r}")
    n_samples, batch_size = _pos_int("n_samples", n_samples), _pos_int("batch_size", batch_size)
    if isinstance(noise_level, bool) or not isinstance(noise_level, numbers.Real) or not noise_level >= 0:
        raise ValueError(f"noise_level must be a non-negative number; got {noise_level!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    t = _prepare(model, x, target)
    n = x.shape[0]
    gen = torch.Generator().manual_seed(int(seed))
    spread = (x.detach().amax((1, 2, 3)) - x.detach().amin((1, 2, 3))).view(n, 1, 1, 1) * noise_level
    total = torch.zeros_like(x, dtype=x.dtype).detach()
    reps = max(1, batch_size // n)
    with hooks.running(model), tqdm(total=n_samples, disable=not progress, desc="smoothgrad", unit="sample") as bar:
        for start, stop in _chunks(n_samples, reps):
            m = stop - start
            noise = torch.randn((m, *x.shape), generator=gen, dtype=x.dtype).to(x.device) * spread
            noisy = (x.detach()[None] + noise).reshape(m * n, *x.shape[1:])
            g = _input_gradient(model, noisy, t.repeat(m), rule=rules[method])
            total += g.view(m, *x.shape).sum(0)
            bar.update(m)
    return total / n_samples


def integrated_gradients(model: nn.Module, x: torch.Tensor, target, *, baseline=0.0, steps: int = 32,
                         batch_size: int = 32, progress: bool = False) -> torch.Tensor:
    """Integrated gradients (Sundararajan et al. 2017), midpoint rule with ``steps`` points.

    ``(x - b) * mean_k grad(b + (k + 1/2)/steps * (x - b))``; the attributions of an
    image sum to about ``logit(x) - logit(b)``.

    Args:
        model, x, target: as in :func:`gradient`.
        baseline: a number, a ``(C,)`` colour, or a ``(C, H, W)`` / ``(N, C, H, W)``
            image in the model's input space (0 is the mean colour after normalisation).
        steps: points on the straight path.
        batch_size: path points per forward pass.
        progress: show a progress bar.

    Returns:
        ``(N, C, H, W)``.

    Example:
        >>> integrated_gradients(model, x[:2], labels[:2], steps=16).shape
        torch.Size([2, 3, 64, 64])
    """
    steps, batch_size = _pos_int("steps", steps), _pos_int("batch_size", batch_size)
    t = _prepare(model, x, target)
    base = _baseline(baseline, x)
    n = x.shape[0]
    xd = x.detach()
    total = torch.zeros_like(xd)
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    reps = max(1, batch_size // n)
    with hooks.running(model), tqdm(total=steps, disable=not progress, desc="integrated gradients", unit="step") as bar:
        for start, stop in _chunks(steps, reps):
            a = alphas[start:stop].view(-1, 1, 1, 1, 1)
            path = (base + a * (xd - base)).reshape(-1, *x.shape[1:])
            g = _input_gradient(model, path, t.repeat(stop - start))
            total += g.view(stop - start, *x.shape).sum(0)
            bar.update(stop - start)
    return (xd - base) * total / steps


# --------------------------------------------------------------------------- occlusion


def _baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    """Baseline as an (N, C, H, W)-broadcastable tensor on x's device."""
    n, c, h, w = x.shape
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        return torch.full((1, c, 1, 1), float(baseline), dtype=x.dtype, device=x.device)
    if not isinstance(baseline, torch.Tensor):
        raise TypeError(f"baseline must be a number or a tensor; got {type(baseline).__name__}")
    b = baseline.detach().to(device=x.device, dtype=x.dtype)
    if b.ndim == 1 and b.shape[0] == c:
        b = b.view(1, c, 1, 1)
    elif b.shape == (c, h, w):
        b = b[None]
    elif b.shape != (n, c, h, w):
        raise ValueError(f"baseline must be a number or have shape ({c},), ({c}, {h}, {w}) or "
                         f"({n}, {c}, {h}, {w}); got {tuple(b.shape)}")
    if not torch.isfinite(b).all():
        raise ValueError("baseline must be finite")
    return b


def occlusion_positions(size: int, window: int, stride: int) -> list[int]:
    """Start indices of a window sliding along one axis of length ``size``.

    ``0, stride, 2*stride, ...`` plus, if the last of these does not reach the end,
    ``size - window``, so that every pixel is covered by at least one window.

    Example:
        >>> occlusion_positions(10, 4, 4)
        [0, 4, 6]
    """
    size, window, stride = _pos_int("size", size), _pos_int("window", window), _pos_int("stride", stride)
    if window > size:
        raise ValueError(f"window must not exceed the image side {size}; got {window}")
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


class OcclusionGrid(NamedTuple):
    """What :func:`occlusion_grid` returns (Zeiler and Fergus 2014, figure 7 d-e).

    Attributes:
        target_prob: ``(N, R, S)`` softmax probability of the target class with the
            occluder's top-left corner at ``(rows[i], cols[j])``.
        top_class: ``(N, R, S)`` int64, the most probable class at each position.
        top_prob: ``(N, R, S)`` its probability.
        clean_prob: ``(N,)`` the target probability without occluder.
        rows: ``(R,)`` top rows of the occluder positions.
        cols: ``(S,)`` left columns.
        window: ``(height, width)`` of the occluder.
        image_size: ``(H, W)`` of the images.

    ``grid.pixel_map()`` turns the grid into :func:`occlusion`'s per-pixel map without
    running the model again.
    """

    target_prob: torch.Tensor
    top_class: torch.Tensor
    top_prob: torch.Tensor
    clean_prob: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    window: tuple
    image_size: tuple

    def pixel_map(self) -> torch.Tensor:
        """``(N, H, W)``: the drop ``clean_prob - target_prob`` averaged over the windows covering
        each pixel (0 for pixels no window covers), on the device of ``target_prob``."""
        n = self.target_prob.shape[0]
        (h, w), (wh, ww) = self.image_size, self.window
        drop = (self.clean_prob.view(n, 1, 1) - self.target_prob).detach().cpu()
        total = torch.zeros(n, h, w, dtype=drop.dtype)
        count = torch.zeros(h, w, dtype=drop.dtype)
        for a, r in enumerate(self.rows.tolist()):
            for b, q in enumerate(self.cols.tolist()):
                total[:, r:r + wh, q:q + ww] += drop[:, a, b, None, None]
                count[r:r + wh, q:q + ww] += 1
        out = torch.where(count > 0, total / count.clamp(min=1), torch.zeros(()))
        return out.to(self.target_prob.device)


def _occlusion_scan(model, x, target, window, stride, baseline, batch_size, progress) -> OcclusionGrid:
    _check_model(model)
    _check_x(model, x)
    t = _check_target(target, x.shape[0], x.device)
    (wh, ww), (sh, sw) = _pair("window", window), _pair("stride", stride)
    batch_size = _pos_int("batch_size", batch_size)
    n, c, h, w = x.shape
    if wh > h or ww > w:
        raise ValueError(f"window must fit in the {h}x{w} image; got {wh}x{ww}")
    base = _baseline(baseline, x).expand(n, c, h, w)
    rows, cols = occlusion_positions(h, wh, sh), occlusion_positions(w, ww, sw)
    places = [(r, q) for r in rows for q in cols]
    p = len(places)
    xd = x.detach()
    memory_format = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
    with hooks.running(model, grad=False):
        logits = model(xd)
        k = _check_logits(logits, n)
        _check_range(t, k)
        clean = logits.softmax(1).gather(1, t[:, None])[:, 0]
        target_prob = torch.empty(n, p, dtype=logits.dtype, device=x.device)
        top_prob, top_class = torch.empty_like(target_prob), torch.empty(n, p, dtype=torch.long, device=x.device)
        with tqdm(total=n * p, disable=not progress, desc="occlusion", unit="window") as bar:
            for i in range(n):
                for start, stop in _chunks(p, batch_size):
                    # channels-last copies: on the CPU, oneDNN's convolutions run 1.5-2x faster on them
                    batch = xd[i].expand(stop - start, c, h, w).clone(memory_format=memory_format)
                    for j, (r, q) in enumerate(places[start:stop]):
                        batch[j, :, r:r + wh, q:q + ww] = base[i, :, r:r + wh, q:q + ww]
                    try:
                        probs = model(batch).softmax(1)
                    except RuntimeError:  # e.g. a model that calls .view() on its features
                        if memory_format == torch.contiguous_format:
                            raise
                        memory_format, batch = torch.contiguous_format, batch.contiguous()
                        probs = model(batch).softmax(1)
                    target_prob[i, start:stop] = probs[:, t[i]]
                    top_prob[i, start:stop], top_class[i, start:stop] = probs.max(1)
                    bar.update(stop - start)
    shape = (n, len(rows), len(cols))
    as_t = lambda v: torch.tensor(v, dtype=torch.long)  # noqa: E731
    return OcclusionGrid(target_prob.view(shape), top_class.view(shape), top_prob.view(shape), clean,
                         as_t(rows), as_t(cols), (wh, ww), (h, w))


def occlusion(model: nn.Module, x: torch.Tensor, target, *, window=8, stride=4, baseline=0.0,
              batch_size: int = 128, progress: bool = True) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler and Fergus 2014): how much the target's probability
    drops when a grey square hides each part of the image.

    A ``window`` x ``window`` square is slid over the image with step ``stride``
    (plus a last position flush with the bottom/right edge, see
    :func:`occlusion_positions`, so every pixel is covered by at least one window) and
    set to ``baseline`` (0 in normalised space is the dataset's mean colour, the
    paper's grey square). Each pixel gets the drop ``p(x) - p(x occluded)`` of the
    target's softmax probability, averaged over the windows covering it; when
    ``stride > window`` some pixels lie between windows and get 0. The occluded
    copies are evaluated ``batch_size`` at a time without gradients: ``N * R * S + N``
    forward passes of one image in all, where R x S is the number of positions.

    Args:
        model, x, target: as in :func:`gradient`.
        window: side of the occluder in pixels (int, or (height, width)), at most the image side.
        stride: step between positions (int > 0, or a pair).
        baseline: the occluder's value: a number, a ``(C,)`` colour, or a ``(C, H, W)`` /
            ``(N, C, H, W)`` image (e.g. a blurred copy), in the model's input space.
        batch_size: occluded images per forward pass.
        progress: show a progress bar (tqdm).

    Returns:
        ``(N, H, W)``: positive where hiding the pixel lowers the target's probability.

    Example:
        >>> occlusion(model, x[:1], labels[:1], window=12, stride=4, progress=False).shape
        torch.Size([1, 64, 64])
    """
    return _occlusion_scan(model, x, target, window, stride, baseline, batch_size, progress).pixel_map()


def occlusion_grid(model: nn.Module, x: torch.Tensor, target, *, window=8, stride=4, baseline=0.0,
                   batch_size: int = 128, progress: bool = True) -> OcclusionGrid:
    """The occluder-position maps of Zeiler and Fergus (2014), figure 7 (d) and (e).

    Same scan as :func:`occlusion`, but returns, for each occluder position (top-left
    corner ``(rows[i], cols[j])``), the target's probability and the most probable
    class, as an :class:`OcclusionGrid`.

    Args:
        model, x, target, window, stride, baseline, batch_size, progress: as in :func:`occlusion`.

    Returns:
        :class:`OcclusionGrid` with ``target_prob``, ``top_class``, ``top_prob`` of shape
        ``(N, R, S)``, ``clean_prob`` ``(N,)``, ``rows`` ``(R,)``, ``cols`` ``(S,)``, ``window``,
        ``image_size``; ``.pixel_map()`` gives :func:`occlusion`'s ``(N, H, W)`` map.

    Example:
        >>> g = occlusion_grid(model, x[:1], labels[:1], window=16, stride=4, progress=False)
        >>> g.target_prob.shape, g.top_class.shape         # one value per window position
        (torch.Size([1, 13, 13]), torch.Size([1, 13, 13]))
    """
    return _occlusion_scan(model, x, target, window, stride, baseline, batch_size, progress)


# --------------------------------------------------------------------------- Grad-CAM


def default_cam_layer(model: nn.Module, x: torch.Tensor) -> str:
    """Name of the last convolution the forward pass of ``x`` executes (Grad-CAM's default layer).

    Found by running the model once with hooks on every ``nn.Conv2d``; it is not a
    fixed attribute such as ``model.features``, so it works on any torchvision CNN.
    """
    _check_model(model)
    _check_x(model, x)
    order = []
    names = {m: name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    if not names:
        raise ValueError("the model has no nn.Conv2d layer; pass layer= explicitly")
    fns = {m: (lambda mod, i, o: order.append(mod)) for m in names}
    with hooks.running(model, grad=False), hooks.forward_hooks(model, fns):
        model(x.detach()[:1])
    if not order:
        raise ValueError("the model's forward pass executed no nn.Conv2d layer; pass layer= explicitly")
    return names[order[-1]]


def grad_cam(model: nn.Module, x: torch.Tensor, target, *, layer=None) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017): ``ReLU(sum_k alpha_k A^k)``, upsampled to the input.

    ``A`` is the output of ``layer`` and ``alpha_k`` the spatial mean of the target
    logit's gradient with respect to channel ``k`` of ``A``.

    Args:
        model, x, target: as in :func:`gradient`.
        layer: a layer name (or module) whose output is ``(N, K, h, w)``; default: the
            last ``nn.Conv2d`` the forward pass executes (:func:`default_cam_layer`), its
            output before any activation. If the layer runs several times in one forward
            pass, its last call is used.

    Returns:
        ``(N, H, W)``, non-negative, bilinearly upsampled (not normalised).

    Example:
        >>> grad_cam(model, x, labels, layer="features.relu4").shape
        torch.Size([8, 64, 64])
    """
    t = _prepare(model, x, target)
    layer = default_cam_layer(model, x) if layer is None else layer
    hooks.get_module(model, layer)
    with hooks.running(model):
        xi = _leaf(x)
        ctx, store = _capture(model, layer, stop=False)
        with ctx:
            logits = model(xi)
        if "out" not in store:
            raise ValueError(f"layer {layer!r} was not used in the model's forward pass")
        a = store.pop("out")
        if a.ndim != 4:
            raise ValueError(f"layer must output a feature map (N, K, h, w); {layer!r} gives {tuple(a.shape)}")
        k = _check_logits(logits, len(xi))
        _check_range(t, k)
        (g,) = torch.autograd.grad(logits.gather(1, t[:, None].clone()).sum(), a)
        weights = g.mean((2, 3), keepdim=True)
        cam = (weights * a).sum(1, keepdim=True).clamp(min=0)
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return cam[:, 0].detach()


def guided_grad_cam(model: nn.Module, x: torch.Tensor, target, *, layer=None) -> torch.Tensor:
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backprop times the Grad-CAM map.

    Args:
        model, x, target, layer: as in :func:`grad_cam`.

    Returns:
        ``(N, C, H, W)``.

    Example:
        >>> guided_grad_cam(model, x, labels).shape
        torch.Size([8, 3, 64, 64])
    """
    return guided_backprop(model, x, target) * grad_cam(model, x, target, layer=layer)[:, None]
