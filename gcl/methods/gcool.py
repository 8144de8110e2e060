"""gCooL: Graph Communal Contrastive Learning."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from gcl.community import deca_loss
from gcl.losses import info_nce, num_extra_negatives, resc_loss
from gcl.losses.resc import _check_similarity
from gcl.methods.gca import _pair, _views
from gcl.methods.two_view import TwoViewMethod
from gcl.nn import GCNEncoder, ProjectionHead

__all__ = ["GCOOL", "gcool_schedule", "soft_assignment"]

DROP_SCHEMES = ("uniform", "degree", "pr", "evc")


def gcool_schedule(t: float, stride: float,
                   alpha_rate: float = 0.2) -> tuple[float, float]:
    r"""The weights of gCooL's schedule at step :math:`t` (counted from 0).

    .. math::
        \alpha(t) = \max\left(0, 1 - \frac{t}{\text{alpha\_rate} \cdot
        \text{stride}}\right), \qquad c(t) = e^{-t / \text{stride}}.

    Returns:
        tuple[float, float]: :math:`(\alpha(t), c(t))`.
    """
    alpha = max(0.0, 1.0 - t / (alpha_rate * stride))
    return alpha, math.exp(-t / stride)


def soft_assignment(h: Tensor, centers: Tensor, tau: float,
                    similarity: str = "cos") -> Tensor:
    r"""The soft community assignment of gCooL (``community_assign``).

    With the centres normalised, :math:`\bar\phi_k = \phi_k / \lVert \phi_k
    \rVert`:

    - ``"cos"``: :math:`R = \mathrm{softmax}(h \bar\Phi^\top / \tau)`;
    - ``"rbf"``: :math:`R_{ik} = \mathrm{softmax}_k(-\lVert h_i -
      \bar\phi_k \rVert^2 / \tau^2)`.

    The caller detaches ``h`` to reproduce gCooL (only the centres learn
    from :math:`R`).

    Args:
        h (torch.Tensor): Embeddings ``[N, d]``.
        centers (torch.Tensor): Community centres :math:`\Phi`, ``[K, d]``.
        tau (float): Temperature.
        similarity (str, optional): ``"cos"`` or ``"rbf"``.
            (default: :obj:`"cos"`)

    Returns:
        torch.Tensor: Row-stochastic ``[N, K]``.
    """
    phi = F.normalize(centers, dim=1)
    if similarity == "cos":
        return torch.softmax(h @ phi.t() / tau, dim=1)
    d2 = ((h * h).sum(1, keepdim=True) + (phi * phi).sum(1)[None, :]
          - 2.0 * h @ phi.t()).clamp(min=0.0)
    return torch.softmax(-d2 / (tau * tau), dim=1)


def _check_communal_args(tau: float, num_communities: int, stride: float,
                         alpha_rate: float) -> None:
    """Checks the settings that :class:`GCOOL` and
    :class:`~gcl.methods.GCOOLMultiplex` share.
    """
    if not tau > 0:
        raise ValueError(f"temperature tau must be positive, got {tau}")
    if int(num_communities) != num_communities or num_communities < 1:
        raise ValueError(f"num_communities must be a positive integer, got "
                         f"{num_communities}")
    if not stride > 0 or not alpha_rate > 0:
        raise ValueError(f"stride and alpha_rate must be positive, got "
                         f"{stride} and {alpha_rate}")


def _init_communal(module: torch.nn.Module, channels: int, tau: float,
                   num_communities: int, lam: float, gamma: float,
                   stride: float, alpha_rate: float, similarity: str,
                   symmetric_node_loss: bool,
                   block_size: Optional[int]) -> None:
    """Sets the settings that :class:`GCOOL` and
    :class:`~gcl.methods.GCOOLMultiplex` share, the schedule step and the
    community centres ``[K, channels]``, drawn standard normal (call it after
    the encoders and the projection head are built, so the random draws keep
    their order).
    """
    module.tau = float(tau)
    module.num_communities = int(num_communities)
    module.lam = float(lam)
    module.gamma = float(gamma)
    module.stride = float(stride)
    module.alpha_rate = float(alpha_rate)
    module.similarity = _check_similarity(similarity)
    module.symmetric_node_loss = bool(symmetric_node_loss)
    module.block_size = block_size
    module.centers = torch.nn.Parameter(
        torch.empty(module.num_communities, channels))
    module.t = 0
    torch.nn.init.normal_(module.centers)


class GCOOL(TwoViewMethod):
    r"""gCooL from `"Graph Communal Contrastive Learning"
    <https://arxiv.org/abs/2110.14863>`_ (Li, Jing and Tong, WWW 2022),
    following the official code ``lblaoke/gCooL`` (commit ``85c2151``).

    Each step draws two views by GCA's adaptive edge dropping and
    feature-column masking (:class:`~gcl.augment.AdaptiveEdgeDrop`,
    :class:`~gcl.augment.AdaptiveFeatureMask`), encodes them with a GCN
    :math:`f` (widths :math:`F \to h_1 \to h`), projects and normalises,
    :math:`h^{(v)} = \mathrm{normalize}(g(f(\tilde G_v)))`, and assigns the
    nodes softly to :math:`K` learnable centres :math:`\Phi \in
    \mathbb{R}^{K \times h}`:
    :math:`R^{(v)} = \mathrm{softmax}(\mathrm{sg}(h^{(v)})
    \bar\Phi^\top / \tau)` (:func:`soft_assignment`; :math:`h` is detached,
    so :math:`R` trains only :math:`\Phi`). The objective at step :math:`t`
    is

    .. math::
        \mathcal{L}(t) = \mathcal{L}_{\text{node}} + \alpha(t)\Big[c(t)\,
        \tfrac12\big(\mathcal{L}_{\text{DeCA}}^{(1)} +
        \mathcal{L}_{\text{DeCA}}^{(2)}\big) + (1 - c(t))\,
        \mathcal{L}_{\text{ReSC}}\Big],

    with :math:`c(t) = e^{-t/\text{stride}}` and :math:`\alpha(t) = \max(0,
    1 - t / (\text{alpha\_rate} \cdot \text{stride}))`
    (:func:`gcool_schedule`):

    - :math:`\mathcal{L}_{\text{node}} = \frac{1}{N}\sum_i \big[-h^{(1)}_i
      \cdot h^{(2)}_i / \tau + \log \sum_j e^{h^{(1)}_i \cdot h^{(2)}_j /
      \tau}\big]`, InfoNCE with inter-view negatives only
      (:func:`~gcl.losses.info_nce` with ``intra_view=False``). The official
      code means to average both directions but reuses the same matrix
      untransposed, so it is **one-directional** (view-1 anchors):
      ``symmetric_node_loss=False`` (default) reproduces that,
      ``True`` averages both directions;
    - :math:`\mathcal{L}_{\text{DeCA}}` (:func:`~gcl.community.deca_loss`):
      :math:`\lambda` times the inter-community edge density minus the
      intra-community density of each view, in sparse :math:`O(|E| K)` form;
    - :math:`\mathcal{L}_{\text{ReSC}}` (:func:`~gcl.losses.resc_loss`): each
      node against the other view's community centres.

    **Schedule.** The official loop runs :math:`t = 0, \dots,` ``num_epochs``;
    :func:`gcl.fit`'s epochs are 1-based, so epoch :math:`e` is
    :math:`t = e - 1` (the configs hold ``num_epochs + 1`` epochs). With the
    default ``alpha_rate = 0.2``, :math:`\alpha` reaches 0 at :math:`t =
    \text{stride}/5` (100 steps for stride 500): from then on the released
    code trains :math:`\mathcal{L}_{\text{node}}` alone (the community terms
    are then skipped here, which changes no parameter that the embeddings
    depend on), and until then :math:`c(t) \geq e^{-0.2} \approx 0.82`, so
    DeCA dominates ReSC.

    Embeddings for evaluation are :math:`f(X, A)` on the clean graph.

    Args:
        encoder (torch.nn.Module): Encoder with an ``out_channels`` attribute
            (:math:`h`), e.g. :class:`gcl.nn.GCNEncoder`.
        proj_channels (int): Hidden size of the projection head
            :math:`h \to p \to h`.
        augmentors (Sequence[Callable]): The two view makers. Adaptive ones are
            fitted on the training graph by :meth:`prepare`.
        tau (float, optional): Temperature of all three terms and of the
            assignment. (default: :obj:`0.4`)
        num_communities (int, optional): :math:`K`. (default: :obj:`10`)
        lam (float, optional): DeCA's :math:`\lambda`. (default: :obj:`1.0`)
        gamma (float, optional): ReSC's RBF reweighting :math:`\gamma` (only
            with ``similarity="rbf"``). (default: :obj:`8e-5`)
        stride (float, optional): Schedule stride. (default: :obj:`500`)
        alpha_rate (float, optional): :math:`\alpha` reaches 0 at
            ``alpha_rate * stride``. (default: :obj:`0.2`)
        similarity (str, optional): ``"cos"`` (gCooL_c, the released code's
            default and only used value) or ``"rbf"`` (gCooL_e).
            (default: :obj:`"cos"`)
        symmetric_node_loss (bool, optional): Average both directions of the
            node term (the fix) instead of the official one-directional form.
            (default: :obj:`False`)
        deca_self_loops (bool, optional): Count self-loops of a view in DeCA's
            adjacency, as the official code. (default: :obj:`True`)
        block_size (int, optional): Rows per block of the node term.
            (default: :obj:`None`)
    """

    #: The official order: both edge views, both feature views, then encode.
    view_order = "stagewise"
    batch_node_ids = False  # mini-batch: the terms need no full-graph statistics

    def __init__(self, encoder: torch.nn.Module, proj_channels: int,
                 augmentors: Sequence[Callable[[Data], Data]],
                 tau: float = 0.4, num_communities: int = 10, lam: float = 1.0,
                 gamma: float = 8e-5, stride: float = 500,
                 alpha_rate: float = 0.2, similarity: str = "cos",
                 symmetric_node_loss: bool = False,
                 deca_self_loops: bool = True,
                 block_size: Optional[int] = None):
        _check_communal_args(tau, num_communities, stride, alpha_rate)
        if gamma < 0:
            raise ValueError(f"gamma must be non-negative, got {gamma}")
        super().__init__(encoder, augmentors,
                         ProjectionHead(encoder.out_channels, proj_channels,
                                        normalize=True))
        self.deca_self_loops = bool(deca_self_loops)
        _init_communal(self, encoder.out_channels, tau, num_communities, lam,
                       gamma, stride, alpha_rate, similarity,
                       symmetric_node_loss, block_size)

    @classmethod
    def from_config(cls, in_channels: int, hidden_channels: int = 128,
                    first_hidden: Optional[int] = None,
                    proj_channels: Optional[int] = None, num_layers: int = 2,
                    activation: str = "relu", degree: str = "in",
                    drop_edge: Union[float, Sequence[float]] = 0.2,
                    drop_feature: Union[float, Sequence[float]] = 0.1,
                    drop_scheme: str = "degree",
                    feature_weighting: str = "binary", threshold: float = 0.7,
                    tau: float = 0.4, num_communities: int = 10,
                    lam: float = 1.0, gamma: float = 8e-5,
                    stride: float = 500, alpha_rate: float = 0.2,
                    similarity: str = "cos",
                    symmetric_node_loss: bool = False,
                    deca_self_loops: bool = True,
                    block_size: Optional[int] = None) -> GCOOL:
        """Builds gCooL from the hyper-parameters of its config files.

        Names map to the official ``param/*.json`` as: ``first_hidden`` =
        ``hidden_layer`` (default :math:`2h`), ``hidden_channels`` =
        ``num_hidden``, ``proj_channels`` = ``num_proj_hidden`` (default
        ``hidden_channels``), ``drop_edge`` / ``drop_feature`` =
        ``drop_{edge,feature}_rate_{1,2}`` (one rate or one per view),
        ``num_communities`` = ``num_community``, ``lam`` = ``lamda``.
        ``drop_scheme`` is ``"degree"``, ``"pr"`` or ``"evc"`` (GCA's
        adaptive augmentation with cap ``threshold``, feature weights
        ``"binary"`` or ``"abs"`` per ``feature_weighting``) or ``"uniform"``
        (:class:`~gcl.augment.EdgeDrop` and :class:`~gcl.augment.FeatureMask`,
        i.e. GRACE's views). ``degree`` is the GCN normalisation of directed
        views (:class:`gcl.nn.GCNEncoder`).
        """
        scheme = str(drop_scheme).lower()
        if scheme not in DROP_SCHEMES:
            raise ValueError(f"drop_scheme must be one of {', '.join(DROP_SCHEMES)}, "
                             f"got {drop_scheme!r}")
        encoder = GCNEncoder(in_channels, hidden_channels, num_layers,
                             hidden_channels=first_hidden, activation=activation,
                             degree=degree)
        views = _views(scheme, _pair(drop_edge, "drop_edge"),
                       _pair(drop_feature, "drop_feature"), threshold,
                       feature_weighting)
        return cls(encoder, proj_channels or hidden_channels, views, tau,
                   num_communities, lam, gamma, stride, alpha_rate, similarity,
                   symmetric_node_loss, deca_self_loops, block_size)

    #: The centres get no gradient while :math:`\alpha(t) = 0`.
    may_skip_parameters = True

    def reset_parameters(self) -> None:
        """Resets the encoder, the projection head and the centres
        (standard normal, as the official ``torch.randn``).
        """
        super().reset_parameters()
        torch.nn.init.normal_(self.centers)

    def set_epoch(self, epoch: int) -> None:
        r"""Sets the schedule step :math:`t = \text{epoch} - 1` (the official
        loop counts from 0, :func:`gcl.fit` from 1).
        """
        super().set_epoch(epoch)
        self.t = epoch - 1

    def schedule(self, t: Optional[float] = None) -> tuple[float, float]:
        r""":math:`(\alpha(t), c(t))` at step ``t`` (default: the current
        step set by :meth:`set_epoch`, 0 before the first epoch).
        """
        return gcool_schedule(self.t if t is None else t, self.stride,
                              self.alpha_rate)

    def assign(self, h: Tensor) -> Tensor:
        """Soft assignments :math:`R` of (detached) projections ``h``."""
        return soft_assignment(h.detach(), self.centers, self.tau, self.similarity)

    def node_loss(self, h1: Tensor, h2: Tensor) -> Tensor:
        """The node term: inter-view InfoNCE, one-directional unless
        ``symmetric_node_loss``.
        """
        return info_nce(h1, h2, self.tau, intra_view=False,
                        symmetric=self.symmetric_node_loss,
                        block_size=self.block_size)

    def objective(self, z1: Tensor, z2: Tensor, views: tuple[Data, Data],
                  nodes: Optional[Tensor] = None) -> dict[str, Tensor]:
        """The terms ``node``, ``deca`` and ``resc`` (absent while their
        weight is 0) and their weighted sum ``loss``.

        gCooL's loss has no node-batch form: DeCA measures edge densities of
        the whole view and ReSC contrasts with community centres averaged
        over all nodes, so ``nodes`` (POT's ``nce_batch``) is refused; POT's
        ``pot_batch``, which restricts only the POT term, works. Under
        :func:`gcl.losses.extra_negatives` (mini-batch sampled global
        negatives) the last rows join the node term as negatives and DeCA
        and ReSC use the seeds' rows only.
        """
        if nodes is not None:
            raise ValueError(
                "gCooL's loss cannot be restricted to a node batch (DeCA uses "
                "the edge densities of the whole view, ReSC community centres "
                "averaged over all nodes): use POT(GCOOL) without nce_batch; "
                "pot_batch (a node batch for the POT term only) is supported")
        h1, h2 = self.projector(z1), self.projector(z2)
        out = {"node": self.node_loss(h1, h2)}
        loss = out["node"]
        extra = num_extra_negatives()  # sampled negatives: node term only
        if extra:
            h1, h2 = h1[:-extra], h2[:-extra]
        alpha, coef = self.schedule()
        if alpha > 0:
            r1, r2 = self.assign(h1), self.assign(h2)
            out["deca"] = 0.5 * (
                deca_loss(r1, views[0].edge_index, self.lam,
                          self.deca_self_loops)
                + deca_loss(r2, views[1].edge_index, self.lam,
                            self.deca_self_loops))
            loss = loss + alpha * coef * out["deca"]
            if coef < 1.0:
                out["resc"] = resc_loss(h1, h2, r1, r2, self.tau,
                                        self.similarity, self.gamma)
                loss = loss + alpha * (1.0 - coef) * out["resc"]
        out["loss"] = loss
        return out

    def _repr_args(self) -> str:
        return (f", tau={self.tau}, num_communities={self.num_communities}, "
                f"lam={self.lam}, stride={self.stride}, "
                f"alpha_rate={self.alpha_rate}, similarity={self.similarity!r}, "
                f"symmetric_node_loss={self.symmetric_node_loss})")
