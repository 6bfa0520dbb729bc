"""Hardening (issue 10): every public method that takes a model, over the course model and
torchvision's AlexNet, VGG-11, ResNet-18, DenseNet-121, SqueezeNet 1.1, GoogLeNet and
MobileNet-V2 with random weights. Afterwards: no hooks left, parameters and buffers bitwise
unchanged, training and requires_grad flags as before, the input unchanged and without a
gradient — after a normal call and after an exception raised inside the call."""
import pytest
import torch
from torch import nn

from tests.helpers import CALLS, MODELS, get_model, x_norm
from tests.helpers import assert_unchanged, snapshot
from vizlib.attribution import UnsupportedActivationError

class Exploding(nn.Module):
    """Raises inside the forward pass, before or after running the wrapped model."""

    def __init__(self, inner, when):
        super().__init__()
        self.inner, self.when = inner, when

    def forward(self, x):
        if self.when == "before":
            raise RuntimeError("boom inside the forward pass")
        self.inner(x)
        raise RuntimeError("boom inside the forward pass")


# These stop the forward pass at the layer they need, so an error after the model has run never happens.
STOP_EARLY = {"project_unit", "get_activations", "top_activations", "channel_model", "reconstruct", "texture", "transfer"}


def _relu6_refusal(name, method, err):
    """MobileNet-V2 uses ReLU6: deconvnet-style rules may refuse it, naming the activation."""
    return name == "mobilenet_v2" and isinstance(err, UnsupportedActivationError) and "ReLU6" in str(err) or \
        name == "mobilenet_v2" and "hardtanh" in str(err).lower()


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train-mode"])
@pytest.mark.parametrize("method", list(CALLS))
@pytest.mark.parametrize("name", MODELS)
def test_method_leaves_no_trace(name, method, training):
    model = get_model(name)
    model.train(training)
    if name == "resnet18":
        model.layer1[0].conv1.weight.requires_grad_(False)  # a mixed requires_grad pattern must survive
    x = x_norm()
    before = snapshot(model, x)
    try:
        try:
            CALLS[method](model, x, torch.tensor([1, 2]))
        except (UnsupportedActivationError, ValueError) as err:
            if not _relu6_refusal(name, method, err):
                raise
        assert_unchanged(model, before, x)
    finally:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(True)


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("method", [m for m in CALLS if m not in ("receptive_field", "first_layer_filters", "randomize_layers")])
@pytest.mark.parametrize("name", MODELS)
def test_method_leaves_no_trace_after_an_exception(name, method, when):
    model = get_model(name)
    x = x_norm()
    before = snapshot(model, x)
    try:
        CALLS[method](Exploding(model, when), x, torch.tensor([1, 2]))
        raised = None
    except Exception as err:  # noqa: BLE001 - any error is fine; what matters is what it leaves behind
        raised = err
    if raised is None:
        assert when == "after" and method in STOP_EARLY, "the forward pass raised but the call did not"
    else:
        assert "boom" in str(raised) or _relu6_refusal(name, method, raised), repr(raised)
    assert_unchanged(model, before, x)
