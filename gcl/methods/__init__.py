"""Methods: one file per paper, composed from augment + nn + losses."""

from gcl.methods.base import Method, check_graph
from gcl.methods.csgcl import CSGCL
from gcl.methods.gcool import GCOOL
from gcl.methods.gcool_multiplex import GCOOLMultiplex
from gcl.methods.grace import GRACE

#: Method classes by name, as used in configs and on the command line.
METHODS = {"grace": GRACE, "csgcl": CSGCL, "gcool": GCOOL}

__all__ = ["CSGCL", "GCOOL", "GCOOLMultiplex", "GRACE", "METHODS", "Method",
           "check_graph"]
