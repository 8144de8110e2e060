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
from gcl.nn.meta_path_encoder import MetaPathEncoder
from gcl.nn.meta_path_gcn import MetaPathGCN, meta_path_adjacency
from gcl.nn.mlp_encoder import MLPEncoder, sdcn_encoder_state_dict
from gcl.nn.projection_head import ProjectionHead
from gcl.nn.schema_encoder import IntraTypeAttention, NetworkSchemaEncoder
from gcl.nn.semantic_attention import SemanticAttention
from gcl.nn.sparse_linear import SparseInputLinear, sparse_linear
from gcl.nn.spmm import spmm
from gcl.nn.tanh_projection import TanhProjection

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
    "IntraTypeAttention",
    "MLPEncoder",
    "MetaPathEncoder",
    "MetaPathGCN",
    "NetworkSchemaEncoder",
    "ProjectionHead",
    "SemanticAttention",
    "SparseInputLinear",
    "TanhProjection",
    "activation_resolver",
    "autoencoder_cache_path",
    "meta_path_adjacency",
    "out_degree_norm",
    "pretrain_autoencoder",
    "sdcn_encoder_state_dict",
    "sparse_linear",
    "spmm",
]
