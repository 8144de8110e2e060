"""Community structure: gCooL's DeCA objective.

This minimal ``__init__`` exports the DeCA names; community detection and
community strength live next to them on the CSGCL branch.
"""

from gcl.community.deca import DeCA, deca_loss

__all__ = ["DeCA", "deca_loss"]
