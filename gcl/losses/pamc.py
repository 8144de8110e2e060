r"""PamC's meta-node block contrast, its influence matrix and SCGC's Ncontrast."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import (
    add_self_loops,
    remove_self_loops,
    scatter,
    to_undirected,
)

from gcl._sparse import quiet_sparse

__all__ = [
    "NContrastLoss",
    "PamCLoss",
    "influence_matrix",
    "meta_nodes",
    "ncontrast_loss",
    "pamc_loss",
]

_EMPTY_CLUSTERS = ("official", "keep", "drop")

# Rows per block of Ncontrast's N x N cosine matrix when none is given (the
# same default as gcl.losses.info_nce).
_DEFAULT_BLOCK = 256


def influence_matrix(
    edge_index: Tensor,
    num_nodes: int,
    order: int = 1,
    cumulative: bool = True,
    dtype: Optional[torch.dtype] = None,
) -> tuple[Tensor, Tensor]:
    r"""The sparse influence matrix :math:`\Gamma` of SCGC and PamC.

    From `"Efficient block contrastive learning via parameter-free meta-node
    approximation" <https://arxiv.org/abs/2209.14067>`_ (Kulatilleke et al.,
    2022) and `"SCGC: Self-Supervised Contrastive Graph Clustering"
    <https://arxiv.org/abs/2204.12656>`_, as coded in ``gayanku/PAMC``
    (``load_graph`` then ``get_A_r_flexSP``). With the symmetrised binary
    adjacency :math:`A`, its self-loops and the row (random-walk)
    normalisation

    .. math::
        \hat{A} = D^{-1} (A + I), \qquad D_{ii} = 1 + \sum_j A_{ij},

    the influence matrix of order :math:`R` is

    .. math::
        \Gamma = \sum_{r=1}^{R} \hat{A}^r \quad (\text{cumulative, the
        official } \texttt{--influence}) \qquad \text{or} \qquad
        \Gamma = \hat{A}^R.

    Every row of :math:`\hat{A}^r` sums to 1, so a row of :math:`\Gamma`
    sums to :math:`R` (cumulative) or 1. Computed with sparse products
    (:func:`torch.sparse.mm`), never densified; the number of non-zeros
    grows with the :math:`R`-hop neighbourhoods.

    Duplicate edges and existing self-loops are merged first, so :math:`A` is
    binary and :math:`A + I` has a unit diagonal. (The official
    ``load_graph`` would weight a self-loop of the input file 2; the SDCN
    graphs have none.)

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]`` (either direction or
            both).
        num_nodes (int): Number of nodes :math:`N`.
        order (int, optional): :math:`R \geq 1` (PamC's ``--order``).
            (default: :obj:`1`)
        cumulative (bool, optional): Sum the powers :math:`1..R` instead of
            taking :math:`\hat{A}^R` alone. (default: :obj:`True`)
        dtype (torch.dtype, optional): Dtype of the values.
            (default: :obj:`None`, the default float dtype)

    Returns:
        ``(index, value)``: the coalesced non-zeros of :math:`\Gamma`, row
        index first: ``index`` ``[2, nnz]`` (``index[0]`` the anchor :math:`i`,
        ``index[1]`` the positive :math:`j`) and ``value`` ``[nnz]``.
    """
    if not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive int, got {num_nodes!r}")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an int >= 1, got {order!r}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got "
                         f"{tuple(edge_index.shape)}")
    if edge_index.is_floating_point():
        raise ValueError(f"edge_index must hold integers, got {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0
                               or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index holds nodes outside 0..{num_nodes - 1}")
    dtype = dtype or torch.get_default_dtype()
    ei = to_undirected(edge_index.long(), num_nodes=num_nodes)
    ei, _ = remove_self_loops(ei)
    ei, _ = add_self_loops(ei, num_nodes=num_nodes)
    row = ei[0]
    ones = torch.ones(row.numel(), dtype=dtype, device=row.device)
    deg = scatter(ones, row, 0, dim_size=num_nodes, reduce="sum")
    size = (num_nodes, num_nodes)
    a_hat = torch.sparse_coo_tensor(ei, ones / deg[row], size,
                                    check_invariants=False).coalesce()
    power = gamma = a_hat
    with quiet_sparse():
        for _ in range(order - 1):
            power = torch.sparse.mm(power, a_hat).coalesce()
            gamma = (gamma + power).coalesce() if cumulative else power
    return gamma.indices(), gamma.values()


def _check_gamma(z: Tensor, gamma_index: Tensor, gamma_value: Tensor) -> None:
    if z.dim() != 2:
        raise ValueError(f"z must be [N, d] embeddings, got {tuple(z.shape)}")
    if z.size(0) < 1:
        raise ValueError("z is empty (no nodes)")
    if gamma_index.dim() != 2 or gamma_index.size(0) != 2:
        raise ValueError(f"gamma_index must have shape [2, nnz], got "
                         f"{tuple(gamma_index.shape)}")
    if gamma_index.is_floating_point():
        raise ValueError(f"gamma_index must hold integers, got {gamma_index.dtype}")
    if gamma_value.shape != (gamma_index.size(1),):
        raise ValueError(f"gamma_value must have shape [nnz] = "
                         f"[{gamma_index.size(1)}], got {tuple(gamma_value.shape)}")
    n = z.size(0)
    if gamma_index.numel() and (int(gamma_index.min()) < 0
                                or int(gamma_index.max()) >= n):
        raise ValueError(f"gamma_index holds nodes outside 0..{n - 1} "
                         f"(z has N = {n} rows)")
    if bool((gamma_value < 0).any()) or not bool(torch.isfinite(gamma_value).all()):
        raise ValueError("gamma_value must be finite and non-negative")


def _check_tau(tau: float) -> None:
    if not (tau > 0 and math.isfinite(tau)):
        raise ValueError(f"tau must be positive and finite, got {tau}")


def _log_positive(u: Tensor, gamma_index: Tensor, gamma_value: Tensor,
                  tau: float) -> Tensor:
    r"""Per anchor :math:`\log \sum_j \Gamma_{ij} e^{\tau \tilde{s}_{ij}}`
    for row-normalised ``u``, over the non-zeros of :math:`\Gamma` (gather,
    then scatter-add): :math:`O(\mathrm{nnz} \cdot d)`. A stable segment
    log-sum-exp (shifted by each row's largest logit); :math:`-\infty` for an
    anchor without entries.
    """
    row, col = gamma_index
    n = u.size(0)
    sim = (u[row] * u[col]).sum(dim=1).masked_fill(row == col, 0.0)
    logit = tau * sim + torch.log(gamma_value.to(u.dtype))
    top = scatter(logit.detach(), row, 0, dim_size=n, reduce="max")
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    total = scatter(torch.exp(logit - top[row]), row, 0, dim_size=n, reduce="sum")
    return torch.log(total) + top


def _log_eps(log_sum: Tensor, eps: float) -> Tensor:
    r""":math:`\log(e^{\text{log\_sum}} + \epsilon)`, computed stably."""
    if eps == 0:
        return log_sum
    return torch.logaddexp(log_sum, log_sum.new_tensor(math.log(eps)))


def meta_nodes(z: Tensor, assignment: Tensor, num_clusters: int) -> Tensor:
    r"""PamC's meta-nodes: the sum of the member embeddings of each cluster.

    :math:`m_k = \sum_{i : c_i = k} z_i` (a zero row for an empty cluster),
    by one scatter-add, :math:`O(N d)`. Gradients reach ``z``.

    Args:
        z (torch.Tensor): Node embeddings ``[N, d]``.
        assignment (torch.Tensor): Hard cluster :math:`c_i` of every node,
            ``[N]``, in ``0..num_clusters-1``.
        num_clusters (int): Number of rows :math:`K`.

    Returns:
        torch.Tensor: Meta-nodes ``[K, d]``.
    """
    return scatter(z, assignment, 0, dim_size=num_clusters, reduce="sum")


def _hard_assignment(assignment: Tensor, n: int,
                     num_clusters: Optional[int]) -> tuple[Tensor, int]:
    if assignment.dim() == 2 and assignment.is_floating_point():
        if assignment.size(0) != n:
            raise ValueError(f"assignment has {assignment.size(0)} rows, "
                             f"expected N = {n}")
        k = assignment.size(1) if num_clusters is None else int(num_clusters)
        if k != assignment.size(1):
            raise ValueError(f"assignment has {assignment.size(1)} columns but "
                             f"num_clusters = {num_clusters}")
        return assignment.detach().argmax(dim=1), k
    if assignment.dim() == 1 and not assignment.is_floating_point():
        if assignment.size(0) != n:
            raise ValueError(f"assignment has {assignment.size(0)} entries, "
                             f"expected N = {n}")
        if num_clusters is None:
            raise ValueError("assignment is hard (cluster indices): pass "
                             "num_clusters")
        k = int(num_clusters)
        if k < 1:
            raise ValueError(f"num_clusters must be >= 1, got {num_clusters}")
        if int(assignment.min()) < 0 or int(assignment.max()) >= k:
            raise ValueError(f"assignment holds clusters outside 0..{k - 1}")
        return assignment.long(), k
    raise ValueError(f"assignment must be hard clusters [N] (integer) or soft "
                     f"assignments [N, K] (float), got {tuple(assignment.shape)} "
                     f"{assignment.dtype}")


def pamc_loss(
    z: Tensor,
    gamma_index: Tensor,
    gamma_value: Tensor,
    assignment: Tensor,
    num_clusters: Optional[int] = None,
    tau: float = 0.5,
    eps: float = 1e-10,
    empty_clusters: str = "official",
) -> Tensor:
    r"""PamC, the parameter-free meta-node approximation of a node contrast.

    From `"Efficient block contrastive learning via parameter-free meta-node
    approximation" <https://arxiv.org/abs/2209.14067>`_ (Kulatilleke,
    Portmann and Chandra, 2022), as coded in ``gayanku/PAMC``
    (``NcontrastCCSP``, model ``SCGC_TRIMPOSCCSP``). With the cosine
    similarity :math:`s`, and :math:`\tilde{s}` equal to :math:`s` except on
    self-pairs, where it is 0 (so :math:`i = j` and :math:`k = l` contribute
    :math:`e^0 = 1`, Graph-MLP's masking), the meta-nodes
    :math:`m_k = \sum_{i : c_i = k} z_i` of the hard clusters :math:`c_i`
    (:func:`meta_nodes`) and the influence matrix :math:`\Gamma`
    (:func:`influence_matrix`):

    .. math::
        \mathcal{L}_{\text{PamC}} = -\frac{1}{N} \sum_{i=1}^{N} \log \Big(
        \sum_{j \in \Gamma_i} \Gamma_{ij}\, e^{\tau \tilde{s}(z_i, z_j)}
        + \epsilon \Big) + \frac{1}{K'} \sum_{k=1}^{K'} \log \Big(
        \sum_{l=1}^{K'} e^{\tau \tilde{s}(m_k, m_l)} + \epsilon \Big).

    :math:`\tau` *multiplies* the cosine (Graph-MLP's convention, unlike
    InfoNCE's division). The positive term runs over the non-zeros of
    :math:`\Gamma` (gather, then scatter-add per anchor:
    :math:`O(\mathrm{nnz}(\Gamma)\, d)`); the negative term contrasts the
    :math:`K' \times K'` meta-nodes (:math:`O(N d + K'^2 d)`) instead of the
    :math:`N \times N` node pairs of :func:`ncontrast_loss`. The
    :math:`\epsilon` sits inside both logarithms, added to the sums, as in
    the official code (``log(x_pos + 1e-10)`` and ``log(x_neg + 1e-10)``);
    the cosines themselves have none there.

    Gradients reach ``z`` through both terms, the meta-nodes included; the
    assignment is a constant (PamC detaches :math:`\arg\max_k q_{ik}`).

    **Which clusters count** (``empty_clusters``), :math:`K'`:

    - ``"official"``: rows :math:`0..\max_i c_i`, the width of
      ``F.one_hot(q.argmax(1))`` that builds the meta-nodes in the official
      code. An empty cluster of higher index than every used one silently
      drops out. An empty cluster below :math:`\max_i c_i` gives a zero
      meta-node: the official code then computes :math:`0 \cdot \infty`
      (``x_sum**(-1)`` of a zero norm), i.e. NaN, and the loss is NaN; here
      its cosine with every meta-node is 0, so it adds :math:`e^0 = 1` to
      every row sum and :math:`\log(K' + \epsilon)` to the mean.
    - ``"keep"``: all ``num_clusters`` rows, every empty cluster a zero
      meta-node treated as above.
    - ``"drop"``: only the non-empty clusters.

    All three agree when every cluster has a member. A zero embedding
    :math:`z_i` likewise has cosine 0 (rows are normalised with
    :func:`torch.nn.functional.normalize`), where the official code gives
    NaN.

    Args:
        z (torch.Tensor): Node embeddings ``[N, d]``.
        gamma_index (torch.Tensor): Non-zeros of :math:`\Gamma`, ``[2, nnz]``,
            anchor :math:`i` first (:func:`influence_matrix`).
        gamma_value (torch.Tensor): Their values :math:`\Gamma_{ij}`,
            ``[nnz]``.
        assignment (torch.Tensor): Hard clusters :math:`c_i` ``[N]``
            (integer), or soft assignments :math:`q` ``[N, K]`` (float), whose
            detached row arg-max is taken.
        num_clusters (int, optional): :math:`K`; needed with hard clusters.
            (default: :obj:`None`, the width of a soft assignment)
        tau (float, optional): :math:`\tau`, multiplying the cosine
            (PamC's ``--tau``). (default: :obj:`0.5`)
        eps (float, optional): :math:`\epsilon` inside the logarithms.
            (default: :obj:`1e-10`)
        empty_clusters (str, optional): ``"official"``, ``"keep"`` or
            ``"drop"`` (above). (default: :obj:`"official"`)

    Returns:
        torch.Tensor: The scalar loss.
    """
    _check_gamma(z, gamma_index, gamma_value)
    _check_tau(tau)
    if empty_clusters not in _EMPTY_CLUSTERS:
        raise ValueError(f"empty_clusters must be one of {_EMPTY_CLUSTERS}, got "
                         f"{empty_clusters!r}")
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    c, k = _hard_assignment(assignment, z.size(0), num_clusters)

    u = F.normalize(z, dim=1)
    pos = _log_eps(_log_positive(u, gamma_index.long(), gamma_value, tau), eps)

    if empty_clusters == "official":
        k = int(c.max()) + 1
    m = meta_nodes(z, c, k)
    if empty_clusters == "drop":
        m = m[torch.bincount(c, minlength=k) > 0]
    mu = F.normalize(m, dim=1)
    sim = (mu @ mu.t()).fill_diagonal_(0.0)
    neg = _log_eps(torch.logsumexp(tau * sim, dim=1), eps)
    return neg.mean() - pos.mean()


class _MaskedCosineLSE(torch.autograd.Function):
    r"""Row log-sum-exp of :math:`\tau \tilde{S}` with :math:`\tilde{S} = U
    U^\top` off the diagonal and 0 on it, for row-normalised :math:`U`
    ``[N, d]``, in row blocks. The forward and the backward pass each hold
    one ``[B, N]`` block at a time (the backward recomputes it), so memory is
    :math:`O(N B)`.
    """

    @staticmethod
    def forward(ctx, u, tau, block):
        n = u.size(0)
        lse = u.new_empty(n)
        for s in range(0, n, block):
            e = min(s + block, n)
            idx = torch.arange(e - s, device=u.device)
            blk = (u[s:e] @ u.t()).mul_(tau)
            blk[idx, idx + s] = 0.0
            lse[s:e] = torch.logsumexp(blk, dim=1)
        ctx.save_for_backward(u, lse)
        ctx.cfg = (tau, block)
        return lse

    @staticmethod
    def backward(ctx, g):
        u, lse = ctx.saved_tensors
        tau, block = ctx.cfg
        n = u.size(0)
        du = torch.zeros_like(u)
        g = g.contiguous()
        for s in range(0, n, block):
            e = min(s + block, n)
            idx = torch.arange(e - s, device=u.device)
            blk = (u[s:e] @ u.t()).mul_(tau)
            blk[idx, idx + s] = 0.0
            # d lse_i / d S_ij = tau softmax_ij, except the constant diagonal.
            p = torch.exp(blk.sub_(lse[s:e, None])).mul_(g[s:e, None] * tau)
            p[idx, idx + s] = 0.0
            du[s:e] += p @ u
            du += p.t() @ u[s:e]
        return du, None, None


def ncontrast_loss(
    z: Tensor,
    gamma_index: Tensor,
    gamma_value: Tensor,
    tau: float = 1.0,
    block_size: Optional[int] = None,
    eps: float = 1e-8,
) -> Tensor:
    r"""Ncontrast, the neighbourhood contrast of Graph-MLP, SCGC and SCGC*.

    From `"Graph-MLP: Node Classification without Message Passing in Graph"
    <https://arxiv.org/abs/2106.04051>`_ (Hu et al., 2021), with the
    influence matrix of `"SCGC: Self-Supervised Contrastive Graph
    Clustering" <https://arxiv.org/abs/2204.12656>`_ (Kulatilleke et al.,
    2022), as defined in ``gayanku/SCGC``'s ``train.py`` (``Ncontrast``;
    ``gayanku/PAMC`` calls it without defining it). With :math:`\tilde{s}`
    the cosine similarity, 0 on the diagonal:

    .. math::
        \mathcal{L}_{\text{N}} = -\frac{1}{N} \sum_{i=1}^{N} \log \Big(
        \frac{\sum_{j} \Gamma_{ij}\, e^{\tau \tilde{s}(z_i, z_j)}}
        {\sum_{j=1}^{N} e^{\tau \tilde{s}(z_i, z_j)}} + \epsilon \Big).

    The denominator runs over all :math:`N` nodes, :math:`j = i` included
    (it adds :math:`e^0 = 1`): this is the :math:`O(N^2 d)` node-level
    contrast that :func:`pamc_loss` approximates with meta-nodes. The
    official code builds the dense :math:`N \times N` cosine matrix and a
    dense :math:`\Gamma`; here the positives run over the non-zeros of
    :math:`\Gamma` and the denominator is a stable log-sum-exp over blocks
    of rows, with a custom backward that recomputes the blocks, so memory is
    :math:`O(N \cdot \text{block})`. The official :math:`\epsilon = 10^{-8}`
    is added to the ratio inside the logarithm.

    Args:
        z (torch.Tensor): Node embeddings ``[N, d]``.
        gamma_index (torch.Tensor): Non-zeros of :math:`\Gamma`, ``[2, nnz]``,
            anchor :math:`i` first (:func:`influence_matrix`).
        gamma_value (torch.Tensor): Their values, ``[nnz]``.
        tau (float, optional): :math:`\tau`, multiplying the cosine.
            (default: :obj:`1.0`)
        block_size (int, optional): Rows per block of the cosine matrix.
            (default: :obj:`None`, 256 rows)
        eps (float, optional): :math:`\epsilon` added to the ratio; 0 gives
            the plain log-ratio. (default: :obj:`1e-8`)

    Returns:
        torch.Tensor: The scalar loss.
    """
    _check_gamma(z, gamma_index, gamma_value)
    _check_tau(tau)
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    n = z.size(0)
    block = block_size or max(1, min(n, _DEFAULT_BLOCK))
    if block < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    u = F.normalize(z, dim=1)
    log_ratio = (_log_positive(u, gamma_index.long(), gamma_value, tau)
                 - _MaskedCosineLSE.apply(u, float(tau), int(block)))
    return -_log_eps(log_ratio, eps).mean()


class PamCLoss(torch.nn.Module):
    r"""Module form of :func:`pamc_loss` (PamC's meta-node block contrast).

    Args:
        tau (float, optional): :math:`\tau`, multiplying the cosine.
            (default: :obj:`0.5`)
        eps (float, optional): :math:`\epsilon` inside the logarithms.
            (default: :obj:`1e-10`)
        empty_clusters (str, optional): ``"official"``, ``"keep"`` or
            ``"drop"`` (see :func:`pamc_loss`). (default: :obj:`"official"`)
    """

    def __init__(self, tau: float = 0.5, eps: float = 1e-10,
                 empty_clusters: str = "official"):
        super().__init__()
        _check_tau(tau)
        if empty_clusters not in _EMPTY_CLUSTERS:
            raise ValueError(f"empty_clusters must be one of {_EMPTY_CLUSTERS}, "
                             f"got {empty_clusters!r}")
        self.tau = tau
        self.eps = eps
        self.empty_clusters = empty_clusters

    def forward(self, z: Tensor, gamma_index: Tensor, gamma_value: Tensor,
                assignment: Tensor, num_clusters: Optional[int] = None) -> Tensor:
        """Returns the PamC loss of ``z`` (see :func:`pamc_loss`)."""
        return pamc_loss(z, gamma_index, gamma_value, assignment, num_clusters,
                         self.tau, self.eps, self.empty_clusters)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(tau={self.tau}, "
                f"empty_clusters={self.empty_clusters!r})")


class NContrastLoss(torch.nn.Module):
    r"""Module form of :func:`ncontrast_loss` (Graph-MLP/SCGC's Ncontrast).

    Args:
        tau (float, optional): :math:`\tau`, multiplying the cosine.
            (default: :obj:`1.0`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
        eps (float, optional): :math:`\epsilon` added to the ratio.
            (default: :obj:`1e-8`)
    """

    def __init__(self, tau: float = 1.0, block_size: Optional[int] = None,
                 eps: float = 1e-8):
        super().__init__()
        _check_tau(tau)
        self.tau = tau
        self.block_size = block_size
        self.eps = eps

    def forward(self, z: Tensor, gamma_index: Tensor,
                gamma_value: Tensor) -> Tensor:
        """Returns the Ncontrast loss of ``z`` (see :func:`ncontrast_loss`)."""
        return ncontrast_loss(z, gamma_index, gamma_value, self.tau,
                              self.block_size, self.eps)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(tau={self.tau})"
