"""Contrastive objectives on embeddings (modules with functional twins)."""

from gcl.losses.infonce import InfoNCE, info_nce, info_nce_per_node
from gcl.losses.pot import POTLoss, pot_loss, principle_direction

__all__ = ["InfoNCE", "POTLoss", "info_nce", "info_nce_per_node", "pot_loss",
           "principle_direction"]
