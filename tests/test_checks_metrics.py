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


# ------------------------------------------------------------------ check_deletion_curve
from vizlib.checks.evaluating import (  # noqa: E402
    _DELETION_CASES, _deletion_case, _deletion_check_model, _deletion_variant)


def _loop_deletion_curve(model, x, target, maps, n_steps):
    """Correct, written independently: per image, per step, pixel by pixel in Python."""
    n, c, h, w = x.shape
    curve = torch.zeros(n, n_steps + 1)
    area = torch.zeros(n)
    for i in range(n):
        ranking = sorted(range(h * w), key=lambda p: -float(maps[i].flatten()[p]))
        for k in range(n_steps + 1):
            img = x[i].clone()
            for p in ranking[: int(np.floor(k * h * w / n_steps + 0.5))]:
                img[:, p // w, p % w] = 0.0
            with torch.no_grad():
                curve[i, k] = model(img[None]).softmax(1)[0, target[i]]
        fr = [np.floor(k * h * w / n_steps + 0.5) / (h * w) for k in range(n_steps + 1)]
        area[i] = sum((fr[k + 1] - fr[k]) * (curve[i, k] + curve[i, k + 1]) / 2
                      for k in range(n_steps))
    return curve, area


def test_check_deletion_curve_passes_metrics_and_a_loop_version(capsys):
    def chapter_metric(m, x, t, maps, k):
        return metrics.deletion_curve(m, x, t, maps, n_steps=k)

    assert checks.check_deletion_curve(chapter_metric) == 0.0
    assert checks.check_deletion_curve(_loop_deletion_curve) < 1e-5
    assert capsys.readouterr().out.count("PASS check_deletion_curve") == 2


def test_check_deletion_curve_reference_matches_a_hand_written_loop():
    """vizlib.metrics.deletion_curve, the check's reference, against the loop above."""
    model = _deletion_check_model()
    for h, w, n_steps, seed in _DELETION_CASES:
        x, target, maps = _deletion_case(h, w, seed)
        curve, area = metrics.deletion_curve(model, x, target, maps, n_steps=n_steps)
        loop_curve, loop_area = _loop_deletion_curve(model, x, target, maps, n_steps)
        assert torch.allclose(curve, loop_curve, atol=1e-6)
        assert torch.allclose(area, loop_area, atol=1e-6)
        with torch.no_grad():  # everything deleted: the all-zero image
            blank = model(torch.zeros_like(x)).softmax(1)[torch.arange(len(x)), target]
        assert torch.allclose(curve[:, -1], blank, atol=1e-6)


def _variant(**kwargs):
    return lambda m, x, t, maps, k: _deletion_variant(m, x, t, maps, k, **kwargs)


def _in_place(m, x, t, maps, k):
    out = metrics.deletion_curve(m, x.clone(), t, maps, n_steps=k)
    x[:, :, 0, 0] = 0.0
    return out


@pytest.mark.parametrize("fn, words", [
    (_variant(order="ascending"), "ascending order"),
    (_variant(base="black"), "darkest value"),
    (_variant(base="blur"), "blurred copy"),
    (_variant(count="floor"), "round(k * H * W / n_steps)"),
    (_variant(score="logit"), "logits"),
    (_variant(steps="no_last"), "off by one"),
    (_variant(steps="no_first"), "off by one"),
    (_variant(area="steps"), "not normalised"),
    (_variant(area="mean"), "trapezoid rule"),
    (lambda m, x, t, maps, k: _deletion_variant(m, x, t, maps, k)[0], "pair (curve, area)"),
    (_in_place, "in place"),
], ids=["ascending", "black", "blur", "floor-count", "logit", "no-last-step", "no-first-step",
        "area-over-steps", "area-mean", "curve-only", "in-place"])
def test_check_deletion_curve_names_each_mistake(fn, words, capsys):
    with pytest.raises(AssertionError, match="FAIL check_deletion_curve") as err:
        checks.check_deletion_curve(fn)
    assert words in str(err.value)
    assert capsys.readouterr().out.startswith("FAIL check_deletion_curve")


def test_check_deletion_curve_rejects_non_callables():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_deletion_curve(None)
