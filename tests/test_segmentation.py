import itertools

import numpy as np
import pytest
import torch

from vizlib.segmentation import (
    colour_costs, contrast_weights, energy, graph_cut, iou, largest_component, saliency_segmentation,
    saliency_segmentation_batch, seed_masks, threshold_segmentation,
)


# --------------------------------------------------------------------------- a second, brute-force solver

def _edges(h, w):
    """4-neighbour pairs as explicit ((r, c), (r2, c2), which, index) tuples."""
    out = []
    for r in range(h):
        for c in range(w):
            if c + 1 < w:
                out.append(((r, c), (r, c + 1), "right", (r, c)))
            if r + 1 < h:
                out.append(((r, c), (r + 1, c), "down", (r, c)))
    return out


def _all_energies(cf, cb, wr, wd):
    """Energy of every one of the 2**(H*W) labellings; row k of `labs` is labelling k."""
    h, w = cf.shape
    labs = np.array(list(itertools.product([False, True], repeat=h * w))).reshape(-1, h, w)
    e = np.where(labs, cf, cb).reshape(len(labs), -1).sum(1).astype(np.float64)
    for p, q, which, idx in _edges(h, w):
        weight = wr[idx] if which == "right" else wd[idx]
        e += weight * (labs[:, p[0], p[1]] != labs[:, q[0], q[1]])
    return labs, e


def _random_problem(rng, h, w, high=10):
    cf = rng.integers(0, high, (h, w))
    cb = rng.integers(0, high, (h, w))
    wr = rng.integers(0, high // 2, (h, w - 1))
    wd = rng.integers(0, high // 2, (h - 1, w))
    return cf, cb, wr, wd


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(3, 3), (4, 4), (2, 5)])
def test_graph_cut_integer_problem_reaches_brute_force_minimum(seed, shape):
    rng = np.random.default_rng([seed, *shape])
    cf, cb, wr, wd = _random_problem(rng, *shape)
    labs, e = _all_energies(cf, cb, wr, wd)
    got = graph_cut(cf, cb, wr, wd, resolution=1)
    assert got.shape == shape and got.dtype == bool
    k = np.flatnonzero((labs == got).reshape(len(labs), -1).all(1))[0]
    assert e[k] == e.min()
    # among all minima, the one with the fewest foreground pixels (it is unique: minimal min-cut)
    minima = labs[e == e.min()]
    assert got.sum() == minima.reshape(len(minima), -1).sum(1).min()


@pytest.mark.parametrize("seed", range(4))
def test_graph_cut_hard_seeds_match_constrained_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    cf, cb, wr, wd = _random_problem(rng, 4, 4)
    fg = np.zeros((4, 4), bool)
    bg = np.zeros((4, 4), bool)
    fg[rng.integers(0, 4), rng.integers(0, 2)] = True
    bg[rng.integers(0, 4), rng.integers(2, 4)] = True
    labs, e = _all_energies(cf, cb, wr, wd)
    allowed = labs[:, fg].all(1) & ~labs[:, bg].any(1)
    got = graph_cut(cf, cb, wr, wd, fg_seeds=fg, bg_seeds=bg, resolution=1)
    assert got[fg].all() and not got[bg].any()
    k = np.flatnonzero((labs == got).reshape(len(labs), -1).all(1))[0]
    assert e[k] == e[allowed].min()


def test_graph_cut_float_costs_are_optimal_up_to_rounding():
    rng = np.random.default_rng(7)
    cf, cb = rng.random((3, 4)) * 3, rng.random((3, 4)) * 3
    wr, wd = rng.random((3, 3)), rng.random((2, 4))
    labs, e = _all_energies(cf, cb, wr, wd)
    got = graph_cut(cf, cb, wr, wd, resolution=1000)
    k = np.flatnonzero((labs == got).reshape(len(labs), -1).all(1))[0]
    n_terms = cf.size * 2 + wr.size + wd.size
    assert e[k] <= e.min() + n_terms * 0.5 / 1000


def test_graph_cut_two_pixels_hand_computed():
    cf, cb = np.array([[0, 5]]), np.array([[5, 0]])
    weak, strong = np.array([[1]]), np.array([[10]])
    # weak link: each pixel takes its cheaper label, paying the link (energy 1)
    np.testing.assert_array_equal(graph_cut(cf, cb, weak, np.zeros((0, 2)), resolution=1), [[True, False]])
    # strong link: both labellings TT and FF cost 5, the tie goes to the smaller foreground
    np.testing.assert_array_equal(graph_cut(cf, cb, strong, np.zeros((0, 2)), resolution=1), [[False, False]])


def test_energy_hand_computed():
    cf = np.array([[1.0, 2.0], [3.0, 4.0]])
    cb = np.array([[10.0, 20.0], [30.0, 40.0]])
    wr = np.array([[0.5], [0.25]])
    wd = np.array([[100.0, 1000.0]])
    lab = np.array([[True, False], [True, True]])
    # unary: 1 + 20 + 3 + 4; cut pairs: (0,0)-(0,1) right 0.5, (0,1)-(1,1) down 1000
    assert energy(lab, cf, cb, wr, wd) == pytest.approx(28 + 0.5 + 1000)


def test_seed_masks_by_rank_on_a_ramp():
    m = np.arange(20, dtype=float).reshape(4, 5)
    fg, bg = seed_masks(m, fg_quantile=0.9, bg_quantile=0.25)
    np.testing.assert_array_equal(np.flatnonzero(fg.ravel()), [18, 19])
    np.testing.assert_array_equal(np.flatnonzero(bg.ravel()), [0, 1, 2, 3, 4])


def test_seed_masks_constant_map_gives_disjoint_non_empty_seeds():
    fg, bg = seed_masks(torch.zeros(4, 4), fg_quantile=0.95, bg_quantile=0.3)
    assert fg.sum() == 1 and bg.sum() == 5 and not (fg & bg).any()


def test_colour_costs_closed_form():
    # 1x4 grey image: two dark pixels, two bright; bins=2 splits at 0.5
    image = np.array([[[0.1, 0.2, 0.8, 0.9]]])
    fg = np.array([[False, False, True, False]])
    bg = np.array([[True, False, False, False]])
    cost_fg, cost_bg = colour_costs(image, fg, bg, bins=2, prior=1.0)
    # fg histogram: dark 0+1, bright 1+1 -> p = 1/3, 2/3; bg: dark 2/3, bright 1/3
    np.testing.assert_allclose(cost_fg, -np.log([[1 / 3, 1 / 3, 2 / 3, 2 / 3]]))
    np.testing.assert_allclose(cost_bg, -np.log([[2 / 3, 2 / 3, 1 / 3, 1 / 3]]))


def test_colour_costs_rgb_cells_separate_colours():
    image = np.zeros((3, 2, 2))
    image[0, 0, :] = 1.0  # top row red, bottom row black
    fg = np.array([[True, False], [False, False]])
    bg = np.array([[False, False], [True, False]])
    cost_fg, cost_bg = colour_costs(image, fg, bg, bins=4, prior=0.5)
    # 64 cells; fg: red count 1.5, total 1 + 32 -> p = 1.5/33, black 0.5/33
    np.testing.assert_allclose(cost_fg, -np.log([[1.5 / 33] * 2, [0.5 / 33] * 2]))
    np.testing.assert_allclose(cost_bg, -np.log([[0.5 / 33] * 2, [1.5 / 33] * 2]))


def test_contrast_weights_closed_form():
    image = np.array([[[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]])  # (1, 2, 3): one vertical edge
    wr, wd = contrast_weights(image, smoothness=3.0)
    # squared differences: right [[0, 1], [0, 1]], down [[0, 0, 0]]; mean 2/7, beta = 7/4
    np.testing.assert_allclose(wr, 3.0 * np.exp(-1.75 * np.array([[0, 1], [0, 1]])))
    np.testing.assert_allclose(wd, [[3.0, 3.0, 3.0]])


def test_contrast_weights_flat_image_gives_uniform_smoothness():
    wr, wd = contrast_weights(torch.full((3, 4, 5), 0.3), smoothness=2.5)
    assert wr.shape == (4, 4) and wd.shape == (3, 5)
    np.testing.assert_allclose(wr, 2.5)
    np.testing.assert_allclose(wd, 2.5)


def _two_region_scene(seed):
    """A flat red square on a flat blue background and a noisy map that is high on the square."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((24, 24), bool)
    truth[6:16, 8:20] = True
    image = np.zeros((3, 24, 24), np.float32)
    image[2] = 0.8
    image[:, truth] = np.array([0.9, 0.1, 0.1], np.float32)[:, None]
    sal = truth * 1.0 + rng.normal(0, 0.25, truth.shape)
    return torch.from_numpy(image), torch.from_numpy(sal.astype(np.float32)), truth


@pytest.mark.parametrize("hard_seeds", [True, False])
def test_saliency_segmentation_recovers_flat_region_exactly(hard_seeds):
    image, sal, truth = _two_region_scene(0)
    got = saliency_segmentation(sal, image, hard_seeds=hard_seeds)
    np.testing.assert_array_equal(got, truth)
    assert iou(got, truth) == 1.0
    # while thresholding the noisy map at the true area is not exact
    assert iou(threshold_segmentation(sal, 1 - truth.mean()), truth) < 1.0


def test_saliency_segmentation_keeps_largest_component_of_same_coloured_regions():
    image, sal, truth = _two_region_scene(1)
    decoy = np.zeros_like(truth)
    decoy[19:22, 2:5] = True  # a small second red square, far from the salient one
    image[:, torch.from_numpy(decoy)] = image[:, torch.from_numpy(truth)][:, :1]
    sal[torch.from_numpy(decoy)] = -1.0  # the map does not point at it
    both = saliency_segmentation(sal, image, largest_only=False)
    np.testing.assert_array_equal(both, truth | decoy)  # the colour model finds both squares
    np.testing.assert_array_equal(saliency_segmentation(sal, image), truth)


def test_largest_component_hand_computed():
    mask = np.array([[1, 1, 0, 1],
                     [0, 0, 0, 1],
                     [1, 0, 1, 1]], bool)  # components of 2, 1 and 4 pixels (4-connectivity)
    np.testing.assert_array_equal(largest_component(mask), [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 1, 1]])
    diagonal = np.array([[1, 0], [0, 1]], bool)  # diagonal pixels are not 4-connected: the first wins
    np.testing.assert_array_equal(largest_component(torch.from_numpy(diagonal)), [[1, 0], [0, 0]])
    assert not largest_component(np.zeros((3, 3), bool)).any()


def test_saliency_segmentation_batch_matches_loop_and_leaves_inputs_unchanged():
    scenes = [_two_region_scene(s) for s in range(3)]
    images = torch.stack([s[0] for s in scenes])
    maps = torch.stack([s[1] for s in scenes])
    images[1] = images[1].flip(-1)  # a different scene
    before = images.clone(), maps.clone()
    got = saliency_segmentation_batch(maps, images, smoothness=1.0, bins=4)
    assert got.shape == (3, 24, 24) and got.dtype == bool
    for i in range(3):
        np.testing.assert_array_equal(got[i], saliency_segmentation(maps[i], images[i], smoothness=1.0, bins=4))
    assert torch.equal(images, before[0]) and torch.equal(maps, before[1])


def test_threshold_segmentation_single_and_batched():
    m = np.arange(16, dtype=float).reshape(4, 4)
    # quantile 0.75 of 0..15 (linear interpolation) is 11.25
    np.testing.assert_array_equal(np.flatnonzero(threshold_segmentation(m, 0.75).ravel()), [12, 13, 14, 15])
    batch = threshold_segmentation(torch.tensor(np.stack([m, -m])), 0.75)
    assert batch.shape == (2, 4, 4)
    np.testing.assert_array_equal(np.flatnonzero(batch[1].ravel()), [0, 1, 2, 3])


def test_iou_hand_computed_values():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[0, :3] = True  # 3 pixels
    b[0, 1:] = True  # 3 pixels, overlap 2, union 4
    assert iou(a, b) == pytest.approx(0.5)
    assert iou(a, a) == 1.0
    assert iou(a, ~a) == 0.0
    assert iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
    batch = iou(torch.tensor(np.stack([a, a])), torch.tensor(np.stack([b, a])))
    np.testing.assert_allclose(batch, [0.5, 1.0])


@pytest.mark.parametrize("call, err, match", [
    (lambda: seed_masks(np.zeros((4, 4)), fg_quantile=0.3, bg_quantile=0.5), ValueError, "bg_quantile"),
    (lambda: seed_masks(np.zeros((4, 4)), fg_quantile=1.0), ValueError, "fg_quantile"),
    (lambda: seed_masks(np.zeros((2, 4, 4))), ValueError, r"saliency_map must have shape \(H, W\)"),
    (lambda: seed_masks([[1.0, 2.0]]), TypeError, "saliency_map"),
    (lambda: seed_masks(np.array([[np.nan, 1.0]])), ValueError, "finite"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.zeros((3, 5, 5), np.float32)), ValueError, "height and width"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.full((3, 4, 4), 2.0)), ValueError, r"\[0, 1\]"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.zeros((4, 4, 3))), ValueError, r"\(3, H, W\)"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.zeros((3, 4, 4)), smoothness=-1), ValueError, "smoothness"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.zeros((3, 4, 4)), bins=0), ValueError, "bins"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.zeros((3, 4, 4)), hard_seeds=1), TypeError, "hard_seeds"),
    (lambda: graph_cut(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 1)), np.zeros((1, 2))), ValueError, "cost_bg"),
    (lambda: graph_cut(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((1, 2))), ValueError,
     "weight_right"),
    (lambda: graph_cut(-np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 1)), np.zeros((1, 2))), ValueError, ">= 0"),
    (lambda: graph_cut(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 1)), np.zeros((1, 2)),
                       fg_seeds=np.ones((2, 2), bool), bg_seeds=np.ones((2, 2), bool)), ValueError, "overlap"),
    (lambda: graph_cut(np.full((2, 2), 1e9), np.zeros((2, 2)), np.zeros((2, 1)), np.zeros((1, 2))), ValueError,
     "32-bit"),
    (lambda: graph_cut(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 1)), np.zeros((1, 2)), resolution=0),
     ValueError, "resolution"),
    (lambda: threshold_segmentation(np.zeros(4), 0.5), ValueError, "saliency_map"),
    (lambda: threshold_segmentation(np.zeros((4, 4)), 0), ValueError, "quantile"),
    (lambda: iou(np.zeros((2, 2), bool), np.zeros((2, 3), bool)), ValueError, "true must have the shape"),
    (lambda: iou(np.zeros((2, 2)), np.zeros((2, 2), bool)), ValueError, "bool"),
    (lambda: saliency_segmentation_batch(np.zeros((2, 4, 4)), np.zeros((3, 3, 4, 4))), ValueError, "images"),
    (lambda: saliency_segmentation(np.zeros((4, 4)), np.zeros((3, 4, 4)), largest_only=None), TypeError,
     "largest_only"),
    (lambda: largest_component(np.ones((2, 2))), ValueError, "bool"),
    (lambda: colour_costs(np.zeros((3, 2, 2)), np.zeros((2, 2), bool), np.ones((2, 2), bool)), ValueError,
     "at least one pixel"),
])
def test_bad_arguments_raise_clear_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()
