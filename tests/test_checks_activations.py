"""The activations chapter's self-check passes on the reference and fails on typical mistakes."""
from __future__ import annotations

import pytest

from vizlib import checks


def _reference(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size, jump


def _ignores_jump(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += d * (k - 1)
        jump *= s
    return size, jump


def _ignores_dilation(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += (k - 1) * jump
        jump *= s
    return size, jump


def _stride_first(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        jump *= s
        size += d * (k - 1) * jump
    return size, jump


def _adds_padding(layers):
    size, jump = 1, 1
    for k, s, p, d in layers:
        size += (d * (k - 1) + 2 * p) * jump
        jump *= s
    return size, jump


def _returns_size_only(layers):
    return _reference(layers)[0]


def test_check_receptive_field_passes_reference(capsys):
    assert checks.check_receptive_field(_reference) == 0
    assert "PASS check_receptive_field" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [_ignores_jump, _ignores_dilation, _stride_first, _adds_padding,
                                   _returns_size_only])
def test_check_receptive_field_fails_on_wrong_implementations(wrong, capsys):
    with pytest.raises(AssertionError):
        checks.check_receptive_field(wrong)
    assert capsys.readouterr().out.startswith("FAIL check_receptive_field")


# --------------------------------------------------------------------------- check_capture
import torch  # noqa: E402


def capture_by_hand(model, layers, x, *, remove=True, finally_=True, detach=True, clone=True, eval_=True,
                    restore=True, forward_order=False, swallow=False, change_x=False):
    """Hooks written out by hand; the keyword switches make the typical mistakes."""
    modules = dict(model.named_modules())
    maps, handles = {}, []
    was_training = model.training

    def recorder(name):
        def hook(module, inputs, output):
            out = output.detach() if detach else output
            maps[name] = out.clone() if clone else out
        return hook

    def cleanup():
        if remove:
            for h in handles:
                h.remove()
        if restore:
            model.train(was_training)

    if change_x:
        x.mul_(1.0)
        x.add_(1.0)
    for name in layers:
        handles.append(modules[name].register_forward_hook(recorder(name)))
    if eval_:
        model.eval()
    try:
        with torch.set_grad_enabled(not detach):
            model(x)
    except RuntimeError:
        if swallow:
            return {}
        if not finally_:
            raise
        cleanup()
        raise
    cleanup()
    if forward_order:
        return dict(maps)
    return {name: maps[name] for name in layers}


def test_check_capture_passes_a_hand_written_reference(capsys):
    assert checks.check_capture(capture_by_hand) == 0
    assert "PASS check_capture" in capsys.readouterr().out


def test_check_capture_expected_maps_follow_the_layers_by_hand():
    net = checks.activations._CaptureNet().eval()
    x = torch.randn(2, 3, 8, 8)
    expected, _ = checks.activations._expected_maps(net, x)
    with torch.no_grad():  # the layers called one by one, no hooks
        bn = net.bn(net.conv1(x))
        conv2 = net.conv2(torch.relu(bn))
    torch.testing.assert_close(expected["bn"], bn)
    torch.testing.assert_close(expected["conv2"], conv2)


@pytest.mark.parametrize("wrong, named", [
    (dict(remove=False), "left behind"),
    (dict(finally_=False), "survived a forward pass that raised"),
    (dict(detach=False), "not detached"),
    (dict(clone=False), "in-place ReLU"),
    (dict(eval_=False), "train mode"),
    (dict(restore=False), "left in eval mode"),
    (dict(forward_order=True), "order of layers"),
    (dict(swallow=True), "swallow"),
    (dict(change_x=True), "changed the input"),
])
def test_check_capture_names_each_typical_mistake(wrong, named, capsys):
    with pytest.raises(AssertionError, match="check_capture") as err:
        checks.check_capture(lambda m, l, x: capture_by_hand(m, l, x, **wrong))
    assert named in str(err.value)
    assert capsys.readouterr().out.startswith("FAIL check_capture")


def test_check_capture_names_swapped_maps():
    def swapped(model, layers, x):
        got = capture_by_hand(model, layers, x)
        return dict(zip(layers, reversed(list(got.values()))))
    with pytest.raises(AssertionError, match="wrong names"):
        checks.check_capture(swapped)


def test_check_capture_rejects_non_callables():
    with pytest.raises(TypeError, match="fn must be a function"):
        checks.check_capture(None)
