import pytest
import torch
from torch import nn

from vizlib import hooks
from vizlib.hooks import hook_count
from vizlib.models import CourseNet


def test_layer_names_lists_leaf_modules_in_order():
    names = hooks.layer_names(CourseNet())
    assert names[:3] == ["features.conv1", "features.relu1", "features.pool1"]
    assert names[-2:] == ["classifier.flatten", "classifier.fc"]
    assert len(names) == 4 * 3 + 2


def test_forward_hooks_are_removed_after_use_and_after_an_exception():
    net = CourseNet()
    seen = []
    with hooks.forward_hooks(net, {"features.conv2": lambda m, i, o: seen.append(o.shape)}):
        net(torch.zeros(1, 3, 64, 64))
    assert seen == [torch.Size([1, 64, 16, 16])]
    assert hooks.hook_count(net) == 0
    with pytest.raises(KeyError):
        with hooks.forward_hooks(net, {"features.conv1": lambda m, i, o: None}):
            assert hooks.hook_count(net) == 1
            raise KeyError("boom")
    assert hooks.hook_count(net) == 0


def test_preserved_restores_training_and_requires_grad_flags_after_an_exception():
    net = CourseNet().train()
    net.features.conv1.weight.requires_grad_(False)
    with pytest.raises(RuntimeError):
        with hooks.preserved(net, requires_grad=True):
            assert not net.training and net.features.conv1.weight.requires_grad
            raise RuntimeError
    assert net.training and all(m.training for m in net.modules())
    assert not net.features.conv1.weight.requires_grad and net.features.conv2.weight.requires_grad


def test_get_module_by_name_or_module_and_errors():
    net = CourseNet()
    assert hooks.get_module(net, "features.conv3") is net.features.conv3
    assert hooks.get_module(net, net.classifier.fc) is net.classifier.fc
    with pytest.raises(ValueError, match="layer 'features.conv9' does not exist.*features.conv1"):
        hooks.get_module(net, "features.conv9")
    with pytest.raises(ValueError, match="not part of it"):
        hooks.get_module(net, nn.ReLU())
    with pytest.raises(TypeError, match="layer must be a layer name"):
        hooks.get_module(net, 3)


def test_model_device_comes_from_the_parameters():
    assert hooks.model_device(CourseNet()) == torch.device("cpu")
    assert hooks.model_device(nn.ReLU()) == torch.device("cpu")


# --------------------------------------------------------------------------- the one recorder
class _Shared(torch.nn.Module):
    """One ReLU module applied twice per pass, then a layer that must not run when stopped."""

    def __init__(self):
        super().__init__()
        self.relu, self.fc = torch.nn.ReLU(), torch.nn.Linear(4, 2)
        self.fc_calls = 0

    def forward(self, x):
        h = self.relu(self.relu(x) - 1.0)
        self.fc_calls += 1
        return self.fc(h)


def test_record_keeps_the_first_or_the_last_call_of_a_reused_module():
    from vizlib.hooks import record

    m, x = _Shared(), torch.tensor([[3.0, -2.0, 0.5, 2.0]])
    with record(m, "relu", call="first") as first:
        m(x)
    with record(m, "relu", call="last") as last:
        m(x)
    torch.testing.assert_close(first["relu"], torch.tensor([[3.0, 0.0, 0.5, 2.0]]))
    torch.testing.assert_close(last["relu"], torch.tensor([[2.0, 0.0, 0.0, 1.0]]))
    assert hook_count(m) == 0


def test_record_stop_ends_the_pass_after_the_first_call_and_run_forward_returns_none():
    from vizlib.hooks import record, run_forward

    m, x = _Shared(), torch.ones(1, 4)
    with record(m, "relu", call="first", stop=True) as out:
        assert run_forward(m, x) is None
    assert m.fc_calls == 0 and "relu" in out
    with pytest.raises(ValueError, match="stop=True needs call='first'"):
        with record(m, "relu", call="last", stop=True):
            pass
    with pytest.raises(ValueError, match="call must be one of"):
        with record(m, "relu", call="middle"):
            pass
    assert hook_count(m) == 0


def test_record_detach_false_keeps_the_stored_output_on_the_path_to_the_logits():
    from vizlib.hooks import record

    m = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(inplace=True), torch.nn.Linear(3, 1))
    x = torch.tensor([[1.0, -1.0, 2.0]])
    with record(m, "0", call="last", detach=False) as out:
        y = m(x)
    (g,) = torch.autograd.grad(y.sum(), out["0"])
    # d y / d (pre-ReLU output) = w2 where the ReLU is on, computed by hand
    pre = m[0](x)
    torch.testing.assert_close(g, m[2].weight * (pre > 0))
    # the in-place ReLU downstream changed a clone, not the stored pre-ReLU values
    torch.testing.assert_close(out["0"].detach(), pre.detach())


def test_record_inputs_keeps_what_a_reused_relu_receives_first_or_last_and_can_stop():
    from vizlib.hooks import record, run_forward

    m, x = _Shared(), torch.tensor([[3.0, -2.0, 0.5, 2.0]])
    with record(m, "relu", call="first", inputs=True) as first:
        m(x)
    with record(m, "relu", call="last", inputs=True) as last:
        m(x)
    torch.testing.assert_close(first["relu"], x)                       # relu(x) receives x
    torch.testing.assert_close(last["relu"], torch.tensor([[2.0, -1.0, -0.5, 1.0]]))  # relu(x) - 1
    with record(m, "relu", call="first", stop=True, inputs=True) as out:
        assert run_forward(m, x) is None
    assert m.fc_calls == 2 and "relu" in out                          # the stopped pass never reached fc
    # detach=False: the stored input is on the path to the logits, and an in-place ReLU changes a clone
    seq = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(inplace=True), torch.nn.Linear(3, 1))
    xs = torch.tensor([[1.0, -1.0, 2.0]])
    with record(seq, "1", call="first", detach=False, inputs=True) as pre:
        y = seq(xs)
    (g,) = torch.autograd.grad(y.sum(), pre["1"])
    torch.testing.assert_close(pre["1"].detach(), seq[0](xs).detach())
    torch.testing.assert_close(g, seq[2].weight * (seq[0](xs) > 0))
    with pytest.raises(TypeError, match="inputs must be a bool"):
        with record(seq, "1", call="first", inputs=1):
            pass
    assert hook_count(m) == 0 and hook_count(seq) == 0


def test_record_removes_its_hooks_when_the_body_raises():
    from vizlib.hooks import record

    m = _Shared()
    with pytest.raises(RuntimeError, match="boom"):
        with record(m, ["relu", "fc"], call="first"):
            raise RuntimeError("boom")
    assert hook_count(m) == 0
