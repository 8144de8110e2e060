"""Contrastive objectives on embeddings (modules with functional twins)."""

from gcl.losses.infonce import InfoNCE, info_nce, info_nce_per_node
from gcl.losses.pot import POTLoss, pot_loss, principle_direction
from gcl.losses.resc import ReSC, community_centers, resc_loss, resc_loss_per_node
from gcl.losses.team_up import TeamUp, team_up_gamma, team_up_loss

__all__ = [
    "InfoNCE",
    "POTLoss",
    "ReSC",
    "TeamUp",
    "community_centers",
    "info_nce",
    "info_nce_per_node",
    "pot_loss",
    "principle_direction",
    "resc_loss",
    "resc_loss_per_node",
    "team_up_gamma",
    "team_up_loss",
]
