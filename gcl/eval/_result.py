"""The result object every evaluator returns."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EvalResult"]


def _jsonable(obj: Any) -> Any:
    """Converts numpy/torch scalars and arrays, tuples and sets to plain JSON types."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if type(obj).__module__.startswith("torch") and hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (Sequence, set, frozenset)):
        return [_jsonable(v) for v in obj]
    return repr(obj)


@dataclass
class EvalResult:
    r"""Scores of frozen embeddings under one named evaluation protocol.

    Shared by all evaluators (node classification, clustering, link prediction,
    ...). Published numbers depend on the protocol, so the result always names
    it. Metrics are fractions in :math:`[0, 1]`; :meth:`__str__` shows them in
    percent.

    Args:
        protocol (str): Name of the protocol that produced the scores, e.g.
            ``"grace"`` or ``"linear_probe"``.
        metrics (dict[str, float]): Mean of each metric over the runs. The first
            key is the headline metric.
        std (dict[str, float]): Population standard deviation (``ddof=0``, as
            ``np.std`` in the official GRACE/GCA code) of each metric, across
            the runs unless ``details["std"]`` names another spread (full
            ranking's is across users).
        per_split (list[dict[str, float]]): The metrics of every run (split or
            seed), in order.
        details (dict, optional): Protocol facts: split sizes, chosen
            hyper-parameters, epochs selected, ... (default: ``{}``)
    """

    protocol: str
    metrics: dict[str, float]
    std: dict[str, float]
    per_split: list[dict[str, float]]
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_runs(
        cls,
        protocol: str,
        per_split: Sequence[Mapping[str, float]],
        details: dict[str, Any] | None = None,
    ) -> EvalResult:
        """Builds a result from the metrics of each run (mean and ``ddof=0`` std).

        Args:
            protocol (str): Protocol name.
            per_split (Sequence[Mapping[str, float]]): One mapping per run, all
                with the same keys.
            details (dict, optional): Protocol facts. (default: :obj:`None`)
        """
        if len(per_split) == 0:
            raise ValueError("EvalResult.from_runs needs at least one run")
        keys = list(per_split[0])
        for run in per_split:
            if list(run) != keys:
                raise ValueError(
                    f"all runs must report the same metrics; got {list(run)} "
                    f"and {keys}")
        runs = [{k: float(run[k]) for k in keys} for run in per_split]
        metrics = {k: float(np.mean([r[k] for r in runs])) for k in keys}
        std = {k: float(np.std([r[k] for r in runs])) for k in keys}
        return cls(protocol, metrics, std, runs, dict(details or {}))

    @property
    def num_runs(self) -> int:
        """Number of runs (splits or seeds) the means are taken over."""
        return len(self.per_split)

    def __getitem__(self, metric: str) -> float:
        """The mean of ``metric``, e.g. ``result["accuracy"]``."""
        try:
            return self.metrics[metric]
        except KeyError:
            raise KeyError(
                f"no metric {metric!r}; this result has {list(self.metrics)}"
            ) from None

    def _fmt(self, key: str) -> str:
        mean, std = self.metrics[key], self.std.get(key, math.nan)
        return f"{key} {100 * mean:.2f} ± {100 * std:.2f}"

    def __str__(self) -> str:
        keys = list(self.metrics)
        if not keys:
            return f"{self.protocol}: no metrics"
        text = f"{self.protocol}: {self._fmt(keys[0])}"
        if len(keys) > 1:
            text += " (" + ", ".join(self._fmt(k) for k in keys[1:]) + ")"
        unit = "run" if self.num_runs == 1 else "runs"
        spread = self.details.get("std")
        note = f"; ± is the {spread}" if isinstance(spread, str) else ""
        return f"{text} over {self.num_runs} {unit}{note}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary of all fields."""
        return {
            "protocol": self.protocol,
            "metrics": _jsonable(self.metrics),
            "std": _jsonable(self.std),
            "per_split": _jsonable(self.per_split),
            "details": _jsonable(self.details),
        }
