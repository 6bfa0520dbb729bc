"""vizlib.plotting: map functions draw a colour bar by default and honour a shared scale.

Expected values come from the inputs themselves (the limits passed in, the map's own range),
read back from Matplotlib's artists, not from the code under test.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vizlib import plotting  # noqa: E402

RNG = np.random.default_rng(0)
MAP = RNG.normal(size=(16, 16))
IMAGE = torch.rand(3, 16, 16)
SPECTRUM = np.abs(RNG.normal(size=(15, 15)))


def draw(name, **kw):
    fig, ax = plt.subplots()
    if name == "show_map":
        plotting.show_map(MAP, image=IMAGE, ax=ax, **kw)
    elif name == "show_pointing":
        plotting.show_pointing(MAP, MAP > 1, image=IMAGE, ax=ax, **kw)
    elif name == "show_signed_map":
        plotting.show_signed_map(MAP, image=IMAGE, ax=ax, **kw)
    else:
        plotting.show_spectrum(SPECTRUM, ax=ax, **kw)
    return fig, ax


MAP_FUNCTIONS = ["show_map", "show_pointing", "show_signed_map", "show_spectrum"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", MAP_FUNCTIONS)
def test_map_functions_draw_a_colour_bar_by_default(name):
    fig, ax = draw(name)
    mapped = ax.images[-1]          # the map is drawn last, over the grey image
    assert mapped.colorbar is not None, f"{name} drew no colour bar"
    assert len(fig.axes) == 2       # the map and its colour bar
    lo, hi = mapped.colorbar.mappable.norm.vmin, mapped.colorbar.mappable.norm.vmax
    assert (lo, hi) == (mapped.norm.vmin, mapped.norm.vmax)
    for label in mapped.colorbar.ax.get_yticklabels():
        assert label.get_fontsize() >= 8


@pytest.mark.parametrize("name", MAP_FUNCTIONS)
def test_map_functions_leave_out_the_colour_bar_on_request(name):
    fig, ax = draw(name, colorbar=False)
    assert ax.images[-1].colorbar is None and len(fig.axes) == 1


@pytest.mark.parametrize("name", MAP_FUNCTIONS)
def test_map_functions_use_a_shared_scale(name):
    fig, ax = draw(name, vmin=-0.25, vmax=3.0)
    norm = ax.images[-1].norm
    assert (norm.vmin, norm.vmax) == (-0.25, 3.0)


def test_show_map_default_scale_is_the_maps_own_range():
    fig, ax = draw("show_map")
    norm = ax.images[-1].norm
    assert norm.vmin == pytest.approx(MAP.min()) and norm.vmax == pytest.approx(MAP.max())


def test_signed_map_puts_white_at_zero_for_an_asymmetric_scale():
    fig, ax = draw("show_signed_map", vmin=-1.0, vmax=4.0)
    im = ax.images[-1]
    white = np.asarray(im.cmap(0.5)[:3])       # bwr's middle is white
    assert np.allclose(white, 1.0, atol=0.01)
    assert im.norm(0.0) == pytest.approx(0.5)   # zero maps to the middle of the colour map
    assert im.norm(-1.0) == pytest.approx(0.0) and im.norm(4.0) == pytest.approx(1.0)


def test_signed_map_symmetric_limit_by_default():
    fig, ax = draw("show_signed_map")
    norm = ax.images[-1].norm
    assert norm.vmin == pytest.approx(-np.abs(MAP).max()) and norm.vmax == pytest.approx(np.abs(MAP).max())


@pytest.mark.parametrize("kw, error, fragment", [
    (dict(vmin=1.0, vmax=0.5), ValueError, "vmin must be smaller than vmax"),
    (dict(vmin="0"), TypeError, "vmin must be a finite number"),
    (dict(vmax=float("nan")), ValueError, "vmax must be a finite number"),
])
@pytest.mark.parametrize("name", MAP_FUNCTIONS)
def test_map_functions_reject_bad_limits(name, kw, error, fragment):
    with pytest.raises(error, match=fragment):
        draw(name, **kw)


def test_signed_map_rejects_a_scale_without_zero():
    with pytest.raises(ValueError, match="zero inside the scale"):
        draw("show_signed_map", vmin=0.5, vmax=2.0)
    with pytest.raises(ValueError, match="either limit or vmin/vmax"):
        draw("show_signed_map", limit=1.0, vmax=2.0)


def test_spectrum_colour_bar_names_its_units():
    for log, label in ((False, "|H|"), (True, "log(1 + |H|)")):
        fig, ax = draw("show_spectrum", log=log)
        assert ax.images[-1].colorbar.ax.get_ylabel() == label


def test_rescale_maps_to_unit_range_and_constants_to_half():
    x = np.array([[2.0, 4.0], [6.0, 10.0]])
    assert np.allclose(plotting.rescale(x), (x - 2.0) / 8.0)
    assert np.allclose(plotting.rescale(np.full((2, 2), 3.0)), 0.5)


def test_to_numpy_image_moves_channels_last_and_clips():
    t = torch.tensor([[[-1.0, 0.5]], [[0.2, 2.0]], [[0.3, 0.4]]])   # (3, 1, 2)
    out = plotting.to_numpy_image(t)
    assert out.shape == (1, 2, 3)
    assert np.allclose(out[0, 0], [0.0, 0.2, 0.3]) and np.allclose(out[0, 1], [0.5, 1.0, 0.4])


@pytest.mark.parametrize("ncols, expected", [(8, 6.8), (4, 1.6 * 4), (5, 6.8)])
def test_image_grid_fits_the_page_by_default(ncols, expected):
    axes = plotting.show_images(torch.rand(ncols, 3, 8, 8), ncols=ncols)
    fig = np.asarray(axes).ravel()[0].figure
    assert fig.get_size_inches()[0] == pytest.approx(expected)
    assert plotting.PAGE_WIDTH == 6.8   # 688 px column at 100 dpi, rounded down


def test_filter_grid_panels_are_at_most_one_and_a_half_inches_and_fit_the_page():
    for n, ncols, width in ((4, 4, 4 * 1.5), (32, 8, 6.8)):
        axes = plotting.show_filters(torch.randn(n, 3, 5, 5), ncols=ncols)
        fig = np.asarray(axes).ravel()[0].figure
        assert fig.get_size_inches()[0] == pytest.approx(width)
