"""Tests for vizlib.vision: stimuli, model simple and complex cells, the Neocognitron."""
import math

import numpy as np
import pytest
import torch

import vizlib
from vizlib import vision


# --------------------------------------------------------------------------- stimuli
def test_bar_vertical_at_theta_zero_literal():
    # pixel columns sit at x = -3.5 ... 3.5; a pixel's value is its overlap with the bar |x| <= width / 2
    b = vision.bar(8, theta=0.0, width=3.0).numpy()  # columns at |x| = 1.5 are half inside
    np.testing.assert_allclose(b[0], [0, 0, 0.5, 1, 1, 0.5, 0, 0], atol=1e-6)
    b2 = vision.bar(8, theta=0.0, width=2.0).numpy()  # |x| <= 1 covers columns 3 and 4 exactly
    np.testing.assert_allclose(b2[0], [0, 0, 0, 1, 1, 0, 0, 0], atol=1e-6)
    assert (b == b[0]).all()  # full length: every row the same


def test_bar_position_shifts_and_theta_90_transposes():
    a = vision.bar(21, theta=0.0, position=0.0, length=9, width=3)
    np.testing.assert_allclose(vision.bar(21, theta=0.0, position=4.0, length=9, width=3).numpy(),
                               torch.roll(a, 4, dims=1).numpy(), atol=1e-6)
    np.testing.assert_allclose(vision.bar(21, theta=math.pi / 2, length=9, width=3).numpy(), a.numpy().T, atol=1e-6)
    assert vision.bars(21, thetas=[0, 1], positions=[0, 1, 2], length=9).shape == (2, 3, 21, 21)
    with pytest.raises(ValueError, match="width"):
        vision.bar(21, theta=0.0, width=0)


def test_orientation_map_range_and_smoothness():
    m = vision.orientation_map(48, scale=8.0, seed=1)
    assert m.shape == (48, 48) and m.min() >= 0 and m.max() < math.pi
    # neighbouring sites prefer similar orientations (mod pi) more often than random pairs
    d = np.abs(np.angle(np.exp(2j * (m[:, 1:] - m[:, :-1])))) / 2
    assert np.median(d) < math.pi / 8


# --------------------------------------------------------------------------- cells
def test_simple_cell_response_is_rectified_dot_product_literal():
    rf = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    stim = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]], [[2.0, 1.0], [2.0, 5.0]]])
    np.testing.assert_allclose(vision.simple_cell_response(stim, rf).numpy(), [1.0, 0.0, 2.0])
    rfs = torch.stack([rf, -rf])
    np.testing.assert_allclose(vision.complex_cell_response(stim, rfs).numpy(), [1.0, 1.0, 2.0])


def test_simple_cell_rf_is_shifted_gabor():
    cell = vision.SimpleCell(16, theta=0.0, wavelength=6.0, sigma=2.0, offset=3.0)
    y, x = np.mgrid[0:16, 0:16] - 7.5
    expected = np.exp(-((x - 3) ** 2 + y**2) / 8.0) * np.cos(2 * np.pi * (x - 3) / 6.0)
    np.testing.assert_allclose(cell.rf.numpy(), expected, atol=1e-6)


def test_complex_cell_varies_less_with_bar_position_than_simple_cell():
    lam = 8.0
    simple = vision.SimpleCell(32, theta=0.4, wavelength=lam)
    complex_ = vision.ComplexCell(32, theta=0.4, wavelength=lam)
    positions = np.linspace(-lam / 2, lam / 2, 17)
    stim = vision.bars(32, thetas=[0.4], positions=positions, length=16, width=2)[0]
    rs, rc = simple(stim).numpy(), complex_(stim).numpy()
    cv = lambda r: r.std() / r.mean()  # noqa: E731
    assert cv(rc) < 0.25 * cv(rs)
    assert rs.min() == 0.0 and rs.max() > 0  # the simple cell is silenced on its OFF flank
    assert rc.min() > 0.5 * rc.max()


def test_simple_cell_bar_on_off_subfield():
    cell = vision.SimpleCell(32, theta=0.0, wavelength=8.0)
    on = cell(vision.bar(32, theta=0.0, position=0.0, width=2))
    off = cell(vision.bar(32, theta=0.0, position=4.0, width=2))  # half a wavelength: the negative flank
    assert on > 1.0 and off == 0.0


@pytest.mark.parametrize("theta", [0.0, 0.8, 2.0])
def test_both_cells_prefer_their_orientation(theta):
    thetas = np.arange(24) * np.pi / 24
    stim = vision.bars(32, thetas=thetas, positions=[0.0], length=20, width=2)[:, 0]
    for cell in (vision.SimpleCell(32, theta=theta, wavelength=8.0), vision.ComplexCell(32, theta=theta, wavelength=8.0)):
        best = thetas[int(np.argmax(cell(stim).numpy()))]
        d = (best - theta) % math.pi
        assert min(d, math.pi - d) <= math.pi / 24 + 1e-9


def test_cells_reject_wrong_stimulus_size():
    with pytest.raises(ValueError, match="stimuli"):
        vision.SimpleCell(32)(torch.zeros(16, 16))
    with pytest.raises(ValueError, match="n_subunits"):
        vision.ComplexCell(32, n_subunits=0)


# --------------------------------------------------------------------------- Neocognitron
def test_draw_pattern_literal_and_shift():
    t = vision.draw_pattern("T", size=15)
    assert t.sum() == 17  # 9 + 9 pixels, one shared
    assert t[3, 3:12].eq(1).all() and t[3:12, 7].eq(1).all()
    np.testing.assert_array_equal(vision.draw_pattern("L", size=24, shift=(2, -3)).numpy(),
                                  np.roll(vision.draw_pattern("L", size=24).numpy(), (2, -3), axis=(0, 1)))
    with pytest.raises(ValueError, match="name"):
        vision.draw_pattern("Q")


def test_s1_line_detectors_literal():
    net = vision.Neocognitron(torch.stack([vision.draw_pattern(n) for n in vision.PATTERNS]))
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, :, 4] = 1  # a vertical line
    s1 = net.maps(x)["s1"][0]
    # vertical template: 3 on the line, threshold 1 -> 2; horizontal and diagonals: 1 - 0.5 - 0.5 = 0 -> 0
    assert s1[0, 4, 4] == pytest.approx(2.0)
    assert s1[0, 4, 3] == 0 and s1[0, 4, 5] == 0
    assert s1[1:, 4, 4].abs().max() == 0


def test_neocognitron_is_built_from_cnn_modules():
    net = vision.Neocognitron(torch.stack([vision.draw_pattern(n) for n in vision.PATTERNS]))
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "AdaptiveMaxPool2d"]
    assert not any(p.requires_grad for p in net.parameters())


def test_neocognitron_recognises_shifted_patterns():
    names = list(vision.PATTERNS)
    net = vision.Neocognitron(torch.stack([vision.draw_pattern(n) for n in names]))
    x = torch.stack([vision.draw_pattern(n, shift=(dr, dc)) for n in names for dr in (-6, 0, 5)
                     for dc in (-5, 0, 6)])[:, None]
    labels = torch.arange(len(names)).repeat_interleave(9)
    assert (net(x).argmax(1) == labels).all()
    # a pixel template fixed at the centre (no S/C hierarchy) fails on the same shifts
    protos = torch.stack([vision.draw_pattern(n) for n in names]).flatten(1)
    pixel = (x.flatten(1) @ protos.T).argmax(1)
    assert (pixel == labels).float().mean() < 0.6


def test_c1_pooling_helps_with_deformed_patterns():
    names = list(vision.PATTERNS)
    protos = torch.stack([vision.draw_pattern(n) for n in names])
    x = torch.stack([vision.draw_pattern(n, shift=(s % 5 - 2, s % 3 - 1), jitter=1, seed=s)
                     for n in names for s in range(30)])[:, None]
    labels = torch.arange(len(names)).repeat_interleave(30)
    acc = {pool: (vision.Neocognitron(protos, pool=pool)(x).argmax(1) == labels).float().mean().item()
           for pool in (1, 2)}
    assert acc[2] > acc[1]


# --------------------------------------------------------------------------- place in a CNN
def _toy_object():
    image = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(16, 16, dtype=torch.bool)
    mask[4:7, 5:9] = True
    return image, mask


def test_move_object_literal_and_leaves_inputs_alone():
    image, mask = _toy_object()
    before = image.clone()
    out = vision.move_object(image, mask, (2, -3), background=0.25)
    assert torch.equal(image, before)
    colour = image[:, 4:7, 5:9].mean((1, 2))  # mean colour of the 3 x 4 object, by hand
    expected = torch.full((3, 16, 16), 0.25)
    expected[:, 6:9, 2:6] = colour[:, None, None]
    torch.testing.assert_close(out, expected)


def test_move_object_rejects_leaving_the_frame_and_bad_shifts():
    image, mask = _toy_object()
    with pytest.raises(ValueError, match="inside the image"):
        vision.move_object(image, mask, (0, 8))  # columns 5-8 would reach 16
    with pytest.raises(ValueError, match="shift must be a pair of ints"):
        vision.move_object(image, mask, (0, 1.5))
    with pytest.raises(ValueError, match="mask must be a bool"):
        vision.move_object(image, mask.float(), (0, 1))


def test_shifted_map_correlation_integer_shift_is_one_and_unshifted_is_lower():
    a = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    b = torch.zeros_like(a)
    b[..., :, 2:] = a[..., :, :-2]  # moved two cells right; the first two columns are new
    b[..., :, :2] = torch.rand(2, 3, 8, 2, generator=torch.Generator().manual_seed(2))
    np.testing.assert_allclose(vision.shifted_map_correlation(a, b, (0, 2)).numpy(), [1.0, 1.0], atol=1e-6)
    assert (vision.shifted_map_correlation(a, b, (0, 0)) < 0.5).all()


def test_shifted_map_correlation_fractional_shift_interpolates_literal():
    # one row, a ramp: moved by half a cell, the interpolated copy of a ramp is still a ramp
    a = torch.tensor([[[[0.0, 1.0, 4.0, 9.0, 16.0]]]])
    half = (a[..., 1:] + a[..., :-1]) / 2  # a moved by 0.5 cells, on columns 1..4
    b = torch.zeros_like(a)
    b[..., 1:] = half
    got = vision.shifted_map_correlation(a, b, (0, 0.5)).item()
    assert got == pytest.approx(1.0, abs=1e-6)
    # moved by a whole cell instead, the copy no longer matches: numpy's Pearson on columns 1..4
    expected = np.corrcoef(a[0, 0, 0, :-1].numpy(), half[0, 0, 0].numpy())[0, 1]
    assert vision.shifted_map_correlation(a, b, (0, 1)).item() == pytest.approx(expected, abs=1e-6)


def test_shifted_map_correlation_no_overlap_is_nan_and_bad_shapes_raise():
    a = torch.rand(1, 1, 4, 4)
    assert torch.isnan(vision.shifted_map_correlation(a, a, (0, 4))).all()
    with pytest.raises(ValueError, match="maps_moved must have the shape"):
        vision.shifted_map_correlation(a, torch.rand(1, 1, 4, 5), (0, 1))
    with pytest.raises(ValueError, match="maps must be a tensor"):
        vision.shifted_map_correlation(a[0], a[0], (0, 1))


def test_shift_equivariance_on_a_conv_net_and_flags_restored():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 3))
    net.train()
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 5:9, 3:6] = 1.0
    x_moved = torch.roll(x, 4, dims=3)  # the object stays inside: the zero background is rolled
    r = vision.shift_equivariance(net, x, x_moved, (0, 4), ["0", "2", "4"])
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert vizlib.hooks.hook_count(net) == 0
    assert r["0"]["jump"] == 1 and r["0"]["cells"] == (0.0, 4.0)
    assert r["0"]["moved"].item() == pytest.approx(1.0, abs=1e-5)  # zero padding = zero background
    assert r["2"]["jump"] == 2 and r["2"]["moved"].item() == pytest.approx(1.0, abs=1e-5)
    assert r["0"]["still"].item() < 0.9
    assert r["4"]["cells"] is None and torch.isnan(r["4"]["moved"]).all()
    with pytest.raises(ValueError, match="shift must be a pair of ints"):
        vision.shift_equivariance(net, x, x_moved, (0, 4.0), ["0"])
