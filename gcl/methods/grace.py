"""GRACE: Deep Graph Contrastive Representation Learning."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import Compose, EdgeDrop, FeatureMask
from gcl.losses import InfoNCE
from gcl.methods.two_view import TwoViewMethod
from gcl.nn import GCNEncoder, ProjectionHead

__all__ = ["GRACE"]


class GRACE(TwoViewMethod):
    r"""GRACE from `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (Zhu et al., ICML GRL+ 2020).

    Each step draws two views :math:`\tilde{G}_k = (\tilde{X}_k,
    \tilde{A}_k)` by edge removal (rate :math:`p_{e,k}`, per directed entry)
    and column feature masking (rate :math:`p_{f,k}`), encodes them,
    :math:`z^{(k)} = f(\tilde{X}_k, \tilde{A}_k)`, projects
    :math:`u = g(z^{(1)})`, :math:`v = g(z^{(2)})` and minimises the
    symmetric InfoNCE with inter- and intra-view negatives
    (:func:`gcl.losses.info_nce`):

    .. math::
        \mathcal{L} = \frac{1}{2N} \sum_{i=1}^{N}
        \left[\ell(u_i, v_i) + \ell(v_i, u_i)\right].

    Embeddings for evaluation are :math:`f(X, A)` on the clean graph.

    Args:
        encoder (torch.nn.Module): Encoder ``(x, edge_index, edge_weight) ->
            [N, h]`` with an ``out_channels`` attribute (e.g.
            :class:`gcl.nn.GCNEncoder`).
        proj_channels (int): Hidden size :math:`p` of the projection head
            :math:`h \to p \to h`.
        augmentors (Sequence[Callable]): The two view makers.
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        block_size (int, optional): Rows per InfoNCE block.
            (default: :obj:`None`, automatic)
        cache_mb (float, optional): Memory the loss may use to keep its
            forward blocks for the backward pass (about :math:`8 N^2` bytes:
            Cora 62 MiB, Photo 470 MiB); larger graphs recompute them and
            stay at :math:`O(N \cdot \text{block})`. (default: :obj:`256`)
    """

    def __init__(self, encoder: torch.nn.Module, proj_channels: int,
                 augmentors: Sequence[Callable[[Data], Data]],
                 tau: float = 0.5, block_size: Optional[int] = None,
                 cache_mb: float = 256.0):
        super().__init__(encoder, augmentors,
                         ProjectionHead(encoder.out_channels, proj_channels))
        self.loss = InfoNCE(tau=tau, block_size=block_size, cache_mb=cache_mb)

    @classmethod
    def from_config(cls, in_channels: int, hidden_channels: int = 128,
                    proj_channels: int = 128, num_layers: int = 2,
                    activation: str = "relu", degree: str = "in",
                    drop_edge: Sequence[float] = (0.2, 0.4),
                    drop_feature: Sequence[float] = (0.3, 0.4),
                    tau: float = 0.4,
                    block_size: Optional[int] = None,
                    cache_mb: float = 256.0) -> GRACE:
        """Builds GRACE from the hyper-parameters of its config files.

        The defaults are the official Cora configuration. ``drop_edge`` and
        ``drop_feature`` hold the rates of view 1 and view 2; ``degree`` is
        the GCN normalisation of directed views (see
        :class:`gcl.nn.GCNEncoder`: ``"out"`` reproduces the PyG 1.x code).
        """
        encoder = GCNEncoder(in_channels, hidden_channels, num_layers,
                             activation=activation, degree=degree)
        augmentors = [Compose([EdgeDrop(pe), FeatureMask(pf)])
                      for pe, pf in zip(drop_edge, drop_feature)]
        return cls(encoder, proj_channels, augmentors, tau, block_size, cache_mb)

    def objective(self, z1: Tensor, z2: Tensor, views: tuple[Data, Data],
                  nodes: Optional[Tensor] = None) -> Tensor:
        """The symmetric InfoNCE of the projections :math:`g(z^{(1)}),
        g(z^{(2)})`.
        """
        return self.loss(self.projector(z1), self.projector(z2))

    def _repr_args(self) -> str:
        return f", loss={self.loss}"
