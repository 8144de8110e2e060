r"""Row-block log-sum-exp cores shared by the heterogeneous contrastive losses.

Two cores keep memory at :math:`O(N \cdot \text{block})`:

* :class:`_CrossLSE`, a custom autograd function for the row *and* column
  log-sum-exps of one similarity matrix :math:`S = u v^\top / \tau` without
  weights (HeCo's two directions read the same block, never its transpose);
* :func:`_rows_checkpointed`, which evaluates any per-block function (a row
  block of logits with weights that may themselves need gradients, such as
  AdaMEOW's learned weights) under :func:`torch.utils.checkpoint.checkpoint`,
  so the backward pass recomputes one block at a time;
* :func:`cross_logsumexp`, the row log-sum-exps of :math:`a b^\top / \tau`
  alone (LightGCL's contrastive term, one-directional inter-view InfoNCE),
  which may keep its exponentiated blocks for the backward pass;
* :func:`pair_dots`, the dot products :math:`a_i^\top b_j` of a fixed set
  of index pairs (HeCo's positives) as a sampled dense-dense product, with
  no ``[P, d]`` gather.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from gcl._sparse import csr_tensor, sparse_mm

# Rows per block when none is given (the same default as gcl.losses.info_nce).
_DEFAULT_BLOCK = 256
# Rows per block of cross_logsumexp when none is given.
_ROW_LSE_BLOCK = 1024


def _block(n: int, block_size: int | None) -> int:
    """Validated rows per block (default 256, at most ``n``)."""
    if block_size is None:
        return max(1, min(n, _DEFAULT_BLOCK))
    if isinstance(block_size, bool) or int(block_size) != block_size or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    return int(block_size)


def _shape(x) -> object:
    """Shape of a tensor, else its type name (for error messages)."""
    return tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__


def _check_tau(tau: float) -> None:
    if not (isinstance(tau, (int, float)) and tau > 0 and tau < float("inf")):
        raise ValueError(f"temperature tau must be a positive number, got {tau!r}")


def _check_pair(z1: Tensor, z2: Tensor, what: str) -> None:
    if not (isinstance(z1, Tensor) and isinstance(z2, Tensor)):
        raise ValueError(f"{what} expects two tensors")
    if z1.dim() != 2 or z2.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(
            f"{what} expects two [N, d] embeddings of the same shape, got "
            f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.size(0) < 1 or z1.size(1) < 1:
        raise ValueError(f"{what} got empty embeddings of shape {tuple(z1.shape)}")
    if not (z1.is_floating_point() and z2.is_floating_point()):
        raise ValueError(f"{what} expects floating-point embeddings")
    if not (torch.isfinite(z1).all() and torch.isfinite(z2).all()):
        raise ValueError(f"{what} got NaN or infinite embeddings")


#: Largest range 2c of the logits for which :class:`_CrossLSE` shifts by
#: the bound c instead of by each row's maximum: exp(-60) = 8.8e-27 is far
#: above float32's smallest normal number (1.2e-38), so no entry underflows.
_FIXED_SHIFT_RANGE = 60.0


def _shifted_exp(u: Tensor, v: Tensor, tau: float, c: float) -> Tensor:
    """``exp(u @ v.T / tau - c)`` of one row block, in one product and one
    in-place exponential (:class:`_CrossLSE`'s forward and backward).
    """
    return torch.addmm(u.new_full((), -c), u, v.t(), alpha=1.0 / tau).exp_()


class _CrossLSE(torch.autograd.Function):
    r"""Row and column log-sum-exps of :math:`S = u v^\top / \tau`.

    ``u`` is ``[N, d]``, ``v`` is ``[M, d]``; returns ``lse_row[i] =
    log sum_j exp(S_ij)`` (``[N]``) and ``lse_col[j] = log sum_i exp(S_ij)``
    (``[M]``). The forward pass streams row blocks; the backward pass
    recomputes them:

    .. math::
        \frac{\partial L}{\partial S_{ij}} = g^{r}_i\, e^{S_{ij} -
        \mathrm{lse}^{r}_i} + g^{c}_j\, e^{S_{ij} - \mathrm{lse}^{c}_j}.

    **Bounded logits** (HeCo's case: cosines over :math:`\tau`). With
    :math:`c = \max_i \|u_i\| \max_j \|v_j\| / \tau \geq |S_{ij}|` and
    :math:`2c < 60`, every block is exponentiated once, :math:`E = e^{S -
    c}` (no entry underflows), and both log-sum-exps are its row and column
    sums; in the backward pass, with :math:`a_i = g^r_i e^{c -
    \mathrm{lse}^r_i}` and :math:`b_j = g^c_j e^{c - \mathrm{lse}^c_j}`,
    :math:`\partial S = E \odot (a_i + b_j)`: one exponential and one
    product per block instead of two of each. Otherwise each block is
    shifted by its row and column maxima (``torch.logsumexp``).
    """

    @staticmethod
    def forward(ctx, u, v, tau, block):
        n = u.size(0)
        c = float(u.norm(dim=1).max() * v.norm(dim=1).max()) / tau
        fixed = 2.0 * c < _FIXED_SHIFT_RANGE
        lse_row = u.new_empty(n)
        if fixed:
            col_sum = u.new_zeros(v.size(0))
            for s in range(0, n, block):
                e = min(s + block, n)
                ex = _shifted_exp(u[s:e], v, tau, c)
                lse_row[s:e] = ex.sum(dim=1)
                col_sum += ex.sum(dim=0)
            lse_row = lse_row.log_().add_(c)
            lse_col = col_sum.log_().add_(c)
        else:
            lse_col = u.new_full((v.size(0),), float("-inf"))
            for s in range(0, n, block):
                e = min(s + block, n)
                r = (u[s:e] @ v.t()).div_(tau)
                lse_row[s:e] = torch.logsumexp(r, dim=1)
                lse_col = torch.logaddexp(lse_col, torch.logsumexp(r, dim=0))
        ctx.save_for_backward(u, v, lse_row, lse_col)
        ctx.cfg = (tau, block, c if fixed else None)
        return lse_row, lse_col

    @staticmethod
    def backward(ctx, g_row, g_col):
        u, v, lse_row, lse_col = ctx.saved_tensors
        tau, block, c = ctx.cfg
        n = u.size(0)
        du = torch.empty_like(u)
        dv = torch.zeros_like(v)
        if c is not None:
            a = (c - lse_row).exp_().mul_(g_row)  # [N]
            b = (c - lse_col).exp_().mul_(g_col)  # [M]
            for s in range(0, n, block):
                e = min(s + block, n)
                gs = _shifted_exp(u[s:e], v, tau, c)
                gs.mul_(torch.add(a[s:e, None], b[None, :]))  # dL/dS * tau
                du[s:e] = gs @ v
                dv += gs.t() @ u[s:e]
            return du.div_(tau), dv.div_(tau), None, None
        for s in range(0, n, block):
            e = min(s + block, n)
            r = (u[s:e] @ v.t()).div_(tau)
            gr = torch.exp(r - lse_row[s:e, None]).mul_(g_row[s:e, None])
            gr.add_(torch.exp(r.sub_(lse_col[None, :])).mul_(g_col[None, :]))
            du[s:e] = gr @ v
            dv += gr.t() @ u[s:e]
        return du.div_(tau), dv.div_(tau), None, None


def _cross_lse(u: Tensor, v: Tensor, tau: float, block: int) -> tuple[Tensor, Tensor]:
    """Row and column log-sum-exps of ``u @ v.T / tau`` (see :class:`_CrossLSE`)."""
    return _CrossLSE.apply(u, v, float(tau), int(block))


class PairPattern(NamedTuple):
    r"""Index pairs :math:`(i_p, j_p)` laid out for :func:`pair_dots`: sorted
    by row (``row``, ``col``; ``order`` maps the sorted pairs back to the
    caller's, ``None`` when they were sorted already), as CSR (``crow``),
    and transposed (``crow_t``, ``col_t``, with ``perm_t`` taking the
    row-sorted pairs to column-sorted order). Build it with
    :func:`pair_pattern`.
    """

    row: Tensor
    col: Tensor
    crow: Tensor
    crow_t: Tensor
    col_t: Tensor
    perm_t: Tensor
    order: Optional[Tensor]
    shape: tuple[int, int]


def pair_pattern(index: Tensor, num_rows: int, num_cols: int) -> PairPattern:
    """Lays out the pairs ``index`` (``[2, P]``, valid indices) for
    :func:`pair_dots`: one stable sort by row when they are not row-sorted
    already, one stable sort by column for the transpose.
    """
    row, col = index[0], index[1]
    order = None
    if row.numel() > 1 and bool((row[1:] < row[:-1]).any()):
        order = torch.argsort(row, stable=True)
        row, col = row[order], col[order]
    crow = torch.zeros(num_rows + 1, dtype=torch.long, device=row.device)
    crow[1:] = torch.bincount(row, minlength=num_rows).cumsum(0)
    perm_t = torch.argsort(col, stable=True)
    crow_t = torch.zeros(num_cols + 1, dtype=torch.long, device=row.device)
    crow_t[1:] = torch.bincount(col, minlength=num_cols).cumsum(0)
    col_t = row.index_select(0, perm_t)
    return PairPattern(row, col, crow, crow_t, col_t, perm_t, order,
                       (num_rows, num_cols))


class _PairDots(torch.autograd.Function):
    r""":math:`s_p = a_{i_p}^\top b_{j_p}` over the row-sorted pairs of a
    :class:`PairPattern`: forward by :func:`torch.sparse.sampled_addmm`
    (work :math:`O(P d)`, no ``[P, d]`` gather), backward by two sparse
    products, :math:`\partial a = G b` and :math:`\partial b = G^\top a`
    with :math:`G` the ``[N, M]`` matrix of the incoming gradients on the
    pattern (its transpose read from the pattern's column-sorted copy).
    """

    @staticmethod
    def forward(ctx, a, b, pattern):
        zeros = a.new_zeros(pattern.col.numel())
        mask = csr_tensor(pattern.crow, pattern.col, zeros, pattern.shape)
        out = torch.sparse.sampled_addmm(mask, a, b.t(), beta=0.0).values()
        ctx.save_for_backward(a, b)
        ctx.pattern = pattern
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        pat = ctx.pattern
        ga = gb = None
        if ctx.needs_input_grad[0]:
            g = csr_tensor(pat.crow, pat.col, grad.contiguous(), pat.shape)
            ga = sparse_mm(g, b)
        if ctx.needs_input_grad[1]:
            shape_t = (pat.shape[1], pat.shape[0])
            g_t = csr_tensor(pat.crow_t, pat.col_t,
                             grad.index_select(0, pat.perm_t), shape_t)
            gb = sparse_mm(g_t, a)
        return ga, gb, None


def pair_dots(a: Tensor, b: Tensor, pattern: PairPattern,
              row_sorted: bool = False) -> Tensor:
    r"""Dot products :math:`a_{i_p}^\top b_{j_p}` of the pairs of
    ``pattern`` (:func:`pair_pattern`), differentiable in ``a`` and ``b``:
    in the caller's pair order, or in the pattern's row-sorted order
    (``pattern.row``, ``pattern.col``) with ``row_sorted=True``.

    Same values as ``(a[i] * b[j]).sum(1)`` without its two ``[P, d]``
    gathers (and their scatter-adds in the backward pass): with HeCo's
    DBLP positives (:math:`P` = 4 M pairs, :math:`d` = 64) about 0.1 s
    forward and 0.1 s backward on one CPU thread instead of 3 s and 2.5 s.
    """
    out = _PairDots.apply(a, b, pattern)
    if pattern.order is not None and not row_sorted:
        out = out.new_empty(out.shape).index_copy(0, pattern.order, out)
    return out


def _rows_checkpointed(fn: Callable[[int, int], Tensor], n: int, block: int) -> Tensor:
    """Concatenates ``fn(s, e)`` (one value per row of ``[s, e)``) over blocks.

    With gradients enabled, each block runs under a non-reentrant
    :func:`~torch.utils.checkpoint.checkpoint`: only the block's ``[B]``
    output is kept and the backward pass recomputes the block, so the peak
    memory is that of one block, whatever ``fn`` builds (logits, weights, an
    MLP's activations).
    """
    outs = []
    for s in range(0, n, block):
        e = min(s + block, n)
        if torch.is_grad_enabled():
            outs.append(checkpoint(fn, s, e, use_reentrant=False))
        else:
            outs.append(fn(s, e))
    return torch.cat(outs)


def _weighted_lse_block(logits: Tensor, weight: Tensor) -> Tensor:
    r"""Per-row :math:`\log \sum_j w_{ij} e^{L_{ij}}` of one block, stable.

    The shift is the row maximum of the logits (detached), not of
    :math:`L + \log w`, so a zero weight never produces ``log 0`` inside
    the graph and the gradient with respect to the weights stays finite.
    """
    shift = logits.detach().amax(dim=1, keepdim=True)
    return torch.log((weight * torch.exp(logits - shift)).sum(dim=1)) + shift[:, 0]


class _RowLSE(torch.autograd.Function):
    r""":math:`\mathrm{lse}_i = \log\sum_j \exp(a_i^\top b_j / \tau)` in row
    blocks of ``a``.

    With :math:`p_{ij} = e^{s_{ij} - \mathrm{lse}_i}` the softmax of a row
    and :math:`g` the incoming gradient, :math:`\partial/\partial a_i =
    (g_i / \tau) \sum_j p_{ij} b_j` and :math:`\partial/\partial b_j =
    \sum_i (g_i / \tau) p_{ij} a_i`: the per-row factors scale the
    ``[block, d]`` operands, never the ``[block, N]`` block. The forward
    pass keeps each block's :math:`e^{s_{ij} - m_i}` (row maximum
    :math:`m_i`) and the row factors :math:`1 / \sum_j e^{s_{ij} - m_i}`
    when all blocks fit in ``cache`` bytes (the backward is then two
    products per block); otherwise the backward recomputes each block's
    product, and memory is :math:`O(\text{block} \cdot N)`.
    """

    @staticmethod
    def forward(ctx, a, b, tau, block, cache):
        a_s = a / tau
        b_t = b.t()
        out = a.new_empty(a.size(0))
        kept = [] if cache else None
        for s in range(0, a.size(0), block):
            x = a_s[s:s + block] @ b_t
            m = x.amax(dim=1, keepdim=True)
            z = x.sub_(m).exp_().sum(dim=1)
            out[s:s + block] = z.log().add_(m.squeeze(1))
            if kept is not None:
                kept.append((x, z.reciprocal_()))
        ctx.save_for_backward(a, b, out)
        ctx.tau, ctx.block, ctx.kept = tau, block, kept
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        tau, block, kept = ctx.tau, ctx.block, ctx.kept
        ga = torch.empty_like(a) if ctx.needs_input_grad[0] else None
        gb = torch.zeros_like(b) if ctx.needs_input_grad[1] else None
        g = grad / tau
        a_s = a / tau if kept is None else None
        for k, s in enumerate(range(0, a.size(0), block)):
            e = min(s + block, a.size(0))
            if kept is not None:  # p = x * inv_z, row by row
                x, inv_z = kept[k]
                r = (g[s:e] * inv_z)[:, None]
            else:
                x = (a_s[s:e] @ b.t()).sub_(out[s:e, None]).exp_()
                r = g[s:e, None]
            if ga is not None:
                ga[s:e] = (x @ b).mul_(r)
            if gb is not None:
                gb.addmm_(x.t(), a[s:e] * r)
        ctx.kept = None
        return ga, gb, None, None, None


def cross_logsumexp(a: Tensor, b: Tensor, tau: float = 1.0,
                    block_size: Optional[int] = None,
                    cache_mb: float = 0.0) -> Tensor:
    r"""Row-wise :math:`\log\sum_{j} \exp(a_i^\top b_j / \tau)` over all rows
    :math:`b_j` of ``b``, in blocks of ``block_size`` rows of ``a`` with a
    custom backward (differentiable in ``a`` and ``b``); memory
    :math:`O(\text{block} \cdot |b|)`, never :math:`|a| \times |b|` at once,
    unless ``cache_mb`` allows it.

    Args:
        a (torch.Tensor): Anchors ``[B, d]``.
        b (torch.Tensor): Samples ``[N, d]``.
        tau (float, optional): Temperature. (default: :obj:`1.0`)
        block_size (int, optional): Rows of ``a`` per block.
            (default: :obj:`None`, 1024)
        cache_mb (float, optional): Keep the forward pass's exponentiated
            blocks for the backward pass when all :math:`B \times N` of them
            need at most this many MiB, saving the backward's recomputation
            of :math:`a b^\top` (three products instead of four); 0 always
            recomputes. The result is the same either way.
            (default: :obj:`0.0`)

    Returns:
        torch.Tensor: ``[B]``.
    """
    if a.dim() != 2 or b.dim() != 2 or a.size(1) != b.size(1):
        raise ValueError(f"cross_logsumexp takes [B, d] and [N, d], got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if b.size(0) == 0:
        raise ValueError("cross_logsumexp needs at least one sample row")
    if not tau > 0:
        raise ValueError(f"temperature tau must be positive, got {tau}")
    block = int(block_size or _ROW_LSE_BLOCK)
    if block < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    if not float(cache_mb) >= 0:
        raise ValueError(f"cache_mb must be >= 0, got {cache_mb}")
    need_mb = a.size(0) * b.size(0) * a.element_size() / 2**20
    cache = bool(torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
                 and need_mb <= cache_mb)
    return _RowLSE.apply(a, b, float(tau), block, cache)
