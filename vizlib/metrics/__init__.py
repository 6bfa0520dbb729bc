"""Scoring explanations: ground-truth metrics, causal curves and sanity checks.

Three families of checks, all returning numbers instead of pictures:

* **Ground truth** (the toy world knows where each object is):
  :func:`pointing_game` (is the map's maximum on the object? Zhang et al.
  2016) and :func:`mass_in_mask` (which share of the map's mass is on it?).
* **Causal curves** (Petsiuk et al. 2018): :func:`deletion_curve` removes
  pixels from most to least important and records the target probability;
  :func:`insertion_curve` adds them back to a blank image. A good map makes
  the deletion curve fall fast (small area) and the insertion curve rise fast
  (large area).
* **Sanity checks** (Adebayo et al. 2018): :func:`randomize_layers` re-initialises
  the top layers of a copy of the model, :func:`train_on_shuffled_labels` trains
  one on shuffled labels; :func:`rank_correlation` (Spearman) and :func:`ssim`
  measure how much the maps changed.

And the model's own numbers beside the maps: :func:`calibration` (accuracy, confidence and
expected calibration error).

Baselines that any method must beat: :func:`random_maps` and :func:`center_maps`.

Maps are (N, H, W). Maps with channels, (N, C, H, W), are reduced with
:func:`reduce_channels`, the maximum of ``|map|`` over channels (the reduction of
Simonyan et al. 2014), by every function here; reduce them yourself first if you
prefer another reduction.

Example:
    >>> maps = vizlib.attribution.saliency(model, x, labels)        # (8, 64, 64)
    >>> vizlib.metrics.pointing_game(maps, masks).float().mean()    # share of hits
    tensor(1.)
    >>> curve, area = vizlib.metrics.deletion_curve(model, x, labels, maps, n_steps=8)
    >>> curve.shape, area.shape
    (torch.Size([8, 9]), torch.Size([8]))

The package has one module per question: ``ground_truth`` (maps against masks, baselines),
``causal`` (deletion and insertion), ``sanity`` (randomisation checks, similarity, all at once)
and ``calibration`` (is the model as sure as it is right?).
"""
from __future__ import annotations

from .ground_truth import center_maps, mass_in_mask, pointing_game, random_maps, reduce_channels
from .calibration import calibration
from .causal import deletion_curve, insertion_curve
from .sanity import (
    randomization_order,
    randomize_layers,
    rank_correlation,
    score_maps,
    ssim,
    train_on_shuffled_labels,
)


__all__ = [
    "calibration",
    "reduce_channels",
    "pointing_game",
    "mass_in_mask",
    "deletion_curve",
    "insertion_curve",
    "randomization_order",
    "randomize_layers",
    "train_on_shuffled_labels",
    "rank_correlation",
    "ssim",
    "random_maps",
    "center_maps",
    "score_maps",
]
