"""A plain GRACE loss as the official code computes it (dense N x N).

Written here from the description of CRIPAC-DIG/GRACE's ``model.py``: per
direction, ``refl = exp(sim(h1, h1) / tau)`` and ``between = exp(sim(h1, h2) /
tau)`` as full N x N matrices, then ``-log(diag(between) / (refl.sum(1) +
between.sum(1) - diag(refl)))``; the loss averages both directions. Used only
as the speed/memory reference in ``benchmarks/speed.py``.
"""

import torch
import torch.nn.functional as F


def dense_grace_loss(h1: torch.Tensor, h2: torch.Tensor, tau: float) -> torch.Tensor:
    def semi(a, b):
        a, b = F.normalize(a), F.normalize(b)
        refl = torch.exp(a @ a.t() / tau)
        between = torch.exp(a @ b.t() / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))

    return 0.5 * (semi(h1, h2) + semi(h2, h1)).mean()
