r"""Block-wise InfoNCE, the contrastive objective of GRACE and its descendants."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.losses._blockwise import _check_tau, cross_logsumexp
from gcl.losses.distributed import (
    gathered_info_nce,
    negatives_group,
    num_extra_negatives,
)

__all__ = ["InfoNCE", "info_nce", "info_nce_per_node"]

# Rows per block when none is given. Measured on 2 CPU cores (forward plus
# backward at N = 2708..7650, d = 128..256): 256 rows was fastest or within 2 %
# of the fastest, and 3x-4x larger blocks were 20-50 % slower (cache misses).
# On a GPU small blocks leave it waiting on kernel launches (GRACE on Photo ran
# at 0.048 s/epoch on an H100 with 256 rows), so there a block holds up to
# 2^26 logits (256 MiB in float32): all of Photo's rows in one block, about
# 400 rows at ogbn-arxiv's 169k nodes. Memory stays O(N * block).
_DEFAULT_BLOCK = 256
_CUDA_BLOCK_LOGITS = 2**26


def _default_block(n: int, device: torch.device | None = None) -> int:
    if device is not None and device.type == "cuda":
        return max(1, min(n, max(_DEFAULT_BLOCK, _CUDA_BLOCK_LOGITS // max(n, 1))))
    return max(1, min(n, _DEFAULT_BLOCK))


def _masked_diag_(blk: Tensor, start: int) -> Tensor:
    """Sets entries (i, start + i) of a row block to -inf in place."""
    rows = torch.arange(blk.size(0), device=blk.device)
    blk[rows, rows + start] = float("-inf")
    return blk


class _InfoNCEFunction(torch.autograd.Function):
    r"""Per-anchor InfoNCE losses of two views, computed in row blocks.

    Inputs are row-normalised ``u`` and ``v`` of shape ``[N, d]``. The logits
    are :math:`R = u v^\top / \tau` (inter-view), :math:`Q_{uu} = u u^\top /
    \tau` and :math:`Q_{vv} = v v^\top / \tau` (intra-view, self-pairs
    excluded), plus an optional constant column bias :math:`b` (one value per
    sample node, in logit units). Returns the losses of the anchors of view 1
    (rows of :math:`R`) and, when ``symmetric``, of view 2 (columns of
    :math:`R`, which reuses :math:`R` instead of computing :math:`R^\top`).

    Only one ``[B, N]`` block of each matrix exists at a time, in the forward
    and in the backward pass, which recomputes the blocks; memory is
    :math:`O(N B)`.
    """

    @staticmethod
    def forward(ctx, u, v, bias, tau, intra, symmetric, block):
        n = u.size(0)
        b = bias if bias is not None else u.new_zeros(n)
        lse1 = u.new_empty(n)
        row_vv = u.new_empty(n) if symmetric and intra else None
        col = u.new_full((n,), float("-inf")) if symmetric else None
        pos = (u * v).sum(dim=1) / tau
        for s in range(0, n, block):
            e = min(s + block, n)
            r = (u[s:e] @ v.t()).div_(tau)
            if symmetric:  # view-2 anchors read column i of R, bias on u side
                col = torch.logaddexp(
                    col, torch.logsumexp(r + b[s:e, None], dim=0))
            lse = torch.logsumexp(r.add_(b), dim=1)
            if intra:
                q = _masked_diag_((u[s:e] @ u.t()).div_(tau).add_(b), s)
                lse = torch.logaddexp(lse, torch.logsumexp(q, dim=1))
                if symmetric:
                    q = _masked_diag_((v[s:e] @ v.t()).div_(tau).add_(b), s)
                    row_vv[s:e] = torch.logsumexp(q, dim=1)
            lse1[s:e] = lse
        loss1 = lse1 - pos - b
        if symmetric:
            lse2 = col if row_vv is None else torch.logaddexp(col, row_vv)
            loss2 = lse2 - pos - b
        else:
            lse2 = None
            loss2 = u.new_zeros(0)
        ctx.save_for_backward(u, v, b, lse1, lse2 if symmetric else u.new_zeros(0))
        ctx.cfg = (tau, intra, symmetric, block)
        return loss1, loss2

    @staticmethod
    def backward(ctx, g1, g2):
        u, v, b, lse1, lse2 = ctx.saved_tensors
        tau, intra, symmetric, block = ctx.cfg
        n = u.size(0)
        du = torch.zeros_like(u)
        dv = torch.zeros_like(v)
        g1 = g1.contiguous()
        if symmetric:
            g2 = g2.contiguous()
        for s in range(0, n, block):
            e = min(s + block, n)
            idx = torch.arange(e - s, device=u.device)
            r = (u[s:e] @ v.t()).div_(tau)
            # dL/dR[k, i] = g1_k (P1[k, i] - d_ki) + g2_i (P2[k, i] - d_ki)
            gr = torch.exp(r + (b - lse1[s:e, None])).mul_(g1[s:e, None])
            gr[idx, idx + s] -= g1[s:e]
            if symmetric:
                p2 = torch.exp(r.add_(b[s:e, None] - lse2[None, :]))
                gr.add_(p2.mul_(g2[None, :]))
                gr[idx, idx + s] -= g2[s:e]
            du[s:e] += gr @ v
            dv += gr.t() @ u[s:e]
            if intra:
                # Q_uu is symmetric: dU += (G + G^T) U, one block of G at a time.
                q = _masked_diag_((u[s:e] @ u.t()).div_(tau).add_(b), s)
                gq = torch.exp(q.sub_(lse1[s:e, None])).mul_(g1[s:e, None])
                du[s:e] += gq @ u
                du += gq.t() @ u[s:e]
                if symmetric:
                    q = _masked_diag_((v[s:e] @ v.t()).div_(tau).add_(b), s)
                    gq = torch.exp(q.sub_(lse2[s:e, None])).mul_(g2[s:e, None])
                    dv[s:e] += gq @ v
                    dv += gq.t() @ v[s:e]
        # The positive logit R[k, k] is the -d_ki term above.
        du.div_(tau)
        dv.div_(tau)
        return du, dv, None, None, None, None, None


class _SymmetricInfoNCEFunction(torch.autograd.Function):
    r"""Symmetric InfoNCE with intra-view negatives on the stacked views.

    With :math:`W = [u; v]` (``[2N, d]``, rows normalised) GRACE's symmetric
    loss is the NT-Xent over :math:`2N` samples: anchor :math:`r` has positive
    :math:`r \pm N` and every :math:`c \neq r` in its denominator. The Gram
    matrix :math:`W W^\top` is symmetric, so only the strips right of the
    diagonal are computed (rows :math:`[s, e)`, columns :math:`[s, 2N)`); an
    off-diagonal entry serves row :math:`r` directly and row :math:`c` through
    the transpose. That is :math:`2N^2` entries per pass instead of
    :math:`3N^2`, and 8 instead of 12 :math:`N^2 d` matrix products for the
    forward and backward together.

    Cosine logits are bounded by :math:`1/\tau`, so one fixed shift makes
    every exponential at most 1: a single ``exp`` per entry serves the row and
    the column sums. The caller checks that the dynamic range
    (:math:`2/\tau` plus the bias range) cannot underflow float32.
    """

    @staticmethod
    def forward(ctx, u, v, bias, tau, block, cache):
        n = u.size(0)
        w = torch.cat([u, v], dim=0)
        b = bias if bias is not None else u.new_zeros(n)
        bmax = b.max()
        eb = torch.exp(b - bmax).repeat(2)  # e^{b_c - max b}, [2N]
        z = u.new_zeros(2 * n)  # sum_{c != r} exp(L[r, c] - shift)
        strips = []
        for s in range(0, 2 * n, block):
            e = min(s + block, 2 * n)
            x = torch.exp((w[s:e] @ w[s:].t()).sub_(1.0).div_(tau))
            idx = torch.arange(e - s, device=u.device)
            x[idx, idx] = 0.0
            z[s:e] += x @ eb[s:]
            # Entries right of the diagonal block also serve rows c >= e.
            z[e:] += eb[s:e] @ x[:, e - s:]
            if cache:
                strips.append(x)
        shift = 1.0 / tau + bmax
        lse = torch.log(z) + shift
        pos = (u * v).sum(dim=1) / tau
        loss = lse - (pos + b).repeat(2)
        ctx.save_for_backward(u, v, w, eb, lse, *strips)
        ctx.cfg = (tau, block, float(shift))
        return loss[:n], loss[n:]

    @staticmethod
    def backward(ctx, g1, g2):
        u, v, w, eb, lse, *strips = ctx.saved_tensors
        tau, block, shift = ctx.cfg
        n = u.size(0)
        g = torch.cat([g1, g2])
        # dL/dL[r, c] = g_r exp(L[r, c] - lse_r) = x[r, c] e^{b_c} a_r
        a = g * torch.exp(shift - lse)
        dw = torch.zeros_like(w)
        for i, s in enumerate(range(0, 2 * n, block)):
            e = min(s + block, 2 * n)
            if strips:  # kept by the forward pass
                x = strips[i]
            else:  # recomputed: O(N * block) memory
                x = torch.exp((w[s:e] @ w[s:].t()).sub_(1.0).div_(tau))
                idx = torch.arange(e - s, device=u.device)
                x[idx, idx] = 0.0
            # Row usage everywhere; transposed usage right of the diagonal block.
            coef = torch.outer(a[s:e], eb[s:])
            coef[:, e - s:].addr_(eb[s:e], a[e:])
            x = coef.mul_(x)
            dw[s:e] += x @ w[s:]
            dw[s:] += x.t() @ w[s:e]
        gp = (g1 + g2)[:, None]  # the positive logit enters as -u_i . v_i / tau
        du = dw[:n].sub_(gp * v).div_(tau)
        dv = dw[n:].sub_(gp * u).div_(tau)
        return du, dv, None, None, None, None


def info_nce_per_node(
    z1: Tensor,
    z2: Tensor,
    tau: float = 0.5,
    intra_view: bool = True,
    symmetric: bool = True,
    bias: Optional[Tensor] = None,
    block_size: Optional[int] = None,
    cache_mb: float = 0.0,
) -> tuple[Tensor, Optional[Tensor]]:
    r"""Per-anchor InfoNCE losses of two views (see :func:`info_nce`).

    Under :func:`gcl.losses.gather_negatives` (distributed training) the
    inputs are this process's rows and the losses those of its anchors
    against the rows of every process (:mod:`gcl.losses.distributed`).
    Under :func:`gcl.losses.extra_negatives` (``M`` rows) the last ``M``
    rows are negatives only: the losses are those of the first ``N - M``
    rows.

    Returns:
        ``(loss1, loss2)``: the loss of every view-1 anchor, shape ``[N]``
        (``[N - M]`` with extra negatives), and of every view-2 anchor
        (``None`` when ``symmetric=False``).
    """
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise ValueError(
            f"InfoNCE expects two [N, d] embeddings of the same shape, got "
            f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.size(0) < 2:
        raise ValueError("InfoNCE needs at least 2 nodes (one negative)")
    _check_tau(tau)
    n = z1.size(0)
    if bias is not None:
        if bias.shape != (n,):
            raise ValueError(
                f"bias must have shape [N] = [{n}], got {tuple(bias.shape)}")
        bias = bias.detach().to(z1.dtype)
    block = block_size or _default_block(n, z1.device)
    if block < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    u = F.normalize(z1, dim=1)
    v = F.normalize(z2, dim=1)
    gather, group = negatives_group()
    extra = num_extra_negatives()
    if extra >= n:
        raise ValueError(f"InfoNCE with {extra} extra negative rows needs at "
                         f"least one anchor row, got {n} rows")
    if gather or extra:  # anchors against more rows: distributed, extras
        return gathered_info_nce(u, v, float(tau), bool(intra_view),
                                 bool(symmetric), bias, block_size, group,
                                 gather, extra)
    brange = 0.0 if bias is None else float(bias.max() - bias.min())
    if intra_view and symmetric and 2.0 / tau + brange < 60.0:
        block = block_size or _default_block(2 * n, z1.device)
        # Upper strips hold about (2N)^2 / 2 + N * block logits.
        strip_mb = ((2 * n) ** 2 / 2 + n * block) * u.element_size() / 2**20
        return _SymmetricInfoNCEFunction.apply(
            u, v, bias, float(tau), int(block),
            bool(torch.is_grad_enabled() and strip_mb <= cache_mb))
    if not intra_view and not symmetric and bias is None:
        # one direction, inter-view only: the row log-sum-exps of u v^T / tau
        pos = (u * v).sum(dim=1) / tau
        return cross_logsumexp(u, v, tau, block, cache_mb) - pos, None
    loss1, loss2 = _InfoNCEFunction.apply(
        u, v, bias, float(tau), bool(intra_view), bool(symmetric), int(block))
    return loss1, (loss2 if symmetric else None)


def info_nce(
    z1: Tensor,
    z2: Tensor,
    tau: float = 0.5,
    intra_view: bool = True,
    symmetric: bool = True,
    bias: Optional[Tensor] = None,
    block_size: Optional[int] = None,
    cache_mb: float = 0.0,
) -> Tensor:
    r"""InfoNCE of two views with the diagonal as positives, as in GRACE.

    From `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (Zhu et al., 2020). With
    :math:`\theta(a, b) = \cos(a, b)`, an optional column bias :math:`b_j` (in
    logit units) and anchors :math:`u_i` of view 1, :math:`v_i` of view 2:

    .. math::
        \ell(u_i, v_i) = -\log \frac{e^{\theta(u_i, v_i)/\tau + b_i}}
        {\sum_{j} e^{\theta(u_i, v_j)/\tau + b_j}
        + \sum_{j \neq i} e^{\theta(u_i, u_j)/\tau + b_j}}

    and :math:`\mathcal{L} = \frac{1}{2N}\sum_i [\ell(u_i, v_i) +
    \ell(v_i, u_i)]`. The positive stays in the denominator, the self-pair
    :math:`j = i` of the intra-view term does not (GRACE's official code;
    PyGCL 0.1.2's ``DualBranchContrast`` keeps it, the constant
    :math:`e^{1/\tau}` in every denominator:
    ``benchmarks/results/pygcl.md``).
    Under :func:`gcl.losses.extra_negatives` (mini-batch training with
    sampled global negatives) the last :math:`M` rows join every
    denominator but are never anchors: the mean runs over the first
    :math:`N - M` rows.

    The loss is computed in blocks of rows with a stable log-sum-exp and a
    custom backward that recomputes the blocks, so memory is
    :math:`O(N \cdot \text{block})`, never :math:`O(N^2)`; the view-2 anchors
    reuse the inter-view block (its columns) instead of recomputing the
    transpose.

    Args:
        z1 (torch.Tensor): View-1 embeddings (projections), ``[N, d]``.
        z2 (torch.Tensor): View-2 embeddings, ``[N, d]``; row ``i`` is the
            positive of row ``i`` of ``z1``.
        tau (float, optional): Temperature :math:`\tau`. (default: :obj:`0.5`)
        intra_view (bool, optional): Include the intra-view negatives
            :math:`\theta(u_i, u_j), j \neq i`. GRACE: :obj:`True`; gCooL's
            node term: :obj:`False`. (default: :obj:`True`)
        symmetric (bool, optional): Average both directions; :obj:`False`
            keeps the view-1 anchors only. (default: :obj:`True`)
        bias (torch.Tensor, optional): Constant additive logit bias per sample
            node, ``[N]``, applied to the positive and to every negative whose
            sample is node ``j`` (e.g. CSGCL's Team-up
            :math:`\gamma S_j / \tau`). A per-anchor bias would cancel
            exactly, so only the sample side is needed. Not differentiated.
            (default: :obj:`None`)
        block_size (int, optional): Rows per block, so one block holds
            ``block_size`` x :math:`2N` logits. (default: :obj:`None`, 256 rows
            on a CPU; on a GPU as many rows as keep a block within
            :math:`2^{26}` logits, at least 256)
        cache_mb (float, optional): Keep the forward pass's exponentiated
            blocks for the backward pass when they need at most this many
            MiB (about :math:`2N^2` floats), trading memory for one fewer
            :math:`N^2 d` product; 0 always recomputes, so memory stays
            :math:`O(N \cdot \text{block})`. The default symmetric,
            intra-view form (about :math:`2N^2` floats) and the
            one-directional inter-view form (``intra_view=False,
            symmetric=False`` without ``bias``, :math:`N^2` floats, through
            :func:`gcl.losses.cross_logsumexp`) use it. (default: :obj:`0.0`)

    Returns:
        torch.Tensor: The scalar mean loss.
    """
    loss1, loss2 = info_nce_per_node(
        z1, z2, tau, intra_view, symmetric, bias, block_size, cache_mb)
    if loss2 is None:
        return loss1.mean()
    return 0.5 * (loss1.mean() + loss2.mean())


class _InfoNCEModule(torch.nn.Module):
    """Settings of the InfoNCE-shaped loss modules (:class:`InfoNCE`,
    :class:`~gcl.losses.TeamUp`): temperature, negatives, direction and the
    block-wise core's ``block_size`` and ``cache_mb``.
    """

    def __init__(self, tau: float = 0.5, intra_view: bool = True,
                 symmetric: bool = True, block_size: Optional[int] = None,
                 cache_mb: float = 0.0):
        super().__init__()
        _check_tau(tau)
        self.tau = tau
        self.intra_view = intra_view
        self.symmetric = symmetric
        self.block_size = block_size
        self.cache_mb = cache_mb

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(tau={self.tau}, "
                f"intra_view={self.intra_view}, symmetric={self.symmetric})")


class InfoNCE(_InfoNCEModule):
    r"""Module form of :func:`info_nce` (GRACE's InfoNCE).

    Args:
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        intra_view (bool, optional): Use intra-view negatives.
            (default: :obj:`True`)
        symmetric (bool, optional): Average both directions.
            (default: :obj:`True`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
        cache_mb (float, optional): Memory allowed for keeping the forward's
            blocks for the backward (see :func:`info_nce`).
            (default: :obj:`0.0`)
    """

    def forward(self, z1: Tensor, z2: Tensor,
                bias: Optional[Tensor] = None) -> Tensor:
        """Returns the mean InfoNCE loss of ``z1`` and ``z2``."""
        return info_nce(z1, z2, self.tau, self.intra_view, self.symmetric,
                        bias, self.block_size, self.cache_mb)
