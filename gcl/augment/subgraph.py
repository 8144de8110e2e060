r"""Fitted augmentors restricted to a sampled subgraph (mini-batch training)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.adaptive_edge_drop import AdaptiveEdgeDrop
from gcl.augment.communal_augmentor import CommunalAugmentor
from gcl.augment.communal_edge_drop import CommunalEdgeDrop

__all__ = ["restrict_augmentors"]

Augmentor = Callable[[Data], Data]


def restrict_augmentors(augmentors: Sequence[Augmentor], e_id: Tensor,
                        num_nodes: int) -> list[Augmentor]:
    r"""Copies of fitted augmentors that apply to a subgraph of the graph
    they were fitted on.

    Mini-batch training computes the augmentors' statistics once on the full
    graph (a method's ``prepare``) and draws the views of each sampled
    subgraph from them. A subgraph holds the edges ``e_id`` of the full graph
    (``batch.e_id`` of :func:`gcl.train.neighbor_loader`), so

    - :class:`~gcl.augment.AdaptiveEdgeDrop` (GCA, gCooL) keeps the drop
      probabilities :math:`p_e` of those edges;
    - :class:`~gcl.augment.CommunalEdgeDrop` (CSGCL's CED) keeps their keep
      probabilities :math:`q_e` and weights :math:`w_e`, which stay those of
      the full graph's communities;
    - :class:`~gcl.augment.CommunalAugmentor` s accept ``num_nodes`` nodes;
    - per-column augmentors (feature masks, CAV, adaptive feature masks) and
      stateless ones are shared, not copied.

    :class:`~gcl.augment.Compose` and :class:`~gcl.augment.RandomChoice` are
    copied with their members restricted. Copies are shallow (the index
    costs :math:`O(|E_{\text{batch}}|)`); the originals are not changed.
    With ``e_id`` a permutation of all edges, a view of the subgraph draws
    the same random numbers as a view of the full graph with its edges in
    that order.

    Args:
        augmentors (Sequence[Callable]): Fitted view makers (e.g. a method's
            ``augmentors``).
        e_id (torch.Tensor): Full-graph ids of the subgraph's edges, ``[E_b]``.
        num_nodes (int): Nodes of the subgraph.

    Returns:
        list[Callable]: The restricted augmentors, in order.
    """
    return [_restrict(aug, e_id, num_nodes) for aug in augmentors]


def _restrict(aug: Augmentor, e_id: Tensor, num_nodes: int) -> Augmentor:
    inner = getattr(aug, "augmentors", None)
    if isinstance(inner, (list, tuple)):
        out = copy.copy(aug)
        out.augmentors = [_restrict(a, e_id, num_nodes) for a in inner]
        return out
    if isinstance(aug, AdaptiveEdgeDrop):
        out = copy.copy(aug)
        prob = aug.drop_probabilities()  # raises if aug is not fitted
        e = e_id.to(prob.device)
        out.weights_ = aug.weights_[e.to(aug.weights_.device)]
        out._prob = prob[e]
        return out
    if isinstance(aug, CommunalAugmentor):
        out = copy.copy(aug)
        if isinstance(aug, CommunalEdgeDrop):
            aug.drop_probabilities()  # raises if aug is not fitted
            e = e_id.to(aug.keep_prob_.device)
            out.weight_ = aug.weight_[e.to(aug.weight_.device)]
            out.keep_prob_ = aug.keep_prob_[e]
            out._drop_prob = None
        out.num_nodes_ = int(num_nodes)
        return out
    return aug
