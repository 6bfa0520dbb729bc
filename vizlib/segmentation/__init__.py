"""From a saliency map to an object mask: seeds, colour models and a graph cut.

Simonyan et al. (2014, section 3.1) turn an image-specific class saliency map
into a segmentation without any segmentation training: the most salient pixels
(above the map's 95% quantile) are taken as foreground seeds, the least salient
(below its 30% quantile) as background seeds, colour models are estimated from
both, and a graph cut (Boykov and Jolly 2001, as in GrabCut, Rother et al. 2004)
propagates the labels to the rest of the image. This module implements that
pipeline in small parts, each usable on its own:

* :func:`seed_masks` - foreground/background seeds from the map's quantiles;
* :func:`colour_costs` - unary costs ``-log p(colour | fg or bg)`` from seed
  colour histograms;
* :func:`contrast_weights` - contrast-sensitive Potts weights between 4-neighbours;
* :func:`graph_cut` - the exact minimum of the binary energy below, by a
  minimum s-t cut (``scipy.sparse.csgraph.maximum_flow``);
* :func:`energy` - that energy, evaluated for a given labelling;
* :func:`largest_component` - the largest connected part of a mask, which the
  paper keeps as the object;
* :func:`saliency_segmentation` (one image) and :func:`saliency_segmentation_batch`
  (N images) - the whole pipeline;
* :func:`threshold_segmentation` - the baseline: keep the map's top pixels;
* :func:`iou` - intersection over union against a ground-truth mask.

The energy of a labelling ``L`` (True = foreground) is::

    E(L) = sum_p cost_fg[p] * L[p] + cost_bg[p] * (1 - L[p])
           + sum_{p~q} w[p, q] * [L[p] != L[q]]

over 4-connected neighbours ``p~q``; seeds can be imposed as hard constraints.

Masks are returned as NumPy bool arrays; maps and images may be NumPy arrays
or torch tensors.

Example:
    >>> sal = vizlib.attribution.saliency(model, vizlib.normalize(images, "course"), labels)
    >>> pred = saliency_segmentation_batch(sal, images)       # (8, 64, 64) bool
    >>> round(float(iou(pred, masks).mean()), 2)              # masks: the true object masks
    0.91

The package has two modules: ``parts`` (seeds, costs, weights, graph cut) and ``pipelines``.
"""
from __future__ import annotations

from ._common import SMOOTHNESS
from .parts import colour_costs, contrast_weights, energy, graph_cut, seed_masks
from .pipelines import (
    iou,
    largest_component,
    saliency_segmentation,
    saliency_segmentation_batch,
    threshold_segmentation,
)


__all__ = [
    "SMOOTHNESS",
    "colour_costs",
    "contrast_weights",
    "energy",
    "graph_cut",
    "iou",
    "largest_component",
    "saliency_segmentation",
    "saliency_segmentation_batch",
    "seed_masks",
    "threshold_segmentation",
]
