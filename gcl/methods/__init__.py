"""Methods: one file per paper, composed from augment + nn + losses.

Two-view methods derive from :class:`TwoViewMethod`, which draws and encodes
the views and returns a :class:`TwoViewStep`; wrappers such as :class:`POT`
use only that record. The heterogeneous ones (HeCo, MEOW, AdaMEOW), whose two
views are two encoders of one ``HeteroData``, derive from
:class:`HeteroTwoViewMethod`, which returns the same record. The recommenders
(LightGCN, SimGCL, LightGCL) derive from :class:`Recommender`, which trains on
interaction data in mini-batches of triples. :data:`METHODS`, :data:`ALIASES` and
:func:`build_method` (in :mod:`gcl.methods.registry`) are the one registry.
"""

from gcl.methods.adameow import AdaMEOW
from gcl.methods.base import Method
from gcl.methods.csgcl import CSGCL
from gcl.methods.gca import GCA
from gcl.methods.gcool import GCOOL
from gcl.methods.gcool_multiplex import GCOOLMultiplex
from gcl.methods.grace import GRACE
from gcl.methods.heco import HeCo
from gcl.methods.hetero_two_view import HeteroTwoViewMethod
from gcl.methods.lightgcl import LightGCL
from gcl.methods.lightgcn import LightGCN
from gcl.methods.meow import MEOW, MEOWViews
from gcl.methods.minibatch import batch_step, supports_batches
from gcl.methods.pamc import PamC
from gcl.methods.pot import POT
from gcl.methods.recommender import Recommender
from gcl.methods.registry import (
    ALIASES,
    HETEROGENEOUS,
    METHODS,
    RECOMMENDERS,
    WRAPPERS,
    build_method,
    resolve,
)
from gcl.methods.simgcl import SimGCL
from gcl.methods.two_view import TwoViewMethod, TwoViewStep

__all__ = ["ALIASES", "AdaMEOW", "CSGCL", "GCA", "GCOOL", "GCOOLMultiplex",
           "GRACE", "HETEROGENEOUS", "HeCo", "HeteroTwoViewMethod", "LightGCL",
           "LightGCN", "MEOW", "MEOWViews", "METHODS", "Method", "POT", "PamC",
           "RECOMMENDERS", "Recommender", "SimGCL", "TwoViewMethod",
           "TwoViewStep", "WRAPPERS", "batch_step", "build_method", "resolve",
           "supports_batches"]
