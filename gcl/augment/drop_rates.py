r"""The edge-drop rate of a view maker, for edge-drop certificates (POT)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional, Union

from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.adaptive_edge_drop import AdaptiveEdgeDrop
from gcl.augment.communal_edge_drop import CommunalEdgeDrop
from gcl.augment.compose import RandomChoice, walk_augmentors
from gcl.augment.edge_drop import EdgeDrop

__all__ = ["EDGE_DROPPERS", "edge_drop_rate", "edge_droppers"]

#: Augmentors whose edge-drop rate :func:`edge_drop_rate` can read.
EDGE_DROPPERS = (EdgeDrop, AdaptiveEdgeDrop, CommunalEdgeDrop)


def edge_droppers(augmentor: Callable[[Data], Data]) -> list:
    r"""The edge-dropping augmentors that ``augmentor`` applies on every call.

    Returns ``[augmentor]`` for an :class:`~gcl.augment.EdgeDrop`,
    :class:`~gcl.augment.AdaptiveEdgeDrop` or
    :class:`~gcl.augment.CommunalEdgeDrop`, the ones found (recursively)
    inside a :class:`~gcl.augment.Compose`, and ``[]`` for any other
    augmentor (feature masks, :class:`~gcl.augment.Identity`, ...).

    Raises:
        TypeError: If a :class:`~gcl.augment.RandomChoice` holds an
            edge-dropping augmentor (its views have no fixed drop rate).
    """
    nested = list(walk_augmentors([augmentor]))
    for aug in nested:
        if isinstance(aug, RandomChoice) and any(
                isinstance(a, EDGE_DROPPERS) for a in walk_augmentors(aug.augmentors)):
            raise TypeError(f"{aug!r} applies its edge dropping at random: "
                            f"its views have no fixed edge-drop rate")
    return [aug for aug in nested if isinstance(aug, EDGE_DROPPERS)]


def edge_drop_rate(augmentor: Callable[[Data], Data],
                   data: Optional[Data] = None) -> Union[float, Tensor]:
    r"""The edge-drop rate of the views made by ``augmentor``.

    ``augmentor`` must apply exactly one edge-dropping augmentor (alone or in
    :class:`~gcl.augment.Compose`; see :func:`edge_droppers`):

    - :class:`~gcl.augment.EdgeDrop`: its uniform rate ``p`` (a float);
    - :class:`~gcl.augment.AdaptiveEdgeDrop`: its cached per-edge drop
      probabilities :math:`p_e` (its ``drop_probabilities()``), ``[E]``;
    - :class:`~gcl.augment.CommunalEdgeDrop`: :math:`1 - q_e` with its cached
      keep probabilities :math:`q_e` (its ``drop_probabilities()``), ``[E]``.

    Per-edge rates are aligned with the ``edge_index`` of the graph the
    augmentor was fitted on (entry :math:`e` is column :math:`e`), since both
    augmentors draw one Bernoulli variable per entry of the graph they are
    called on, in order.

    Args:
        augmentor (Callable): One view maker.
        data (torch_geometric.data.Data, optional): The graph the views are
            drawn from. When given, per-edge rates are checked to have one
            value per column of ``data.edge_index`` and moved to its device.
            (default: :obj:`None`)

    Returns:
        float or torch.Tensor: A uniform rate, or per-edge rates ``[E]``.

    Raises:
        TypeError: If ``augmentor`` applies no or several edge-dropping
            augmentors.
        RuntimeError: If an adaptive or communal augmentor is not fitted yet
            (a method's ``prepare`` fits them).
        ValueError: If per-edge rates do not match ``data.edge_index``.
    """
    drops = edge_droppers(augmentor)
    if len(drops) != 1:
        names = ", ".join(t.__name__ for t in EDGE_DROPPERS)
        raise TypeError(f"cannot read an edge-drop rate from augmentor "
                        f"{augmentor!r}: it applies {len(drops)} edge-dropping "
                        f"augmentors ({names}); exactly one is needed")
    drop: Any = drops[0]
    if isinstance(drop, EdgeDrop):
        return float(drop.p)
    rate = drop.drop_probabilities()
    if data is not None:
        num_edges = data.edge_index.size(1)
        if rate.numel() != num_edges:
            raise ValueError(
                f"{type(drop).__name__} was fitted on a graph with "
                f"{rate.numel()} edge entries, got one with {num_edges}: its "
                f"per-edge rates are aligned with the fitted graph's "
                f"edge_index (call the method's prepare(data) on this graph)")
        rate = rate.to(data.edge_index.device)
    return rate
