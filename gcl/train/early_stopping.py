"""Early stopping on a monitored value, keeping the best weights."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Optional

import torch

__all__ = ["EarlyStopping"]


class EarlyStopping:
    r"""Tracks a monitored value, its best epoch and (optionally) best weights.

    Each :meth:`step` compares a new value :math:`v` with the best so far,
    :math:`b`: with :math:`s = +1` for ``mode="max"`` and :math:`-1` for
    ``"min"``, the value improves when :math:`s v > s b + \delta`
    (``min_delta``). An improvement resets the count of bad checks and, with
    ``restore_best``, keeps a copy of the module's ``state_dict``; otherwise
    the count grows, and :meth:`step` says to stop once it reaches
    ``patience``.

    :meth:`state_dict` holds everything, the best weights included, so that a
    resumed run restores the best epoch even when it came before the
    interruption.

    Args:
        mode (str, optional): ``"max"`` or ``"min"``. (default: ``"max"``)
        patience (int, optional): Stop after this many checks without an
            improvement; :obj:`None` never stops. (default: :obj:`None`)
        min_delta (float, optional): Minimum improvement :math:`\delta`.
            (default: ``0.0``)
        restore_best (bool, optional): Keep a copy of the best weights in
            :attr:`best_state`. (default: :obj:`True`)
    """

    def __init__(self, mode: str = "max", patience: Optional[int] = None,
                 min_delta: float = 0.0, restore_best: bool = True):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.mode, self.patience = mode, patience
        self.min_delta, self.restore_best = min_delta, restore_best
        self.sign = 1.0 if mode == "max" else -1.0
        self.best = -math.inf  # the best value times sign
        self.bad = 0
        self.best_epoch: Optional[int] = None
        self.best_state: Optional[dict[str, torch.Tensor]] = None

    def step(self, value: float, epoch: int, module: torch.nn.Module) -> bool:
        """Records ``value`` at ``epoch``.

        Args:
            value (float): The monitored value.
            epoch (int): The epoch it was measured at.
            module (torch.nn.Module): The model, whose weights are copied when
                ``value`` is the best so far (with ``restore_best``).

        Returns:
            bool: Whether to stop (``patience`` checks without improvement).
        """
        if self.sign * value > self.best + self.min_delta:
            self.best, self.bad, self.best_epoch = self.sign * value, 0, epoch
            if self.restore_best:
                self.best_state = {k: v.detach().clone()
                                   for k, v in module.state_dict().items()}
            return False
        self.bad += 1
        return self.patience is not None and self.bad >= self.patience

    def restore(self, module: torch.nn.Module) -> bool:
        """Loads the best weights into ``module``, if any were kept.

        Args:
            module (torch.nn.Module): The model.

        Returns:
            bool: Whether weights were loaded.
        """
        if self.best_state is None:
            return False
        module.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict[str, Any]:
        """The tracker's state (best value and epoch, count, best weights)."""
        return {"best": self.best, "bad": self.bad, "best_epoch": self.best_epoch,
                "best_state": self.best_state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores :meth:`state_dict`'s output.

        Args:
            state (Mapping): A saved state.
        """
        self.best, self.bad = state["best"], state["bad"]
        self.best_epoch = state["best_epoch"]
        self.best_state = state["best_state"] if self.restore_best else None

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(mode={self.mode!r}, "
                f"patience={self.patience}, min_delta={self.min_delta}, "
                f"restore_best={self.restore_best})")
