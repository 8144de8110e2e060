r"""Entry-wise bounds on the normalised adjacency of every admissible edge-drop view.

From `"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_ (POT, Yu et al., NeurIPS 2023). A view
:math:`G'` is *admissible* when it keeps every self-loop and removes at most
:math:`q_i` of the edges that count towards node :math:`i`'s degree (no edge
is added). Degrees can only fall, so every entry of the normalised adjacency
:math:`\hat{A}' = \tilde{D}'^{-1/2}(A' + I)\tilde{D}'^{-1/2}` of an admissible
view lies in :math:`[L_{ij}, U_{ij}]` with

.. math::
    U_{ij} = \frac{[\tilde{A}]_{ij}}{\sqrt{(\tilde{d}_i - q_i)
    (\tilde{d}_j - q_j)}}, \qquad
    L_{ii} = \frac{1}{\tilde{d}_i}, \qquad L_{ij} = 0 \;(i \neq j),

where :math:`\tilde{A} = A + I` and :math:`\tilde{d}_i = d_i + 1`. Both live
on the support of :math:`\tilde{A}`: they are stored as two values per
edge of :math:`A + I` (:math:`O(|E| + N)` memory), never as dense
:math:`N \times N` arrays as in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.utils import remove_self_loops

from gcl._sparse import quiet_sparse, sparse_mm

__all__ = ["AdjacencyBounds", "SparseOperator", "drop_budget", "edge_drop_bounds",
           "normalized_adjacency"]

Rate = Union[float, Tensor]


def _degree(edge_index: Tensor, num_nodes: int, degree: str) -> Tensor:
    """Degree (self-loops excluded) by target (``"in"``) or source (``"out"``)."""
    if degree not in ("in", "out"):
        raise ValueError(f"degree must be 'in' or 'out', got {degree!r}")
    idx = edge_index[1] if degree == "in" else edge_index[0]
    return torch.bincount(idx, minlength=num_nodes)


def _check_edge_index(edge_index: Tensor, num_nodes: int) -> None:
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or \
            edge_index.size(0) != 2 or edge_index.dtype != torch.long:
        raise ValueError("edge_index must be a [2, E] long tensor, got "
                         f"{getattr(edge_index, 'shape', type(edge_index))}")
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be >= 1, got {num_nodes}")
    if edge_index.numel() and (int(edge_index.min()) < 0
                               or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index refers to nodes outside 0..{num_nodes - 1}")


def drop_budget(edge_index: Tensor, num_nodes: int, rate: Rate,
                degree: str = "in") -> Tensor:
    r"""Per-node edge-drop budget :math:`q_i` of POT.

    - **Uniform rate** :math:`p` (POT-GRACE):
      :math:`q_i = \min(\max(\tilde{d}_i - 2, 0), \mathrm{round}(p\, d_i))`.
    - **Per-edge rates** :math:`p_e` (POT-GCA, adaptive augmentation): the
      expected number of drops, :math:`q_i = \min(\max(\tilde{d}_i - 2, 0),
      \mathrm{round}(\sum_{e \to i} p_e))`.

    The cap :math:`\tilde{d}_i - 2 = d_i - 1` keeps at least one edge.
    Rounding is half-to-even and :math:`p\,d_i` is computed in float32, as
    ``np.round`` on the official code's float32 degrees. :math:`d_i` counts
    the edges that enter node :math:`i`'s normalisation (targets for
    ``degree="in"``, sources for ``"out"``; self-loops excluded); the
    official code uses the undirected degree, which is the same on the
    undirected graphs it runs on.

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]`` (self-loops are ignored).
        num_nodes (int): Number of nodes :math:`N`.
        rate (float or torch.Tensor): Uniform drop rate in :math:`[0, 1]`, or
            per-edge drop probabilities ``[E]`` aligned with ``edge_index``.
        degree (str, optional): ``"in"`` or ``"out"``, the normalisation of
            the encoder (see :class:`gcl.nn.GCNEncoder`). (default: ``"in"``)

    Returns:
        torch.Tensor: Budgets ``[N]`` (long).
    """
    _check_edge_index(edge_index, num_nodes)
    keep = edge_index[0] != edge_index[1]
    ei = edge_index[:, keep]
    d = _degree(ei, num_nodes, degree)
    cap = (d - 1).clamp_min(0)
    if isinstance(rate, Tensor) and rate.dim() > 0:
        if rate.shape != (edge_index.size(1),):
            raise ValueError(f"per-edge drop rates must have shape [E] = "
                             f"[{edge_index.size(1)}], got {tuple(rate.shape)}")
        if not torch.isfinite(rate).all() or rate.min() < 0 or rate.max() > 1:
            raise ValueError("per-edge drop rates must lie in [0, 1]")
        idx = ei[1] if degree == "in" else ei[0]
        expected = torch.zeros(num_nodes, dtype=rate.dtype, device=rate.device)
        expected.index_add_(0, idx, rate.detach()[keep])
        q = torch.round(expected).long()
    else:
        p = float(rate)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"edge-drop rate must be in [0, 1], got {p}")
        p32 = torch.tensor(p, dtype=torch.float32, device=d.device)
        q = torch.round(p32 * d.to(torch.float32)).long()
    return torch.minimum(cap, q)


def normalized_adjacency(edge_index: Tensor, num_nodes: int,
                         degree: str = "in",
                         dtype: torch.dtype = torch.float32
                         ) -> tuple[Tensor, Tensor]:
    r"""GCN normalisation :math:`\tilde{D}^{-1/2}(A + I)\tilde{D}^{-1/2}` of a
    (possibly directed) graph, as :class:`gcl.nn.GCNEncoder` computes it.

    Self-loops of the input are replaced by one unit self-loop per node (PyG's
    ``add_remaining_self_loops`` with unit weights). The degree counts
    targets (``"in"``, PyG's ``gcn_norm``) or sources (``"out"``, PyG
    :math:`\leq` 1.5).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``edge_index`` ``[2, E + N]`` as
        (source, target) pairs, self-loops last, and their weights.
    """
    _check_edge_index(edge_index, num_nodes)
    ei, _ = remove_self_loops(edge_index)
    d = _degree(ei, num_nodes, degree).to(dtype) + 1.0
    dinv = d.rsqrt()
    loop = torch.arange(num_nodes, device=ei.device)
    ei = torch.cat([ei, torch.stack([loop, loop])], dim=1)
    return ei, dinv[ei[0]] * dinv[ei[1]]


@dataclass
class AdjacencyBounds:
    r"""Bounds :math:`L \leq \hat{A}' \leq U` stored on the edges of :math:`A + I`.

    Entry ``e`` is the pair (``row[e]``, ``col[e]``) = (target :math:`i`,
    source :math:`j`): node :math:`i` aggregates :math:`\hat{A}'_{ij} x_j`.
    Entries are sorted by row, then column. Build with
    :func:`edge_drop_bounds`.

    Attributes:
        row (torch.Tensor): Target nodes ``[nnz]``.
        col (torch.Tensor): Source nodes ``[nnz]``.
        lower (torch.Tensor): :math:`L_{ij}` ``[nnz]``.
        upper (torch.Tensor): :math:`U_{ij}` ``[nnz]``.
        clean (torch.Tensor): The clean graph's :math:`\hat{A}_{ij}` ``[nnz]``.
        budget (torch.Tensor): :math:`q_i` ``[N]``.
        num_nodes (int): :math:`N`.
        degree (str): The normalisation (``"in"`` or ``"out"``).
    """

    row: Tensor
    col: Tensor
    lower: Tensor
    upper: Tensor
    clean: Tensor
    budget: Tensor
    num_nodes: int
    degree: str = "in"
    _ops: dict = field(default_factory=dict, repr=False, compare=False)
    _symmetric: Optional[bool] = field(default=None, repr=False, compare=False)

    @property
    def num_entries(self) -> int:
        """Number of stored entries (:math:`|E| + N`)."""
        return int(self.row.numel())

    def to(self, device: Union[str, torch.device]) -> AdjacencyBounds:
        """Returns a copy on ``device``."""
        return AdjacencyBounds(self.row.to(device), self.col.to(device),
                               self.lower.to(device), self.upper.to(device),
                               self.clean.to(device), self.budget.to(device),
                               self.num_nodes, self.degree)

    @property
    def symmetric(self) -> bool:
        r"""Whether the support of :math:`A + I` is symmetric (then so are
        :math:`L`, :math:`U` and :math:`\hat{A}`).
        """
        if self._symmetric is None:
            n = self.num_nodes
            key = torch.sort(self.col * n + self.row).values
            self._symmetric = bool(torch.equal(key, self.row * n + self.col))
        return self._symmetric

    def matrix(self, which: str, dtype: Optional[torch.dtype] = None
               ) -> SparseOperator:
        r"""The sparse ``[N, N]`` operator of ``"lower"``, ``"upper"``,
        ``"center"`` (:math:`(U + L)/2`), ``"radius"`` (:math:`(U - L)/2`) or
        ``"clean"``, in ``dtype`` (default: the bounds' own), cached.
        """
        dtype = dtype or self.lower.dtype
        if (which, dtype) not in self._ops:
            values = {
                "lower": lambda: self.lower, "upper": lambda: self.upper,
                "clean": lambda: self._clean(dtype),
                # in ``dtype``: a float64 run gets float64 arithmetic
                "center": lambda: (self.upper.to(dtype)
                                   + self.lower.to(dtype)) / 2,
                "radius": lambda: (self.upper.to(dtype)
                                   - self.lower.to(dtype)) / 2,
            }
            if which not in values:
                raise ValueError(f"unknown matrix {which!r}; choose from "
                                 f"{', '.join(values)}")
            self._ops[which, dtype] = SparseOperator(
                self.row, self.col, values[which]().to(dtype),
                (self.num_nodes, self.num_nodes), self.symmetric)
        return self._ops[which, dtype]

    def _clean(self, dtype: torch.dtype) -> Tensor:
        r""":math:`\hat{A}` computed in ``dtype`` from the degrees (the
        stored ``clean`` is rounded to the bounds' dtype): the official code
        propagates the clean graph with its GCN layer in the training dtype.
        """
        if dtype == self.clean.dtype:
            return self.clean
        # The diagonal holds 1 / d~_i, d~_i an integer: recover it exactly.
        diag = self.row == self.col
        dt = torch.ones(self.num_nodes, dtype=dtype, device=self.row.device)
        dt[self.row[diag]] = torch.round(1.0 / self.clean[diag].to(dtype))
        r = dt.rsqrt()
        return r[self.row] * r[self.col]

    def subgraph(self, nodes: Tensor) -> AdjacencyBounds:
        r"""The bounds restricted to the induced subgraph on ``nodes``.

        Rows and columns are relabelled to positions in ``nodes`` (which must
        hold distinct indices); entries leaving the subset are dropped. This
        is the official code's batch mode (``A_upper[node_list][:,
        node_list]``), which ignores out-of-batch neighbours.
        """
        pos = _positions(nodes, self.num_nodes)
        r, c = pos[self.row], pos[self.col]
        keep = (r >= 0) & (c >= 0)
        r, c = r[keep], c[keep]
        order = torch.argsort(r * nodes.numel() + c)
        sel = keep.nonzero().view(-1)[order]
        return AdjacencyBounds(r[order], c[order], self.lower[sel],
                               self.upper[sel], self.clean[sel],
                               self.budget[nodes], int(nodes.numel()),
                               self.degree)

    def to_dense(self) -> tuple[Tensor, Tensor]:
        """Dense ``(L, U)``, ``[N, N]`` each: for tests on small graphs only."""
        n = self.num_nodes
        lo = torch.zeros(n, n, dtype=self.lower.dtype, device=self.lower.device)
        up = torch.zeros_like(lo)
        lo[self.row, self.col] = self.lower
        up[self.row, self.col] = self.upper
        return lo, up

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(num_nodes={self.num_nodes}, "
                f"num_entries={self.num_entries}, degree={self.degree!r}, "
                f"max_budget={int(self.budget.max()) if self.budget.numel() else 0})")


def _positions(nodes: Tensor, num_nodes: int) -> Tensor:
    """``pos[v]`` = position of node ``v`` in ``nodes``, -1 elsewhere."""
    nodes = nodes.view(-1)
    if nodes.numel() and (int(nodes.min()) < 0 or int(nodes.max()) >= num_nodes):
        raise ValueError(f"node indices must lie in 0..{num_nodes - 1}")
    pos = torch.full((num_nodes,), -1, dtype=torch.long, device=nodes.device)
    pos[nodes] = torch.arange(nodes.numel(), device=nodes.device)
    if int((pos >= 0).sum()) != nodes.numel():
        raise ValueError("node indices must be distinct")
    return pos


def _csr(row: Tensor, col: Tensor, value: Tensor, rows: int, cols: int) -> Tensor:
    """A CSR matrix from distinct (row, col) entries (sorted here)."""
    order = torch.argsort(row * cols + col)
    row, col, value = row[order], col[order], value[order]
    crow = torch.zeros(rows + 1, dtype=torch.long, device=row.device)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=rows), 0)
    with quiet_sparse():
        return torch.sparse_csr_tensor(crow, col, value, size=(rows, cols))


class _SpMM(torch.autograd.Function):
    """``A @ y`` for a constant sparse ``A``; the backward uses the cached
    transpose instead of converting ``A.t()`` to CSR on every call.
    """

    @staticmethod
    def forward(ctx, op, y):
        ctx.op = op
        return sparse_mm(op.csr, y)

    @staticmethod
    def backward(ctx, grad):
        return None, sparse_mm(ctx.op.csr_t, grad.contiguous())


class SparseOperator:
    r"""A constant sparse matrix :math:`A` (``[R, C]``, CSR) acting on dense
    matrices, ``A @ y``, with gradients in ``y`` only.

    The transpose needed by the backward pass is built once, on first use, and
    kept (or is :math:`A` itself when ``symmetric``).

    Args:
        row, col (torch.Tensor): Indices of the distinct non-zero entries.
        value (torch.Tensor): Their values.
        shape (tuple[int, int]): :math:`(R, C)`.
        symmetric (bool, optional): :math:`A = A^\top`. (default: ``False``)
    """

    def __init__(self, row: Tensor, col: Tensor, value: Tensor,
                 shape: tuple[int, int], symmetric: bool = False):
        self.row, self.col, self.value = row, col, value
        self.shape = shape
        self.symmetric = symmetric
        self.csr = _csr(row, col, value, *shape)
        self._csr_t: Optional[Tensor] = self.csr if symmetric else None

    @property
    def csr_t(self) -> Tensor:
        r""":math:`A^\top` as CSR (cached)."""
        if self._csr_t is None:
            self._csr_t = _csr(self.col, self.row, self.value, self.shape[1],
                               self.shape[0])
        return self._csr_t

    def __matmul__(self, y: Tensor) -> Tensor:
        return _SpMM.apply(self, y)


def edge_drop_bounds(edge_index: Tensor, num_nodes: int, rate: Rate,
                     degree: str = "in",
                     budget: Optional[Tensor] = None,
                     dtype: torch.dtype = torch.float32) -> AdjacencyBounds:
    r"""Bounds on :math:`\hat{A}'` for edge dropping with per-node budgets.

    Computes :math:`q` with :func:`drop_budget` (unless ``budget`` is given)
    and the entry-wise bounds of the module docstring on the edges of
    :math:`A + I`, in :math:`O(|E| + N)` time and memory.

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]`` of the clean graph, without
            duplicates; self-loops are replaced by one self-loop per node.
        num_nodes (int): Number of nodes :math:`N`.
        rate (float or torch.Tensor): Uniform drop rate, or per-edge drop
            probabilities ``[E]`` (see :func:`drop_budget`).
        degree (str, optional): ``"in"`` or ``"out"``, the encoder's
            normalisation. (default: ``"in"``)
        budget (torch.Tensor, optional): Use these budgets ``[N]`` instead.
        dtype (torch.dtype, optional): Dtype of the stored bounds.
            (default: ``torch.float32``)

    Returns:
        AdjacencyBounds: The bounds, sorted by (row, col).

    Raises:
        ValueError: For a malformed ``edge_index``, duplicate edges, rates
            outside :math:`[0, 1]` or budgets of the wrong shape.
    """
    _check_edge_index(edge_index, num_nodes)
    ei, _ = remove_self_loops(edge_index)
    key = ei[0] * num_nodes + ei[1]
    if torch.unique(key).numel() != key.numel():
        raise ValueError(
            "edge_index has duplicate edges; POT's bounds assume a simple graph "
            "(coalesce it, e.g. torch_geometric.utils.coalesce)")
    d = _degree(ei, num_nodes, degree)
    q = drop_budget(edge_index, num_nodes, rate, degree) if budget is None \
        else budget.to(device=ei.device, dtype=torch.long)
    if q.shape != (num_nodes,) or (q < 0).any() or (q > (d - 1).clamp_min(0)).any():
        raise ValueError(f"budget must be [N] = [{num_nodes}] with 0 <= q_i <= "
                         f"max(d_i - 1, 0)")
    # Computed in float64 and rounded once to ``dtype``, as the official
    # code (NumPy float64, stored as np.float32).
    dt = d.to(torch.float64) + 1.0
    r_up = (dt - q.to(torch.float64)).rsqrt()
    r_clean = dt.rsqrt()
    loop = torch.arange(num_nodes, device=ei.device)
    row = torch.cat([ei[1], loop])  # target i aggregates source j
    col = torch.cat([ei[0], loop])
    order = torch.argsort(row * num_nodes + col)
    row, col = row[order], col[order]
    diag = row == col
    upper = r_up[row] * r_up[col]
    clean = r_clean[row] * r_clean[col]
    lower = torch.where(diag, clean, torch.zeros_like(clean))
    return AdjacencyBounds(row, col, lower.to(dtype), upper.to(dtype),
                           clean.to(dtype), q, num_nodes, degree)
