r"""Linear relaxations of (leaky) ReLU activations for bound propagation.

For :math:`\sigma(z) = \max(z, 0) + a \min(z, 0)` (ReLU :math:`a = 0`, PReLU,
leaky ReLU, RReLU in evaluation form) and a neuron whose pre-activation lies
in :math:`[l, u]`, a relaxation is a slope :math:`s` and intercepts
:math:`\beta^L \leq \beta^U` with

.. math::
    s z + \beta^L \;\leq\; \sigma(z) \;\leq\; s z + \beta^U
    \qquad \text{for all } z \in [l, u].

Stable neurons are exact: :math:`s = 1` if :math:`l \geq 0`, :math:`s = a`
if :math:`u \leq 0`, intercepts 0. An unstable neuron (:math:`l < 0 < u`)
takes the chord slope :math:`s = (u - a l)/(u - l)` for both lines, as in the
official POT code (`"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_, ``get_alpha_beta``). Two forms:

- ``"sound"``: the tight chord. With :math:`c = (a - 1) u l / (u - l)`,
  :math:`\beta^L = \min(c, 0)` and :math:`\beta^U = \max(c, 0)`: for
  :math:`a \leq 1` (convex :math:`\sigma`) the chord is the upper line and the
  parallel line through the origin the lower one; for :math:`a > 1` (concave)
  the other way round. Valid for every real :math:`a`.
- ``"official"``: :math:`\beta^L = 0`, :math:`\beta^U = (a - 1) u l / (u - a
  l)`, the official code's upper intercept. It is valid but looser than the
  chord for :math:`0 \leq a \leq 1` (for ReLU it equals :math:`-l`), and the
  code assumes that range.
"""

from __future__ import annotations

from typing import NamedTuple, Union

import torch
from torch import Tensor

from gcl.nn.activation import FixedRReLU

__all__ = ["LinearRelaxation", "activation_range", "leaky_relu",
           "leaky_slope", "relaxation"]

Slope = Union[float, Tensor]


class LinearRelaxation(NamedTuple):
    r"""Slope :math:`s` and intercepts :math:`\beta^L, \beta^U`, shaped like
    the bounds.
    """

    slope: Tensor
    lower_intercept: Tensor
    upper_intercept: Tensor


def leaky_slope(activation: torch.nn.Module) -> Slope:
    r"""The negative slope :math:`a` of a piecewise-linear activation module.

    ``ReLU`` -> 0; ``PReLU`` -> its weight (a tensor: one shared slope, or one
    per channel); ``LeakyReLU`` -> ``negative_slope``; ``RReLU`` and
    :class:`gcl.nn.FixedRReLU` -> :math:`(\text{lower} + \text{upper}) / 2`,
    the evaluation-mode slope (a training-mode ``RReLU`` draws random slopes,
    which the bounds do not cover).

    Raises:
        ValueError: For any other activation (e.g. ELU, which is not
            piecewise linear).
    """
    if isinstance(activation, torch.nn.ReLU):
        return 0.0
    if isinstance(activation, torch.nn.PReLU):
        return activation.weight
    if isinstance(activation, torch.nn.LeakyReLU):
        return float(activation.negative_slope)
    if isinstance(activation, (torch.nn.RReLU, FixedRReLU)):
        return (float(activation.lower) + float(activation.upper)) / 2.0
    raise ValueError(
        f"bound propagation needs a (leaky) ReLU activation: relu, prelu, "
        f"leaky_relu, rrelu or rrelu_fixed; got {activation!r}")


def leaky_relu(z: Tensor, slope: Slope) -> Tensor:
    r""":math:`\sigma(z) = \max(z, 0) + a \min(z, 0)` with a float or tensor
    slope :math:`a` (broadcast over the last dimension).
    """
    # torch.where, not clamp_min + a * clamp_max: at z = 0 the gradient is
    # a, as torch's relu, leaky_relu and prelu give (the clamps would give
    # 1 + a, not a subgradient); it matters where z is exactly 0 (zero
    # biases at initialisation, nodes without features).
    return torch.where(z > 0, z, slope * z)


def activation_range(lower: Tensor, upper: Tensor,
                     slope: Slope) -> tuple[Tensor, Tensor]:
    r"""The image :math:`[\min \sigma, \max \sigma]` of :math:`[l, u]` under
    :math:`\sigma`, for any real slope :math:`a`.

    :math:`\sigma` is linear on each side of 0, so its extremes on
    :math:`[l, u]` are at :math:`l`, :math:`u` or :math:`0`; for
    :math:`a \geq 0` it is monotone and the image is
    :math:`[\sigma(l), \sigma(u)]`.
    """
    lo, hi = leaky_relu(lower, slope), leaky_relu(upper, slope)
    a_min = float(slope.detach().min()) if isinstance(slope, Tensor) \
        else float(slope)
    if a_min >= 0:
        return lo, hi
    zero = leaky_relu(torch.minimum(lower.clamp_min(0), upper), slope)
    return (torch.minimum(torch.minimum(lo, hi), zero),
            torch.maximum(torch.maximum(lo, hi), zero))


def relaxation(lower: Tensor, upper: Tensor, slope: Slope,
               mode: str = "sound") -> LinearRelaxation:
    r"""Linear lower and upper lines of :math:`\sigma` on :math:`[l, u]`.

    See the module docstring for the two modes. With :math:`l^- = \min(l,
    0)` and :math:`u^+ = \max(u, 0)`, every case is one formula (no
    branches): :math:`s = a + (1 - a)\, u^+ / (u^+ - l^-)` is 1 for
    :math:`l \geq 0`, :math:`a` for :math:`u \leq 0` and the chord slope
    otherwise, and the intercepts vanish on stable neurons since
    :math:`u^+ l^- = 0` there.

    Args:
        lower (torch.Tensor): Pre-activation lower bounds :math:`l`.
        upper (torch.Tensor): Pre-activation upper bounds :math:`u \geq l`.
        slope (float or torch.Tensor): Negative slope :math:`a`.
        mode (str, optional): ``"sound"`` or ``"official"``.
            (default: ``"sound"``)

    Returns:
        LinearRelaxation: ``slope``, ``lower_intercept``, ``upper_intercept``,
        each shaped like ``lower``. Gradients flow through :math:`l, u, a`.
    """
    if mode not in ("sound", "official"):
        raise ValueError(f"mode must be 'sound' or 'official', got {mode!r}")
    lneg, upos = lower.clamp_max(0), upper.clamp_min(0)
    width = upos - lneg
    width = width + (width == 0)  # 0 only where l = u = 0 (then u+ = l- = 0)
    s = slope + (1 - slope) * (upos / width)
    prod = upos * lneg  # non-zero only on unstable neurons
    if mode == "official":
        top = upos - slope * lneg
        upper_b = (slope - 1) * prod / (top + (top == 0))
        return LinearRelaxation(s, torch.zeros_like(upper_b), upper_b)
    c = (slope - 1) * prod / width
    return LinearRelaxation(s, c.clamp_max(0), c.clamp_min(0))
