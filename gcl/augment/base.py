"""Base class of every augmentor: a PyG transform that never mutates its input."""

from __future__ import annotations

from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

__all__ = ["Augmentor"]


class Augmentor(BaseTransform):
    r"""A stochastic view maker ``Data -> Data``.

    Follows PyG's :class:`~torch_geometric.transforms.BaseTransform`:
    ``__call__`` shallow-copies the input and hands the copy to
    :meth:`forward`, which replaces attributes with new tensors and never
    writes into the input's tensors. Randomness comes from torch's global
    RNG, so :func:`torch.manual_seed` makes views repeatable.
    """

    def forward(self, data: Data) -> Data:  # pragma: no cover - abstract
        """Returns the view of ``data`` (a shallow copy to modify)."""
        raise NotImplementedError

    @staticmethod
    def _check(data: Data) -> None:
        if not isinstance(data, Data):
            raise TypeError(
                f"augmentors take a torch_geometric.data.Data, got "
                f"{type(data).__name__}")
