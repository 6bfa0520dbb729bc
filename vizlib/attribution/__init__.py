"""Attribution: which part of the input made the network decide.

Every method has one signature, ``method(model, x, target, **options)``:

- ``model``: any ``nn.Module`` that maps ``(N, C, H, W)`` images to ``(N, classes)``
  pre-softmax logits (the course model, torchvision's AlexNet, VGG, ResNet, DenseNet, ...);
- ``x``: ``(N, C, H, W)`` float, already in the model's input space (normalised), on
  the model's device;
- ``target``: an int (the same class for every image) or an ``(N,)`` integer tensor
  (or list) of class indices; the class score is the target's pre-softmax logit.

Gradient methods return ``(N, C, H, W)`` (:func:`gradient`, :func:`gradient_x_input`,
:func:`deconvnet`, :func:`guided_backprop`, :func:`smoothgrad`,
:func:`integrated_gradients`, :func:`guided_grad_cam`); map methods return
``(N, H, W)`` (:func:`saliency`, :func:`occlusion`, :func:`grad_cam`).

Guarantees, for every function here:

- the caller's model comes back unchanged: no hook left, parameters bitwise the same,
  every module's ``training`` flag and every parameter's ``requires_grad`` as before,
  also when the call raises midway;
- a model in training mode is evaluated in eval mode (dropout off, batch-norm running
  statistics used and not updated) and its flags are restored afterwards; no error is
  raised for it;
- the caller's ``x`` is never modified and its ``.grad`` is never touched;
- gradients are enabled locally, so the functions work inside ``torch.no_grad()``;
- the device is the model's; ``x`` must already be there.

Deconvnet and guided backpropagation replace the backward rule of **every** ReLU
that the forward pass applies, however it is applied: ``nn.ReLU`` modules (in-place or
not, reused or not) and functional calls (``F.relu``, ``torch.relu``, ``Tensor.relu``,
their in-place variants, ``F.threshold(x, 0, 0)``). This is done by a
:class:`torch.overrides.TorchFunctionMode` active during the forward pass, which
turns each ReLU into an autograd function carrying the chosen rule, plus a check at
the ATen level that no rectifier escaped. No module hook is involved, so in-place
ReLUs cannot trigger the "view modified in-place" error of backward hooks; an
in-place ReLU still rectifies its input tensor in place, as it does without the rule. ReLU6 (``nn.ReLU6``, ``F.relu6``,
``hardtanh(x, 0, t)``) gets the analogous rule (gradient passed where ``0 < x < t``
for guided backprop, rectified for deconvnet). Any other activation (Hardswish,
SiLU, GELU, ELU, LeakyReLU, ...) raises :class:`UnsupportedActivationError` naming
it. Sigmoid and tanh, which CNNs use as gates (squeeze-and-excitation), are
back-propagated normally.

Example:
    >>> model = vizlib.load_model("course", device="cpu")
    >>> x = vizlib.normalize(images, "course")                # images: (8, 3, 64, 64) in [0, 1]
    >>> sal = saliency(model, x, labels)
    >>> gb = guided_backprop(model, x, labels)
    >>> occ = occlusion(model, x[:1], labels[:1], window=16, stride=8, progress=False)
    >>> sal.shape, gb.shape, occ.shape
    (torch.Size([8, 64, 64]), torch.Size([8, 3, 64, 64]), torch.Size([1, 64, 64]))

The package has one module per method family: ``rules`` (the ReLU rules), ``gradients``
(gradient, saliency, gradient x input, deconvnet, guided backprop), ``smoothgrad``,
``integrated`` (integrated gradients), ``units`` (unit projection), ``occlusion`` and ``cam``
(Grad-CAM); ``_common`` holds the argument checks they share. Every public name is
importable from ``vizlib.attribution``.
"""
from __future__ import annotations

from .cam import default_cam_layer, grad_cam, guided_grad_cam
from .gradients import deconvnet, gradient, gradient_x_input, guided_backprop, saliency
from .integrated import integrated_gradients
from .occlusion import OcclusionGrid, occlusion, occlusion_grid, occlusion_positions
from .rules import RULES, UnsupportedActivationError, relu_backward
from .smoothgrad import smoothgrad
from .units import project_unit

__all__ = [
    "RULES", "UnsupportedActivationError", "OcclusionGrid", "relu_backward",
    "gradient", "saliency", "gradient_x_input", "deconvnet", "guided_backprop", "project_unit",
    "smoothgrad", "integrated_gradients", "occlusion", "occlusion_grid", "occlusion_positions",
    "grad_cam", "guided_grad_cam", "default_cam_layer",
]
