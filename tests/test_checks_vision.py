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
