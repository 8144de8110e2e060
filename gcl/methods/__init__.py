"""Methods: one file per paper, composed from augment + nn + losses."""

from gcl.methods.base import Method, check_graph
from gcl.methods.csgcl import CSGCL
from gcl.methods.gcool import GCOOL
from gcl.methods.gcool_multiplex import GCOOLMultiplex
from gcl.methods.grace import GRACE
from gcl.methods.pot import GRACEPOT, POT
from gcl.methods.registry import ALIASES, build_method, resolve  # TEMP shim

#: Method classes by name, as used in configs and on the command line.
#: ``pot`` wraps the method named by its config's ``model.base``;
#: ``grace_pot`` is POT around GRACE.
METHODS = {"grace": GRACE, "csgcl": CSGCL, "gcool": GCOOL, "pot": POT,
           "grace_pot": GRACEPOT}

__all__ = ["ALIASES", "CSGCL", "GCOOL", "GCOOLMultiplex", "GRACE", "GRACEPOT",
           "METHODS", "Method", "POT", "build_method", "check_graph", "resolve"]
