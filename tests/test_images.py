import pytest
import torch

from vizlib import images


@pytest.mark.parametrize("name", list(images.PHOTOS))
def test_every_photo_loads_offline_as_rgb_in_unit_range(name):
    img = images.photo(name)
    assert img.ndim == 3 and img.shape[0] == 3 and min(img.shape[1:]) >= 100
    assert img.dtype == torch.float32 and 0 <= img.min() and img.max() <= 1
    assert img.std() > 0.02  # a real picture, not a blank


def test_photo_resizes_to_a_centre_square():
    full = images.photo("cat")
    small = images.photo("cat", size=32)
    assert small.shape == (3, 32, 32)
    # the mean colour survives cropping to the centre square and resizing
    h, w = full.shape[1:]
    s = min(h, w)
    centre = full[:, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    assert torch.allclose(small.mean((1, 2)), centre.mean((1, 2)), atol=0.02)


def test_examples_for_course_and_imagenet_models():
    x, y, m = images.examples("course", 4)
    assert x.shape == (4, 3, 64, 64) and y.shape == (4,) and m.shape == (4, 64, 64)
    x, y, m = images.examples("alexnet", 3)
    assert x.shape == (3, 3, 224, 224) and y is None and m is None


def test_bad_photo_arguments():
    with pytest.raises(ValueError, match="name must be one of .*cat"):
        images.photo("eagle")
    with pytest.raises(ValueError, match="size must be a positive int"):
        images.photo("cat", size=0)
    with pytest.raises(ValueError, match="n must be between 1 and"):
        images.examples("vgg16", 99)
