r"""LightGCN's parameter-free propagation on the user-item graph."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import torch
from torch import Tensor

from gcl.nn.activation import activation_resolver
from gcl.nn.bipartite_adjacency import BipartiteAdjacency

__all__ = ["COMBINE_MODES", "LayerOutputs", "LightGCNPropagation"]

#: How :class:`LightGCNPropagation` combines the layers.
COMBINE_MODES = ("mean", "sum", "mean_no_input", "last")

#: ``hook(layer, user_emb, item_emb) -> (user_emb, item_emb)`` applied to each
#: layer's output before it is propagated further (SimGCL's noise).
LayerHook = Callable[[int, Tensor, Tensor], tuple[Tensor, Tensor]]


class LayerOutputs(NamedTuple):
    """Per-layer embeddings of :meth:`LightGCNPropagation.layers`.

    ``users[l]`` / ``items[l]`` are :math:`E^{(l)}`, ``l = 0..L`` (``[0]``
    is the input); ``conv_users[l - 1]`` / ``conv_items[l - 1]`` are the
    graph products :math:`Z^{(l)}` (after the activation, before the
    residual), ``l = 1..L``.
    """

    users: list[Tensor]
    items: list[Tensor]
    conv_users: list[Tensor]
    conv_items: list[Tensor]


class LightGCNPropagation(torch.nn.Module):
    r"""The light graph convolution of `"LightGCN: Simplifying and Powering
    Graph Convolution Network for Recommendation"
    <https://arxiv.org/abs/2002.02126>`_ (He et al., SIGIR 2020), on the
    bipartite user-item graph, with the variants of SimGCL and LightGCL.

    With :math:`\tilde R = D_u^{-1/2} R D_i^{-1/2}` (no self-loops), for
    :math:`l = 1..L`:

    .. math::
        Z_u^{(l)} = \sigma\big(\tilde R E_i^{(l-1)}\big), \quad
        Z_i^{(l)} = \sigma\big(\tilde R^\top E_u^{(l-1)}\big), \quad
        E^{(l)} = Z^{(l)} + \rho E^{(l-1)},

    where :math:`\sigma` is the identity and :math:`\rho = 0` in LightGCN
    (LightGCL's old setting: LeakyReLU(0.5) and :math:`\rho = 1`). The
    output combines the layers:

    - ``"mean"``: :math:`\frac{1}{L+1}\sum_{l=0}^{L} E^{(l)}` (LightGCN,
      :math:`\alpha_l = 1/(L+1)`; PyG's
      :class:`~torch_geometric.nn.models.LightGCN`);
    - ``"sum"``: :math:`\sum_{l=0}^{L} E^{(l)}` (LightGCL);
    - ``"mean_no_input"``: :math:`\frac{1}{L}\sum_{l=1}^{L} E^{(l)}`
      (SimGCL/SELFRec);
    - ``"last"``: :math:`E^{(L)}`.

    Sparse products only (:class:`~gcl.nn.BipartiteAdjacency`); the
    :math:`(U+I)^2` adjacency is never formed. Edge dropout draws the user
    side and the item side of each layer independently (as LightGCL's two
    ``sparse_dropout`` calls).

    Args:
        num_layers (int): :math:`L`.
        combine (str, optional): One of :data:`COMBINE_MODES`.
            (default: :obj:`"mean"`)
        activation (str, optional): :math:`\sigma` by name (e.g.
            ``"leaky_relu"`` with ``negative_slope``), :obj:`None` for the
            identity. (default: :obj:`None`)
        negative_slope (float, optional): Of a LeakyReLU.
            (default: :obj:`0.5`)
        residual (bool, optional): :math:`\rho = 1`. (default: :obj:`False`)
        edge_dropout (float, optional): Edge dropout rate in training.
            (default: :obj:`0.0`)
    """

    def __init__(self, num_layers: int, combine: str = "mean",
                 activation: Optional[str] = None, negative_slope: float = 0.5,
                 residual: bool = False, edge_dropout: float = 0.0):
        super().__init__()
        if int(num_layers) < 0:
            raise ValueError(f"num_layers must be >= 0, got {num_layers}")
        if combine not in COMBINE_MODES:
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got "
                             f"{combine!r}")
        if combine == "mean_no_input" and int(num_layers) == 0:
            raise ValueError("combine='mean_no_input' needs num_layers >= 1")
        if not 0.0 <= edge_dropout < 1.0:
            raise ValueError(f"edge_dropout must be in [0, 1), got {edge_dropout}")
        self.num_layers, self.combine = int(num_layers), combine
        self.activation_name = activation
        if activation is None:
            self.act = torch.nn.Identity()
        elif activation == "leaky_relu":
            self.act = torch.nn.LeakyReLU(float(negative_slope))
        else:
            self.act = activation_resolver(activation)
        self.negative_slope = float(negative_slope)
        self.residual, self.edge_dropout = bool(residual), float(edge_dropout)

    def reset_parameters(self) -> None:
        """No parameters."""

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_layers={self.num_layers}, "
                f"combine={self.combine!r}, activation={self.activation_name!r}, "
                f"residual={self.residual}, edge_dropout={self.edge_dropout})")

    def layers(self, user_emb: Tensor, item_emb: Tensor, adj: BipartiteAdjacency,
               hook: Optional[LayerHook] = None) -> LayerOutputs:
        """All layers' embeddings (see :class:`LayerOutputs`)."""
        _check(user_emb, item_emb, adj)
        users, items, zu, zi = [user_emb], [item_emb], [], []
        for layer in range(1, self.num_layers + 1):
            a_u = adj.dropout(self.edge_dropout, self.training)
            a_i = adj.dropout(self.edge_dropout, self.training)
            z_u = self.act(a_u.matmul(items[-1]))
            z_i = self.act(a_i.t_matmul(users[-1]))
            e_u = z_u + users[-1] if self.residual else z_u
            e_i = z_i + items[-1] if self.residual else z_i
            if hook is not None:
                e_u, e_i = hook(layer, e_u, e_i)
            zu.append(z_u)
            zi.append(z_i)
            users.append(e_u)
            items.append(e_i)
        return LayerOutputs(users, items, zu, zi)

    def combine_layers(self, out: LayerOutputs) -> tuple[Tensor, Tensor]:
        """The combined user and item embeddings of :meth:`layers`' output."""
        res = []
        for embs in (out.users, out.items):
            if self.combine == "last":
                res.append(embs[-1])
                continue
            if self.combine == "mean_no_input":
                embs = embs[1:]
            total = embs[0]
            for e in embs[1:]:  # L adds, no [L + 1, N, d] stack
                total = total + e
            res.append(total if self.combine == "sum" else total / len(embs))
        return res[0], res[1]

    def forward(self, user_emb: Tensor, item_emb: Tensor, adj: BipartiteAdjacency,
                hook: Optional[LayerHook] = None) -> tuple[Tensor, Tensor]:
        r"""Propagates and combines.

        Args:
            user_emb (torch.Tensor): :math:`E_u^{(0)}`, ``[U, d]``.
            item_emb (torch.Tensor): :math:`E_i^{(0)}`, ``[I, d]``.
            adj (BipartiteAdjacency): :math:`\tilde R`, ``U x I``.
            hook (Callable, optional): ``hook(l, E_u, E_i)`` returns the
                layer-:math:`l` embeddings to keep and propagate (SimGCL's
                noise). (default: :obj:`None`)

        Returns:
            tuple[Tensor, Tensor]: ``[U, d]`` and ``[I, d]``.
        """
        return self.combine_layers(self.layers(user_emb, item_emb, adj, hook))


def _check(user_emb: Tensor, item_emb: Tensor, adj: BipartiteAdjacency) -> None:
    if not isinstance(adj, BipartiteAdjacency):
        raise ValueError(f"adj must be a gcl.nn.BipartiteAdjacency, got "
                         f"{type(adj).__name__}")
    if user_emb.dim() != 2 or item_emb.dim() != 2 or \
            user_emb.size(1) != item_emb.size(1):
        raise ValueError(f"user_emb and item_emb must be [U, d] and [I, d], got "
                         f"{tuple(user_emb.shape)} and {tuple(item_emb.shape)}")
    if (user_emb.size(0), item_emb.size(0)) != adj.shape:
        raise ValueError(f"{user_emb.size(0)} users x {item_emb.size(0)} items do "
                         f"not match the {adj.shape[0]} x {adj.shape[1]} adjacency")
