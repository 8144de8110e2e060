"""Encoders and heads."""

from gcl.nn.activation import ACTIVATIONS, FixedRReLU, activation_resolver
from gcl.nn.autoencoder import Autoencoder, autoencoder_cache_path, pretrain_autoencoder
from gcl.nn.bipartite_adjacency import BipartiteAdjacency
from gcl.nn.cluster_head import ClusterHead
from gcl.nn.gcn_encoder import GCNEncoder, out_degree_norm
from gcl.nn.lightgcn_propagation import (
    COMBINE_MODES,
    LayerOutputs,
    LightGCNPropagation,
)
from gcl.nn.mlp_encoder import MLPEncoder, sdcn_encoder_state_dict
from gcl.nn.projection_head import ProjectionHead

__all__ = [
    "BipartiteAdjacency",
    "COMBINE_MODES",
    "LayerOutputs",
    "LightGCNPropagation",
    "ACTIVATIONS",
    "Autoencoder",
    "ClusterHead",
    "FixedRReLU",
    "GCNEncoder",
    "MLPEncoder",
    "ProjectionHead",
    "activation_resolver",
    "autoencoder_cache_path",
    "out_degree_norm",
    "pretrain_autoencoder",
    "sdcn_encoder_state_dict",
]
