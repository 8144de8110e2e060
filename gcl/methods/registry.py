"""The one registry of methods: names, aliases and building from a config."""

from __future__ import annotations

import inspect
import operator
from collections.abc import Mapping
from typing import Any, Union

from gcl.methods.adameow import AdaMEOW
from gcl.methods.base import Method
from gcl.methods.csgcl import CSGCL
from gcl.methods.gca import GCA
from gcl.methods.gcool import GCOOL
from gcl.methods.gcool_multiplex import GCOOLMultiplex
from gcl.methods.grace import GRACE
from gcl.methods.heco import HeCo
from gcl.methods.lightgcl import LightGCL
from gcl.methods.lightgcn import LightGCN
from gcl.methods.meow import MEOW
from gcl.methods.pamc import PamC
from gcl.methods.pot import POT
from gcl.methods.simgcl import SimGCL

__all__ = ["ALIASES", "HETEROGENEOUS", "METHODS", "RECOMMENDERS", "WRAPPERS",
           "build_method", "resolve"]

#: Method classes by name, as used in configs (``method:``), on the command
#: line and as the folder of their configs in ``gcl/configs/<name>/``.
METHODS: dict[str, type[Method]] = {"grace": GRACE, "gca": GCA,
                                    "csgcl": CSGCL, "gcool": GCOOL, "pot": POT,
                                    "pamc": PamC, "lightgcn": LightGCN,
                                    "simgcl": SimGCL, "lightgcl": LightGCL,
                                    "heco": HeCo, "meow": MEOW,
                                    "adameow": AdaMEOW,
                                    "gcool_multiplex": GCOOLMultiplex}

#: Methods that train on :class:`~gcl.datasets.InteractionData` (ranking
#: task); their ``from_config`` takes ``num_users`` and ``num_items``.
RECOMMENDERS: tuple[str, ...] = ("lightgcn", "simgcl", "lightgcl")

#: Methods that train on a :class:`~torch_geometric.data.HeteroData` (meta-path
#: views of a target node type); their ``from_config`` takes the feature width
#: of every node type (``data.num_features``, a dict) as ``in_channels``.
#: (``gcool_multiplex`` also trains on a ``Data`` with a ``relations`` dict.)
HETEROGENEOUS: tuple[str, ...] = ("heco", "meow", "adameow", "gcool_multiplex")

#: Other names of methods: ``grace_pot`` is POT around GRACE (the ``pot``
#: configs, which hold ``base: grace``).
ALIASES: dict[str, str] = {"grace_pot": "pot"}

#: Methods that wrap another one: their ``model`` section names the wrapped
#: method in ``base``.
WRAPPERS: tuple[str, ...] = ("pot",)


def resolve(name: str) -> str:
    """The canonical name of method ``name`` (case-insensitive, aliases
    resolved).

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    key = str(name).lower()
    key = ALIASES.get(key, key)
    if key not in METHODS:
        known = ", ".join(sorted([*METHODS, *ALIASES]))
        raise ValueError(f"unknown method {name!r}; known: {known}")
    return key


def _options(fn: Any) -> set[str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _check_in_channels(in_channels: Any) -> None:
    def width(v: Any) -> bool:  # an integer count, numpy's and torch's too
        try:
            return not isinstance(v, bool) and operator.index(v) >= 0
        except TypeError:
            return False

    ok = in_channels is None or width(in_channels) or (
        isinstance(in_channels, Mapping)
        and all(isinstance(k, str) and width(v) for k, v in in_channels.items()))
    if not ok:
        raise TypeError(
            f"in_channels must be the input feature width (an int such "
            f"as data.num_features), a mapping of node type to width, or None "
            f"for a recommender; got {type(in_channels).__name__} "
            f"{str(in_channels)[:80]!r}")


def build_method(name: Union[str, Mapping[str, Any]], in_channels: int,
                 **model: Any) -> Method:
    """Builds method ``name`` from the ``model`` section of its config.

    ``build_method(cfg, F)`` with a whole config (a mapping with ``method``
    and ``model``, as :func:`gcl.app.load_config` returns) is
    ``build_method(cfg["method"], F, **cfg["model"])``.

    A plain method is ``METHODS[name].from_config(in_channels, **model)``. A
    wrapper (``pot``) takes its own options from ``model`` and builds the
    method it wraps from ``base``, recursively, in either form:

    - flat, as the shipped configs: ``{base: csgcl, kappa: 0.4, ...CSGCL's
      keys...}``: every key that is not the wrapper's goes to the base;
    - nested: ``{base: {method: csgcl, ...CSGCL's keys...}, kappa: 0.4}``.

    Args:
        name (str or Mapping): A key or alias of :data:`METHODS`, or a
            whole config.
        in_channels (int, Mapping[str, int] or None): Input feature width
            of the encoder (``data.num_features``); per node type for the
            heterogeneous methods; :obj:`None` for the recommenders.
        **model: The config's ``model`` section.

    Raises:
        TypeError: If ``in_channels`` is none of the above (say, the graph
            itself instead of its ``num_features``).
        ValueError: For an unknown method, a wrapper without ``base``, or a
            key that the method does not take (naming the method and its
            options).
    """
    if isinstance(name, Mapping):
        if model:
            raise ValueError("pass either a config or a name with model keys")
        if "method" not in name:
            raise ValueError("the config has no 'method' key")
        return build_method(name["method"], in_channels,
                            **(name.get("model") or {}))
    _check_in_channels(in_channels)
    key = resolve(name)
    cls = METHODS[key]
    if key not in WRAPPERS:
        options = _options(cls.from_config) - {"cls", "in_channels"}
        unknown = sorted(set(model) - options)
        if unknown:
            raise ValueError(f"model keys {unknown} are not options of "
                             f"{key!r} ({cls.__name__}.from_config: "
                             f"{', '.join(sorted(options))})")
        return cls.from_config(in_channels, **model)

    model = dict(model)
    base = model.pop("base", None)
    if base is None:
        raise ValueError(f"method {key!r} wraps another method: its config "
                         f"needs model.base (e.g. base: grace)")
    options = _options(cls.__init__) - {"self", "base"}
    own = {k: model.pop(k) for k in list(model) if k in options}
    if isinstance(base, Mapping):
        if model:
            raise ValueError(f"model keys {sorted(model)} are not options of "
                             f"{key!r} ({', '.join(sorted(options))}); with a "
                             f"nested base, the base's keys go inside it")
        base = dict(base)
        if "method" not in base:
            raise ValueError("a nested model.base needs its own 'method' key")
        inner = build_method(base.pop("method"), in_channels, **base)
    else:
        try:
            inner = build_method(base, in_channels, **model)
        except ValueError as e:
            raise ValueError(f"{key} base {base!r}: {e}; a {key} config holds "
                             f"{key}'s keys ({', '.join(sorted(options))}) "
                             f"and the base method's own") from None
    return cls(inner, **own)
