r"""Weighted InfoNCE: every negative of an anchor carries its own weight (MEOW)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.losses._blockwise import (
    _block,
    _check_pair,
    _check_tau,
    _rows_checkpointed,
    _weighted_lse_block,
)

__all__ = ["WeightedInfoNCE", "cluster_negative_weights", "weighted_info_nce"]

#: ``weight(rows, cols) -> [len(rows), len(cols)]``: the block of weights
#: :math:`w_{ij}` of anchors ``rows`` and samples ``cols``.
PairWeight = Callable[[Tensor, Tensor], Tensor]


def _stack_labels(labels: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """Cluster labels as one ``[K, N]`` integer tensor."""
    if isinstance(labels, Tensor):
        out = labels[None] if labels.dim() == 1 else labels
    else:
        items = list(labels)
        if not items:
            raise ValueError("cluster_labels must hold at least one clustering")
        if any(not isinstance(t, Tensor) or t.dim() != 1 for t in items):
            raise ValueError("each clustering must be a label tensor [N]")
        if len({t.numel() for t in items}) != 1:
            raise ValueError(
                f"all clusterings must label the same nodes, got lengths "
                f"{[t.numel() for t in items]}")
        out = torch.stack([t.long() for t in items])
    if out.dim() != 2 or out.size(0) < 1:
        raise ValueError(
            f"cluster_labels must be [N] or [K, N], got {tuple(labels.shape)}")
    if out.is_floating_point() or out.is_complex() or out.dtype == torch.bool:
        raise ValueError(f"cluster labels must be integers, got {out.dtype}")
    return out.long()


def cluster_negative_weights(labels: Union[Tensor, Sequence[Tensor]],
                             dtype: Optional[torch.dtype] = None) -> PairWeight:
    r"""MEOW's weight of a negative from repeated clusterings.

    From `"Heterogeneous Graph Contrastive Learning with Meta-path Contexts
    and Weighted Negative Samples" <https://arxiv.org/abs/2212.13847>`_ (Yu
    and Li, SDM 2023), as coded in ``jianxiangyu/MEOW``
    (``code_meow/module/contrast.py``). With :math:`K` clusterings
    :math:`c_1..c_K` of the nodes,

    .. math::
        w_{ij} = K - \sum_{k=1}^{K} \mathbb{1}[c_k(i) = c_k(j)]
        \in \{0, \dots, K\},

    so :math:`w_{ii} = 0` (the positive leaves the denominator) and a node
    that shares the anchor's cluster in every clustering is dropped as a
    likely false negative. The official code uses these integer weights as
    they are, with no normalisation.

    Args:
        labels (torch.Tensor or sequence of torch.Tensor): Cluster labels,
            ``[K, N]``, ``[N]`` (one clustering) or a list of ``[N]``.
        dtype (torch.dtype, optional): Dtype of the returned blocks.
            (default: :obj:`None`, ``torch.long``)

    Returns:
        A callable ``weight(rows, cols)`` returning the ``[len(rows),
        len(cols)]`` block of :math:`w` on the labels' device; it never forms
        :math:`N \times N` unless asked for every row.
    """
    return _ClusterWeights(_stack_labels(labels), dtype or torch.long)


class _ClusterWeights:
    """MEOW's weights as a block callable (see :func:`cluster_negative_weights`)."""

    def __init__(self, labels: Tensor, dtype: torch.dtype):
        self.labels = labels
        self.dtype = dtype

    def __call__(self, rows: Tensor, cols: Tensor) -> Tensor:
        a = self.labels[:, rows]
        b = self.labels[:, cols]
        w = torch.full((rows.numel(), cols.numel()), self.labels.size(0),
                       dtype=self.dtype, device=self.labels.device)
        for ak, bk in zip(a, b):  # one pass per clustering, no [K, B, N] tensor
            w.sub_((ak[:, None] == bk[None, :]).to(self.dtype))
        return w


def weighted_info_nce(
    z1: Tensor,
    z2: Tensor,
    weight: Optional[PairWeight] = None,
    cluster_labels: Optional[Union[Tensor, Sequence[Tensor]]] = None,
    tau: float = 0.5,
    block_size: Optional[int] = None,
) -> Tensor:
    r"""One-directional InfoNCE whose denominator weights every sample.

    From `"Heterogeneous Graph Contrastive Learning with Meta-path Contexts
    and Weighted Negative Samples" <https://arxiv.org/abs/2212.13847>`_
    (MEOW, Yu and Li, SDM 2023; AdaMEOW, TKDE 2024). With anchors
    :math:`u_i` (rows of ``z1``), samples :math:`v_j` (rows of ``z2``), both
    L2-normalised, and weights :math:`w_{ij} \geq 0`:

    .. math::
        \mathcal{L} = -\frac{1}{N} \sum_{i} \log
        \frac{e^{u_i^\top v_i / \tau}}{\sum_{j} w_{ij}\, e^{u_i^\top v_j /
        \tau}}.

    The positive :math:`j = i` is in the denominator exactly as much as
    :math:`w_{ii}` says: MEOW's cluster weights give :math:`w_{ii} = 0`
    (the official ``InfoNce`` multiplies the whole similarity matrix,
    diagonal included, by :math:`w`), AdaMEOW's learned weights keep it.

    The weights come from a callable ``weight(rows, cols)`` that returns one
    ``[B, N]`` block at a time, or from cluster labels by MEOW's rule
    (:func:`cluster_negative_weights`). Each row block runs under gradient
    checkpointing (the backward recomputes the block and its weights), so
    memory is :math:`O(N \cdot \text{block})` and no :math:`N \times N`
    weight matrix is held. A weight callable may depend on parameters
    (AdaMEOW's MLP): its gradients flow; it must then be deterministic,
    because the backward pass calls it again.

    Args:
        z1 (torch.Tensor): Anchor embeddings, ``[N, d]`` (MEOW: the coarse
            view; AdaMEOW: the fine-grained view).
        z2 (torch.Tensor): Sample embeddings, ``[N, d]``; row ``i`` is the
            positive of anchor ``i``.
        weight (callable, optional): ``weight(rows, cols) -> [len(rows),
            len(cols)]`` non-negative weights. (default: :obj:`None`)
        cluster_labels (torch.Tensor or sequence, optional): ``[K, N]``
            labels of :math:`K` clusterings, for MEOW's weights. Exactly one
            of ``weight`` and ``cluster_labels`` is given.
            (default: :obj:`None`)
        tau (float, optional): Temperature :math:`\tau`. (default:
            :obj:`0.5`)
        block_size (int, optional): Rows per block. (default: :obj:`None`,
            256 rows)

    Returns:
        torch.Tensor: The scalar mean loss.
    """
    _check_pair(z1, z2, "weighted_info_nce")
    _check_tau(tau)
    n = z1.size(0)
    if (weight is None) == (cluster_labels is None):
        raise ValueError("give exactly one of weight (a callable) and cluster_labels")
    if cluster_labels is not None:
        lab = _stack_labels(cluster_labels).to(z1.device)
        if lab.size(1) != n:
            raise ValueError(
                f"cluster_labels label {lab.size(1)} nodes, the embeddings {n}")
        if bool((lab == lab[:, :1]).all()):
            raise ValueError(
                "every clustering puts all nodes in one cluster, so every "
                "weight is 0 and the loss is infinite")
        weight = _ClusterWeights(lab, z1.dtype)
    elif not callable(weight):
        raise ValueError(f"weight must be callable, got {type(weight).__name__}")
    block = _block(n, block_size)
    u = F.normalize(z1, dim=1)
    v = F.normalize(z2, dim=1)
    cols = torch.arange(n, device=z1.device)

    def rows_lse(s: int, e: int) -> Tensor:
        logits = (u[s:e] @ v.t()) / tau
        w = weight(cols[s:e], cols)
        if not isinstance(w, Tensor) or w.shape != logits.shape:
            shape = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise ValueError(
                f"weight(rows, cols) must return a [{e - s}, {n}] block, got {shape}")
        if not isinstance(weight, _ClusterWeights):  # MEOW's are valid by construction
            w = w.to(logits.dtype)
            lo, hi = torch.aminmax(w.detach())  # NaN propagates into both
            if not (bool(lo >= 0) and bool(hi < float("inf"))):
                raise ValueError("weights must be finite and non-negative")
        return _weighted_lse_block(logits, w)

    lse = _rows_checkpointed(rows_lse, n, block)
    pos = (u * v).sum(dim=1) / tau
    return (lse - pos).mean()


class WeightedInfoNCE(torch.nn.Module):
    r"""Module form of :func:`weighted_info_nce` (MEOW's weighted InfoNCE).

    Args:
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
    """

    def __init__(self, tau: float = 0.5, block_size: Optional[int] = None):
        super().__init__()
        _check_tau(tau)
        self.tau = tau
        self.block_size = block_size

    def forward(self, z1: Tensor, z2: Tensor, weight: Optional[PairWeight] = None,
                cluster_labels: Optional[Union[Tensor, Sequence[Tensor]]] = None
                ) -> Tensor:
        """Returns the loss of anchors ``z1`` against samples ``z2``."""
        return weighted_info_nce(z1, z2, weight, cluster_labels, self.tau,
                                 self.block_size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(tau={self.tau})"
