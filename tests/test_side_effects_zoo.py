"""Hardening (issue 10): every public method that takes a model, over the course model and
torchvision's AlexNet, VGG-11, ResNet-18, DenseNet-121, SqueezeNet 1.1, GoogLeNet and
MobileNet-V2 with random weights. Afterwards: no hooks left, parameters and buffers bitwise
unchanged, training and requires_grad flags as before, the input unchanged and without a
gradient — after a normal call and after an exception raised inside the call."""
import pytest
import torch
import torchvision
from torch import nn

import vizlib
from vizlib import activations, attribution, filters, hooks, metrics, style, synthesis
from vizlib.attribution import UnsupportedActivationError

MODELS = ["course", "alexnet", "vgg11", "resnet18", "densenet121", "squeezenet1_1", "googlenet", "mobilenet_v2"]
SIZE = 64
_CACHE = {}


def get_model(name):
    if name not in _CACHE:
        torch.manual_seed(0)
        if name == "course":
            model = vizlib.load_model("course", device="cpu")
        else:
            model = torchvision.models.get_model(name, weights=None, **({"init_weights": False} if name == "googlenet" else {}))
        _CACHE[name] = model.eval()
    return _CACHE[name]


def convs(model):
    """Convolutions on the inference path (GoogLeNet's auxiliary classifiers run only in training)."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and "aux" not in n]


def image01(n=2):
    return torch.rand(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


def x_norm(n=2):
    return vizlib.normalize(image01(n), "course")


def _capture(model, x, t):
    with activations.capture(model, [convs(model)[0], convs(model)[-1]]) as acts:
        with hooks.preserved(model):  # the caller's own forward pass, in eval mode, flags restored
            model(x)
    return acts


CALLS = {
    "gradient": lambda m, x, t: attribution.gradient(m, x, t),
    "saliency": lambda m, x, t: attribution.saliency(m, x, t),
    "gradient_x_input": lambda m, x, t: attribution.gradient_x_input(m, x, t),
    "deconvnet": lambda m, x, t: attribution.deconvnet(m, x, t),
    "guided_backprop": lambda m, x, t: attribution.guided_backprop(m, x, t),
    "occlusion": lambda m, x, t: attribution.occlusion(m, x, t, window=32, stride=32, progress=False),
    "occlusion_grid": lambda m, x, t: attribution.occlusion_grid(m, x, t, window=32, stride=32, progress=False),
    "smoothgrad": lambda m, x, t: attribution.smoothgrad(m, x, t, n_samples=2),
    "integrated_gradients": lambda m, x, t: attribution.integrated_gradients(m, x, t, steps=2),
    "grad_cam": lambda m, x, t: attribution.grad_cam(m, x, t),
    "guided_grad_cam": lambda m, x, t: attribution.guided_grad_cam(m, x, t),
    "project_unit": lambda m, x, t: attribution.project_unit(m, x, convs(m)[1], 0),
    "capture": _capture,
    "get_activations": lambda m, x, t: activations.get_activations(m, x, convs(m)[-1]),
    "top_activations": lambda m, x, t: activations.top_activations(m, x, convs(m)[1], k=1, channels=[0]),
    "receptive_field": lambda m, x, t: activations.receptive_field(m, convs(m)[1], SIZE),
    "first_layer_filters": lambda m, x, t: filters.first_layer_filters(m),
    "class_model": lambda m, x, t: synthesis.class_model(m, 1, steps=2, image_size=SIZE, progress=False),
    "channel_model": lambda m, x, t: synthesis.channel_model(m, convs(m)[-1], 0, steps=2, image_size=SIZE, progress=False),
    "reconstruct": lambda m, x, t: style.reconstruct(m, convs(m)[1], image01(1), steps=2, progress=False),
    "texture": lambda m, x, t: style.texture(m, image01(1), style_layers=convs(m)[:2], steps=2, progress=False),
    "transfer": lambda m, x, t: style.transfer(m, image01(1), image01(1), content_layer=convs(m)[1],
                                               style_layers=convs(m)[:2], steps=2, progress=False),
    "deletion_curve": lambda m, x, t: metrics.deletion_curve(m, x, t, torch.rand(len(x), SIZE, SIZE), n_steps=2),
    "insertion_curve": lambda m, x, t: metrics.insertion_curve(m, x, t, torch.rand(len(x), SIZE, SIZE), n_steps=2),
    "randomize_layers": lambda m, x, t: metrics.randomize_layers(m, metrics.randomization_order(m)[0]),
}


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


def snapshot(model, x):
    return dict(
        state={k: v.detach().clone() for k, v in model.state_dict().items()},
        training=[m.training for m in model.modules()],
        flags=[p.requires_grad for p in model.parameters()],
        x=x.detach().clone(),
    )


def assert_unchanged(model, x, before):
    assert hooks.hook_count(model) == 0
    after = model.state_dict()
    assert before["state"].keys() == after.keys()
    for k, v in before["state"].items():
        assert torch.equal(v, after[k]), f"{k} changed"
    assert [m.training for m in model.modules()] == before["training"]
    assert [p.requires_grad for p in model.parameters()] == before["flags"]
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(x, before["x"]) and x.grad is None


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
        assert_unchanged(model, x, before)
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
    assert_unchanged(model, x, before)
