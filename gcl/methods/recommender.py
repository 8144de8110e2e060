r"""The base of the graph recommenders (LightGCN, SimGCL, LightGCL)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from gcl.datasets import BPRSampler, InteractionData
from gcl.methods.base import Method
from gcl.nn import BipartiteAdjacency

__all__ = ["Recommender"]

#: Embedding initialisations: LightGCN-PyTorch's N(0, 0.1^2), and the
#: Xavier-uniform of LightGCL and SELFRec (SimGCL).
INITS = ("normal", "xavier")


class Recommender(Method):
    r"""Base of the embedding-table recommenders on the user-item graph.

    **How they fit the** :class:`Method` **interface.** A recommender is
    not a node-level two-view method on a :class:`~torch_geometric.data.Data`:
    its "encoder" is a pair of embedding tables :math:`E_u^{(0)} \in
    \mathbb{R}^{U \times d}`, :math:`E_i^{(0)} \in \mathbb{R}^{I \times d}`
    propagated over the normalised user-item graph, and an epoch is many
    steps on mini-batches of (user, positive item, negative item) triples.
    So:

    - its data is a :class:`~gcl.datasets.InteractionData`
      (:meth:`check_input` says so when given anything else);
    - :meth:`prepare` builds the normalised adjacency once
      (:class:`~gcl.nn.BipartiteAdjacency`, in ``adj_``);
    - :meth:`epoch_batches` draws one epoch of triples with the method's
      :class:`~gcl.datasets.BPRSampler`, and :func:`gcl.fit` takes one
      optimiser step per batch on ``method(data, batch)`` (its one loop,
      with seeding, early stopping on a validation metric, checkpoints);
    - :meth:`embed` returns the pair ``(user_emb, item_emb)`` for
      :func:`gcl.eval.ranking` (evaluation mode, no edge dropout or noise,
      recomputed from the current weights: the official LightGCL code
      scores embeddings cached one optimiser step earlier).

    Subclasses write :meth:`propagate` (the clean forward) and
    :meth:`forward` (one batch's objective).

    Args:
        num_users (int): :math:`U`.
        num_items (int): :math:`I`.
        embedding_dim (int): :math:`d`.
        sampler (BPRSampler): How an epoch's batches are drawn.
        init (str, optional): ``"normal"`` (std ``init_std``) or
            ``"xavier"`` (uniform). (default: :obj:`"normal"`)
        init_std (float, optional): Std of the normal initialisation.
            (default: :obj:`0.1`)
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int,
                 sampler: BPRSampler, init: str = "normal", init_std: float = 0.1):
        super().__init__()
        if int(num_users) < 1 or int(num_items) < 1 or int(embedding_dim) < 1:
            raise ValueError(f"num_users, num_items and embedding_dim must be >= 1, "
                             f"got {num_users}, {num_items}, {embedding_dim}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.num_users, self.num_items = int(num_users), int(num_items)
        self.embedding_dim = int(embedding_dim)
        self.init, self.init_std = init, float(init_std)
        self.sampler = sampler
        self.user_emb = torch.nn.Parameter(torch.empty(self.num_users,
                                                       self.embedding_dim))
        self.item_emb = torch.nn.Parameter(torch.empty(self.num_items,
                                                       self.embedding_dim))
        self.adj_: Optional[BipartiteAdjacency] = None
        self._init_embeddings()

    def _init_embeddings(self) -> None:
        for p in (self.user_emb, self.item_emb):
            if self.init == "normal":
                torch.nn.init.normal_(p, std=self.init_std)
            else:
                torch.nn.init.xavier_uniform_(p)

    def reset_parameters(self) -> None:
        """Re-draws the embedding tables and the other parameters, and
        forgets the fitted graph.
        """
        self._init_embeddings()
        for module in self.children():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.adj_ = None

    def check_input(self, data: InteractionData) -> None:
        """Checks that ``data`` is an :class:`~gcl.datasets.InteractionData`
        with the method's numbers of users and items.
        """
        if not isinstance(data, InteractionData):
            raise ValueError(f"{type(self).__name__} trains on "
                             f"gcl.datasets.InteractionData (load_interactions), "
                             f"got {type(data).__name__}")
        if (data.num_users, data.num_items) != (self.num_users, self.num_items):
            raise ValueError(f"the data has {data.num_users} users x "
                             f"{data.num_items} items, the model was built for "
                             f"{self.num_users} x {self.num_items}")

    def prepare(self, data: InteractionData) -> None:
        r"""Builds :math:`\tilde R` of the training interactions once."""
        dtype = self.user_emb.dtype
        self.adj_ = BipartiteAdjacency(data.biadjacency("sym")).to(
            self.user_emb.device, dtype)

    def _adj(self, data: InteractionData) -> BipartiteAdjacency:
        if self.adj_ is None or self.adj_.device != self.user_emb.device:
            self.prepare(data)
        return self.adj_

    def epoch_batches(self, data: InteractionData) -> list:
        """One epoch of ``(users, pos, neg[, batch_users])`` batches."""
        return self.sampler(data)

    def propagate(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        """The final user and item embeddings of the clean graph (with
        gradients).
        """
        raise NotImplementedError  # pragma: no cover

    def encode(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        """:meth:`propagate` (with gradients)."""
        return self.propagate(data)

    @torch.no_grad()
    def embed(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        """``(user_emb [U, d], item_emb [I, d])`` in evaluation mode,
        detached; the training mode is restored afterwards.
        """
        self.check_input(data)
        was_training = self.training
        self.eval()
        try:
            u, i = self.propagate(data)
            return u.detach(), i.detach()
        finally:
            self.train(was_training)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(users={self.num_users}, "
                f"items={self.num_items}, dim={self.embedding_dim}, "
                f"sampler={self.sampler!r})")
