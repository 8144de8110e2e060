r"""DeCA: gCooL's Dense Community Aggregation, in sparse form."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DeCA", "deca_loss"]


def _distinct_edges(edge_index: Tensor, n: int, self_loops: bool,
                    coalesced: bool) -> tuple[Tensor, Tensor]:
    src, dst = edge_index
    if not self_loops:
        keep = src != dst
        src, dst = src[keep], dst[keep]
    if not coalesced:  # duplicates count once: A' is a 0/1 matrix
        key = torch.unique(src * n + dst)
        src, dst = key // n, key % n
    return src, dst


def deca_loss(r: Tensor, edge_index: Tensor, lam: float = 1.0,
              self_loops: bool = True, coalesced: bool = False) -> Tensor:
    r"""The DeCA objective of gCooL, computed over the edges.

    From `"Graph Communal Contrastive Learning"
    <https://arxiv.org/abs/2110.14863>`_ (Li, Jing and Tong, WWW 2022). For
    soft community assignments :math:`R \in \mathbb{R}^{N \times K}` and the
    0/1 adjacency :math:`A'` of one view, with :math:`n = N`,
    :math:`m = n(n-1)` and :math:`DF = R^\top A' R \in \mathbb{R}^{K \times
    K}`, the official code (``lblaoke/gCooL`` ``gCooL.DeCA``) computes

    .. math::
        \mathcal{L}_{\text{DeCA}} = \frac{\lambda \sum_{k \neq l} DF_{kl}
        - (n - 1)\, \mathrm{tr}(DF)}{m} + \frac{\mathrm{tr}(R^\top R)}{2n}
        = \lambda D_{\text{inter}} - D_{\text{intra}},

    the inter-community edge density (weighted by :math:`\lambda`) minus the
    intra-community density :math:`\frac{1}{n}[\mathrm{tr}(R^\top A' R) -
    \tfrac12 \mathrm{tr}(R^\top R)]`. The code builds the dense
    :math:`N \times N` matrix :math:`A'` every step; here the same value is
    computed from the edges with the identities

    .. math::
        \mathrm{tr}(DF) = \sum_{(i, j) \in E'} \langle R_i, R_j \rangle,
        \qquad \sum_{k, l} DF_{kl} = \sum_{(i, j) \in E'} s_i s_j,
        \quad s = R \mathbf{1},

    in :math:`O(|E| K)` time and memory, exactly (also its gradient, for any
    :math:`R`; for row-stochastic :math:`R` the second sum is :math:`|E'|`).

    :math:`A'` is defined as the official dense assignment
    ``A[edge_index[0], edge_index[1]] = 1`` defines it: :math:`A'_{ij} = 1`
    iff :math:`(i, j)` occurs in ``edge_index``, so **duplicate entries count
    once**, and a **self-loop** :math:`(i, i)` present in ``edge_index``
    sets :math:`A'_{ii} = 1` (``self_loops=False`` ignores self-loops, the
    "no self-loops" reading of the paper; the graphs gCooL was run on have
    none, so both agree there).

    Args:
        r (torch.Tensor): Soft assignments :math:`R`, ``[N, K]``, :math:`N
            \geq 2`.
        edge_index (torch.Tensor): The view's directed edges ``[2, E]``.
        lam (float, optional): :math:`\lambda`, weight of the inter-community
            density. (default: :obj:`1.0`)
        self_loops (bool, optional): Count self-loops of ``edge_index`` in
            :math:`A'`, as the official code does. (default: :obj:`True`)
        coalesced (bool, optional): Promise that ``edge_index`` has no
            duplicate entries (e.g. a subset of a coalesced graph), which
            skips the :math:`O(E \log E)` de-duplication. (default:
            :obj:`False`)

    Returns:
        torch.Tensor: The scalar loss.
    """
    if r.dim() != 2 or not r.is_floating_point():
        raise ValueError(f"DeCA needs soft assignments R of shape [N, K] "
                         f"(floating point), got {tuple(r.shape)} {r.dtype}")
    n = r.size(0)
    if n < 2:
        raise ValueError(f"DeCA needs at least 2 nodes (m = n(n-1) > 0), got {n}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got "
                         f"{tuple(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0
                               or int(edge_index.max()) >= n):
        raise ValueError(f"edge_index refers to nodes outside 0..{n - 1} "
                         f"(R has {n} rows)")
    src, dst = _distinct_edges(edge_index.long(), n, self_loops, coalesced)
    s = r.sum(dim=1)
    total = (s[src] * s[dst]).sum()  # sum_{k,l} DF_kl
    trace = (r[src] * r[dst]).sum()  # tr(DF)
    m = n * (n - 1)
    return ((lam * (total - trace) - (n - 1) * trace) / m
            + (r * r).sum() / (2 * n))


class DeCA(torch.nn.Module):
    r"""Module form of :func:`deca_loss` (gCooL's Dense Community
    Aggregation).

    Args:
        lam (float, optional): :math:`\lambda`. (default: :obj:`1.0`)
        self_loops (bool, optional): Count self-loops of ``edge_index``.
            (default: :obj:`True`)
    """

    def __init__(self, lam: float = 1.0, self_loops: bool = True):
        super().__init__()
        self.lam = lam
        self.self_loops = self_loops

    def forward(self, r: Tensor, edge_index: Tensor,
                coalesced: bool = False) -> Tensor:
        """Returns the DeCA loss of assignments ``r`` on ``edge_index``."""
        return deca_loss(r, edge_index, self.lam, self.self_loops, coalesced)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(lam={self.lam})"
