"""Contrastive objectives on embeddings (modules with functional twins)."""

from gcl.losses.adameow import AdaMEOWLoss, PairWeightMLP, adameow_loss
from gcl.losses.bpr import (
    BPRLoss,
    bpr_loss,
    hinge_rank_loss,
    l2_reg_batch_ego,
    l2_reg_batch_norm,
    l2_reg_full,
)
from gcl.losses.distributed import (
    extra_negatives,
    gather_negatives,
    num_extra_negatives,
    row_info_nce,
)
from gcl.losses.heco import HeCoLoss, heco_loss, positive_pairs
from gcl.losses.infonce import InfoNCE, info_nce, info_nce_per_node
from gcl.losses.lightgcl import (
    LIGHTGCL_SETTINGS,
    LightGCLLoss,
    cross_logsumexp,
    lightgcl_code_loss,
    lightgcl_paper_loss,
)
from gcl.losses.pamc import (
    NContrastLoss,
    PamCLoss,
    influence_matrix,
    meta_nodes,
    ncontrast_loss,
    pamc_loss,
)
from gcl.losses.pot import POTLoss, pot_loss, principle_direction
from gcl.losses.proto_nce import (
    ProtoNCE,
    Prototypes,
    kmeans_prototypes,
    pcl_density,
    proto_nce,
)
from gcl.losses.resc import ReSC, community_centers, resc_loss, resc_loss_per_node
from gcl.losses.team_up import TeamUp, team_up_gamma, team_up_loss
from gcl.losses.weighted_infonce import (
    WeightedInfoNCE,
    cluster_negative_weights,
    weighted_info_nce,
)

__all__ = [
    "AdaMEOWLoss",
    "HeCoLoss",
    "BPRLoss",
    "LIGHTGCL_SETTINGS",
    "LightGCLLoss",
    "bpr_loss",
    "cross_logsumexp",
    "hinge_rank_loss",
    "l2_reg_batch_ego",
    "l2_reg_batch_norm",
    "l2_reg_full",
    "lightgcl_code_loss",
    "lightgcl_paper_loss",
    "InfoNCE",
    "NContrastLoss",
    "POTLoss",
    "PairWeightMLP",
    "PamCLoss",
    "ProtoNCE",
    "Prototypes",
    "ReSC",
    "TeamUp",
    "WeightedInfoNCE",
    "adameow_loss",
    "cluster_negative_weights",
    "community_centers",
    "heco_loss",
    "extra_negatives",
    "gather_negatives",
    "influence_matrix",
    "info_nce",
    "info_nce_per_node",
    "kmeans_prototypes",
    "meta_nodes",
    "ncontrast_loss",
    "num_extra_negatives",
    "pamc_loss",
    "pcl_density",
    "positive_pairs",
    "pot_loss",
    "principle_direction",
    "proto_nce",
    "resc_loss",
    "resc_loss_per_node",
    "row_info_nce",
    "team_up_gamma",
    "team_up_loss",
    "weighted_info_nce",
]
