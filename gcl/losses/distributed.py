r"""InfoNCE over more rows than its anchors: negatives gathered from every
process, and extra rows that are negatives only.

Under :func:`gather_negatives` (which :func:`gcl.fit` enters with
``distributed=True``), every InfoNCE-shaped loss of :mod:`gcl.losses`
(:func:`~gcl.losses.info_nce`, hence GRACE's, GCA's, CSGCL's Team-up and
gCooL's node term) treats its ``[n, d]`` inputs as this process's rows of a
global batch of :math:`N = n W` rows over :math:`W` processes:

- the rows of all processes are gathered with
  :func:`torch.distributed.nn.functional.all_gather`, whose backward sends
  each process the gradients of its rows from every process's loss;
- this process computes the losses of *its own* anchors only, against the
  negatives of all processes, in blocks of rows with a recomputing backward
  (:class:`_RowInfoNCEFunction`), so no process holds an :math:`N \times N`
  matrix, only ``block`` x :math:`N` at a time;
- the loss returned is the mean over the local anchors. With equal ``n`` on
  every process, the mean of the processes' losses is the global loss, and
  the gradients that :class:`~torch.nn.parallel.DistributedDataParallel`
  averages are exactly those of the global loss.

Under :func:`extra_negatives` (which :func:`gcl.fit` enters with
``num_negatives``), the last :math:`M` of the ``[B + M, d]`` rows of those
losses' inputs are negatives only (sampled global negatives of a node
batch): the anchors are the first :math:`B` rows, each against all
:math:`B + M` rows, through the same row machinery (:func:`row_info_nce`).
Both contexts combine: the anchors are then this process's first rows, the
samples every process's anchor rows and extra rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["gather_negatives", "negatives_group", "extra_negatives",
           "num_extra_negatives", "row_info_nce"]

_ACTIVE: list = []  # stack of process groups (None = the default group)
_EXTRA: list[int] = []  # stack of extra-negative row counts


@contextmanager
def gather_negatives(group: Optional[Any] = None) -> Iterator[None]:
    """Within this context, InfoNCE losses gather their negatives from every
    process of ``group`` (default: the whole default process group).

    Args:
        group (torch.distributed.ProcessGroup, optional): The processes.
            (default: :obj:`None`, the default group)

    Raises:
        RuntimeError: If :mod:`torch.distributed` is not initialised.
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("gather_negatives needs an initialised "
                           "torch.distributed process group (torchrun, or "
                           "torch.distributed.init_process_group)")
    _ACTIVE.append(group)
    try:
        yield
    finally:
        _ACTIVE.pop()


def negatives_group() -> tuple[bool, Optional[Any]]:
    """``(active, group)``: whether :func:`gather_negatives` is active, and
    its group.
    """
    return (True, _ACTIVE[-1]) if _ACTIVE else (False, None)


@contextmanager
def extra_negatives(num: int) -> Iterator[None]:
    r"""Within this context, the last ``num`` rows of the inputs of every
    InfoNCE-shaped loss of :mod:`gcl.losses` (:func:`~gcl.losses.info_nce`,
    hence GRACE's, GCA's, CSGCL's Team-up and gCooL's node term) are
    negatives only.

    With inputs :math:`u, v` of :math:`B + M` rows (``M = num``), the
    anchors are the first :math:`B` rows and the loss is

    .. math::
        \ell(u_i, v_i) = -\log \frac{e^{\theta(u_i, v_i)/\tau + c_i}}
        {\sum_{j=1}^{B+M} e^{\theta(u_i, v_j)/\tau + c_j}
        + \sum_{j \leq B+M, j \neq i} e^{\theta(u_i, u_j)/\tau + c_j}},
        \qquad i \leq B,

    averaged over the :math:`B` anchors (and, symmetric, over both
    directions): the extra rows are never anchors and never positives.
    ``bias`` :math:`c` (CSGCL's :math:`\gamma S_j / \tau`) has all
    :math:`B + M` rows. Mini-batch training uses it for sampled global
    negatives (:func:`gcl.fit`'s ``num_negatives``); an objective with
    other terms restricts them to the anchors with
    :func:`num_extra_negatives` (gCooL's DeCA and ReSC).

    Args:
        num (int): Number :math:`M \geq 0` of trailing negative-only rows.

    Raises:
        ValueError: If ``num`` is not an integer :math:`\geq 0`.
    """
    if isinstance(num, bool) or int(num) != num or num < 0:
        raise ValueError(f"extra_negatives needs a number of rows >= 0, "
                         f"got {num!r}")
    _EXTRA.append(int(num))
    try:
        yield
    finally:
        _EXTRA.pop()


def num_extra_negatives() -> int:
    """The number of trailing negative-only rows of :func:`extra_negatives`
    (0 outside it).
    """
    return _EXTRA[-1] if _EXTRA else 0


class _RowInfoNCEFunction(torch.autograd.Function):
    r"""One direction of InfoNCE for the anchor rows ``[start, start + n)``.

    Inputs are row-normalised ``a`` and ``b``, ``[N, d]``: anchor
    :math:`a_i` has positive :math:`b_i`, inter-view samples :math:`b_j`
    (all :math:`j`) and, with ``intra``, intra-view samples :math:`a_j`
    (:math:`j \neq i`); ``bias`` (``[N]``, logit units) is added to every
    sample :math:`j`. Returns :math:`\ell_i = \log(\sum_j e^{a_i \cdot b_j /
    \tau + c_j} + \sum_{j \neq i} e^{a_i \cdot a_j / \tau + c_j}) - a_i
    \cdot b_i / \tau - c_i` for the ``n`` anchors. Blocks of ``block`` rows
    are recomputed in the backward pass: memory :math:`O(\text{block} \cdot
    N)`.
    """

    @staticmethod
    def forward(ctx, a, b, bias, start, n, tau, intra, block):
        lse = a.new_empty(n)
        for s in range(0, n, block):
            e = min(s + block, n)
            rows = a[start + s:start + e]
            r = (rows @ b.t()).div_(tau).add_(bias)
            out = torch.logsumexp(r, dim=1)
            if intra:
                q = (rows @ a.t()).div_(tau).add_(bias)
                idx = torch.arange(e - s, device=a.device)
                q[idx, idx + start + s] = float("-inf")
                out = torch.logaddexp(out, torch.logsumexp(q, dim=1))
            lse[s:e] = out
        loc = slice(start, start + n)
        pos = (a[loc] * b[loc]).sum(dim=1) / tau
        ctx.save_for_backward(a, b, bias, lse)
        ctx.cfg = (start, n, tau, intra, block)
        return lse - pos - bias[loc]

    @staticmethod
    def backward(ctx, g):
        a, b, bias, lse = ctx.saved_tensors
        start, n, tau, intra, block = ctx.cfg
        g = g.contiguous()
        da = torch.zeros_like(a)
        db = torch.zeros_like(b)
        for s in range(0, n, block):
            e = min(s + block, n)
            rows = a[start + s:start + e]
            w = g[s:e, None]
            p = torch.exp((rows @ b.t()).div_(tau).add_(bias)
                          .sub_(lse[s:e, None])).mul_(w)
            da[start + s:start + e] += p @ b
            db += p.t() @ rows
            if intra:
                q = (rows @ a.t()).div_(tau).add_(bias)
                idx = torch.arange(e - s, device=a.device)
                q[idx, idx + start + s] = float("-inf")
                p = torch.exp(q.sub_(lse[s:e, None])).mul_(w)
                da[start + s:start + e] += p @ a
                da += p.t() @ rows
        loc = slice(start, start + n)
        da[loc] -= g[:, None] * b[loc]  # the positive logit a_i . b_i / tau
        db[loc] -= g[:, None] * a[loc]
        return da.div_(tau), db.div_(tau), None, None, None, None, None, None


def row_info_nce(a: Tensor, b: Tensor, start: int, n: int, tau: float,
                 intra_view: bool = True, bias: Optional[Tensor] = None,
                 block_size: Optional[int] = None) -> Tensor:
    r"""Per-anchor InfoNCE of anchors ``a[start:start + n]`` against all rows.

    One direction of :func:`gcl.losses.info_nce` restricted to some anchor
    rows: anchor :math:`a_i` has positive :math:`b_i`, negatives
    :math:`b_j` (all :math:`j \neq i`) and, with ``intra_view``,
    :math:`a_j` (:math:`j \neq i`). Computed in blocks of rows with a
    recomputing backward, so memory is :math:`O(\text{block} \cdot N)`.

    Args:
        a (torch.Tensor): Row-normalised anchor-side embeddings ``[N, d]``.
        b (torch.Tensor): Row-normalised other view ``[N, d]``.
        start (int): First anchor row.
        n (int): Number of anchor rows.
        tau (float): Temperature.
        intra_view (bool, optional): Intra-view negatives.
            (default: :obj:`True`)
        bias (torch.Tensor, optional): Sample bias ``[N]`` (logit units, not
            differentiated). (default: :obj:`None`)
        block_size (int, optional): Rows per block. (default: 256)

    Returns:
        torch.Tensor: The ``n`` anchors' losses.
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"row_info_nce expects two [N, d] tensors of one shape, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    if not (0 <= start and n >= 1 and start + n <= a.size(0)):
        raise ValueError(f"anchor rows [{start}, {start + n}) are not within "
                         f"the {a.size(0)} rows")
    bias = a.new_zeros(a.size(0)) if bias is None else bias.detach().to(a.dtype)
    block = int(block_size or min(n, 256))
    return _RowInfoNCEFunction.apply(a, b, bias, int(start), int(n), float(tau),
                                     bool(intra_view), block)


def _gather_rows(x: Tensor, group: Optional[Any]) -> tuple[Tensor, int]:
    """All processes' rows of ``x`` (with gradients) and this process's first
    row. Every process must hold the same number of rows.
    """
    import warnings

    from torch.distributed.nn.functional import all_gather

    world = dist.get_world_size(group)
    rank = dist.get_rank(group)
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([x.size(0)], device=x.device), group=group)
    sizes = [int(s) for s in sizes]
    if len(set(sizes)) != 1:
        raise ValueError(f"distributed InfoNCE needs the same batch size on every "
                         f"process, got {sizes}")
    if not x.requires_grad:
        return torch.cat(_plain_gather(x, group), dim=0), rank * x.size(0)
    with warnings.catch_warnings():  # deprecated in favour of a private API
        warnings.simplefilter("ignore", FutureWarning)
        parts = all_gather(x, group=group)
    return torch.cat(list(parts), dim=0), rank * x.size(0)


def _plain_gather(x: Tensor, group: Optional[Any]) -> list[Tensor]:
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
    dist.all_gather(parts, x.contiguous(), group=group)
    return parts


def gathered_info_nce(u: Tensor, v: Tensor, tau: float, intra_view: bool,
                      symmetric: bool, bias: Optional[Tensor],
                      block_size: Optional[int], group: Optional[Any],
                      gather: bool = True, extra: int = 0
                      ) -> tuple[Tensor, Optional[Tensor]]:
    """The local anchors' losses of both directions against all rows
    (row-normalised ``u``, ``v``; see the module docstring): the first
    ``len(u) - extra`` rows are the anchors; with ``gather`` the samples are
    every process's rows, anchor rows first, then extra rows.
    """
    n = u.size(0) - extra
    if gather:
        u_all, start = _gather_rows(u[:n], group)
        v_all, _ = _gather_rows(v[:n], group)
        if extra:
            u_all = torch.cat([u_all, _gather_rows(u[n:], group)[0]])
            v_all = torch.cat([v_all, _gather_rows(v[n:], group)[0]])
    else:
        u_all, v_all, start = u, v, 0
    b_all = None
    if bias is not None:
        b_all = bias.detach().to(u.dtype)
        if gather:
            parts = [b_all[:n], b_all[n:]] if extra else [b_all]
            b_all = torch.cat([torch.cat(_plain_gather(p, group)) for p in parts])
    loss1 = row_info_nce(u_all, v_all, start, n, tau, intra_view, b_all,
                         block_size)
    loss2 = row_info_nce(v_all, u_all, start, n, tau, intra_view, b_all,
                         block_size) if symmetric else None
    return loss1, loss2
