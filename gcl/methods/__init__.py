"""Methods: one file per paper, composed from augment + nn + losses."""

from gcl.methods.base import Method, check_graph
from gcl.methods.gcool import GCOOL
from gcl.methods.gcool_multiplex import GCOOLMultiplex
from gcl.methods.grace import GRACE

#: Method classes by name, as used in configs and on the command line.
METHODS = {"grace": GRACE, "gcool": GCOOL}

__all__ = ["GCOOL", "GCOOLMultiplex", "GRACE", "METHODS", "Method", "check_graph"]
