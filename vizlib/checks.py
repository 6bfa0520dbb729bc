"""Self-checks for the "implement it" exercises.

Each ``check_*`` function runs the student's function against the reference
implementation on fixed inputs, prints a one-line verdict with the size of the
error (and a hint when it fails), and raises ``AssertionError`` on a wrong
answer so that a graded notebook cell fails visibly.

Example:
    >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().amax(dim=1))
    PASS check_saliency_reduction: max |error| 0 over 3 cases
    >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().mean(dim=1))
    Traceback (most recent call last):
    AssertionError: FAIL check_saliency_reduction: case 0: ...
"""
from __future__ import annotations

import numpy as np
import torch


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def compare(name: str, cases, *, atol: float = 1e-5, rtol: float = 1e-4, hint: str = "") -> float:
    """Compare (got, expected) pairs; print PASS/FAIL and raise AssertionError on a mismatch.

    Args:
        name: the check's name, printed in the verdict.
        cases: iterable of ``(got, expected)`` array-likes.
        atol, rtol: tolerances as in ``numpy.allclose``.
        hint: printed after a failure.

    Returns:
        The largest absolute error over all cases.
    """
    worst, n = 0.0, 0
    for i, (got, expected) in enumerate(cases):
        n += 1
        g, e = _as_array(got), _as_array(expected)
        if g.shape != e.shape:
            msg = f"FAIL {name}: case {i}: shape {g.shape}, expected {e.shape}. {hint}".strip()
            print(msg)
            raise AssertionError(msg)
        if not np.all(np.isfinite(g)):
            msg = f"FAIL {name}: case {i}: the result contains NaN or inf. {hint}".strip()
            print(msg)
            raise AssertionError(msg)
        err = float(np.max(np.abs(g - e))) if g.size else 0.0
        worst = max(worst, err)
        if not np.allclose(g, e, atol=atol, rtol=rtol):
            msg = f"FAIL {name}: case {i}: max |error| {err:.3g} (tolerance {atol:g}). {hint}".strip()
            print(msg)
            raise AssertionError(msg)
    print(f"PASS {name}: max |error| {worst:.2g} over {n} cases")
    return worst


# --------------------------------------------------------------------------- metrics (evaluating chapter)
def _pointing_cases():
    """Fixed inputs for check_pointing_game: (maps, masks) pairs with non-square maps, no ties."""
    gen = torch.Generator().manual_seed(8)
    cases = []
    # random maps with random rectangles as masks, H != W so that row/column mix-ups show
    maps = torch.rand(12, 8, 11, generator=gen)
    masks = torch.zeros(12, 8, 11, dtype=torch.bool)
    for i in range(12):
        r, c = torch.randint(0, 5, (2,), generator=gen).tolist()
        masks[i, r : r + 4, c : c + 6] = True
    cases.append((maps, masks))
    # hand-made: maximum at (1, 7); the mask holds it in image 0, its transposed-looking twin in image 1
    maps = torch.rand(2, 8, 11, generator=gen) * 0.5
    maps[:, 1, 7] = 1.0
    masks = torch.zeros(2, 8, 11, dtype=torch.bool)
    masks[0, 1, 7] = True
    masks[1, 7, 1] = True
    masks[1, 0:2, 0:3] = True
    cases.append((maps, masks))
    # one image whose minimum, not maximum, lies on the object; one whose maximum is negative
    maps = torch.rand(2, 6, 9, generator=gen) + 1.0
    maps[0, 2, 3], maps[0, 4, 8] = 0.0, 5.0
    maps[1] = -maps[1]
    masks = torch.zeros(2, 6, 9, dtype=torch.bool)
    masks[0, 2, 3] = True
    masks[1].view(-1)[maps[1].flatten().argmax()] = True
    cases.append((maps, masks))
    return cases


def check_pointing_game(fn) -> float:
    """Check ``fn(maps, masks)``, a pointing game, against :func:`vizlib.metrics.pointing_game`.

    ``fn`` takes maps (N, H, W) float and masks (N, H, W) bool and must return one
    hit per image, (N,) bool (or 0/1): True where the map's maximum lies inside
    the mask. Three fixed cases with non-square maps; prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> def my_pointing_game(maps, masks):
        ...     peak = maps.flatten(1).argmax(1)                  # (N,) index of each map's maximum
        ...     return masks.flatten(1)[torch.arange(len(peak)), peak]
        >>> err = vizlib.checks.check_pointing_game(my_pointing_game)
        PASS check_pointing_game: max |error| 0 over 3 cases
    """
    from .metrics import pointing_game

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(maps, masks); got {type(fn).__name__}")
    pairs = []
    for maps, masks in _pointing_cases():
        got = fn(maps.clone(), masks.clone())
        if isinstance(got, torch.Tensor):
            got = got.detach().cpu().float()
        pairs.append((got, pointing_game(maps, masks).float()))
    hint = ("Return one True/False per image (shape (N,)), not the mean. Take the argmax of each "
            "flattened map (the maximum, not the minimum, not |map|), turn it into "
            "row = index // W and column = index % W, and look that pixel up in the mask.")
    return compare("check_pointing_game", pairs, atol=0, rtol=0, hint=hint)


# --------------------------------------------------------------------------- saliency chapter
def _saliency_reduction_cases():
    """Fixed gradients (N, C, H, W) for check_saliency_reduction, with H != W and mixed signs."""
    gen = torch.Generator().manual_seed(14)
    cases = [torch.randn(2, 3, 5, 7, generator=gen)]
    # hand-made: at (0, 0) the largest magnitude is negative (-3), at (0, 1) positive (2),
    # at (1, 0) all channels are negative, at (1, 1) all zero
    cases.append(torch.tensor([[[[-3.0, 2.0], [-1.0, 0.0]],
                                [[1.0, -0.5], [-2.0, 0.0]],
                                [[2.5, 1.5], [-0.5, 0.0]]]]))
    # one channel (a grey-scale model), mostly negative
    cases.append(torch.randn(3, 1, 4, 6, generator=gen) - 1.0)
    return cases


def check_saliency_reduction(fn) -> float:
    """Check ``fn(gradient)``, the saliency reduction of Simonyan et al. (2014).

    ``fn`` takes an input gradient (N, C, H, W) float tensor and must return the
    saliency map (N, H, W): for every pixel, the maximum over the channels of the
    gradient's absolute value, ``max_c |g[n, c, i, j]|``. It must not modify its
    argument. Three fixed cases; prints PASS/FAIL with the size of the error and
    raises ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_saliency_reduction(lambda g: g.abs().amax(dim=1))
        PASS check_saliency_reduction: max |error| 0 over 3 cases
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(gradient); got {type(fn).__name__}")
    hint = ("Take the absolute value first, then the maximum over the channel axis (dim=1): "
            "g.abs().amax(dim=1) has shape (N, H, W). Not the mean or sum over channels, not |max g| "
            "(a large negative gradient counts as much as a large positive one); torch.max(..., dim=1) "
            "returns (values, indices), so take .values.")
    pairs = []
    for i, g in enumerate(_saliency_reduction_cases()):
        arg = g.clone()
        got = fn(arg)
        if not torch.equal(arg, g):
            msg = (f"FAIL check_saliency_reduction: case {i}: your function changed its input gradient "
                   "(an in-place operation such as g.abs_()); compute on a copy (g.abs()).")
            print(msg)
            raise AssertionError(msg)
        if isinstance(got, (tuple, list)) and not isinstance(got, torch.Tensor):
            msg = (f"FAIL check_saliency_reduction: case {i}: got a {type(got).__name__}, expected one "
                   f"tensor (N, H, W). {hint}")
            print(msg)
            raise AssertionError(msg)
        pairs.append((got, g.abs().amax(dim=1)))
    return compare("check_saliency_reduction", pairs, atol=1e-6, rtol=1e-6, hint=hint)


# ----------------------------------------------------------------------------- class model visualisation
def _class_model_step_cases():
    """A small seeded CNN (built without touching the global RNG) and fixed (image, target, lr, l2) cases."""
    from collections import OrderedDict

    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(3, 4, 3, padding=1), relu=nn.ReLU(), pool=nn.MaxPool2d(2),
            flat=nn.Flatten(), fc=nn.Linear(4 * 4 * 4, 5))).eval()
    gen = torch.Generator().manual_seed(7)
    cases = []
    for target, lr, l2 in ((0, 0.5, 0.0), (3, 0.1, 0.05), (4, 1.0, 0.3), (1, 2.0, 0.01)):
        image = torch.randn(1, 3, 8, 8, generator=gen)
        cases.append((image, target, lr, l2))
    return model, cases


def _class_model_step_variants(model, image, target, lr, l2):
    """The reference update and the updates that common mistakes produce, name -> tensor."""
    x = image.clone().requires_grad_(True)
    logits = model(x)
    (g_score,) = torch.autograd.grad(logits[0, target], x)
    (g_prob,) = torch.autograd.grad(model(x).softmax(1)[0, target], x)
    x = x.detach()
    return {
        "reference": x + lr * (g_score - 2 * l2 * x),
        "the -2 * l2 * I term of the L2 penalty is missing": x + lr * g_score,
        "the gradient of l2 * ||I||^2 is 2 * l2 * I, not l2 * I": x + lr * (g_score - l2 * x),
        "that is gradient descent: ascent adds lr * gradient to the image": x - lr * (g_score - 2 * l2 * x),
        "use the pre-softmax score (logit) S_c, not the softmax probability": x + lr * (g_prob - 2 * l2 * x),
        "multiply the gradient by the step size lr": x + (g_score - 2 * l2 * x),
    }


def check_class_model_step(fn) -> float:
    """Check one class-model update step (Simonyan et al. 2014).

    ``fn(model, image, target, lr, l2)`` gets a model in eval mode, an image
    (1, C, H, W) in its input space, a class index, the step size and the L2
    weight, and must return the new image (1, C, H, W) after one step of gradient
    ascent on ``S_target(I) - l2 * ||I||^2``:
    ``I + lr * (dS_target/dI - 2 * l2 * I)``, where ``S`` is the pre-softmax score.

    Example:
        >>> def my_step(model, image, target, lr, l2):
        ...     image = image.clone().requires_grad_(True)
        ...     (grad,) = torch.autograd.grad(model(image)[0, target], image)
        ...     return (image + lr * (grad - 2 * l2 * image)).detach()
        >>> err = vizlib.checks.check_class_model_step(my_step)
        PASS check_class_model_step: max |error| 0 over 4 cases
    """
    name = "check_class_model_step"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, image, target, lr, l2); got {type(fn).__name__}")
    model, cases = _class_model_step_cases()
    pairs, hint = [], ""
    for i, (image, target, lr, l2) in enumerate(cases):
        variants = _class_model_step_variants(model, image, target, lr, l2)
        got = fn(model, image.clone(), target, lr, l2)
        if not isinstance(got, torch.Tensor):
            msg = (f"FAIL {name}: case {i}: fn returned {type(got).__name__}, expected the new image "
                   "as a tensor (1, C, H, W); return it (do not only change the image in place).")
            print(msg)
            raise AssertionError(msg)
        got = got.detach()
        expected = variants.pop("reference")
        if not hint and got.shape == expected.shape and not torch.allclose(got, expected, atol=1e-5, rtol=1e-4):
            hint = next((why for why, wrong in variants.items() if torch.allclose(got, wrong, atol=1e-5, rtol=1e-4)),
                        "compute the gradient of S_target(I) - l2 * ||I||^2 with respect to the image "
                        "and add lr times it to the image.")
            hint = "Hint: " + hint
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)


# ----------------------------------------------------------------------------- activations and style
def _receptive_field_cases():
    return [
        [(3, 1, 1, 1)],
        [(7, 2, 3, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)],
        [(11, 4, 2, 1), (3, 2, 0, 1), (5, 1, 2, 1), (3, 2, 0, 1), (3, 1, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1),
         (3, 2, 0, 1)],
        [(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4), (3, 1, 8, 8)],
        [(4, 2, 1, 1), (4, 2, 1, 1), (4, 2, 1, 1)],
    ]


def check_receptive_field(fn) -> float:
    """Check ``fn(layers) -> (size, jump)`` for chains of (kernel, stride, padding, dilation) layers.

    Cases: one 3x3 convolution, the course model up to conv4, AlexNet up to
    pool5, a stack of dilated convolutions and a stack of strided ones; the
    reference is :func:`vizlib.activations.receptive_field_of_stack`.
    """
    from .activations import receptive_field_of_stack

    cases = []
    for layers in _receptive_field_cases():
        rf = receptive_field_of_stack(layers)
        cases.append((fn([tuple(spec) for spec in layers]), (rf.size, rf.jump)))
    return compare("check_receptive_field", cases, atol=0, rtol=0,
                   hint="Start from size 1, jump 1; per layer the effective kernel is d*(k-1)+1, "
                        "size grows by (effective kernel - 1) * jump (the jump *before* this layer), "
                        "then jump is multiplied by the stride. Padding shifts the field, not its size.")


def check_gram_matrix(fn) -> float:
    """Check ``fn(features) -> (N, C, C)`` against :func:`vizlib.style.gram_matrix` on fixed inputs."""
    from .style import gram_matrix

    gen = torch.Generator().manual_seed(0)
    cases = []
    for shape in [(1, 3, 4, 4), (2, 5, 3, 7), (3, 1, 2, 2), (2, 4, 1, 9)]:
        features = torch.randn(shape, generator=gen)
        cases.append((fn(features.clone()), gram_matrix(features)))
    return compare("check_gram_matrix", cases, atol=1e-5, rtol=1e-4,
                   hint="For each image reshape F to (C, H*W), compute F @ F.T and divide by H*W; "
                        "keep the batch dimension: the result is (N, C, C).")


# --------------------------------------------------------------------------- filters chapter
def _fail(name: str, msg: str):
    text = f"FAIL {name}: {msg}"
    print(text)
    raise AssertionError(text)


def _real_result(name: str, got, hint: str):
    """Convert a student's result to a real float64 array, failing clearly on complex values."""
    if isinstance(got, torch.Tensor):
        if got.is_complex():
            _fail(name, f"the result is complex; {hint}")
        return got.detach().cpu().double().numpy()
    arr = np.asarray(got)
    if np.iscomplexobj(arr):
        _fail(name, f"the result is complex; {hint}")
    return arr.astype(np.float64)


#: (size, sigma, theta, wavelength, gamma, psi) cases of check_gabor: odd sizes, every parameter off its default.
_GABOR_CASES = ((11, 2.5, 0.0, 5.0, 1.0, 0.0), (15, 3.0, np.pi / 6, 6.0, 0.6, np.pi / 2),
                (9, 2.0, 2.0, 4.0, 1.5, 1.0), (13, 2.0, -0.7, 7.0, 0.8, np.pi))


def check_gabor(fn) -> float:
    """Check ``fn(size, sigma, theta, wavelength, gamma=1.0, psi=0.0)``, the real Gabor kernel.

    ``fn`` must return a (size, size) array or tensor equal to
    :func:`vizlib.filters.gabor_kernel`: ``exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) *
    cos(2 pi x' / wavelength + psi)`` with ``x' = x cos(theta) + y sin(theta)``,
    ``y' = -x sin(theta) + y cos(theta)``, x along columns and y along rows, measured from
    the middle pixel (all sizes here are odd). Four fixed cases, called positionally;
    prints PASS/FAIL and raises ``AssertionError`` on a wrong answer.

    Example:
        >>> def my_gabor(size, sigma, theta, wavelength, gamma=1.0, psi=0.0):
        ...     return vizlib.filters.gabor_kernel(size, sigma=sigma, theta=theta, wavelength=wavelength,
        ...                                        gamma=gamma, psi=psi)
        >>> err = vizlib.checks.check_gabor(my_gabor)
        PASS check_gabor: max |error| 0 over 4 cases
    """
    from .filters import gabor_kernel

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(size, sigma, theta, wavelength, gamma, psi); got {type(fn).__name__}")
    hint = ("x runs along columns and y along rows, both from the middle pixel (size - 1) / 2; "
            "x' = x cos(theta) + y sin(theta), y' = -x sin(theta) + y cos(theta); the envelope is "
            "exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) and the carrier cos(2 pi x' / wavelength + psi).")
    pairs = []
    for size, sigma, theta, lam, gamma, psi in _GABOR_CASES:
        got = _real_result("check_gabor", fn(size, sigma, theta, lam, gamma, psi), hint)
        pairs.append((got, gabor_kernel(size, sigma=sigma, theta=theta, wavelength=lam, gamma=gamma, psi=psi)))
    return compare("check_gabor", pairs, atol=1e-4, rtol=1e-4, hint=hint)


def _frequency_cases():
    gen = torch.Generator().manual_seed(4)
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    return [(lap, 16), (torch.randn(5, 5, generator=gen), 32), (torch.randn(4, 6, generator=gen), 15)]


def check_frequency_response(fn) -> float:
    """Check ``fn(kernel, size)``, a kernel's magnitude frequency response.

    ``fn`` takes a kernel (k_h, k_w) tensor and an FFT size and must return the (size,
    size) magnitude of the kernel's 2-D DFT after zero-padding it to size x size, with
    zero frequency moved to the centre (``fftshift``), as
    :func:`vizlib.filters.frequency_response`. Three fixed cases (one odd size, one
    non-square kernel); prints PASS/FAIL and raises ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_frequency_response(vizlib.filters.frequency_response)
        PASS check_frequency_response: max |error| 0 over 3 cases
    """
    from .filters import frequency_response

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(kernel, size); got {type(fn).__name__}")
    hint = ("zero-pad to size x size inside the FFT (scipy.fft.fft2(k, s=(size, size))), take the "
            "magnitude np.abs (not the power, not the real part), then fftshift so that zero frequency "
            "sits at index size // 2.")
    pairs = []
    for k, size in _frequency_cases():
        got = _real_result("check_frequency_response", fn(k.clone(), size), hint)
        pairs.append((got, frequency_response(k, size)))
    return compare("check_frequency_response", pairs, atol=1e-4, rtol=1e-4, hint=hint)


# --------------------------------------------------------------------------- vision chapter
def _cell_cases():
    """(stimuli (N, H, W), rfs (M, H, W)) with H != W, mixed-sign responses and one all-negative case."""
    from .filters import gabor_function

    gen = torch.Generator().manual_seed(11)
    cases = [(torch.rand(6, 12, 10, generator=gen), torch.randn(3, 12, 10, generator=gen))]
    y, x = np.mgrid[0:16, 0:14] - np.array([7.5, 6.5])[:, None, None]
    rfs = torch.from_numpy(np.stack([gabor_function(x - d, y, sigma=2.5, theta=0.3, wavelength=6.0)
                                     for d in (-2, 0, 2)])).float()
    bars = torch.zeros(5, 16, 14)
    for i, col in enumerate((3, 5, 7, 9, 11)):
        bars[i, :, col : col + 2] = 1.0
    cases.append((bars, rfs))
    stim = torch.rand(4, 6, 5, generator=gen)
    cases.append((stim, -torch.rand(2, 6, 5, generator=gen)))  # every response negative before rectification
    return cases


def check_simple_cell(fn) -> float:
    """Check ``fn(stimuli, rf)``, a model simple cell: rectified linear response.

    ``fn`` takes stimuli (N, H, W) and a receptive field rf (H, W) and must return (N,):
    ``max(0, sum over pixels of rf * stimulus)`` for every stimulus, as
    :func:`vizlib.vision.simple_cell_response`. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_simple_cell(vizlib.vision.simple_cell_response)
        PASS check_simple_cell: max |error| 0 over 8 cases
    """
    from .vision import simple_cell_response

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(stimuli, rf); got {type(fn).__name__}")
    hint = ("multiply each stimulus by the receptive field pixel by pixel, sum over both spatial axes "
            "(one number per stimulus), then rectify with max(0, .).")
    pairs = []
    for stimuli, rfs in _cell_cases():
        for rf in rfs:
            got = _real_result("check_simple_cell", fn(stimuli.clone(), rf.clone()), hint)
            pairs.append((got, simple_cell_response(stimuli, rf)))
    return compare("check_simple_cell", pairs, atol=1e-4, rtol=1e-4, hint=hint)


def check_complex_cell(fn) -> float:
    """Check ``fn(stimuli, rfs)``, a model complex cell: the maximum of simple cells.

    ``fn`` takes stimuli (N, H, W) and the receptive fields rfs (M, H, W) of M simple
    cells and must return (N,): ``max over m of max(0, sum(rfs[m] * stimulus))``, as
    :func:`vizlib.vision.complex_cell_response`. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> err = vizlib.checks.check_complex_cell(vizlib.vision.complex_cell_response)
        PASS check_complex_cell: max |error| 0 over 3 cases
    """
    from .vision import complex_cell_response

    if not callable(fn):
        raise TypeError(f"fn must be a function fn(stimuli, rfs); got {type(fn).__name__}")
    hint = ("compute every simple cell's rectified response max(0, sum(rf * s)) and take the maximum "
            "over the M cells (not the sum or the mean); the result has one value per stimulus.")
    pairs = []
    for stimuli, rfs in _cell_cases():
        got = _real_result("check_complex_cell", fn(stimuli.clone(), rfs.clone()), hint)
        pairs.append((got, complex_cell_response(stimuli, rfs)))
    return compare("check_complex_cell", pairs, atol=1e-4, rtol=1e-4, hint=hint)


# --------------------------------------------------------------------------- attribution checks
# (check_guided_relu_backward: deconvnet chapter; check_occlusion_loop: occlusion chapter)


def _attr_fail(name: str, msg: str):
    text = f"FAIL {name}: {msg}"
    print(text)
    raise AssertionError(text)


def _relu_rule_cases():
    """(forward_input, grad_output) pairs with exact zeros, negatives and positives in both."""
    g = torch.Generator().manual_seed(11)
    small = (torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]), torch.tensor([1.0, -1.0, 2.0, -3.0, 0.5, 0.0]))
    x = torch.randn(2, 3, 5, 5, generator=g)
    grad = torch.randn(2, 3, 5, 5, generator=g)
    x[0, 0, 0, :3] = 0.0
    grad[1, 2, 4, 2:] = 0.0
    return [small, (x, grad)]


def check_guided_relu_backward(fn) -> float:
    """Check ``fn(forward_input, grad_output, rule)``: what a ReLU sends back under each rule.

    For ``y = max(x, 0)`` with ``x = forward_input`` and ``g = grad_output`` (any shape),
    ``fn`` must return, like :func:`vizlib.attribution.relu_backward`:

    - ``rule="backprop"``: ``g * [x > 0]``;
    - ``rule="deconvnet"``: ``max(g, 0)`` (the forward pass is ignored);
    - ``rule="guided"``: ``max(g, 0) * [x > 0]``;

    without modifying its arguments. Prints PASS/FAIL and raises ``AssertionError`` on a
    wrong answer.

    Example:
        >>> err = vizlib.checks.check_guided_relu_backward(vizlib.attribution.relu_backward)
        PASS check_guided_relu_backward: max |error| 0 over 6 cases
    """
    from .attribution import RULES, relu_backward

    name = "check_guided_relu_backward"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(forward_input, grad_output, rule); got {type(fn).__name__}")
    hints = {
        "backprop": "backprop is the chain rule: keep g where the forward input x was > 0 (x = 0 counts as "
                    "inactive), zero elsewhere; the sign of g does not matter.",
        "deconvnet": "deconvnet rectifies the backward signal itself, max(g, 0), whatever x was in the forward "
                     "pass.",
        "guided": "guided backprop keeps g only where BOTH the forward input x > 0 AND g > 0 "
                  "(max(g, 0) * [x > 0]).",
    }
    pairs = []
    for rule in RULES:
        for x, g in _relu_rule_cases():
            x_in, g_in = x.clone(), g.clone()
            got = fn(x_in, g_in, rule)
            if not (torch.equal(x_in, x) and torch.equal(g_in, g)):
                _attr_fail(name, f"rule {rule!r}: your function modified its arguments in place; "
                                 "return a new tensor (no relu_, clamp_ or masked_fill_ on the inputs).")
            expected = relu_backward(x, g, rule)
            got_arr = _as_array(got)
            if got_arr.shape != tuple(expected.shape) or not np.allclose(got_arr, _as_array(expected), atol=1e-6):
                compare(name, [(got_arr, expected)], atol=1e-6, rtol=1e-6, hint=f"rule {rule!r}: {hints[rule]}")
            pairs.append((got_arr, expected))
    return compare(name, pairs, atol=1e-6, rtol=1e-6)


def _occlusion_check_model():
    """A small fixed CNN for 16x16 images with 5 classes (built the same way on every call)."""
    from torch import nn

    gen = torch.Generator().manual_seed(7)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.6 if p.ndim > 1 else 0.1))
    return model.eval()


#: (window, stride, target, image seed) cases of check_occlusion_loop; (16 - window) % stride == 0 in all.
_OCCLUSION_CASES = ((4, 4, 0, 1), (6, 2, 3, 2), (3, 1, 1, 3), (16, 1, 4, 4), (8, 8, 2, 5))


def check_occlusion_loop(fn) -> float:
    """Check ``fn(model, image, target, window, stride)``, the occlusion loop of Zeiler and Fergus.

    ``image`` is one normalised image (C, H, W); ``fn`` must return the (R, S) grid of the
    target class's softmax probability when the ``window`` x ``window`` square with top-left
    corner ``(i * stride, j * stride)`` is set to 0 on every channel, for
    ``i * stride <= H - window`` and ``j * stride <= W - window`` (every case here has
    ``(H - window) % stride == 0``), as ``vizlib.attribution.occlusion_grid(...).target_prob``.
    Five cases on a small fixed CNN with 16x16 images. Prints PASS/FAIL and raises
    ``AssertionError`` on a wrong answer.

    Example:
        >>> def my_occlusion_grid(model, image, target, window, stride):
        ...     grid = vizlib.attribution.occlusion_grid(model, image[None], target, window=window,
        ...                                              stride=stride, progress=False)
        ...     return grid.target_prob[0]
        >>> err = vizlib.checks.check_occlusion_loop(my_occlusion_grid)
        PASS check_occlusion_loop: max |error| 0 over 5 cases
    """
    from .attribution import occlusion_grid

    name = "check_occlusion_loop"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, image, target, window, stride); got {type(fn).__name__}")
    hint = ("occlude a fresh copy of the image for every position (rows first, then columns), set the "
            "window to 0 on all channels, run the model on a batch of one, and keep the softmax probability "
            "of the target class (not the logit, not the drop).")
    model = _occlusion_check_model()
    pairs = []
    for window, stride, target, seed in _OCCLUSION_CASES:
        image = torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(seed))
        original = image.clone()
        with torch.no_grad():
            got = fn(model, image, target, window, stride)
        if not torch.equal(image, original):
            _attr_fail(name, "your function modified the image in place; occlude a copy (image.clone()).")
        expected = occlusion_grid(model, original[None], target, window=window, stride=stride,
                                  progress=False).target_prob[0]
        pairs.append((got, expected))
    return compare(name, pairs, atol=1e-5, rtol=1e-4, hint=hint)
