"""Sanity checks of maps (randomised weights and labels), map similarity, and everything at once."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import _validate
from ..hooks import check_model, get_module, model_device
from .causal import deletion_curve, insertion_curve
from .ground_truth import _check_tensor, mass_in_mask, pointing_game, reduce_channels


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
