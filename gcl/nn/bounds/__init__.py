r"""Bound propagation for GCN encoders under edge dropping (POT).

From `"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_ (Yu et al., NeurIPS 2023):

- :mod:`~gcl.nn.bounds.adjacency`: per-node drop budgets and entry-wise bounds
  :math:`L \leq \hat{A}' \leq U`, stored on the edges of :math:`A + I`;
- :mod:`~gcl.nn.bounds.relaxations`: linear relaxations of (leaky) ReLU;
- :mod:`~gcl.nn.bounds.propagation`: interval bounds through a 2-layer
  :class:`~gcl.nn.GCNEncoder`, CROWN-style back-substitution and POT's score
  in its ``"official"`` and ``"sound"`` modes.
"""

from gcl.nn.bounds.adjacency import (
    AdjacencyBounds,
    drop_budget,
    edge_drop_bounds,
    normalized_adjacency,
)
from gcl.nn.bounds.propagation import (
    GCNBounds,
    check_bound_encoder,
    compactness_score,
    compactness_scores,
    edge_dot,
    gcn_bounds,
    interval_matmul,
)
from gcl.nn.bounds.relaxations import (
    LinearRelaxation,
    activation_range,
    leaky_relu,
    leaky_slope,
    relaxation,
)

__all__ = [
    "AdjacencyBounds",
    "GCNBounds",
    "LinearRelaxation",
    "activation_range",
    "check_bound_encoder",
    "compactness_score",
    "compactness_scores",
    "drop_budget",
    "edge_dot",
    "edge_drop_bounds",
    "gcn_bounds",
    "interval_matmul",
    "leaky_relu",
    "leaky_slope",
    "normalized_adjacency",
    "relaxation",
]
