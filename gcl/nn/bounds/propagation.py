r"""Bound propagation through a 2-layer :class:`gcl.nn.GCNEncoder` and POT's score.

From `"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_ (POT, Yu et al., NeurIPS 2023). The
encoder is :math:`z = \sigma(\hat{A}'\,\sigma(\hat{A}' X W_1 + b_1) W_2 + b_2)`
and every admissible view has :math:`L \leq \hat{A}' \leq U` entry-wise
(:class:`~gcl.nn.bounds.AdjacencyBounds`). For a direction :math:`w_i` per
node (POT's "GCL principle" weights, :func:`gcl.losses.principle_direction`),
node :math:`i`'s score is :math:`f_i(G') = w_i^\top z_i(G')`, and its
*compactness* is :math:`\min_{G'} f_i(G')` over the admissible views.

**Interval bounds** (center-radius form). For a fixed matrix :math:`Y`,

.. math::
    [\hat{A}' Y]^{L/U} = \tfrac{U + L}{2} Y \mp \tfrac{U - L}{2} |Y| ,

giving layer 1's pre-activation bounds :math:`[l^{(1)}, u^{(1)}]` with
:math:`Y = X W_1` (plus :math:`b_1`).

**Back-substitution** (CROWN-style). With the relaxation
(:func:`~gcl.nn.bounds.relaxation`) of layer 2 on :math:`[l^{(2)}, u^{(2)}]`,
choosing per unit the lower line where :math:`w \geq 0` and the upper one
where :math:`w < 0`:

.. math::
    \Lambda^{(2)}_i = s^{(2)}_i \odot w_i, \quad
    \tilde{W}^{(2)}_i = W_2 \Lambda^{(2)}_i, \quad
    \tilde{b}^{(2)}_i = \Lambda^{(2)}_i \cdot b_2 + w_i \cdot \Delta^{(2)}_i,

and the same again through layer 1 with the signs of :math:`\tilde{W}^{(2)}`:
:math:`\Lambda^{(1)}_i = s^{(1)}_i \odot \tilde{W}^{(2)}_i`,
:math:`\tilde{b}^{(1)}_i = \Lambda^{(1)}_i \cdot b_1 + \tilde{W}^{(2)}_i
\cdot \Delta^{(1)}_i`,
:math:`\tilde{W}^{(1)}_i = W_1 \Lambda^{(1)}_i`. Every :math:`\tilde{b}` is a
row-wise dot product (the official code takes the diagonal of an
:math:`N \times N` product), and :math:`x_k^\top \tilde{W}^{(1)}_k =
(X W_1)_k \cdot \Lambda^{(1)}_k` never forms the :math:`N \times F` matrix
:math:`\tilde{W}^{(1)}`.

Two modes (:func:`compactness_score`):

- ``"official"`` reproduces the code that produced the published numbers:
  layer 2's intervals use the hidden states :math:`H = \sigma(\hat{A} X W_1 +
  b_1)` of the **clean** graph (:math:`Y = H W_2`), the relaxation has the
  code's upper intercept, the intercepts enter as :math:`\tilde{b} =
  \Lambda \cdot (\Delta + b)` (scaled by the slopes, which is not a valid
  bound), the PReLU slope enters as a constant (``.item()``), and the score
  is the linear bound function evaluated at the **sampled** view, indexed by
  the aggregated node:

  .. math::
      s_i = \sum_j M_{ij} \Big(\sum_k M_{jk}\, (X W_1)_k \cdot
      \Lambda^{(1)}_k + \tilde{b}^{(1)}_j\Big) + \tilde{b}^{(2)}_i ,

  where :math:`M` is the view's normalised adjacency indexed (source,
  target), i.e. :math:`M = \hat{A}'^\top`, as the code builds it. This is a
  training signal, not a bound: it need not be below :math:`f_i`.
- ``"sound"`` is a certified lower bound on node :math:`i`'s compactness,
  :math:`s_i \leq \min_{G'} f_i(G')`: the layer-1 intervals are propagated
  through :math:`\sigma` and :math:`W_2` (interval arithmetic), layer 2 uses
  the tight chord, and the rest is bounded over the whole admissible set
  instead of evaluated at one view:

  .. math::
      g_{ij} = \tilde{W}^{(2)+}_i \cdot \underline{h}_j
      + \tilde{W}^{(2)-}_i \cdot \overline{h}_j , \qquad
      s_i = \sum_{j} \min(L_{ij} g_{ij}, U_{ij} g_{ij}) + \tilde{b}^{(2)}_i ,

  with :math:`[\underline{h}_j, \overline{h}_j]` the image of
  :math:`[l^{(1)}_j, u^{(1)}_j]` under :math:`\sigma`. It does not depend on
  the sampled view, and costs :math:`O(|E| h + N h^2)`.

In batch mode (``nodes``), ``"official"`` restricts everything to the
induced subgraph on the batch (out-of-batch neighbours are ignored, as in
the code), while ``"sound"`` keeps the full neighbourhoods, so its bound
stays valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Optional

import torch
from torch import Tensor

from gcl.nn.bounds.adjacency import (
    AdjacencyBounds,
    SparseOperator,
    _positions,
    normalized_adjacency,
)
from gcl.nn.bounds.relaxations import (
    activation_range,
    leaky_relu,
    leaky_slope,
    relaxation,
)

__all__ = ["GCNBounds", "check_bound_encoder", "compactness_score",
           "compactness_scores", "edge_dot", "gcn_bounds", "interval_matmul"]

MODES = ("official", "sound")

# Edges per chunk of edge_dot: keeps the gathered [chunk, C] rows near 16 MB.
_CHUNK_FLOATS = 1 << 22


def check_bound_encoder(encoder: torch.nn.Module) -> None:
    """Raises a clear error unless ``encoder`` is a 2-layer
    :class:`gcl.nn.GCNEncoder` with a piecewise-linear activation.
    """
    from gcl.nn.gcn_encoder import GCNEncoder

    if not isinstance(encoder, GCNEncoder):
        raise TypeError(f"POT's bounds need a gcl.nn.GCNEncoder, got "
                        f"{type(encoder).__name__}")
    if encoder.num_layers != 2:
        raise ValueError(f"POT's bounds are derived for 2 GCN layers (as the "
                         f"official code asserts), got num_layers="
                         f"{encoder.num_layers}")
    leaky_slope(encoder.activation)


def _layer(encoder: torch.nn.Module, k: int) -> tuple[Tensor, Tensor]:
    """Weight ``[out, in]`` and bias ``[out]`` (zeros if absent) of layer ``k``."""
    conv = encoder.convs[k]
    weight = conv.lin.weight
    bias = conv.bias if conv.bias is not None else weight.new_zeros(weight.size(0))
    return weight, bias


def interval_matmul(bounds: AdjacencyBounds, y: Tensor,
                    bias: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    r"""Bounds of :math:`\hat{A}' Y (+ b)` over :math:`L \leq \hat{A}' \leq U`
    for a fixed ``y`` ``[N, C]``: :math:`\frac{U+L}{2} Y \mp
    \frac{U-L}{2}|Y|`.
    """
    mid = bounds.matrix("center", y.dtype) @ y
    if bias is not None:
        mid = mid + bias
    rad = bounds.matrix("radius", y.dtype) @ y.abs()
    return mid - rad, mid + rad


class _Rows(NamedTuple):
    """Rows ``nodes`` of the bounds (relabelled 0..B-1), all N columns."""

    row: Tensor
    col: Tensor
    lower: Tensor
    upper: Tensor
    shape: tuple[int, int]

    def mat(self, which: str, dtype: torch.dtype) -> SparseOperator:
        val = self.lower if which == "lower" else self.upper
        return SparseOperator(self.row, self.col, val.to(dtype), self.shape)


def _rows(bounds: AdjacencyBounds, nodes: Optional[Tensor]):
    n = bounds.num_nodes
    if nodes is None:
        return _AllRows(bounds)
    r = _positions(nodes, n)[bounds.row]
    keep = r >= 0
    order = torch.argsort(r[keep] * n + bounds.col[keep])
    sel = keep.nonzero().view(-1)[order]
    return _Rows(r[sel], bounds.col[sel], bounds.lower[sel], bounds.upper[sel],
                 (int(nodes.numel()), n))


class _AllRows:
    """All rows: the bounds' own cached operators."""

    def __init__(self, bounds: AdjacencyBounds):
        self.bounds = bounds
        self.row, self.col = bounds.row, bounds.col
        self.lower, self.upper = bounds.lower, bounds.upper

    def mat(self, which: str, dtype: torch.dtype) -> SparseOperator:
        return self.bounds.matrix(which, dtype)


def _interval_matmul_range(rows: _Rows, y_lo: Tensor,
                           y_hi: Tensor) -> tuple[Tensor, Tensor]:
    r"""Bounds of :math:`\hat{A}' Y` for :math:`Y \in [Y^L, Y^U]` and
    :math:`0 \leq L \leq \hat{A}' \leq U` (rows of ``rows`` only).
    """
    lo_m, up_m = rows.mat("lower", y_lo.dtype), rows.mat("upper", y_lo.dtype)
    lo = lo_m @ y_lo.clamp_min(0) + up_m @ y_lo.clamp_max(0)
    hi = up_m @ y_hi.clamp_min(0) + lo_m @ y_hi.clamp_max(0)
    return lo, hi


class _EdgeDot(torch.autograd.Function):
    """``out[e] = p[row[e]] . q[col[e]]`` in edge chunks (an SDDMM)."""

    @staticmethod
    def forward(ctx, p, q, row, col):
        chunk = max(1, _CHUNK_FLOATS // max(1, p.size(1)))
        out = p.new_empty(row.numel())
        for s in range(0, row.numel(), chunk):
            e = slice(s, s + chunk)
            out[e] = (p[row[e]] * q[col[e]]).sum(1)
        ctx.save_for_backward(p, q, row, col)
        ctx.chunk = chunk
        return out

    @staticmethod
    def backward(ctx, grad):
        p, q, row, col = ctx.saved_tensors
        gp = torch.zeros_like(p) if ctx.needs_input_grad[0] else None
        gq = torch.zeros_like(q) if ctx.needs_input_grad[1] else None
        for s in range(0, row.numel(), ctx.chunk):
            e = slice(s, s + ctx.chunk)
            g = grad[e].unsqueeze(1)
            if gp is not None:
                gp.index_add_(0, row[e], g * q[col[e]])
            if gq is not None:
                gq.index_add_(0, col[e], g * p[row[e]])
        return gp, gq, None, None


def edge_dot(p: Tensor, q: Tensor, row: Tensor, col: Tensor) -> Tensor:
    r"""Row-wise dot products on edges, :math:`o_e = p_{r_e} \cdot q_{c_e}`.

    A sampled dense-dense product that never forms :math:`P Q^\top`: the
    forward and backward passes work in edge chunks, so memory is
    :math:`O(|E| + (N_p + N_q) C)` plus one chunk.
    """
    return _EdgeDot.apply(p, q, row, col)


@dataclass
class GCNBounds:
    r"""Pre-activation bounds of a 2-layer GCN over the admissible views.

    Attributes:
        lower1, upper1 (torch.Tensor): Layer 1, :math:`[l^{(1)}, u^{(1)}]`,
            ``[N, 2h]`` (``[B, 2h]`` for an official batch).
        lower2, upper2 (torch.Tensor): Layer 2, ``[B, h]`` for the rows
            asked for.
        xw (torch.Tensor): :math:`X W_1` of the rows of layer 1.
        slope (float or torch.Tensor): The activation's negative slope.
        mode (str): ``"official"`` or ``"sound"``.
    """

    lower1: Tensor
    upper1: Tensor
    lower2: Tensor
    upper2: Tensor
    xw: Tensor
    slope: object
    mode: str


class _OfficialBacksub(torch.autograd.Function):
    r"""One back-substitution step with the official relaxation, fused.

    For bounds :math:`[l, u]`, coefficients :math:`c` (:math:`w` or
    :math:`\tilde{W}^{(2)}`), bias :math:`b` and a constant slope :math:`a`
    (the code's ``.item()``), returns :math:`\Lambda = s \odot c` and
    :math:`\tilde{b} = \sum_k \Lambda_k (\beta^U_k [c_k < 0] + b_k)` with
    the official :math:`s, \beta^U` (:func:`~gcl.nn.bounds.relaxation`). The
    hand-written backward gives the gradients autograd would give through
    ``get_alpha_beta`` / ``get_crown_weights`` (stable neurons have constant
    slopes), in a third of the passes over the :math:`[B, C]` tensors.
    """

    @staticmethod
    def forward(ctx, lower, upper, coef, bias, slope):
        a = slope
        relu = not isinstance(a, Tensor) and a == 0.0
        lneg, upos = lower.clamp_max(0), upper.clamp_min(0)
        width = upos - lneg
        width.masked_fill_(width == 0, 1.0)  # only where l = u = 0
        if relu:  # s = u+ / (u+ - l-), beta = -l- (stable: s l- u+ = 0)
            s = upos / width
            beta = lneg.neg()
            top = upos
        else:
            top = upos - a * lneg
            top.masked_fill_(top == 0, 1.0)
            s = (1 - a) * upos / width + a
            beta = (a - 1) * upos * lneg / top
        neg = coef < 0
        e = torch.where(neg, beta, 0.0) + bias
        lam = s * coef
        ctx.save_for_backward(lower, upper, coef, lneg, upos, width, top, s, e,
                              neg)
        ctx.slope = a
        ctx.relu = relu
        ctx.bias_shape = bias.shape
        return lam, (lam * e).sum(1)

    @staticmethod
    def backward(ctx, g_lam, g_bt):
        lower, upper, coef, lneg, upos, width, top, s, e, neg = ctx.saved_tensors
        a = ctx.slope
        g_bt = g_bt.unsqueeze(1)
        g_lam = g_lam + g_bt * e  # d b~ / d Lambda = e
        g_coef = g_lam * s
        g_s = g_lam * coef
        g_beta = torch.where(neg, g_bt * (s * coef), 0.0)
        g_bias = None
        if ctx.needs_input_grad[3]:
            g_bias = (g_bt * (s * coef)).sum(0).reshape(ctx.bias_shape)
        w2 = width * width
        # s = a + (1 - a) u+ / (u+ - l-),  beta = (a - 1) u+ l- / (u+ - a l-)
        if ctx.relu:
            g_upos = g_s * (-lneg / w2)
            g_lneg = g_s * (upos / w2) - g_beta
        else:
            t2 = top * top
            g_upos = (g_s * ((a - 1) * lneg / w2)
                      - g_beta * (a * (a - 1)) * (lneg * lneg) / t2)
            g_lneg = (g_s * ((1 - a) * upos / w2)
                      + g_beta * ((a - 1) * upos * upos / t2))
        # Only unstable neurons carry gradient (stable ones: constants).
        unstable = (lower < 0) & (upper > 0)
        return (torch.where(unstable, g_lneg, 0.0),
                torch.where(unstable, g_upos, 0.0), g_coef, g_bias, None)


def _slope(encoder, mode):
    a = leaky_slope(encoder.activation)
    if mode == "official" and isinstance(a, Tensor):
        a = a.detach()  # the code reads the PReLU weight with .item()
    return a


class _Shared(NamedTuple):
    """Per-step quantities shared by both views' bounds."""

    xw: Tensor  # X W_1, all nodes
    hw: Optional[Tensor]  # official: sigma(A_clean X W_1 + b_1) W_2, all nodes
    slope: object


def _shared(encoder, x, bounds, mode) -> _Shared:
    if mode not in MODES:
        raise ValueError(f"mode must be 'official' or 'sound', got {mode!r}")
    check_bound_encoder(encoder)
    if x.size(0) != bounds.num_nodes:
        raise ValueError(f"x has {x.size(0)} rows but the bounds are for "
                         f"{bounds.num_nodes} nodes")
    xw = encoder.convs[0].lin(x)
    hw = None
    if mode == "official":
        # H = sigma(conv1(x)) on the clean graph, through the activation
        # itself (so a PReLU slope gets its gradient here, as in the code).
        _, b1 = _layer(encoder, 0)
        hidden = leaky_relu(bounds.matrix("clean", xw.dtype) @ xw + b1,
                            leaky_slope(encoder.activation))
        hw = encoder.convs[1].lin(hidden)
    return _Shared(xw, hw, _slope(encoder, mode))


def _bounds(encoder, shared: _Shared, bounds: AdjacencyBounds, mode: str,
            nodes: Optional[Tensor]) -> GCNBounds:
    _, b1 = _layer(encoder, 0)
    w2, b2 = _layer(encoder, 1)
    xw, a = shared.xw, shared.slope
    if mode == "official":
        sub = bounds if nodes is None else bounds.subgraph(nodes)
        xw_b = xw if nodes is None else xw[nodes]
        hw = shared.hw if nodes is None else shared.hw[nodes]
        lo1, up1 = interval_matmul(sub, xw_b, b1)
        lo2, up2 = interval_matmul(sub, hw, b2)
        return GCNBounds(lo1, up1, lo2, up2, xw_b, a, mode)
    lo1, up1 = interval_matmul(bounds, xw, b1)
    h_lo, h_hi = activation_range(lo1, up1, a)
    mid = ((h_hi + h_lo) / 2) @ w2.t()
    rad = ((h_hi - h_lo) / 2) @ w2.abs().t()
    lo2, up2 = _interval_matmul_range(_rows(bounds, nodes), mid - rad, mid + rad)
    return GCNBounds(lo1, up1, lo2 + b2, up2 + b2, xw, a, mode)


def gcn_bounds(encoder: torch.nn.Module, x: Tensor, bounds: AdjacencyBounds,
               mode: str = "sound", nodes: Optional[Tensor] = None) -> GCNBounds:
    r"""Interval bounds on both layers' pre-activations (see module docstring).

    Args:
        encoder (gcl.nn.GCNEncoder): 2-layer encoder.
        x (torch.Tensor): Clean node features ``[N, F]`` (dense or sparse).
        bounds (AdjacencyBounds): Bounds of :math:`\hat{A}'`.
        mode (str, optional): ``"sound"`` (layer-1 intervals propagated) or
            ``"official"`` (clean-graph hidden states in layer 2).
            (default: ``"sound"``)
        nodes (torch.Tensor, optional): Node batch; layer 2 is bounded for
            these rows only (and, in ``"official"`` mode, on the induced
            subgraph). (default: all nodes)

    Returns:
        GCNBounds: ``lower1``/``upper1`` for all nodes (sound) or the batch
        (official), ``lower2``/``upper2`` for the batch.
    """
    return _bounds(encoder, _shared(encoder, x, bounds, mode), bounds, mode,
                   nodes)


def _view_matrix(view_edge_index: Tensor, num_nodes: int, degree: str,
                 nodes: Optional[Tensor], dtype: torch.dtype) -> SparseOperator:
    """The sampled view's normalised adjacency as the official code indexes
    it, ``M[source, target]``, restricted to ``nodes`` (induced).
    """
    ei, w = normalized_adjacency(view_edge_index, num_nodes, degree, dtype)
    n = num_nodes
    if nodes is not None:
        pos = _positions(nodes, num_nodes)
        src, dst = pos[ei[0]], pos[ei[1]]
        keep = (src >= 0) & (dst >= 0)
        ei, w = torch.stack([src[keep], dst[keep]]), w[keep]
        n = int(nodes.numel())
    return SparseOperator(ei[0], ei[1], w, (n, n))


def _score(encoder, shared: _Shared, bounds: AdjacencyBounds, w: Tensor,
           mode: str, nodes: Optional[Tensor],
           view_edge_index: Optional[Tensor]) -> Tensor:
    n_rows = bounds.num_nodes if nodes is None else int(nodes.numel())
    h = encoder.out_channels
    if w.dim() != 2 or w.shape != (n_rows, h):
        raise ValueError(f"w must be [{n_rows}, {h}] (one direction per node "
                         f"of the batch), got {tuple(w.shape)}")
    if mode == "official" and view_edge_index is None:
        raise ValueError("mode='official' evaluates the bound at the sampled "
                         "view: pass view_edge_index")
    gb = _bounds(encoder, shared, bounds, mode, nodes)
    _, b1 = _layer(encoder, 0)
    w2, b2 = _layer(encoder, 1)
    if mode == "official":
        # Lambda = s (.) coef and b~ = Lambda . (Delta + b): the code scales
        # the intercepts by the slopes too. Fused (same values and gradients).
        lam2, b_tilde2 = _OfficialBacksub.apply(gb.lower2, gb.upper2, w, b2,
                                                gb.slope)
        lam1, b_tilde1 = _OfficialBacksub.apply(gb.lower1, gb.upper1,
                                                lam2 @ w2, b1, gb.slope)
        t = (gb.xw * lam1).sum(1)
        m = _view_matrix(view_edge_index, bounds.num_nodes, bounds.degree,
                         nodes, t.dtype)
        inner = m @ t.unsqueeze(1) + b_tilde1.unsqueeze(1)
        return (m @ inner).squeeze(1) + b_tilde2
    rel2 = relaxation(gb.lower2, gb.upper2, gb.slope, mode)
    neg_w = (w < 0).to(w.dtype)
    lam2 = rel2.slope * w
    w_tilde2 = lam2 @ w2  # [B, 2h]
    # w (s z + Delta) = (s w) z + w Delta, Delta by the sign of w.
    delta2 = rel2.lower_intercept + (rel2.upper_intercept
                                     - rel2.lower_intercept) * neg_w
    b_tilde2 = (lam2 * b2).sum(1) + (w * delta2).sum(1)
    h_lo, h_hi = activation_range(gb.lower1, gb.upper1, gb.slope)
    sub = _rows(bounds, nodes)
    p = torch.cat([w_tilde2.clamp_min(0), w_tilde2.clamp_max(0)], dim=1)
    q = torch.cat([h_lo, h_hi], dim=1)
    g = edge_dot(p, q, sub.row, sub.col)
    coef = torch.where(g >= 0, sub.lower.to(g.dtype), sub.upper.to(g.dtype))
    score = torch.zeros(n_rows, dtype=g.dtype, device=g.device)
    return score.index_add(0, sub.row, coef * g) + b_tilde2


def compactness_score(encoder: torch.nn.Module, x: Tensor,
                      bounds: AdjacencyBounds, w: Tensor, mode: str = "sound",
                      nodes: Optional[Tensor] = None,
                      view_edge_index: Optional[Tensor] = None) -> Tensor:
    r"""POT's per-node score :math:`s_i` (see the module docstring).

    Args:
        encoder (gcl.nn.GCNEncoder): 2-layer encoder with a (leaky) ReLU.
        x (torch.Tensor): Clean node features ``[N, F]``.
        bounds (AdjacencyBounds): Bounds of :math:`\hat{A}'` for the view's
            drop budget.
        w (torch.Tensor): Directions ``[B, h]``, one per node of ``nodes``
            (:func:`gcl.losses.principle_direction`).
        mode (str, optional): ``"official"`` or ``"sound"``.
            (default: ``"sound"``)
        nodes (torch.Tensor, optional): Node batch ``[B]`` (distinct
            indices). (default: all nodes, in order)
        view_edge_index (torch.Tensor, optional): Edges of the sampled view;
            required in ``"official"`` mode, unused in ``"sound"`` mode.

    Returns:
        torch.Tensor: Scores ``[B]``, differentiable in the encoder's
        parameters and in ``w``.
    """
    return compactness_scores(encoder, x, [bounds], [w], mode, nodes,
                              [view_edge_index])[0]


def compactness_scores(encoder: torch.nn.Module, x: Tensor,
                       bounds: Sequence[AdjacencyBounds], ws: Sequence[Tensor],
                       mode: str = "sound", nodes: Optional[Tensor] = None,
                       view_edge_indices: Optional[Sequence[Optional[Tensor]]]
                       = None) -> list[Tensor]:
    r""":func:`compactness_score` of several views of one graph at once.

    :math:`X W_1` (and, in ``"official"`` mode, the clean graph's hidden
    states) are computed once and shared by all views.

    Args:
        encoder (gcl.nn.GCNEncoder): 2-layer encoder.
        x (torch.Tensor): Clean node features ``[N, F]``.
        bounds (Sequence[AdjacencyBounds]): One per view.
        ws (Sequence[torch.Tensor]): Directions ``[B, h]``, one per view.
        mode (str, optional): ``"official"`` or ``"sound"``.
            (default: ``"sound"``)
        nodes (torch.Tensor, optional): Node batch shared by the views.
        view_edge_indices (Sequence[torch.Tensor], optional): Sampled views'
            edges (``"official"`` mode).

    Returns:
        list[torch.Tensor]: Scores ``[B]`` per view.
    """
    if len(bounds) == 0 or len(bounds) != len(ws):
        raise ValueError(f"need one direction per view, got {len(bounds)} "
                         f"bounds and {len(ws)} directions")
    views = list(view_edge_indices) if view_edge_indices is not None \
        else [None] * len(bounds)
    if len(views) != len(bounds):
        raise ValueError(f"need one view per bound, got {len(views)}")
    for b in bounds[1:]:
        if b.num_nodes != bounds[0].num_nodes or b.degree != bounds[0].degree:
            raise ValueError("all views' bounds must be of the same graph")
    shared = _shared(encoder, x, bounds[0], mode)
    return [_score(encoder, shared, b, w, mode, nodes, v)
            for b, w, v in zip(bounds, ws, views)]
