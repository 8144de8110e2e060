"""The application on top of the library: command line, experiments, benchmarks.

- :mod:`gcl.app.config`: the per-paper YAML configs of ``gcl/configs`` and
  their ``key=value`` overrides;
- :mod:`gcl.app.experiment`: one experiment from a config (load, build,
  train, evaluate, save), :func:`~gcl.app.experiment.run_experiment`;
  the recommenders' ranking task in :mod:`gcl.app.ranking`, and what a
  finished experiment keeps (its record) in :mod:`gcl.app.record`;
- :mod:`gcl.app.bench`: the benchmark harness (method x dataset x seed,
  resumable) and the results tables it renders;
- :mod:`gcl.app.cli`: the ``gcl`` command (``gcl train | eval | bench |
  datasets``), also ``python -m gcl``.

Nothing in the library below imports this package. Its submodules are
imported on first use, so ``gcl --help`` does not load torch. The plot helpers
stay in the library (:mod:`gcl.viz`): they take tensors and histories, and
:mod:`gcl.analysis` draws with them.
"""

import importlib
from typing import Any

_SUBMODULES = ("bench", "cli", "config", "experiment", "ranking", "record")
#: The main entry points, also importable from here (loaded on first use).
_EXPORTS = {"load_config": "config", "list_configs": "config",
            "apply_overrides": "config", "protocol_options": "config",
            "Experiment": "record",
            "run_experiment": "experiment", "run_config": "experiment",
            "run_bench": "bench", "render": "bench"}

__all__ = [*_SUBMODULES, *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"gcl.app.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"gcl.app.{_EXPORTS[name]}"),
                       name)
    raise AttributeError(f"module 'gcl.app' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(__all__)
