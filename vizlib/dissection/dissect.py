"""Network dissection (Bau et al. 2017): label each unit by the concept its top activations cover.

For unit ``u`` of a layer and concept ``c``, with ``A_u(x)`` the unit's (h, w) feature map on
image ``x``:

1. ``T_u`` is the unit's top-``quantile`` activation over every position of every image: the
   ``ceil(quantile * N * h * w)``-th largest raw value, so at most a share ``quantile`` of the
   positions lie above it;
2. the unit's mask on image ``x`` is ``M_u(x) = up(A_u(x)) > T_u``, where ``up`` is bilinear
   upsampling to the concepts' (H, W) (``F.interpolate(..., mode="bilinear",
   align_corners=False)``, computed as two interpolation-matrix products);
3. ``IoU(u, c) = sum_x |M_u(x) & C_c(x)| / sum_x |M_u(x) | C_c(x)|`` over the data set.

Two passes, exact and with bounded memory. The first streams the images and keeps, per unit,
the ``ceil(quantile * N * h * w)`` largest values seen, so ``T_u`` is exact; the second scores
the masks batch by batch. Upsampled maps are never held, and most are never computed: a
bilinear value is a convex combination of (at most) four raw values, so the output pixels
that share the same four raw values (a *cell*) can exceed ``T_u`` only if one of those raw
values does. Only those cells are upsampled, with the weights of
:func:`interpolation_matrix`. The first pass also keeps the raw maps of the (image, unit) pairs
that exceed the running threshold, while they fit in ``cache_mb`` (pruned as the threshold
rises); the images whose maps all fit are not run a second time.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import _validate
from ..hooks import check_model, first_conv, model_device, record, resolve_layers, run_forward, running
from .concepts import Concepts
from .results import Dissection

#: Upsampled pixels evaluated at once (in cells).
_CELL_PIXELS = 2**22


def interpolation_matrix(out_size: int, in_size: int, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """(out_size, in_size) matrix ``R`` of 1-d linear interpolation with ``align_corners=False``
    (PyTorch's convention): ``R @ a`` resamples the columns of ``a``; ``R_h @ A @ R_w.T`` is the
    bilinear upsampling of an (h, w) map ``A``.

    Example:
        >>> interpolation_matrix(4, 2)
        tensor([[1.0000, 0.0000],
                [0.7500, 0.2500],
                [0.2500, 0.7500],
                [0.0000, 1.0000]])
    """
    out_size = _validate.positive_int(out_size, "out_size")
    in_size = _validate.positive_int(in_size, "in_size")
    i = torch.arange(out_size, dtype=torch.float64)
    src = ((i + 0.5) * (in_size / out_size) - 0.5).clamp_min(0)
    lo = src.floor().long().clamp_max(in_size - 1)
    hi = (lo + 1).clamp_max(in_size - 1)
    frac = src - lo
    r = torch.zeros(out_size, in_size, dtype=torch.float64)
    r.index_put_((torch.arange(out_size), lo), 1 - frac, accumulate=True)
    r.index_put_((torch.arange(out_size), hi), frac, accumulate=True)
    return r.to(dtype=dtype, device=device)


class _Layer:
    """Per-layer state of the first pass: the running top values and the cached maps."""

    def __init__(self, name: str, n_images: int, quantile: float):
        self.name, self.n_images, self.quantile = name, n_images, quantile
        self.top = None            # (U, k) largest values seen so far, -inf where fewer seen
        self.cache = []            # [(image index (m,), unit (m,), maps (m, h, w), max (m,))]

    def update(self, a: torch.Tensor, offset: int):
        """Fold a batch (B, U, h, w) of images ``offset, ...`` into the running top values;
        return its (image, unit) pairs whose maximum exceeds the new running threshold, a lower
        bound of the final one (see :func:`_candidates`)."""
        _, units, h, w = a.shape
        if self.top is None:
            self.k = max(1, math.ceil(self.quantile * self.n_images * h * w - 1e-9))
            self.size = (h, w)
            self.top = torch.full((units, self.k), -math.inf, dtype=a.dtype, device=a.device)
        elif (h, w) != self.size:
            raise ValueError(f"layer {self.name!r} must give feature maps of one size; got "
                             f"{self.size} and then {(h, w)}")
        before = self.threshold()
        img, unit, maps, peak = _candidates(a, before, offset)
        # only values above the running threshold can enter the top k: pad them per unit
        values = maps.flatten(1)
        r, col = (values > before[unit, None]).nonzero(as_tuple=True)
        v, u = values[r, col], unit[r]                   # sorted by unit (see _candidates)
        counts = torch.bincount(u, minlength=units)
        pos = torch.arange(len(u), device=u.device) - (counts.cumsum(0) - counts)[u]
        new = torch.full((units, int(counts.max()) if len(u) else 0), -math.inf, dtype=a.dtype,
                         device=a.device)
        new[u, pos] = v
        self.top = torch.cat([self.top, new], 1).topk(self.k, dim=1, sorted=True).values
        keep = peak > self.threshold()[unit]
        if keep.all():
            return img, unit, maps, peak
        return img[keep], unit[keep], maps[keep], peak[keep]

    def threshold(self) -> torch.Tensor:
        """(U,): the k-th largest value seen so far (-inf until k values were seen)."""
        return self.top[:, -1]


def _check_layer_output(name: str, a) -> torch.Tensor:
    if not isinstance(a, torch.Tensor) or a.ndim != 4:
        got = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
        raise ValueError(f"layer {name!r} must output (N, C, h, w) feature maps; got {got}")
    return a


def _candidates(a: torch.Tensor, threshold: torch.Tensor, offset: int):
    """The (image, unit) pairs of a batch whose maximum exceeds ``threshold``, sorted by unit:
    global image indices (m,), units (m,), their maps (m, h, w) and maxima (m,)."""
    peak = a.amax((2, 3))
    unit, img = (peak.T > threshold[:, None]).nonzero(as_tuple=True)
    return img + offset, unit, a[img, unit].contiguous(), peak[img, unit]


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _keep(layers: dict, found: dict, used: int, budget: float, start: int):
    """Cache the candidate pairs ``found`` of the batch at ``start`` if they fit in ``budget``
    bytes (after dropping the cached pairs that the risen thresholds rule out); return the
    bytes used and None, or the bytes used and ``start`` once caching stops (the images from
    ``start`` on are run again)."""
    new = sum(_nbytes(f[2]) for f in found.values())
    if used + new > budget:
        for st in layers.values():
            t = st.threshold()
            st.cache = [tuple(v[p > t[u]] for v in (i, u, m, p)) for i, u, m, p in st.cache]
        used = sum(_nbytes(c[2]) for st in layers.values() for c in st.cache)
        if used + new > 0.75 * budget:    # pruning no longer frees enough: stop caching
            return used, start
    for name, f in found.items():
        layers[name].cache.append(f)
    return used + new, None


def _derangement(n: int, seed: int) -> torch.Tensor:
    """A random permutation without fixed points (one cycle through a shuffled order)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    perm = torch.empty(n, dtype=torch.long)
    perm[order] = order.roll(-1)
    return perm


class _Cells:
    """Bilinear upsampling of length-``in_size`` maps to ``out_size`` along one axis, split into
    segments: the output positions interpolated between the same two raw positions.

    Segment ``t`` holds the output positions ``pix[t]`` (times ``stride``; padding entries point
    one past the last position), interpolated between rows ``seg[t]`` and ``seg[t] + 1`` of the
    map padded by one row of replication on each side, with weights ``wts[t]`` (from
    :func:`interpolation_matrix`; 0 at padding entries).
    """

    def __init__(self, out_size: int, in_size: int, dtype, device, stride: int = 1):
        r = interpolation_matrix(out_size, in_size, dtype=torch.float64)
        src = (torch.arange(out_size, dtype=torch.float64) + 0.5) * (in_size / out_size) - 0.5
        seg = src.floor().long().clamp(-1, in_size - 1)
        ids, counts = torch.unique(seg, return_counts=True)
        width = int(counts.max())
        lo, hi = ids.clamp_min(0), (ids + 1).clamp_max(in_size - 1)
        pix = torch.full((len(ids), width), out_size * stride, dtype=torch.long)
        wts = torch.zeros(len(ids), width, 2, dtype=torch.float64)
        for t, sid in enumerate(ids.tolist()):
            ys = (seg == sid).nonzero()[:, 0]
            pix[t, :len(ys)] = ys * stride
            wts[t, :len(ys), 0] = r[ys, lo[t]]
            if hi[t] != lo[t]:
                wts[t, :len(ys), 1] = r[ys, hi[t]]
        self.seg, self.pix = (ids + 1).to(device), pix.to(device)
        self.wts = wts.to(device=device, dtype=dtype)
        self.width = width
        self.every = len(ids) == in_size + 1      # every segment is used: no selection needed


class _Scorer:
    """Accumulates |M & C| and |M| for the (image, unit) pairs it is given, with the final
    thresholds; only the cells whose raw corners exceed the threshold are evaluated."""

    def __init__(self, concepts: Concepts, layers, thresholds, null_order, dtype, device):
        self.dtype, self.device = dtype, device
        h, w = concepts.shape[1:]
        self.cells = {name: (_Cells(h, layers[name].size[0], dtype, device, stride=w + 1),
                             _Cells(w, layers[name].size[1], dtype, device)) for name in layers}
        # (N, (H + 1) * (W + 1)) packed bits, with a blank last row and column (code 2^nb, which
        # counts for nothing) that the cells' padding positions point to
        nb = len(concepts.bases)
        packed = F.pad(concepts.packed.to(device=device, dtype=torch.int32), (0, 1, 0, 1), value=2 ** nb)
        self.packed = packed.flatten(1).to(torch.int16)
        self.selector = concepts.selector.to(device=device, dtype=torch.float64)
        self.base_of = concepts.base_of.to(device)
        codes = torch.arange(2 ** nb, device=device)[:, None]
        bits = (codes >> torch.arange(nb, device=device)) & 1
        # (2^nb + 1, nb + 1): the base masks of a packed code, and 1; the blank code's row is 0
        # (float32 counts are exact up to 2^24)
        lut = torch.cat([bits, torch.ones_like(bits[:, :1])], 1).float()
        self.lut = torch.cat([lut, torch.zeros_like(lut[:1])])
        self.null_order = None if null_order is None else null_order.to(device)
        self.thresholds = thresholds
        k = len(concepts.names)
        zeros = lambda *s: torch.zeros(*s, dtype=torch.float64, device=device)  # noqa: E731
        self.inter = {n: zeros(len(t), k) for n, t in thresholds.items()}
        self.null = {n: zeros(len(t), k) for n, t in thresholds.items()} if null_order is not None else None
        self.mass = {n: zeros(len(t)) for n, t in thresholds.items()}

    def score(self, name: str, img, unit, maps, peak) -> None:
        """Add the pairs (image ``img``, unit ``unit``) with raw maps ``maps`` (m, h, w)."""
        t = self.thresholds[name]
        keep = peak > t[unit]
        if not keep.all():
            img, unit, maps = img[keep], unit[keep], maps[keep]
        if not len(img):
            return
        rows, cols = self.cells[name]
        thr = t[unit].to(self.dtype)
        padded = F.pad(maps.to(self.dtype), (1, 1, 1, 1), mode="replicate")   # (m, h + 2, w + 2)
        # the largest raw corner of every cell: (m, segments_h, segments_w)
        corner = F.max_pool2d(padded, 2, stride=1)
        if not rows.every:
            corner = corner.index_select(1, rows.seg)
        if not cols.every:
            corner = corner.index_select(2, cols.seg)
        pair, a, b = (corner > thr[:, None, None]).nonzero(as_tuple=True)
        keys, null_keys = [], []
        step = max(1, _CELL_PIXELS // (rows.width * cols.width))
        for s in range(0, len(pair), step):
            self._cells(padded, thr, img, rows, cols, pair[s:s + step], a[s:s + step],
                        b[s:s + step], keys, null_keys)
        n_codes = len(self.lut)

        def count(k):   # (m, bases + 1): the mask pixels on each base mask, and all of them
            hist = torch.bincount(torch.cat(k), minlength=len(img) * n_codes)
            return (hist.view(len(img), n_codes).to(self.lut.dtype) @ self.lut).double()

        counts = count(keys)
        self.inter[name].index_add_(0, unit, counts[:, self.base_of] * self.selector[img])
        self.mass[name].index_add_(0, unit, counts[:, -1])
        if self.null is not None:
            other = self.null_order[img]
            self.null[name].index_add_(0, unit, count(null_keys)[:, self.base_of] * self.selector[other])

    def _cells(self, padded, thr, img, rows, cols, pair, a, b, keys, null_keys) -> None:
        """Evaluate the cells (pair, a, b) of the padded maps, threshold them, and append
        ``pair * 2^bases + code`` for each mask pixel to ``keys``, ``code`` being the pixel's
        packed concept bits (and the null image's codes to ``null_keys``)."""
        h, w = padded.shape[1:]
        flat = padded.reshape(-1)
        top = pair * (h * w) + rows.seg[a] * w
        left = cols.seg[b]
        corners = torch.stack([flat[top + left], flat[top + left + 1], flat[top + w + left],
                               flat[top + w + left + 1]], 1).view(-1, 2, 2)   # (c, 2, 2)
        lines = torch.bmm(corners, cols.wts[b].transpose(1, 2))               # (c, 2, rx)
        values = torch.baddbmm(-thr[pair, None, None], rows.wts[a], lines)    # (c, ry, rx)
        c, i, j = (values > 0).nonzero(as_tuple=True)
        p = pair[c]
        pixel = rows.pix[a[c], i] + cols.pix[b[c], j]      # padding positions: a blank pixel
        n_codes = len(self.lut)
        keys.append(p * n_codes + self.packed[img[p], pixel].long())
        if self.null is not None:
            null_keys.append(p * n_codes + self.packed[self.null_order[img[p]], pixel].long())


def _check(model, images, concepts, quantile, batch_size, cache_mb, null, seed):
    check_model(model)
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float)):
        raise TypeError(f"quantile must be a real number in (0, 1); got {_validate.describe(quantile)}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), e.g. 0.005 (Bau et al.); got {quantile!r}")
    _validate.positive_int(batch_size, "batch_size")
    _validate.real(cache_mb, "cache_mb", minimum=0)
    if not isinstance(null, bool):
        raise TypeError(f"null must be a bool; got {_validate.describe(null)}")
    _validate.integer(seed, "seed", minimum=0)
    if not isinstance(concepts, Concepts):
        raise TypeError(f"concepts must be a vizlib.dissection.Concepts (from concepts(images, "
                        f"labels, masks)); got {_validate.describe(concepts)}")
    found = first_conv(model, required=False)
    _validate.image_batch(images, "images", channels=found[1].in_channels if found else None)
    for p in model.parameters():
        if p.is_floating_point() and p.dtype != images.dtype:
            raise TypeError(f"images must have the model's dtype {p.dtype}; got {images.dtype}")
        break
    if images.shape[0] != concepts.n_images:
        raise ValueError(f"images and concepts must hold the same images; got {images.shape[0]} "
                         f"images and concepts of {concepts.n_images}")
    if tuple(images.shape[-2:]) != concepts.shape[1:]:
        raise ValueError(f"images must have the concepts' size {concepts.shape[1:]}; got "
                         f"{tuple(images.shape[-2:])}")
    if null and images.shape[0] < 2:
        raise ValueError("null=True needs at least 2 images (each is scored against another's concepts)")


def dissect(model: nn.Module, layer, images: torch.Tensor, concepts: Concepts, *,
            quantile: float = 0.005, batch_size: int = 100, null: bool = False, seed: int = 0,
            cache_mb: float = 256, progress: bool = False) -> Dissection:
    """Network dissection of every unit (channel) of one or several layers (Bau et al. 2017).

    See the module's docstring for the definition (threshold, upsampling, IoU over the data
    set). Several layers are dissected in the same passes over the images.

    Args:
        model: any ``nn.Module``; run in eval mode without gradients on its own device; its
            flags are restored and no hook is left, also when this raises.
        layer: a layer name or module, or a list of them, each giving (N, U, h, w) feature maps
            (e.g. ``"features.relu3"`` or ``["features.relu1", ..., "features.relu4"]``).
        images: (N, C, H, W) float, the model's input (normalised, ``vizlib.normalize``), on
            any device (batches are moved to the model's); the same images as ``concepts``.
        concepts: :class:`Concepts` of the same N images, from :func:`concepts`; H and W are
            the size the unit maps are upsampled to.
        quantile: share of the top activations that make a unit's mask, in (0, 1)
            (Bau et al.: 0.005).
        batch_size: images per forward pass.
        null: also score each image's unit masks against the concepts of another image (a
            fixed random derangement drawn from ``seed``): ``Dissection.null_iou``, the IoU that
            chance overlap alone reaches (same thresholds, about 30% more time).
        seed: seed of the null's permutation.
        cache_mb: memory for the raw maps kept between the two passes (0: run every image
            twice).
        progress: show progress bars.

    Returns:
        :class:`Dissection`: one record per unit (layer, channel, label, IoU, runner-up, IoU
        against every concept), units in the order of ``layer`` and then of channels.

    Example:
        >>> result = dissect(model, "features.relu4", x, concepts(images, labels, masks))
        >>> len(result), result.iou.shape
        (128, torch.Size([128, 32]))
        >>> unit = result[0]
        >>> unit.layer, unit.channel, unit.label in result.names
        ('features.relu4', 0, True)
    """
    _check(model, images, concepts, quantile, batch_size, cache_mb, null, seed)
    pairs = resolve_layers(model, layer)
    names = [name for name, _ in pairs]
    device = model_device(model)
    n = images.shape[0]
    layers = {name: _Layer(name, n, float(quantile)) for name in names}
    budget, used, resume = cache_mb * 2**20, 0, None
    starts = range(0, n, batch_size)
    with running(model, grad=False), record(model, names, call="first", stop=True) as store:
        def forward(s):
            run_forward(model, images[s:s + batch_size].to(device))
            missing = [name for name in names if name not in store]
            if missing:
                raise ValueError(f"layers {missing} were not called during the forward pass")
            return {name: _check_layer_output(name, store[name]) for name in names}

        for s in tqdm(starts, desc="dissection: thresholds", disable=not progress):
            acts = forward(s)
            found = {name: layers[name].update(a, s) for name, a in acts.items()}
            if resume is None:
                used, resume = _keep(layers, found, used, budget, s)
        thresholds = {name: st.threshold().clone() for name, st in layers.items()}
        null_order = _derangement(n, seed) if null else None
        scorer = _Scorer(concepts, layers, thresholds, null_order,
                         torch.float64 if images.dtype == torch.float64 else torch.float32, device)
        for name, st in layers.items():
            for chunk in st.cache:
                scorer.score(name, *chunk)
            st.cache = []
        rerun = [] if resume is None else range(resume, n, batch_size)
        for s in tqdm(rerun, desc="dissection: IoU", disable=not progress or not rerun):
            for name, a in forward(s).items():
                scorer.score(name, *_candidates(a, thresholds[name], s))
    return Dissection.from_sums(names, thresholds, scorer.inter, scorer.mass, concepts,
                                scorer.null, null_order, float(quantile))
