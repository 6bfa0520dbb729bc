"""class_model and channel_model: the regularised recipes of the chapter."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..hooks import check_model, first_conv, get_module

#: Keyword arguments of :func:`class_model` / :func:`channel_model` that switch every
#: regulariser off: plain gradient ascent on the score, as in Simonyan et al. (2014).
from .objectives import (
    Synthesis,
    _channel_objective,
    _check_index,
    _is_number,
    class_score,
    squared_norm,
)
from .regularisers import _check_fraction, blur_every, contribution_clipping, jitter, norm_clipping
from .render import _check_lr, _check_positive_int, render


def _first_conv_channels(model: nn.Module) -> int:
    found = first_conv(model, required=False)
    return found[1].in_channels if found else 3


def _start_image(model, init, image_size, seed):
    from ..models import CourseNet, IMAGENET_SIZE
    from ..data import IMAGE_SIZE

    channels = _first_conv_channels(model)
    if isinstance(init, torch.Tensor):
        if init.ndim != 4 or init.shape[0] != 1 or init.shape[1] != channels:
            raise ValueError(f"init must be 'zeros', 'noise' or a tensor of shape (1, {channels}, H, W); "
                             f"got shape {tuple(init.shape)}")
        if image_size is not None and tuple(init.shape[-2:]) != (image_size, image_size):
            raise ValueError(f"init has size {tuple(init.shape[-2:])} but image_size is {image_size}; "
                             "leave image_size=None to use the tensor's size")
        if not init.is_floating_point() or not torch.isfinite(init).all():
            raise ValueError("init must be a finite floating-point tensor")
        return init.detach().clone()
    if image_size is None:
        image_size = IMAGE_SIZE if isinstance(model, CourseNet) else IMAGENET_SIZE
    image_size = _check_positive_int(image_size, "image_size")
    shape = (1, channels, image_size, image_size)
    if init == "zeros":
        return torch.zeros(shape)
    if init == "noise":
        gen = torch.Generator().manual_seed(seed)
        return 0.1 * torch.randn(shape, generator=gen)
    raise ValueError(f"init must be 'zeros', 'noise' or a tensor of shape {shape}; got {init!r}")


def _regularisers(l2, blur_every_, blur_sigma, norm_clip, contrib_clip, jitter_):
    if not _is_number(l2) or not math.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a number >= 0; got {l2!r}")
    if blur_every_ is not None and blur_every_ != 0:
        blur_every_ = _check_positive_int(blur_every_, "blur_every")
        if not _is_number(blur_sigma) or not blur_sigma > 0:
            raise ValueError(f"blur_sigma must be a positive number when blur_every is set; got {blur_sigma!r}")
    norm_clip = _check_fraction(norm_clip, "norm_clip")
    contrib_clip = _check_fraction(contrib_clip, "contrib_clip")
    n = _check_index(jitter_, "jitter")
    regs = []
    if blur_every_:
        regs.append(blur_every(blur_every_, blur_sigma))
    if norm_clip:
        regs.append(norm_clipping(norm_clip))
    if contrib_clip:
        regs.append(contribution_clipping(contrib_clip))
    return float(l2), regs, (jitter(n) if n else None)


def _check_decay(lr, l2):
    if 2 * lr * l2 >= 1:
        raise ValueError(
            f"lr * l2 must be below 0.5; got lr={lr:g}, l2={l2:g}: each step multiplies the image by "
            f"1 - 2 * lr * l2 = {1 - 2 * lr * l2:.3g}, which overshoots zero and can diverge. "
            "Lower lr or l2.")

_DOC_REGULARISERS = """
        steps: number of gradient-ascent updates (>= 1).
        lr: step size (> 0) of ``I <- I + lr * grad``. Plain gradient ascent, so
            the right value depends on the model's gradient scale: the default
            suits the course network.
        l2: weight of ``- l2 * ||I||^2`` in the objective (0 switches it off); its
            gradient ``-2 * l2 * I`` is the same as decaying the image by
            ``1 - 2 * lr * l2`` each step, so ``lr * l2`` must stay below 0.5.
        blur_every, blur_sigma: blur with a Gaussian of ``blur_sigma`` pixels after
            every ``blur_every``-th step (None or 0: off).
        norm_clip: after every step, zero this fraction of pixels with the smallest
            norm over channels (None or 0: off).
        contrib_clip: after every step, zero this fraction of pixels with the
            smallest contribution ``|sum_c I * grad|`` (None or 0: off).
        jitter: shift the image by up to this many pixels at random before each
            forward pass (0: off).
        image_size: side of the square image; default 64 for the course network,
            224 otherwise (or the size of an ``init`` tensor).
        init: ``"zeros"``, ``"noise"`` (N(0, 0.1^2) in input space) or a
            (1, C, H, W) tensor in input space (copied, not modified). A zero image is stuck when the gradient
            there is exactly zero, as when every ReLU of the first layer is off
            because all its biases are negative: a RuntimeWarning says so; start
            from ``"noise"`` instead.
        seed: seeds the noise and the jitter (the global RNG is not touched).
        progress: show a progress bar.
"""


def class_model(model: nn.Module, target: int, *, steps: int = 100, lr: float = 20.0,
                l2: float = 2e-3, blur_every: int | None = 4, blur_sigma: float = 0.6,
                norm_clip: float | None = 0.2, contrib_clip: float | None = None, jitter: int = 3,
                image_size: int | None = None, init="zeros", seed: int = 0,
                progress: bool = True) -> Synthesis:
    """Class model visualisation: the image that maximises ``S_c(I) - l2 * ||I||^2``.

    Simonyan et al. (2014) maximise the pre-softmax score ``S_c`` rather than
    the probability, which could also rise by lowering the other classes.
    The defaults are the regularised recipe of Yosinski et al. (2015) that works
    on the course network; ``**NO_REGULARISATION`` gives plain gradient ascent.

    Args:
        model: a classifier whose output is (N, classes) logits.
        target: class index in [0, classes).{regularisers}
    Returns:
        :class:`Synthesis` ``(image, history)``: ``image`` (1, C, H, W) in the
        model's input space; ``history["score"]`` and ``history["prob"]``, length
        ``steps + 1``.

    Example:
        >>> image, hist = class_model(model, 3, init="noise", steps=20, progress=False)
        >>> len(hist["score"]), bool(hist["score"][-1] > hist["score"][0])
        (21, True)
        >>> im = plt.imshow(to_display(image)[0].permute(1, 2, 0).numpy())
        >>> plt.close()
    """
    check_model(model)
    target = _check_index(target, "target")
    l2, regs, tr = _regularisers(l2, blur_every, blur_sigma, norm_clip, contrib_clip, jitter)
    _check_decay(_check_lr(lr), l2)
    start = _start_image(model, init, image_size, _check_index(seed, "seed"))
    objective = class_score(target) - l2 * squared_norm() if l2 > 0 else class_score(target)

    def record(T):
        logits = T("logits")
        return {"score": logits[0, target].item(), "prob": logits.softmax(1)[0, target].item()}

    return render(model, objective, start, steps=steps, lr=lr, transform=tr, regularisers=regs,
                  record=record, seed=seed, progress=progress, desc=f"class {target}")


def channel_model(model: nn.Module, layer: str, channel: int, *, steps: int = 100, lr: float = 200.0,
                  l2: float = 1e-3, blur_every: int | None = 4, blur_sigma: float = 0.6,
                  norm_clip: float | None = None, contrib_clip: float | None = None, jitter: int = 2,
                  image_size: int | None = None, init="noise", seed: int = 0,
                  progress: bool = True) -> Synthesis:
    """Unit visualisation: the image that maximises a channel's mean activation in ``layer``.

    The objective is ``mean_{x,y} A_{layer}[channel](I) - l2 * ||I||^2``
    (Erhan et al.'s activation maximisation, as in Olah et al. 2017), with the
    same regularisers as :func:`class_model`.

    Args:
        model: the network.
        layer: a layer name from ``model.named_modules()`` (for the course
            network ``"features.relu2"``, ...).
        channel: channel index in that layer's output.{regularisers}
    Returns:
        :class:`Synthesis` ``(image, history)`` with ``history["activation"]``.

    Example:
        >>> image, hist = channel_model(model, "features.conv2", 0, steps=20, progress=False)
        >>> image.shape, bool(hist["activation"][-1] > hist["activation"][0])
        (torch.Size([1, 3, 64, 64]), True)
    """
    check_model(model)
    get_module(model, layer)
    obj = _channel_objective(layer, channel)
    l2, regs, tr = _regularisers(l2, blur_every, blur_sigma, norm_clip, contrib_clip, jitter)
    _check_decay(_check_lr(lr), l2)
    start = _start_image(model, init, image_size, _check_index(seed, "seed"))
    objective = obj - l2 * squared_norm() if l2 > 0 else obj
    return render(model, objective, start, steps=steps, lr=lr, transform=tr, regularisers=regs,
                  record=lambda T: {"activation": obj(T).item()}, seed=seed, progress=progress,
                  desc=f"{layer}[{channel}]")

for _fn in (class_model, channel_model):
    if _fn.__doc__:  # None under ``python -OO``, which strips docstrings
        _fn.__doc__ = _fn.__doc__.replace("{regularisers}", _DOC_REGULARISERS.rstrip("\n"))

del _fn
