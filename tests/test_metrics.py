"""Tests for vizlib.metrics: hand-computed values on tiny inputs and second implementations."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity
from torch import nn

from vizlib import metrics
from vizlib.models import CourseNet


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def _linear_model():
    """Two classes; logit 0 = 4*x00 + 3*x01 + 2*x10 + 1*x11, logit 1 = 0, so p0 = sigmoid(logit 0)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0]]))
    return model


def _mask(h, w, pixels):
    m = torch.zeros(1, h, w, dtype=torch.bool)
    for r, c in pixels:
        m[0, r, c] = True
    return m


# ----------------------------------------------------------------------------- reduce_channels
def test_reduce_channels_takes_max_abs_over_channels():
    maps = torch.tensor([[[[1.0, -2.0]], [[-3.0, 0.5]]]])  # (1, 2, 1, 2)
    assert torch.equal(metrics.reduce_channels(maps), torch.tensor([[[3.0, 2.0]]]))


def test_reduce_channels_rejects_wrong_rank():
    with pytest.raises(ValueError, match="maps must have shape"):
        metrics.reduce_channels(torch.zeros(4, 4))


# ----------------------------------------------------------------------------- pointing game
def test_pointing_game_argmax_inside_mask_is_a_hit():
    maps = torch.zeros(1, 5, 5)
    maps[0, 3, 1] = 2.0
    assert metrics.pointing_game(maps, _mask(5, 5, [(3, 1), (3, 2)])).tolist() == [True]


def test_pointing_game_argmax_outside_mask_is_a_miss():
    maps = torch.zeros(1, 5, 5)
    maps[0, 1, 3] = 2.0  # the transposed position of the mask pixel (3, 1)
    assert metrics.pointing_game(maps, _mask(5, 5, [(3, 1)])).tolist() == [False]


def test_pointing_game_batch_scores_each_image():
    maps = torch.zeros(2, 4, 4)
    maps[0, 0, 0] = 1.0
    maps[1, 3, 3] = 1.0
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, 0, 0] = True
    assert metrics.pointing_game(maps, masks).tolist() == [True, False]


def test_pointing_game_tolerance_counts_near_misses_by_euclidean_distance():
    maps = torch.zeros(1, 9, 9)
    maps[0, 4, 4] = 1.0
    masks = _mask(9, 9, [(6, 5)])  # distance sqrt(2**2 + 1**2) = 2.236 from the maximum
    got = [metrics.pointing_game(maps, masks, tolerance=t).item() for t in (0, 2, 2.2, 2.25, 3)]
    assert got == [False, False, False, True, True]


def test_pointing_game_constant_map_points_at_top_left():
    maps = torch.ones(2, 4, 4)
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, 0, 0] = True
    masks[1, 0, 1] = True
    assert metrics.pointing_game(maps, masks).tolist() == [True, False]


def test_pointing_game_reduces_channel_maps_by_max_abs():
    maps = torch.zeros(1, 3, 4, 4)
    maps[0, 0, 0, 0] = 1.0
    maps[0, 2, 2, 3] = -5.0  # largest |value|
    assert metrics.pointing_game(maps, _mask(4, 4, [(2, 3)])).tolist() == [True]


def test_pointing_game_rejects_empty_mask_and_bad_tolerance():
    with pytest.raises(ValueError, match="mask 1 is empty"):
        metrics.pointing_game(torch.rand(2, 4, 4), torch.cat([_mask(4, 4, [(0, 0)]), _mask(4, 4, [])]))
    with pytest.raises(ValueError, match="tolerance"):
        metrics.pointing_game(torch.rand(1, 4, 4), _mask(4, 4, [(0, 0)]), tolerance=-1)
    with pytest.raises(ValueError, match="masks must have the maps' shape"):
        metrics.pointing_game(torch.rand(1, 4, 4), torch.ones(1, 4, 5, dtype=torch.bool))


# ----------------------------------------------------------------------------- mass in mask
def test_mass_in_mask_hand_computed():
    maps = torch.tensor([[[3.0, 1.0], [0.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]]])
    masks = torch.tensor([[[True, False], [False, True]], [[True, False], [False, False]]])
    assert torch.allclose(metrics.mass_in_mask(maps, masks), torch.tensor([7 / 8, 1 / 4]))


def test_mass_in_mask_counts_signed_maps_by_absolute_value():
    maps = torch.tensor([[[-3.0, 1.0]]])
    assert torch.allclose(metrics.mass_in_mask(maps, torch.tensor([[[True, False]]])), torch.tensor([0.75]))


def test_mass_in_mask_zero_map_is_nan():
    assert torch.isnan(metrics.mass_in_mask(torch.zeros(1, 2, 2), _mask(2, 2, [(0, 0)]))).all()


# ----------------------------------------------------------------------------- causal curves
def test_deletion_curve_hand_computed_on_linear_model():
    model, x = _linear_model(), torch.ones(1, 1, 2, 2)
    maps = torch.tensor([[[4.0, 3.0], [2.0, 1.0]]])
    curve, area = metrics.deletion_curve(model, x, 0, maps, n_steps=4)
    logits = [10, 6, 3, 1, 0]  # remove the weight-4, 3, 2, 1 pixels in turn (set to 0)
    expected = [_sigmoid(z) for z in logits]
    assert torch.allclose(curve[0], torch.tensor(expected), atol=1e-6)
    trapezoid = 0.25 * (expected[0] / 2 + sum(expected[1:4]) + expected[4] / 2)
    assert area.item() == pytest.approx(trapezoid, abs=1e-6)


def test_deletion_curve_least_important_first_deletes_slower():
    model, x = _linear_model(), torch.ones(1, 1, 2, 2)
    good = torch.tensor([[[4.0, 3.0], [2.0, 1.0]]])
    curve, area = metrics.deletion_curve(model, x, 0, -good, n_steps=2)  # two pixels per step
    expected = [_sigmoid(z) for z in (10, 7, 0)]  # remove weights 1 and 2, then 3 and 4
    assert torch.allclose(curve[0], torch.tensor(expected), atol=1e-6)
    assert area.item() > metrics.deletion_curve(model, x, 0, good, n_steps=2)[1].item()


def test_insertion_curve_hand_computed_from_mean_baseline():
    model, x = _linear_model(), 2 * torch.ones(1, 1, 2, 2)
    maps = torch.tensor([[[1.0, 4.0], [3.0, 2.0]]])  # order: x01 (w 3), x10 (w 2), x11 (w 1), x00 (w 4)
    curve, area = metrics.insertion_curve(model, x, torch.tensor([0]), maps, n_steps=4, baseline="mean")
    expected = [_sigmoid(2 * z) for z in (0, 3, 5, 6, 10)]
    assert torch.allclose(curve[0], torch.tensor(expected), atol=1e-6)
    assert area.item() == pytest.approx(0.25 * (expected[0] / 2 + sum(expected[1:4]) + expected[4] / 2), abs=1e-6)


def test_causal_curves_accept_a_tensor_baseline():
    model, x = _linear_model(), torch.ones(1, 1, 2, 2)
    maps = torch.tensor([[[4.0, 3.0], [2.0, 1.0]]])
    curve, _ = metrics.deletion_curve(model, x, 0, maps, n_steps=1, baseline=torch.tensor(-1.0))
    assert torch.allclose(curve[0], torch.tensor([_sigmoid(10), _sigmoid(-10)]), atol=1e-6)


def test_blur_baseline_of_a_constant_image_is_that_image():
    model, x = _linear_model(), 0.3 * torch.ones(1, 1, 2, 2)
    curve, _ = metrics.insertion_curve(model, x, 0, torch.rand(1, 2, 2), n_steps=4, baseline="blur", blur_sigma=1.0)
    assert torch.allclose(curve, torch.full_like(curve, _sigmoid(3.0)), atol=1e-6)


def test_causal_curves_leave_model_and_input_unchanged():
    model = CourseNet().train()
    model.features.conv1.weight.requires_grad_(False)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 3, 64, 64)
    x0 = x.clone()
    curve, area = metrics.deletion_curve(model, x, torch.tensor([1, 2]), torch.rand(2, 3, 64, 64), n_steps=4)
    assert curve.shape == (2, 5) and area.shape == (2,)
    assert model.training and all(m.training for m in model.modules())
    assert not model.features.conv1.weight.requires_grad and model.features.conv2.weight.requires_grad
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert torch.equal(x, x0)


def test_causal_curves_validate_arguments():
    model, x = _linear_model(), torch.ones(1, 1, 2, 2)
    with pytest.raises(ValueError, match="maps must have shape"):
        metrics.deletion_curve(model, x, 0, torch.rand(1, 3, 3))
    with pytest.raises(ValueError, match="n_steps"):
        metrics.deletion_curve(model, x, 0, torch.rand(1, 2, 2), n_steps=5)
    with pytest.raises(ValueError, match="baseline"):
        metrics.insertion_curve(model, x, 0, torch.rand(1, 2, 2), n_steps=2, baseline="zero")
    with pytest.raises(TypeError, match="target"):
        metrics.insertion_curve(model, x, 0.5, torch.rand(1, 2, 2), n_steps=2)
    with pytest.raises(TypeError, match="model"):
        metrics.insertion_curve("model", x, 0, torch.rand(1, 2, 2), n_steps=2)


# ----------------------------------------------------------------------------- randomisation
def test_randomization_order_is_top_down_layers_with_parameters():
    expected = ["classifier.fc", "features.conv4", "features.conv3", "features.conv2", "features.conv1"]
    assert metrics.randomization_order(CourseNet()) == expected


def test_randomize_layers_returns_copy_and_leaves_original_bitwise_unchanged():
    torch.manual_seed(0)
    model = CourseNet().eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    rand = metrics.randomize_layers(model, "features.conv3", seed=1)
    assert rand is not model
    assert all(p is not q for p, q in zip(rand.parameters(), model.parameters()))
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)  # the global RNG was not advanced
    new = rand.state_dict()
    for k in state:  # cascade: fc, conv4 and conv3 re-initialised, conv2 and conv1 kept
        changed = not torch.equal(new[k], state[k])
        assert changed == k.startswith(("classifier.fc", "features.conv4", "features.conv3")), k
    assert not rand.training


def test_randomize_layers_is_reproducible_with_a_seed():
    model = CourseNet()
    a = metrics.randomize_layers(model, "classifier.fc", seed=3).state_dict()
    b = metrics.randomize_layers(model, model.classifier.fc, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_randomize_layers_rejects_layers_without_parameters():
    with pytest.raises(ValueError, match="from_layer must be a layer with parameters"):
        metrics.randomize_layers(CourseNet(), "features.relu2")
    with pytest.raises(ValueError, match="does not exist"):
        metrics.randomize_layers(CourseNet(), "features.conv9")


def _tiny_cnn():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))


def test_train_on_shuffled_labels_trains_a_fresh_copy_on_a_permutation_of_the_labels():
    torch.manual_seed(0)
    model = _tiny_cnn().eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, labels = torch.randn(12, 3, 5, 5), torch.arange(12) % 3
    trained, shuffled = metrics.train_on_shuffled_labels(model, x, labels, epochs=2, batch_size=4, seed=1)
    assert trained is not model and not trained.training
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert sorted(shuffled.tolist()) == sorted(labels.tolist()) and not torch.equal(shuffled, labels)
    fresh = metrics.randomize_layers(model, "0", seed=1).state_dict()  # its starting point
    assert all(not torch.equal(v, fresh[k]) for k, v in trained.state_dict().items())  # training moved every tensor
    again, _ = metrics.train_on_shuffled_labels(model, x, labels, epochs=2, batch_size=4, seed=1)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in trained.state_dict().items())


def test_train_on_shuffled_labels_validates_arguments():
    with pytest.raises(ValueError, match="labels"):
        metrics.train_on_shuffled_labels(_tiny_cnn(), torch.randn(4, 3, 5, 5), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="epochs"):
        metrics.train_on_shuffled_labels(_tiny_cnn(), torch.randn(4, 3, 5, 5), torch.zeros(4, dtype=torch.long),
                                         epochs=0)


# ----------------------------------------------------------------------------- similarity
def test_rank_correlation_matches_scipy_spearmanr_with_ties():
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 5, (3, 8, 8), generator=gen).float()  # many ties
    b = a + torch.randint(0, 4, (3, 8, 8), generator=gen).float()
    got = metrics.rank_correlation(a, b)
    expected = [spearmanr(a[i].flatten().numpy(), b[i].flatten().numpy())[0] for i in range(3)]
    assert np.allclose(got.numpy(), expected, atol=1e-6)


def test_rank_correlation_of_monotone_transform_is_one_and_reversal_minus_one():
    m = torch.rand(6, 6)
    assert metrics.rank_correlation(m, m**3 + 1).item() == pytest.approx(1.0)
    assert metrics.rank_correlation(m, -m).item() == pytest.approx(-1.0)
    assert metrics.rank_correlation(m, m).ndim == 0


def test_rank_correlation_constant_map_is_nan():
    assert torch.isnan(metrics.rank_correlation(torch.ones(1, 3, 3), torch.rand(1, 3, 3))).all()


def test_ssim_matches_skimage_on_rescaled_maps():
    gen = torch.Generator().manual_seed(1)
    a = torch.rand(2, 20, 17, generator=gen) * 5
    b = a + torch.rand(2, 20, 17, generator=gen) * 3

    def unit(m):
        m = m.double().numpy()
        return (m - m.min()) / (m.max() - m.min())

    expected = [structural_similarity(unit(a[i]), unit(b[i]), win_size=7, data_range=1.0) for i in range(2)]
    assert np.allclose(metrics.ssim(a, b).numpy(), expected, atol=1e-5)


def test_ssim_matches_skimage_without_rescaling():
    gen = torch.Generator().manual_seed(2)
    a, b = torch.rand(12, 12, generator=gen), torch.rand(12, 12, generator=gen)
    expected = structural_similarity(a.double().numpy(), b.double().numpy(), win_size=5, data_range=2.0)
    got = metrics.ssim(a, b, win_size=5, rescale=False, data_range=2.0)
    assert got.ndim == 0 and got.item() == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ValueError, match="data_range"):
        metrics.ssim(a, b, rescale=False)
    with pytest.raises(ValueError, match="win_size"):
        metrics.ssim(a, b, win_size=4)


# ----------------------------------------------------------------------------- baselines
def test_random_maps_are_seeded_and_centre_maps_peak_at_the_centre():
    assert torch.equal(metrics.random_maps(2, 5, 6, seed=4), metrics.random_maps(2, 5, 6, seed=4))
    assert not torch.equal(metrics.random_maps(1, 5, 6, seed=4), metrics.random_maps(1, 5, 6, seed=5))
    c = metrics.center_maps(2, 7, 9)
    assert c.shape == (2, 7, 9) and torch.equal(c[0], c[1])
    assert divmod(c[0].argmax().item(), 9) == (3, 4)
    assert c[0, 3, 4].item() == pytest.approx(1.0)
    assert c[0, 3, 5].item() == pytest.approx(math.exp(-1 / (2 * (7 / 4) ** 2)), rel=1e-5)


def test_score_maps_returns_every_score_per_image():
    model = CourseNet()
    x = torch.randn(3, 3, 64, 64)
    masks = torch.zeros(3, 64, 64, dtype=torch.bool)
    masks[:, 20:40, 20:40] = True
    scores = metrics.score_maps(model, x, torch.tensor([0, 1, 2]), metrics.center_maps(3, 64, 64), masks, n_steps=2)
    assert set(scores) == {"pointing", "pointing_tol", "mass", "deletion", "insertion"}
    assert all(v.shape == (3,) for v in scores.values())
    assert scores["pointing"].tolist() == [1.0, 1.0, 1.0]


# --------------------------------------------------------------------------- calibration
def _ece_by_hand(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    """ECE with an explicit loop over (lo, hi] bins in float64, the first bin closed at 0."""
    conf, hit = probs.max(1), (probs.argmax(1) == labels).astype(float)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        sel = (conf <= hi) & ((conf > lo) if b else (conf >= lo))
        if sel.any():
            total += sel.mean() * abs(hit[sel].mean() - conf[sel].mean())
    return total


@pytest.mark.parametrize("n_bins", [1, 7, 10, 15])
def test_calibration_matches_a_loop_over_bins(n_bins):
    gen = torch.Generator().manual_seed(n_bins)
    probs = (3 * torch.randn(500, 8, generator=gen, dtype=torch.float64)).softmax(1)
    labels = torch.randint(0, 8, (500,), generator=gen)
    r = metrics.calibration(probs, labels, n_bins=n_bins, threshold=0.8)
    p, y = probs.numpy(), labels.numpy()
    assert r["ece"] == pytest.approx(_ece_by_hand(p, y, n_bins), abs=1e-12)
    assert r["accuracy"] == pytest.approx((p.argmax(1) == y).mean())
    assert r["confidence"] == pytest.approx(p.max(1).mean())
    assert r["unsure"] == pytest.approx((p.max(1) < 0.8).mean())
    assert int(r["bins"]["count"].sum()) == 500 and r["bins"]["count"].shape == (n_bins,)


def test_calibration_of_a_calibrated_and_of_an_overconfident_model():
    # 10 answers at confidence 0.7, 7 of them right: calibrated, ECE 0
    probs = torch.tensor([[0.7, 0.3]] * 10)
    labels = torch.tensor([0] * 7 + [1] * 3)
    assert metrics.calibration(probs, labels)["ece"] == pytest.approx(0.0, abs=1e-7)
    # the same confidence, half of them right: a gap of 0.2
    assert metrics.calibration(probs, torch.tensor([0, 1] * 5))["ece"] == pytest.approx(0.2, abs=1e-6)
    # a confidence of exactly 1.0 is in the last bin, and a wrong one counts in full
    r = metrics.calibration(torch.tensor([[1.0, 0.0]]), [1])
    assert r["ece"] == 1.0 and r["bins"]["count"][-1] == 1


@pytest.mark.parametrize("kwargs, exc, fragment", [
    (dict(probs=torch.randn(4, 3)), ValueError, "softmax of the logits"),
    (dict(probs=torch.ones(4, 3, dtype=torch.long)), TypeError, "floating-point"),
    (dict(probs=torch.full((4,), 0.5)), ValueError, r"probs must have shape \(N, K\)"),
    (dict(labels=[0, 1]), ValueError, r"labels must be an int or have shape \(4,\)"),
    (dict(labels=5), ValueError, r"labels must be class indices in \[0, 2\]"),
    (dict(n_bins=0), ValueError, "n_bins must be a positive int"),
    (dict(n_bins=2.5), TypeError, "n_bins must be a positive int"),
])
def test_calibration_rejects_bad_input(kwargs, exc, fragment):
    args = {"probs": torch.full((4, 3), 1 / 3), "labels": [0, 1, 2, 0], **kwargs}
    with pytest.raises(exc, match=fragment):
        metrics.calibration(args.pop("probs"), args.pop("labels"), **args)
