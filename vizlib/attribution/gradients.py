"""Gradient maps: the gradient, saliency, gradient x input, deconvnet, guided backpropagation."""
from __future__ import annotations


import torch
from torch import nn

from .. import hooks
from ._common import _check_logits, _check_model, _check_range, _check_target, _check_x, _leaf
from .rules import _relu_rule


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
