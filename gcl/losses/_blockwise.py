r"""Row-block log-sum-exp cores shared by the heterogeneous contrastive losses.

Two cores keep memory at :math:`O(N \cdot \text{block})`:

* :class:`_CrossLSE`, a custom autograd function for the row *and* column
  log-sum-exps of one similarity matrix :math:`S = u v^\top / \tau` without
  weights (HeCo's two directions read the same block, never its transpose);
* :func:`_rows_checkpointed`, which evaluates any per-block function (a row
  block of logits with weights that may themselves need gradients, such as
  AdaMEOW's learned weights) under :func:`torch.utils.checkpoint.checkpoint`,
  so the backward pass recomputes one block at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

# Rows per block when none is given (the same default as gcl.losses.info_nce).
_DEFAULT_BLOCK = 256


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


class _CrossLSE(torch.autograd.Function):
    r"""Row and column log-sum-exps of :math:`S = u v^\top / \tau`.

    ``u`` is ``[N, d]``, ``v`` is ``[M, d]``; returns ``lse_row[i] =
    log sum_j exp(S_ij)`` (``[N]``) and ``lse_col[j] = log sum_i exp(S_ij)``
    (``[M]``). The forward pass streams row blocks, folding each block's
    column sums into a running log-sum-exp; the backward pass recomputes the
    blocks:

    .. math::
        \frac{\partial L}{\partial S_{ij}} = g^{r}_i\, e^{S_{ij} -
        \mathrm{lse}^{r}_i} + g^{c}_j\, e^{S_{ij} - \mathrm{lse}^{c}_j}.
    """

    @staticmethod
    def forward(ctx, u, v, tau, block):
        n = u.size(0)
        lse_row = u.new_empty(n)
        lse_col = u.new_full((v.size(0),), float("-inf"))
        for s in range(0, n, block):
            e = min(s + block, n)
            r = (u[s:e] @ v.t()).div_(tau)
            lse_row[s:e] = torch.logsumexp(r, dim=1)
            lse_col = torch.logaddexp(lse_col, torch.logsumexp(r, dim=0))
        ctx.save_for_backward(u, v, lse_row, lse_col)
        ctx.cfg = (tau, block)
        return lse_row, lse_col

    @staticmethod
    def backward(ctx, g_row, g_col):
        u, v, lse_row, lse_col = ctx.saved_tensors
        tau, block = ctx.cfg
        n = u.size(0)
        du = torch.zeros_like(u)
        dv = torch.zeros_like(v)
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
