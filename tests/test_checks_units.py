"""vizlib.checks.check_unit_iou passes a correct dissection IoU and names typical mistakes.

The solutions here are written independently of the check: NumPy only, the threshold from
``np.partition``, bilinear upsampling written out as two interpolation matrices (the
align_corners=False rule), and the IoU from integer counts. The NumPy IoU is itself checked
against ``vizlib.dissection.dissect`` on a model whose layer outputs given feature maps.
"""
import math

import numpy as np
import pytest
import torch
from torch import nn

from vizlib import checks, dissection
from vizlib.checks import units as U


def interpolation(out_size, in_size, align_corners=False):
    """(out, in) matrix of 1-D linear interpolation (PyTorch's rule for both settings)."""
    m = np.zeros((out_size, in_size))
    for o in range(out_size):
        if align_corners:
            src = o * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            src = max((o + 0.5) * in_size / out_size - 0.5, 0.0)
        i0 = int(math.floor(src))
        i1 = min(i0 + 1, in_size - 1)
        lam = src - i0
        m[o, i0] += 1 - lam
        m[o, i1] += lam
    return m


def numpy_iou(acts, concepts, quantile, *, mistake=None):
    a = np.asarray(acts, dtype=np.float64)
    c = np.asarray(concepts, dtype=bool)
    n, h, w = a.shape
    big_h, big_w = c.shape[-2:]
    k = math.ceil(quantile * a.size)
    flat = a.ravel()
    if mistake == "torch_quantile":
        t = np.quantile(flat, 1 - quantile)
    elif mistake == "bottom":
        t = np.quantile(flat, quantile)
    else:
        t = np.partition(flat, a.size - k)[a.size - k]  # the k-th largest
    if mistake == "nearest":
        rows = np.floor(np.arange(big_h) * h / big_h).astype(int)
        cols = np.floor(np.arange(big_w) * w / big_w).astype(int)
        up = a[:, rows][:, :, cols]
    else:
        ry = interpolation(big_h, h, mistake == "align_corners")
        rx = interpolation(big_w, w, mistake == "align_corners")
        up = np.einsum("Hh,nhw,Ww->nHW", ry, a, rx)
    if mistake == "per_image":
        ious = []
        for i in range(n):
            ki = math.ceil(quantile * h * w)
            ti = np.sort(a[i].ravel())[::-1][ki - 1]
            m = up[i] > ti
            inter = (m & c[:, i]).sum((1, 2))
            union = (m | c[:, i]).sum((1, 2))
            ious.append(np.where(union > 0, inter / np.maximum(union, 1), 0.0))
        return np.mean(ious, 0)
    m = up > t
    inter = (m[None] & c).sum((1, 2, 3))
    union = (m[None] | c).sum((1, 2, 3))
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


class Maps(nn.Module):
    """A 'model' whose layer ``maps`` outputs fixed feature maps: image n (its value) -> acts[n]."""

    def __init__(self, acts):
        super().__init__()
        self.register_buffer("acts", acts[:, None].clone())
        self.maps = nn.Identity()
        self.conv = nn.Conv2d(3, 1, 1)   # a first convolution, as models have

    def forward(self, x):
        index = x[:, 0, 0, 0].round().long()
        return self.maps(self.acts[index] + 0 * self.conv(x)[:, :, :1, :1])


def test_numpy_iou_agrees_with_vizlib_dissection():
    gen = torch.Generator().manual_seed(5)
    n = 12
    acts = torch.randn(n, 8, 8, generator=gen, dtype=torch.float64)
    obj = torch.rand(n, 32, 32, generator=gen) > 0.7
    images = torch.rand(n, 3, 32, 32, generator=gen)
    labels = torch.randint(0, 8, (n,), generator=gen)
    c = dissection.concepts(images, labels, obj)
    model = Maps(acts).double().eval()
    x = torch.arange(n, dtype=torch.float64)[:, None, None, None].expand(n, 3, 32, 32)
    d = dissection.dissect(model, "maps", x.contiguous(), c, quantile=0.03)
    masks = torch.stack([c.mask(k) for k in range(len(c.names))])
    np.testing.assert_allclose(d.iou[0].numpy(), numpy_iou(acts, masks, 0.03), atol=1e-12)


def test_interpolation_matrix_here_matches_torch():
    a = torch.randn(2, 5, 7, dtype=torch.float64)
    ref = torch.nn.functional.interpolate(a[:, None], size=(12, 9), mode="bilinear", align_corners=False)[:, 0]
    got = np.einsum("Hh,nhw,Ww->nHW", interpolation(12, 5), a.numpy(), interpolation(9, 7))
    np.testing.assert_allclose(got, ref.numpy(), atol=1e-12)


def test_cases_are_unambiguous_and_end_with_the_units_own_mask():
    for case in U._IOU_CASES:
        acts, concepts = U._iou_case(*case)
        n, h, w, big_h, big_w, k, q, _ = case
        assert acts.shape == (n, h, w) and acts.dtype == torch.float32
        assert concepts.shape == (k, n, big_h, big_w) and concepts.dtype == torch.bool
        iou = numpy_iou(acts, concepts, q)
        assert iou[-1] == 1.0
        assert (iou[:-1] < 1).all() and (iou[:-1] > 0).any()
        # float32 and float64 give the same answer: no value near the threshold
        np.testing.assert_array_equal(numpy_iou(acts.numpy().astype(np.float32), concepts, q), iou)


def test_check_passes_a_correct_numpy_solution(capsys):
    assert checks.check_unit_iou(numpy_iou) < 1e-9
    assert "PASS check_unit_iou" in capsys.readouterr().out


MISTAKES = {
    "per_image": "one for the whole data set",
    "torch_quantile": "torch.quantile",
    "bottom": "not the bottom one",
    "nearest": "nearest",
    "align_corners": "align_corners=False",
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_check_names_the_mistake(mistake, capsys):
    with pytest.raises(AssertionError, match=MISTAKES[mistake]):
        checks.check_unit_iou(lambda a, c, q: numpy_iou(a, c, q, mistake=mistake))
    assert "FAIL check_unit_iou" in capsys.readouterr().out


def test_check_names_averaged_per_image_ious():
    def averaged(acts, concepts, q):
        a, c = acts.numpy(), concepts.numpy()
        k = math.ceil(q * a.size)
        t = np.sort(a.ravel())[::-1][k - 1]
        ry, rx = interpolation(c.shape[-2], a.shape[1]), interpolation(c.shape[-1], a.shape[2])
        m = np.einsum("Hh,nhw,Ww->nHW", ry, a.astype(np.float64), rx) > t
        inter = (m[None] & c).sum((2, 3))
        union = (m[None] | c).sum((2, 3))
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0).mean(1)

    with pytest.raises(AssertionError, match="do not average"):
        checks.check_unit_iou(averaged)


def test_check_fails_on_none_and_on_input_changed_in_place():
    with pytest.raises(AssertionError, match="returned None"):
        checks.check_unit_iou(lambda a, c, q: None)

    def in_place(acts, concepts, q):
        out = numpy_iou(acts, concepts, q)
        acts.mul_(2)
        return out

    with pytest.raises(AssertionError, match="in place"):
        checks.check_unit_iou(in_place)


def test_check_gives_a_general_hint_for_an_unknown_mistake():
    with pytest.raises(AssertionError, match="own mask"):
        checks.check_unit_iou(lambda a, c, q: numpy_iou(a, c, q) * 0.9)


def test_check_fails_on_the_wrong_shape():
    with pytest.raises(AssertionError, match="shape"):
        checks.check_unit_iou(lambda a, c, q: numpy_iou(a, c, q)[:-1])


def test_check_leaves_global_rng_alone():
    state = torch.get_rng_state()
    checks.check_unit_iou(numpy_iou)
    assert torch.equal(torch.get_rng_state(), state)


def test_check_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_unit_iou("iou")
