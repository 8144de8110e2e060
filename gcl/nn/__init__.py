"""Encoders and heads."""

from gcl.nn.activation import ACTIVATIONS, FixedRReLU, activation_resolver
from gcl.nn.gcn_encoder import GCNEncoder, out_degree_norm
from gcl.nn.projection_head import ProjectionHead

__all__ = [
    "ACTIVATIONS",
    "FixedRReLU",
    "GCNEncoder",
    "ProjectionHead",
    "activation_resolver",
    "out_degree_norm",
]
