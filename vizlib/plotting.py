"""Plotting helpers: every function takes ``ax=None`` (or a figure size), returns
the Axes (or the array of Axes) and never calls ``plt.show()``.

The map functions (``show_map``, ``show_pointing``, ``show_signed_map``, ``show_spectrum``)
draw a colour bar by default (``colorbar=True``) and accept ``vmin``/``vmax``, so that maps
compared side by side can share one stated scale. Text is never smaller than 8 pt.

Example:
    >>> names = vizlib.class_names("course")
    >>> axes = show_images(images, titles=[names[i] for i in labels], ncols=4)
    >>> axes.shape
    (2, 4)
    >>> sal = vizlib.attribution.saliency(model, x, labels)      # (8, 64, 64)
    >>> ax = show_map(sal[0], image=images[0], title="saliency")
    >>> plt.close("all")
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import _validate

# The website's output column is 688 px wide at a 1280-px window; Matplotlib's inline figures
# are 100 dpi, so a figure up to this many inches wide is shown unscaled and its text at the
# size it was set in (never below 8 pt). Grids fit their panels into it by default.
PAGE_WIDTH = 6.8


def _panel_size(size, ncols: int, largest: float) -> float:
    """A grid's panel size in inches: ``size`` if given, else the largest that fits the page."""
    return float(size) if size is not None else min(largest, PAGE_WIDTH / max(int(ncols), 1))


def to_numpy_image(image) -> np.ndarray:
    """(3, H, W) or (H, W) tensor/array in [0, 1] -> (H, W, 3) or (H, W) NumPy array, clipped."""
    arr = image.detach().cpu().float().numpy() if isinstance(image, torch.Tensor) else np.asarray(image, float)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return np.clip(arr, 0, 1) if arr.ndim == 3 else arr


def rescale(x) -> np.ndarray:
    """Linearly map an array to [0, 1] (constant arrays map to 0.5)."""
    arr = x.detach().cpu().float().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, float)
    lo, hi = np.nanmin(arr), np.nanmax(arr)
    return np.full_like(arr, 0.5) if hi - lo < 1e-12 else (arr - lo) / (hi - lo)


def show_image(image, ax=None, title: str | None = None):
    """Show one image (3, H, W) in [0, 1] or a 2-D map, without axes ticks."""
    ax = ax if ax is not None else plt.gca()
    arr = to_numpy_image(image)
    ax.imshow(arr, cmap=None if arr.ndim == 3 else "gray", interpolation="nearest")
    return _plain(ax, title)


def show_images(images, titles=None, ncols: int = 8, size: float | None = None, axes=None):
    """A grid of images (N, 3, H, W) in [0, 1] (or (N, H, W) maps); returns the Axes array.

    ``size``: inches per panel (default: as large as fits ``PAGE_WIDTH``, at most 1.6).
    """
    n = len(images)
    if axes is None:
        size = _panel_size(size, ncols, 1.6)
        nrows = (n + ncols - 1) // ncols
        _, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * (titles is not None)),
                               squeeze=False)
    flat = np.asarray(axes).ravel()
    for i, ax in enumerate(flat):
        if i < n:
            show_image(images[i], ax=ax, title=None if titles is None else titles[i])
        else:
            ax.axis("off")
    return axes


def _limits(vmin, vmax):
    """Check a (vmin, vmax) pair given by a caller: each None or a finite number, vmin < vmax."""
    vmin, vmax = _validate.optional_real(vmin, "vmin"), _validate.optional_real(vmax, "vmax")
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be smaller than vmax; got vmin={vmin!r}, vmax={vmax!r}")
    return vmin, vmax


def add_colorbar(image, ax, label: str | None = None):
    """A slim colour bar beside ``ax`` for the image ``image`` (what ``ax.imshow`` returned),
    its tick labels at 8 pt. Returns the Colorbar."""
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.ax.tick_params(labelsize=8)
    bar.ax.yaxis.get_offset_text().set_fontsize(8)
    if label:
        bar.set_label(label, fontsize=8)
    return bar


def _plain(ax, title: str | None = None):
    """No ticks on an image panel; the title, if any, at 9 pt. Returns the Axes."""
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def _grey_under(ax, image):
    grey = to_numpy_image(image)
    grey = grey.mean(-1) if grey.ndim == 3 else grey
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1)


def show_map(attribution, image=None, ax=None, title: str | None = None, cmap: str = "inferno",
             alpha: float = 0.6, symmetric: bool = False, vmin: float | None = None,
             vmax: float | None = None, colorbar: bool = True):
    """Show a 2-D map (H, W), optionally over a greyed copy of ``image`` (3, H, W) in [0, 1].

    ``symmetric=True`` centres a diverging colour map on zero (for signed maps), from
    ``-max|map|`` to ``max|map|`` unless ``vmin``/``vmax`` are given. ``vmin``/``vmax`` fix the
    colour scale (default: the map's own range), so that several maps can share one scale.
    ``colorbar=True`` (the default) draws the scale beside the map.
    """
    ax = ax if ax is not None else plt.gca()
    m = attribution.detach().cpu().float().numpy() if isinstance(attribution, torch.Tensor) else np.asarray(attribution)
    if m.ndim != 2:
        raise ValueError(f"attribution must be a 2-D map (H, W); got shape {m.shape}")
    vmin, vmax = _limits(vmin, vmax)
    if image is not None:
        _grey_under(ax, image)
    if symmetric:
        lim = float(np.abs(m).max()) or 1.0
        kw = dict(cmap="bwr", vmin=-lim if vmin is None else vmin, vmax=lim if vmax is None else vmax)
    else:
        kw = dict(cmap=cmap, vmin=vmin, vmax=vmax)
    im = ax.imshow(m, alpha=alpha if image is not None else 1.0, interpolation="nearest", **kw)
    if colorbar:
        add_colorbar(im, ax)
    return _plain(ax, title)


def show_pointing(attribution, mask, image=None, ax=None, title: str | None = None, cmap: str = "inferno",
                  alpha: float = 0.6, vmin: float | None = None, vmax: float | None = None,
                  colorbar: bool = True):
    """Show a map (H, W) with the object's outline (``mask`` (H, W) bool) and the map's maximum.

    The maximum (the pointing game's point, first in row-major order) is a cross:
    green when it lies on the object, red when not. ``vmin``, ``vmax`` and ``colorbar``
    as in :func:`show_map`.
    """
    ax = show_map(attribution, image=image, ax=ax, title=title, cmap=cmap, alpha=alpha, vmin=vmin,
                  vmax=vmax, colorbar=colorbar)
    m = attribution.detach().cpu().float().numpy() if isinstance(attribution, torch.Tensor) else np.asarray(attribution)
    k = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if k.shape != m.shape:
        raise ValueError(f"mask must have the map's shape {m.shape}; got {k.shape}")
    ax.contour(k.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
    r, c = np.unravel_index(np.argmax(m), m.shape)
    ax.plot(c, r, marker="x", markersize=7, markeredgewidth=2, color="lime" if k[r, c] else "red")
    return ax


def plot_scoreboard(table, columns=("pointing", "pointing_tol", "mass"), labels=None, baselines=(), ax=None):
    """Horizontal grouped bars: one group per method (rows of ``table``), one bar per column.

    Args:
        table: ``{method: {column: value}}`` (e.g. mean scores from ``vizlib.metrics.score_maps``).
        columns: the columns to draw, in order.
        labels: legend labels for the columns (default: the column names).
        baselines: methods drawn hatched, to set them apart (e.g. random and centre maps).
        ax: the Axes to draw in (default: the current Axes).
    """
    ax = ax if ax is not None else plt.gca()
    names = list(table)
    labels = list(columns) if labels is None else list(labels)
    height = 0.8 / len(columns)
    y = np.arange(len(names))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, col in enumerate(columns):
        values = [table[n].get(col, np.nan) for n in names]
        bars = ax.barh(y + (j - (len(columns) - 1) / 2) * height, values, height, label=labels[j],
                       color=colours[j % len(colours)])
        for bar, n in zip(bars, names):
            if n in baselines:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return ax


# ----------------------------------------------------------------------------- activations and style
def show_feature_grid(rows, n: int = 8, size: float | None = None, cmap: str = "viridis", axes=None):
    """Feature maps, one row per layer: ``rows`` maps a label to (C, H, W) maps; the first ``n``
    channels of each are shown, each with its own colour scale from 0 to its maximum.
    ``size``: inches per panel (default: as large as fits ``PAGE_WIDTH``, at most 1.0).
    Returns the (len(rows), n) array of Axes."""
    rows = dict(rows)
    if axes is None:
        size = _panel_size(size, n, 1.0)
        _, axes = plt.subplots(len(rows), n, figsize=(size * n, size * len(rows)), squeeze=False)
    axes = np.asarray(axes).reshape(len(rows), n)
    for r, (label, maps) in enumerate(rows.items()):
        arr = maps.detach().cpu().float().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(arr):
                ax.imshow(arr[c], cmap=cmap, vmin=min(arr[c].min(), 0), vmax=max(arr[c].max(), 1e-12),
                          interpolation="nearest")
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, fontsize=8)
    return axes


def show_patch_grid(patches, row_labels=None, size: float | None = None, axes=None):
    """Image patches (R, K, 3, P, P) in [0, 1] as an R x K grid, a label left of each row.
    ``size``: inches per panel (default: as large as fits ``PAGE_WIDTH``, at most 0.8).
    Returns the (R, K) array of Axes."""
    r, k = patches.shape[:2]
    if axes is None:
        size = _panel_size(size, k, 0.8)
        _, axes = plt.subplots(r, k, figsize=(size * k, size * r), squeeze=False)
    axes = np.asarray(axes).reshape(r, k)
    for i in range(r):
        for j in range(k):
            show_image(patches[i][j], ax=axes[i, j])
        if row_labels is not None:
            axes[i, 0].set_ylabel(row_labels[i], fontsize=8)
    return axes


def draw_receptive_fields(image, fields, ax=None, unit=None, colors=None):
    """Draw on ``image`` (3, H, W) the receptive field of one unit per layer.

    ``fields`` maps a label to a :class:`vizlib.activations.ReceptiveField`;
    ``unit`` is the (row, col) of the unit in each layer's feature map, default
    the one nearest the centre. The part of a field that falls on the padding,
    outside the image, is clipped by the axes. Returns the Axes.
    """
    from matplotlib.patches import Rectangle

    ax = show_image(image, ax=ax)
    h, w = to_numpy_image(image).shape[:2]
    colors = colors or plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, f) in enumerate(dict(fields).items()):
        r, c = unit if unit is not None else (f.feature_size // 2, f.feature_size // 2)
        top, left = f.offset + r * f.jump, f.offset + c * f.jump
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), f.size, f.size, fill=False, lw=2,
                               color=colors[i % len(colors)], label=f"{label}: {f.size} px"))
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    return ax


def plot_history(history, keys=None, ax=None, title: str | None = None, logy: bool = True):
    """Loss curves from a dict ``{name: values per step}`` (e.g. an optimisation's history).
    Returns the Axes."""
    ax = ax if ax is not None else plt.gca()
    for key in keys or list(history):
        ax.plot(np.asarray(history[key]), label=key)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


# --------------------------------------------------------------------------- filters and vision chapters
def _filter_rgb(w: np.ndarray) -> np.ndarray:
    """(C, k, k) or (k, k) filter -> displayable array, zero at mid-grey, scaled by its own max |w|."""
    m = np.abs(w).max()
    w = w / (2 * m) + 0.5 if m > 0 else np.full_like(w, 0.5)
    if w.ndim == 3:
        w = np.moveaxis(w, 0, -1) if w.shape[0] == 3 else w.mean(0)
    return w


def show_filters(weights, titles=None, ncols: int = 8, size: float | None = None, axes=None):
    """A grid of filters: (N, 3, k, k) as colour images or (N, k, k) / (N, 1, k, k) in grey.

    Each filter is scaled by its own largest |weight| so that zero is mid-grey: light is
    positive, dark negative (for colour filters, per channel). ``size``: inches per panel
    (default: as large as fits ``PAGE_WIDTH``, at most 1.5). Returns the Axes array.
    """
    w = weights.detach().cpu().float().numpy() if isinstance(weights, torch.Tensor) else np.asarray(weights, float)
    if w.ndim not in (3, 4):
        raise ValueError(f"weights must have shape (N, k, k) or (N, C, k, k); got {w.shape}")
    n = len(w)
    if axes is None:
        size = _panel_size(size, ncols, 1.5)
        nrows = (n + ncols - 1) // ncols
        _, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.25 * (titles is not None)) * nrows),
                               squeeze=False)
    for i, ax in enumerate(np.asarray(axes).ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        img = _filter_rgb(w[i])
        ax.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    return axes


def show_spectrum(response, ax=None, title: str | None = None, log: bool = False,
                  vmin: float | None = None, vmax: float | None = None, colorbar: bool = True):
    """Show a centred magnitude spectrum (size, size) from ``vizlib.filters.frequency_response``.

    Axes are labelled in cycles per pixel (-0.5 to 0.5); ``log=True`` shows log(1 + |H|).
    ``vmin``/``vmax`` fix the colour scale (in the units shown: |H|, or log(1 + |H|)), so that
    the spectra of several filters can share one scale; ``colorbar=True`` draws it.
    """
    ax = ax if ax is not None else plt.gca()
    h = np.asarray(response, float)
    if h.ndim != 2:
        raise ValueError(f"response must be a 2-D spectrum (size, size); got shape {h.shape}")
    vmin, vmax = _limits(vmin, vmax)
    n = h.shape[0]
    lo, hi = (-0.5 - 0.5 / n, 0.5 - 0.5 / n) if n % 2 == 0 else (-0.5, 0.5)  # pixel edges
    im = ax.imshow(np.log1p(h) if log else h, cmap="magma", extent=(lo, hi, hi, lo), interpolation="nearest",
                   vmin=vmin, vmax=vmax)
    if colorbar:
        add_colorbar(im, ax, label="log(1 + |H|)" if log else "|H|")
    ax.set_xticks([-0.5, 0, 0.5])
    ax.set_yticks([-0.5, 0, 0.5])
    ax.set_xlim(lo, hi)  # the ticks must not widen the view beyond the image
    ax.set_ylim(hi, lo)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_tuning(thetas, responses, ax=None, label: str | None = None, mark=None, **kwargs):
    """Plot a tuning curve: responses against orientation in degrees; ``mark`` draws a vertical line."""
    ax = ax if ax is not None else plt.gca()
    t = np.degrees(np.asarray(thetas, float))
    r = responses.detach().cpu().numpy() if isinstance(responses, torch.Tensor) else np.asarray(responses, float)
    ax.plot(t, r, label=label, **kwargs)
    if mark is not None:
        ax.axvline(np.degrees(mark), color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("orientation (degrees)")
    ax.set_ylabel("response")
    return ax


def show_attribution(attribution, ax=None, title: str | None = None, percentile: float = 99.5):
    """Show a signed attribution (C, H, W), e.g. a gradient or a deconvnet reconstruction, as an image.

    Zero is mid-grey; each channel's sign and size become colour and contrast, scaled so
    that the ``percentile``-th percentile of ``|attribution|`` reaches the ends of the range
    (the convention of Springenberg et al. and Zeiler and Fergus). A (H, W) map is shown
    in grey the same way.
    """
    ax = ax if ax is not None else plt.gca()
    a = attribution.detach().cpu().float().numpy() if isinstance(attribution, torch.Tensor) else np.asarray(attribution, float)
    if a.ndim not in (2, 3):
        raise ValueError(f"attribution must have shape (C, H, W) or (H, W); got {a.shape}")
    scale = np.percentile(np.abs(a), percentile)
    scale = scale if scale > 0 else 1.0
    img = np.clip(0.5 + 0.5 * a / scale, 0, 1)
    if img.ndim == 3:
        img = np.moveaxis(img, 0, -1)
        if img.shape[-1] == 1:
            img = img[..., 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    return _plain(ax, title)


def show_class_map(classes, names, ax=None, title: str | None = None, legend: bool = True, max_legend: int = 8):
    """Show a map (R, S) of class indices (e.g. the most probable class per occluder position).

    Each class that occurs gets its own colour; the legend names the ``max_legend`` most
    frequent ones (``names`` maps class index to name).
    """
    ax = ax if ax is not None else plt.gca()
    c = classes.detach().cpu().numpy() if isinstance(classes, torch.Tensor) else np.asarray(classes)
    if c.ndim != 2:
        raise ValueError(f"classes must be a 2-D map (R, S); got shape {c.shape}")
    present, counts = np.unique(c, return_counts=True)
    order = present[np.argsort(-counts, kind="stable")]
    palette = plt.get_cmap("tab10" if len(order) <= 10 else "tab20")
    colour_of = {k: palette(i % palette.N) for i, k in enumerate(order)}
    rgb = np.array([[colour_of[k][:3] for k in row] for row in c])
    ax.imshow(rgb, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if legend:
        from matplotlib.patches import Patch

        handles = [Patch(color=colour_of[k], label=str(names[int(k)])) for k in order[:max_legend]]
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def show_signed_map(values, image=None, ax=None, title: str | None = None, limit: float | None = None,
                    alpha: float = 0.65, colorbar: bool = True, vmin: float | None = None,
                    vmax: float | None = None):
    """Show a signed 2-D map (H, W) in blue (negative) to red (positive), white at zero,
    optionally over a greyed copy of ``image`` (3, H, W) in [0, 1].

    Unlike ``show_map(..., symmetric=True)`` the colour scale is fixed to
    ``[-limit, limit]`` when ``limit`` is given (e.g. 1 for differences of probabilities),
    so maps that are almost zero stay almost white instead of having their noise stretched.
    ``vmin``/``vmax`` instead of ``limit`` set an asymmetric scale that still puts white at
    zero (``vmin < 0 < vmax``). ``colorbar=True`` (the default) draws the scale.
    """
    from matplotlib.colors import TwoSlopeNorm

    ax = ax if ax is not None else plt.gca()
    m = values.detach().cpu().float().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
    if m.ndim != 2:
        raise ValueError(f"values must be a 2-D map (H, W); got shape {m.shape}")
    if limit is not None and not limit > 0:
        raise ValueError(f"limit must be a positive number or None; got {limit!r}")
    vmin, vmax = _limits(vmin, vmax)
    if (vmin is not None or vmax is not None) and limit is not None:
        raise ValueError(f"give either limit or vmin/vmax; got limit={limit!r}, vmin={vmin!r}, vmax={vmax!r}")
    lim = float(limit) if limit is not None else (float(np.abs(m).max()) or 1.0)
    lo, hi = -lim if vmin is None else vmin, lim if vmax is None else vmax
    if not lo < 0 < hi:
        raise ValueError(f"vmin and vmax must put zero inside the scale (vmin < 0 < vmax); got {lo!r}, {hi!r}")
    if image is not None:
        _grey_under(ax, image)
    im = ax.imshow(m, cmap="bwr", norm=TwoSlopeNorm(0.0, lo, hi), alpha=alpha if image is not None else 1.0,
                   interpolation="nearest")
    if colorbar:
        add_colorbar(im, ax)
    return _plain(ax, title)
