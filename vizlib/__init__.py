"""vizlib: the helper package of the CNN visualisation book.

One concept per module (``vizlib.data``, ``vizlib.models``, ``vizlib.filters``,
``vizlib.attribution``, ...); each is importable as an attribute of the package
(``vizlib.filters.gabor_kernel``), and the names most chapters use are
re-exported here.
"""
from __future__ import annotations

import importlib

import tqdm as _tqdm

from . import data, models
from .data import TOY_CLASSES, toy_world
from .models import class_names, default_device, denormalize, input_size, is_course, load_model, normalize
from .seed import set_seed

__version__ = "0.1.0"

# tqdm's monitor thread is not needed for the book's short loops; notebook runs under nbclient
# were seen to stall on an idle kernel with it running, so it is switched off.
_tqdm.tqdm.monitor_interval = 0

_SUBMODULES = (
    "activations", "attribution", "checks", "dissection", "filters", "hooks", "images", "metrics",
    "plotting", "segmentation", "student", "style", "synthesis", "train", "vision",
)


def __getattr__(name: str):
    """Import submodules on first use, so ``vizlib.filters`` works after ``import vizlib``."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'vizlib' has no attribute {name!r}")


__all__ = [
    "TOY_CLASSES", "class_names", "data", "default_device", "denormalize", "input_size",
    "is_course", "load_model", "models", "normalize", "set_seed", "toy_world", *_SUBMODULES,
]
