"""Tests for vizlib.filters: closed forms, symmetries, Gabor fits and orientation selectivity."""
import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from vizlib import filters
from vizlib.models import CourseNet


def gabor_by_loops(size, sigma, theta, wavelength, gamma=1.0, psi=0.0):
    """The Gabor formula written out pixel by pixel (rows are y, columns are x)."""
    c = (size - 1) / 2
    out = np.zeros((size, size))
    for row in range(size):
        for col in range(size):
            x, y = col - c, row - c
            xp = x * math.cos(theta) + y * math.sin(theta)
            yp = -x * math.sin(theta) + y * math.cos(theta)
            out[row, col] = math.exp(-(xp**2 + gamma**2 * yp**2) / (2 * sigma**2)) * math.cos(
                2 * math.pi * xp / wavelength + psi)
    return out


def angle_error_deg(a, b):
    """Distance between two orientations modulo 180 degrees."""
    d = (a - b) % math.pi
    return math.degrees(min(d, math.pi - d))


# --------------------------------------------------------------------------- Gabor kernels
@pytest.mark.parametrize("args", [(7, 2.0, 0.0, 4.0, 1.0, 0.0), (11, 2.5, 0.6, 5.0, 0.5, 1.0),
                                  (8, 1.5, -1.2, 3.0, 2.0, math.pi / 2)])
def test_gabor_kernel_matches_formula_pixel_by_pixel(args):
    size, sigma, theta, lam, gamma, psi = args
    got = filters.gabor_kernel(size, sigma=sigma, theta=theta, wavelength=lam, gamma=gamma, psi=psi)
    assert got.shape == (size, size) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), gabor_by_loops(size, sigma, theta, lam, gamma, psi), atol=1e-6)


def test_gabor_kernel_theta_zero_has_vertical_stripes_and_peak_at_centre():
    g = filters.gabor_kernel(9, sigma=1000.0, theta=0.0, wavelength=4.0).numpy()
    # with a very wide envelope every row is the same cosine of the column offset
    np.testing.assert_allclose(g, np.tile(np.cos(2 * np.pi * (np.arange(9) - 4) / 4.0), (9, 1)), atol=1e-3)
    assert g[4, 4] == pytest.approx(1.0)


def test_gabor_kernel_theta_plus_90_degrees_is_the_transpose_at_theta_zero():
    for gamma in (0.5, 1.0, 1.7):
        a = filters.gabor_kernel(11, sigma=2.0, theta=0.0, wavelength=5.0, gamma=gamma, psi=0.4)
        b = filters.gabor_kernel(11, sigma=2.0, theta=math.pi / 2, wavelength=5.0, gamma=gamma, psi=0.4)
        np.testing.assert_allclose(b.numpy(), a.numpy().T, atol=1e-6)


def test_gabor_kernel_theta_plus_90_degrees_rotates_the_kernel_by_90_degrees():
    # K_{theta+90}(x, y) = K_theta(y, -x): a quarter turn of the array
    a = filters.gabor_kernel(13, sigma=2.5, theta=0.4, wavelength=6.0, gamma=0.6, psi=1.1).numpy()
    b = filters.gabor_kernel(13, sigma=2.5, theta=0.4 + math.pi / 2, wavelength=6.0, gamma=0.6, psi=1.1).numpy()
    np.testing.assert_allclose(b, np.rot90(a, k=-1), atol=1e-6)
    # and reflecting about the diagonal maps theta to 90 degrees - theta
    c = filters.gabor_kernel(13, sigma=2.5, theta=math.pi / 2 - 0.4, wavelength=6.0, gamma=0.6, psi=1.1).numpy()
    np.testing.assert_allclose(c, a.T, atol=1e-6)


def test_gabor_kernel_psi_half_pi_is_odd_and_psi_zero_is_even():
    odd = filters.gabor_kernel(11, sigma=2.0, theta=0.7, wavelength=5.0, gamma=0.8, psi=math.pi / 2).numpy()
    even = filters.gabor_kernel(11, sigma=2.0, theta=0.7, wavelength=5.0, gamma=0.8, psi=0.0).numpy()
    np.testing.assert_allclose(odd[::-1, ::-1], -odd, atol=1e-6)
    np.testing.assert_allclose(even[::-1, ::-1], even, atol=1e-6)
    assert abs(odd.sum()) < 1e-5 and abs(odd).max() > 0.3


@pytest.mark.parametrize("kwargs, err", [
    (dict(size=0), ValueError), (dict(size=5.0), TypeError), (dict(sigma=-1.0), ValueError),
    (dict(wavelength=0.0), ValueError), (dict(gamma=float("nan")), ValueError), (dict(theta="0"), TypeError),
])
def test_gabor_kernel_rejects_bad_arguments_naming_them(kwargs, err):
    args = dict(size=7, sigma=2.0, theta=0.0, wavelength=4.0, **{})
    args.update(kwargs)
    size = args.pop("size")
    with pytest.raises(err, match=next(iter(kwargs))):
        filters.gabor_kernel(size, **args)


def test_gabor_bank_is_wavelength_major():
    bank = filters.gabor_bank(9, thetas=[0.0, 1.0], wavelengths=[4.0, 6.0], sigma_ratio=0.5)
    assert bank.shape == (4, 9, 9)
    np.testing.assert_allclose(bank[3].numpy(), gabor_by_loops(9, 3.0, 1.0, 6.0), atol=1e-6)


# --------------------------------------------------------------------------- classic kernels, convolution
def test_kernel_literals():
    np.testing.assert_array_equal(filters.kernel("laplacian").numpy(), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(filters.kernel("sharpen").numpy(), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(filters.kernel("sobel_x").numpy(), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_allclose(filters.kernel("box", 5).numpy(), np.full((5, 5), 0.04), atol=1e-8)
    g = filters.kernel("gaussian", 7, 1.5).numpy()
    assert g.sum() == pytest.approx(1.0, abs=1e-6)
    assert g[3, 3] / g[3, 4] == pytest.approx(math.exp(1 / (2 * 1.5**2)), rel=1e-5)
    with pytest.raises(ValueError, match="name must be one of"):
        filters.kernel("emboss")


def test_conv2d_image_matches_scipy_correlate_with_mirror_padding():
    rng = np.random.default_rng(0)
    img = rng.random((3, 20, 17)).astype(np.float32)
    k = rng.standard_normal((5, 5)).astype(np.float32)
    got = filters.conv2d_image(torch.from_numpy(img), torch.from_numpy(k))
    expected = np.stack([ndimage.correlate(c, k, mode="mirror") for c in img])
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)
    bank = filters.conv2d_image(torch.from_numpy(img[0]), torch.from_numpy(np.stack([k, -k])))
    assert bank.shape == (2, 20, 17)
    np.testing.assert_allclose(bank[1].numpy(), -expected[0], atol=1e-5)
    with pytest.raises(ValueError, match="kernel"):
        filters.conv2d_image(torch.zeros(4, 4), torch.zeros(5, 5))


def test_grating_matches_gabor_with_infinite_envelope():
    g = filters.grating(9, theta=0.3, wavelength=4.0, phase=0.2).numpy()
    np.testing.assert_allclose(g, gabor_by_loops(9, 1e6, 0.3, 4.0, 1.0, 0.2), atol=1e-6)
    assert filters.gratings(9, thetas=[0, 1, 2], wavelength=4.0).shape == (3, 9, 9)


# --------------------------------------------------------------------------- frequency responses
def test_frequency_response_of_box_blur_matches_closed_form():
    n = 64
    f = np.fft.fftshift(np.fft.fftfreq(n))
    v, u = np.meshgrid(f, f, indexing="ij")
    expected = np.abs((1 + 2 * np.cos(2 * np.pi * u)) / 3 * (1 + 2 * np.cos(2 * np.pi * v)) / 3)
    np.testing.assert_allclose(filters.frequency_response(filters.kernel("box", 3), n), expected, atol=1e-6)


def test_frequency_response_of_laplacian_matches_closed_form():
    n = 32
    f = np.fft.fftshift(np.fft.fftfreq(n))
    v, u = np.meshgrid(f, f, indexing="ij")
    expected = 4 - 2 * np.cos(2 * np.pi * u) - 2 * np.cos(2 * np.pi * v)
    got = filters.frequency_response(filters.kernel("laplacian"), n)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got[n // 2, n // 2] == pytest.approx(0.0, abs=1e-9)  # no DC: edges only


def test_frequency_response_of_sobel_is_separable_product():
    n = 16
    f = np.fft.fftshift(np.fft.fftfreq(n))
    v, u = np.meshgrid(f, f, indexing="ij")
    expected = np.abs(2 * np.sin(2 * np.pi * u)) * np.abs(2 + 2 * np.cos(2 * np.pi * v))
    np.testing.assert_allclose(filters.frequency_response(filters.kernel("sobel_x"), n), expected, atol=1e-6)


def test_frequency_response_per_channel_and_axis():
    k = np.stack([filters.kernel("laplacian").numpy(), filters.kernel("box").numpy()])
    got = filters.frequency_response(k, 16)
    assert got.shape == (2, 16, 16)
    np.testing.assert_allclose(got[1], filters.frequency_response(k[1], 16))
    ax = filters.frequency_axis(16)
    assert ax[8] == 0 and ax[0] == -0.5 and ax.shape == (16,)
    with pytest.raises(ValueError, match="size"):
        filters.frequency_response(np.ones((9, 9)), 8)


def test_pass_band_labels():
    assert filters.pass_band(filters.kernel("gaussian", 7, 1.5)) == "low-pass"
    assert filters.pass_band(filters.kernel("box", 5)) == "low-pass"
    assert filters.pass_band(filters.kernel("laplacian")) == "high-pass"
    assert filters.pass_band(filters.kernel("sharpen")) == "high-boost"
    assert filters.pass_band(filters.gabor_kernel(15, sigma=3.0, theta=0.3, wavelength=5.0)) == "band-pass"


# kernels written out by hand; their gain at zero frequency is the sum of the weights
SHARPEN = [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]        # sum 1, corner gain 9
LAPLACIAN_LEAK = [[0.0, 1.0, 0.0], [1.0, -3.99, 1.0], [0.0, 1.0, 0.0]]   # sum 0.01, corner gain 7.99
# unsharp masking: identity + (identity - 3x3 box), sum 1, gain 1 + 8/9 at the corner
UNSHARP = [[-1 / 9, -1 / 9, -1 / 9], [-1 / 9, 2 - 1 / 9, -1 / 9], [-1 / 9, -1 / 9, -1 / 9]]


@pytest.mark.parametrize("weights, expected", [
    (SHARPEN, "high-boost"),
    ([[-v for v in row] for row in SHARPEN], "high-boost"),   # gain -1 at zero frequency: |H(0)| = 1
    (UNSHARP, "high-boost"),
    (LAPLACIAN_LEAK, "high-pass"),                            # 0.01 at zero frequency: removes the mean
])
def test_pass_band_tells_high_boost_from_high_pass_by_the_gain_at_zero_frequency(weights, expected):
    k = torch.tensor(weights)
    assert abs(float(filters.frequency_response(k)[32, 32]) - abs(sum(map(sum, weights)))) < 1e-6
    assert filters.pass_band(k) == expected


def test_pass_band_of_a_colour_filter_sums_its_channels():
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    sharpen, unsharp = torch.tensor(SHARPEN), torch.tensor(UNSHARP)
    # zero-frequency gain 1 + 0.5 + 1 = 2.5 against at most 9 + 4.5 + 17 / 9 < 25 at high frequencies
    assert filters.pass_band(torch.stack([sharpen, 0.5 * sharpen, unsharp])) == "high-boost"
    # zero-frequency gain 1 against 8 + 9 + 8 = 25 at the corner: below a tenth, high-pass
    assert filters.pass_band(torch.stack([lap, sharpen, lap])) == "high-pass"
    assert filters.pass_band(torch.stack([lap, -lap, 0.5 * lap])) == "high-pass"


# --------------------------------------------------------------------------- Gabor fits
def test_fit_gabor_recovers_exact_gabor():
    g = gabor_by_loops(13, 2.5, 1.1, 5.5, 0.7, 0.9)
    params, r2 = filters.fit_gabor(torch.from_numpy(g))
    assert r2 > 0.999
    assert angle_error_deg(params["theta"], 1.1) < 0.5
    assert params["wavelength"] == pytest.approx(5.5, rel=0.01)
    assert params["sigma"] == pytest.approx(2.5, rel=0.01)
    assert params["gamma"] == pytest.approx(0.7, rel=0.02)
    assert abs(params["x0"]) < 0.05 and abs(params["y0"]) < 0.05
    # the rendered fit is the formula with the recovered parameters
    np.testing.assert_allclose(filters.gabor_from_params(params, 13), g, atol=1e-3)


@pytest.mark.parametrize("seed", range(8))
def test_fit_gabor_recovers_parameters_with_10_percent_noise(seed):
    rng = np.random.default_rng(100 + seed)
    size = int(rng.choice([7, 9, 11, 15]))
    lam = rng.uniform(3.0, size / 1.3)
    sigma = rng.uniform(0.4, 0.7) * lam
    theta, gamma, psi = rng.uniform(0, math.pi), rng.uniform(0.6, 1.5), rng.uniform(0, 2 * math.pi)
    clean = gabor_by_loops(size, sigma, theta, lam, gamma, psi)
    noisy = clean + 0.1 * clean.std() * rng.standard_normal(clean.shape)  # noise: 10% of the signal's s.d.
    params, r2 = filters.fit_gabor(noisy)
    assert r2 >= 0.95
    assert angle_error_deg(params["theta"], theta) <= 5.0
    assert params["wavelength"] == pytest.approx(lam, rel=0.15)
    fit = filters.gabor_from_params(params, size)
    assert 1 - ((fit - clean) ** 2).sum() / ((clean - clean.mean()) ** 2).sum() >= 0.95  # close to the clean one


def test_fit_gabor_colour_filter_uses_principal_colour_component():
    g = gabor_by_loops(9, 2.0, 0.5, 4.5)
    colour = np.array([0.8, -0.6, 0.0])
    w = colour[:, None, None] * g
    params, r2 = filters.fit_gabor(torch.from_numpy(w).float())
    assert r2 > 0.999 and params["colour_fraction"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(params["colour"], colour, atol=1e-5)
    spatial, col, frac = filters.spatial_component(w)
    np.testing.assert_allclose(col[:, None, None] * spatial, w, atol=1e-6)
    # a colour-opponent filter sums to nearly nothing over channels but keeps its map here
    assert abs(w.sum(0)).max() < 0.25 * abs(spatial).max()


def test_fit_gabor_rejects_constant_and_badly_shaped_kernels():
    with pytest.raises(ValueError, match="constant"):
        filters.fit_gabor(np.ones((7, 7)))
    with pytest.raises(ValueError, match="kernel must have shape"):
        filters.fit_gabor(np.ones((2, 3, 7, 7)))
    with pytest.raises(TypeError, match="kernel"):
        filters.fit_gabor([[1, 2], [3, 4]])


def test_phase_randomise_keeps_amplitude_spectrum_and_destroys_fit():
    g = gabor_by_loops(11, 2.0, 0.3, 4.0)
    s = filters.phase_randomise(g, seed=3)
    assert s.dtype == np.float64 and s.shape == g.shape
    np.testing.assert_allclose(np.abs(np.fft.fft2(s)), np.abs(np.fft.fft2(g)), atol=1e-9)
    assert not np.allclose(s, g, atol=1e-3)
    assert filters.fit_gabor(s)[1] < 0.9


# --------------------------------------------------------------------------- orientation selectivity
def test_osi_from_tuning_closed_form_cosine_tuning():
    # r(theta) = 1 + a cos(2 (theta - t0)) on an even grid: OSI = a / 2 exactly
    thetas = np.arange(24) * np.pi / 24
    for a in (0.0, 0.4, 1.0):
        r = 1 + a * np.cos(2 * (thetas - 0.3))
        assert filters.osi_from_tuning(thetas, r) == pytest.approx(a / 2, abs=1e-12)
    one = np.zeros(24)
    one[5] = 2.0
    assert filters.osi_from_tuning(thetas, one) == pytest.approx(1.0)


def test_classic_osi_closed_form_cosine_tuning():
    # r(theta) = 1 + a cos(2 (theta - t0)), t0 on the grid: r_pref = 1 + a, r_orth = 1 - a
    thetas = np.arange(24) * np.pi / 24
    for a in (0.0, 0.4, 1.0):
        r = 1 + a * np.cos(2 * (thetas - thetas[7]))
        assert filters.classic_osi_from_tuning(thetas, r) == pytest.approx(a, abs=1e-12)
    edge_like = np.r_[np.full(12, 1.0), np.full(12, 0.0)]   # broad tuning, silent at 90 degrees
    assert filters.classic_osi_from_tuning(thetas, edge_like) == pytest.approx(1.0)
    # vector sum over half the circle of doubled angles: |sum_j e^{i j pi/12}| / 12, j < 12
    assert filters.osi_from_tuning(thetas, edge_like) == pytest.approx(1 / (12 * np.sin(np.pi / 24)), abs=1e-12)


def test_classic_osi_rejects_an_odd_grid_and_negative_responses():
    with pytest.raises(ValueError, match="even length"):
        filters.classic_osi_from_tuning(np.arange(5) * np.pi / 5, np.ones(5))
    with pytest.raises(ValueError, match="non-negative"):
        filters.classic_osi_from_tuning(np.arange(4) * np.pi / 4, np.array([1.0, -1.0, 0.0, 0.0]))


def test_fit_filters_reports_both_orientation_indices():
    w = np.stack([filters.gabor_kernel(11, sigma=3.0, theta=0.4, wavelength=6.0),
                  filters.kernel("gaussian", 11, 2.0)])
    res = filters.fit_filters(w)
    for i in range(2):
        thetas, r = filters.orientation_tuning(w[i])
        j = int(np.argmax(r))
        expected = (r[j] - r[(j + 18) % 36]) / (r[j] + r[(j + 18) % 36])
        assert res["osi_classic"][i] == pytest.approx(expected, abs=1e-9)
    assert res["osi_classic"][0] > 0.9 and res["osi_classic"][1] < 0.05


def test_orientation_selectivity_closed_form_two_pixel_edge():
    # kernel [1, -1] in one row: |K^(f, theta)| = 2 |sin(pi f cos(theta))|; at f = 0.5
    k = np.array([[1.0, -1.0], [0.0, 0.0]])
    n = 36
    thetas = np.arange(n) * np.pi / n
    r = 2 * np.abs(np.sin(np.pi * 0.5 * np.cos(thetas)))
    expected = abs((r * np.exp(2j * thetas)).sum()) / r.sum()
    t, resp = filters.orientation_tuning(k, n_orientations=n, frequency=0.5)
    np.testing.assert_allclose(t, thetas, atol=1e-15)
    np.testing.assert_allclose(resp, r, atol=1e-12)
    assert filters.orientation_selectivity(k, frequency=0.5) == pytest.approx(expected, abs=1e-12)
    # 0.5 cycles/pixel at theta = 0 is also this kernel's strongest response (2), so it is the preferred frequency
    assert filters.orientation_selectivity(k) == pytest.approx(expected, abs=1e-12)


def test_orientation_selectivity_isotropic_kernels_are_untuned():
    ident = filters.kernel("identity", 5)  # flat spectrum
    assert filters.orientation_selectivity(ident) == pytest.approx(0.0, abs=1e-12)
    assert filters.orientation_selectivity(filters.kernel("gaussian", 9, 1.5)) < 0.03


def test_orientation_selectivity_of_gabor_is_high_and_peaks_at_its_theta():
    for theta in (0.0, 0.5, 2.0):
        g = filters.gabor_kernel(15, sigma=3.0, theta=theta, wavelength=6.0)
        t, r = filters.orientation_tuning(g, n_orientations=36)
        assert angle_error_deg(t[np.argmax(r)], theta) <= 2.5
        assert filters.orientation_selectivity(g) > 0.75
    # elongated envelope (small gamma) sharpens tuning
    wide = filters.gabor_kernel(15, sigma=3.0, theta=0.0, wavelength=6.0, gamma=0.5)
    assert filters.orientation_selectivity(wide) > filters.orientation_selectivity(
        filters.gabor_kernel(15, sigma=3.0, theta=0.0, wavelength=6.0, gamma=1.5))


# --------------------------------------------------------------------------- layers of models
def test_first_layer_filters_finds_first_conv_in_any_architecture():
    course = CourseNet()
    w = filters.first_layer_filters(course)
    assert w.shape == (32, 3, 7, 7)
    assert torch.equal(w, course.features.conv1.weight)
    w.zero_()  # a copy: the model is unchanged
    assert course.features.conv1.weight.abs().sum() > 0

    class ResNetLike(torch.nn.Module):  # conv1 as a top-level attribute, no .features
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(3, 6, 7, stride=2)
            self.layer1 = torch.nn.Sequential(torch.nn.Conv2d(6, 6, 3))

    assert filters.first_conv(ResNetLike())[0] == "conv1"
    assert filters.first_layer_filters(ResNetLike()).shape == (6, 3, 7, 7)
    nested = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Conv2d(3, 5, 3)),
                                 torch.nn.Conv2d(5, 7, 3))
    assert filters.first_conv(nested)[0] == "1.1" and filters.first_layer_filters(nested).shape == (5, 3, 3, 3)
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        filters.first_conv(torch.nn.Linear(3, 3))


def test_fit_filters_matches_fit_gabor_per_filter():
    rng = np.random.default_rng(0)
    bank = np.stack([gabor_by_loops(9, 2.0, t, 4.5) for t in (0.2, 1.0, 2.4)])
    w = bank[:, None] * np.array([1.0, 0.5, -0.2])[None, :, None, None] + 0.01 * rng.standard_normal((3, 3, 9, 9))
    res = filters.fit_filters(torch.from_numpy(w).float(), n_surrogates=2)
    assert res["r2"].shape == (3,) and res["surrogate_r2"].shape == (3, 2) and res["fits"].shape == (3, 9, 9)
    for i in range(3):
        params, r2 = filters.fit_gabor(w[i])
        assert res["r2"][i] == pytest.approx(r2, abs=1e-6)
        assert res["osi"][i] == pytest.approx(filters.orientation_selectivity(w[i]), abs=1e-6)
    assert (res["r2"] > res["surrogate_r2"].max(1)).all()
    with pytest.raises(ValueError, match="weights must have shape"):
        filters.fit_filters(np.ones((7, 7)))


# --------------------------------------------------------------------------- patches
def test_whiten_flattens_a_one_over_f_spectrum():
    rng = np.random.default_rng(0)
    n = 128
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    pink = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) / f))  # amplitude ~ 1/f
    white = filters.whiten(pink, cutoff=0.8).numpy().astype(float)
    assert white.mean() == pytest.approx(0, abs=1e-5) and white.std() == pytest.approx(1, abs=1e-4)
    spec = np.abs(np.fft.fft2(white))
    low = spec[(f > 0.05) & (f < 0.1)].mean()
    mid = spec[(f > 0.15) & (f < 0.2)].mean()
    assert 0.7 < mid / low < 1.4  # flat, where the input fell by a factor of 2
    with pytest.raises(ValueError, match="cutoff"):
        filters.whiten(pink, cutoff=2.0)


def test_random_patches_are_crops_of_the_image():
    img = torch.arange(3 * 20 * 30, dtype=torch.float32).reshape(3, 20, 30)
    p = filters.random_patches(img, 5, 7, seed=1)
    assert p.shape == (7, 3, 5, 5)
    for patch in p:  # each patch is a contiguous crop: row steps of 30, column steps of 1
        top_left = int(patch[0, 0, 0].item())
        r, c = divmod(top_left, 30)
        assert torch.equal(patch, img[:, r:r + 5, c:c + 5])
    assert torch.equal(p, filters.random_patches(img, 5, 7, seed=1))
    with pytest.raises(ValueError, match="size"):
        filters.random_patches(img, 25, 3)
