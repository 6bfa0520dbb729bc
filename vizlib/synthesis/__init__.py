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
  :func:`neuron`, :func:`diversity`, :func:`squared_norm`; a layer name with
  ``":input"`` reads that layer's input (the pre-ReLU activation of a ReLU);
- a parameterisation ``(params, image_fn)``: :func:`pixel_image`, :func:`fourier_image`
  (1/f spectrum), with decorrelated colour (:func:`toy_colour_matrix`);
- transforms applied before each forward pass (:func:`jitter`, :func:`scale`,
  :func:`rotate`, combined with :func:`compose` or :func:`robust_transforms`);
- regularisers applied after each step (:func:`blur_every`,
  :func:`norm_clipping`, :func:`contribution_clipping`, :func:`range_clipping`);
- one loop, :func:`render`, that :func:`class_model`, :func:`channel_model` and
  :func:`feature_vis` call: on pixels in the model's input space (``image=``), or on a
  parameterisation with Adam (``param=``);
- measures: :func:`evaluate` (a unit's value on any image, for any model),
  :func:`high_frequency_energy`, :func:`out_of_range`, :func:`clip_valid`.

Example:
    >>> result = class_model(model, target=3, init="noise", steps=20, progress=False)
    >>> result.image.shape, round(float(result.history["prob"][-1]), 2)    # the class-3 probability
    (torch.Size([1, 3, 64, 64]), 1.0)

The package has one module per part: ``objectives``, ``params`` (parameterisations),
``regularisers`` (transforms and regularisers), ``render`` (the loop), ``front``
(class_model, channel_model, feature_vis) and ``measures``.
"""
from __future__ import annotations

from .objectives import (
    INPUT,
    NO_REGULARISATION,
    Objective,
    Synthesis,
    channel,
    class_score,
    diversity,
    neuron,
    squared_norm,
)
from .params import (
    Parameterisation,
    colour_matrix,
    fourier_image,
    pixel_image,
    space_stats,
    spectrum_scale,
    toy_colour_matrix,
)
from .regularisers import (
    blur_every,
    clip_small_contribution,
    clip_small_norm,
    compose,
    contribution_clipping,
    gaussian_blur,
    jitter,
    norm_clipping,
    range_clipping,
    robust_transforms,
    rotate,
    scale,
)
from .render import render
from .front import _start_image, channel_model, class_model, feature_vis, relu_of  # noqa: F401  (_start_image: tests)
from .measures import (
    clip_valid,
    correlations,
    evaluate,
    high_frequency_energy,
    out_of_range,
    region_energy_fraction,
    to_display,
)

__all__ = [
    "INPUT",
    "NO_REGULARISATION",
    "Objective",
    "Parameterisation",
    "Synthesis",
    "blur_every",
    "channel",
    "channel_model",
    "class_model",
    "class_score",
    "clip_small_contribution",
    "clip_small_norm",
    "clip_valid",
    "colour_matrix",
    "compose",
    "contribution_clipping",
    "correlations",
    "diversity",
    "evaluate",
    "feature_vis",
    "fourier_image",
    "gaussian_blur",
    "high_frequency_energy",
    "jitter",
    "neuron",
    "norm_clipping",
    "out_of_range",
    "pixel_image",
    "range_clipping",
    "region_energy_fraction",
    "relu_of",
    "render",
    "robust_transforms",
    "rotate",
    "scale",
    "space_stats",
    "spectrum_scale",
    "squared_norm",
    "to_display",
]
