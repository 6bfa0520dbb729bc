"""Gram matrices, content and style losses, and argument checks."""
from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

import torch

from .. import _validate
from ..activations import _check_input


class StyleResult(NamedTuple):
    """Result of an optimisation: ``image`` (N, 3, H, W) in [0, 1] on the model's device, and
    ``history``, a dict of per-step losses (NumPy arrays of length ``steps``, each measured
    before that step's update): always ``"total"``, plus ``"content"``, ``"style"`` and
    ``"tv"`` where they apply."""

    image: torch.Tensor
    history: dict


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices of feature maps, averaged over positions.

    For one image with feature maps ``F`` reshaped to (C, M), M = H W positions,

        G = F F^T / M,   G[i, j] = (1 / M) sum_k F[i, k] F[j, k],

    the average over positions of the product of channels i and j. Gatys et al.
    (2015) use the unnormalised ``F F^T`` and put ``1 / (4 C^2 M^2)`` into the
    loss; dividing by M here makes Gram matrices of different image sizes
    comparable, and their per-layer loss ``E_l`` equals a quarter of the mean
    squared difference of these matrices.

    Args:
        features: (N, C, H, W) float.

    Returns:
        (N, C, C), symmetric and positive semi-definite.

    Example:
        >>> gram_matrix(torch.ones(1, 2, 4, 4))
        tensor([[[1., 1.],
                 [1., 1.]]])
    """
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"features must be a torch.Tensor; got {type(features).__name__}")
    if features.ndim != 4:
        raise ValueError(f"features must have shape (N, C, H, W); got {tuple(features.shape)}")
    if not features.is_floating_point():
        raise ValueError(f"features must be floating point; got dtype {features.dtype}")
    if features.shape[0] == 0 or features.shape[2] * features.shape[3] == 0:
        raise ValueError(f"features must hold at least one image and one position; got {tuple(features.shape)}")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def _relative_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (x - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-12)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Relative squared error ``||F - P||^2 / ||P||^2`` between feature maps.

    Gatys et al. (2016) use ``(1/2) ||F - P||^2``; dividing by the size of the
    target makes one weight mean the same for every layer and every network.

    Args:
        features: (N, C, H, W) features of the image being optimised.
        target: the target features, same shape (or broadcastable).

    Returns:
        A scalar tensor, 0 when ``features == target``.

    Example:
        >>> f = torch.randn(1, 8, 4, 4)
        >>> content_loss(f, f).item(), content_loss(torch.zeros_like(f), f).item()
        (0.0, 1.0)
    """
    for arg, t in (("features", features), ("target", target)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{arg} must be a floating-point torch.Tensor; got {type(t).__name__}")
    if torch.broadcast_shapes(features.shape, target.shape) != features.shape:
        raise ValueError(f"target must have the shape of features {tuple(features.shape)}; got {tuple(target.shape)}")
    return _relative_error(features, target)


def _layer_weights(layers, arg: str) -> dict:
    if isinstance(layers, str):
        layers = [layers]
    if isinstance(layers, Mapping):
        weights = dict(layers)
    elif isinstance(layers, (list, tuple)):
        weights = {name: 1.0 / max(len(layers), 1) for name in layers}
    else:
        raise TypeError(f"{arg} must be a list of layer names or a dict {{name: weight}}; got {type(layers).__name__}")
    if not weights:
        raise ValueError(f"{arg} must name at least one layer; got none")
    for name, w in weights.items():
        if not isinstance(name, str):
            raise TypeError(f"{arg} must hold layer names (str); got {type(name).__name__}")
    return {name: _validate.real(w, f"{arg} weights must be finite numbers >= 0, so {arg}[{name!r}]",
                                 minimum=0) for name, w in weights.items()}


def style_loss(features: Mapping, targets: Mapping, weights=None) -> torch.Tensor:
    """Weighted sum over layers of the relative error between Gram matrices.

        L_style = sum_l w_l ||G_l - A_l||^2 / ||A_l||^2,

    ``G_l`` the Gram matrices (:func:`gram_matrix`) of ``features[l]``, ``A_l``
    those of ``targets[l]``. Equal weights ``1 / L`` by default, as in Gatys et al.

    Args:
        features: ``{layer: (N, C, H, W)}`` of the image being optimised.
        targets: ``{layer: (N or 1, C, H', W')}`` of the style image (sizes may differ).
        weights: ``{layer: w_l}``, default equal weights over the layers of ``features``.

    Returns:
        A scalar tensor, 0 when both describe the same image.

    Example:
        >>> acts = vizlib.activations.get_activations(model, x[:1], ["features.relu1", "features.relu2"])
        >>> style_loss(acts, acts).item()
        0.0
    """
    if not isinstance(features, Mapping) or not isinstance(targets, Mapping):
        raise TypeError("features and targets must be dicts {layer: (N, C, H, W) tensor}")
    weights = _layer_weights(list(features) if weights is None else weights, "weights")
    total = None
    for name, w in weights.items():
        if name not in features or name not in targets:
            raise ValueError(f"layer {name!r} must be in both features and targets")
        g, a = gram_matrix(features[name]), gram_matrix(targets[name])
        if a.shape[0] not in (1, g.shape[0]) or a.shape[1:] != g.shape[1:]:
            raise ValueError(f"targets[{name!r}] must have 1 or {g.shape[0]} images and {g.shape[1]} channels; "
                             f"got {tuple(targets[name].shape)}")
        term = w * _relative_error(g, a.expand_as(g))
        total = term if total is None else total + term
    return total


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels of (N, C, H, W) images: a smoothness prior
    (Mahendran and Vedaldi, 2015)."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        raise ValueError("image must be a tensor of shape (N, C, H, W)")
    return (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean() + (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean()


def _check_images(images, model, arg: str) -> torch.Tensor:
    if isinstance(images, torch.Tensor) and (images.ndim != 4 or images.shape[1] != 3):
        raise ValueError(f"{arg} must have shape (N, 3, H, W) (add a batch dimension with {arg}[None]); "
                         f"got {tuple(images.shape)}")
    _check_input(images, model, arg, space="[0, 1]", then="")
    lo, hi = images.min().item(), images.max().item()
    if lo < 0 or hi > 1:
        raise ValueError(f"{arg} must lie in [0, 1] (not normalised); got values in [{lo:.3g}, {hi:.3g}]")
    return images.detach()


def _check_number(value, arg: str, *, positive: bool = False) -> float:
    """A finite number, > 0 with ``positive``, else >= 0 (weights, learning rates, densities)."""
    return _validate.real(value, arg, positive=True) if positive else _validate.real(value, arg, minimum=0)


def _preprocess(preprocess) -> Callable:
    if isinstance(preprocess, str):
        from ..models import is_course, normalize

        is_course(preprocess)  # validates the name
        return lambda x: normalize(x, preprocess)
    if callable(preprocess):
        return preprocess
    raise TypeError(f"preprocess must be a model name such as 'course' or 'vgg19', or a callable; "
                    f"got {type(preprocess).__name__}")


def _start(init, shape, reference, seed: int, arg: str = "init") -> torch.Tensor:
    """Starting image: 'noise' (grey 0.5 plus uniform noise in [-0.1, 0.1]), 'content'
    (``reference``) or a tensor."""
    if isinstance(init, torch.Tensor):
        if tuple(init.shape) != tuple(shape):
            raise ValueError(f"{arg} must have shape {tuple(shape)}; got {tuple(init.shape)}")
        return init.detach().to(reference.device, reference.dtype).clamp(0, 1).clone()
    if isinstance(init, str) and init == "noise":
        gen = torch.Generator().manual_seed(seed)
        noise = 0.5 + 0.2 * (torch.rand(shape, generator=gen) - 0.5)
        return noise.to(reference.device, reference.dtype)
    if isinstance(init, str) and init == "content":
        return reference.detach().expand(shape).clone()
    raise ValueError(f"{arg} must be 'noise', 'content' or a tensor; got {init!r}")
