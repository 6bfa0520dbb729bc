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
        raise ValueError("model must have an nn.Conv2d layer; got a model with no nn.Conv2d layer")
    return None


# ----------------------------------------------------------------------------- recording layers
class StopForward(Exception):
    """Raised by :func:`record` (``stop=True``) to end a forward pass once every recorded layer
    has its output; :func:`run_forward` catches it."""


def resolve_layers(model: nn.Module, layers) -> list[tuple[str, nn.Module]]:
    """(name, module) pairs for a layer name, a module, or a sequence of them (duplicates dropped;
    a module given as an object gets its first dotted name in ``model.named_modules()``)."""
    if isinstance(layers, (str, nn.Module)):
        layers = [layers]
    elif not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a layer name, an nn.Module or a list of them; got {type(layers).__name__}")
    if len(layers) == 0:
        raise ValueError("layers must name at least one layer; got an empty list")
    names = {id(m): n for n, m in reversed(list(model.named_modules()))}  # first name of each module
    out: dict[str, nn.Module] = {}
    for layer in layers:
        module = get_module(model, layer)
        name = layer if isinstance(layer, str) else names[id(module)]
        if module is model or name == "":
            raise ValueError("layers must be submodules of the model, not the model itself")
        out.setdefault(name, module)
    return list(out.items())


def _copy(output, detach: bool):
    if isinstance(output, torch.Tensor):
        return output.detach().clone() if detach else output.clone()
    if isinstance(output, (tuple, list)):
        return type(output)(_copy(o, detach) for o in output)
    return output


CALLS = ("first", "last")


@contextmanager
def record(model: nn.Module, layers, *, call: str, stop: bool = False, detach: bool = True,
           inputs: bool = False):
    """Record the outputs of ``layers`` during the forward passes run inside the block: the one
    recorder of ``vizlib`` (activations, attribution, synthesis and style use it).

    Args:
        model: any ``nn.Module``.
        layers: a layer name, a module of ``model``, or a list of them (:func:`resolve_layers`).
        call: which call of a module applied several times in one forward pass is kept (the shared
            ``relu`` of a torchvision ResNet block): ``"first"`` or ``"last"``. Required, so that
            the choice is visible where the recorder is used.
        stop: raise :class:`StopForward` as soon as every layer has its first call's output, so
            deeper layers never run (only with ``call="first"``; use :func:`run_forward`).
        detach: True stores ``output.detach().clone()``; False stores the output itself, in the
            autograd graph, and hands the rest of the network a clone, so that the stored tensor
            lies on the path to the logits (gradients to it exist) and no in-place operation
            downstream can change it.
        inputs: record each layer's (first positional) *input* instead of its output, for
            example the pre-activation that a ReLU receives; the rules above apply to it.

    Yields:
        dict ``{name: output}``, emptied at the start of each forward pass of ``model``. A layer
        the forward pass never reaches is missing from it. Hooks are removed when the block
        ends, also after an exception.

    Example:
        >>> with record(model, ["features.conv1", "features.relu1"], call="first") as out:
        ...     logits = model(x)
        >>> out["features.conv1"].shape
        torch.Size([8, 32, 32, 32])
    """
    check_model(model)
    if call not in CALLS:
        raise ValueError(f"call must be one of {CALLS}; got {call!r}")
    if not isinstance(stop, bool):
        raise TypeError(f"stop must be a bool; got {type(stop).__name__}")
    if not isinstance(detach, bool):
        raise TypeError(f"detach must be a bool; got {type(detach).__name__}")
    if not isinstance(inputs, bool):
        raise TypeError(f"inputs must be a bool; got {type(inputs).__name__}")
    if stop and call != "first":
        raise ValueError("stop=True needs call='first': the last call is known only at the end of the pass")
    pairs = resolve_layers(model, layers)
    store: dict = {}
    handles = []

    def reset(module, inputs):
        store.clear()

    def keep(name, value):
        """Store ``value`` for ``name``; returns what the network should go on with (None: itself)."""
        if call == "first" and name in store:
            return None
        if detach:
            store[name] = _copy(value, True)
            passed = None
        else:
            store[name], passed = value, _copy(value, False)
        if stop and len(store) == len(pairs):
            raise StopForward
        return passed

    def make(name):
        def hook(module, args, output):
            return keep(name, output)
        return hook

    def make_pre(name):
        def hook(module, args):
            if not args or not isinstance(args[0], torch.Tensor):
                raise ValueError(f"layer {name!r} must take a tensor as its first input to record its input")
            passed = keep(name, args[0])
            return None if passed is None else (passed,) + tuple(args[1:])
        return hook

    try:
        handles.append(model.register_forward_pre_hook(reset))
        for name, module in pairs:
            if inputs:
                handles.append(module.register_forward_pre_hook(make_pre(name)))
            else:
                handles.append(module.register_forward_hook(make(name)))
        yield store
    finally:
        for h in handles:
            h.remove()


def run_forward(model: nn.Module, x):
    """``model(x)``, or None when a :func:`record` with ``stop=True`` ended the pass early."""
    try:
        return model(x)
    except StopForward:
        return None
