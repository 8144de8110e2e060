"""Graph augmentors: callables ``Data -> Data`` that make contrastive views.

Every augmentor returns a new :class:`~torch_geometric.data.Data` and leaves
its input untouched (PyG's ``BaseTransform`` convention).
"""

from gcl.augment.adaptive_edge_drop import AdaptiveEdgeDrop
from gcl.augment.adaptive_feature_mask import AdaptiveFeatureMask
from gcl.augment.base import Augmentor
from gcl.augment.centrality import (
    CENTRALITIES,
    degree_centrality,
    drop_probabilities,
    edge_drop_weights,
    eigenvector_centrality,
    feature_drop_weights,
    node_centrality,
    pagerank_centrality,
)
from gcl.augment.compose import Compose, Identity, RandomChoice, fit_augmentors
from gcl.augment.edge_drop import EdgeDrop, subset_edges
from gcl.augment.feature_dropout import FeatureDropout
from gcl.augment.feature_mask import FeatureMask

__all__ = [
    "AdaptiveEdgeDrop",
    "AdaptiveFeatureMask",
    "Augmentor",
    "CENTRALITIES",
    "Compose",
    "EdgeDrop",
    "FeatureDropout",
    "FeatureMask",
    "Identity",
    "RandomChoice",
    "degree_centrality",
    "drop_probabilities",
    "edge_drop_weights",
    "eigenvector_centrality",
    "feature_drop_weights",
    "fit_augmentors",
    "node_centrality",
    "pagerank_centrality",
    "subset_edges",
]
