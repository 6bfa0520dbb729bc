"""Models: the course CNN, one loader for it and torchvision's ImageNet models,
class names, and input normalisation (the only place its constants live).

Example:
    >>> model = load_model("course")            # shipped weights, no network; on the GPU if there is one
    >>> x = normalize(images, "course").to(default_device())  # images: (8, 3, 64, 64) in [0, 1]
    >>> model(x).softmax(1).shape               # one probability per class
    torch.Size([8, 8])
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from . import _validate
from .data import IMAGE_SIZE, TOY_CLASSES

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = WEIGHTS_DIR / "manifest.json"

#: The shipped course models: name -> toy-world variant it was trained on.
COURSE_MODELS = {"course": None, "course-shortcut": "shortcut", "course-position": "position",
                 "course-pose": "pose", "course-b": None}
#: torchvision ImageNet classifiers that ``load_model`` accepts.
IMAGENET_MODELS = (
    "alexnet", "vgg11", "vgg16", "vgg19", "resnet18", "resnet50", "densenet121",
    "squeezenet1_1", "googlenet", "mobilenet_v2",
)

# Normalisation statistics: (mean, std) per channel, for images in [0, 1].
_COURSE_STATS = ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
_IMAGENET_STATS = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
IMAGENET_SIZE = 224


class CourseNet(nn.Module):
    """The course CNN: conv-ReLU-max-pool blocks and a linear classifier.

    Input (N, 3, 64, 64), normalised with ``normalize(images, "course")``;
    output (N, 8) logits. conv1 has 32 filters of ``conv1_kernel`` x ``conv1_kernel``
    (11x11 in the shipped ``course`` model, 7x7 in its two variants) with stride 2, then
    three 3x3 blocks with 64, 128 and 128 channels; 249k parameters (7x7) or 256k (11x11). Layers are named
    ``features.conv1``, ``features.relu1``, ``features.pool1``, ... and
    ``classifier.fc``.
    """

    def __init__(self, num_classes: int = len(TOY_CLASSES), conv1_kernel: int = 7):
        super().__init__()
        k = conv1_kernel
        layers = OrderedDict(
            conv1=nn.Conv2d(3, 32, k, stride=2, padding=k // 2), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2)
        )
        channels = (32, 64, 128, 128)
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:]), start=2):
            layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, 3, padding=1)
            layers[f"relu{i}"] = nn.ReLU()
            layers[f"pool{i}"] = nn.MaxPool2d(2)
        self.features = nn.Sequential(layers)
        side = IMAGE_SIZE // 32
        self.classifier = nn.Sequential(
            OrderedDict(flatten=nn.Flatten(), fc=nn.Linear(channels[-1] * side * side, num_classes))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def model_names() -> tuple[str, ...]:
    """All names ``load_model`` accepts."""
    return tuple(COURSE_MODELS) + IMAGENET_MODELS


def _check_name(name) -> str:
    if name not in model_names():
        raise ValueError(f"name must be one of {', '.join(model_names())}; got {name!r}")
    return name


def is_course(name: str) -> bool:
    """True for the shipped toy-world models, False for ImageNet models."""
    return _check_name(name) in COURSE_MODELS


def default_device() -> torch.device:
    """CUDA when ``torch.cuda.is_available()``, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: Path | None = None) -> dict:
    """The weights' records (file, sha256, accuracy, training config) in ``folder``: by default
    the shipped ones, or a folder written by ``python -m vizlib.train --out``."""
    manifest = MANIFEST if folder is None else Path(folder) / MANIFEST.name
    return json.loads(manifest.read_text()) if manifest.exists() else {}


def _load_course_weights(name: str, folder: Path | None = None) -> dict:
    """State dict of ``name`` from ``folder`` (default: the shipped weights), checked against the
    sha256 its manifest records."""
    folder = WEIGHTS_DIR if folder is None else Path(folder)
    record = read_manifest(folder).get(name)
    hint = f"run `python -m vizlib.train --model {name}` to retrain it, or restore vizlib/weights/ with `git checkout`"
    if record is None:
        raise FileNotFoundError(f"no weights recorded for {name!r} in {folder / MANIFEST.name}; {hint}")
    path = folder / record["file"]
    if not path.exists():
        raise FileNotFoundError(f"weights file {path} is missing; {hint}")
    got = sha256(path)
    if got != record["sha256"]:
        raise RuntimeError(
            f"weights file {path} has sha256 {got}, expected {record['sha256']} "
            f"(truncated or modified); {hint}"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in state.items()}


def load_model(name: str = "course", *, weights="default", device=None) -> nn.Module:
    """Load a model in eval mode.

    Args:
        name: ``"course"``, ``"course-shortcut"``, ``"course-position"``, ``"course-pose"``,
            ``"course-b"`` (shipped, offline) or a torchvision ImageNet name such as ``"alexnet"``,
            ``"vgg16"``, ``"resnet18"`` (see :func:`model_names`).
        weights: ``"default"`` for the trained weights (for ImageNet models,
            torchvision's, downloaded once into torch's cache) or ``None`` for
            random weights, which need no network.
        device: where to put the model; default :func:`default_device`.

    Example:
        >>> model = load_model("alexnet", weights=None, device="cpu")   # architecture only: no download
        >>> type(model).__name__, model.training
        ('AlexNet', False)
    """
    _check_name(name)
    if weights not in ("default", None):
        raise ValueError(f"weights must be 'default' or None; got {weights!r}")
    device = default_device() if device is None else torch.device(device)
    if name in COURSE_MODELS:
        record = read_manifest().get(name, {})
        model = CourseNet(conv1_kernel=record.get("config", {}).get("conv1_kernel", 7))
        if weights == "default":
            model.load_state_dict(_load_course_weights(name))
    else:
        import torchvision

        if weights is None:
            model = torchvision.models.get_model(name, weights=None)
        else:
            enum = torchvision.models.get_model_weights(name).DEFAULT
            try:
                model = torchvision.models.get_model(name, weights=enum)
            except (OSError, RuntimeError) as err:  # URLError is an OSError
                raise RuntimeError(
                    f"could not download torchvision's ImageNet weights for {name!r} ({err}). "
                    "Connect to the internet once (they are cached in torch's hub folder), "
                    "use weights=None for random weights, or use the offline 'course' model."
                ) from err
    return model.eval().to(device)


def class_names(name: str = "course") -> list[str]:
    """Class names of a model: the toy-world classes or ImageNet's 1,000 (offline)."""
    if is_course(name):
        return list(TOY_CLASSES)
    import torchvision

    return list(torchvision.models.get_model_weights(name).DEFAULT.meta["categories"])


def input_size(name: str = "course") -> int:
    """Side of the square images a model expects: 64 for course models, 224 for ImageNet."""
    return IMAGE_SIZE if is_course(name) else IMAGENET_SIZE


def _stats(name: str, like: torch.Tensor):
    mean, std = _COURSE_STATS if is_course(name) else _IMAGENET_STATS
    as_t = lambda v: torch.tensor(v, dtype=like.dtype, device=like.device).view(1, 3, 1, 1)  # noqa: E731
    return as_t(mean), as_t(std)


def _check_images(images, arg: str = "images") -> None:
    _validate.image_batch(images, arg, channels=3, space="[0, 1]", then="")


def normalize(images: torch.Tensor, name: str = "course") -> torch.Tensor:
    """Map images (N, 3, H, W) float in [0, 1] to model ``name``'s input space."""
    _check_images(images)
    lo, hi = images.min().item(), images.max().item()
    if lo < 0 or hi > 1:
        raise ValueError(
            f"images must lie in [0, 1]; got values in [{lo:.3g}, {hi:.3g}] "
            "(already normalised? uint8 in 0-255?)"
        )
    mean, std = _stats(name, images)
    return (images - mean) / std


def denormalize(x: torch.Tensor, name: str = "course") -> torch.Tensor:
    """Inverse of :func:`normalize`; the result is not clipped to [0, 1]."""
    _check_images(x, "x")
    mean, std = _stats(name, x)
    return x * std + mean
