r"""LightGCN: light graph convolution for recommendation."""

from __future__ import annotations

from typing import Optional

from torch import Tensor

from gcl.datasets import BPRSampler, InteractionData
from gcl.losses import bpr_loss, l2_reg_batch_ego
from gcl.methods.recommender import Recommender
from gcl.nn import LightGCNPropagation

__all__ = ["LightGCN"]


class LightGCN(Recommender):
    r"""LightGCN from `"LightGCN: Simplifying and Powering Graph Convolution
    Network for Recommendation" <https://arxiv.org/abs/2002.02126>`_ (He et
    al., SIGIR 2020), following ``gusye1234/LightGCN-PyTorch``.

    .. math::
        E^{(l)} = \tilde A E^{(l-1)}, \qquad
        E = \frac{1}{L + 1}\sum_{l=0}^{L} E^{(l)}, \qquad
        \hat y_{ui} = e_u^\top e_i,

    :math:`\tilde A` the symmetric-normalised bipartite adjacency
    (:class:`~gcl.nn.LightGCNPropagation`, ``combine="mean"``), trained
    with

    .. math::
        \mathcal{L} = \mathcal{L}_{\mathrm{BPR}} + \lambda \frac{1}{2B}
        \big(\lVert E^{(0)}_{u}\rVert^2 + \lVert E^{(0)}_{i^+}\rVert^2 +
        \lVert E^{(0)}_{i^-}\rVert^2\big)

    on batches of users drawn uniformly (LightGCN's
    ``UniformSample_original``; :class:`~gcl.datasets.BPRSampler` mode
    ``"user"``), embeddings initialised :math:`\mathcal{N}(0, 0.1^2)`.

    Args:
        num_users (int): :math:`U`.
        num_items (int): :math:`I`.
        embedding_dim (int, optional): :math:`d`. (default: :obj:`64`)
        num_layers (int, optional): :math:`L`. (default: :obj:`3`)
        reg (float, optional): :math:`\lambda` (``decay``).
            (default: :obj:`1e-4`)
        batch_size (int, optional): Triples per batch (``bpr_batch``).
            (default: :obj:`2048`)
        sampling (str, optional): :class:`~gcl.datasets.BPRSampler` mode.
            (default: :obj:`"user"`)
        edge_dropout (float, optional): LightGCN's optional graph dropout
            (off in the published runs). (default: :obj:`0.0`)
        init (str, optional): ``"normal"`` or ``"xavier"``.
            (default: :obj:`"normal"`)
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64,
                 num_layers: int = 3, reg: float = 1e-4, batch_size: int = 2048,
                 sampling: str = "user", edge_dropout: float = 0.0,
                 init: str = "normal"):
        super().__init__(num_users, num_items, embedding_dim,
                         BPRSampler(sampling, batch_size), init)
        self.propagation = LightGCNPropagation(num_layers, "mean",
                                               edge_dropout=edge_dropout)
        self.reg = float(reg)

    @classmethod
    def from_config(cls, in_channels: Optional[int] = None, *, num_users: int,
                    num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                    reg: float = 1e-4, batch_size: int = 2048,
                    sampling: str = "user", edge_dropout: float = 0.0,
                    init: str = "normal") -> LightGCN:
        """Builds LightGCN from its config (``in_channels`` is unused: the
        inputs are learned embeddings).
        """
        return cls(num_users, num_items, embedding_dim, num_layers, reg,
                   batch_size, sampling, edge_dropout, init)

    def propagate(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        """:math:`E_u, E_i` (layer mean)."""
        return self.propagation(self.user_emb, self.item_emb, self._adj(data))

    def forward(self, data: InteractionData, batch: tuple) -> Tensor:
        """BPR plus LightGCN's L2 of the batch's layer-0 rows."""
        users, pos, neg = batch[:3]
        eu, ei = self.propagate(data)
        loss = bpr_loss(eu[users], ei[pos], ei[neg])
        return loss + self.reg * l2_reg_batch_ego(
            self.user_emb[users], self.item_emb[pos], self.item_emb[neg])
