"""Class model and unit visualisation: gradient ascent on the input image.

Class model visualisation (Simonyan et al. 2014) looks for the image that a
network scores highest for a class,

    I* = argmax_I  S_c(I) - l2 * ||I||^2,

where ``S_c`` is the pre-softmax score (logit) of class ``c``. Plain ascent
gives noisy, high-frequency images; Yosinski et al. (2015) make them legible
with four operators applied between steps (L2 decay, Gaussian blur every few
steps, zeroing pixels of small norm, zeroing pixels of small contribution) and
random jitter. Each can be switched off on its own.

The parts are small and composable, in the manner of Lucid/Lucent:

- an :class:`Objective` (a callable of a lookup ``T``) that supports ``+``,
  ``-`` and multiplication by numbers: :func:`class_score`, :func:`channel`,
  :func:`squared_norm`;
- transforms applied before each forward pass (:func:`jitter`, :func:`compose`);
- regularisers applied after each step (:func:`blur_every`,
  :func:`norm_clipping`, :func:`contribution_clipping`);
- one loop, :func:`render`, that :func:`class_model` and :func:`channel_model`
  call. The image is parameterised directly by its pixels in the model's input
  space.

Example:
    >>> result = class_model(model, target=3, init="noise", steps=20, progress=False)
    >>> result.image.shape, round(float(result.history["prob"][-1]), 2)    # the class-3 probability
    (torch.Size([1, 3, 64, 64]), 1.0)

The package has one module per part: ``objectives``, ``regularisers`` (transforms and
regularisers), ``render`` (the loop), ``front`` (class_model, channel_model) and ``measures``.
"""
from __future__ import annotations

from .objectives import NO_REGULARISATION, Objective, Synthesis, channel, class_score, squared_norm
from .regularisers import (
    blur_every,
    clip_small_contribution,
    clip_small_norm,
    compose,
    contribution_clipping,
    gaussian_blur,
    jitter,
    norm_clipping,
)
from .render import render
from .front import _start_image, channel_model, class_model  # noqa: F401  (_start_image: tests)
from .measures import correlations, high_frequency_energy, region_energy_fraction, to_display

__all__ = [
    "NO_REGULARISATION",
    "Objective",
    "Synthesis",
    "blur_every",
    "channel",
    "channel_model",
    "class_model",
    "class_score",
    "clip_small_contribution",
    "clip_small_norm",
    "compose",
    "contribution_clipping",
    "correlations",
    "gaussian_blur",
    "high_frequency_energy",
    "jitter",
    "norm_clipping",
    "region_energy_fraction",
    "render",
    "squared_norm",
    "to_display",
]
