r"""POT: Provable Training for Graph Contrastive Learning, as a plug-in."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator, Sequence
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
)
from gcl.losses import pot_loss, principle_direction
from gcl.methods.base import Method
from gcl.nn.bounds import AdjacencyBounds, compactness_scores, edge_drop_bounds
from gcl.nn.bounds.propagation import MODES, check_bound_encoder

__all__ = ["GRACEPOT", "POT", "edge_drop_rates", "node_batch"]

Rate = Union[float, Tensor]

_FEATURE_MASKS = (FeatureMask, FeatureDropout, AdaptiveFeatureMask,
                  CommunalAttributeVoting)

_INTERFACE = (
    "a POT base method needs: `encoder`, a 2-layer gcl.nn.GCNEncoder with a "
    "(leaky) ReLU; `forward_views(data, nodes=None) -> (loss, [view1, view2], "
    "[z1, z2])`; and its views' edge-drop rates, from `pot_drop_rates(data)` "
    "or from `augmentors` made of EdgeDrop (possibly inside Compose)")


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


def _walk(aug: Any) -> Iterator[Any]:
    """``aug`` and the augmentors nested in it (Compose, RandomChoice)."""
    yield aug
    for inner in getattr(aug, "augmentors", None) or ():
        yield from _walk(inner)


def _masks_features(aug: Any) -> bool:
    """Whether ``aug`` can mask or drop features (rate ``p > 0``)."""
    return any(isinstance(a, _FEATURE_MASKS) and a.p > 0 for a in _walk(aug))


def _check_augmentors(method: torch.nn.Module) -> None:
    """Fails unless every view maker of ``method`` applies exactly one
    edge-dropping augmentor (without reading rates, which may need ``fit``).
    """
    augs = getattr(method, "augmentors", None)
    if augs is None:
        raise TypeError(f"{type(method).__name__} has neither "
                        f"`pot_drop_rates` nor `augmentors`; {_INTERFACE}")
    if len(augs) != 2:
        raise TypeError(f"POT needs two views' edge-drop rates, got "
                        f"{len(augs)} augmentors")
    for aug in augs:
        drops = edge_droppers(aug)
        if len(drops) != 1:
            raise TypeError(
                f"cannot read an edge-drop rate from augmentor {aug!r} "
                f"({len(drops)} EdgeDrop, AdaptiveEdgeDrop or "
                f"CommunalEdgeDrop found); define `pot_drop_rates(data)` on "
                f"the method. {_INTERFACE}")


def edge_drop_rates(method: torch.nn.Module, data: Optional[Data] = None
                    ) -> list[Rate]:
    r"""The edge-drop rate of each of ``method``'s two views.

    Uses ``method.pot_drop_rates(data)`` when the method defines it (a float
    per view for a uniform rate, or a tensor ``[E]`` of per-edge drop
    probabilities aligned with ``data.edge_index``, e.g. GCA's adaptive
    rates); otherwise reads, with :func:`gcl.augment.edge_drop_rate`, the
    single edge-dropping augmentor in each of ``method.augmentors`` (alone or
    inside :class:`~gcl.augment.Compose`): the ``p`` of an
    :class:`~gcl.augment.EdgeDrop`, or the cached per-edge rates of a fitted
    :class:`~gcl.augment.AdaptiveEdgeDrop` or
    :class:`~gcl.augment.CommunalEdgeDrop`.

    Raises:
        TypeError: If the rates cannot be found (see :class:`POT`).
    """
    if hasattr(method, "pot_drop_rates"):
        rates = list(method.pot_drop_rates(data))
    else:
        _check_augmentors(method)
        rates = [edge_drop_rate(aug, data) for aug in method.augmentors]
    if len(rates) != 2:
        raise TypeError(f"POT needs two views' edge-drop rates, got {len(rates)}")
    return rates


class POT(Method):
    r"""POT from `"Provable Training for Graph Contrastive Learning"
    <https://arxiv.org/abs/2309.13944>`_ (Yu et al., NeurIPS 2023), wrapped
    around a base method.

    Each step runs the base method on two edge-drop views, giving its loss
    :math:`\mathcal{L}_{\mathrm{base}}` and embeddings :math:`z^{(1)},
    z^{(2)}`. For view :math:`v` with budget :math:`q^{(v)}` (from the view's
    drop rate, :func:`gcl.nn.bounds.drop_budget`) POT bounds the score
    :math:`f_i = w_i^\top z^{(v)}_i` with :math:`w` from the other view
    (:func:`gcl.losses.principle_direction`) over all views within budget
    (:func:`gcl.nn.bounds.compactness_score`) and adds the regularizer:

    .. math::
        \mathcal{L} = (1 - \kappa)\, \mathcal{L}_{\mathrm{base}}
        + \kappa \cdot \frac{1}{2} \sum_{v=1}^{2} \frac{1}{|B|}
        \sum_{i \in B} \mathrm{softplus}\big(-s^{(v)}_i\big).

    The bounds :math:`L \leq \hat{A}' \leq U` are computed once per graph
    and drop rate (in :meth:`prepare`, or on first use) and cached, as
    :math:`O(|E| + N)` edge values. As in every released POT experiment, the
    bounds cover edge dropping only and use the clean features; a base
    method that also masks features gets a warning.

    **Plug-in interface.** Any base method works if it exposes:

    - ``encoder``: a 2-layer :class:`gcl.nn.GCNEncoder` whose activation is
      ReLU, PReLU, leaky ReLU or (fixed) RReLU;
    - ``forward_views(data, nodes=None) -> (loss, views, zs)``: one training
      step returning its loss, its two augmented graphs (``Data`` with the
      view's ``edge_index``) and the encoder outputs of those views
      :math:`z^{(1)}, z^{(2)}` (before any projection head). ``nodes``
      (needed only with ``nce_batch``) restricts the base loss to a node
      batch;
    - the views' edge-drop rates: ``pot_drop_rates(data) -> [r1, r2]``, each
      a float (uniform rate, POT-GRACE budget) or a tensor ``[E]`` of
      per-edge drop probabilities aligned with ``data.edge_index`` (adaptive
      rates, POT-GCA budget: expected drops per node); without it, POT reads
      the rates of the edge-dropping augmentor in each of ``augmentors``
      (:func:`gcl.augment.edge_drop_rate`: an :class:`~gcl.augment.EdgeDrop`,
      or a fitted :class:`~gcl.augment.AdaptiveEdgeDrop` or
      :class:`~gcl.augment.CommunalEdgeDrop`).

    :class:`~gcl.methods.GRACE` (uniform rates), :class:`~gcl.methods.CSGCL`
    (per-edge rates :math:`1 - q_e` of its communal edge dropping) and
    :class:`~gcl.methods.GCOOL` (per-edge rates of GCA's adaptive dropping,
    or uniform ones) implement it; gCooL's loss has no node-batch form, so
    ``nce_batch`` is refused with it. :meth:`prepare` prepares the base
    first (communities, centralities), then reads the rates. A base without
    the interface is refused with an error that lists these three items.

    Args:
        base (Method): The base method.
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

    protocol = "pot"

    def __init__(self, base: Method, kappa: float = 0.5, mode: str = "official",
                 pot_batch: Optional[int] = None,
                 nce_batch: Optional[int] = None):
        super().__init__()
        if not isinstance(base, torch.nn.Module):
            raise TypeError(f"POT wraps a gcl Method, got {type(base).__name__}")
        if not hasattr(base, "encoder") or not hasattr(base, "forward_views"):
            raise TypeError(f"{type(base).__name__} cannot be used with POT: "
                            f"{_INTERFACE}")
        check_bound_encoder(base.encoder)
        if not 0.0 <= float(kappa) <= 1.0:
            raise ValueError(f"kappa must be in [0, 1], got {kappa}")
        if mode not in MODES:
            raise ValueError(f"mode must be 'official' or 'sound', got {mode!r}")
        for name, b in (("pot_batch", pot_batch), ("nce_batch", nce_batch)):
            if b is not None and b != -1 and b < 2:
                raise ValueError(f"{name} must be >= 2, -1 or None, got {b}")
        if not hasattr(base, "pot_drop_rates"):
            _check_augmentors(base)  # fail now, not at the first step
        if any(_masks_features(a) for a in getattr(base, "augmentors", None) or ()):
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
        self._cache: list[Optional[tuple]] = [None, None]

    @classmethod
    def from_config(cls, in_channels: int, base: str = "grace",
                    kappa: float = 0.5, mode: str = "official",
                    pot_batch: Optional[int] = None,
                    nce_batch: Optional[int] = None, **base_config: Any) -> POT:
        """Builds ``base`` (a key of :data:`gcl.methods.METHODS`) from the
        remaining keys and wraps it.

        A config ``method: pot`` takes ``model: {base: grace, kappa: 0.4,
        mode: official, ...GRACE's keys...}``; the keys other than POT's are
        the base method's own (those of its ``from_config``), e.g.
        ``gcl/configs/pot_csgcl/Cora.yaml`` holds ``base: csgcl`` and CSGCL's
        keys.

        Raises:
            ValueError: For an unknown base, or a key that the base's
                ``from_config`` does not take.
        """
        from gcl.methods import METHODS

        name = str(base).lower()
        if name not in METHODS or issubclass(METHODS[name], POT):
            known = [k for k, v in METHODS.items() if not issubclass(v, POT)]
            raise ValueError(f"unknown POT base method {base!r}; known: "
                             f"{', '.join(known)}")
        params = inspect.signature(METHODS[name].from_config).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(base_config) - set(params))
            if unknown:
                raise ValueError(
                    f"model keys {unknown} are not options of POT or of its "
                    f"base {name!r} ({METHODS[name].__name__}.from_config); "
                    f"a POT config holds POT's keys (base, kappa, mode, "
                    f"pot_batch, nce_batch) and the base method's own")
        return cls(METHODS[name].from_config(in_channels, **base_config),
                   kappa=kappa, mode=mode, pot_batch=pot_batch,
                   nce_batch=nce_batch)

    @property
    def encoder(self) -> torch.nn.Module:
        """The base method's encoder."""
        return self.base.encoder

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

    def set_epoch(self, epoch: int, num_epochs: Optional[int] = None) -> None:
        """Stores the epoch (it picks the node batch) and forwards it."""
        self.epoch = epoch
        self.base.set_epoch(epoch, num_epochs)

    def reset_parameters(self) -> None:
        """Resets the base method's parameters."""
        self.base.reset_parameters()

    def bounds(self, data: Data) -> list[AdjacencyBounds]:
        """The two views' bounds on ``data``, cached per graph and rate."""
        if data.get("edge_weight") is not None:
            raise ValueError("POT's bounds assume an unweighted graph, but data "
                             "has edge_weight")
        rates = edge_drop_rates(self.base, data)
        out = []
        for v, rate in enumerate(rates):
            hit = self._cache[v]
            if hit is None or not _same(hit[0], data.edge_index) or \
                    not _same(hit[1], rate) or hit[2] != data.num_nodes:
                b = edge_drop_bounds(data.edge_index, data.num_nodes, rate,
                                     degree=self.encoder.degree)
                hit = (data.edge_index, rate, data.num_nodes, b)
                self._cache[v] = hit
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

    def forward(self, data: Data) -> Tensor:
        r"""Returns :math:`(1 - \kappa)\mathcal{L}_{\mathrm{base}} + \kappa
        \mathcal{L}_{\mathrm{POT}}` on two fresh views of ``data``.
        """
        nce_nodes, pot_nodes = self.batches(data.num_nodes, data.x.device)
        loss, views, zs = self.base.forward_views(data, nce_nodes)
        if self.kappa == 0.0:
            return loss
        reg = pot_loss(self.scores(data, views, zs, pot_nodes))
        return (1.0 - self.kappa) * loss + self.kappa * reg

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


class GRACEPOT(POT):
    r"""GRACE + POT: :class:`POT` around :class:`~gcl.methods.GRACE`.

    The method ``grace_pot`` of configs and the command line;
    ``GRACEPOT.from_config(F, kappa=0.4, **grace_keys)`` equals
    ``POT.from_config(F, base="grace", kappa=0.4, **grace_keys)``.
    """

    @classmethod
    def from_config(cls, in_channels: int, base: str = "grace",
                    **config: Any) -> GRACEPOT:
        """Builds GRACE from ``config`` and wraps it (``base`` must be
        ``"grace"``).
        """
        if str(base).lower() != "grace":
            raise ValueError(f"grace_pot wraps GRACE; for base {base!r} use "
                             f"method 'pot'")
        return super().from_config(in_channels, base="grace", **config)
