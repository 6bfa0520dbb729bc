"""Calibration: does the model's confidence match how often it is right?"""
from __future__ import annotations

import torch

from .. import _validate


def calibration(probs: torch.Tensor, labels, *, n_bins: int = 10, threshold: float = 0.9) -> dict:
    """Accuracy, mean confidence, share of unsure answers and expected calibration error.

    The confidence of an answer is its top probability. The expected calibration error (ECE;
    Naeini et al. 2015, Guo et al. 2017) sorts the answers into ``n_bins`` equal-width bins of
    confidence, (0, 1/B], (1/B, 2/B], ..., and averages ``|accuracy - mean confidence|`` over
    the bins, weighted by the share of answers in each: 0 for a calibrated model.

    Args:
        probs: (N, K) float class probabilities (softmax of the logits), each in [0, 1].
        labels: the true classes: an int, a sequence of N ints or an (N,) integer tensor.
        n_bins: number of confidence bins.
        threshold: an answer is "unsure" when its confidence is below this.

    Returns:
        A dict of floats ``accuracy``, ``confidence`` (mean), ``unsure`` (share below
        ``threshold``) and ``ece``, and ``bins``: a dict of (n_bins,) tensors ``count``,
        ``accuracy`` and ``confidence`` per bin (NaN for an empty bin), for a reliability
        diagram.

    Example:
        >>> probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]])
        >>> r = calibration(probs, [0, 1, 1, 0], n_bins=2)   # bins (0, 0.5] and (0.5, 1]
        >>> r["accuracy"], round(r["confidence"], 3), r["unsure"], round(r["ece"], 3)
        (0.75, 0.75, 0.75, 0.0)
        >>> r["bins"]["count"].tolist()
        [0, 4]
    """
    _validate.tensor(probs, "probs", "a (N, K) tensor of class probabilities")
    if probs.ndim != 2 or probs.shape[0] < 1 or probs.shape[1] < 1:
        raise ValueError(f"probs must have shape (N, K), class probabilities per image; got {tuple(probs.shape)}")
    if not probs.is_floating_point():
        raise TypeError(f"probs must be a floating-point tensor of probabilities; got dtype {probs.dtype}")
    probs = probs.detach()
    if not torch.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
        raise ValueError("probs must be probabilities in [0, 1] (the softmax of the logits, not the logits)")
    n, k = probs.shape
    labels = _validate.targets(labels, n, probs.device, arg="labels")
    _validate.target_range(labels, k, arg="labels")
    n_bins = _validate.positive_int(n_bins, "n_bins")
    threshold = _validate.real(threshold, "threshold")

    conf, guess = probs.max(1)
    hit = (guess == labels).to(probs.dtype)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=probs.dtype, device=probs.device)
    which = torch.bucketize(conf, edges[1:-1])  # bin b holds (edges[b], edges[b + 1]]
    count = torch.bincount(which, minlength=n_bins)
    sums = lambda v: torch.zeros(n_bins, dtype=torch.float64, device=probs.device).index_add_(  # noqa: E731
        0, which, v.double())
    per_acc, per_conf = sums(hit) / count, sums(conf) / count  # NaN where a bin is empty
    full = count > 0
    ece = ((count[full].double() / n) * (per_acc[full] - per_conf[full]).abs()).sum().item()
    return {"accuracy": hit.mean().item(), "confidence": conf.mean().item(),
            "unsure": (conf < threshold).to(probs.dtype).mean().item(), "ece": ece,
            "bins": {"count": count.cpu(), "accuracy": per_acc.cpu(), "confidence": per_conf.cpu()}}
