"""Methods: one file per paper, composed from augment + nn + losses."""

from gcl.methods.base import Method, check_graph
from gcl.methods.csgcl import CSGCL
from gcl.methods.grace import GRACE

#: Method classes by name, as used in configs and on the command line.
METHODS = {"grace": GRACE, "csgcl": CSGCL}

__all__ = ["CSGCL", "GRACE", "METHODS", "Method", "check_graph"]
