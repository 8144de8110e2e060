"""Activations used by the GCL code bases, by name."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["FixedRReLU", "activation_resolver", "ACTIVATIONS"]


class FixedRReLU(torch.nn.Module):
    r"""Leaky ReLU with the *mean* RReLU slope, :math:`(1/8 + 1/3) / 2`.

    GCA and CSGCL map ``"rrelu"`` to the function ``F.rrelu`` called with its
    default ``training=False``, which is deterministic: this module. gCooL maps
    it to the module ``nn.RReLU()``, whose slope is random in training mode
    (``"rrelu"`` here). Both agree in evaluation mode.
    """

    def __init__(self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0):
        super().__init__()
        self.lower, self.upper = lower, upper

    def forward(self, x: Tensor) -> Tensor:
        """Applies ``F.rrelu(x, lower, upper, training=False)``."""
        return F.rrelu(x, self.lower, self.upper, training=False)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(lower={self.lower}, upper={self.upper})"


ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    # One shared slope (num_parameters=1), as in the official GRACE/GCA code.
    "prelu": lambda: torch.nn.PReLU(num_parameters=1, init=0.25),
    "rrelu": torch.nn.RReLU,
    "rrelu_fixed": FixedRReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
}


def activation_resolver(name: str | torch.nn.Module) -> torch.nn.Module:
    """Returns a new activation module for ``name`` (or ``name`` itself).

    Known names: ``relu``, ``prelu`` (one learnable slope shared by all
    channels), ``rrelu`` (:class:`torch.nn.RReLU`, random slope in training),
    ``rrelu_fixed`` (:class:`FixedRReLU`), ``elu`` and ``leaky_relu``.
    """
    if isinstance(name, torch.nn.Module):
        return name
    key = str(name).lower()
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]()
