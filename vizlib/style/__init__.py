"""Neural style: content reconstruction, Gram-matrix textures and style transfer.

Gatys, Ecker and Bethge describe an image to a CNN in two ways: its *content*
is the feature maps of one layer (where what is), its *style* the Gram matrices
of several layers (which features occur together, wherever they are). Each
function here optimises the pixels of an image, starting from noise or from the
content image, until its description matches a target:

- :func:`reconstruct`: match one layer's feature maps (Mahendran and Vedaldi, 2015);
- :func:`texture`: match the Gram matrices of several layers (Gatys et al., 2015);
- :func:`transfer`: match the content of one image and the style of another (Gatys et al., 2016).

Images are (N, 3, H, W) in [0, 1]; ``preprocess`` maps them to the model's input
(a model name for :func:`vizlib.normalize`, or a callable). The optimiser is Adam
on the pixels, which are clipped to [0, 1] after every step. The model runs in
eval mode with ``requires_grad`` off; both are restored afterwards, also on error.

Example:
    >>> content, style = images[:1], brushstrokes(64, seed=1)[None]     # (1, 3, 64, 64) each
    >>> image, history = transfer(model, content, style, content_layer="features.relu3",
    ...                           style_layers=["features.relu1", "features.relu2"],
    ...                           steps=5, progress=False)             # steps=200 for a real picture
    >>> image.shape, len(history["total"])                            # one loss value per step
    (torch.Size([1, 3, 64, 64]), 5)

The package has two modules: ``losses`` and ``transfer`` (the optimisation loops).
"""
from __future__ import annotations

from .losses import StyleResult, content_loss, gram_matrix, style_loss, total_variation
from .transfer import brushstrokes, reconstruct, texture, transfer


__all__ = [
    "StyleResult",
    "brushstrokes",
    "content_loss",
    "gram_matrix",
    "reconstruct",
    "style_loss",
    "texture",
    "total_variation",
    "transfer",
]
