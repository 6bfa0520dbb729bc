"""vizlib: the helper package of the CNN visualisation book.

One concept per module; the names most chapters use are re-exported here.
"""
from . import data, models
from .data import TOY_CLASSES, toy_world
from .models import class_names, default_device, denormalize, input_size, is_course, load_model, normalize
from .seed import set_seed

__version__ = "0.1.0"

__all__ = [
    "TOY_CLASSES", "class_names", "data", "default_device", "denormalize", "input_size",
    "is_course", "load_model", "models", "normalize", "set_seed", "toy_world",
]
