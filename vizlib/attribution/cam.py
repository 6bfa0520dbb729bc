"""Grad-CAM and guided Grad-CAM."""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from .. import hooks
from ._common import _check_logits, _check_model, _check_range, _check_x, _leaf
from .gradients import _prepare, guided_backprop
from .units import _layer_output


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
        # the last call of the layer: for a module applied several times, the one nearest the output
        with hooks.record(model, layer, call="last", detach=False) as store:
            logits = model(xi)
        a = _layer_output(store, layer)
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
