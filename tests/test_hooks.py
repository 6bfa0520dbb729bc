import pytest
import torch
from torch import nn

from vizlib import hooks
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
