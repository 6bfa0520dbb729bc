"""Neural style: content reconstruction, Gram-matrix textures and style transfer.

Gatys, Ecker and Bethge describe an image to a CNN in two ways: its *content*
is the feature maps of one layer (where what is), its *style* the Gram matrices
of several layers (which features occur together, wherever they are). Each
function here optimises the pixels of an image, starting from noise or from the
content image, until its description matches a target:

- :func:`reconstruct`: match one layer's feature maps (Mahendran and Vedaldi, 2015);
- :func:`texture`: match the Gram matrices of several layers (Gatys et al., 2015);
- :func:`transfer`: match the content of one image and the style of another (Gatys et al., 2016).

Images are (N, 3, H, W) in [0, 1]; ``preprocess`` maps them to the model's input
(a model name for :func:`vizlib.normalize`, or a callable). The optimiser is Adam
on the pixels, which are clipped to [0, 1] after every step. The model runs in
eval mode with ``requires_grad`` off; both are restored afterwards, also on error.

Example:
    >>> content, style = images[:1], brushstrokes(64, seed=1)[None]     # (1, 3, 64, 64) each
    >>> image, history = transfer(model, content, style, content_layer="features.relu3",
    ...                           style_layers=["features.relu1", "features.relu2"],
    ...                           steps=5, progress=False)             # steps=200 for a real picture
    >>> image.shape, len(history["total"])                            # one loss value per step
    (torch.Size([1, 3, 64, 64]), 5)
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Mapping, NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .activations import _check_input, _check_int, _forward_collect, _resolve
from .hooks import check_model, running

__all__ = [
    "StyleResult", "brushstrokes", "content_loss", "gram_matrix", "reconstruct", "style_loss",
    "texture", "total_variation", "transfer",
]


class StyleResult(NamedTuple):
    """Result of an optimisation: ``image`` (N, 3, H, W) in [0, 1] on the model's device, and
    ``history``, a dict of per-step losses (NumPy arrays of length ``steps``, each measured
    before that step's update): always ``"total"``, plus ``"content"``, ``"style"`` and
    ``"tv"`` where they apply."""

    image: torch.Tensor
    history: dict


# ----------------------------------------------------------------------------- losses
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
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
            raise ValueError(f"{arg} weights must be finite numbers >= 0; got {w!r} for {name!r}")
    return {name: float(w) for name, w in weights.items()}


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


# ----------------------------------------------------------------------------- validation
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
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{arg} must be a finite number; got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{arg} must be {'> 0' if positive else '>= 0'}; got {value!r}")
    return float(value)


def _preprocess(preprocess) -> Callable:
    if isinstance(preprocess, str):
        from .models import is_course, normalize

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


# ----------------------------------------------------------------------------- the loop
def _optimise(model, start, layer_pairs, losses: Callable, *, steps, lr, preprocess, tv_weight, progress, desc):
    """Adam on the pixels of ``start``; ``losses(acts) -> {name: (weight, scalar)}``."""
    image = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([image], lr=lr)  # built once
    history: dict = {}
    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=True)
    for _ in bar:
        optimiser.zero_grad(set_to_none=True)
        acts = _forward_collect(model, preprocess(image), layer_pairs, detach=False)
        terms = losses(acts)
        if tv_weight > 0:
            terms["tv"] = (tv_weight, total_variation(image))
        total = sum(w * v for w, v in terms.values())
        total.backward()
        optimiser.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        history.setdefault("total", []).append(total.item())
        for name, (_, value) in terms.items():
            history.setdefault(name, []).append(value.item())
        if progress:
            bar.set_postfix(loss=f"{total.item():.4g}", refresh=False)
    bar.close()
    return StyleResult(image.detach(), {k: np.asarray(v) for k, v in history.items()})


def _common(model, steps, lr, tv_weight, seed, progress, preprocess):
    check_model(model)
    steps = _check_int(steps, "steps")
    lr = _check_number(lr, "lr", positive=True)
    tv_weight = _check_number(tv_weight, "tv_weight")
    seed = _check_int(seed, "seed", minimum=0)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool; got {type(progress).__name__}")
    return steps, lr, tv_weight, seed, _preprocess(preprocess)


def _targets(model, images, pairs, preprocess):
    with torch.no_grad():
        return _forward_collect(model, preprocess(images), pairs, detach=True)


def reconstruct(model: nn.Module, layer, target_image: torch.Tensor, *, steps: int = 200, lr: float = 0.02,
                init="noise", tv_weight: float = 0.0, preprocess="course", seed: int = 0,
                progress: bool = True) -> StyleResult:
    """Content reconstruction: the image whose ``layer`` features match those of ``target_image``.

    Minimises :func:`content_loss` ``||F(x) - F(target)||^2 / ||F(target)||^2``
    (plus ``tv_weight`` times :func:`total_variation`) over the pixels ``x``
    (Mahendran and Vedaldi, 2015; Gatys et al., 2016, Fig. 1). From a shallow
    layer the result is nearly the image; from a deep layer it keeps the layout
    and the parts the network cares about and loses the exact pixels.

    Args:
        model: a CNN; its parameters and flags are restored afterwards.
        layer: name or module of the layer whose features are matched.
        target_image: (N, 3, H, W) in [0, 1], on the model's device.
        steps: Adam steps (>= 1). lr: Adam's step size in pixel units (> 0).
        init: ``"noise"`` (grey plus uniform noise of +-0.1, seeded: large white noise
            would survive in the result wherever the network is blind to it),
            ``"content"`` (the target itself) or a tensor (N, 3, H, W).
        tv_weight: weight of the smoothness prior (>= 0).
        preprocess: a model name for :func:`vizlib.normalize` or a callable.
        seed: seeds the noise (the global RNG is not touched).
        progress: show a progress bar.

    Returns:
        :class:`StyleResult` ``(image, history)`` with ``history["content"]``.

    Example:
        >>> image, hist = reconstruct(model, "features.relu2", images[:1], steps=5, progress=False)
        >>> image.shape, bool(hist["content"][-1] < hist["content"][0])   # steps=200 for a real picture
        (torch.Size([1, 3, 64, 64]), True)
    """
    steps, lr, tv_weight, seed, pre = _common(model, steps, lr, tv_weight, seed, progress, preprocess)
    target_image = _check_images(target_image, model, "target_image")
    pairs = _resolve(model, layer)
    if len(pairs) != 1:
        raise ValueError("layer must be a single layer")
    name = pairs[0][0]
    start = _start(init, target_image.shape, target_image, seed)
    with running(model):
        target = _targets(model, target_image, pairs, pre)[name]

        def losses(acts):
            return {"content": (1.0, content_loss(acts[name], target))}

        return _optimise(model, start, pairs, losses, steps=steps, lr=lr, preprocess=pre,
                         tv_weight=tv_weight, progress=progress, desc=f"reconstruct {name}")


def _size(size, style) -> tuple[int, int]:
    if size is None:
        return tuple(style.shape[-2:])
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size)):
        raise ValueError(f"size must be a positive int or (height, width); got {size!r}")
    return int(size[0]), int(size[1])


def texture(model: nn.Module, style: torch.Tensor, *, style_layers, steps: int = 200, size=None,
            lr: float = 0.02, init="noise", tv_weight: float = 0.0, preprocess="course", seed: int = 0,
            progress: bool = True) -> StyleResult:
    """Texture synthesis: an image whose Gram matrices at ``style_layers`` match those of ``style``.

    Minimises :func:`style_loss` from noise (Gatys et al., 2015). The Gram
    matrices keep which features co-occur and drop where they are, so the
    result is a new sample of the same texture, not a copy.

    Args:
        model: a CNN; its parameters and flags are restored afterwards.
        style: (1, 3, H, W) texture in [0, 1], on the model's device.
        style_layers: list of layer names (equal weights) or ``{name: weight}``.
        steps, lr, init, tv_weight, preprocess, seed, progress: as in :func:`reconstruct`.
        size: side or (height, width) of the synthesised image; default that of ``style``.

    Returns:
        :class:`StyleResult` ``(image, history)``; image (1, 3, *size), ``history["style"]``.

    Example:
        >>> brush = brushstrokes(64, seed=1)[None]                       # (1, 3, 64, 64)
        >>> image, hist = texture(model, brush, style_layers=["features.relu1", "features.relu2"],
        ...                       steps=5, progress=False)               # steps=200 for a real texture
        >>> image.shape
        torch.Size([1, 3, 64, 64])
    """
    steps, lr, tv_weight, seed, pre = _common(model, steps, lr, tv_weight, seed, progress, preprocess)
    style = _check_images(style, model, "style")
    weights = _layer_weights(style_layers, "style_layers")
    pairs = _resolve(model, list(weights))
    shape = (style.shape[0], 3, *_size(size, style))
    if isinstance(init, str) and init == "content":
        raise ValueError("init must be 'noise' or a tensor for texture; got 'content'")
    start = _start(init, shape, style, seed)
    with running(model):
        targets = _targets(model, style, pairs, pre)

        def losses(acts):
            return {"style": (1.0, style_loss(acts, targets, weights))}

        return _optimise(model, start, pairs, losses, steps=steps, lr=lr, preprocess=pre,
                         tv_weight=tv_weight, progress=progress, desc="texture")


def transfer(model: nn.Module, content: torch.Tensor, style: torch.Tensor, *, content_layer, style_layers,
             steps: int = 200, content_weight: float = 1.0, style_weight: float = 10.0, tv_weight: float = 0.0,
             lr: float = 0.02, init="content", preprocess="course", seed: int = 0,
             progress: bool = True) -> StyleResult:
    """Style transfer: ``content``'s layout painted with ``style``'s textures (Gatys et al., 2016).

    Minimises ``content_weight * L_content + style_weight * L_style
    (+ tv_weight * TV)`` over the pixels, with :func:`content_loss` at
    ``content_layer`` and :func:`style_loss` over ``style_layers``. Both losses
    are relative errors, so the weights mean the same for every network: the
    ratio ``style_weight / content_weight`` trades likeness for style.

    Args:
        model: a CNN; its parameters and flags are restored afterwards.
        content: (N, 3, H, W) in [0, 1], on the model's device.
        style: (1 or N, 3, H', W') in [0, 1]; its size may differ from ``content``'s.
        content_layer: name of the layer whose features carry the content.
        style_layers: list of layer names (equal weights) or ``{name: weight}``.
        steps: Adam steps (>= 1). lr: step size in pixel units.
        content_weight, style_weight, tv_weight: the loss weights (>= 0).
        init: ``"content"`` (default; converges in fewer steps), ``"noise"`` or a tensor.
        preprocess, seed, progress: as in :func:`reconstruct`.

    Returns:
        :class:`StyleResult` ``(image, history)`` with ``"content"`` and ``"style"`` histories
        (unweighted) and ``"total"`` (weighted).

    Example:
        >>> cat = vizlib.images.photo("cat", 64)[None]                    # (1, 3, 64, 64)
        >>> image, hist = transfer(model, cat, brushstrokes(96, seed=1)[None], content_layer="features.relu3",
        ...                        style_layers=["features.relu1", "features.relu2", "features.relu3"],
        ...                        steps=5, progress=False)              # steps=200 for a real picture
        >>> sorted(hist)
        ['content', 'style', 'total']
    """
    steps, lr, tv_weight, seed, pre = _common(model, steps, lr, tv_weight, seed, progress, preprocess)
    content = _check_images(content, model, "content")
    style = _check_images(style, model, "style")
    if style.shape[0] not in (1, content.shape[0]):
        raise ValueError(f"style must hold 1 or {content.shape[0]} images; got {style.shape[0]}")
    content_weight = _check_number(content_weight, "content_weight")
    style_weight = _check_number(style_weight, "style_weight")
    weights = _layer_weights(style_layers, "style_layers")
    content_pairs = _resolve(model, content_layer)
    if len(content_pairs) != 1:
        raise ValueError("content_layer must be a single layer")
    content_name = content_pairs[0][0]
    style_pairs = _resolve(model, list(weights))
    pairs = list(dict(style_pairs + content_pairs).items())
    start = _start(init, content.shape, content, seed)
    with running(model):
        content_target = _targets(model, content, content_pairs, pre)[content_name]
        style_targets = _targets(model, style, style_pairs, pre)

        def losses(acts):
            return {"content": (content_weight, content_loss(acts[content_name], content_target)),
                    "style": (style_weight, style_loss(acts, style_targets, weights))}

        return _optimise(model, start, pairs, losses, steps=steps, lr=lr, preprocess=pre,
                         tv_weight=tv_weight, progress=progress, desc="style transfer")


# ----------------------------------------------------------------------------- a style image
#: Colours of :func:`brushstrokes`: night blues with a few yellow and white strokes.
PALETTE = np.array([
    (0.06, 0.12, 0.32), (0.12, 0.25, 0.55), (0.22, 0.40, 0.72), (0.45, 0.62, 0.85),
    (0.10, 0.30, 0.45), (0.95, 0.84, 0.30), (0.92, 0.62, 0.18), (0.90, 0.92, 0.85),
])
_PALETTE_P = np.array([0.18, 0.2, 0.16, 0.12, 0.1, 0.1, 0.06, 0.08])


def brushstrokes(size: int = 96, *, seed: int = 0, density: float = 0.06) -> torch.Tensor:
    """A generated painting-like style image: short curved strokes that follow a swirling flow.

    Strokes are ellipses, oriented along a smooth random flow field and
    coloured from :data:`PALETTE` with a little shading across each stroke
    (a stand-in for a painting, since no painting ships offline).

    Args:
        size: side in pixels (>= 16).
        seed: the same seed gives the same image.
        density: strokes per pixel (> 0).

    Returns:
        (3, size, size) float32 in [0, 1].

    Example:
        >>> brushstrokes(96, seed=1).shape
        torch.Size([3, 96, 96])
    """
    size = _check_int(size, "size", minimum=16)
    seed = _check_int(seed, "seed", minimum=0)
    density = _check_number(density, "density", positive=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    phase = rng.uniform(0, 2 * np.pi, 4)
    flow = lambda y, x: np.pi * (np.sin(2.3 * np.pi * x + phase[0]) * np.cos(1.7 * np.pi * y + phase[1])  # noqa: E731
                                 + 0.5 * np.sin(3.1 * np.pi * y + phase[2]))
    img = np.empty((size, size, 3), np.float32)
    img[:] = PALETTE[0]
    n = int(density * size * size)
    for _ in range(n):
        cy, cx = rng.uniform(0, 1, 2)
        angle = flow(cy, cx) + rng.normal(0, 0.15)
        length, width = rng.uniform(0.05, 0.11), rng.uniform(0.012, 0.025)
        colour = PALETTE[rng.choice(len(PALETTE), p=_PALETTE_P)] * rng.uniform(0.85, 1.1)
        r = int((length + 0.02) * size) + 1
        i0, i1 = max(int(cy * size) - r, 0), min(int(cy * size) + r + 1, size)
        j0, j1 = max(int(cx * size) - r, 0), min(int(cx * size) + r + 1, size)
        dy, dx = yy[i0:i1, j0:j1] - cy, xx[i0:i1, j0:j1] - cx
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        v = v - 2.0 * u * u  # a slight bend
        inside = (u / length) ** 2 + (v / width) ** 2 <= 1
        shade = 1 + 0.25 * np.clip(v / width, -1, 1)
        img[i0:i1, j0:j1][inside] = (colour[None, :] * shade[inside][:, None]).clip(0, 1)
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()
