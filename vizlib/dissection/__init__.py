"""Network dissection: what single units detect, scored against exact concept masks.

Network dissection (Bau et al. 2017) labels a unit by the annotated concept that its strongest
activations cover best: the unit's feature map, upsampled to the image, is thresholded at its
top ``quantile`` over a data set, and the resulting masks are compared with each concept's masks
by their intersection over union (IoU), summed over the data set. A unit whose best IoU exceeds
a cut (Bau et al.: 0.04) is "interpretable". Dissection usually needs a large hand-annotated
data set; the toy world annotates itself, so here every concept is exact.

- :func:`concepts` derives 32 concepts from the toy world's images, labels and masks (object,
  background, boundary band, each shape, the object's colour, tones, leaf edges, positional
  controls) as a compact :class:`Concepts`;
- :func:`dissect` scores every unit of one or several layers in two streaming passes and
  returns a :class:`Dissection` (one :class:`Unit` record per unit);
- :func:`summarise` counts interpretable units and distinct labels per layer;
  :func:`null_cuts` gives a stricter cut from the permutation null (each image's unit masks
  scored against another image's concepts, ``dissect(..., null=True)``).

Example:
    >>> c = concepts(images, labels, masks)
    >>> d = dissect(model, ["features.relu1", "features.relu2"], x, c)
    >>> len(d), len(c.names)
    (96, 32)
    >>> [s.units for s in summarise(d, cut=0.04)]
    [32, 64]

The package has one module per part: ``concepts`` (the concept masks), ``dissect`` (the
passes over the images) and ``results`` (the records and the summaries).
"""
from __future__ import annotations

from .concepts import BASES, HUES, Concepts, concepts
from .dissect import dissect, interpolation_matrix
from .results import CUT, SHAPE_KINDS, Dissection, LayerSummary, Unit, null_cuts, summarise

__all__ = [
    "BASES",
    "CUT",
    "Concepts",
    "Dissection",
    "HUES",
    "LayerSummary",
    "SHAPE_KINDS",
    "Unit",
    "concepts",
    "dissect",
    "interpolation_matrix",
    "null_cuts",
    "summarise",
]
