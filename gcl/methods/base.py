"""The interface every method implements."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.datasets import check_graph, expected_input

__all__ = ["Method"]


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

    #: Whether a training step may leave some parameters without a gradient
    #: (gCooL's centres while its community terms are off). Distributed
    #: training then asks DDP to look for them (``find_unused_parameters``),
    #: an extra traversal of the autograd graph per step that the other
    #: methods do not pay.
    may_skip_parameters: bool = False

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
        self.check_input(data)
        was_training = self.training
        self.eval()
        try:
            return self.encode(data).detach()
        finally:
            self.train(was_training)

    def check_input(self, data: Data) -> None:
        """Validates ``data`` for this method (called by :func:`gcl.fit`
        and :meth:`embed`); the default is :func:`gcl.datasets.check_graph`
        with the method's :func:`~gcl.datasets.expected_input`.

        Raises:
            ValueError: Naming what is wrong with ``data``.
        """
        check_graph(data, *expected_input(self))

    def epoch_batches(self, data: Data) -> Optional[Iterable]:
        """The mini-batches of one epoch, each passed as ``method(data,
        batch)`` by :func:`gcl.fit`, or :obj:`None` (the default) for one
        full-batch step ``method(data)`` per epoch.
        """
        return None

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

    def learning_rate(self, epoch: int, base_lr: float) -> Optional[float]:
        """The learning rate of epoch ``epoch`` (1-based) for a parameter
        group whose initial rate is ``base_lr``, or :obj:`None` (the
        default) to leave the optimiser's rate alone.

        :func:`gcl.fit` asks before every epoch, right after
        :meth:`set_epoch`, and sets the rate it gets back; it is a function
        of the epoch, so a resumed run gets the same rates. Methods whose
        paper's recipe decays the rate (LightGCL's paper setting) override
        it; the trainer does not know which.
        """
        return None

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the method."""
        for module in self.children():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
