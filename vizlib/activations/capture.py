"""Recording feature maps: capture, get_activations, layer names."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from .. import _validate
from ..hooks import check_model, record, resolve_layers, run_forward, running
from ..hooks import layer_names as _leaf_names


def _check_int(value, arg: str, minimum: int = 1) -> int:
    return _validate.integer(value, arg, minimum=minimum)


def _check_input(x, model: nn.Module, arg: str = "x", *, space: str = "the model's input space",
                 then: str = ", then vizlib.normalize") -> None:
    """x must be a finite float (N, C, H, W) batch for ``model`` (also used by vizlib.style)."""
    _validate.image_batch(x, arg, model=model, space=space, then=then)


_resolve = resolve_layers


@contextmanager
def capture(model: nn.Module, layers, *, detach: bool = True):
    """Record the outputs of ``layers`` during the forward passes run inside the block.

    The yielded dict maps each layer's name (for a module given as an object,
    its dotted name in ``model.named_modules()``) to a copy of its output; every
    forward pass overwrites the previous one's. Copies are taken, so a later
    in-place operation (the ``ReLU(inplace=True)`` after every convolution of
    torchvision's AlexNet and VGG) cannot change what was stored: a captured
    ``Conv2d`` holds the pre-ReLU values. A module called several times in one
    forward pass (the shared ``relu`` of a ResNet block) keeps its first call's
    output. A layer the forward pass never reaches is missing from the dict.
    Hooks are removed when the block ends, also after an exception; the model
    is not otherwise touched (run ``model.eval()`` yourself, or use
    :func:`get_activations`).

    Args:
        model: any ``nn.Module`` (the course model, torchvision CNNs, ...).
        layers: a layer name (``"features.conv1"``), a module of ``model``, or a
            list of them; see :func:`layer_names`.
        detach: store ``output.detach().clone()`` (default); with False the
            copies stay in the autograd graph, for losses on activations.

    Yields:
        dict ``{name: tensor}``, e.g. ``(N, C, H', W')`` for a convolution, filled
        on each forward pass.

    Example:
        >>> with capture(model, "features.relu2") as acts:
        ...     logits = model(x)
        >>> acts["features.relu2"].shape
        torch.Size([8, 64, 16, 16])
    """
    check_model(model)
    if not isinstance(detach, bool):
        raise TypeError(f"detach must be a bool; got {type(detach).__name__}")
    with record(model, layers, call="first", detach=detach) as store:
        yield store


def _forward_collect(model: nn.Module, x: torch.Tensor, pairs, *, detach: bool) -> dict:
    """Run ``model(x)`` until every layer of ``pairs`` has fired (each module's first call);
    return their outputs (private)."""
    with record(model, [name for name, _ in pairs], call="first", stop=True, detach=detach) as store:
        run_forward(model, x)
        got = {name: store.get(name) for name, _ in pairs}
    missing = [name for name, v in got.items() if v is None]
    if missing:
        raise ValueError(f"layers {missing} were not called during the forward pass")
    return got


def get_activations(model: nn.Module, x: torch.Tensor, layers, *, grad: bool = False) -> dict:
    """Outputs of ``layers`` for the input ``x``, in eval mode, without running deeper layers.

    Args:
        model: any ``nn.Module``; run in eval mode, its flags restored afterwards.
        x: (N, C, H, W) float, the model's (normalised) input, on the model's device.
        layers: a layer name or module, or a list of them.
        grad: keep the autograd graph to ``x`` (for losses on activations);
            default False runs under ``torch.no_grad()``.

    Returns:
        dict ``{name: tensor}`` in the order of ``layers``, e.g. (N, C, H', W').

    Example:
        >>> acts = get_activations(model, vizlib.normalize(images), ["features.conv1"])
    """
    check_model(model)
    _check_input(x, model)
    pairs = _resolve(model, layers)
    with running(model, grad=grad):
        return _forward_collect(model, x, pairs, detach=not grad)


def layer_names(model: nn.Module, kind=None) -> list[str]:
    """Names of the layers :func:`capture` can record.

    Args:
        model: any ``nn.Module``.
        kind: None for every leaf module (no children); a module class or a tuple
            of classes (``nn.Conv2d``) for every module of that kind, leaf or not.

    Returns:
        Dotted names in definition order, e.g. ``["features.conv1", "features.relu1", ...]``.

    Example:
        >>> layer_names(model, nn.Conv2d)
        ['features.conv1', 'features.conv2', 'features.conv3', 'features.conv4']
    """
    check_model(model)
    if kind is None:
        return _leaf_names(model)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not kinds or not all(isinstance(k, type) and issubclass(k, nn.Module) for k in kinds):
        raise TypeError(f"kind must be an nn.Module subclass or a tuple of them; got {kind!r}")
    return [name for name, m in model.named_modules() if name and isinstance(m, kinds)]
