"""Self-checks of the introduction: evaluating a classifier beyond accuracy (calibration)."""
from __future__ import annotations

import numpy as np
import torch

from ._common import _fail

__all__ = ["check_calibration"]

_KEYS = ("accuracy", "confidence", "unsure", "ece")


def _reference(conf: np.ndarray, hit: np.ndarray, threshold: float, n_bins: int, *, weighted=True,
               edges=None, last_closed=True, signed=False) -> dict:
    """The four numbers from top probabilities ``conf`` and hits ``hit``, with switchable mistakes."""
    if edges is None:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    gaps, weights = [], []
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        if b == n_bins - 1 and not last_closed:
            sel = (conf >= lo) & (conf < hi)  # the mistake: a confidence of exactly 1.0 falls out
        elif last_closed:
            sel = (conf >= lo) & (conf <= hi) if b == 0 else (conf > lo) & (conf <= hi)
        else:
            sel = (conf >= lo) & (conf < hi)
        if sel.any():
            gap = hit[sel].mean() - conf[sel].mean()
            gaps.append(gap if signed else abs(gap))
            weights.append(sel.mean())
    gaps, weights = np.array(gaps), np.array(weights)
    ece = float((weights * gaps).sum()) if weighted else float(gaps.mean())
    return {"accuracy": float(hit.mean()), "confidence": float(conf.mean()),
            "unsure": float((conf < threshold).mean()), "ece": ece}


def _cases():
    """(logits (N, K), labels (N,), threshold, n_bins): mixed confidences, exact 1.0s, odd bin counts."""
    gen = torch.Generator().manual_seed(5)
    cases = []
    logits = torch.randn(300, 5, generator=gen) * 2.5
    labels = torch.where(torch.rand(300, generator=gen) < 0.7, logits.argmax(1),
                         torch.randint(0, 5, (300,), generator=gen))
    cases.append((logits, labels, 0.9, 10))
    # confident and often wrong: many top probabilities are exactly 1.0 in float32
    logits = torch.randn(120, 4, generator=gen)
    logits[:60, 0] += 40.0
    labels = torch.randint(0, 4, (120,), generator=gen)
    cases.append((logits, labels, 0.8, 10))
    logits = torch.randn(80, 8, generator=gen) * 4.0
    labels = torch.randint(0, 8, (80,), generator=gen)
    cases.append((logits, labels, 0.5, 7))
    logits = torch.randn(200, 3, generator=gen) * 1.5 + torch.linspace(-2, 2, 3)
    labels = torch.randint(0, 3, (200,), generator=gen)
    cases.append((logits, labels, 0.95, 15))
    return cases


def _as_dict(name: str, got) -> dict:
    if not isinstance(got, dict):
        _fail(name, f"your function must return a dict with the keys {list(_KEYS)}; got {type(got).__name__}")
    missing = [k for k in _KEYS if k not in got]
    if missing:
        _fail(name, f"the returned dict lacks the keys {missing}; it needs {list(_KEYS)}")
    out = {}
    for k in _KEYS:
        v = got[k]
        v = v.detach().cpu().double().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float64)
        if v.size != 1:
            _fail(name, f"{k!r} must be one number; got an array of shape {v.shape}")
        out[k] = float(v.reshape(()))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-4 + 1e-4 * abs(b)


def check_calibration(fn) -> float:
    """Check ``fn(logits, labels, threshold, n_bins)``: accuracy, confidence, unsure share and ECE.

    ``logits`` is (N, K) raw model scores, ``labels`` (N,) class indices. ``fn`` must return a
    dict with ``"accuracy"`` (share of top-1 predictions equal to the label), ``"confidence"``
    (mean top softmax probability), ``"unsure"`` (share of images whose top probability is
    below ``threshold``) and ``"ece"``: the expected calibration error with ``n_bins`` bins of
    equal width on [0, 1] (the last one including 1.0), the gaps
    ``|accuracy in bin - mean confidence in bin|`` weighted by the share of images in the bin.
    Four cases (one with top probabilities of exactly 1.0, bin counts 7, 10 and 15). Prints
    PASS/FAIL; a failure names the mistake it recognises and raises ``AssertionError``.

    Example:
        >>> def ok(logits, labels, threshold, n_bins):
        ...     conf, pred = logits.softmax(1).max(1)
        ...     hit = (pred == labels).float()
        ...     ece = 0.0
        ...     for b in range(n_bins):
        ...         sel = (conf > b / n_bins) & (conf <= (b + 1) / n_bins)
        ...         if sel.any():
        ...             ece += sel.float().mean() * (hit[sel].mean() - conf[sel].mean()).abs()
        ...     return {"accuracy": hit.mean(), "confidence": conf.mean(),
        ...             "unsure": (conf < threshold).float().mean(), "ece": ece}
        >>> err = vizlib.checks.check_calibration(ok)  # doctest: +ELLIPSIS
        PASS check_calibration: max |error| ... over 4 cases
    """
    name = "check_calibration"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(logits, labels, threshold, n_bins); got {type(fn).__name__}")
    worst = 0.0
    for i, (logits, labels, threshold, n_bins) in enumerate(_cases()):
        before = (logits.clone(), labels.clone())
        got = _as_dict(name, fn(logits, labels, threshold, n_bins))
        if not (torch.equal(logits, before[0]) and torch.equal(labels, before[1])):
            _fail(name, f"case {i}: your function changed its inputs in place; work on copies.")
        probs = torch.softmax(logits.double(), 1)
        conf, pred = probs.max(1)
        conf = conf.float().double().numpy()  # float32 softmax, as the model gives: 1.0 happens
        hit = (pred == labels).double().numpy()
        ref = _reference(conf, hit, threshold, n_bins)
        where = f"case {i} (N={len(labels)}, threshold {threshold}, {n_bins} bins)"
        for k in _KEYS:
            worst = max(worst, abs(got[k] - ref[k]))
        if not _close(got["accuracy"], ref["accuracy"]):
            if _close(got["accuracy"], 1 - ref["accuracy"]):
                _fail(name, f"{where}: 'accuracy' is {got['accuracy']:.4f}, the error rate; count predictions "
                            f"equal to the label (expected {ref['accuracy']:.4f}).")
            _fail(name, f"{where}: 'accuracy' is {got['accuracy']:.4f}, expected {ref['accuracy']:.4f}: the share "
                        "of images whose arg-max class equals the label.")
        max_logit = float(logits.max(1).values.double().mean())
        if not _close(got["confidence"], ref["confidence"]):
            if _close(got["confidence"], max_logit):
                _fail(name, f"{where}: 'confidence' is the mean largest logit ({max_logit:.4f}); the confidence "
                            "is the largest softmax probability, logits.softmax(1).max(1).")
            _fail(name, f"{where}: 'confidence' is {got['confidence']:.4f}, expected {ref['confidence']:.4f}: the "
                        "mean over images of the largest softmax probability (softmax over the classes, dim=1).")
        if not _close(got["unsure"], ref["unsure"]):
            if _close(got["unsure"], 1 - ref["unsure"]):
                _fail(name, f"{where}: 'unsure' is the share of confident images; count top probabilities "
                            f"below the threshold (expected {ref['unsure']:.4f}).")
            if _close(got["unsure"], float((logits.max(1).values < threshold).double().mean())):
                _fail(name, f"{where}: 'unsure' compares logits with the threshold; compare softmax probabilities.")
            _fail(name, f"{where}: 'unsure' is {got['unsure']:.4f}, expected {ref['unsure']:.4f}: the share of "
                        f"images whose top softmax probability is below threshold={threshold}.")
        if not _close(got["ece"], ref["ece"]):
            quantile = np.quantile(conf, np.linspace(0, 1, n_bins + 1))
            quantile[0], quantile[-1] = 0.0, 1.0
            diagnoses = [
                (_reference(conf, hit, threshold, n_bins, weighted=False),
                 "the bins' gaps are averaged without weights; weight each bin's gap by its share of the "
                 "images (count in bin / N), so that an almost empty bin counts little."),
                (_reference(conf, hit, threshold, n_bins, last_closed=False),
                 "images with a top probability of exactly 1.0 fall out of every bin; the last bin must "
                 "include its right edge 1.0 (use conf <= hi there)."),
                (_reference(conf, hit, threshold, n_bins, edges=quantile),
                 "the bins hold equal numbers of images; the ECE here uses bins of equal width on [0, 1] "
                 "(edges b / n_bins)."),
                (_reference(conf, hit, threshold, n_bins, signed=True),
                 "the gaps are signed; take the absolute value |accuracy - confidence| in each bin, "
                 "or over- and under-confident bins cancel."),
                (_reference(conf, hit, threshold, 10),
                 f"the ECE uses 10 bins whatever n_bins is; use n_bins={n_bins} bins of width 1 / n_bins."),
            ]
            edges_max = np.linspace(0.0, float(conf.max()), n_bins + 1)
            diagnoses.append((_reference(conf, hit, threshold, n_bins, edges=edges_max),
                              "the bins span [0, max confidence]; they must span [0, 1] (edges b / n_bins)."))
            for wrong, message in diagnoses:
                if _close(got["ece"], wrong["ece"]):
                    _fail(name, f"{where}: 'ece' is {got['ece']:.4f}, expected {ref['ece']:.4f}: {message}")
            _fail(name, f"{where}: 'ece' is {got['ece']:.4f}, expected {ref['ece']:.4f}. Split [0, 1] into "
                        f"n_bins bins of equal width, the last including 1.0; in each non-empty bin take "
                        "|accuracy - mean confidence| and weight it by the bin's share of the images.")
    print(f"PASS {name}: max |error| {worst:.2g} over {len(_cases())} cases")
    return worst
