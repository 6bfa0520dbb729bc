"""The introduction's check: evaluating a classifier (accuracy, confidence, unsure share, ECE)."""
import math

import numpy as np
import pytest
import torch

from vizlib import checks


def calibration_loop(logits, labels, threshold, n_bins):
    """An independent answer: plain Python over the images, bins by integer index."""
    probs = logits.double().softmax(1).float().tolist()  # float32 probabilities, as a model gives
    n = len(probs)
    conf = [max(p) for p in probs]
    pred = [p.index(max(p)) for p in probs]
    hit = [float(a == int(b)) for a, b in zip(pred, labels)]
    members = [[] for _ in range(n_bins)]
    for c, h in zip(conf, hit):
        b = min(n_bins - 1, math.ceil(c * n_bins) - 1)  # (b / M, (b + 1) / M]; 1.0 -> the last bin
        members[b].append((c, h))
    ece = sum(len(m) / n * abs(sum(h for _, h in m) / len(m) - sum(c for c, _ in m) / len(m))
              for m in members if m)
    return {"accuracy": sum(hit) / n, "confidence": sum(conf) / n,
            "unsure": sum(c < threshold for c in conf) / n, "ece": ece}


def _parts(logits, labels, n_bins):
    conf, pred = logits.softmax(1).max(1)
    hit = (pred == labels).float()
    return conf, hit


def _ece(conf, hit, edges, weighted=True, signed=False, last_closed=True):
    gaps, w = [], []
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        last = b == len(edges) - 2
        sel = (conf > lo) & ((conf <= hi) if (last_closed or not last) else (conf < hi))
        if sel.any():
            g = hit[sel].mean() - conf[sel].mean()
            gaps.append(g if signed else g.abs())
            w.append(sel.float().mean())
    gaps, w = torch.stack(gaps), torch.stack(w)
    return (gaps * w).sum() if weighted else gaps.mean()


def _result(logits, labels, threshold, conf, hit, ece):
    return {"accuracy": hit.mean(), "confidence": conf.mean(), "unsure": (conf < threshold).float().mean(),
            "ece": ece}


def unweighted(logits, labels, threshold, n_bins):
    conf, hit = _parts(logits, labels, n_bins)
    return _result(logits, labels, threshold, conf, hit,
                   _ece(conf, hit, torch.linspace(0, 1, n_bins + 1), weighted=False))


def last_bin_open(logits, labels, threshold, n_bins):
    conf, hit = _parts(logits, labels, n_bins)
    edges = torch.linspace(0, 1, n_bins + 1)
    gaps = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf >= lo) & (conf < hi)  # [lo, hi): 1.0 is in no bin
        if sel.any():
            gaps.append(sel.float().mean() * (hit[sel].mean() - conf[sel].mean()).abs())
    return _result(logits, labels, threshold, conf, hit, sum(gaps))


def equal_mass(logits, labels, threshold, n_bins):
    conf, hit = _parts(logits, labels, n_bins)
    edges = torch.quantile(conf, torch.linspace(0, 1, n_bins + 1))
    edges[0], edges[-1] = 0.0, 1.0
    return _result(logits, labels, threshold, conf, hit, _ece(conf, hit, edges))


def signed_gaps(logits, labels, threshold, n_bins):
    conf, hit = _parts(logits, labels, n_bins)
    return _result(logits, labels, threshold, conf, hit,
                   _ece(conf, hit, torch.linspace(0, 1, n_bins + 1), signed=True))


def from_logits(logits, labels, threshold, n_bins):
    conf, pred = logits.max(1)
    hit = (pred == labels).float()
    return _result(logits, labels, threshold, conf, hit, torch.tensor(0.0))


def ten_bins(logits, labels, threshold, n_bins):
    conf, hit = _parts(logits, labels, n_bins)
    return _result(logits, labels, threshold, conf, hit, _ece(conf, hit, torch.linspace(0, 1, 11)))


def error_rate(logits, labels, threshold, n_bins):
    out = calibration_loop(logits, labels, threshold, n_bins)
    out["accuracy"] = 1 - out["accuracy"]
    return out


def confident_share(logits, labels, threshold, n_bins):
    out = calibration_loop(logits, labels, threshold, n_bins)
    out["unsure"] = 1 - out["unsure"]
    return out


def in_place(logits, labels, threshold, n_bins):
    out = calibration_loop(logits, labels, threshold, n_bins)
    logits -= logits.max(1, keepdim=True).values  # "stabilised" in place
    return out


def test_reference_loop_passes(capsys):
    assert checks.check_calibration(calibration_loop) < 1e-6
    assert "PASS check_calibration" in capsys.readouterr().out


def test_loop_matches_a_literal():
    # 4 images, 2 classes; top probabilities 0.5 + something, by hand
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    labels = torch.tensor([0, 0, 0, 1])
    p = [0.5, 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(-3)), 1 / (1 + math.exp(-5))]
    out = calibration_loop(logits, labels, 0.9, 2)
    assert out["accuracy"] == 0.5 and out["unsure"] == 0.5
    # bins (0, 0.5] holds image 0 (hit); (0.5, 1] holds images 1-3 (one hit)
    expected = 0.25 * abs(1 - p[0]) + 0.75 * abs(1 / 3 - sum(p[1:]) / 3)
    assert out["ece"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("wrong, words", [
    (unweighted, "without weights"),
    (last_bin_open, "exactly 1.0"),
    (equal_mass, "equal numbers of images"),
    (signed_gaps, "absolute value"),
    (from_logits, "largest logit"),
    (ten_bins, "10 bins whatever n_bins"),
    (error_rate, "error rate"),
    (confident_share, "share of confident images"),
    (in_place, "changed its inputs in place"),
])
def test_typical_mistakes_are_named(wrong, words, capsys):
    with pytest.raises(AssertionError, match=words):
        checks.check_calibration(wrong)
    assert "FAIL check_calibration" in capsys.readouterr().out


def test_wrong_return_types_are_explained():
    with pytest.raises(AssertionError, match="must return a dict"):
        checks.check_calibration(lambda *a: (0.5, 0.5, 0.1, 0.2))
    with pytest.raises(AssertionError, match="lacks the keys"):
        checks.check_calibration(lambda *a: {"accuracy": 0.5})
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_calibration("ece")


def test_check_leaves_the_callers_function_inputs_alone():
    seen = []

    def spy(logits, labels, threshold, n_bins):
        seen.append((logits.clone(), labels.clone()))
        return calibration_loop(logits, labels, threshold, n_bins)

    checks.check_calibration(spy)
    checks.check_calibration(spy)
    first, second = seen[: len(seen) // 2], seen[len(seen) // 2:]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second))
    assert np.isfinite([s[0].sum().item() for s in seen]).all()
