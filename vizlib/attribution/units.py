"""Projecting one unit of a layer back to the input (Zeiler and Fergus's deconvnet visualisation)."""
from __future__ import annotations

import numbers

import torch
from torch import nn

from .. import hooks
from ._common import _check_model, _check_x, _leaf
from .rules import _check_rule, _relu_rule


def _layer_output(store: dict, layer) -> torch.Tensor:
    """The recorded output of ``layer`` (the only layer of a :func:`vizlib.hooks.record`)."""
    if not store:
        raise ValueError(f"layer {layer!r} was not used in the model's forward pass")
    (out,) = store.values()
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"layer must output a tensor; {layer!r} returned {type(out).__name__}")
    return out


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
        # the first call of the layer; the pass stops there
        with hooks.record(model, layer, call="first", stop=True, detach=False) as store, _relu_rule(rule):
            hooks.run_forward(model, xi)
        a = _layer_output(store, layer)
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
