r"""HeCo's meta-path view encoder: one GCN layer per meta-path and semantic
attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

from gcl.nn.gcn_encoder import _GCNConv
from gcl.nn.meta_path_gcn import MetaPathAdj, _propagation
from gcl.nn.semantic_attention import SemanticAttention

__all__ = ["MetaPathEncoder"]


class MetaPathEncoder(torch.nn.Module):
    r"""HeCo's meta-path view: a GCN per meta-path fused by semantic attention.

    From `"Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_ (HeCo,
    Wang et al., KDD 2021), ``Mp_encoder`` in ``module/mp_encoder.py``. For
    meta-paths :math:`m = 1..M` with normalised adjacency :math:`\hat{A}^m`
    (:func:`~gcl.nn.meta_path_adjacency`):

    .. math::
        h^m = \mathrm{PReLU}_m\big(\hat{A}^m h W_m + b_m\big), \qquad
        z^{mp} = \sum_m \beta_m h^m

    with one GCN layer (own weights and PReLU slope) per meta-path and
    :math:`\beta` from :class:`SemanticAttention`. The layers are PyG
    ``GCNConv(normalize=False)`` on the given propagation matrices, with
    HeCo's initialisation (Xavier normal, gain 1.414; zero bias; PReLU 0.25).

    Args:
        channels (int): Embedding size (HeCo: ``hidden_dim``, 64).
        num_meta_paths (int): :math:`M`.
        attn_drop (float, optional): Attention dropout of the semantic
            attention. (default: :obj:`0.0`)

    Shapes:
        - **input:** target-node embeddings :math:`(N, C)` (HeCo: the ELU
          of the type-specific projection) and :math:`M` meta-path graphs,
          each a sparse propagation matrix, an ``edge_index`` or
          ``(edge_index, edge_weight)`` (see :class:`MetaPathGCN`)
        - **output:** :math:`(N, C)`
    """

    def __init__(self, channels: int, num_meta_paths: int, attn_drop: float = 0.0):
        super().__init__()
        if num_meta_paths < 1:
            raise ValueError(f"num_meta_paths must be >= 1, got {num_meta_paths}")
        self.channels = channels
        self.num_meta_paths = num_meta_paths
        self.convs = torch.nn.ModuleList(
            _GCNConv(channels, channels, normalize=False, bias=True)
            for _ in range(num_meta_paths))
        self.acts = torch.nn.ModuleList(torch.nn.PReLU() for _ in range(num_meta_paths))
        self.attention = SemanticAttention(channels, attn_drop)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        for conv, act in zip(self.convs, self.acts):
            conv.reset_parameters()
            torch.nn.init.xavier_normal_(conv.lin.weight, gain=1.414)
            torch.nn.init.constant_(act.weight, 0.25)
        self.attention.reset_parameters()

    def forward(self, x: Tensor, adjs: Sequence[MetaPathAdj],
                return_attention: bool = False
                ) -> Union[Tensor, tuple[Tensor, Tensor]]:
        r"""Returns :math:`z^{mp}` (and :math:`\beta` if asked)."""
        adjs = list(adjs)
        if len(adjs) != self.num_meta_paths:
            raise ValueError(f"expected {self.num_meta_paths} meta-path graphs, "
                             f"got {len(adjs)}")
        if x.dim() != 2 or x.size(1) != self.channels:
            raise ValueError(f"x must be [N, {self.channels}], got {tuple(x.shape)}")
        views = [act(conv(x, _propagation(adj, x.size(0), x.dtype)))
                 for conv, act, adj in zip(self.convs, self.acts, adjs)]
        return self.attention(views, return_attention)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, "
                f"num_meta_paths={self.num_meta_paths}, "
                f"attn_drop={self.attention.attn_drop})")
