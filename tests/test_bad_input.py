"""Hardening (issue 10): bad input raises ValueError/TypeError naming the argument and what
was expected. One row per case: (description, call, exception, message fragment)."""
import pytest
import torch

import vizlib
from vizlib import activations, attribution, data, filters, images, metrics, segmentation, style, synthesis

MODEL = vizlib.load_model("course", device="cpu")
X01 = vizlib.toy_world(2, seed=0)[0]
X = vizlib.normalize(X01, "course")
MAPS = torch.rand(2, 64, 64)
MASKS = torch.zeros(2, 64, 64, dtype=torch.bool)
MASKS[:, 20:30, 20:30] = True

CASES = [
    # images and normalisation
    ("single image without batch dim", lambda: vizlib.normalize(X01[0], "course"), ValueError, r"images must have shape \(N, 3, H, W\)"),
    ("grayscale image", lambda: vizlib.normalize(X01[:, :1], "course"), ValueError, r"images must have shape \(N, 3, H, W\)"),
    ("RGBA image", lambda: vizlib.normalize(torch.rand(1, 4, 8, 8), "course"), ValueError, r"images must have shape \(N, 3, H, W\)"),
    ("uint8 image in 0-255", lambda: vizlib.normalize((X01 * 255).to(torch.uint8), "course"), TypeError, "floating point"),
    ("already normalised", lambda: vizlib.normalize(X, "course"), ValueError, r"must lie in \[0, 1\].*already normalised"),
    ("NaN image", lambda: vizlib.normalize(torch.full((1, 3, 8, 8), float("nan")), "course"), ValueError, "finite"),
    ("empty batch to normalize", lambda: vizlib.normalize(torch.rand(0, 3, 8, 8), "course"), ValueError, "empty"),
    ("unknown model name", lambda: vizlib.load_model("lenet5"), ValueError, "name must be one of"),
    ("unknown photo", lambda: images.photo("eagle"), ValueError, "name must be one of"),
    ("toy_world n < 1", lambda: vizlib.toy_world(0), ValueError, "n must be >= 1"),
    ("toy_world bad seed", lambda: vizlib.toy_world(2, seed=1.5), TypeError, "seed must be an int"),
    ("toy_world bad variant", lambda: vizlib.toy_world(2, variant="noise"), ValueError, "variant must be one of"),
    # attribution
    ("attribution: no batch dim", lambda: attribution.gradient(MODEL, X[0], 1), ValueError, r"x must have shape \(N, C, H, W\); got \(3, 64, 64\).*batch dimension"),
    ("attribution: grayscale", lambda: attribution.saliency(MODEL, X[:, :1], 1), ValueError, "x must have 3 channels"),
    ("attribution: RGBA", lambda: attribution.guided_backprop(MODEL, torch.zeros(1, 4, 64, 64), 1), ValueError, "x must have 3 channels"),
    ("attribution: uint8", lambda: attribution.gradient(MODEL, (X01 * 255).to(torch.uint8), 1), TypeError, "x must be a floating.*divide by 255"),
    ("attribution: NaN input", lambda: attribution.gradient(MODEL, X * float("nan"), 1), ValueError, "x must be finite"),
    ("attribution: infinite input", lambda: attribution.deconvnet(MODEL, X * float("inf"), 1), ValueError, "x must be finite"),
    ("attribution: empty batch", lambda: attribution.gradient(MODEL, X[:0], 1), ValueError, "x must hold at least one"),
    ("attribution: other device", lambda: attribution.gradient(MODEL, X.to("meta"), 1), ValueError, "x is on meta.*model is on cpu"),
    ("attribution: target out of range", lambda: attribution.gradient(MODEL, X, 8), ValueError, r"target.*\[0, 7\]"),
    ("attribution: negative target", lambda: attribution.saliency(MODEL, X, -1), ValueError, r"target.*\[0, 7\]"),
    ("attribution: target wrong length", lambda: attribution.gradient(MODEL, X, torch.tensor([1, 2, 3])), ValueError, r"target.*length 2|target.*\(2,\)"),
    ("attribution: target wrong type", lambda: attribution.gradient(MODEL, X, "cat"), TypeError, "target must be"),
    ("occlusion: window 0", lambda: attribution.occlusion(MODEL, X, 1, window=0, progress=False), ValueError, "window must be"),
    ("occlusion: window larger than image", lambda: attribution.occlusion(MODEL, X, 1, window=65, progress=False), ValueError, "window.*image"),
    ("occlusion: stride 0", lambda: attribution.occlusion(MODEL, X, 1, stride=0, progress=False), ValueError, "stride must be"),
    ("occlusion: negative stride", lambda: attribution.occlusion_grid(MODEL, X, 1, stride=-2, progress=False), ValueError, "stride must be"),
    ("grad_cam: unknown layer", lambda: attribution.grad_cam(MODEL, X, 1, layer="features.conv9"), ValueError, "features.conv9"),
    ("not a model", lambda: attribution.gradient("alexnet", X, 1), TypeError, "model must be"),
    ("model without logits", lambda: attribution.gradient(MODEL.features, X, 1), ValueError, r"\(N, classes\)"),
    # activations and style
    ("capture: unknown layer", lambda: activations.get_activations(MODEL, X, "features.conv9"), ValueError, "features.conv9"),
    ("capture: bad layer type", lambda: activations.get_activations(MODEL, X, 3), TypeError, "layer"),
    ("style: non-positive steps", lambda: style.reconstruct(MODEL, "features.conv2", X01[:1], steps=0, progress=False), ValueError, "steps must be"),
    ("style: unknown layer", lambda: style.texture(MODEL, X01[:1], style_layers=["features.conv9"], steps=1, progress=False), ValueError, "features.conv9"),
    ("gram_matrix: wrong rank", lambda: style.gram_matrix(torch.rand(8, 8)), ValueError, r"features must have shape \(N, C, H, W\)"),
    # synthesis
    ("class_model: target out of range", lambda: synthesis.class_model(MODEL, 8, steps=1, progress=False), ValueError, r"target.*\[0, 7\]"),
    ("class_model: zero steps", lambda: synthesis.class_model(MODEL, 1, steps=0, progress=False), ValueError, "steps must be"),
    ("class_model: negative steps", lambda: synthesis.class_model(MODEL, 1, steps=-5, progress=False), ValueError, "steps must be"),
    ("channel_model: unknown layer", lambda: synthesis.channel_model(MODEL, "features.conv9", 0, steps=1, progress=False), ValueError, "features.conv9"),
    ("channel_model: channel out of range", lambda: synthesis.channel_model(MODEL, "features.conv1", 99, steps=1, progress=False), ValueError, "channel"),
    # metrics and segmentation
    ("pointing_game: shape mismatch", lambda: metrics.pointing_game(MAPS, MASKS[:, :32]), ValueError, "masks"),
    ("pointing_game: empty mask", lambda: metrics.pointing_game(MAPS, torch.zeros(2, 64, 64, dtype=torch.bool)), ValueError, "mask"),
    ("deletion_curve: zero steps", lambda: metrics.deletion_curve(MODEL, X, 1, MAPS, n_steps=0), ValueError, "n_steps must be"),
    ("randomize_layers: unknown layer", lambda: metrics.randomize_layers(MODEL, "features.conv9"), ValueError, "features.conv9"),
    ("segmentation: bad quantile", lambda: segmentation.saliency_segmentation(MAPS[0], X01[0], fg_quantile=1.5), ValueError, "fg_quantile"),
    # filters
    ("gabor_kernel: size 0", lambda: filters.gabor_kernel(0, sigma=2, theta=0, wavelength=4), ValueError, "size must be"),
    ("gabor_kernel: negative sigma", lambda: filters.gabor_kernel(7, sigma=-1, theta=0, wavelength=4), ValueError, "sigma must be"),
    ("kernel: unknown name", lambda: filters.kernel("emboss9"), ValueError, "name must be one of|unknown kernel"),
    ("add_mark: corner outside", lambda: data.add_mark(X01, corner=(62, 62)), ValueError, "corner must keep the mark inside"),
]


@pytest.mark.parametrize("description, call, exc, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(description, call, exc, fragment):
    with pytest.raises(exc, match=fragment):
        call()
