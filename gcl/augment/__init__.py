"""Graph augmentors: callables ``Data -> Data`` that make contrastive views.

Every augmentor returns a new :class:`~torch_geometric.data.Data` and leaves
its input untouched (PyG's ``BaseTransform`` convention).
"""

from gcl.augment.base import Augmentor
from gcl.augment.compose import Compose, Identity, RandomChoice
from gcl.augment.edge_drop import EdgeDrop, subset_edges
from gcl.augment.feature_dropout import FeatureDropout
from gcl.augment.feature_mask import FeatureMask

__all__ = [
    "Augmentor",
    "Compose",
    "EdgeDrop",
    "FeatureDropout",
    "FeatureMask",
    "Identity",
    "RandomChoice",
    "subset_edges",
]
