"""Self-checks of the activations chapter: receptive fields and capturing feature maps with hooks."""
from __future__ import annotations

import torch
from torch import nn

from ._common import compare, _fail

__all__ = ["check_receptive_field", "check_capture"]


def _receptive_field_cases():
    return [
        [(3, 1, 1, 1)],
        [(7, 2, 3, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)],
        [(11, 4, 2, 1), (3, 2, 0, 1), (5, 1, 2, 1), (3, 2, 0, 1), (3, 1, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1),
         (3, 2, 0, 1)],
        [(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4), (3, 1, 8, 8)],
        [(4, 2, 1, 1), (4, 2, 1, 1), (4, 2, 1, 1)],
    ]


def check_receptive_field(fn) -> float:
    """Check ``fn(layers) -> (size, jump)`` for chains of (kernel, stride, padding, dilation) layers.

    Cases: one 3x3 convolution, the course model up to conv4, AlexNet up to
    pool5, a stack of dilated convolutions and a stack of strided ones; the
    reference is :func:`vizlib.activations.receptive_field_of_stack`.
    """
    from ..activations import receptive_field_of_stack

    cases = []
    for layers in _receptive_field_cases():
        rf = receptive_field_of_stack(layers)
        cases.append((fn([tuple(spec) for spec in layers]), (rf.size, rf.jump)))
    return compare("check_receptive_field", cases, atol=0, rtol=0,
                   hint="Start from size 1, jump 1; per layer the effective kernel is d*(k-1)+1, "
                        "size grows by (effective kernel - 1) * jump (the jump *before* this layer), "
                        "then jump is multiplied by the stride. Padding shifts the field, not its size.")


class _CaptureNet(nn.Module):
    """A small net whose traps catch the typical mistakes of hook code: BatchNorm (train and eval
    mode differ, and train mode changes its running statistics) and in-place ReLUs that overwrite
    the outputs of ``bn`` and ``conv2`` unless they are copied."""

    def __init__(self):
        super().__init__()
        gen = torch.Generator().manual_seed(11)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)
        self.relu2 = nn.ReLU(inplace=True)
        self.head = nn.Linear(5, 3)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            self.bn.running_mean.copy_(torch.randn(4, generator=gen))
            self.bn.running_var.copy_(0.5 + torch.rand(4, generator=gen))

    def forward(self, x):
        x = self.relu2(self.conv2(self.relu1(self.bn(self.conv1(x)))))
        return self.head(x.mean(dim=(2, 3)))


def _expected_maps(net, x):
    """The outputs of bn and conv2 in eval mode, computed layer by layer without hooks."""
    with torch.no_grad():
        a1 = net.conv1(x)
        bn = nn.functional.batch_norm(a1, net.bn.running_mean, net.bn.running_var, net.bn.weight, net.bn.bias,
                                      training=False, eps=net.bn.eps)
        conv2 = net.conv2(bn.clamp(min=0))
        bn_train = nn.functional.batch_norm(a1, None, None, net.bn.weight, net.bn.bias, training=True)
    return {"conv2": conv2, "bn": bn}, bn_train


def check_capture(fn) -> float:
    """Check ``fn(model, layers, x) -> {name: feature map}``, feature maps captured with forward hooks.

    ``fn`` must run ``model`` once on ``x`` in eval mode without gradients and return, for every
    name in ``layers`` and in that order, a detached copy of that layer's output; the hooks must
    be gone afterwards, also when the forward pass raises, and the model's training flag, its
    BatchNorm statistics and ``x`` must be as before. The test net has BatchNorm and in-place
    ReLUs, is given in train mode, and the layers are asked for out of forward order. The
    message names the mistake: a hook left behind (after a normal call or an exception), maps
    not detached or not copied (overwritten by an in-place ReLU), the model run in train mode
    or left in eval mode, maps under the wrong names or in the wrong order, the input changed.

    Example:
        >>> def my_capture(model, layers, x):
        ...     return vizlib.activations.get_activations(model, x, layers)
        >>> err = vizlib.checks.check_capture(my_capture)
        PASS check_capture: max |error| 0 over 2 cases
    """
    from ..hooks import hook_count

    name = "check_capture"
    if not callable(fn):
        raise TypeError(f"fn must be a function fn(model, layers, x); got {type(fn).__name__}")
    net = _CaptureNet().train()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    x_before = x.clone()
    stats = (net.bn.running_mean.clone(), net.bn.running_var.clone())
    expected, bn_train = _expected_maps(net, x)
    layers = ["conv2", "bn"]  # out of forward order on purpose
    hooks = hook_count(net)
    got = fn(net, list(layers), x)
    if hook_count(net) != hooks:
        _fail(name, f"{hook_count(net) - hooks} hook(s) left behind on the model: keep each handle of "
                    "register_forward_hook and call handle.remove() in a finally block.")
    if not torch.equal(x, x_before):
        _fail(name, "your function changed the input x; leave the caller's tensor alone.")
    if not (torch.equal(net.bn.running_mean, stats[0]) and torch.equal(net.bn.running_var, stats[1])):
        _fail(name, "the forward pass ran in train mode: BatchNorm updated its running statistics. "
                    "Call model.eval() before the forward pass (and restore the mode afterwards).")
    if not net.training:
        _fail(name, "the model was in train mode and is left in eval mode: remember model.training "
                    "before model.eval() and restore it with model.train(was_training) in finally.")
    if not isinstance(got, dict):
        _fail(name, f"return a dict {{layer name: feature map}}; got {type(got).__name__}")
    if set(got) != set(layers):
        _fail(name, f"the dict's keys must be the layer names {layers}; got {list(got)}")
    if list(got) != layers:
        _fail(name, f"the maps must come in the order of layers, {layers}; got {list(got)} (the forward "
                    "order): build the result by looping over layers, not over the hooks' calls.")
    for key, value in got.items():
        if not isinstance(value, torch.Tensor):
            _fail(name, f"got[{key!r}] must be a tensor; got {type(value).__name__}")
        if value.requires_grad:
            _fail(name, f"got[{key!r}] is not detached (requires_grad=True): store output.detach() "
                        "(or run the forward pass under torch.no_grad()).")
        if value.shape != expected[key].shape:
            other = [k for k in expected if k != key and expected[k].shape == value.shape]
            hint = f" That is the shape of {other[0]!r}: the maps are under the wrong names." if other else ""
            _fail(name, f"got[{key!r}] has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}.{hint}")
    if torch.allclose(got["bn"], bn_train, atol=1e-4) and not torch.allclose(got["bn"], expected["bn"], atol=1e-4):
        _fail(name, "the maps come from a forward pass in train mode (BatchNorm used the batch's statistics): "
                    "call model.eval() before the forward pass.")
    for key in layers:
        if (expected[key] < 0).any() and not (got[key] < 0).any() \
                and torch.allclose(got[key], expected[key].clamp(min=0), atol=1e-4):
            _fail(name, f"got[{key!r}] has no negative values: the in-place ReLU after {key!r} overwrote it. "
                        "Store a copy, output.detach().clone().")
    # a forward pass that fails: the hooks must go all the same
    bad = torch.randn(1, 2, 8, 8)
    try:
        fn(net, list(layers), bad)
    except Exception:
        pass
    else:
        _fail(name, "the model cannot run on a 2-channel input, but your function returned without an error: "
                    "do not swallow exceptions (use try/finally, not try/except).")
    if hook_count(net) != hooks:
        _fail(name, "a hook survived a forward pass that raised: remove the hooks in a finally block.")
    if not net.training:
        _fail(name, "after a forward pass that raised, the model is left in eval mode: restore its training "
                    "flag in the finally block.")
    return compare(name, [(got[k], expected[k]) for k in layers], atol=1e-5, rtol=1e-4,
                   hint="each map is the layer's output for x in eval mode, detached and copied.")
