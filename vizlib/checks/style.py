"""Self-checks of the style chapter: the Gram matrix and the style-transfer loop."""
from __future__ import annotations

import numpy as np
import torch

from ._common import compare, _fail, _real_result


__all__ = ["check_gram_matrix", "check_style_transfer"]


def check_gram_matrix(fn) -> float:
    """Check ``fn(features) -> (N, C, C)`` against :func:`vizlib.style.gram_matrix` on fixed inputs."""
    from ..style import gram_matrix

    gen = torch.Generator().manual_seed(0)
    cases = []
    for shape in [(1, 3, 4, 4), (2, 5, 3, 7), (3, 1, 2, 2), (2, 4, 1, 9)]:
        features = torch.randn(shape, generator=gen)
        cases.append((fn(features.clone()), gram_matrix(features)))
    return compare("check_gram_matrix", cases, atol=1e-5, rtol=1e-4,
                   hint="For each image reshape F to (C, H*W), compute F @ F.T and divide by H*W; "
                        "keep the batch dimension: the result is (N, C, C).")


# ----------------------------------------------------------------------------- the transfer loop
def _style_check_model():
    """A small fixed CNN (layers "0" to "5": conv, ReLU, strided conv, ReLU, conv, ReLU),
    built the same way on every call."""
    from torch import nn

    gen = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(6, 8, 3, padding=1), nn.ReLU())
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.5 if p.ndim > 1 else 0.1))
    return model.eval()


def _style_check_preprocess(image):
    """The check's "normalisation": a fixed affine map per channel."""
    mean = torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
    return (image - mean) / 0.25


#: the check's settings: content layer, style layers with weights, style weight, steps, lr
_STYLE_CASE = dict(content_layer="2", style_layers={"0": 0.5, "2": 0.3, "4": 0.2},
                   style_weight=10.0, steps=5, lr=0.05)


def _transfer_variant(model, content, style, *, content_layer, style_layers, style_weight, steps,
                      lr, gram_norm=True, content_from_style=False, normalise=True, clamp=True,
                      equal_weights=False, weight_on_content=False, fresh_optimiser=False,
                      zero_grad=True, init="content"):
    """The transfer loop with one typical mistake switched on (written independently of
    vizlib.style: own Gram matrix, own losses, own feature extraction)."""
    names = [content_layer] + [n for n in style_layers if n != content_layer]
    modules = dict(model.named_modules())
    last = max(int(n) for n in names)

    def features(image):
        out, h = {}, _style_check_preprocess(image) if normalise else image
        for i in range(last + 1):
            h = modules[str(i)](h)
            if str(i) in names:
                out[str(i)] = h
        return out

    def gram(f):
        n, c, hh, ww = f.shape
        g = torch.einsum("nchw,ndhw->ncd", f, f)
        return g / (hh * ww) if gram_norm else g

    weights = {n: 1.0 / len(style_layers) for n in style_layers} if equal_weights else style_layers
    with torch.no_grad():
        p = features(style if content_from_style else content)[content_layer]
        a = {n: gram(f) for n, f in features(style).items() if n in style_layers}
    gen = torch.Generator().manual_seed(0)
    start = content if init == "content" else torch.rand(content.shape, generator=gen)
    image = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([image], lr=lr)
    history = []
    for _ in range(steps):
        if fresh_optimiser:
            optimiser = torch.optim.Adam([image], lr=lr)
        if zero_grad:
            optimiser.zero_grad()
        f = features(image)
        c_loss = ((f[content_layer] - p) ** 2).mean() / (p ** 2).mean()
        s_loss = sum(w * ((gram(f[n]) - a[n]) ** 2).mean() / (a[n] ** 2).mean()
                     for n, w in weights.items())
        total = style_weight * c_loss + s_loss if weight_on_content else c_loss + style_weight * s_loss
        total.backward()
        optimiser.step()
        if clamp:
            with torch.no_grad():
                image.clamp_(0, 1)
        history.append(total.item())
    return image.detach(), np.asarray(history)


#: (variant switches, what the mistake is), in the order they are tried.
_TRANSFER_MISTAKES = (
    ({"gram_norm": False}, "your Gram matrices are not divided by the number of positions H*W "
                           "(G = F F^T / (H W))."),
    ({"normalise": False}, "you fed the raw [0, 1] image to the network; apply preprocess to every image "
                           "(content, style and the image being optimised) before the model."),
    ({"clamp": False}, "you do not clip the pixels; after every optimiser step clamp the image to [0, 1] "
                       "(with torch.no_grad(): image.clamp_(0, 1))."),
    ({"equal_weights": True}, "you ignored the layer weights of style_layers; weight layer l's term by "
                              "style_layers[l]."),
    ({"weight_on_content": True}, "style_weight multiplies the content loss; the total is "
                                  "content + style_weight * style."),
    ({"fresh_optimiser": True}, "you build a new optimiser at every step, which resets Adam's moments; "
                                "build it once, before the loop."),
    ({"zero_grad": False}, "the gradients accumulate from step to step; call optimiser.zero_grad() at "
                           "the start of every step."),
)


def check_style_transfer(fn) -> float:
    """Check ``fn(model, content, style, *, content_layer, style_layers, style_weight, steps, lr,
    preprocess)``, the style-transfer loop of Gatys et al.

    ``content`` and ``style`` are (1, 3, H, W) images in [0, 1], ``style_layers`` a dict
    ``{layer: weight}`` and ``preprocess`` maps an image to the model's input. ``fn`` must start
    from a copy of ``content``, and run ``steps`` steps of ``torch.optim.Adam`` (built once, with
    ``lr``) on the image's pixels, clipping them to [0, 1] after every step, with the loss

        L = ||F(x) - F(content)||^2 / ||F(content)||^2
            + style_weight * sum_l w_l ||G_l(x) - G_l(style)||^2 / ||G_l(style)||^2

    (means over all entries; ``F`` the features at ``content_layer``, ``G_l`` the Gram matrices of
    Eq. ``eq-style-gram``, divided by H*W), and return ``(image, losses)``: the final image and the
    total loss of every step, measured before that step's update, as
    :func:`vizlib.style.transfer` with ``tv_weight=0`` computes them. Runs 5 steps on a small fixed
    CNN with an 8x8 content and a 12x12 style image; names the typical mistake (Gram not normalised, content taken from the
    style image, the network optimised instead of the image, the image not clipped or not
    normalised, layer weights ignored, an optimiser rebuilt every step, ...).

    Example:
        >>> from vizlib.style import transfer
        >>> def my_style_transfer(model, content, style, *, content_layer, style_layers,
        ...                       style_weight, steps, lr, preprocess):
        ...     image, history = transfer(model, content, style, content_layer=content_layer,
        ...                               style_layers=style_layers, style_weight=style_weight,
        ...                               steps=steps, lr=lr, preprocess=preprocess, progress=False)
        ...     return image, history["total"]
        >>> err = vizlib.checks.check_style_transfer(my_style_transfer)
        PASS check_style_transfer: max |error| 0 over 2 cases
    """
    from ..style import transfer

    name = "check_style_transfer"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, content, style, *, content_layer, style_layers, "
                        f"style_weight, steps, lr, preprocess); got {type(fn).__name__}")
    model = _style_check_model()
    content = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    style = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(2))  # another size
    inputs = (content.clone(), style.clone())
    weights = [p.detach().clone() for p in model.parameters()]
    case = dict(_STYLE_CASE, style_layers=dict(_STYLE_CASE["style_layers"]))
    try:
        out = fn(model, content, style, preprocess=_style_check_preprocess, **case)
    except RuntimeError as err:
        _fail(name, f"your function raised RuntimeError ({str(err).splitlines()[0][:120]}). The style "
                    "image here is 12x12 and the content image 8x8: did you take the content target from "
                    "the style image? Take it from the content image; Gram matrices are C x C whatever "
                    "the image size.")
    if not torch.equal(content, inputs[0]) or not torch.equal(style, inputs[1]):
        _fail(name, "your function changed the content or the style image in place; optimise a copy "
                    "(content.clone().requires_grad_()).")
    if not all(torch.equal(p.detach(), w) for p, w in zip(model.parameters(), weights)):
        _fail(name, "your function changed the network's weights: optimise the image, not the network "
                    "(torch.optim.Adam([image], lr=lr)).")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        _fail(name, f"return (image, losses); got {type(out).__name__}")
    image, history = out
    if not isinstance(image, torch.Tensor) or tuple(image.shape) != tuple(content.shape):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        _fail(name, f"the image must be a tensor of the content's shape {tuple(content.shape)}; got {shape}")
    image = image.detach()
    history = _real_result(name, [float(v) for v in history], "return the total loss of each step")
    steps = case["steps"]
    if history.shape != (steps,):
        _fail(name, f"losses must hold one total loss per step ({steps}); got {history.shape[0]} values")
    if torch.equal(image, content):
        _fail(name, "the image never changed: optimise the image's pixels (a copy of the content "
                    "that requires grad, torch.optim.Adam([image], lr=lr)), not the network.")
    if image.min() < 0 or image.max() > 1:
        _fail(name, "the image has pixels outside [0, 1]: clamp it to [0, 1] after every step "
                    "(with torch.no_grad(): image.clamp_(0, 1)).")
    ref_image, ref_hist = transfer(model, content, style, preprocess=_style_check_preprocess,
                                   content_weight=1.0, tv_weight=0.0, init="content",
                                   progress=False, **case)
    ref_hist = ref_hist["total"]
    ok = (np.allclose(history, ref_hist, atol=1e-5, rtol=1e-4)
          and torch.allclose(image, ref_image, atol=1e-4))
    if not ok:
        hint0 = ""
        probe = fn(model, content.clone(), style.clone(), preprocess=_style_check_preprocess,
                   **dict(case, style_weight=0.0, steps=1))
        if abs(float(probe[1][0])) > 1e-6:
            hint0 = (" With style_weight=0 your first loss is not 0: start from a copy of the content "
                     "image (its content loss is 0), not from noise.")
        for kwargs, why in _TRANSFER_MISTAKES:
            v_image, v_hist = _transfer_variant(model, content, style, **case, **kwargs)
            if np.allclose(history, v_hist, atol=1e-5, rtol=1e-4) and torch.allclose(image, v_image, atol=1e-4):
                _fail(name, why)
        diverge = int(np.argmax(~np.isclose(history, ref_hist, atol=1e-5, rtol=1e-4))) \
            if not np.allclose(history, ref_hist, atol=1e-5, rtol=1e-4) else None
        where = (f"your losses differ from step {diverge} on (yours {history[diverge]:.5g}, expected "
                 f"{ref_hist[diverge]:.5g})" if diverge is not None else "your losses match, your image does not")
        _fail(name, f"{where}.{hint0} Loss: relative content error at content_layer + style_weight * "
                    "weighted relative Gram errors; Adam on the image, clamp to [0, 1] after each step.")
    return compare(name, [(history, ref_hist), (image, ref_image)], atol=1e-4, rtol=1e-4)
