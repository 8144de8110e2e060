"""CSGCL: Community-Strength-Enhanced Graph Contrastive Learning."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import (
    CommunalAttributeVoting,
    CommunalAugmentor,
    CommunalEdgeDrop,
    Compose,
    walk_augmentors,
)
from gcl.community import community_strength, detect
from gcl.losses import TeamUp, team_up_gamma
from gcl.methods.two_view import TwoViewMethod, TwoViewStep
from gcl.nn import GCNEncoder, ProjectionHead

__all__ = ["CSGCL"]


class CSGCL(TwoViewMethod):
    r"""CSGCL from `"CSGCL: Community-Strength-Enhanced Graph Contrastive
    Learning" <https://arxiv.org/abs/2305.04658>`_ (Chen et al., IJCAI 2023).

    GRACE's pipeline with community strength everywhere. Once, before
    training (:meth:`prepare`): communities :math:`c(i)` by Leiden
    (:func:`gcl.community.detect`), their strengths
    :math:`S_c = I_c/m - (D_c/2m)^2` and the node strengths
    :math:`S_i = S_{c(i)}` (:func:`gcl.community.community_strength`), and
    the cached probabilities of the augmentors. Each step draws two views
    with Communal Edge Dropping (:class:`gcl.augment.CommunalEdgeDrop`: keep
    edge :math:`e` with probability
    :math:`\min(1, w_e/\bar{w} \cdot (1 - p_e))`, where :math:`w_e` is
    high inside strong communities) and Communal Attribute Voting
    (:class:`gcl.augment.CommunalAttributeVoting`: drop the columns that
    strong communities vote for least), encodes them, projects
    :math:`u = g(z^{(1)})`, :math:`v = g(z^{(2)})` and minimises the Team-up
    objective (:func:`gcl.losses.team_up_loss`), InfoNCE on the shifted
    similarities

    .. math::
        \tilde\theta(a_i, b_j) = \theta(a_i, b_j) + \gamma(t)\,(S_i + S_j),
        \qquad
        \gamma(t) = \min\Big(\max\big(0, \tfrac{t - t_0}{100}\big),
        \gamma_{\max}\Big),

    for the positive pair and the inter- and intra-view negatives, averaged
    over both views. The anchor's :math:`\gamma S_i` cancels exactly, so this
    is InfoNCE with sample :math:`j` re-weighted by
    :math:`e^{\gamma S_j / \tau}`. Up to epoch :math:`t_0` the loss is
    GRACE's; :meth:`set_epoch` (called by :func:`gcl.fit`) updates
    :math:`\gamma`.

    **Random draws.** As the official ``train.py``: both CED views, then
    both CAV views, then the encoder (``view_order = "stagewise"``, see
    :class:`~gcl.methods.TwoViewMethod`), so the same random numbers give
    the same views as the official code.

    **Communities.** The official code runs Leiden (through cdlib) without a
    seed, so its partition changes from run to run. Here the detection is
    seeded with ``community_seed``; by default (:obj:`None`) that is the run
    seed, :func:`torch.initial_seed` when :meth:`prepare` runs (the ``seed``
    of :func:`gcl.fit`), so runs with different seeds see different
    partitions, as the official runs do, and a run with a given seed
    repeats.

    Embeddings for evaluation are :math:`f(X, A)` on the clean graph.

    Args:
        encoder (torch.nn.Module): Encoder ``(x, edge_index, edge_weight) ->
            [N, h]`` with an ``out_channels`` attribute.
        proj_channels (int): Hidden size :math:`p` of the projection head
            :math:`h \to p \to h`.
        augmentors (Sequence[Callable]): The two view makers. Every
            :class:`gcl.augment.CommunalAugmentor` among them (also inside
            :class:`gcl.augment.Compose` or
            :class:`gcl.augment.RandomChoice`) is fitted by :meth:`prepare`
            with the detected communities.
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        t0 (int, optional): Warm-up epochs :math:`t_0` of plain InfoNCE.
            (default: :obj:`0`)
        gamma_max (float, optional): Final Team-up weight
            :math:`\gamma_{\max}`. (default: :obj:`1.0`)
        community (str, optional): Detection method, ``"leiden"`` (the
            official default) or ``"louvain"``. (default: :obj:`"leiden"`)
        community_seed (int, optional): Seed of the detection; :obj:`None`
            derives it from the run seed (:meth:`detection_seed`). The
            official code passes none, so its communities vary between runs.
            (default: :obj:`None`)
        resolution (float, optional): Modularity resolution of the detection.
            (default: :obj:`1.0`)
        n_iterations (int, optional): Leiden iterations (negative: until
            convergence). (default: :obj:`2`, leidenalg's and cdlib's)
        ramp (float, optional): Epochs per unit of :math:`\gamma`.
            (default: :obj:`100.0`)
        block_size (int, optional): Rows per loss block.
            (default: :obj:`None`, automatic)
        cache_mb (float, optional): Memory the loss may use to keep its
            forward blocks for the backward pass (see
            :func:`gcl.losses.info_nce`). (default: :obj:`256`)

    Attributes:
        membership_ (torch.Tensor): Community of every node, ``[N]`` (fitted
            by :meth:`prepare`, cleared by :meth:`reset_parameters`).
        community_strength_ (torch.Tensor): :math:`S_c`, ``[K]`` (fitted).
        node_strength_ (torch.Tensor): :math:`S_i`, ``[N]`` (fitted).
        gamma (float): The current Team-up weight :math:`\gamma(t)`.
    """

    _FITTED = ("membership_", "community_strength_", "node_strength_")

    #: The official order: both CED views, both CAV views, then encode.
    view_order = "stagewise"

    def __init__(self, encoder: torch.nn.Module, proj_channels: int,
                 augmentors: Sequence[Callable[[Data], Data]],
                 tau: float = 0.5, t0: int = 0, gamma_max: float = 1.0,
                 community: str = "leiden",
                 community_seed: Optional[int] = None, resolution: float = 1.0,
                 n_iterations: int = 2,
                 ramp: float = 100.0, block_size: Optional[int] = None,
                 cache_mb: float = 256.0):
        if t0 < 0:
            raise ValueError(f"t0 must be >= 0, got {t0}")
        team_up_gamma(1, t0, gamma_max, ramp)  # validates gamma_max and ramp
        if community not in ("leiden", "louvain"):
            raise ValueError(f"unknown community detection method "
                             f"{community!r}; choose from leiden, louvain")
        super().__init__(encoder, augmentors,
                         ProjectionHead(encoder.out_channels, proj_channels))
        self.loss = TeamUp(tau=tau, block_size=block_size, cache_mb=cache_mb)
        self.t0 = int(t0)
        self.gamma_max = float(gamma_max)
        self.ramp = float(ramp)
        self.community = community
        self.community_seed = (None if community_seed is None
                               else int(community_seed))
        self.resolution = float(resolution)
        self.n_iterations = int(n_iterations)
        self.gamma = 0.0
        # Graph statistics: set by prepare(), moved by .to(), not saved in
        # state_dict (prepare recomputes them; the detection is seeded).
        for name in self._FITTED:
            self.register_buffer(name, None, persistent=False)

    @classmethod
    def from_config(cls, in_channels: int, hidden_channels: int = 256,
                    proj_channels: int = 32, num_layers: int = 2,
                    activation: str = "prelu", degree: str = "in",
                    drop_edge: Sequence[float] = (0.3, 0.4),
                    drop_feature: Sequence[float] = (0.1, 0.0),
                    tau: float = 0.4, t0: int = 500, gamma_max: float = 1.0,
                    ced_thr: float = 1.0, cav_thr: float = 1.0,
                    cav: str = "sparse", community: str = "leiden",
                    community_seed: Optional[int] = None,
                    resolution: float = 1.0,
                    n_iterations: int = 2, block_size: Optional[int] = None,
                    cache_mb: float = 256.0) -> CSGCL:
        """Builds CSGCL from the hyper-parameters of its config files.

        The defaults are the official code's ``default_param`` (``train.py``).
        ``drop_edge`` holds the CED rates and ``drop_feature`` the CAV rates
        of view 1 and view 2; ``ced_thr`` and ``cav_thr`` are the official
        thresholds; ``cav`` picks the official ``cav`` (``"sparse"``) or
        ``cav_dense`` (``"dense"``, WikiCS) variant; ``degree`` is the GCN
        normalisation of directed views (see :class:`gcl.nn.GCNEncoder`).
        """
        if len(drop_edge) != 2 or len(drop_feature) != 2:
            raise ValueError(f"drop_edge and drop_feature need one rate per "
                             f"view, got {list(drop_edge)} and "
                             f"{list(drop_feature)}")
        encoder = GCNEncoder(in_channels, hidden_channels, num_layers,
                             activation=activation, degree=degree)
        augmentors = [
            Compose([CommunalEdgeDrop(pe, ced_thr),
                     CommunalAttributeVoting(pf, cav_thr, variant=cav)])
            for pe, pf in zip(drop_edge, drop_feature)]
        return cls(encoder, proj_channels, augmentors, tau, t0, gamma_max,
                   community, community_seed, resolution, n_iterations,
                   block_size=block_size, cache_mb=cache_mb)

    def prepare(self, data: Data) -> None:
        """Detects communities once and caches the strengths and the
        augmentors' probabilities (called by :func:`gcl.fit`).
        """
        super().prepare(data)
        membership = detect(data, self.community, seed=self.detection_seed(),
                            resolution=self.resolution,
                            n_iterations=self.n_iterations)
        s_c, s_i = community_strength(data.edge_index, membership,
                                      data.num_nodes)
        for aug in walk_augmentors(self.augmentors):
            if isinstance(aug, CommunalAugmentor):
                aug.fit(data, membership, s_c)
        self.membership_ = membership
        self.community_strength_ = s_c
        self.node_strength_ = s_i

    def detection_seed(self) -> int:
        """The seed handed to the community detection: ``community_seed``,
        or, when that is :obj:`None`, the run seed
        (:func:`torch.initial_seed`, what :func:`gcl.fit`'s ``seed`` set),
        reduced modulo :math:`2^{31}`.
        """
        if self.community_seed is not None:
            return self.community_seed
        return torch.initial_seed() % (2 ** 31)

    def reset_parameters(self) -> None:
        """Resets the parameters and forgets the fitted communities."""
        super().reset_parameters()
        for name in self._FITTED:
            setattr(self, name, None)

    def set_epoch(self, epoch: int) -> None:
        r"""Sets :math:`\gamma(t)` for epoch ``epoch`` (1-based)."""
        super().set_epoch(epoch)
        self.gamma = team_up_gamma(epoch, self.t0, self.gamma_max, self.ramp)

    def step(self, data: Data, nodes: Optional[Tensor] = None) -> TwoViewStep:
        """One step (see :meth:`TwoViewMethod.step`); runs :meth:`prepare`
        on ``data`` first if it has not run yet.
        """
        if self.node_strength_ is None:
            self.prepare(data)
        elif self.node_strength_.numel() != data.num_nodes:
            raise ValueError(
                f"CSGCL was prepared on a graph of {self.node_strength_.numel()}"
                f" nodes, got {data.num_nodes}; call prepare(data) again")
        return super().step(data, nodes)

    def objective(self, z1: Tensor, z2: Tensor, views: tuple[Data, Data],
                  nodes: Optional[Tensor] = None) -> Tensor:
        """Team-up on the projections, with the strengths :math:`S_i` of
        ``nodes`` (from the communities of the whole graph).
        """
        strength = self.node_strength_
        if nodes is not None:
            strength = strength[nodes]
        return self.loss(self.projector(z1), self.projector(z2), strength,
                         self.gamma)

    def _repr_args(self) -> str:
        return (f", loss={self.loss}, t0={self.t0}, "
                f"gamma_max={self.gamma_max}, community={self.community!r}, "
                f"community_seed={self.community_seed})")
