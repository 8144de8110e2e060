r"""HeCo's network-schema view encoder: intra-type and type-level attention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.nn.semantic_attention import SemanticAttention

__all__ = ["IntraTypeAttention", "NetworkSchemaEncoder"]


class IntraTypeAttention(torch.nn.Module):
    r"""HeCo's node-level attention over sampled neighbours of one type.

    ``intra_att`` in ``module/sc_encoder.py`` of ``liun-online/HeCo``. For
    target node :math:`i` with embedding :math:`h_i` and its sampled
    neighbours :math:`j \in S_i` of one type (embeddings :math:`h_j`):

    .. math::
        \alpha_{ij} = \mathrm{softmax}_{j \in S_i}\Big(\mathrm{LeakyReLU}
        \big(\mathbf{a}^\top [h_i \,\|\, h_j]\big)\Big), \qquad
        \mathrm{out}_i = \sum_{j \in S_i} \alpha_{ij} h_j.

    LeakyReLU has slope 0.01; attention dropout drops entries of
    :math:`\mathbf{a}` (Xavier normal, gain 1.414), as in the official code.
    A neighbour sampled twice counts twice.

    Args:
        channels (int): Embedding size :math:`C`.
        attn_drop (float, optional): Dropout rate on :math:`\mathbf{a}`.
            (default: :obj:`0.0`)
    """

    def __init__(self, channels: int, attn_drop: float = 0.0):
        super().__init__()
        if not 0.0 <= attn_drop < 1.0:
            raise ValueError(f"attn_drop must be in [0, 1), got {attn_drop}")
        self.channels = channels
        self.attn_drop = attn_drop
        self.att = torch.nn.Parameter(torch.empty(1, 2 * channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        torch.nn.init.xavier_normal_(self.att, gain=1.414)

    def forward(self, x: Tensor, x_neighbor: Tensor, index: Tensor) -> Tensor:
        r"""Aggregates neighbours ``x_neighbor[index]`` of every target node.

        Args:
            x (torch.Tensor): Target embeddings :math:`(N, C)`.
            x_neighbor (torch.Tensor): Embeddings of the neighbour type
                :math:`(N_t, C)`.
            index (torch.Tensor): Sampled neighbours :math:`(N, k)`, indices
                into ``x_neighbor``.
        """
        if index.dim() != 2 or index.size(0) != x.size(0) or index.size(1) < 1:
            raise ValueError(f"neighbour index must be [N, k] = [{x.size(0)}, k>=1], "
                             f"got {tuple(index.shape)}")
        if index.is_floating_point() or index.dtype == torch.bool:
            raise ValueError(f"neighbour index must be integer, got {index.dtype}")
        if int(index.min()) < 0 or int(index.max()) >= x_neighbor.size(0):
            raise ValueError(f"neighbour index out of range [0, {x_neighbor.size(0)})")
        att = F.dropout(self.att, self.attn_drop, self.training)
        nb = x_neighbor[index.long()]  # [N, k, C]
        a_self, a_nb = att[0, :self.channels], att[0, self.channels:]
        score = F.leaky_relu((x @ a_self)[:, None] + nb @ a_nb, 0.01)  # [N, k]
        alpha = torch.softmax(score, dim=1)
        return (alpha[:, :, None] * nb).sum(dim=1)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, "
                f"attn_drop={self.attn_drop})")


class NetworkSchemaEncoder(torch.nn.Module):
    r"""HeCo's network-schema view of the target nodes.

    From `"Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_ (HeCo,
    Wang et al., KDD 2021), ``Sc_encoder`` in ``module/sc_encoder.py``. For
    every neighbour type :math:`t = 1..T` of the network schema, the target
    node :math:`i` aggregates a fixed-size sample :math:`S^t_i` of its
    type-:math:`t` neighbours with :class:`IntraTypeAttention`, followed by
    an ELU; the types are fused by type-level :class:`SemanticAttention`:

    .. math::
        h^t_i = \mathrm{ELU}\Big(\sum_{j \in S^t_i} \alpha^t_{ij} h_j\Big),
        \qquad z^{sc}_i = \sum_t \beta_t h^t_i.

    The sampling itself (HeCo draws ``sample_rate[t]`` neighbours per node
    and epoch, with replacement only when a node has fewer) is the caller's:
    this module takes the drawn indices.

    Args:
        channels (int): Embedding size :math:`C`.
        num_types (int): Number of neighbour types :math:`T`.
        attn_drop (float, optional): Attention dropout of both levels.
            (default: :obj:`0.0`)

    Shapes:
        - **input:** target embeddings :math:`(N, C)`, a list of :math:`T`
          neighbour-type embeddings :math:`(N_t, C)` and a list of :math:`T`
          sampled index tensors :math:`(N, k_t)`
        - **output:** :math:`(N, C)`, and :math:`\beta` :math:`(T)` with
          ``return_attention=True``
    """

    def __init__(self, channels: int, num_types: int, attn_drop: float = 0.0):
        super().__init__()
        if num_types < 1:
            raise ValueError(f"num_types must be >= 1, got {num_types}")
        self.channels = channels
        self.num_types = num_types
        self.intra = torch.nn.ModuleList(
            IntraTypeAttention(channels, attn_drop) for _ in range(num_types))
        self.inter = SemanticAttention(channels, attn_drop)

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        for intra in self.intra:
            intra.reset_parameters()
        self.inter.reset_parameters()

    def forward(self, x: Tensor, x_neighbors: Sequence[Tensor],
                neighbor_index: Sequence[Tensor], return_attention: bool = False
                ) -> Union[Tensor, tuple[Tensor, Tensor]]:
        r"""Returns :math:`z^{sc}` (and :math:`\beta` if asked)."""
        x_neighbors, neighbor_index = list(x_neighbors), list(neighbor_index)
        if not len(x_neighbors) == len(neighbor_index) == self.num_types:
            raise ValueError(
                f"expected {self.num_types} neighbour types, got "
                f"{len(x_neighbors)} embeddings and {len(neighbor_index)} indices")
        views = [F.elu(intra(x, h, idx)) for intra, h, idx
                 in zip(self.intra, x_neighbors, neighbor_index)]
        return self.inter(views, return_attention)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, "
                f"num_types={self.num_types}, attn_drop={self.inter.attn_drop})")
