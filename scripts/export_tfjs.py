"""Export the shipped course model for the website's live panels (TensorFlow.js, issue 15).

    python scripts/export_tfjs.py [--out _build/cnnviz_static]

The book's build runs this through ``scripts/cnnviz_sphinx.py``, so the page always carries the
weights of the shipped ``vizlib/weights/course.pt``. It writes, under ``--out`` (a folder that the
build adds to ``html_static_path``, so its files land in ``_build/html/_static/``):

- ``cnnviz/course-weights.js``: ``window.cnnvizWeights = "<base64>"``, one binary blob: a
  little-endian uint32 header length, the header (JSON, UTF-8, padded with spaces to a multiple
  of 4 bytes), then every tensor as little-endian float32, one after the other. The header names
  the source file and its sha256 (the manifest's, checked by ``vizlib.models``), the classes, the
  normalisation statistics, every layer in forward order (with each convolution's stride and
  padding: conv1 pads 5 on every side, which TensorFlow's ``"same"`` would not), the defaults of
  ``vizlib.synthesis.class_model`` (the page's class model starts from them), and each tensor's name, shape, layout,
  offset and length (in floats, from the start of the tensor data). Layouts are TensorFlow's:
  convolution filters ``HWIO`` (PyTorch stores ``OIHW``), the classifier's weight ``IO`` (PyTorch:
  ``OI``); its input rows stay in PyTorch's C, H, W flatten order (the page flattens the same way).
  A script, not a binary file: Chromium refuses ``fetch`` of local files, so a page opened from
  disk (``_build/html/index.html``) could not read one.
- ``cnnviz/course-weights.sha256``: the hex sha256 of the decoded blob; the build also writes it
  into every page with a panel, and the page refuses weights that do not match.
- ``cnnviz/course-examples.js``: ``window.cnnvizExamples``, the panels' stored example images
  (8-bit PNG data URLs) and labels: the chapters' eight examples (``vizlib.images.examples``),
  then one image of each class from ``toy_world(64, seed=1)``.
- ``tfjs/tfjs-backend-wasm-simd.wasm.js``: the vendored WebAssembly binary
  (``_assets/tfjs/``) as a ``data:`` URL in ``window.cnnvizWasm``, for the same reason.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, or imported by the Sphinx extension
    sys.path.insert(0, str(ROOT))

WASM = ROOT / "_assets" / "tfjs" / "tfjs-backend-wasm-simd.wasm"
DEFAULT_OUT = ROOT / "_build" / "cnnviz_static"
FORMAT = 1
N_EXAMPLES_PER_CLASS = 1


def _tf_layout(name: str, tensor: np.ndarray) -> tuple[np.ndarray, str]:
    """A PyTorch parameter in TensorFlow's layout, and the layout's name."""
    if tensor.ndim == 4:  # conv weight (O, I, H, W) -> (H, W, I, O)
        return tensor.transpose(2, 3, 1, 0), "HWIO"
    if tensor.ndim == 2:  # linear weight (O, I) -> (I, O)
        return tensor.T, "IO"
    return tensor, "O"


def layer_specs(net) -> list[dict]:
    """The network's layers in forward order, with what the page needs to run each one:
    ``{"name", "type"}`` plus ``stride``/``padding`` (Conv2d) or ``kernel``/``stride`` (MaxPool2d)."""
    import torch.nn as nn

    specs = []
    for layer_name, module in net.named_modules():
        if list(module.children()):
            continue
        spec = {"name": layer_name, "type": type(module).__name__}
        if isinstance(module, nn.Conv2d):
            if len(set(module.stride)) != 1 or len(set(module.padding)) != 1 or module.dilation != (1, 1):
                raise ValueError(f"{layer_name}: the page supports square strides and paddings only")
            spec.update(stride=module.stride[0], padding=module.padding[0])
        elif isinstance(module, nn.MaxPool2d):
            if module.kernel_size != 2 or module.stride != 2 or module.padding != 0:
                raise ValueError(f"{layer_name}: the page supports 2x2 max pooling with stride 2 only")
            spec.update(kernel=2, stride=2)
        elif not isinstance(module, (nn.ReLU, nn.Flatten, nn.Linear)):
            raise ValueError(f"{layer_name}: the page has no {type(module).__name__} layer")
        specs.append(spec)
    return specs


#: class_model's keyword arguments -> the names of cnnviz.classModel's options.
CLASS_MODEL_OPTIONS = {"steps": "steps", "lr": "lr", "l2": "l2", "blur_every": "blurEvery",
                       "blur_sigma": "blurSigma", "norm_clip": "normClip", "contrib_clip": "contribClip",
                       "jitter": "jitter", "seed": "seed"}


def class_model_defaults() -> dict:
    """The defaults of ``vizlib.synthesis.class_model``, under the page's option names: the page
    reads them from the weights' header, so they live in one place."""
    import inspect

    from vizlib.synthesis import class_model

    params = inspect.signature(class_model).parameters
    return {js: params[py].default for py, js in CLASS_MODEL_OPTIONS.items() if py in params}


def weights_blob(name: str = "course") -> tuple[bytes, dict]:
    """The binary blob of model ``name``'s weights (see the module docstring) and its header."""
    from vizlib import models
    from vizlib.data import IMAGE_SIZE, TOY_CLASSES

    record = models.read_manifest()[name]
    state = models._load_course_weights(name)  # checks the file against the manifest's sha256
    net = models.CourseNet(conv1_kernel=record["config"]["conv1_kernel"])
    mean, std = models._COURSE_STATS
    tensors, chunks, offset = [], [], 0
    for key, value in state.items():
        array, layout = _tf_layout(key, value.numpy().astype(np.float32))
        array = np.ascontiguousarray(array, dtype="<f4")
        tensors.append({"name": key, "shape": list(array.shape), "layout": layout,
                        "offset": offset, "length": int(array.size)})
        chunks.append(array.tobytes())
        offset += int(array.size)
    header = {
        "format": FORMAT, "model": name, "source": record["file"], "source_sha256": record["sha256"],
        "classes": list(TOY_CLASSES), "mean": list(mean), "std": list(std),
        "image_size": IMAGE_SIZE, "layers": layer_specs(net),
        "class_model": class_model_defaults(), "tensors": tensors,
    }
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    return struct.pack("<I", len(text)) + text + b"".join(chunks), header


def read_blob(blob: bytes) -> tuple[dict, dict]:
    """Inverse of :func:`weights_blob`: ``(header, {name: array in PyTorch's layout})``."""
    (n,) = struct.unpack_from("<I", blob, 0)
    header = json.loads(blob[4:4 + n].decode("utf-8"))
    data = np.frombuffer(blob, dtype="<f4", offset=4 + n)
    arrays = {}
    for t in header["tensors"]:
        a = data[t["offset"]:t["offset"] + t["length"]].reshape(t["shape"])
        arrays[t["name"]] = {"HWIO": lambda a: a.transpose(3, 2, 0, 1), "IO": lambda a: a.T,
                             "O": lambda a: a}[t["layout"]](a)
    return header, arrays


def decode_script(text: str, variable: str) -> bytes:
    """The bytes of a ``window.<variable> = "<base64>";`` script written here."""
    prefix = f'window.{variable} = "'
    start = text.index(prefix) + len(prefix)
    return base64.b64decode(text[start:text.index('"', start)])


def _png_data_url(image) -> str:
    from PIL import Image

    array = (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, "RGB").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def example_images():
    """The stored examples: ``(images (n, 3, 64, 64) in [0, 1], labels, descriptions)``."""
    import torch

    from vizlib.data import TOY_CLASSES, toy_world
    from vizlib.images import examples

    images, labels, _ = examples("course", 8)
    pool, pool_labels, _ = toy_world(64, seed=1)
    extra = [int(np.flatnonzero(pool_labels.numpy() == c)[0]) for c in range(len(TOY_CLASSES))]
    notes = [f"chapter example {i + 1}" for i in range(len(images))]
    notes += [f"toy_world(64, seed=1)[{i}]" for i in extra]
    return torch.cat([images, pool[extra]]), torch.cat([labels, pool_labels[extra]]), notes


def _script(variable: str, payload: bytes | str) -> str:
    if isinstance(payload, bytes):
        payload = base64.b64encode(payload).decode("ascii")
    return (f"// Generated by scripts/export_tfjs.py during the book's build: do not edit.\n"
            f'window.{variable} = "{payload}";\n')


def export(out: Path = DEFAULT_OUT, name: str = "course") -> dict:
    """Write the files listed in the module docstring under ``out``; return their paths and the
    weights' sha256."""
    out = Path(out)
    (out / "cnnviz").mkdir(parents=True, exist_ok=True)
    (out / "tfjs").mkdir(parents=True, exist_ok=True)
    blob, header = weights_blob(name)
    digest = hashlib.sha256(blob).hexdigest()
    paths = {
        "weights": out / "cnnviz" / f"{name}-weights.js",
        "sha256": out / "cnnviz" / f"{name}-weights.sha256",
        "examples": out / "cnnviz" / f"{name}-examples.js",
        "wasm": out / "tfjs" / f"{WASM.name}.js",
    }
    paths["weights"].write_text(_script("cnnvizWeights", blob), encoding="ascii")
    paths["sha256"].write_text(f"{digest}  {paths['weights'].name}\n", encoding="ascii")
    images, labels, notes = example_images()
    examples = {"classes": header["classes"], "images": [
        {"label": int(label), "note": note, "src": _png_data_url(image)}
        for image, label, note in zip(images, labels, notes)]}
    paths["examples"].write_text(
        "// Generated by scripts/export_tfjs.py during the book's build: do not edit.\n"
        f"window.cnnvizExamples = {json.dumps(examples)};\n", encoding="ascii")
    wasm_url = "data:application/wasm;base64," + base64.b64encode(WASM.read_bytes()).decode("ascii")
    paths["wasm"].write_text(_script("cnnvizWasm", wasm_url), encoding="ascii")
    return {"sha256": digest, "source_sha256": header["source_sha256"], "paths": paths}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    result = export(args.out)
    for key, path in result["paths"].items():
        print(f"{key:>8}: {path} ({path.stat().st_size:,} bytes)")
    print(f"sha256 of the weights: {result['sha256']} (from {result['source_sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
