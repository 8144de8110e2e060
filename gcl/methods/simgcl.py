r"""SimGCL: graph contrastive learning for recommendation with noise views."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from gcl.augment import NoisePerturbation
from gcl.datasets import BPRSampler, InteractionData
from gcl.losses import bpr_loss, info_nce, l2_reg_batch_norm
from gcl.methods.recommender import Recommender
from gcl.nn import LightGCNPropagation

__all__ = ["SimGCL"]


class SimGCL(Recommender):
    r"""SimGCL from `"Are Graph Augmentations Necessary? Simple Graph
    Contrastive Learning for Recommendation"
    <https://arxiv.org/abs/2112.08679>`_ (Yu et al., SIGIR 2022), following
    the official ``Coder-Yu/SELFRec`` (``model/graph/SimGCL.py``).

    The encoder is LightGCN without the layer-0 term, :math:`E =
    \frac{1}{L}\sum_{l=1}^{L} E^{(l)}`. Two views add uniform noise after
    every layer (:class:`~gcl.augment.NoisePerturbation`, :math:`\epsilon`),
    :math:`E^{(l)} = \tilde A E^{(l-1)} + \Delta^{(l)}`, and each batch
    minimises

    .. math::
        \mathcal{L} = \mathcal{L}_{\mathrm{BPR}} + \lambda\,
        \big(\mathrm{InfoNCE}(E'_{\mathcal{U}}, E''_{\mathcal{U}}) +
        \mathrm{InfoNCE}(E'_{\mathcal{I}}, E''_{\mathcal{I}})\big) +
        \mu \Big(\frac{\lVert E_{u}\rVert_F}{B} + \frac{\lVert E_{i^+}
        \rVert_F}{B}\Big),

    with :math:`\mathcal{U}`, :math:`\mathcal{I}` the batch's distinct users
    and positive items, InfoNCE with cosine similarity, temperature
    :math:`\tau` and in-batch negatives of the other view only
    (:func:`gcl.losses.info_nce` with ``intra_view=False,
    symmetric=False``), BPR with SELFRec's :math:`10^{-5}` inside the log and
    SELFRec's (unsquared) regulariser on the batch's propagated rows.
    Batches are shuffled interactions with uniform negatives; embeddings are
    Xavier-initialised.

    Args:
        num_users (int): :math:`U`.
        num_items (int): :math:`I`.
        embedding_dim (int, optional): :math:`d`. (default: :obj:`64`)
        num_layers (int, optional): :math:`L`. (default: :obj:`2`)
        cl_rate (float, optional): :math:`\lambda`. (default: :obj:`0.5`)
        eps (float, optional): Noise magnitude :math:`\epsilon`.
            (default: :obj:`0.1`)
        tau (float, optional): :math:`\tau`. (default: :obj:`0.2`)
        reg (float, optional): :math:`\mu`. (default: :obj:`1e-4`)
        batch_size (int, optional): Interactions per batch.
            (default: :obj:`2048`)
        sampling (str, optional): :class:`~gcl.datasets.BPRSampler` mode.
            (default: :obj:`"interaction"`)
        init (str, optional): ``"xavier"`` or ``"normal"``.
            (default: :obj:`"xavier"`)
        cache_mb (float, optional): MiB of exponentiated logits each InfoNCE
            may keep for its backward pass instead of recomputing them
            (:func:`gcl.losses.info_nce`); the loss is the same.
            (default: :obj:`1024.0`)
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64,
                 num_layers: int = 2, cl_rate: float = 0.5, eps: float = 0.1,
                 tau: float = 0.2, reg: float = 1e-4, batch_size: int = 2048,
                 sampling: str = "interaction", init: str = "xavier",
                 cache_mb: float = 1024.0):
        super().__init__(num_users, num_items, embedding_dim,
                         BPRSampler(sampling, batch_size), init)
        self.propagation = LightGCNPropagation(num_layers, "mean_no_input")
        self.noise = NoisePerturbation(eps)
        self.cl_rate, self.tau, self.reg = float(cl_rate), float(tau), float(reg)
        self.cache_mb = float(cache_mb)

    @classmethod
    def from_config(cls, in_channels: Optional[int] = None, *, num_users: int,
                    num_items: int, embedding_dim: int = 64, num_layers: int = 2,
                    cl_rate: float = 0.5, eps: float = 0.1, tau: float = 0.2,
                    reg: float = 1e-4, batch_size: int = 2048,
                    sampling: str = "interaction", init: str = "xavier",
                    cache_mb: float = 1024.0) -> SimGCL:
        """Builds SimGCL from its config (``in_channels`` is unused)."""
        return cls(num_users, num_items, embedding_dim, num_layers, cl_rate, eps,
                   tau, reg, batch_size, sampling, init, cache_mb)

    def propagate(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        """Clean :math:`E_u, E_i`."""
        return self.propagation(self.user_emb, self.item_emb, self._adj(data))

    def perturbed(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        """One noisy view (noise after every layer)."""
        return self.propagation(self.user_emb, self.item_emb, self._adj(data),
                                hook=self.noise.hook)

    def forward(self, data: InteractionData, batch: tuple) -> Tensor:
        """BPR + lambda (user and item InfoNCE) + regulariser."""
        users, pos, neg = batch[:3]
        eu, ei = self.propagate(data)
        u_b, p_b = eu[users], ei[pos]
        loss = bpr_loss(u_b, p_b, ei[neg], eps=1e-5)
        loss = loss + self.reg * l2_reg_batch_norm(u_b, p_b)
        if self.cl_rate:
            u_idx, i_idx = torch.unique(users), torch.unique(pos)
            u1, i1 = self.perturbed(data)
            u2, i2 = self.perturbed(data)
            cl = (info_nce(u1[u_idx], u2[u_idx], self.tau, intra_view=False,
                           symmetric=False, cache_mb=self.cache_mb)
                  + info_nce(i1[i_idx], i2[i_idx], self.tau, intra_view=False,
                             symmetric=False, cache_mb=self.cache_mb))
            loss = loss + self.cl_rate * cl
        return loss
