"""Scoring explanations: ground-truth metrics, causal curves and sanity checks.

Three families of checks, all returning numbers instead of pictures:

* **Ground truth** (the toy world knows where each object is):
  :func:`pointing_game` (is the map's maximum on the object? Zhang et al.
  2016) and :func:`mass_in_mask` (which share of the map's mass is on it?).
* **Causal curves** (Petsiuk et al. 2018): :func:`deletion_curve` removes
  pixels from most to least important and records the target probability;
  :func:`insertion_curve` adds them back to a blank image. A good map makes
  the deletion curve fall fast (small area) and the insertion curve rise fast
  (large area).
* **Sanity checks** (Adebayo et al. 2018): :func:`randomize_layers` re-initialises
  the top layers of a copy of the model, :func:`train_on_shuffled_labels` trains
  one on shuffled labels; :func:`rank_correlation` (Spearman) and :func:`ssim`
  measure how much the maps changed.

Baselines that any method must beat: :func:`random_maps` and :func:`center_maps`.

Maps are (N, H, W). Maps with channels, (N, C, H, W), are reduced with
:func:`reduce_channels`, the maximum of ``|map|`` over channels (the reduction of
Simonyan et al. 2014), by every function here; reduce them yourself first if you
prefer another reduction.

Example:
    >>> maps = vizlib.attribution.saliency(model, x, labels)        # (8, 64, 64)
    >>> vizlib.metrics.pointing_game(maps, masks).float().mean()    # share of hits
    tensor(1.)
    >>> curve, area = vizlib.metrics.deletion_curve(model, x, labels, maps, n_steps=8)
    >>> curve.shape, area.shape
    (torch.Size([8, 9]), torch.Size([8]))
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import _validate
from .hooks import check_model, get_module, model_device, running

__all__ = [
    "reduce_channels", "pointing_game", "mass_in_mask", "deletion_curve", "insertion_curve",
    "randomization_order", "randomize_layers", "train_on_shuffled_labels", "rank_correlation", "ssim", "random_maps",
    "center_maps", "score_maps",
]


# ----------------------------------------------------------------------------- validation
def _check_tensor(value, arg: str) -> None:
    _validate.tensor(value, arg)


def reduce_channels(maps: torch.Tensor) -> torch.Tensor:
    """Reduce maps with channels to one value per pixel: ``max_c |maps[:, c]|``.

    Args:
        maps: (N, C, H, W) attributions with channels, or (N, H, W) maps, which
            are returned unchanged (as float).

    Returns:
        (N, H, W) float tensor, detached.

    Example:
        >>> reduce_channels(torch.tensor([[[[1.0]], [[-3.0]]]]))   # (1, 2, 1, 1)
        tensor([[[3.]]])
    """
    _check_tensor(maps, "maps")
    if maps.ndim == 4:
        return maps.detach().abs().amax(dim=1).float()
    if maps.ndim == 3:
        return maps.detach().float()
    raise ValueError(f"maps must have shape (N, H, W) or (N, C, H, W); got {tuple(maps.shape)}")


def _maps_and_masks(maps, masks):
    maps = reduce_channels(maps)
    _check_tensor(masks, "masks")
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W); got {tuple(masks.shape)}")
    if masks.shape != maps.shape:
        raise ValueError(f"masks must have the maps' shape {tuple(maps.shape)}; got {tuple(masks.shape)}")
    masks = masks.to(maps.device).bool()
    empty = (~masks.flatten(1).any(1)).nonzero().flatten()
    if len(empty):
        raise ValueError(f"masks must mark at least one pixel per image; mask {empty[0].item()} is empty")
    if not torch.isfinite(maps).all():
        raise ValueError("maps must be finite; got NaN or infinite values")
    return maps, masks


# ----------------------------------------------------------------------------- ground truth
def pointing_game(maps: torch.Tensor, masks: torch.Tensor, *, tolerance: float = 0) -> torch.Tensor:
    """Pointing game (Zhang et al. 2016): is each map's maximum on the object?

    The maximum is the first maximal pixel in row-major order (``argmax`` of the
    flattened map), so a constant map points at the top-left pixel. With
    ``tolerance`` > 0 a point also counts as a hit when it lies within that many
    pixels (Euclidean distance) of the mask, as in the original paper, which used
    15 px on ImageNet-sized images.

    Args:
        maps: (N, H, W) maps (or (N, C, H, W), reduced by :func:`reduce_channels`).
        masks: (N, H, W) bool, True on the object; each needs at least one True pixel.
        tolerance: distance in pixels (>= 0) within which a point still counts.

    Returns:
        (N,) bool tensor, True for a hit; ``.float().mean()`` is the score.

    Example:
        >>> maps = torch.zeros(1, 4, 4); maps[0, 1, 2] = 1.0
        >>> masks = torch.zeros(1, 4, 4, dtype=torch.bool); masks[0, 1, 2] = True
        >>> pointing_game(maps, masks)
        tensor([True])
    """
    maps, masks = _maps_and_masks(maps, masks)
    tolerance = _validate.real(tolerance, "tolerance (pixels)", minimum=0)
    n, h, w = maps.shape
    flat = maps.flatten(1).argmax(1)
    rows, cols = flat // w, flat % w
    if tolerance == 0:
        return masks[torch.arange(n, device=masks.device), rows, cols]
    yy = torch.arange(h, device=maps.device).view(1, h, 1)
    xx = torch.arange(w, device=maps.device).view(1, 1, w)
    dist2 = (yy - rows.view(n, 1, 1)) ** 2 + (xx - cols.view(n, 1, 1)) ** 2
    nearest = dist2.float().masked_fill(~masks, float("inf")).flatten(1).amin(1)
    return nearest <= float(tolerance) ** 2


def mass_in_mask(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of each map's mass that lies on the object: ``sum_mask |m| / sum |m|``.

    Called the energy-based pointing game by some authors. A map spread evenly
    over the image scores the object's area fraction; a perfect map scores 1.
    A map that is zero everywhere has no mass to share out and scores NaN.

    Args:
        maps: (N, H, W) maps (or (N, C, H, W), reduced by :func:`reduce_channels`);
            signed maps count by their absolute value.
        masks: (N, H, W) bool, True on the object.

    Returns:
        (N,) float tensor in [0, 1] (NaN for all-zero maps).

    Example:
        >>> maps = torch.tensor([[[3.0, 1.0]]]); masks = torch.tensor([[[True, False]]])
        >>> mass_in_mask(maps, masks)
        tensor([0.7500])
    """
    maps, masks = _maps_and_masks(maps, masks)
    mass = maps.abs().double()
    total = mass.flatten(1).sum(1)
    inside = (mass * masks).flatten(1).sum(1)
    out = torch.where(total > 0, inside / total.clamp_min(1e-300), torch.full_like(total, float("nan")))
    return out.float()


# ----------------------------------------------------------------------------- baselines
def _check_size(n, height, width):
    for arg, v in (("n", n), ("height", height), ("width", width)):
        _validate.positive_int(v, arg)


def random_maps(n: int, height: int, width: int, *, seed: int = 0) -> torch.Tensor:
    """Baseline: maps of independent uniform noise (their maximum is a random pixel).

    Args:
        n, height, width: shape of the result.
        seed: seed of a private generator (the global RNG is not touched).

    Returns:
        (n, height, width) float32 in [0, 1).

    Example:
        >>> random_maps(2, 64, 64).shape
        torch.Size([2, 64, 64])
    """
    _check_size(n, height, width)
    gen = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, height, width, generator=gen)


def center_maps(n: int, height: int, width: int, *, sigma: float | None = None) -> torch.Tensor:
    """Baseline: a Gaussian bump at the image centre, the same for every image.

    Photographers and data sets put objects near the middle; this baseline
    "explains" every image by pointing at its centre. The maximum is the pixel
    nearest the centre ((height - 1) / 2, (width - 1) / 2), the first of the four
    tied ones for even sizes.

    Args:
        n, height, width: shape of the result.
        sigma: width of the bump in pixels; default ``min(height, width) / 4``.

    Returns:
        (n, height, width) float32 in (0, 1].

    Example:
        >>> m = center_maps(1, 5, 5); (m[0] == m[0].max()).nonzero().tolist()
        [[2, 2]]
    """
    _check_size(n, height, width)
    sigma = min(height, width) / 4 if sigma is None else sigma
    sigma = _validate.real(sigma, "sigma", positive=True)
    yy = torch.arange(height, dtype=torch.float64).view(-1, 1) - (height - 1) / 2
    xx = torch.arange(width, dtype=torch.float64).view(1, -1) - (width - 1) / 2
    bump = torch.exp(-(yy**2 + xx**2) / (2 * sigma**2)).float()
    return bump.expand(n, height, width).clone()


# ----------------------------------------------------------------------------- causal curves
def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    pad = dict(pad=(radius, radius, 0, 0), mode="replicate")
    out = F.conv2d(F.pad(x, **pad), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    pad = dict(pad=(0, 0, radius, radius), mode="replicate")
    return F.conv2d(F.pad(out, **pad), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _causal_curve(mode, model, x, target, maps, *, n_steps, baseline, blur_sigma, batch_size, progress):
    check_model(model)
    _validate.image_batch(x, "x")  # moved to the model's device below, as before
    maps = reduce_channels(maps)
    n, _, h, w = x.shape
    if maps.shape != (n, h, w):
        raise ValueError(f"maps must have shape {(n, h, w)} (or (N, C, H, W) with those N, H, W); got {tuple(maps.shape)}")
    if _validate.integer(n_steps, "n_steps", minimum=1) > h * w:
        raise ValueError(f"n_steps must be an int between 1 and H*W = {h * w}; got {n_steps!r}")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    device = model_device(model)
    targets = _validate.targets(target, n, device)
    xd = x.detach().to(device)
    if isinstance(baseline, torch.Tensor):
        try:
            base = torch.broadcast_to(baseline.detach().to(device, xd.dtype), xd.shape)
        except RuntimeError:
            raise ValueError(f"baseline must broadcast to x's shape {tuple(x.shape)}; got {tuple(baseline.shape)}") from None
    elif baseline == "mean":
        base = torch.zeros_like(xd)
    elif baseline == "blur":
        sigma = h / 32 if blur_sigma is None else blur_sigma
        sigma = _validate.real(sigma, "blur_sigma", positive=True)
        base = _gaussian_blur(xd, float(sigma))
    else:
        raise ValueError(f"baseline must be 'mean', 'blur' or a tensor; got {baseline!r}")

    # pixel order, most important first; ties keep row-major order
    order = torch.sort(maps.to(device).flatten(1), dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(h * w, device=device).expand(n, -1).contiguous())
    counts = [round(k * h * w / n_steps) for k in range(n_steps + 1)]
    # at step k the pixels with rank < counts[k] are changed: set to base (deletion) or to x (insertion)
    # job j is image j // (n_steps + 1) at step j % (n_steps + 1)
    images = torch.arange(n, device=device).repeat_interleave(n_steps + 1)
    shown_counts = torch.tensor(counts, device=device).repeat(n)
    probs = torch.empty(n * (n_steps + 1), dtype=torch.float32)
    with running(model, grad=False):
        for start in tqdm(range(0, len(images), batch_size), disable=not progress, desc=mode):
            idx = images[start : start + batch_size]
            cnt = shown_counts[start : start + batch_size]
            changed = (rank[idx] < cnt[:, None]).view(-1, 1, h, w)
            if mode == "deletion":
                batch = torch.where(changed, base[idx], xd[idx])
            else:
                batch = torch.where(changed, xd[idx], base[idx])
            p = model(batch).softmax(1).gather(1, targets[idx][:, None])[:, 0]
            probs[start : start + len(idx)] = p.float().cpu()
    probs = probs.view(n, n_steps + 1)
    fractions = torch.tensor(counts, dtype=torch.float64) / (h * w)
    area = torch.trapezoid(probs.double(), fractions, dim=1).float()
    return probs, area


def deletion_curve(model: nn.Module, x: torch.Tensor, target, maps: torch.Tensor, *, n_steps: int = 32,
                   baseline="mean", blur_sigma: float | None = None, batch_size: int = 256,
                   progress: bool = False):
    """Deletion curve (Petsiuk et al. 2018): delete pixels from most to least important.

    Pixels are ranked by the map (ties in row-major order). At step k of
    ``n_steps`` the ``round(k * H * W / n_steps)`` highest-ranked pixels are
    replaced, in every channel, by the baseline and the softmax probability of
    the target class is recorded. For 64x64 images and ``n_steps=32`` one step
    removes 128 pixels (1/32 of the image). The area under the curve, over the
    removed fraction in [0, 1], is computed with the trapezoid rule: smaller is
    better (the evidence went first).

    Args:
        model: a classifier; left unchanged (evaluated in eval mode, without gradients).
        x: (N, C, H, W) normalised input.
        target: int or (N,) integer tensor of class indices.
        maps: (N, H, W) importance maps (or (N, C, H, W), reduced by :func:`reduce_channels`).
        n_steps: number of steps; the curve has ``n_steps + 1`` points.
        baseline: what deleted pixels become: ``"mean"`` (default) sets them to 0
            in normalised space, the data set's mean colour, as in the RISE code;
            ``"blur"`` to a Gaussian blur of x (sigma ``blur_sigma``, default H/32
            pixels); or a tensor that broadcasts to x's shape.
        blur_sigma: blur width in pixels for ``baseline="blur"``.
        batch_size: images per forward pass.
        progress: show a tqdm progress bar.

    Returns:
        ``(curve, area)``: curve (N, n_steps + 1) float probabilities at removed
        fractions ``round(k * H * W / n_steps) / (H * W)``, k = 0..n_steps;
        area (N,) float.

    Example:
        >>> maps = vizlib.attribution.saliency(model, x, labels)
        >>> curve, area = deletion_curve(model, x, labels, maps, n_steps=16)
        >>> curve.shape, bool((curve[:, 0] > curve[:, -1]).all())   # the probability falls
        (torch.Size([8, 17]), True)
    """
    return _causal_curve("deletion", model, x, target, maps, n_steps=n_steps, baseline=baseline,
                         blur_sigma=blur_sigma, batch_size=batch_size, progress=progress)


def insertion_curve(model: nn.Module, x: torch.Tensor, target, maps: torch.Tensor, *, n_steps: int = 32,
                    baseline="mean", blur_sigma: float | None = None, batch_size: int = 256,
                    progress: bool = False):
    """Insertion curve (Petsiuk et al. 2018): add pixels from most to least important.

    Starts from the baseline image and, at step k of ``n_steps``, puts back the
    ``round(k * H * W / n_steps)`` highest-ranked pixels of x (every channel),
    recording the target's softmax probability. Larger area is better (the
    evidence came first).

    The default start is the data set's mean colour (0 in normalised space), the
    image that :func:`deletion_curve` ends with. RISE starts from a blurred copy
    instead (``baseline="blur"``); that suits ImageNet models, which fail on
    blurred photographs, but the course model still recognises a toy shape
    blurred with sigma = 2 px (the target's probability stays near 0.9), so a
    blurred start leaves no room for the curve to separate good maps from bad.

    Args:
        model, x, target, maps, n_steps, blur_sigma, batch_size, progress: as in
            :func:`deletion_curve`.
        baseline: the starting image: ``"mean"`` (default), ``"blur"`` (a Gaussian
            blur of x with sigma ``blur_sigma``, default H/32 pixels) or a tensor
            that broadcasts to x's shape.

    Returns:
        ``(curve, area)`` as in :func:`deletion_curve`, with k the number of
        steps of pixels inserted.

    Example:
        >>> maps = vizlib.attribution.saliency(model, x, labels)
        >>> curve, area = insertion_curve(model, x, labels, maps, n_steps=16)
        >>> curve.shape, bool((curve[:, -1] > curve[:, 0]).all())   # the probability rises
        (torch.Size([8, 17]), True)
    """
    return _causal_curve("insertion", model, x, target, maps, n_steps=n_steps, baseline=baseline,
                         blur_sigma=blur_sigma, batch_size=batch_size, progress=progress)


# ----------------------------------------------------------------------------- sanity checks
def randomization_order(model: nn.Module) -> list[str]:
    """Names of the layers with parameters, from the top (output) down.

    This is the order of the cascading randomisation test of Adebayo et al.
    (2018): the definition order of the model's leaf modules, reversed, keeping
    those with parameters and a ``reset_parameters`` method.

    Example:
        >>> randomization_order(vizlib.load_model("course", weights=None))[:2]
        ['classifier.fc', 'features.conv4']
    """
    check_model(model)
    names = []
    for name, m in model.named_modules():
        if name and not any(True for _ in m.children()) and hasattr(m, "reset_parameters"):
            if any(True for _ in m.parameters(recurse=False)):
                names.append(name)
    return names[::-1]


def randomize_layers(model: nn.Module, from_layer, *, seed: int | None = 0) -> nn.Module:
    """A copy of ``model`` whose layers from the top down to ``from_layer`` are re-initialised.

    Cascading model-parameter randomisation (Adebayo et al. 2018): every layer
    in :func:`randomization_order` up to and including ``from_layer`` gets fresh
    random weights from its own ``reset_parameters`` (PyTorch's default
    initialisation); the layers below keep their trained weights. The caller's
    model is not modified (the copy is a ``copy.deepcopy``).

    Args:
        model: the trained model.
        from_layer: the lowest layer to randomise: a name from
            :func:`randomization_order` or a module of ``model``.
        seed: seed for the new weights (the global RNG is restored afterwards);
            None draws from the global RNG.

    Returns:
        The randomised copy, in the same training mode and on the same device.

    Example:
        >>> rand = randomize_layers(model, "features.conv3")  # fc, conv4, conv3 re-initialised
        >>> torch.equal(rand.features.conv2.weight, model.features.conv2.weight)
        True
        >>> torch.equal(rand.features.conv3.weight, model.features.conv3.weight)
        False
    """
    check_model(model)
    order = randomization_order(model)
    module = get_module(model, from_layer)
    name = next(n for n, m in model.named_modules() if m is module)
    if name not in order:
        raise ValueError(f"from_layer must be a layer with parameters, one of {', '.join(order)}; got {name!r}")
    if seed is not None:
        _validate.integer(seed, "seed")
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    to_reset = order[: order.index(name) + 1]
    device = model_device(model)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(int(seed))
        with torch.no_grad():
            for layer in to_reset:
                modules[layer].reset_parameters()
    return clone


def train_on_shuffled_labels(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, *, epochs: int = 4,
                             batch_size: int = 64, lr: float = 2e-3, seed: int = 0, progress: bool = False):
    """Data randomisation test (Adebayo et al. 2018): the same architecture, trained on shuffled labels.

    A copy of ``model`` with every layer re-initialised (:func:`randomize_layers`
    from the bottom layer) is trained with AdamW and cross-entropy on ``x`` with
    the labels randomly permuted, so its weights can only encode the images, not
    what they show. Maps that look the same for this model as for the real one
    cannot be explaining the real model's decisions.

    Args:
        model: the trained model (left unchanged).
        x: (N, C, H, W) normalised training images, on any device.
        labels: (N,) integer class labels; they are shuffled here.
        epochs, batch_size, lr: training length, batch size and AdamW learning rate.
        seed: seed of the new weights, the shuffle and the batch order (global RNG untouched).
        progress: show a tqdm progress bar.

    Returns:
        ``(trained_copy, shuffled_labels)``: the copy in eval mode on the model's
        device, and the (N,) labels it was trained on.

    Example:
        >>> rand_model, y_shuffled = train_on_shuffled_labels(model, x, labels, epochs=1)
        >>> y_shuffled.shape, rand_model.training
        (torch.Size([8]), False)
    """
    check_model(model)
    _check_tensor(x, "x")
    _check_tensor(labels, "labels")
    if x.ndim != 4 or labels.ndim != 1 or len(labels) != len(x) or labels.is_floating_point():
        raise ValueError(f"x must be (N, C, H, W) and labels (N,) integers; got {tuple(x.shape)} and {tuple(labels.shape)}")
    epochs = _validate.positive_int(epochs, "epochs")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    seed = _validate.integer(seed, "seed", minimum=0)
    clone = randomize_layers(model, randomization_order(model)[-1], seed=seed)
    for p in clone.parameters():
        p.requires_grad_(True)
    device = model_device(clone)
    gen = torch.Generator().manual_seed(int(seed))
    shuffled = labels.detach().cpu()[torch.randperm(len(labels), generator=gen)]
    xd, yd = x.detach().to(device), shuffled.to(device)
    opt = torch.optim.AdamW(clone.parameters(), lr=lr)
    clone.train()
    steps = epochs * ((len(x) + batch_size - 1) // batch_size)
    with torch.enable_grad(), tqdm(total=steps, disable=not progress, desc="shuffled labels") as bar:
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=gen).to(device)
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                loss = F.cross_entropy(clone(xd[idx]), yd[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                bar.update()
    return clone.eval(), shuffled


def _pair(map_a, map_b):
    for arg, m in (("map_a", map_a), ("map_b", map_b)):
        _check_tensor(m, arg)
        if m.ndim not in (2, 3, 4):
            raise ValueError(f"{arg} must have shape (H, W), (N, H, W) or (N, C, H, W); got {tuple(m.shape)}")
    single = map_a.ndim == 2 and map_b.ndim == 2
    a = reduce_channels(map_a[None] if map_a.ndim == 2 else map_a).double()
    b = reduce_channels(map_b[None] if map_b.ndim == 2 else map_b).double()
    if a.shape != b.shape:
        raise ValueError(f"map_a and map_b must have the same shape; got {tuple(a.shape)} and {tuple(b.shape)}")
    return a, b.to(a.device), single


def _average_ranks(v: torch.Tensor) -> torch.Tensor:
    """Ranks 1..P along each row of an (N, P) tensor, ties sharing their average rank."""
    n, p = v.shape
    values, order = torch.sort(v, dim=1, stable=True)
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[:, 1:] = values[:, 1:] != values[:, :-1]
    group = torch.cumsum(starts, dim=1) - 1  # tie group of each sorted position
    pos = torch.arange(p, dtype=torch.float64, device=v.device).expand(n, p)
    first = torch.full((n, p), float(p), dtype=torch.float64, device=v.device).scatter_reduce(1, group, pos, "amin")
    last = torch.full((n, p), -1.0, dtype=torch.float64, device=v.device).scatter_reduce(1, group, pos, "amax")
    mean_rank = (first + last) / 2 + 1  # per group
    return torch.empty_like(pos).scatter_(1, order, mean_rank.gather(1, group))


def rank_correlation(map_a: torch.Tensor, map_b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between two maps, per map.

    The Pearson correlation of the pixels' ranks (ties get their average rank),
    the similarity measure of Adebayo et al. (2018). Constant maps have no
    ranking and give NaN.

    Args:
        map_a, map_b: (N, H, W) maps (or (H, W), or (N, C, H, W) reduced by
            :func:`reduce_channels`), the same shape.

    Returns:
        (N,) float tensor in [-1, 1], or a 0-d tensor for (H, W) inputs.

    Example:
        >>> rank_correlation(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 4.0], [9.0, 16.0]]))
        tensor(1.)
    """
    a, b, single = _pair(map_a, map_b)
    ra, rb = _average_ranks(a.flatten(1)), _average_ranks(b.flatten(1))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    den = torch.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    out = torch.where(den > 0, (ra * rb).sum(1) / den.clamp_min(1e-300), torch.full_like(den, float("nan")))
    out = out.float().cpu()
    return out[0] if single else out


def ssim(map_a: torch.Tensor, map_b: torch.Tensor, *, win_size: int = 7, rescale: bool = True,
         data_range: float | None = None) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) between two maps, per map.

    The mean SSIM over every ``win_size`` x ``win_size`` window that fits inside
    the map, with uniform windows, sample (co)variances and the usual constants
    K1 = 0.01, K2 = 0.03: the same number as
    ``skimage.metrics.structural_similarity(a, b, win_size=win_size, data_range=...)``.

    Args:
        map_a, map_b: (N, H, W) maps (or (H, W), or (N, C, H, W) reduced by
            :func:`reduce_channels`), the same shape, at least ``win_size`` each side.
        win_size: odd window side (>= 3).
        rescale: first map each map linearly to [0, 1] (constant maps become 0),
            as Adebayo et al. (2018) did; then ``data_range`` defaults to 1.
        data_range: max - min of the values the maps can take; required when
            ``rescale=False``.

    Returns:
        (N,) float tensor (1 for identical maps), or 0-d for (H, W) inputs.

    Example:
        >>> m = torch.rand(2, 16, 16); ssim(m, m)
        tensor([1., 1.])
    """
    a, b, single = _pair(map_a, map_b)
    if _validate.integer(win_size, "win_size", minimum=3) % 2 == 0:
        raise ValueError(f"win_size must be an odd int >= 3; got {win_size!r}")
    if min(a.shape[-2:]) < win_size:
        raise ValueError(f"maps must be at least win_size={win_size} pixels on each side; got {tuple(a.shape[-2:])}")
    if rescale:
        def unit(m):
            lo = m.flatten(1).amin(1).view(-1, 1, 1)
            span = m.flatten(1).amax(1).view(-1, 1, 1) - lo
            return torch.where(span > 0, (m - lo) / span.clamp_min(1e-300), torch.zeros_like(m))

        a, b = unit(a), unit(b)
        data_range = 1.0 if data_range is None else data_range
    if data_range is None:
        raise ValueError("data_range must be given when rescale=False (e.g. max - min of the maps' range)")
    data_range = _validate.real(data_range, "data_range", positive=True)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    a, b = a[:, None], b[:, None]
    mean = lambda t: F.avg_pool2d(t, win_size, stride=1)  # noqa: E731
    ua, ub = mean(a), mean(b)
    cov_norm = win_size**2 / (win_size**2 - 1)
    va = cov_norm * (mean(a * a) - ua**2)
    vb = cov_norm * (mean(b * b) - ub**2)
    vab = cov_norm * (mean(a * b) - ua * ub)
    s = ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua**2 + ub**2 + c1) * (va + vb + c2))
    out = s.flatten(1).mean(1).float()
    return out[0] if single else out


# ----------------------------------------------------------------------------- all at once
def score_maps(model: nn.Module, x: torch.Tensor, target, maps: torch.Tensor, masks: torch.Tensor, *,
               tolerance: float = 3, n_steps: int = 16, batch_size: int = 256,
               progress: bool = False) -> dict:
    """Every score of this module for one set of maps, per image.

    Args:
        model, x, target: as in :func:`deletion_curve`.
        maps: (N, H, W) maps (or (N, C, H, W), reduced by :func:`reduce_channels`).
        masks: (N, H, W) bool object masks.
        tolerance: pixels of slack for the second pointing-game score.
        n_steps: steps of the deletion and insertion curves (both with their
            default baseline, the mean colour).
        batch_size, progress: as in :func:`deletion_curve`.

    Returns:
        dict of (N,) tensors: ``"pointing"`` and ``"pointing_tol"`` (hits as
        floats), ``"mass"``, ``"deletion"`` and ``"insertion"`` (areas).

    Example:
        >>> maps = vizlib.attribution.saliency(model, x, labels)
        >>> scores = score_maps(model, x, labels, maps, masks, n_steps=8)
        >>> {k: tuple(v.shape) for k, v in scores.items()}     # one score per image
        {'pointing': (8,), 'pointing_tol': (8,), 'mass': (8,), 'deletion': (8,), 'insertion': (8,)}
    """
    maps = reduce_channels(maps)
    out = {
        "pointing": pointing_game(maps, masks).float().cpu(),
        "pointing_tol": pointing_game(maps, masks, tolerance=tolerance).float().cpu(),
        "mass": mass_in_mask(maps, masks).cpu(),
    }
    kw = dict(n_steps=n_steps, batch_size=batch_size, progress=progress)
    out["deletion"] = deletion_curve(model, x, target, maps, **kw)[1]
    out["insertion"] = insertion_curve(model, x, target, maps, **kw)[1]
    return out
