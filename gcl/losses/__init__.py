"""Contrastive objectives on embeddings (modules with functional twins)."""

from gcl.losses.distributed import gather_negatives, row_info_nce
from gcl.losses.infonce import InfoNCE, info_nce, info_nce_per_node
from gcl.losses.pamc import (
    NContrastLoss,
    PamCLoss,
    influence_matrix,
    meta_nodes,
    ncontrast_loss,
    pamc_loss,
)
from gcl.losses.pot import POTLoss, pot_loss, principle_direction
from gcl.losses.resc import ReSC, community_centers, resc_loss, resc_loss_per_node
from gcl.losses.team_up import TeamUp, team_up_gamma, team_up_loss

__all__ = [
    "InfoNCE",
    "NContrastLoss",
    "POTLoss",
    "PamCLoss",
    "ReSC",
    "TeamUp",
    "community_centers",
    "gather_negatives",
    "influence_matrix",
    "info_nce",
    "info_nce_per_node",
    "meta_nodes",
    "ncontrast_loss",
    "pamc_loss",
    "pot_loss",
    "principle_direction",
    "resc_loss",
    "resc_loss_per_node",
    "row_info_nce",
    "team_up_gamma",
    "team_up_loss",
]
