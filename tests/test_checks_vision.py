"""The vision chapter's checks pass on correct answers and fail on typical mistakes."""
import numpy as np
import pytest
import torch

from vizlib import checks


def simple_loop(stimuli, rf):
    """An independent simple cell, one stimulus at a time in NumPy."""
    s, r = stimuli.numpy(), rf.numpy()
    return np.array([max(0.0, float((x * r).sum())) for x in s])


def complex_loop(stimuli, rfs):
    return np.max(np.stack([simple_loop(stimuli, rf) for rf in rfs]), axis=0)


def test_check_simple_cell_passes_an_independent_implementation(capsys):
    assert checks.check_simple_cell(simple_loop) < 1e-4
    assert "PASS check_simple_cell" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [
    lambda s, rf: (s * rf).sum((-2, -1)),                       # no rectification
    lambda s, rf: torch.relu(s * rf).sum((-2, -1)),             # rectified pixel by pixel
    lambda s, rf: (s * rf).sum((-2, -1)).abs(),                 # full-wave rectification
    lambda s, rf: torch.relu((s * rf).mean((-2, -1))),          # mean instead of sum
    lambda s, rf: torch.relu((s * rf.T.reshape(rf.shape)).sum((-2, -1))),  # scrambled receptive field
])
def test_check_simple_cell_fails_on_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError, match="check_simple_cell"):
        checks.check_simple_cell(wrong)
    assert "FAIL check_simple_cell" in capsys.readouterr().out


def test_check_complex_cell_passes_an_independent_implementation():
    assert checks.check_complex_cell(complex_loop) < 1e-4


@pytest.mark.parametrize("wrong", [
    lambda s, rfs: np.sum(np.stack([simple_loop(s, rf) for rf in rfs]), axis=0),    # sum of simple cells
    lambda s, rfs: np.mean(np.stack([simple_loop(s, rf) for rf in rfs]), axis=0),   # mean
    lambda s, rfs: np.max(np.stack([(s * rf).sum((-2, -1)).numpy() for rf in rfs]), axis=0),  # no rectification
    lambda s, rfs: simple_loop(s, rfs[0]),                                           # only one subunit
    lambda s, rfs: simple_loop(s, rfs.sum(0)),                                       # one summed field
])
def test_check_complex_cell_fails_on_wrong_implementations(wrong):
    with pytest.raises(AssertionError, match="check_complex_cell"):
        checks.check_complex_cell(wrong)


def test_vision_checks_reject_non_callables():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_simple_cell("relu")
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_complex_cell(None)


# --------------------------------------------------------------------------- Neocognitron S-cell
def s_cell_loop(u, a, c, b, r):
    """An independent S-cell in NumPy, one window at a time."""
    u, a, c = u.numpy().astype(np.float64), a.numpy().astype(np.float64), c.numpy().astype(np.float64)
    k = a.shape[-1]
    g = r / (1 + r)
    out = np.zeros((u.shape[1] - k + 1, u.shape[2] - k + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            p = u[:, i:i + k, j:j + k]
            e, v = float((a * p).sum()), float(np.sqrt((c * p * p).sum()))
            out[i, j] = g * max(0.0, (1 + e) / (1 + g * b * v) - 1)
    return out


def test_s_cell_loop_matches_a_literal():
    # one 3x3 plane, a 3x3 window: a single output; e = 2, v = sqrt(0.5 * 1 + 0.5 * 4) = sqrt(2.5)
    u = torch.zeros(1, 3, 3)
    u[0, 0, 0], u[0, 2, 2] = 1.0, 2.0
    a = torch.zeros(1, 3, 3)
    a[0, 0, 0], a[0, 2, 2] = 0.0, 1.0
    c = torch.zeros(1, 3, 3)
    c[0, 0, 0] = c[0, 2, 2] = 0.5
    g = 1.0 / 2.0  # r = 1
    expected = g * max(0.0, 3.0 / (1 + g * 1.0 * np.sqrt(2.5)) - 1)
    assert s_cell_loop(u, a, c, 1.0, 1.0)[0, 0] == pytest.approx(expected)


def test_check_s_cell_passes_an_independent_implementation(capsys):
    assert checks.check_s_cell(s_cell_loop) < 1e-5
    assert "PASS check_s_cell" in capsys.readouterr().out


def _variant(u, a, c, b, r, *, sqrt=True, divisive=True, rectify=True, gain=True, flip=False, pad=0,
             per_plane=False, shrink=0):
    u, a, c = u.double(), a.double(), c.double()
    if flip:
        a, c = a.flip(-2, -1), c.flip(-2, -1)
    if pad:
        u = torch.nn.functional.pad(u, (pad,) * 4)
    k = a.shape[-1]
    g = r / (1 + r)
    rows, cols = u.shape[1] - k + 1 - shrink, u.shape[2] - k + 1 - shrink
    out = torch.zeros((u.shape[0],) if per_plane else (), dtype=torch.float64).new_zeros(
        ((u.shape[0],) if per_plane else ()) + (rows, cols))
    for i in range(rows):
        for j in range(cols):
            p = u[:, i:i + k, j:j + k]
            dims = (1, 2) if per_plane else (0, 1, 2)
            e, v = (a * p).sum(dims), (c * p * p).sum(dims)
            v = v.sqrt() if sqrt else v
            z = (1 + e) / (1 + g * b * v) - 1 if divisive else e - g * b * v
            z = z.clamp_min(0) if rectify else z
            out[..., i, j] = g * z if gain else z
    return out


@pytest.mark.parametrize("kwargs, words", [
    (dict(sqrt=False), "no square root"),
    (dict(divisive=False), "it divides"),
    (dict(rectify=False), "negative values"),
    (dict(gain=False), r"factor r / \(1 \+ r\) in front"),
    (dict(flip=True), "flipped"),
    (dict(pad=1), "no padding"),
    (dict(per_plane=True), "one map per input plane"),
    (dict(shrink=1), "off by one"),
])
def test_check_s_cell_names_typical_mistakes(kwargs, words, capsys):
    with pytest.raises(AssertionError, match=words):
        checks.check_s_cell(lambda u, a, c, b, r: _variant(u, a, c, b, r, **kwargs))
    assert "FAIL check_s_cell" in capsys.readouterr().out


def test_check_s_cell_catches_in_place_changes_and_non_callables():
    def in_place(u, a, c, b, r):
        out = s_cell_loop(u, a, c, b, r)
        u.clamp_(max=0.5)
        return out

    with pytest.raises(AssertionError, match="in place"):
        checks.check_s_cell(in_place)
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_s_cell(42)
