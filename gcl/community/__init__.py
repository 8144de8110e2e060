"""Community structure: detection, community strength (and DeCA).

Community detection needs ``igraph`` and ``leidenalg``; they are imported on
first use.
"""

from gcl.community.detection import detect, undirected_pairs
from gcl.community.strength import community_strength

__all__ = ["community_strength", "detect", "undirected_pairs"]
