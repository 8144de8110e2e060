"""The interface every method implements."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

__all__ = ["Method", "check_graph"]


def check_graph(data: Data) -> None:
    """Validates a homogeneous graph before training or embedding.

    Raises a :class:`ValueError` naming the problem: missing or non-float
    features, NaN/inf features, an empty graph, a malformed or out-of-range
    ``edge_index``, or misaligned edge weights.
    """
    if not isinstance(data, Data):
        raise TypeError(f"expected torch_geometric.data.Data, got "
                        f"{type(data).__name__}")
    x = data.x
    if x is None:
        raise ValueError("data.x is missing: the method needs node features")
    if x.dim() != 2 or x.size(0) == 0:
        raise ValueError(f"data.x must be a non-empty [N, F] tensor, got shape "
                         f"{tuple(x.shape)} (an empty graph?)")
    if not x.is_floating_point():
        raise ValueError(f"data.x must be floating point, got {x.dtype}")
    if x.is_sparse and x.layout != torch.sparse_coo:
        raise ValueError(f"a sparse data.x must be sparse COO, got {x.layout}")
    if not torch.isfinite(x.coalesce().values() if x.is_sparse else x).all():
        raise ValueError("data.x contains NaN or inf values")
    ei = data.edge_index
    if ei is None:
        raise ValueError("data.edge_index is missing")
    if ei.dim() != 2 or ei.size(0) != 2 or ei.dtype != torch.long:
        raise ValueError(f"data.edge_index must be a [2, E] long tensor, got "
                         f"shape {tuple(ei.shape)} and dtype {ei.dtype}")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= x.size(0)):
        raise ValueError(
            f"data.edge_index refers to node {int(ei.max())} (or "
            f"{int(ei.min())}) but there are {x.size(0)} nodes (0..{x.size(0)-1})")
    w = data.get("edge_weight")
    if w is not None and w.shape != (ei.size(1),):
        raise ValueError(f"data.edge_weight must have shape [E] = "
                         f"[{ei.size(1)}], got {tuple(w.shape)}")


class Method(torch.nn.Module):
    r"""Base class of a contrastive method.

    A method holds its encoder, augmentors and loss. Subclasses implement
    :meth:`forward` (one training step's objective) and :meth:`encode`;
    :meth:`embed` is the frozen, evaluation-mode embedding of the clean
    graph.

    Statistics of the training graph are computed once in :meth:`prepare`
    and stored in attributes with a trailing underscore (``membership_``,
    ``bounds_``), as scikit-learn marks fitted state;
    :meth:`reset_parameters` clears them. Per-epoch schedules (CSGCL's
    :math:`\gamma(t)`, gCooL's community weight, re-clustering) go through
    the single hook :meth:`set_epoch`, which :func:`gcl.fit` calls at the
    start of every epoch, so the trainer never needs to know the method.

    Methods that contrast two augmented views of one graph derive from
    :class:`~gcl.methods.TwoViewMethod`, which writes the training step.
    """

    def forward(self, data: Data) -> Tensor:  # pragma: no cover - abstract
        """Returns the scalar training loss of one step on ``data``."""
        raise NotImplementedError

    def encode(self, data: Data) -> Tensor:
        """Encodes ``data`` with the method's encoder (with gradients)."""
        return self.encoder(data.x, data.edge_index, data.get("edge_weight"))

    @torch.no_grad()
    def embed(self, data: Data) -> Tensor:
        """Returns the embeddings of the clean graph in evaluation mode.

        The training mode is restored afterwards. The result is detached.
        """
        check_graph(data)
        was_training = self.training
        self.eval()
        try:
            return self.encode(data).detach()
        finally:
            self.train(was_training)

    def prepare(self, data: Data) -> None:
        """Hook called by :func:`gcl.fit` once before training, with the
        training graph on the training device.

        Methods whose augmentors or losses need statistics of the graph
        (communities, centralities, bounds) compute and cache them here, so
        that no epoch recomputes them. The default does nothing.
        """

    def set_epoch(self, epoch: int) -> None:
        """Hook called by :func:`gcl.fit` before epoch ``epoch`` (1-based)."""
        self.epoch = epoch

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the method."""
        for module in self.children():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
