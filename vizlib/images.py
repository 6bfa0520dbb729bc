"""Photographs that installed packages ship (no download), and example batches.

``PHOTOS`` names every photograph; :func:`photo` loads one as a (3, H, W)
float tensor in [0, 1]. :func:`examples` returns a batch suited to a model:
toy-world images (with labels and masks) for the course models, photographs
resized to 224x224 for ImageNet models.

Example:
    >>> cat = photo("cat", size=224)      # scikit-image's Chelsea
    >>> cat.shape
    torch.Size([3, 224, 224])
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _skimage(name):
    def load():
        from skimage import data

        return getattr(data, name)()

    return load


def _sklearn(file):
    def load():
        from sklearn.datasets import load_sample_image

        return load_sample_image(file)

    return load


def _grace_hopper():
    import matplotlib.cbook
    import matplotlib.image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        return matplotlib.image.imread(f, format="jpg")


#: name -> (loader returning an HxWx3 or HxW array, source description)
PHOTOS = {
    "cat": (_skimage("chelsea"), "scikit-image: Chelsea the cat"),
    "astronaut": (_skimage("astronaut"), "scikit-image: Eileen Collins (NASA)"),
    "coffee": (_skimage("coffee"), "scikit-image: a cup of coffee"),
    "rocket": (_skimage("rocket"), "scikit-image: a Falcon 9 rocket (SpaceX)"),
    "grace_hopper": (_grace_hopper, "matplotlib: Rear Admiral Grace Hopper"),
    "china": (_sklearn("china.jpg"), "scikit-learn: a temple in China"),
    "flower": (_sklearn("flower.jpg"), "scikit-learn: a flower"),
    "brick": (_skimage("brick"), "scikit-image texture: brick wall (grey)"),
    "grass": (_skimage("grass"), "scikit-image texture: grass (grey)"),
    "gravel": (_skimage("gravel"), "scikit-image texture: gravel (grey)"),
}


def photo(name: str, size: int | None = None) -> torch.Tensor:
    """Load photograph ``name`` as (3, H, W) float32 in [0, 1].

    Args:
        name: a key of :data:`PHOTOS`.
        size: if given, centre-crop to a square and resize to ``size`` x ``size``.
    """
    if name not in PHOTOS:
        raise ValueError(f"name must be one of {', '.join(PHOTOS)}; got {name!r}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"size must be a positive int or None; got {size!r}")
    arr = np.asarray(PHOTOS[name][0]())
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    arr = arr[..., :3]
    img = torch.from_numpy(arr.astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0))
    img = img.permute(2, 0, 1).contiguous()
    if size is not None:
        h, w = img.shape[1:]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        img = img[:, top : top + s, left : left + s]
        img = F.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
        img = img.clamp(0, 1)
    return img


#: Photographs used as the example batch in ImageNet mode, in order.
EXAMPLE_PHOTOS = ("cat", "coffee", "grace_hopper", "flower", "rocket", "china", "astronaut")


def examples(model_name: str = "course", n: int = 8, seed: int = 0):
    """A batch of example images for a model, in [0, 1].

    Returns ``(images, labels, masks)``: for course models, ``toy_world``
    images (n, 3, 64, 64) of the model's variant with labels and masks; for
    ImageNet models, the first ``n`` of :data:`EXAMPLE_PHOTOS` at 224x224 with
    ``labels`` and ``masks`` set to None (photographs have no ground truth here).
    """
    from .data import toy_world
    from .models import COURSE_MODELS, IMAGENET_SIZE, is_course

    if is_course(model_name):
        return toy_world(n, seed=seed, variant=COURSE_MODELS[model_name])
    if not 1 <= n <= len(EXAMPLE_PHOTOS):
        raise ValueError(f"n must be between 1 and {len(EXAMPLE_PHOTOS)} for ImageNet models; got {n}")
    images = torch.stack([photo(p, IMAGENET_SIZE) for p in EXAMPLE_PHOTOS[:n]])
    return images, None, None
