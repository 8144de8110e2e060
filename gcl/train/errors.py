"""The error :func:`gcl.fit` raises when training diverges."""

from __future__ import annotations

__all__ = ["NonFiniteLossError"]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch.

    Args:
        epoch (int): The (1-based) epoch whose loss was not finite.
        value (float): The loss value (``nan``, ``inf`` or ``-inf``).
    """

    def __init__(self, epoch: int, value: float):
        self.epoch, self.value = epoch, value
        super().__init__(
            f"loss is {value} at epoch {epoch}: training diverged. Try a lower "
            f"learning rate or a higher temperature, and check the input "
            f"features for extreme values.")
