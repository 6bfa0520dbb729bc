"""Image parameterisations for feature visualisation: pixels, a 1/f Fourier basis, decorrelated colour.

A parameterisation is a pair ``(params, image_fn)`` (Lucid's shape): ``params`` is a list of
leaf tensors that an optimiser changes, and ``image_fn()`` makes the image from them, a
(N, 3, H, W) float tensor in [0, 1]. :func:`render` with ``param=`` normalises that image for
the model, optimises ``params`` with Adam and returns the normalised image.

Each image is built in three stages, each of which can be switched off:

1. the basis: ``z`` are the pixels themselves (:func:`pixel_image`) or the inverse real FFT
   of a spectrum whose amplitudes are scaled by ``1 / f^decay`` (:func:`fourier_image`, the
   spectral parameterisation of Olah et al. 2017), so that gradient steps are spread over
   frequencies the way the power of natural images is;
2. decorrelated colour: ``z`` is read in a colour space whose three axes are uncorrelated in
   the data set (``rgb = M z`` with ``M M^T`` the toy world's colour covariance,
   :func:`toy_colour_matrix`), so that one step changes luminance and colour separately;
3. the squash into the valid range: ``sigmoid(z)`` (``squash="sigmoid"``, 0 is mid-grey) or
   ``z + 0.5`` unchanged (``squash=None``: pixels may leave [0, 1]; :func:`render` clips the
   image it returns).

Example:
    >>> params, image_fn = fourier_image((1, 3, 64, 64), seed=0)
    >>> [tuple(p.shape) for p in params], tuple(image_fn().shape)
    ([(1, 3, 64, 33, 2)], (1, 3, 64, 64))
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import torch

from .. import _validate

SQUASHES = ("sigmoid", None)
#: Images and seed of the toy-world sample that :func:`toy_colour_matrix` is computed from.
COLOUR_SAMPLE = dict(n=256, seed=0)


class Parameterisation(NamedTuple):
    """``(params, image_fn)``: leaf tensors to optimise and ``image_fn() -> (N, 3, H, W)`` in [0, 1]
    (or around it, with ``squash=None``). :func:`render` changes ``params`` in place."""

    params: list
    image_fn: Callable


# ----------------------------------------------------------------------------- colour
def colour_matrix(images: torch.Tensor) -> torch.Tensor:
    """The symmetric square root ``M`` of the pixel colour covariance of ``images``.

    ``Sigma`` is the 3 x 3 covariance of the colours of all pixels of all images and
    ``M = U diag(sqrt(lambda)) U^T`` (from its eigendecomposition ``Sigma = U diag(lambda) U^T``),
    so that ``M M^T = Sigma``: colours ``M z`` with uncorrelated unit-variance ``z`` have the
    data set's covariance, and ``M^{-1} (rgb - mean)`` whitens the data set's colours.

    Args:
        images: (N, 3, H, W) float in [0, 1].

    Returns:
        (3, 3) float32 tensor on the CPU, symmetric positive definite.

    Example:
        >>> m = colour_matrix(images)
        >>> m.shape, bool(torch.allclose(m, m.T))
        (torch.Size([3, 3]), True)
    """
    _validate.image_batch(images, "images", channels=3, space="[0, 1]", then="")
    pixels = images.detach().double().cpu().permute(1, 0, 2, 3).reshape(3, -1)
    if pixels.shape[1] < 2:
        raise ValueError("images must hold at least two pixels to have a covariance; got one")
    cov = torch.cov(pixels)
    lam, u = torch.linalg.eigh(cov)
    if lam.min() <= 0:
        raise ValueError("images must have colours that span all three channels; got a singular covariance")
    return (u @ torch.diag(lam.sqrt()) @ u.T).float()


@functools.lru_cache(maxsize=1)
def _toy_colour_matrix() -> torch.Tensor:
    from ..data import toy_world

    images, _, _ = toy_world(COLOUR_SAMPLE["n"], seed=COLOUR_SAMPLE["seed"])
    return colour_matrix(images)


def toy_colour_matrix() -> torch.Tensor:
    """:func:`colour_matrix` of the toy world (``toy_world(256, seed=0)``, computed once per process).

    The toy world's colours are strongly correlated (a correlation of about 0.43 between any
    two channels: the dead leaves are mostly grey); its own covariance decorrelated the course
    model's feature visualisations better than ImageNet's in a trial.

    Returns:
        (3, 3) float32 tensor, a copy (the cached matrix cannot be changed through it).

    Example:
        >>> m = toy_colour_matrix()
        >>> (m @ m.T).diagonal().round(decimals=3)     # the variances of R, G and B in the toy world
        tensor([0.0510, 0.0530, 0.0550])
    """
    return _toy_colour_matrix().clone()


def _colour(decorrelate) -> torch.Tensor | None:
    """The matrix applied to ``z`` (columns scaled so the largest has norm 1), or None."""
    if decorrelate is False or decorrelate is None:
        return None
    if decorrelate is True:
        m = _toy_colour_matrix()
    elif isinstance(decorrelate, torch.Tensor) and decorrelate.shape == (3, 3) \
            and decorrelate.is_floating_point() and torch.isfinite(decorrelate).all():
        m = decorrelate.detach().float().cpu()
    else:
        raise ValueError(f"decorrelate must be True, False or a (3, 3) float colour matrix; "
                         f"got {_validate.describe(decorrelate)}")
    norm = m.norm(dim=0).max()
    if not norm > 0:
        raise ValueError("decorrelate must be a non-zero (3, 3) colour matrix")
    return m / norm


# ----------------------------------------------------------------------------- shared checks
def _check_shape(shape) -> tuple[int, int, int, int]:
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) != 4:
        raise ValueError(f"shape must be (N, 3, H, W); got {shape!r}")
    n, c, h, w = (_validate.positive_int(v, "shape") for v in shape)
    if c != 3:
        raise ValueError(f"shape must be (N, 3, H, W) with 3 colour channels; got {tuple(shape)}")
    return n, c, h, w


def _finish(z: torch.Tensor, colour, squash) -> torch.Tensor:
    """Stages 2 and 3: ``z`` (N, 3, H, W) -> image (``colour`` on z's device and dtype)."""
    if colour is not None:
        z = torch.einsum("ij,njhw->nihw", colour, z)
    return torch.sigmoid(z) if squash == "sigmoid" else z + 0.5


def _common(sd, seed, squash, device):
    sd = _validate.real(sd, "sd", minimum=0.0)
    seed = _validate.integer(seed, "seed", minimum=0)
    _validate.one_of(squash, "squash", SQUASHES)
    return sd, torch.Generator().manual_seed(seed), torch.device("cpu" if device is None else device)


# ----------------------------------------------------------------------------- pixels
def pixel_image(shape, *, sd: float = 0.01, decorrelate=False, squash: str | None = "sigmoid",
                seed: int = 0, device=None) -> Parameterisation:
    """The plain baseline: one parameter per pixel and channel.

    ``z ~ N(0, sd^2)`` of shape ``shape``; the image is ``squash(M z)`` (see the module's
    docstring), mid-grey plus a little noise at the start.

    Args:
        shape: (N, 3, H, W): N images, made and optimised together.
        sd: standard deviation of the starting ``z``.
        decorrelate: False (default), True (:func:`toy_colour_matrix`) or a (3, 3) colour matrix.
        squash: ``"sigmoid"`` or None.
        seed: seeds the starting noise (the global RNG is not touched).
        device: where the parameters live (the model's device); default the CPU.

    Returns:
        :class:`Parameterisation`; ``params`` is ``[z]``, z (N, 3, H, W).

    Example:
        >>> params, image_fn = pixel_image((2, 3, 8, 8), sd=0.0)
        >>> image_fn().unique().tolist()            # sigmoid(0): mid-grey
        [0.5]
    """
    n, c, h, w = _check_shape(shape)
    sd, gen, device = _common(sd, seed, squash, device)
    colour = _colour(decorrelate)
    colour = None if colour is None else colour.to(device)
    z = (sd * torch.randn(n, c, h, w, generator=gen)).to(device).requires_grad_(True)
    return Parameterisation([z], lambda: _finish(z, colour, squash))


# ----------------------------------------------------------------------------- Fourier
def spectrum_scale(h: int, w: int, decay: float = 1.0) -> torch.Tensor:
    """Amplitude of each frequency of an (h, w) real FFT (``torch.fft.rfft2``): ``1 / f^decay``.

    ``f = sqrt(fy^2 + fx^2)`` in cycles per pixel, floored at ``1 / max(h, w)`` so that the
    constant term stays finite; the result is divided by its root mean square over the
    (h, w // 2 + 1) grid, so that the scaling changes the shape of the spectrum, not its size.
    ``decay=0`` gives all ones (white noise).

    Returns:
        (h, w // 2 + 1) float32 tensor.

    Example:
        >>> s = spectrum_scale(8, 8)
        >>> s.shape, bool(s[0, 0] == s.max()), round(float(s.pow(2).mean()), 4)
        (torch.Size([8, 5]), True, 1.0)
    """
    h, w = _validate.positive_int(h, "h"), _validate.positive_int(w, "w")
    decay = _validate.real(decay, "decay", minimum=0.0)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(w, dtype=torch.float64)[None, :]
    f = (fy ** 2 + fx ** 2).sqrt().clamp_min(1.0 / max(h, w))
    scale = f.pow(-decay)
    return (scale / scale.pow(2).mean().sqrt()).float()


def fourier_image(shape, *, decay: float = 1.0, decorrelate=True, sd: float = 0.01,
                  squash: str | None = "sigmoid", seed: int = 0, device=None) -> Parameterisation:
    """The spectral parameterisation: the image's Fourier coefficients, scaled by ``1 / f^decay``.

    The parameter is a spectrum ``S`` (real and imaginary parts ~ N(0, sd^2)); the image is

        z = irfft2(spectrum_scale(H, W, decay) * S),   image = squash(M z),

    with ``torch.fft.irfft2(..., norm="ortho")``, so that ``torch.fft.rfft2(z, norm="ortho")``
    gives the scaled spectrum back (where it is Hermitian: the imaginary parts of the real
    frequencies, such as the constant term, do not reach the image). With ``decay=1`` the
    image's amplitude spectrum falls as ``1 / f`` from the start, as natural images' does, and
    each Adam step moves low frequencies more than high ones (Olah et al. 2017).

    Args:
        shape: (N, 3, H, W).
        decay: exponent of the amplitude scaling (>= 0; 0: a white spectrum).
        decorrelate: True (default, :func:`toy_colour_matrix`), False or a (3, 3) colour matrix.
        sd: standard deviation of the starting spectrum's real and imaginary parts; the
            starting ``z`` has a standard deviation of about ``sd * sqrt(2)``.
        squash: ``"sigmoid"`` or None.
        seed: seeds the starting spectrum. device: where the parameters live (default the CPU).

    Returns:
        :class:`Parameterisation`; ``params`` is ``[S]``, S (N, 3, H, W // 2 + 1, 2) float
        (real and imaginary parts, ``torch.view_as_complex(S)``).

    Example:
        >>> params, image_fn = fourier_image((4, 3, 64, 64), decay=1.0, seed=0)
        >>> image = image_fn()
        >>> image.shape, bool(image.min() > 0.45 and image.max() < 0.55)
        (torch.Size([4, 3, 64, 64]), True)
    """
    n, c, h, w = _check_shape(shape)
    sd, gen, device = _common(sd, seed, squash, device)
    colour = _colour(decorrelate)
    colour = None if colour is None else colour.to(device)
    scale = spectrum_scale(h, w, decay).to(device)[None, None, :, :]
    spectrum = (sd * torch.randn(n, c, h, w // 2 + 1, 2, generator=gen)).to(device).requires_grad_(True)

    def image_fn():
        z = torch.fft.irfft2(scale * torch.view_as_complex(spectrum), s=(h, w), norm="ortho")
        return _finish(z, colour, squash)

    return Parameterisation([spectrum], image_fn)


def check_param(param) -> Parameterisation:
    """``param`` must be a :class:`Parameterisation` (or a pair ``(params, image_fn)``)."""
    if not (isinstance(param, tuple) and len(param) == 2 and callable(param[1])
            and isinstance(param[0], (list, tuple)) and len(param[0]) > 0):
        raise TypeError(f"param must be a parameterisation (params, image_fn), such as "
                        f"synthesis.fourier_image(...); got {_validate.describe(param)}")
    params, image_fn = param
    for p in params:
        if not isinstance(p, torch.Tensor) or not p.is_leaf or not p.requires_grad or not p.is_floating_point():
            raise ValueError("param's params must be floating-point leaf tensors with requires_grad=True; "
                             f"got {_validate.describe(p)}")
    return Parameterisation(list(params), image_fn)


def space_stats(space, model=None, like: torch.Tensor | None = None):
    """Normalisation statistics ``(mean, std)``, each (1, 3, 1, 1), of a model's input space.

    ``space`` is a model name of :func:`vizlib.models.model_names` (``"course"``, ``"alexnet"``,
    ...), or None: ``"course"`` for a :class:`~vizlib.models.CourseNet` ``model``, ImageNet's
    statistics for any other. The valid range of input space is ``[(0 - mean) / std, (1 - mean) / std]``.
    """
    from ..models import CourseNet, _stats, model_names

    if space is None:
        space = "course" if isinstance(model, CourseNet) else "alexnet"
    elif not isinstance(space, str) or space not in model_names():
        raise ValueError(f"space must be None or a model name ({', '.join(model_names()[:6])}, ...); "
                         f"got {_validate.describe(space)}")
    return _stats(space, torch.zeros(0) if like is None else like)
