"""gcl: graph contrastive learning on PyTorch Geometric.

Data flows one way: ``datasets -> community -> augment, nn, losses, eval ->
methods -> train -> app``; evaluators take embeddings, so :mod:`gcl.eval`
stands beside the parts, and the application (command line, experiments,
benchmarks) is on top in :mod:`gcl.app`. The import-linter contract in
``setup.cfg`` keeps it so. Subpackages are imported on first use, so ``import gcl``
stays cheap; ``gcl.fit`` is the training loop of :mod:`gcl.train`.
"""

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("analysis", "app", "augment", "community", "datasets", "eval",
               "losses", "methods", "nn", "train", "viz")
_FROM_TRAIN = ("fit", "History", "NonFiniteLossError")

__all__ = ["__version__", *_SUBMODULES, *_FROM_TRAIN]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"gcl.{name}")
    if name in _FROM_TRAIN:
        return getattr(importlib.import_module("gcl.train"), name)
    raise AttributeError(f"module 'gcl' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(__all__)
