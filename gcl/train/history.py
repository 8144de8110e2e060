"""What :func:`gcl.fit` returns: :class:`History`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

__all__ = ["History"]


@dataclass
class History:
    """What :func:`fit` returns.

    Attributes:
        loss (list[float]): Training loss per epoch.
        seconds (list[float]): Wall-clock seconds per epoch (training step
            only, evaluation excluded).
        evals (list[dict]): ``{"epoch": e, **metrics}`` for each evaluation.
        best_epoch (int or None): Epoch with the best monitored value, when
            early stopping or evaluation monitors one.
        stopped_epoch (int or None): Epoch at which early stopping stopped.
        resumed_from (int or None): Last epoch found in the checkpoint.
    """

    loss: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    best_epoch: Optional[int] = None
    stopped_epoch: Optional[int] = None
    resumed_from: Optional[int] = None

    @property
    def epochs(self) -> int:
        """Number of epochs trained."""
        return len(self.loss)

    @property
    def seconds_per_epoch(self) -> float:
        """Median seconds per epoch (robust to the first, slower one)."""
        return float(np.median(self.seconds)) if self.seconds else float("nan")

    def to_dict(self) -> dict:
        """A JSON-serialisable copy."""
        return asdict(self)
