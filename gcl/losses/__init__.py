"""Contrastive objectives on embeddings (modules with functional twins)."""

from gcl.losses.infonce import InfoNCE, info_nce, info_nce_per_node

__all__ = ["InfoNCE", "info_nce", "info_nce_per_node"]
