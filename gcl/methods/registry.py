"""TEMPORARY shim of the method registry (``renov-app`` only).

Implements, minimally on the current methods, the API that the methods
rewrite provides (``METHODS``, ``ALIASES``, :func:`resolve`,
:func:`build_method`), so that the application can be written against it
before that rewrite is merged. Drop this file (and its two re-exports in
``gcl/methods/__init__.py``) when merging the real registry.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ALIASES", "build_method", "resolve"]

#: Other names of methods: alias -> canonical method name (the canonical name
#: is also the config folder).
ALIASES = {"grace_pot": "pot"}


def resolve(name: str) -> str:
    """The canonical method name of ``name`` (lower case, aliases resolved).

    Raises:
        ValueError: For an unknown name.
    """
    from gcl.methods import METHODS

    key = str(name).lower()
    key = ALIASES.get(key, key)
    if key not in METHODS:
        known = sorted({*METHODS, *ALIASES} - set(ALIASES)) + sorted(ALIASES)
        raise ValueError(f"unknown method {name!r}; known: {', '.join(known)}")
    return key


def build_method(name: str, in_channels: int, **model: Any):
    """Builds method ``name`` from a config's ``model`` section."""
    from gcl.methods import METHODS

    return METHODS[resolve(name)].from_config(in_channels, **model)
