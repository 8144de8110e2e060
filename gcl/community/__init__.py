"""Community structure: detection, community strength and gCooL's DeCA.

Community detection needs ``igraph`` and ``leidenalg``; they are imported on
first use.
"""

from gcl.community.deca import DeCA, deca_loss
from gcl.community.detection import detect, undirected_pairs
from gcl.community.strength import community_strength

__all__ = ["DeCA", "community_strength", "deca_loss", "detect", "undirected_pairs"]
