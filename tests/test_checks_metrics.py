"""check_pointing_game passes the reference and a second correct version, and fails wrong ones."""
import numpy as np
import pytest
import torch

from vizlib import checks, metrics


def _numpy_pointing_game(maps, masks):
    """Correct, written differently: NumPy unravel_index."""
    m, k = maps.numpy(), masks.numpy()
    out = []
    for i in range(len(m)):
        r, c = np.unravel_index(np.argmax(m[i]), m[i].shape)
        out.append(bool(k[i, r, c]))
    return np.array(out)


def _swapped_rows_cols(maps, masks):
    n, h, w = maps.shape
    idx = maps.flatten(1).argmax(1)
    return masks[torch.arange(n), idx % h, idx // h]  # divides by H instead of W


def _argmin(maps, masks):
    idx = maps.flatten(1).argmin(1)
    return masks.flatten(1)[torch.arange(len(idx)), idx]


def _abs_max(maps, masks):
    idx = maps.abs().flatten(1).argmax(1)
    return masks.flatten(1)[torch.arange(len(idx)), idx]


def _mean_over_batch(maps, masks):
    return metrics.pointing_game(maps, masks).float().mean()


def _mask_not_empty(maps, masks):
    return masks.flatten(1).any(1)


def _global_argmax(maps, masks):
    idx = maps.flatten().argmax()  # over the whole batch: one point for all images
    hw = maps.shape[1] * maps.shape[2]
    return masks.flatten(1)[:, idx % hw]


def test_check_pointing_game_passes_reference_and_independent_version(capsys):
    assert checks.check_pointing_game(metrics.pointing_game) == 0.0
    assert checks.check_pointing_game(_numpy_pointing_game) == 0.0
    assert capsys.readouterr().out.count("PASS check_pointing_game") == 2


@pytest.mark.parametrize("wrong", [_swapped_rows_cols, _argmin, _abs_max, _mean_over_batch,
                                   _mask_not_empty, _global_argmax])
def test_check_pointing_game_fails_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError):
        checks.check_pointing_game(wrong)
    out = capsys.readouterr().out
    assert out.startswith("FAIL check_pointing_game") and "argmax" in out


def test_check_pointing_game_rejects_non_callables():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_pointing_game(3)
