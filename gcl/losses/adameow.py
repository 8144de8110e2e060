r"""AdaMEOW's InfoNCE with negative weights learned by an MLP."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from gcl.losses._blockwise import _block, _check_pair, _check_tau
from gcl.losses.weighted_infonce import weighted_info_nce

__all__ = ["AdaMEOWLoss", "PairWeightMLP", "adameow_loss"]


def _hidden(a: Tensor, c: Tensor, ea: Optional[Tensor],
            ec: Optional[Tensor]) -> Tensor:
    r"""The ``[B, M, h]`` hidden layer :math:`\sigma(a_i + c_j)`: from the
    factors, :math:`1 / (1 + e^{-a_i} e^{-c_j})`, where they are given.
    """
    if ea is None or ec is None:
        return (a[:, None, :] + c[None, :, :]).sigmoid_()
    return torch.mul(ea[:, None, :], ec[None, :, :]).add_(1.0).reciprocal_()


def _hidden_grads(g: Tensor, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""For the hidden layer ``g`` ``[B, M, h]`` of a block and the gradient
    ``t`` ``[B, M]`` of its pre-sigmoid weights: :math:`\sum_j
    \delta_{ij}`, :math:`\sum_i \delta_{ij}` with :math:`\delta = t\, g
    (1 - g)` (times the second layer's weights, the gradients of the two
    sides), and :math:`\sum g\, t` (the second layer's weights' own).
    """
    t = t.contiguous()
    gt = g.view(-1, g.size(-1)).t() @ t.view(-1)
    delta = torch.addcmul(g, g, g, value=-1.0)  # g (1 - g)
    delta.mul_(t.unsqueeze(-1))
    return delta.sum(1), delta.sum(0), gt


class _PairHidden(torch.autograd.Function):
    r"""The pre-sigmoid weights :math:`s_{ij} = w^\top \sigma(a_i + c_j) + b`
    of a ``[B, M]`` block, with the ``[B, M, h]`` hidden layer built once.

    With the factors :math:`e^{-a}, e^{-c}` of :meth:`PairWeightMLP.factors`
    the hidden layer is :math:`\sigma(a_i + c_j) = 1 / (1 + e^{-a_i}
    e^{-c_j})`: a product, a sum and a reciprocal per element instead of a
    sum and an exponential (on the CPU about half the time); the factors are
    given only where they are finite and non-zero, so the two forms are equal
    up to rounding.

    Backward, with :math:`g = \sigma(a_i + c_j)` kept from the forward pass
    and the incoming :math:`\partial s`: :math:`\partial w = \sum g\,
    \partial s`, :math:`\partial b = \sum \partial s` and, with
    :math:`\delta = \partial s \; g (1 - g)`, :math:`\partial a_i = w
    \odot \sum_j \delta_{ij}` and :math:`\partial c_j = w \odot \sum_i
    \delta_{ij}`. Autograd's own graph of the same expression allocates
    three ``[B, M, h]`` tensors in the backward pass; this one allocates
    one. The factors take no gradient (they are constants of the step).
    """

    @staticmethod
    def forward(ctx, a: Tensor, c: Tensor, w: Tensor, b: Tensor,
                ea: Optional[Tensor] = None,
                ec: Optional[Tensor] = None) -> Tensor:
        g = _hidden(a, c, ea, ec)
        rows, cols, h = g.shape
        s = torch.addmv(b.expand(rows * cols), g.view(-1, h), w)
        ctx.save_for_backward(g, w)
        return s.view(rows, cols)

    @staticmethod
    @once_differentiable
    def backward(ctx, ds: Tensor):
        g, w = ctx.saved_tensors
        rows, cols, dw = _hidden_grads(g, ds)
        return rows.mul_(w), cols.mul_(w), dw, ds.sum(), None, None


class PairWeightMLP(torch.nn.Module):
    r"""AdaMEOW's weight of a pair from the sum of its embeddings.

    .. math::
        w_{ij} = \sigma\big(W_2 \tanh(W_1 (p_i + q_j) + b_1) + b_2\big)

    (``Linear(d, 16) -> Tanh -> Linear(16, 1) -> Sigmoid`` in
    ``code_adameow/module/adameow.py``, PyTorch's default initialisation).
    The first layer is factored, :math:`W_1 (p_i + q_j) + b_1 = (W_1 p_i +
    b_1) + W_1 q_j` (:meth:`sides`), so a ``[B, M]`` block costs
    :math:`O(B M h)` for :math:`h` hidden units, not :math:`O(B M d)`, and
    the tanh layer is evaluated through the logistic function, folded into
    the second layer (:meth:`combine`),

    .. math::
        W_2 \tanh(x) + b_2 = (2 W_2)\, \sigma(2x) + (b_2 - W_2 \mathbf{1}),

    because on the CPU torch's ``sigmoid`` costs about a quarter of its
    ``tanh`` (AVX2, float32: 1.1 against 4.1 ns per element) and the
    ``[B, M, h]`` hidden layer is the bulk of AdaMEOW's step. The logistic
    function of a pair's sum is in turn a product of per-node factors,
    :math:`\sigma(a_i + c_j) = 1 / (1 + e^{-a_i} e^{-c_j})` (:meth:`factors`,
    computed once per step), so no pair needs an exponential: AMiner's
    loss step (6,564 nodes, :math:`h = 16`) took 3.45 s instead of 4.27 s
    on one CPU thread (medians of 6 alternating steps, 2026-11-29). The
    value is the official one up to rounding (tested in float64).

    Args:
        in_channels (int): Embedding size :math:`d` (AdaMEOW: the projection
            size, 64; 16 on AMiner).
        hidden_channels (int, optional): Hidden units :math:`h`. (default:
            :obj:`16`)
    """

    def __init__(self, in_channels: int, hidden_channels: int = 16):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.lin1 = torch.nn.Linear(in_channels, hidden_channels)
        self.lin2 = torch.nn.Linear(hidden_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()

    def sides(self, p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
        """The first layer of each side, doubled: ``2 (W1 p_i + b1)`` and
        ``2 W1 q_j``, ``[B, h]`` and ``[M, h]``.
        """
        return self.lin1(p).mul(2.0), F.linear(q, self.lin1.weight).mul(2.0)

    @staticmethod
    def factors(a: Tensor, c: Tensor) -> tuple[Optional[Tensor], Optional[Tensor]]:
        r"""The constants :math:`e^{-a}` and :math:`e^{-c}` (detached) that
        let :meth:`combine` form :math:`\sigma(a_i + c_j) = 1 / (1 + e^{-a_i}
        e^{-c_j})` without an exponential per pair, or ``(None, None)`` where
        some :math:`|a|` or :math:`|c|` reaches ``0.9 * log(max)`` of the
        dtype (about 80 in float32): there a factor could overflow, and
        :meth:`combine` takes the logistic function of the sum instead.
        """
        limit = 0.9 * math.log(torch.finfo(a.dtype).max)
        a, c = a.detach(), c.detach()
        if a.numel() and c.numel() and not bool(
                torch.maximum(a.abs().amax(), c.abs().amax()) < limit):
            return None, None
        return a.neg().exp_(), c.neg().exp_()

    def combine(self, a: Tensor, c: Tensor, ea: Optional[Tensor] = None,
                ec: Optional[Tensor] = None) -> Tensor:
        """Weights ``[B, M]`` of every pair of the :meth:`sides` ``a``, ``c``
        (with their :meth:`factors` ``ea``, ``ec`` where given).
        """
        w2 = self.lin2.weight[0]
        return torch.sigmoid(_PairHidden.apply(
            a, c, w2.mul(2.0), self.lin2.bias[0] - w2.sum(), ea, ec))

    def forward(self, p: Tensor, q: Tensor) -> Tensor:
        """Weights of every pair ``(p_i, q_j)``: ``[B, d], [M, d] -> [B, M]``."""
        return self.combine(*self.sides(p, q))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"hidden_channels={self.hidden_channels})")


class _FusedRows(torch.autograd.Function):
    r""":math:`\sum_i \log \sum_j w_{ij} e^{u_i^\top v_j / \tau}` with the
    pair weights :math:`w_{ij} = \sigma(2 W_2^\top \sigma(a_i + c_j) + b_2
    - W_2^\top \mathbf{1})` of :class:`PairWeightMLP` (the tanh layer
    folded as in :meth:`~PairWeightMLP.combine`; ``w2``, ``b2``: its second
    layer), and the gradient of that sum with respect to every input, in
    **one** pass over row blocks.

    A row block holds all columns, so its denominators :math:`D_i =
    \sum_j w_{ij} E_{ij}` (:math:`E_{ij} = e^{L_{ij} - m_i}`, :math:`L =
    u v^\top / \tau`, :math:`m_i` the row maximum) are complete when the
    block is, and the block's share of the gradient of the sum can be
    formed at once, while its ``[B, M, h]`` hidden layer :math:`g` is still
    in memory: with :math:`q_{ij} = w_{ij} E_{ij} / D_i`,

    .. math::
        \frac{\partial}{\partial L_{ij}} = q_{ij}, \qquad
        \frac{\partial}{\partial s_{ij}} = q_{ij} (1 - w_{ij}) =: t_{ij},

    :math:`\partial u_i = \sum_j q_{ij} v_j / \tau`, :math:`\partial v_j =
    \sum_i q_{ij} u_i / \tau`, :math:`\partial b_2 = \sum t`,
    :math:`\partial W_2 = \sum (2 g - 1)\, t` (formed per block as
    :math:`2 \sum g\, t - \sum t`: summed over all blocks first, the two
    large terms cancel with over ten times the rounding error) and, with
    :math:`\delta = t\, g (1 - g)`, :math:`\partial a_i = 2 W_2 \odot
    \sum_j \delta_{ij}`, :math:`\partial c_j = 2 W_2 \odot \sum_i
    \delta_{ij}` (:class:`_PairHidden`'s backward).
    The output is a scalar, so its gradient is a multiple of these: the
    backward pass only scales them by the incoming gradient. Checkpointing
    the blocks instead (:func:`~gcl.losses.weighted_info_nce`) builds every
    block twice, once to find the loss and once under autograd to
    differentiate it: on one CPU thread a loss step with its backward took
    0.66 s instead of 1.32 s at ACM's size (4,019 nodes, d = 64) and 1.37 s
    instead of 3.25 s at AMiner's (6,564 nodes, d = 16), float32, medians
    of 6 alternating steps, 2026-11-29. Memory is that of one block,
    :math:`O(B M h)`, plus the ``[N, d]`` gradients. The factors ``ea``,
    ``ec`` (:meth:`PairWeightMLP.factors`; ``None``: the logistic function
    of the sum) take no gradient.
    """

    @staticmethod
    def forward(ctx, u: Tensor, v: Tensor, a: Tensor, c: Tensor, w2: Tensor,
                b2: Tensor, ea: Optional[Tensor], ec: Optional[Tensor],
                tau: float, block: int) -> Tensor:
        n, m, h = u.size(0), v.size(0), a.size(1)
        grad = any(ctx.needs_input_grad[:6])
        if grad:
            du, dv = torch.empty_like(u), torch.zeros_like(v)
            da, dc = torch.empty_like(a), torch.zeros_like(c)
            dw2, db2 = torch.zeros_like(w2), torch.zeros_like(b2)
        wf, bf = w2.mul(2.0), b2 - w2.sum()
        lse = u.new_empty(n)
        vt = v.t().div(tau)
        for s in range(0, n, block):
            e = min(s + block, n)
            g = _hidden(a[s:e], c, None if ea is None else ea[s:e], ec)
            w = torch.addmv(bf.expand((e - s) * m), g.view(-1, h), wf)
            w = w.view(e - s, m).sigmoid_()
            x = u[s:e] @ vt
            mx = x.amax(dim=1, keepdim=True)
            q = x.sub_(mx).exp_().mul_(w)  # w E
            den = q.sum(dim=1, keepdim=True)
            lse[s:e] = den.log().add_(mx).squeeze(1)
            if not grad:
                continue
            q.div_(den)  # dL / dL_ij
            t = w.neg_().add_(1.0).mul_(q)  # dL / ds_ij = q (1 - w)
            rows, cols, gt = _hidden_grads(g, t)
            ts = t.sum()
            dw2.add_(gt.mul_(2.0).sub_(ts))
            db2 += ts
            da[s:e] = rows
            dc += cols
            du[s:e] = q @ v
            dv.addmm_(q.t(), u[s:e])
        if grad:
            ctx.save_for_backward(du.div_(tau), dv.div_(tau), da.mul_(wf),
                                  dc.mul_(wf), dw2, db2)
        return lse.sum()  # pairwise, not a running sum over the blocks

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        return (*(x * grad for x in ctx.saved_tensors),
                None, None, None, None)


def adameow_loss(
    z1: Tensor,
    z2: Tensor,
    mlp: torch.nn.Module,
    tau: float = 0.9,
    block_size: Optional[int] = None,
) -> Tensor:
    r"""AdaMEOW's InfoNCE with learned negative weights.

    From `"Heterogeneous Graph Contrastive Learning with Meta-path Contexts
    and Adaptively Weighted Negative Samples"
    <https://arxiv.org/abs/2212.13847>`_ (Yu et al., TKDE 2024), as coded in
    ``jianxiangyu/MEOW`` (``weight_InfoNce`` in
    ``code_adameow/module/adameow.py``). With the L2-normalised projections
    :math:`p^f` (fine-grained view, the anchors) and :math:`p^c` (coarse
    view):

    .. math::
        w_{ij} = \sigma\big(\mathrm{MLP}(p^f_i + p^c_j)\big), \qquad
        \mathcal{L} = -\frac{1}{N} \sum_i \log
        \frac{e^{{p^f_i}^\top p^c_i / \tau}}
        {\sum_{j} w_{ij}\, e^{{p^f_i}^\top p^c_j / \tau}}.

    As in the official code the weights are the raw sigmoid outputs (no
    normalisation over :math:`j`), the pair :math:`j = i` stays in the
    denominator with its weight :math:`w_{ii}`, and the weights are not
    detached: the loss trains the MLP and back-propagates through the
    weights into both views. (Minimising the loss also pushes every weight
    towards 0; nothing in the official code prevents it.) The official code
    builds the :math:`N^2 \times d` input matrix of all pairs; here the MLP
    is evaluated on one ``[block, N]`` block at a time, so memory is
    :math:`O(N \cdot \text{block} \cdot h)`. With a :class:`PairWeightMLP`
    the first layer of each side is computed once per call
    (:meth:`PairWeightMLP.sides`), and each block's hidden layer once: the
    pass that computes the loss also forms its gradients, block by block
    (:class:`_FusedRows`), which the backward pass scales. Any other
    ``mlp`` runs on every block's rows inside :func:`weighted_info_nce`,
    which checkpoints the blocks and recomputes them in the backward pass.

    Args:
        z1 (torch.Tensor): Anchors :math:`p^f`, ``[N, d]`` (normalised here).
        z2 (torch.Tensor): Samples :math:`p^c`, ``[N, d]``.
        mlp (torch.nn.Module): ``mlp(p [B, d], q [M, d]) -> [B, M]`` weights,
            e.g. :class:`PairWeightMLP`. Another callable must be
            deterministic (no dropout), because the backward pass evaluates
            it again.
        tau (float, optional): Temperature. (default: :obj:`0.9`, AdaMEOW's
            DBLP/AMiner/IMDB setting)
        block_size (int, optional): Rows per block. (default: :obj:`None`,
            as many rows as keep a block's ``[rows, N, h]`` hidden layer
            near 8 MiB, e.g. 32 on ACM, where the element-wise passes run
            from cache: ``benchmarks/results/hetero_epoch.md``)

    Returns:
        torch.Tensor: The scalar loss.
    """
    _check_pair(z1, z2, "adameow_loss")
    if block_size is None:
        block_size = _cache_block(z1.size(0), getattr(mlp, "hidden_channels", 16),
                                  z1.element_size())
    _check_tau(tau)
    if not callable(mlp):
        raise ValueError(f"mlp must be callable, got {type(mlp).__name__}")
    u = F.normalize(z1, dim=1)
    v = F.normalize(z2, dim=1)
    if isinstance(mlp, PairWeightMLP):  # each side's first layer once, one pass
        a, c = mlp.sides(u, v)
        ea, ec = mlp.factors(a, c)
        lse = _FusedRows.apply(u, v, a, c, mlp.lin2.weight[0], mlp.lin2.bias[0],
                               ea, ec, float(tau), _block(u.size(0), block_size))
        return lse / u.size(0) - (u * v).sum(dim=1).mean() / tau

    def weight(rows: Tensor, cols: Tensor) -> Tensor:
        return mlp(u[rows], v[cols])

    return weighted_info_nce(u, v, weight=weight, tau=tau, block_size=block_size)


# Bytes of one block's [rows, N, h] hidden layer that the default aims at.
_BLOCK_BYTES = 8 << 20


def _cache_block(n: int, hidden: int, element_size: int) -> int:
    """Rows per block whose ``[rows, n, hidden]`` tensor is about 8 MiB."""
    return max(1, min(n, _BLOCK_BYTES // max(1, n * hidden * element_size)))


class AdaMEOWLoss(torch.nn.Module):
    r"""Module form of :func:`adameow_loss`; holds the weight MLP.

    Args:
        in_channels (int): Projection size :math:`d`.
        hidden_channels (int, optional): Hidden units of the MLP. (default:
            :obj:`16`)
        tau (float, optional): Temperature. (default: :obj:`0.9`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
    """

    def __init__(self, in_channels: int, hidden_channels: int = 16,
                 tau: float = 0.9, block_size: Optional[int] = None):
        super().__init__()
        _check_tau(tau)
        self.mlp = PairWeightMLP(in_channels, hidden_channels)
        self.tau = tau
        self.block_size = block_size

    def reset_parameters(self) -> None:
        """Resets the weight MLP."""
        self.mlp.reset_parameters()

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """Returns the loss of anchors ``z1`` (fine view) and ``z2`` (coarse)."""
        return adameow_loss(z1, z2, self.mlp, self.tau, self.block_size)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.mlp.in_channels}, "
                f"hidden_channels={self.mlp.hidden_channels}, tau={self.tau})")
