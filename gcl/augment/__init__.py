"""Graph augmentors: callables ``Data -> Data`` that make contrastive views.

Every augmentor returns a new :class:`~torch_geometric.data.Data` and leaves
its input untouched (PyG's ``BaseTransform`` convention). Augmentors that need
statistics of the graph (community strength, centralities) compute them once
in ``fit(data)`` and cache them.
"""

from gcl.augment.adaptive_augmentor import AdaptiveAugmentor
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
from gcl.augment.communal_attribute_voting import (
    CommunalAttributeVoting,
    cav_drop_prob,
    cav_votes,
)
from gcl.augment.communal_augmentor import CommunalAugmentor
from gcl.augment.communal_edge_drop import (
    CommunalEdgeDrop,
    ced_edge_weight,
    ced_keep_prob,
)
from gcl.augment.compose import (
    Compose,
    Identity,
    RandomChoice,
    fit_augmentors,
    walk_augmentors,
)
from gcl.augment.drop_rates import EDGE_DROPPERS, edge_drop_rate, edge_droppers
from gcl.augment.edge_drop import EdgeDrop, subset_edges
from gcl.augment.feature_dropout import FeatureDropout
from gcl.augment.feature_mask import FeatureMask, mask_columns
from gcl.augment.noise_perturbation import NoisePerturbation
from gcl.augment.subgraph import restrict_augmentors
from gcl.augment.svd_view import SVD_ADJACENCIES, SVDView

__all__ = [
    "NoisePerturbation",
    "SVD_ADJACENCIES",
    "SVDView",
    "AdaptiveAugmentor",
    "AdaptiveEdgeDrop",
    "AdaptiveFeatureMask",
    "Augmentor",
    "CENTRALITIES",
    "CommunalAttributeVoting",
    "CommunalAugmentor",
    "CommunalEdgeDrop",
    "Compose",
    "EDGE_DROPPERS",
    "EdgeDrop",
    "FeatureDropout",
    "FeatureMask",
    "Identity",
    "restrict_augmentors",
    "RandomChoice",
    "cav_drop_prob",
    "cav_votes",
    "ced_edge_weight",
    "ced_keep_prob",
    "degree_centrality",
    "drop_probabilities",
    "edge_drop_rate",
    "edge_drop_weights",
    "edge_droppers",
    "eigenvector_centrality",
    "feature_drop_weights",
    "fit_augmentors",
    "mask_columns",
    "node_centrality",
    "pagerank_centrality",
    "subset_edges",
    "walk_augmentors",
]
