"""Reconstruction, texture synthesis and style transfer."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..activations import _check_int, _forward_collect, _resolve
from ..hooks import check_model, running
from .losses import (
    StyleResult,
    _check_images,
    _check_number,
    _layer_weights,
    _preprocess,
    _start,
    content_loss,
    style_loss,
    total_variation,
)


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
