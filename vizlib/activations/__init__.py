"""Activations: what a network computes at each layer, and where each unit looks.

:func:`capture` records layer outputs during a forward pass (hooks exist only
inside the ``with`` block); :func:`get_activations` runs the forward pass for
you and stops as soon as the deepest requested layer has fired.
:func:`receptive_field` computes, from the kernel, stride, padding and dilation
of every convolution and pooling layer on the way, which input pixels a unit
of a layer can see, and :func:`top_patches` finds the dataset patches that drive
a channel hardest, as in Zeiler and Fergus (2014).

Example:
    >>> with capture(model, ["features.conv1", "features.conv4"]) as acts:
    ...     logits = model(x)
    >>> acts["features.conv1"].shape
    torch.Size([8, 32, 32, 32])
    >>> receptive_field(model, "features.conv4", 64).size
    81

The package has one module per part: ``capture``, ``receptive`` (receptive fields) and ``top``.
"""
from __future__ import annotations

from .capture import (
    _check_input,
    _check_int,
    _forward_collect,
    _resolve,
    capture,
    get_activations,
    layer_names,
)
from .receptive import ReceptiveField, receptive_field, receptive_field_of_stack
from .top import TopActivations, TopPatches, crop_patches, top_activations, top_patches


__all__ = [
    "ReceptiveField",
    "TopActivations",
    "TopPatches",
    "capture",
    "crop_patches",
    "get_activations",
    "layer_names",
    "receptive_field",
    "receptive_field_of_stack",
    "top_activations",
    "top_patches",
]
