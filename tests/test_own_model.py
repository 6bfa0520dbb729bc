"""The appendix "Use it on your own model" (chapters/own_model.ipynb).

Some of the verdicts of the chapter's method x architecture table, checked by calling ``vizlib``
directly on small hand-made nets (independently of the notebook), and the stored table itself:
one row per architecture, one column per method, no empty cell.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from vizlib import attribution as A
from vizlib.activations import get_activations

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "chapters" / "own_model.ipynb"
ARCHITECTURES = ["ResNet-50", "DenseNet-121", "MobileNetV3-Small", "EfficientNet-B0",
                 "ConvNeXt-Tiny", "ViT-B/16", "hand-made"]
METHODS = ["gradient", "saliency", "gradient x input", "deconvnet", "guided backprop",
           "smoothgrad", "integrated gradients", "occlusion", "grad cam", "guided grad cam",
           "get activations", "class model"]


class Net(nn.Module):
    """conv - activation - conv - activation - global mean - linear."""

    def __init__(self, act: nn.Module):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.act = act
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.act(self.conv2(self.act(self.conv1(x)))).mean((2, 3)))


def image(n: int = 2, side: int = 8) -> torch.Tensor:
    return torch.randn(n, 3, side, side, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("act, name", [(nn.SiLU(), "SiLU"), (nn.Hardswish(), "Hardswish"),
                                       (nn.GELU(), "GELU")])
@pytest.mark.parametrize("method", [A.guided_backprop, A.deconvnet, A.guided_grad_cam])
def test_relu_rule_methods_refuse_other_activations_naming_them(act, name, method):
    torch.manual_seed(0)
    with pytest.raises(A.UnsupportedActivationError, match=rf"applies {name}\b"):
        method(Net(act).eval(), image(), 0)
    assert issubclass(A.UnsupportedActivationError, ValueError)   # what the chapter catches


@pytest.mark.parametrize("act", [nn.SiLU(), nn.Hardswish(), nn.GELU()])
def test_methods_without_a_relu_rule_run_on_other_activations(act):
    torch.manual_seed(0)
    net, x = Net(act).eval(), image()
    for out in (A.gradient(net, x, 1), A.integrated_gradients(net, x, 1, steps=2),
                A.smoothgrad(net, x, 1, n_samples=2), A.grad_cam(net, x, 1),
                A.occlusion(net, x, 1, window=4, stride=4, progress=False)):
        assert out.shape[-2:] == x.shape[-2:] and torch.isfinite(out).all()


def test_mobilenet_v3_refuses_guided_backprop_naming_hardswish():
    torch.manual_seed(0)
    model = torchvision.models.get_model("mobilenet_v3_small", weights=None).eval()
    with pytest.raises(A.UnsupportedActivationError, match="applies Hardswish"):
        A.guided_backprop(model, image(1, 32), 0)


class FunctionalNet(nn.Module):
    """y = w2 . relu(W1 x) per pixel, then summed: a 1x1 conv, a functional ReLU, a 1x1 conv."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 1, bias=False)
        self.conv2 = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            self.conv1.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
            self.conv2.weight.copy_(torch.tensor([[2.0, -3.0], [-1.0, 1.0]]).view(2, 2, 1, 1))

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x))).sum((2, 3))


def test_guided_backprop_reaches_a_functional_relu():
    """Closed form for class 0: d/dx = sum_k W1_k * max(w2_k, 0) * [W1_k x > 0]: at a positive
    pixel unit 0 is active (w2 = 2 -> 2 * 1), at a negative one unit 1 (w2 = -3 -> 0)."""
    x = torch.tensor([[[[1.5, -0.5]]]])
    guided = A.guided_backprop(FunctionalNet().eval(), x, 0)
    assert torch.equal(guided, torch.tensor([[[[2.0, 0.0]]]]))
    plain = A.gradient(FunctionalNet().eval(), x, 0)   # backprop: -1 * -3 = 3 at the negative pixel
    assert torch.equal(plain, torch.tensor([[[[2.0, 3.0]]]]))


class ResidualNet(nn.Module):
    """A small ResNet-like net: stem, one basic block whose one ReLU runs twice, a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.stem(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)) + x)
        return self.fc(out.mean((2, 3)))


def test_grad_cam_works_on_a_small_resnet_like_net_at_its_last_conv():
    torch.manual_seed(0)
    net, x = ResidualNet().eval(), image(2, 16)
    assert A.default_cam_layer(net, x) == "conv2"
    cam = A.grad_cam(net, x, [1, 3])
    assert cam.shape == (2, 16, 16) and torch.isfinite(cam).all() and (cam >= 0).all()
    guided = A.guided_grad_cam(net, x, [1, 3])   # the reused in-place ReLU gets the rule
    assert guided.shape == x.shape and torch.isfinite(guided).all()


def test_get_activations_returns_the_first_run_of_a_reused_module():
    torch.manual_seed(0)
    net, x = ResidualNet().eval(), image(1, 16)
    with torch.no_grad():
        first = F.relu(net.bn1(net.conv1(net.stem(x))))
    assert torch.allclose(get_activations(net, x, "relu")["relu"], first)


class DictNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        features = F.relu(self.conv(x)).mean((2, 3))
        return {"logits": self.fc(features), "features": features}


class Logits(nn.Module):
    """The chapter's wrapper, written again: ``pick(model(x))``."""

    def __init__(self, model, pick):
        super().__init__()
        self.model, self.pick = model, pick

    def forward(self, x):
        return self.pick(self.model(x))


def test_a_dict_output_is_refused_and_the_wrapper_turns_it_into_logits():
    torch.manual_seed(0)
    net, x = DictNet().eval(), image()
    with pytest.raises(ValueError, match=r"model must return logits of shape \(N, classes\)"):
        A.gradient(net, x, 0)
    wrapped = Logits(net, lambda out: out["logits"])
    got = A.gradient(wrapped, x, 2)
    xr = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(net(xr)["logits"][:, 2].sum(), xr)
    assert torch.allclose(got, expected)
    assert A.default_cam_layer(wrapped, x) == "model.conv"
    assert A.grad_cam(wrapped, x, 2, layer=net.conv).shape == (2, 8, 8)


# ----------------------------------------------------------------------------- the stored table


class _Table(HTMLParser):
    """Rows of cell texts of the first <table class="own-model-verdicts">."""

    def __init__(self):
        super().__init__()
        self.rows, self._in, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "own-model-verdicts" in (dict(attrs).get("class") or ""):
            self._in = True
        elif self._in and tag == "tr":
            self.rows.append([])
        elif self._in and tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if self._in and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._in = False


def stored_table():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            if "own-model-verdicts" in html:
                parser = _Table()
                parser.feed(html)
                footnotes = "".join(o.get("text", "") for o in cell.outputs
                                    if o.get("output_type") == "stream")
                return parser.rows, footnotes
    pytest.fail("the notebook stores no table of class own-model-verdicts (run it first)")


def test_stored_table_has_one_row_per_architecture_and_one_column_per_method():
    rows, _ = stored_table()
    header, body = rows[0], rows[1:]
    assert [h.replace("_", " ").replace("×", "x") for h in header[1:]] == METHODS
    names = [r[0] for r in body]
    assert names[:-1] == ARCHITECTURES and names[-1].endswith("(reference)")
    for row in body:
        assert len(row) == len(header), row
        assert all(re.fullmatch(r"works|rule [a-e](, [a-e])*|refuses \[\d+\]", c) for c in row[1:]), row


def test_stored_table_agrees_with_the_direct_calls():
    rows, footnotes = stored_table()
    table = {r[0]: dict(zip(rows[0][1:], r[1:])) for r in rows[1:]}
    messages = dict(re.findall(r"^\[(\d+)\] (.*)$", footnotes, re.M))
    for name, act in [("MobileNetV3-Small", "Hardswish"), ("EfficientNet-B0", "SiLU"),
                      ("ConvNeXt-Tiny", "GELU"), ("ViT-B/16", "GELU")]:
        verdict = table[name]["guided backprop"]
        number = re.fullmatch(r"refuses \[(\d+)\]", verdict)[1]
        assert messages[number].startswith("UnsupportedActivationError: ")
        assert f"applies {act};" in messages[number]
    for name in ARCHITECTURES:
        assert table[name]["gradient"] == "works" and table[name]["occlusion"] == "works"
        assert not table[name]["grad cam"].startswith("refuses")
    assert table["hand-made"]["guided backprop"] == "rule a, b"
    assert table["DenseNet-121"]["grad cam"] == "rule d"
    assert table["ViT-B/16"]["grad cam"] == "rule c"
