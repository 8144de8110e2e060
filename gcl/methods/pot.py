r"""POT: Provable Training for Graph Contrastive Learning, as a plug-in."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import (
    AdaptiveFeatureMask,
    CommunalAttributeVoting,
    FeatureDropout,
    FeatureMask,
    edge_drop_rate,
    edge_droppers,
    walk_augmentors,
)
from gcl.losses import pot_loss, principle_direction
from gcl.methods.base import Method
from gcl.methods.two_view import TwoViewMethod, TwoViewStep
from gcl.nn.bounds import AdjacencyBounds, compactness_scores, edge_drop_bounds
from gcl.nn.bounds.propagation import MODES, check_bound_encoder

__all__ = ["POT", "edge_drop_rates", "node_batch"]

Rate = Union[float, Tensor]

_FEATURE_MASKS = (FeatureMask, FeatureDropout, AdaptiveFeatureMask,
                  CommunalAttributeVoting)


def node_batch(nodes: Tensor, batch_size: int, epoch: int) -> Tensor:
    r"""Batch number ``epoch mod num_batches`` of ``nodes`` (POT's ``get_batch``).

    With :math:`B` = ``batch_size`` and :math:`n_b = \lceil |nodes| / B
    \rceil`, returns ``nodes[i * B:(i + 1) * B]`` for :math:`i = epoch \bmod
    n_b` (the last batch may be shorter). The official code shuffles the
    node list every epoch, so this is a fresh random batch each step.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    num_batches = (nodes.numel() - 1) // batch_size + 1
    i = epoch % num_batches
    return nodes[i * batch_size:(i + 1) * batch_size]


def _check_augmentors(method: TwoViewMethod) -> None:
    """Fails unless every view maker of ``method`` applies exactly one
    edge-dropping augmentor (without reading rates, which may need ``fit``).
    """
    for aug in method.augmentors:
        drops = edge_droppers(aug)
        if len(drops) != 1:
            raise TypeError(
                f"POT needs the edge-drop rate of each view, but augmentor "
                f"{aug!r} applies {len(drops)} EdgeDrop, AdaptiveEdgeDrop or "
                f"CommunalEdgeDrop (exactly one is needed, alone or inside "
                f"Compose)")


def edge_drop_rates(method: TwoViewMethod, data: Optional[Data] = None
                    ) -> list[Rate]:
    r"""The edge-drop rate of each of ``method``'s two views.

    Reads, with :func:`gcl.augment.edge_drop_rate`, the single
    edge-dropping augmentor in each of ``method.augmentors`` (alone or
    inside :class:`~gcl.augment.Compose`): the float ``p`` of an
    :class:`~gcl.augment.EdgeDrop` (POT-GRACE's uniform budget), or the
    cached per-edge drop probabilities ``[E]`` of a fitted
    :class:`~gcl.augment.AdaptiveEdgeDrop` (GCA, gCooL) or
    :class:`~gcl.augment.CommunalEdgeDrop` (CSGCL: :math:`1 - q_e`),
    aligned with ``data.edge_index`` (POT-GCA's budget).

    Raises:
        TypeError: If a view maker applies no or several edge droppers.
        RuntimeError: If an adaptive or communal one is not fitted yet.
    """
    _check_augmentors(method)
    return [edge_drop_rate(aug, data) for aug in method.augmentors]


class POT(Method):
    r"""POT from `"Provable Training for Graph Contrastive Learning"
    <https://arxiv.org/abs/2309.13944>`_ (Yu et al., NeurIPS 2023), wrapped
    around a two-view method.

    Each step runs the base method's :meth:`~gcl.methods.TwoViewMethod.step`
    on two edge-drop views, giving its loss :math:`\mathcal{L}_{\mathrm{base}}`
    and embeddings :math:`z^{(1)}, z^{(2)}`. For view :math:`v` with budget
    :math:`q^{(v)}` (from the view's drop rate,
    :func:`gcl.nn.bounds.drop_budget`) POT bounds the score
    :math:`f_i = w_i^\top z^{(v)}_i` with :math:`w` from the other view
    (:func:`gcl.losses.principle_direction`) over all views within budget
    (:func:`gcl.nn.bounds.compactness_score`) and adds the regularizer:

    .. math::
        \mathcal{L} = (1 - \kappa)\, \mathcal{L}_{\mathrm{base}}
        + \kappa \cdot \frac{1}{2} \sum_{v=1}^{2} \frac{1}{|B|}
        \sum_{i \in B} \mathrm{softplus}\big(-s^{(v)}_i\big).

    The bounds :math:`L \leq \hat{A}' \leq U` are computed once per graph
    and drop rate (in :meth:`prepare`, or on first use) and cached in
    ``bounds_``, as :math:`O(|E| + N)` edge values. As in every released POT
    experiment, the bounds cover edge dropping only and use the clean
    features; a base method that also masks features gets a warning.

    **Which methods it wraps.** Any :class:`~gcl.methods.TwoViewMethod`
    (GRACE, CSGCL, gCooL, or one of your own), through public interfaces
    only: its :meth:`~gcl.methods.TwoViewMethod.step` record (loss, views,
    encoder outputs), its ``encoder`` (a 2-layer :class:`gcl.nn.GCNEncoder`
    with ReLU, PReLU, leaky ReLU or fixed RReLU) and its ``augmentors``,
    each of which must apply exactly one edge dropper whose rate
    :func:`edge_drop_rates` reads: a uniform :class:`~gcl.augment.EdgeDrop`
    (POT-GRACE budget) or the per-edge rates of a fitted
    :class:`~gcl.augment.AdaptiveEdgeDrop` or
    :class:`~gcl.augment.CommunalEdgeDrop` (POT-GCA budget: expected drops
    per node). :meth:`prepare` prepares the base first (communities,
    centralities), then reads the rates. gCooL's loss has no node-batch
    form, so ``nce_batch`` is refused with it.

    Args:
        base (TwoViewMethod): The base method.
        kappa (float, optional): Weight :math:`\kappa \in [0, 1]` of the POT
            term; ``0`` skips it entirely (the base method's training, for
            baselines with the same seeds and batches). (default: ``0.5``, the
            official command-line default; its README uses 0.4 with GRACE)
        mode (str, optional): ``"official"`` (the published code's score,
            evaluated at the sampled view) or ``"sound"`` (a certified lower
            bound of node compactness); see :mod:`gcl.nn.bounds.propagation`.
            (default: ``"official"``)
        pot_batch (int, optional): Nodes per step in the POT term (``-1`` or
            :obj:`None`: all nodes of the step). (default: :obj:`None`)
        nce_batch (int, optional): Nodes per step in the base loss (the
            official GRACE code uses 4096 on PubMed, Computers and WikiCS);
            the POT batch is then taken from it. (default: :obj:`None`)
    """

    def __init__(self, base: TwoViewMethod, kappa: float = 0.5,
                 mode: str = "official", pot_batch: Optional[int] = None,
                 nce_batch: Optional[int] = None):
        super().__init__()
        if not isinstance(base, TwoViewMethod):
            raise TypeError(f"POT wraps a two-view method "
                            f"(gcl.methods.TwoViewMethod), got "
                            f"{type(base).__name__}")
        check_bound_encoder(base.encoder)
        if not 0.0 <= float(kappa) <= 1.0:
            raise ValueError(f"kappa must be in [0, 1], got {kappa}")
        if mode not in MODES:
            raise ValueError(f"mode must be 'official' or 'sound', got {mode!r}")
        for name, b in (("pot_batch", pot_batch), ("nce_batch", nce_batch)):
            if b is not None and b != -1 and b < 2:
                raise ValueError(f"{name} must be >= 2, -1 or None, got {b}")
        _check_augmentors(base)  # fail now, not at the first step
        if any(isinstance(a, _FEATURE_MASKS) and a.p > 0
               for a in walk_augmentors(base.augmentors)):
            warnings.warn(
                "the base method masks features, but POT's bounds cover "
                "edge dropping only and use the clean features (as the "
                "official code, whose experiments set feature masking to "
                "0)", UserWarning, stacklevel=2)
        self.base = base
        self.kappa = float(kappa)
        self.mode = mode
        self.pot_batch = None if pot_batch in (None, -1) else int(pot_batch)
        self.nce_batch = None if nce_batch in (None, -1) else int(nce_batch)
        self.epoch = 0
        #: Per view: (edge_index, rate, num_nodes, bounds) of the last graph.
        self.bounds_: list[Optional[tuple]] = [None, None]

    @property
    def encoder(self) -> torch.nn.Module:
        """The base method's encoder."""
        return self.base.encoder

    @property
    def may_skip_parameters(self) -> bool:
        """As the base method (POT's term uses the encoder only)."""
        return self.base.may_skip_parameters

    def encode(self, data: Data) -> Tensor:
        """Encodes ``data`` with the base method."""
        return self.base.encode(data)

    @torch.no_grad()
    def embed(self, data: Data) -> Tensor:
        """The base method's frozen embeddings of the clean graph."""
        return self.base.embed(data)

    def prepare(self, data: Data) -> None:
        """Prepares the base method, then computes and caches the bounds."""
        self.base.prepare(data)
        if self.kappa > 0:
            self.bounds(data)

    def set_epoch(self, epoch: int) -> None:
        """Stores the epoch (it picks the node batch) and forwards it."""
        self.epoch = epoch
        self.base.set_epoch(epoch)

    def learning_rate(self, epoch: int, base_lr: float) -> Optional[float]:
        """The base method's learning-rate schedule (its hook)."""
        return self.base.learning_rate(epoch, base_lr)

    def reset_parameters(self) -> None:
        """Resets the base method's parameters and forgets the bounds."""
        self.base.reset_parameters()
        self.bounds_ = [None, None]

    def bounds(self, data: Data) -> list[AdjacencyBounds]:
        """The two views' bounds on ``data``, cached per graph and rate."""
        if data.get("edge_weight") is not None:
            raise ValueError("POT's bounds assume an unweighted graph, but data "
                             "has edge_weight")
        out = []
        for v, rate in enumerate(edge_drop_rates(self.base, data)):
            hit = self.bounds_[v]
            if hit is None or not _same(hit[0], data.edge_index) or \
                    not _same(hit[1], rate) or hit[2] != data.num_nodes:
                b = edge_drop_bounds(data.edge_index, data.num_nodes, rate,
                                     degree=self.encoder.degree)
                hit = (data.edge_index, rate, data.num_nodes, b)
                self.bounds_[v] = hit
            out.append(hit[3])
        return out

    def batches(self, num_nodes: int, device: torch.device
                ) -> tuple[Optional[Tensor], Optional[Tensor]]:
        """This step's node batches ``(nce_nodes, pot_nodes)`` (:obj:`None`:
        all nodes), from one random permutation per step as in the official
        code. Draws from torch's RNG only when a batch size is set.
        """
        if self.nce_batch is None and self.pot_batch is None:
            return None, None
        perm = torch.randperm(num_nodes, device=device)
        nce = None if self.nce_batch is None else node_batch(
            perm, self.nce_batch, self.epoch)
        pool = perm if nce is None else nce
        pot = nce if self.pot_batch is None else node_batch(
            pool, self.pot_batch, self.epoch)
        return nce, pot

    def scores(self, data: Data, views: Sequence[Data], zs: Sequence[Tensor],
               nodes: Optional[Tensor] = None) -> list[Tensor]:
        r"""Both views' POT scores :math:`s^{(1)}, s^{(2)}` on ``nodes``."""
        others = [zs[1], zs[0]] if nodes is None else [zs[1][nodes], zs[0][nodes]]
        return compactness_scores(
            self.encoder, data.x, self.bounds(data),
            [principle_direction(z) for z in others], self.mode, nodes,
            [view.edge_index for view in views])

    def step(self, data: Data) -> TwoViewStep:
        r"""One step: the base method's step record with the loss replaced by
        :math:`(1 - \kappa)\mathcal{L}_{\mathrm{base}} + \kappa
        \mathcal{L}_{\mathrm{POT}}` and both parts in ``terms``
        (``"base"``, ``"pot"``; only the base loss when :math:`\kappa = 0`).
        """
        nce_nodes, pot_nodes = self.batches(data.num_nodes, data.x.device)
        step = self.base.step(data, nce_nodes)
        if self.kappa == 0.0:
            return step
        reg = pot_loss(self.scores(data, step.views, step.zs, pot_nodes))
        loss = (1.0 - self.kappa) * step.loss + self.kappa * reg
        return TwoViewStep(loss, step.views, step.zs,
                           {**step.terms, "base": step.loss, "pot": reg})

    def forward(self, data: Data) -> Tensor:
        r"""Returns :math:`(1 - \kappa)\mathcal{L}_{\mathrm{base}} + \kappa
        \mathcal{L}_{\mathrm{POT}}` on two fresh views of ``data``.
        """
        return self.step(data).loss

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)}" for k in
                        ("pot_batch", "nce_batch") if getattr(self, k))
        return (f"{self.__class__.__name__}(base={self.base}, kappa={self.kappa}, "
                f"mode={self.mode!r}{extra})")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return False
        return a is b or (a.shape == b.shape and a.device == b.device
                          and torch.equal(a, b))
    return a == b
