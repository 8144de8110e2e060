r"""One mini-batch step of any node-level method: :func:`batch_step`."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from gcl.augment import restrict_augmentors
from gcl.losses import pot_loss
from gcl.methods.base import Method
from gcl.methods.pot import POT
from gcl.methods.two_view import TwoViewMethod, TwoViewStep

__all__ = ["batch_step", "supports_batches"]


def supports_batches(method: Method) -> bool:
    """Whether ``method`` trains on sampled subgraphs (:func:`batch_step`):
    two-view methods (GRACE, GCA, CSGCL, gCooL) and POT around one.
    """
    return isinstance(method, TwoViewMethod) or (
        isinstance(method, POT) and isinstance(method.base, TwoViewMethod))


def batch_step(method: Method, batch: Data) -> TwoViewStep:
    r"""One training step of ``method`` on a sampled subgraph.

    - A :class:`~gcl.methods.TwoViewMethod` runs its
      :meth:`~gcl.methods.TwoViewMethod.batch_step`: views of the subgraph
      from the augmentors fitted on the full graph, the objective on the
      batch's seed nodes (negatives from the batch, plus the drawn nodes of
      a :class:`gcl.train.GlobalNegativesLoader` batch, negatives only).
    - :class:`~gcl.methods.POT` adds its term to its base method's batch
      step, through POT's public interface (``base``, ``kappa``, ``scores``):
      the bounds :math:`L \leq \hat{A}' \leq U` are those of the subgraph
      that the encoder propagates over (its GCN normalisation uses the
      subgraph's degrees), from the drop rates of the subgraph's edges, so
      they are recomputed per batch in :math:`O(|E_{\text{batch}}|)`; the
      scores are taken on the seeds (the first ``pot_batch`` of them when
      set), never on sampled global negatives. POT's ``nce_batch`` is a
      node batch of full-batch training and is not used: the loader's
      batches replace it.

    Args:
        method (Method): The method (prepared on the full graph).
        batch (Data): A subgraph from :func:`gcl.train.neighbor_loader`.

    Returns:
        TwoViewStep: The step record; ``.loss`` is the scalar to minimise.

    Raises:
        TypeError: If ``method`` has no mini-batch form.
    """
    if isinstance(method, TwoViewMethod):
        return method.batch_step(batch)
    if isinstance(method, POT) and isinstance(method.base, TwoViewMethod):
        return _pot_batch_step(method, batch)
    raise TypeError(f"{type(method).__name__} has no mini-batch form: mini-batch "
                    f"training supports two-view methods (GRACE, GCA, CSGCL, "
                    f"gCooL) and POT around one; train it full-batch "
                    f"(batch_size=None)")


def _pot_batch_step(method: POT, batch: Data) -> TwoViewStep:
    base = method.base
    step = base.batch_step(batch)
    if method.kappa == 0.0:
        return step
    size = int(batch.batch_size)
    if method.pot_batch is not None:
        size = min(size, method.pot_batch)
    nodes = torch.arange(size, device=batch.edge_index.device)
    graph = Data(x=batch.x, edge_index=batch.edge_index, num_nodes=batch.num_nodes)
    fitted = base.augmentors
    base.augmentors = restrict_augmentors(fitted, batch.e_id, batch.num_nodes)
    try:  # POT reads the views' drop rates from its base's augmentors
        reg = pot_loss(method.scores(graph, step.views, step.zs, nodes))
    finally:
        base.augmentors = fitted
    loss = (1.0 - method.kappa) * step.loss + method.kappa * reg
    return TwoViewStep(loss, step.views, step.zs,
                       {**step.terms, "base": step.loss, "pot": reg})
