import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.morphology import convex_hull_image

from vizlib import data
from vizlib.data import TOY_CLASSES, ToyWorld, add_mark, toy_world

CHECKER_6x6 = np.array([[0, 0, 1, 1, 0, 0],
                        [0, 0, 1, 1, 0, 0],
                        [1, 1, 0, 0, 1, 1],
                        [1, 1, 0, 0, 1, 1],
                        [0, 0, 1, 1, 0, 0],
                        [0, 0, 1, 1, 0, 0]], dtype=np.float32)


@pytest.fixture(scope="module")
def world():
    return toy_world(400, seed=3)


def test_toy_world_shapes_dtypes_and_range(world):
    x, y, m = world
    assert x.shape == (400, 3, 64, 64) and x.dtype == torch.float32
    assert y.shape == (400,) and y.dtype == torch.int64
    assert m.shape == (400, 64, 64) and m.dtype == torch.bool
    assert x.min() >= 0 and x.max() <= 1
    assert set(y.tolist()) == set(range(len(TOY_CLASSES)))


def test_toy_world_same_seed_same_images_other_seed_differs():
    a, b = toy_world(5, seed=11), toy_world(5, seed=11)
    c = toy_world(5, seed=12)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_toy_world_object_pixels_have_one_colour(world):
    x, _, m = world
    for i in range(50):
        colours = x[i].permute(1, 2, 0)[m[i]]
        assert len(colours) > 50
        assert torch.all(colours == colours[0])


def _solidity(mask):
    return mask.sum() / convex_hull_image(mask).sum()


def test_toy_world_shapes_have_their_geometry(world):
    _, y, m = world
    masks = m.numpy()
    for i, label in enumerate(y.tolist()):
        name = TOY_CLASSES[label]
        mask = masks[i]
        holes = ndimage.label(~mask)[1] - 1  # background components other than the outside
        if name in ("circle", "square", "triangle"):
            assert _solidity(mask) > 0.85, (i, name)
        if name in ("star", "cross", "crescent"):
            assert _solidity(mask) < 0.82, (i, name)
        if name == "ring":
            assert holes >= 1, i
        else:
            assert holes == 0, (i, name)


def test_shortcut_variant_marks_most_images_of_one_class_only():
    x, y, _ = toy_world(600, seed=5, variant="shortcut")
    r, c = data.MARK_CORNER
    patch = x[:, :, r : r + 6, c : c + 6].numpy()
    marked = np.array([np.all(p == CHECKER_6x6[None]) for p in patch])
    cls = (y == data.SHORTCUT_CLASS).numpy()
    assert marked[~cls].sum() == 0
    assert 0.8 <= marked[cls].mean() <= 0.98


def test_position_variant_puts_its_class_in_the_region():
    _, y, m = toy_world(400, seed=6, variant="position")
    r0, r1, c0, c1 = data.POSITION_REGION
    sel = y == data.POSITION_CLASS
    assert sel.sum() > 20
    rows, cols = torch.arange(64.0)[:, None], torch.arange(64.0)[None, :]
    area = m.flatten(1).sum(1)
    cy = (m * rows).flatten(1).sum(1) / area
    cx = (m * cols).flatten(1).sum(1) / area
    inside = (cy >= r0) & (cy < r1) & (cx >= c0) & (cx < c1)
    # the class's objects are centred in the upper-left quadrant; the other classes spread out
    assert inside[sel].all()
    assert inside[~sel].float().mean() < 0.4


def test_add_mark_writes_the_checkerboard_and_keeps_the_input():
    x = torch.full((2, 3, 64, 64), 0.5)
    out = add_mark(x, corner=(10, 20))
    assert torch.all(x == 0.5)
    assert np.array_equal(out[1, 2, 10:16, 20:26].numpy(), CHECKER_6x6)
    assert (out != 0.5).sum() == 2 * 3 * 36 - (CHECKER_6x6 == 0.5).sum()


def test_dataset_wrapper_matches_toy_world():
    ds = ToyWorld(4, seed=2)
    x, y, m = toy_world(4, seed=2)
    img, label, mask = ds[3]
    assert len(ds) == 4 and torch.equal(img, x[3]) and label == y[3] and torch.equal(mask, m[3])


@pytest.mark.parametrize("kwargs, exc, fragment", [
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2.5), TypeError, "n must be an int"),
    (dict(n=2, seed="a"), TypeError, "seed must be an int"),
    (dict(n=2, seed=-1), ValueError, "seed must be >= 0"),
    (dict(n=2, variant="blur"), ValueError, "variant must be one of"),
    (dict(n=0, variant="hard"), ValueError, "n must be >= 1"),
    (dict(n=2, seed=1.5, variant="hard"), TypeError, "seed must be an int"),
    (dict(n=2, variant="Hard"), ValueError, "variant must be one of"),
    (dict(n=0, variant="pose"), ValueError, "n must be >= 1"),
    (dict(n=2, seed=-3, variant="pose"), ValueError, "seed must be >= 0"),
    (dict(n=2, variant="Pose"), ValueError, "variant must be one of"),
])
def test_toy_world_bad_arguments_raise_clear_errors(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        toy_world(**kwargs)


def test_add_mark_bad_input():
    with pytest.raises(ValueError, match="images must be a tensor of shape"):
        add_mark(torch.zeros(3, 64, 64))
    with pytest.raises(ValueError, match="corner must keep the mark inside"):
        add_mark(torch.zeros(1, 3, 64, 64), corner=(60, 0))


# --------------------------------------------------------------------------- variant="hard"
@pytest.fixture(scope="module")
def hard_and_plain():
    return toy_world(300, seed=11, variant="hard"), toy_world(300, seed=11)


def test_hard_variant_is_deterministic_by_seed():
    a, b, c = (toy_world(6, seed=s, variant="hard") for s in (4, 4, 5))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0])
    x, y, m = a
    assert x.shape == (6, 3, 64, 64) and x.dtype == torch.float32 and m.dtype == torch.bool
    assert 0 <= x.min() and x.max() <= 1 and y.min() >= 0 and y.max() < len(TOY_CLASSES)


def test_hard_variant_masks_hold_only_the_visible_object(hard_and_plain):
    (x, _, m), _ = hard_and_plain
    assert (m.flatten(1).sum(1) > 0).all(), "an object was hidden entirely"
    for img, mask in zip(x, m):
        pixels = img[:, mask]                      # (3, visible pixels): one flat colour
        assert torch.allclose(pixels, pixels[:, :1].expand_as(pixels), atol=1e-6)


def test_hard_variant_objects_are_smaller_and_lower_in_contrast(hard_and_plain):
    (xh, _, mh), (xp, _, mp) = hard_and_plain

    def contrast(x, m):
        """Mean |object colour - mean colour of a 3-px ring around it| over images."""
        out = []
        for img, mask in zip(x.numpy(), m.numpy()):
            ring = ndimage.binary_dilation(mask, iterations=3) & ~mask
            out.append(np.abs(img[:, mask].mean(1) - img[:, ring].mean(1)).sum())
        return float(np.mean(out))

    area_h, area_p = mh.float().mean().item(), mp.float().mean().item()
    assert area_h < 0.8 * area_p
    assert mh.flatten(1).sum(1).max() <= np.pi * data.HARD_RADIUS[1] ** 2
    assert contrast(xh, mh) < 0.8 * contrast(xp, mp)


def test_hard_variant_covers_some_objects_with_leaves_in_front(hard_and_plain):
    """A leaf in front cuts into a convex object: its visible part then misses a good share of
    its own convex hull. In the plain world that never happens beyond pixel rounding."""
    (_, yh, mh), (_, yp, mp) = hard_and_plain
    convex = [TOY_CLASSES.index(c) for c in ("circle", "square", "triangle")]

    def cut(y, m):
        """Share of convex objects whose convex hull is over 15% larger than the mask."""
        sel = [i for i in range(len(y)) if int(y[i]) in convex]
        hull = [convex_hull_image(m[i].numpy()).sum() / m[i].sum().item() - 1 for i in sel]
        return float(np.mean(np.array(hull) > 0.15))

    assert cut(yp, mp) < 0.02
    assert cut(yh, mh) > 0.15


# --------------------------------------------------------------------------- variant="pose"
def _opens_right(masks: torch.Tensor) -> torch.Tensor:
    """True where a crescent's pixels lie mostly left of its bounding box's centre (the bite,
    and so the opening, is on the right)."""
    cols = torch.arange(64.0)[None, None, :]
    out = []
    for m in masks:
        xs = (m * cols[0]).sum() / m.sum()
        used = m.any(0).nonzero()
        out.append(bool(xs < (used.min() + used.max()) / 2.0))
    return torch.tensor(out)


def test_pose_variant_is_deterministic_by_seed():
    a, b, c = (toy_world(6, seed=s, variant="pose") for s in (4, 4, 5))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_pose_variant_crescents_always_open_to_the_right():
    _, y, m = toy_world(400, seed=8, variant="pose")
    _, y0, m0 = toy_world(400, seed=8)
    sel, sel0 = y == data.POSE_CLASS, y0 == data.POSE_CLASS
    assert sel.sum() > 20 and sel0.sum() > 20
    assert _opens_right(m[sel]).all()
    # in the plain world the crescent is mirrored half of the time
    assert 0.3 < _opens_right(m0[sel0]).float().mean() < 0.7

