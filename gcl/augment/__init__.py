"""Graph augmentors: callables ``Data -> Data`` that make contrastive views.

Every augmentor returns a new :class:`~torch_geometric.data.Data` and leaves
its input untouched (PyG's ``BaseTransform`` convention).
"""

from gcl.augment.base import Augmentor
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
from gcl.augment.compose import Compose, Identity, RandomChoice
from gcl.augment.edge_drop import EdgeDrop, subset_edges
from gcl.augment.feature_dropout import FeatureDropout
from gcl.augment.feature_mask import FeatureMask

__all__ = [
    "Augmentor",
    "CommunalAttributeVoting",
    "CommunalAugmentor",
    "CommunalEdgeDrop",
    "Compose",
    "EdgeDrop",
    "FeatureDropout",
    "FeatureMask",
    "Identity",
    "RandomChoice",
    "cav_drop_prob",
    "cav_votes",
    "ced_edge_weight",
    "ced_keep_prob",
    "subset_edges",
]
