r"""Node compactness: how well each node follows the GCL principle under
every admissible augmentation (POT's motivating analysis).

From `"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_ (POT, Yu et al., NeurIPS 2023): a node is
*compact* when even the worst edge-drop view within its budget keeps its
embedding on the side of the GCL principle. The paper shows that training is
imbalanced across nodes (many nodes have low compactness) and that POT
raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.datasets import check_graph
from gcl.losses import principle_direction
from gcl.methods import POT
from gcl.methods.pot import edge_drop_rates
from gcl.nn.bounds import compactness_score, edge_drop_bounds
from gcl.nn.bounds.propagation import check_bound_encoder

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

__all__ = ["node_compactness", "plot_compactness"]


@torch.no_grad()
def node_compactness(method: torch.nn.Module, data: Data,
                     rate: Optional[Union[float, Tensor]] = None, view: int = 0,
                     mode: str = "official") -> Tensor:
    r"""Per-node compactness of a trained method on ``data``.

    With the clean graph's embeddings :math:`z` as the reference (the other
    view of POT's training step), :math:`w_i = \bar{z}_i -
    \frac{1}{N-1}\sum_{j \neq i}\bar{z}_j`
    (:func:`gcl.losses.principle_direction`), and edge-drop budgets from
    ``rate``, returns :math:`s_i` of :func:`gcl.nn.bounds.compactness_score`:

    - ``mode="official"``: the official code's bound (the quantity POT
      trains on), its linear bound function evaluated at the clean graph;
    - ``mode="sound"``: a certified lower bound of :math:`\min_{G'} w_i^\top
      z_i(G')` over every view :math:`G'` that drops at most :math:`q_i` of
      node :math:`i`'s edges (much looser).

    The method is evaluated in evaluation mode, without gradients; its
    training mode is restored afterwards.

    Args:
        method (torch.nn.Module): A trained method whose ``encoder`` is a
            2-layer :class:`gcl.nn.GCNEncoder` (GRACE, POT, ...).
        data (torch_geometric.data.Data): The graph.
        rate (float or torch.Tensor, optional): Edge-drop rate (or per-edge
            rates ``[E]``) that defines the budgets. (default: the rate of
            the method's view ``view``)
        view (int, optional): Which view's rate to use by default.
            (default: ``0``)
        mode (str, optional): ``"official"`` or ``"sound"``.
            (default: ``"official"``)

    Returns:
        torch.Tensor: Compactness ``[N]`` on the CPU (higher is better).

    Raises:
        TypeError, ValueError: For a method without a supported encoder, an
            unknown mode or a malformed graph.
    """
    check_graph(data)
    encoder = getattr(method, "encoder", None)
    if encoder is None:
        raise TypeError(f"{type(method).__name__} has no `encoder`")
    check_bound_encoder(encoder)
    if rate is None:
        base = method.base if isinstance(method, POT) else method
        if view not in (0, 1):
            raise ValueError(f"view must be 0 or 1, got {view}")
        rate = edge_drop_rates(base, data)[view]
    was_training = method.training
    method.eval()
    try:
        z = method.embed(data) if hasattr(method, "embed") else encoder(
            data.x, data.edge_index)
        bounds = edge_drop_bounds(data.edge_index, data.num_nodes, rate,
                                  degree=encoder.degree)
        score = compactness_score(encoder, data.x, bounds,
                                  principle_direction(z), mode,
                                  view_edge_index=data.edge_index)
    finally:
        method.train(was_training)
    return score.detach().cpu()


def plot_compactness(values: Mapping[str, Union[Tensor, np.ndarray]],
                     path: Union[str, Path, None] = None,
                     title: Optional[str] = None, bins: int = 60,
                     xlabel: str = "node compactness") -> matplotlib.figure.Figure:
    """Histograms of node compactness, one per labelled run, overlaid.

    POT's motivating figure: the distribution of compactness over nodes
    before (base method) and after POT. A vertical line marks 0 (a node
    whose bound is positive follows the GCL principle in every admissible
    view, in ``"sound"`` mode).

    Args:
        values (Mapping[str, Tensor or ndarray]): Label -> compactness ``[N]``.
        path (str or Path, optional): Save the figure there.
        title (str, optional): Figure title.
        bins (int, optional): Histogram bins. (default: ``60``)
        xlabel (str, optional): Axis label. (default: ``"node compactness"``)

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    from gcl.viz import _finish, _pyplot

    if not values:
        raise ValueError("plot_compactness needs at least one series")
    plt = _pyplot()
    arrays = {k: np.asarray(v.detach().cpu() if isinstance(v, Tensor) else v,
                            dtype=float) for k, v in values.items()}
    lo = min(float(a.min()) for a in arrays.values())
    hi = max(float(a.max()) for a in arrays.values())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for label, a in arrays.items():
        ax.hist(a, bins=edges, alpha=0.55,
                label=f"{label} (median {np.median(a):.3f})")
    ax.axvline(0.0, color="k", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("nodes")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(plt, fig, path)
