r"""Node centralities and GCA's adaptive drop weights.

From `"Graph Contrastive Learning with Adaptive Augmentation"
<https://arxiv.org/abs/2010.14945>`_ (GCA, Zhu et al., WWW 2021), whose
augmentation gCooL and POT-GCA reuse. Everything follows the official code
(``CRIPAC-DIG/GCA`` ``pGRACE/functional.py`` and ``pGRACE/utils.py``, copied
unchanged into ``lblaoke/gCooL``): an edge is dropped more often when its
*target* node is less central, a feature column more often when it occurs on
less central nodes.

All functions are vectorised (scatter / sparse products); the eigenvector
centrality calls SciPy's ARPACK once.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import scatter, to_undirected

__all__ = [
    "CENTRALITIES",
    "degree_centrality",
    "drop_probabilities",
    "edge_drop_weights",
    "eigenvector_centrality",
    "feature_drop_weights",
    "node_centrality",
    "pagerank_centrality",
]

#: Centrality names of the GCA code (``--drop_scheme``) and their aliases.
CENTRALITIES = {"degree": "degree", "pr": "pr", "pagerank": "pr",
                "evc": "evc", "eigenvector": "evc"}


def _check_edge_index(edge_index: Tensor, num_nodes: int) -> None:
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got "
                         f"{tuple(edge_index.shape)}")
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be positive, got {num_nodes}")
    if edge_index.numel() and (int(edge_index.min()) < 0
                               or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index refers to nodes outside 0..{num_nodes - 1}")


def _resolve(centrality: str) -> str:
    key = str(centrality).lower()
    if key not in CENTRALITIES:
        raise ValueError(f"unknown centrality {centrality!r}; known: "
                         f"{', '.join(CENTRALITIES)}")
    return CENTRALITIES[key]


def degree_centrality(edge_index: Tensor, num_nodes: int) -> Tensor:
    r"""Degree in the undirected, de-duplicated graph (GCA's ``degree``).

    :math:`\varphi_i = |\{j : (j, i) \in E \cup E^\top\}|`, i.e. PyG's
    ``degree(to_undirected(edge_index)[1])``. A self-loop counts once.

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]``.
        num_nodes (int): Number of nodes :math:`N`.

    Returns:
        torch.Tensor: Float degrees ``[N]`` (0 for isolated nodes).
    """
    _check_edge_index(edge_index, num_nodes)
    und = to_undirected(edge_index, num_nodes=num_nodes)
    return torch.bincount(und[1], minlength=num_nodes).to(torch.float32)


def pagerank_centrality(edge_index: Tensor, num_nodes: int,
                        damping: float = 0.85, iterations: int = 10) -> Tensor:
    r"""GCA's PageRank iteration (``compute_pr``), unnormalised.

    Starting from :math:`x^{(0)} = \mathbf{1}`, for ``iterations`` steps:

    .. math::
        x^{(t+1)}_i = (1 - d)\, x^{(t)}_i + d \sum_{(j, i) \in E}
        \frac{x^{(t)}_j}{d^{\text{out}}_j}

    Note the :math:`(1 - d) x^{(t)}_i` term (not :math:`(1 - d)/N`): this is
    the official code's variant, kept exactly. Every value stays positive.
    Duplicate edges count as often as they appear. The official code uses
    200 iterations for the edge weights and the default 10 for the feature
    weights.

    Args:
        edge_index (torch.Tensor): Directed edges ``[2, E]`` (source, target).
        num_nodes (int): Number of nodes :math:`N`.
        damping (float, optional): Damping :math:`d`. (default: :obj:`0.85`)
        iterations (int, optional): Power iterations. (default: :obj:`10`)

    Returns:
        torch.Tensor: Scores ``[N]``.
    """
    _check_edge_index(edge_index, num_nodes)
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    src, dst = edge_index
    deg_out = torch.bincount(src, minlength=num_nodes).to(torch.float32)
    inv = 1.0 / deg_out[src]  # every source has out-degree >= 1
    x = torch.ones(num_nodes, device=edge_index.device)
    for _ in range(iterations):  # loop over iterations, not nodes
        agg = scatter(x[src] * inv, dst, 0, dim_size=num_nodes, reduce="sum")
        x = (1 - damping) * x + damping * agg
    return x


def eigenvector_centrality(edge_index: Tensor, num_nodes: int) -> Tensor:
    r"""Eigenvector centrality (GCA's ``evc``, networkx's
    ``eigenvector_centrality_numpy`` on ``to_networkx(data)``).

    The principal eigenvector of :math:`A^\top`, with :math:`A_{ij} = 1` for
    every distinct directed edge :math:`i \to j` (duplicates merged, as in a
    networkx ``DiGraph``), scaled to unit Euclidean norm with a positive sum.
    Computed with SciPy's ARPACK from a fixed start vector, so repeatable
    (``eigsh`` when :math:`A` is symmetric). On a disconnected graph the
    vector lives on the component(s) with the largest spectral radius and is
    (numerically) zero elsewhere; current networkx refuses such graphs, the
    networkx 2.x that GCA and gCooL ran with returned this vector.

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]``.
        num_nodes (int): Number of nodes :math:`N`.

    Returns:
        torch.Tensor: Centralities ``[N]`` (float32, on ``edge_index``'s
        device).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigs, eigsh

    _check_edge_index(edge_index, num_nodes)
    device = edge_index.device
    if edge_index.size(1) == 0:  # no edges: every node equally central
        return torch.full((num_nodes,), num_nodes ** -0.5, device=device)
    ei = edge_index.cpu().numpy()
    a = sp.coo_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])),
                      shape=(num_nodes, num_nodes)).tocsr()
    a.data[:] = 1.0  # merge duplicates
    m = a.T.tocsr()
    v0 = np.full(num_nodes, num_nodes ** -0.5)
    if num_nodes < 3:  # ARPACK needs k < N - 1
        vals, vecs = np.linalg.eig(m.toarray())
        vec = vecs[:, int(np.argmax(vals.real))].real
    elif (a != a.T).nnz == 0:
        _, vecs = eigsh(m, k=1, which="LA", v0=v0)
        vec = vecs[:, 0]
    else:
        _, vecs = eigs(m, k=1, which="LR", v0=v0)
        vec = vecs[:, 0].real
    norm = np.sign(vec.sum()) * np.linalg.norm(vec)
    vec = vec / (norm if norm != 0 else 1.0)
    return torch.as_tensor(vec, dtype=torch.float32, device=device)


def node_centrality(edge_index: Tensor, num_nodes: int, centrality: str = "degree",
                    pagerank_iterations: int = 10) -> Tensor:
    """Dispatches to :func:`degree_centrality` (``"degree"``),
    :func:`pagerank_centrality` (``"pr"``/``"pagerank"``) or
    :func:`eigenvector_centrality` (``"evc"``/``"eigenvector"``).
    """
    kind = _resolve(centrality)
    if kind == "degree":
        return degree_centrality(edge_index, num_nodes)
    if kind == "pr":
        return pagerank_centrality(edge_index, num_nodes,
                                   iterations=pagerank_iterations)
    return eigenvector_centrality(edge_index, num_nodes)


def _scaled(s: Tensor) -> Tensor:
    r""":math:`(s_{\max} - s) / (s_{\max} - \bar{s})`; all ones when every
    :math:`s` is equal (the official code would divide 0 by 0).
    """
    if s.numel() == 0:
        return s
    smax, smean = s.max(), s.mean()
    if not bool(smax > smean):
        return torch.ones_like(s)
    return (smax - s) / (smax - smean)


def edge_drop_weights(edge_index: Tensor, num_nodes: int,
                      centrality: str = "degree",
                      pagerank_iterations: int = 200) -> Tensor:
    r"""GCA's edge drop weights (``degree_drop_weights``, ``pr_drop_weights``
    with ``aggr='sink'``, ``evc_drop_weights``).

    With :math:`\varphi` the node centrality and
    :math:`s_e = \log \varphi_{\text{target}(e)}` for every directed entry
    :math:`e` of ``edge_index``:

    .. math::
        w_e = \frac{s_{\max} - s_e}{s_{\max} - \bar{s}}.

    The eigenvector centrality is clamped to :math:`\max(\varphi, 0) +
    10^{-8}` first (as in the official code). If every :math:`s_e` is equal
    the weights are all 1 (the official code would produce NaN). The drop
    probability of edge :math:`e` is then
    :math:`\min(w_e / \bar{w} \cdot p, \text{threshold})`
    (:class:`~gcl.augment.AdaptiveEdgeDrop`).

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]``.
        num_nodes (int): Number of nodes :math:`N`.
        centrality (str, optional): ``"degree"``, ``"pr"`` or ``"evc"``.
            (default: :obj:`"degree"`)
        pagerank_iterations (int, optional): PageRank iterations for
            ``"pr"``; the official code uses 200 here. (default: :obj:`200`)

    Returns:
        torch.Tensor: Weights ``[E]``, aligned with ``edge_index``.
    """
    kind = _resolve(centrality)
    phi = node_centrality(edge_index, num_nodes, kind, pagerank_iterations)
    if kind == "evc":
        phi = phi.clamp(min=0) + 1e-8
    return _scaled(torch.log(phi[edge_index[1]].to(torch.float32)))


def feature_drop_weights(x: Tensor, node_centrality: Tensor,
                         weighting: str = "binary") -> Tensor:
    r"""GCA's feature drop weights (``feature_drop_weights`` and
    ``feature_drop_weights_dense``).

    .. math::
        w_f = \log \sum_i b(x_{if})\, \varphi_i, \qquad
        s_f = \frac{w_{\max} - w_f}{w_{\max} - \bar{w}},

    with :math:`b(x) = \mathbb{1}[x \neq 0]` (``"binary"``, the official
    choice for bag-of-words sets) or :math:`b(x) = |x|` (``"abs"``, the
    official choice for WikiCS's dense GloVe features). A column whose sum is
    not positive (it occurs on no node of positive centrality) would make the
    official code produce NaN; here it gets :math:`s_f = +\infty`, i.e. the
    capped drop probability, and is left out of :math:`w_{\max}` and
    :math:`\bar{w}`.

    Args:
        x (torch.Tensor): Features ``[N, F]``, dense or sparse COO.
        node_centrality (torch.Tensor): :math:`\varphi`, ``[N]``.
        weighting (str, optional): ``"binary"`` or ``"abs"``.
            (default: :obj:`"binary"`)

    Returns:
        torch.Tensor: Weights ``[F]`` (may contain ``inf``).
    """
    if weighting not in ("binary", "abs"):
        raise ValueError(f"weighting must be 'binary' or 'abs', got {weighting!r}")
    if x.dim() != 2 or node_centrality.shape != (x.size(0),):
        raise ValueError(f"need x [N, F] and a centrality [N], got "
                         f"{tuple(x.shape)} and {tuple(node_centrality.shape)}")
    phi = node_centrality.to(torch.float32)
    if x.is_sparse:
        x = x.coalesce()
        row, col = x.indices()
        vals = x.values()
        b = ((vals != 0).to(torch.float32) if weighting == "binary"
             else vals.abs().float())
        total = scatter(b * phi[row], col, 0, dim_size=x.size(1), reduce="sum")
    else:
        b = (x != 0).to(torch.float32) if weighting == "binary" else x.abs().float()
        total = b.t() @ phi
    ok = total > 0
    w = torch.log(total.clamp(min=torch.finfo(total.dtype).tiny))
    out = torch.full_like(w, float("inf"))
    if bool(ok.any()):
        out[ok] = _scaled(w[ok])
    return out


def drop_probabilities(weights: Tensor, p: float, threshold: float) -> Tensor:
    r""":math:`\min(w / \bar{w} \cdot p, \text{threshold})`, the mean taken
    over the finite weights; infinite weights get ``threshold``.
    """
    finite = torch.isfinite(weights)
    if weights.numel() == 0 or not bool(finite.any()):
        return torch.full_like(weights, float(threshold))
    mean = weights[finite].mean()
    prob = weights / mean * p if bool(mean > 0) else torch.full_like(weights, p)
    prob = torch.where(finite, prob, torch.full_like(prob, float("inf")))
    return prob.clamp(max=float(threshold))
