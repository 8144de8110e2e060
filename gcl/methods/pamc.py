r"""PamC: parameter-free meta-node approximation for graph clustering."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.losses import influence_matrix, pamc_loss
from gcl.methods.base import Method
from gcl.nn import ClusterHead, MLPEncoder, pretrain_autoencoder

__all__ = ["PamC"]


class PamC(Method):
    r"""PamC from `"Efficient block contrastive learning via parameter-free
    meta-node approximation" <https://arxiv.org/abs/2209.14067>`_
    (Kulatilleke, Portmann and Chandra, 2022), following the official code
    ``gayanku/PAMC`` (model ``SCGC_TRIMPOSCCSP``).

    A clustering method without message passing: an MLP :math:`f` embeds the
    features, :math:`z = f(X)`, and the graph enters only through the
    positives of the loss. Once, before training (:meth:`prepare`):

    1. :math:`f` takes the encoder of SDCN's pre-trained autoencoder
       (:func:`gcl.nn.pretrain_autoencoder`, cached per dataset);
    2. the centres :math:`\mu_k` of the Student-t head
       (:class:`gcl.nn.ClusterHead`) come from k-means on :math:`f(X)`;
    3. the influence :math:`\Gamma = \sum_{r=1}^{R} \hat{A}^r`,
       :math:`\hat{A} = D^{-1}(A + I)`, sparse
       (:func:`gcl.losses.influence_matrix`).

    Each step computes :math:`q_{ik} \propto (1 + \lVert z_i - \mu_k
    \rVert^2)^{-1}`, DEC's target :math:`p_{ik} \propto q_{ik}^2 / \sum_j
    q_{jk}` (from the same, detached, :math:`q`: the official code's
    separate no-grad forward gives the same values), the hard clusters
    :math:`c_i = \arg\max_k q_{ik}` and the meta-nodes :math:`m_k =
    \sum_{c_i = k} z_i`, and minimises

    .. math::
        \mathcal{L} = \beta\, \mathrm{KL}(P \,\|\, Q) + \alpha\Big[
        -\frac{1}{N}\sum_i \log \sum_{j} \Gamma_{ij}\, e^{\tau \tilde s(z_i,
        z_j)} + \frac{1}{K}\sum_k \log \sum_l e^{\tau \tilde s(m_k, m_l)}
        \Big]

    (:func:`gcl.losses.pamc_loss`; :math:`\tilde s` is the cosine with
    self-pairs set to 0, and :math:`\tau` multiplies it): node-level
    positives over the :math:`O(|\Gamma|)` non-zeros and :math:`K \times K`
    meta-node negatives instead of the :math:`N \times N` negatives of
    Graph-MLP's Ncontrast, so an epoch is linear in :math:`N`.

    The clusters of a step, before its update, are kept in ``assignment_``:
    the official code scores exactly these at every epoch (the first is the
    k-means-initialised autoencoder). :meth:`predict` gives the clusters of
    the trained model. See :func:`gcl.eval.report_over_epochs` for the two
    reporting rules.

    Args:
        encoder (MLPEncoder): The MLP :math:`f`.
        num_clusters (int): :math:`K`.
        alpha (float, optional): Weight :math:`\alpha` of the PamC term.
            (default: :obj:`0.5`)
        beta (float, optional): Weight :math:`\beta` of the KL term.
            (default: :obj:`0.5`)
        order (int, optional): :math:`R`. (default: :obj:`1`)
        cumulative (bool, optional): :math:`\Gamma = \sum_{r \leq R}
            \hat{A}^r` (the official ``--influence``, used in every published
            run) instead of :math:`\hat{A}^R`. (default: :obj:`True`)
        tau (float, optional): :math:`\tau`. (default: :obj:`0.5`)
        pretrain (bool, optional): Start from the pre-trained autoencoder;
            ``False`` trains from the random initialisation.
            (default: :obj:`True`)
        pretrain_epochs (int, optional): Autoencoder epochs (SDCN's 30).
        pretrain_lr (float, optional): Autoencoder learning rate (1e-3).
        pretrain_batch_size (int, optional): Autoencoder batch (256).
        pretrain_seed (int, optional): Seed of the autoencoder, shared by all
            runs as SDCN's one released ``.pkl`` per dataset.
            (default: :obj:`0`)
        kmeans_n_init (int, optional): k-means restarts for the centres
            (SDCN's 20).
        cache (bool or str, optional): Where to cache the autoencoder
            (:func:`gcl.nn.pretrain_autoencoder`). (default: :obj:`True`,
            the user cache directory)
        empty_clusters (str, optional): Which meta-nodes the negatives
            contrast when clusters are empty (:func:`gcl.losses.pamc_loss`):
            ``"official"`` (rows up to the largest used cluster, the
            official one-hot width), ``"keep"`` (all :math:`K`) or
            ``"drop"``. (default: :obj:`"official"`)

    Attributes:
        gamma_index_ (torch.Tensor): Non-zeros of :math:`\Gamma`, ``[2, nnz]``
            (fitted by :meth:`prepare`).
        gamma_value_ (torch.Tensor): Their values, ``[nnz]``.
        assignment_ (torch.Tensor): Clusters of the last step, ``[N]``.
    """

    _FITTED = ("gamma_index_", "gamma_value_", "assignment_")

    def __init__(self, encoder: MLPEncoder, num_clusters: int,
                 alpha: float = 0.5, beta: float = 0.5, order: int = 1,
                 cumulative: bool = True, tau: float = 0.5,
                 pretrain: bool = True, pretrain_epochs: int = 30,
                 pretrain_lr: float = 1e-3, pretrain_batch_size: int = 256,
                 pretrain_seed: int = 0, kmeans_n_init: int = 20,
                 cache: Union[bool, str] = True,
                 empty_clusters: str = "official"):
        super().__init__()
        if int(order) < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got {alpha} and "
                             f"{beta}")
        self.encoder = encoder
        self.head = ClusterHead(num_clusters, encoder.out_channels)
        self.num_clusters = int(num_clusters)
        self.alpha, self.beta, self.tau = float(alpha), float(beta), float(tau)
        self.order, self.cumulative = int(order), bool(cumulative)
        self.pretrain = bool(pretrain)
        self.pretrain_args = {"epochs": int(pretrain_epochs),
                              "lr": float(pretrain_lr),
                              "batch_size": int(pretrain_batch_size),
                              "seed": int(pretrain_seed)}
        self.kmeans_n_init = int(kmeans_n_init)
        self.cache = cache
        self.empty_clusters = empty_clusters
        for name in self._FITTED:
            self.register_buffer(name, None, persistent=False)

    @classmethod
    def from_config(cls, in_channels: int, num_clusters: int,
                    hidden_channels: Sequence[int] = (500, 500, 2000),
                    out_channels: int = 10, alpha: float = 0.5,
                    beta: float = 0.5, order: int = 1, cumulative: bool = True,
                    tau: float = 0.5, pretrain: bool = True,
                    pretrain_epochs: int = 30, pretrain_lr: float = 1e-3,
                    pretrain_batch_size: int = 256, pretrain_seed: int = 0,
                    kmeans_n_init: int = 20, cache: Union[bool, str] = True,
                    empty_clusters: str = "official") -> PamC:
        """Builds PamC from the hyper-parameters of its config files (the
        defaults are the official ACM settings).
        """
        encoder = MLPEncoder(in_channels, out_channels, hidden_channels)
        return cls(encoder, num_clusters, alpha, beta, order, cumulative, tau,
                   pretrain, pretrain_epochs, pretrain_lr, pretrain_batch_size,
                   pretrain_seed, kmeans_n_init, cache, empty_clusters)

    def reset_parameters(self) -> None:
        """Resets the encoder and the centres and forgets the fitted state."""
        self.encoder.reset_parameters()
        self.head.reset_parameters()
        for name in self._FITTED:
            setattr(self, name, None)

    def encode(self, data: Data) -> Tensor:
        """:math:`z = f(X)` (the graph is not used)."""
        return self.encoder(data.x)

    def prepare(self, data: Data) -> None:
        r"""Loads the pre-trained encoder, sets the centres by k-means and
        computes :math:`\Gamma` (called by :func:`gcl.fit`).
        """
        if self.pretrain:
            ae = pretrain_autoencoder(
                data.x, self.encoder.hidden_channels, self.encoder.out_channels,
                cache=self.cache, device=data.x.device, **self.pretrain_args)
            self.encoder.load_state_dict(ae.encoder.state_dict())
        # k-means seeded from torch's RNG, so fit(seed=...) repeats it
        seed = int(torch.randint(2**31 - 1, ()).item())
        with torch.no_grad():
            z = self.encoder(data.x)
        self.head.init_centers(z, n_init=self.kmeans_n_init, seed=seed)
        self.gamma_index_, self.gamma_value_ = influence_matrix(
            data.edge_index, data.num_nodes, self.order, self.cumulative)

    def forward(self, data: Data) -> Tensor:
        r"""Returns :math:`\beta\,\mathrm{KL}(P\|Q) + \alpha\,\mathcal{L}_{
        \mathrm{PamC}}` of one step and keeps its clusters in
        ``assignment_``.
        """
        if self.gamma_index_ is None:
            raise RuntimeError("PamC needs prepare(data) (gcl.fit calls it) "
                               "before training")
        z = self.encode(data)
        q = self.head(z)
        p = ClusterHead.target_distribution(q.detach())
        self.assignment_ = q.detach().argmax(dim=1)
        loss = self.beta * ClusterHead.kl_loss(p, q)
        return loss + self.alpha * pamc_loss(
            z, self.gamma_index_, self.gamma_value_, self.assignment_,
            self.num_clusters, self.tau, empty_clusters=self.empty_clusters)

    @torch.no_grad()
    def predict(self, data: Data) -> Tensor:
        r"""The clusters :math:`\arg\max_k q_{ik}` of the model as it is,
        ``[N]`` (evaluation mode, no grad).
        """
        was_training = self.training
        self.eval()
        try:
            return self.head(self.encode(data)).argmax(dim=1)
        finally:
            self.train(was_training)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(encoder={self.encoder}, "
                f"num_clusters={self.num_clusters}, alpha={self.alpha}, "
                f"beta={self.beta}, order={self.order}, tau={self.tau})")
