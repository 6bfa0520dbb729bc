"""Hook plumbing shared by every helper that looks inside a model.

Hooks exist only inside context managers that remove them in ``finally``; the
caller's model comes back with the same training flag and ``requires_grad``
flags, also when the body raises.

Example:
    >>> with forward_hooks(model, {"features.conv1": lambda m, i, o: print(o.shape)}):
    ...     logits = model(x)
    torch.Size([8, 32, 32, 32])
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Mapping

import torch
from torch import nn


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without any)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def layer_names(model: nn.Module) -> list[str]:
    """Names of the model's leaf modules (those without children), in definition order."""
    return [name for name, m in model.named_modules() if name and not any(True for _ in m.children())]


def get_module(model: nn.Module, layer) -> nn.Module:
    """Resolve ``layer`` (a dotted name from ``model.named_modules()`` or a module of ``model``)."""
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"layer must be a module of the model; got a {type(layer).__name__} that is not part of it")
        return layer
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a layer name (str) or an nn.Module; got {type(layer).__name__}")
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        some = ", ".join(layer_names(model)[:12])
        raise ValueError(f"layer {layer!r} does not exist in the model; valid names include: {some}, ...")
    return modules[layer]


@contextmanager
def forward_hooks(model: nn.Module, hooks: Mapping[object, Callable]):
    """Register forward hooks ``{layer: fn(module, inputs, output)}`` for the ``with`` body only."""
    resolved = [(get_module(model, layer), fn) for layer, fn in hooks.items()]
    handles = []
    try:
        for module, fn in resolved:
            handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def preserved(model: nn.Module, *, eval_mode: bool = True, requires_grad: bool | None = None):
    """Run the body with the model in eval mode (optionally with all ``requires_grad`` set),
    then restore every module's training flag and every parameter's ``requires_grad``.
    """
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        if eval_mode:
            model.eval()
        if requires_grad is not None:
            for p, _ in flags:
                p.requires_grad_(requires_grad)
        yield model
    finally:
        for m, was_training in modes:
            m.training = was_training
        for p, flag in flags:
            p.requires_grad_(flag)


@contextmanager
def running(model: nn.Module, *, grad: bool = True):
    """Run ``model`` the way every helper of the book runs it: eval mode, parameters frozen,
    gradients on (``grad=True``) or off, set locally; the training flags and ``requires_grad``
    flags come back in ``finally``.

    Because the gradient mode is set inside the block, a helper works the same when the
    caller is inside ``torch.no_grad()``, and does not build a graph when ``grad=False``.

    Example:
        >>> with running(model):
        ...     logits = model(x.requires_grad_())
        >>> logits.requires_grad
        True
    """
    with preserved(model, eval_mode=True, requires_grad=False) as m, torch.inference_mode(False), \
            torch.set_grad_enabled(grad):
        yield m


def hook_count(model: nn.Module) -> int:
    """Number of hooks registered on the model's modules and globally (0 after every helper)."""
    from torch.nn.modules import module as _m

    attrs = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    local = sum(len(getattr(m, a, {}) or {}) for m in model.modules() for a in attrs)
    global_ = sum(len(getattr(_m, f"_global{a}", {}) or {}) for a in attrs)
    return local + global_


def check_model(model) -> None:
    """Raise TypeError unless ``model`` is an ``nn.Module``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")


def iter_layers(model: nn.Module, layers: Iterable) -> list[nn.Module]:
    """Resolve several layers at once (names or modules)."""
    return [get_module(model, layer) for layer in layers]


def first_conv(model: nn.Module, *, required: bool = True):
    """The first 2-d convolution of ``model`` in definition order, as ``(name, module)``; the one
    finder every module uses (the course model, AlexNet, VGG, ResNet, ...). Without one:
    ``ValueError``, or ``None`` when ``required=False``."""
    check_model(model)
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    if required:
        raise ValueError("model must have an nn.Conv2d layer; got none")
    return None
