"""The parts of saliency segmentation: seeds, colour costs, contrast weights, the graph cut."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from .. import _validate
from ._common import _INT32_MAX, _image, _map2d, _mask


def seed_masks(saliency_map, *, fg_quantile: float = 0.95, bg_quantile: float = 0.3):
    """Foreground and background seeds from the map's top and bottom quantiles.

    The foreground seeds are the ``1 - fg_quantile`` fraction of pixels with the
    highest saliency, the background seeds the ``bg_quantile`` fraction with the
    lowest (Simonyan et al. 2014 use 0.95 and 0.3). Seeds are chosen by rank, so
    the two sets never overlap and are never empty, even when the map has ties
    (ties are broken by pixel order, row by row).

    Args:
        saliency_map: (H, W) real array or tensor.
        fg_quantile: in (0, 1); pixels above this quantile are foreground seeds.
        bg_quantile: in (0, fg_quantile); pixels below it are background seeds.

    Returns:
        ``(fg, bg)``: two (H, W) bool arrays.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)       # (8, 64, 64)
        >>> fg, bg = seed_masks(sal[0], fg_quantile=0.95, bg_quantile=0.3)
        >>> fg.shape, int(fg.sum()), int(bg.sum())                     # 5% and 30% of 4096 pixels
        ((64, 64), 205, 1229)
    """
    m = _map2d(saliency_map, "saliency_map")
    hi, lo = _validate.fraction(fg_quantile, "fg_quantile"), _validate.fraction(bg_quantile, "bg_quantile")
    if lo >= hi:
        raise ValueError(f"bg_quantile must be smaller than fg_quantile; got bg_quantile={lo}, fg_quantile={hi}")
    n = m.size
    if n < 2:
        raise ValueError(f"saliency_map must have at least 2 pixels; got shape {m.shape}")
    n_fg = min(max(1, int(round((1 - hi) * n))), n - 1)
    n_bg = min(max(1, int(round(lo * n))), n - n_fg)
    order = np.argsort(m.ravel(), kind="stable")  # ascending; ties keep pixel order
    fg, bg = np.zeros(n, bool), np.zeros(n, bool)
    fg[order[n - n_fg:]] = True
    bg[order[:n_bg]] = True
    return fg.reshape(m.shape), bg.reshape(m.shape)


def colour_costs(image, fg_seeds, bg_seeds, *, bins: int = 8, prior: float = 1.0):
    """Unary costs ``-log p(colour | fg)`` and ``-log p(colour | bg)`` from seed histograms.

    Each colour model is a histogram of the seeds' colours with ``bins`` bins per
    channel (``bins**3`` colour cells for RGB), smoothed by adding ``prior`` to
    every cell (Boykov and Jolly 2001 use seed intensity histograms; GrabCut,
    Rother et al. 2004, uses Gaussian mixtures instead).

    Args:
        image: (3, H, W) or (1, H, W) float in [0, 1].
        fg_seeds, bg_seeds: (H, W) bool masks, each non-empty.
        bins: histogram bins per channel (>= 1).
        prior: pseudo-count added to every cell (> 0).

    Returns:
        ``(cost_fg, cost_bg)``: two (H, W) float arrays, >= 0 (nats): the cost of
        labelling each pixel foreground and background.

    Example:
        >>> sal = vizlib.attribution.saliency(model, x, labels)
        >>> cost_fg, cost_bg = colour_costs(images[0], *seed_masks(sal[0]))
        >>> cost_fg.shape, cost_bg.shape
        ((64, 64), (64, 64))
    """
    first = _validate.array(fg_seeds, "fg_seeds")
    shape = first.shape
    if len(shape) != 2:
        raise ValueError(f"fg_seeds must have shape (H, W); got {shape}")
    img = _image(image, shape)
    fg, bg = _mask(fg_seeds, shape, "fg_seeds"), _mask(bg_seeds, shape, "bg_seeds")
    if not fg.any() or not bg.any():
        raise ValueError("fg_seeds and bg_seeds must each hold at least one pixel")
    bins = _validate.positive_int(bins, "bins")
    prior = _validate.real(prior, "prior", minimum=0)
    if prior == 0:
        raise ValueError("prior must be > 0 (a colour absent from the seeds would get an infinite cost)")
    idx = np.clip((img * bins).astype(np.int64), 0, bins - 1)  # (C, H, W) bin per channel
    cell = np.zeros(shape, np.int64)
    for channel in idx:
        cell = cell * bins + channel
    n_cells = bins ** img.shape[0]
    costs = []
    for seeds in (fg, bg):
        counts = np.bincount(cell[seeds], minlength=n_cells).astype(np.float64) + prior
        costs.append(-np.log(counts / counts.sum())[cell])
    return costs[0], costs[1]


def contrast_weights(image, *, smoothness: float = 1.0):
    """Contrast-sensitive Potts weights between 4-neighbours (Boykov and Jolly 2001; Rother et al. 2004).

    ``w[p, q] = smoothness * exp(-beta * ||I_p - I_q||^2)`` with
    ``beta = 1 / (2 * mean ||I_p - I_q||^2)`` over all neighbour pairs, so that a
    cut along a colour edge is cheap and a cut through a flat region is expensive.

    Args:
        image: (3, H, W) or (1, H, W) float in [0, 1].
        smoothness: the weight of the pairwise term (>= 0; 0 gives a per-pixel decision).

    Returns:
        ``(weight_right, weight_down)``: (H, W-1) weights between each pixel and its
        right neighbour, (H-1, W) between each pixel and the one below.

    Example:
        >>> w_right, w_down = contrast_weights(images[0], smoothness=2.0)
        >>> w_right.shape, w_down.shape
        ((64, 63), (63, 64))
    """
    arr = _validate.array(image, "image")
    if arr.ndim != 3:
        raise ValueError(f"image must have shape (3, H, W) or (1, H, W) in [0, 1]; got {arr.shape}")
    img = _image(image, arr.shape[1:])
    lam = _validate.real(smoothness, "smoothness", minimum=0)
    d_right = ((img[:, :, 1:] - img[:, :, :-1]) ** 2).sum(0)
    d_down = ((img[:, 1:, :] - img[:, :-1, :]) ** 2).sum(0)
    mean = np.concatenate([d_right.ravel(), d_down.ravel()]).mean() if d_right.size + d_down.size else 0.0
    beta = 0.0 if mean == 0 else 1.0 / (2.0 * mean)
    return lam * np.exp(-beta * d_right), lam * np.exp(-beta * d_down)


def _check_terms(cost_fg, cost_bg, weight_right, weight_down):
    cf, cb = _map2d(cost_fg, "cost_fg"), _map2d(cost_bg, "cost_bg")
    h, w = cf.shape
    if cb.shape != (h, w):
        raise ValueError(f"cost_bg must have the shape of cost_fg {(h, w)}; got {cb.shape}")
    wr = _validate.array(weight_right, "weight_right").astype(np.float64)
    wd = _validate.array(weight_down, "weight_down").astype(np.float64)
    if wr.shape != (h, w - 1):
        raise ValueError(f"weight_right must have shape (H, W-1) = {(h, w - 1)}; got {wr.shape}")
    if wd.shape != (h - 1, w):
        raise ValueError(f"weight_down must have shape (H-1, W) = {(h - 1, w)}; got {wd.shape}")
    for name, a in (("cost_fg", cf), ("cost_bg", cb), ("weight_right", wr), ("weight_down", wd)):
        if not np.all(np.isfinite(a)) or (a.size and a.min() < 0):
            raise ValueError(f"{name} must be finite and >= 0")
    return cf, cb, wr, wd


def energy(labels, cost_fg, cost_bg, weight_right, weight_down) -> float:
    """The binary energy of a labelling (True = foreground), as :func:`graph_cut` minimises it.

    ``E = sum(cost_fg[L]) + sum(cost_bg[~L]) + sum of w over 4-neighbours with different labels``.

    Args:
        labels: (H, W) bool.
        cost_fg, cost_bg: (H, W) non-negative costs of the two labels.
        weight_right: (H, W-1) and weight_down: (H-1, W) non-negative pair weights.

    Example:
        >>> cost_fg, cost_bg = np.array([[0.0, 2.0]]), np.array([[3.0, 1.0]])   # a 1 x 2 image
        >>> w_right, w_down = np.array([[2.0]]), np.zeros((0, 2))
        >>> energy(np.array([[True, False]]), cost_fg, cost_bg, w_right, w_down)   # 0 + 1 + 2
        3.0
    """
    cf, cb, wr, wd = _check_terms(cost_fg, cost_bg, weight_right, weight_down)
    lab = _mask(labels, cf.shape, "labels")
    unary = cf[lab].sum() + cb[~lab].sum()
    pair = wr[lab[:, 1:] != lab[:, :-1]].sum() + wd[lab[1:, :] != lab[:-1, :]].sum()
    return float(unary + pair)


def graph_cut(cost_fg, cost_bg, weight_right, weight_down, *, fg_seeds=None, bg_seeds=None,
              resolution: float = 100.0) -> np.ndarray:
    """The labelling of minimum :func:`energy`, by a minimum s-t cut (Boykov and Jolly 2001).

    The graph has one node per pixel plus a source (foreground) and a sink
    (background): an edge source -> p of capacity ``cost_bg[p]`` (cut when p ends
    up background), p -> sink of capacity ``cost_fg[p]`` and, both ways between
    4-neighbours, ``w[p, q]``. A cut's capacity equals the energy of the labelling
    it induces, so the minimum cut, found by ``scipy.sparse.csgraph.maximum_flow``
    and a search of the residual graph from the source, is the minimum energy.
    The solver needs integer capacities: every term is multiplied by
    ``resolution`` and rounded, so the result is exact for energies on a grid of
    ``1 / resolution`` (integer costs with ``resolution=1``) and otherwise optimal
    up to that rounding. Seeds are hard constraints, imposed with a capacity
    ``K = 1 + max_p sum_q w[p, q]`` as in the paper. Among several minima the
    one with the fewest foreground pixels is returned.

    Args:
        cost_fg, cost_bg: (H, W) non-negative costs of labelling each pixel
            foreground / background.
        weight_right: (H, W-1), weight_down: (H-1, W): non-negative pair weights.
        fg_seeds, bg_seeds: optional (H, W) bool masks of pixels forced to
            foreground / background (they must not overlap).
        resolution: integer units per unit of energy (> 0).

    Returns:
        (H, W) bool array, True on the foreground.

    Example:
        >>> cost_fg, cost_bg = np.array([[0.0, 2.0]]), np.array([[3.0, 1.0]])   # a 1 x 2 image
        >>> graph_cut(cost_fg, cost_bg, np.array([[2.0]]), np.zeros((0, 2)))   # energy 2, not 3
        array([[ True,  True]])
    """
    cf, cb, wr, wd = _check_terms(cost_fg, cost_bg, weight_right, weight_down)
    h, w = cf.shape
    resolution = _validate.real(resolution, "resolution", positive=True)
    fg = np.zeros((h, w), bool) if fg_seeds is None else _mask(fg_seeds, (h, w), "fg_seeds")
    bg = np.zeros((h, w), bool) if bg_seeds is None else _mask(bg_seeds, (h, w), "bg_seeds")
    if (fg & bg).any():
        raise ValueError("fg_seeds and bg_seeds must not overlap")

    as_int = lambda a: np.rint(a * resolution).astype(np.int64)  # noqa: E731
    src, snk, wr_i, wd_i = as_int(cb), as_int(cf), as_int(wr), as_int(wd)
    # hard constraints: a seed labelled against its seed type costs K, more than it could ever save
    around = np.zeros((h, w), np.int64)
    around[:, 1:] += wr_i
    around[:, :-1] += wr_i
    around[1:, :] += wd_i
    around[:-1, :] += wd_i
    k = 1 + int(around.max())
    src = np.where(fg, k, np.where(bg, 0, src))
    snk = np.where(bg, k, np.where(fg, 0, snk))
    # only the difference of the two terminal capacities matters: keep the smaller at zero
    common = np.minimum(src, snk)
    src, snk = src - common, snk - common
    # every capacity, and the flow value (at most the capacity out of the source), must fit in int32
    largest = max(k, src.max(), snk.max(), wr_i.max(initial=0), wd_i.max(initial=0))
    if largest > _INT32_MAX or min(int(src.sum()), int(snk.sum())) > _INT32_MAX:
        raise ValueError(
            f"the energy is too large for the solver's 32-bit capacities at resolution={resolution}; "
            "lower resolution or scale the costs down"
        )

    n = h * w
    source, sink = n, n + 1
    pix = np.arange(n).reshape(h, w)
    rows = [np.full(n, source), pix.ravel(), pix[:, :-1].ravel(), pix[:, 1:].ravel(),
            pix[:-1, :].ravel(), pix[1:, :].ravel()]
    cols = [pix.ravel(), np.full(n, sink), pix[:, 1:].ravel(), pix[:, :-1].ravel(),
            pix[1:, :].ravel(), pix[:-1, :].ravel()]
    caps = [src.ravel(), snk.ravel(), wr_i.ravel(), wr_i.ravel(), wd_i.ravel(), wd_i.ravel()]
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(caps)
    keep = v > 0
    capacity = sparse.csr_matrix((v[keep].astype(np.int32), (r[keep], c[keep])), shape=(n + 2, n + 2))
    capacity.sum_duplicates()
    flow = csgraph.maximum_flow(capacity, source, sink).flow
    residual = (capacity - flow).tocsr()
    residual.data[residual.data < 0] = 0  # cannot happen for a valid flow; guards the search below
    residual.eliminate_zeros()
    reached = csgraph.breadth_first_order(residual, source, directed=True, return_predecessors=False)
    labels = np.zeros(n + 2, bool)
    labels[reached] = True
    return labels[:n].reshape(h, w)
