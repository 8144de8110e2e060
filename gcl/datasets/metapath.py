r"""Meta-path machinery on heterogeneous graphs.

The parts that heterogeneous contrastive methods (HeCo, MEOW, AdaMEOW) build
their views from, on PyG :class:`~torch_geometric.data.HeteroData` and plain
``edge_index`` tensors, all sparse and vectorised:

- :func:`add_metapaths`: meta-path graphs with **path counts**
  :math:`A^{\mathcal{P}} = A_{t_1 t_2} A_{t_2 t_3} \cdots A_{t_{l-1} t_l}`
  (the number of path instances between two nodes), composed by PyG's
  :class:`~torch_geometric.transforms.AddMetaPaths` and stored under a name of
  your choosing;
- :func:`pathsim` and :func:`pathsim_topk`: PathSim (Sun et al., VLDB 2011)
  and MEOW's per-node top-:math:`k` sparsification of a meta-path graph, with a
  documented deterministic tie rule;
- :func:`heco_positives`: HeCo's positive pairs (the ``pos`` matrix) as index
  pairs;
- :func:`sample_neighbors`: HeCo's network-schema neighbour sampling.

**Ranking rule** shared by :func:`pathsim_topk` and :func:`heco_positives`:
in every row the candidates are ordered by score (descending), ties are broken
by putting the node itself first, then by column index (ascending for
``ties="low"``, descending for ``ties="high"``), and the first :math:`k` are
kept. The official codes use ``np.argsort`` (an unstable quicksort), whose
order among equal scores depends on the numpy version and CPU; this rule makes
the selection reproducible and differs from theirs only among tied candidates.
:func:`pathsim_topk` also offers ``ties="numpy"``, the official selection
itself as the authors' numpy made it, on every CPU (see there: on ACM it
changes MEOW's results by several points).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.utils import coalesce

__all__ = [
    "add_metapaths",
    "heco_positives",
    "pathsim",
    "pathsim_topk",
    "sample_neighbors",
]

_TIES = ("low", "high")
_TOPK_TIES = ("low", "high", "numpy")
#: Elements of one dense block of rows for ``pathsim_topk(ties="numpy")``
#: (long double: 128 MiB).
_NUMPY_BLOCK = 1 << 23
_SCORES = ("count", "normalized")


# --------------------------------------------------------------------------- #
# checks and helpers
# --------------------------------------------------------------------------- #


def _check_edge_index(edge_index: Tensor, num_nodes: int | tuple[int, int],
                      name: str = "edge_index") -> Tensor:
    if not isinstance(edge_index, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got "
                         f"{type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{name} must have shape [2, E], got "
                         f"{tuple(edge_index.shape)}")
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer node indices, got "
                         f"{edge_index.dtype}")
    n_src, n_dst = (num_nodes, num_nodes) if isinstance(num_nodes, int) \
        else num_nodes
    if n_src < 0 or n_dst < 0:
        raise ValueError(f"num_nodes must be non-negative, got {num_nodes}")
    edge_index = edge_index.long()
    if edge_index.numel() > 0:
        if int(edge_index.min()) < 0:
            raise ValueError(f"{name} has negative node indices")
        if int(edge_index[0].max()) >= n_src or int(edge_index[1].max()) >= n_dst:
            raise ValueError(
                f"{name} refers to node {int(edge_index[0].max())} (source) / "
                f"{int(edge_index[1].max())} (target), outside the "
                f"{n_src} x {n_dst} nodes")
    return edge_index


def _check_k(k: int, name: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}")
    return k


def _prepare(edge_index: Tensor, num_nodes: int | None) -> tuple[Tensor, int]:
    """Checks a square graph's ``edge_index``; infers ``num_nodes`` if needed."""
    if num_nodes is None:
        if not isinstance(edge_index, Tensor) or edge_index.dim() != 2:
            raise ValueError("edge_index must be a [2, E] tensor")
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int):
        raise ValueError(f"num_nodes must be an int, got {num_nodes!r}")
    return _check_edge_index(edge_index, num_nodes), num_nodes


def _rank_in_rows(row: Tensor, score: Tensor, col: Tensor, num_nodes: int,
                  k: int, ties: str) -> Tensor:
    """Positions (into the inputs) of the first ``k`` entries of each row.

    The entries must be sorted by ``(row, col)`` without repeats (as
    :func:`~torch_geometric.utils.coalesce` leaves them). Order within a
    row: the diagonal first, then ``score`` descending, then ``col``
    ascending (``ties="low"``) or descending (``"high"``). Returned sorted by
    row, then by that order.
    """
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {_TIES}, got {ties!r}")
    e = row.numel()
    score = torch.where(row == col, torch.full_like(score, float("inf")), score)
    # Two stable sorts on top of the (row, col) order: a lexicographic sort.
    perm = torch.arange(e, device=row.device)
    if ties == "high":
        perm = perm.flip(0)
    perm = perm[torch.argsort(-score[perm], stable=True)]
    perm = perm[torch.argsort(row[perm], stable=True)]
    counts = torch.bincount(row, minlength=num_nodes)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(e, device=row.device) - start[row[perm]]
    return perm[rank < k]


def _is_coalesced(edge_index: Tensor, num_nodes: int) -> bool:
    key = edge_index[0] * max(num_nodes, 1) + edge_index[1]
    return bool((key[1:] > key[:-1]).all())


# --------------------------------------------------------------------------- #
# meta-path composition
# --------------------------------------------------------------------------- #


def add_metapaths(
    data: HeteroData,
    metapaths: Mapping[str, Sequence[tuple[str, ...]]],
    weighted: bool = True,
) -> HeteroData:
    r"""Adds meta-path graphs with path counts to a heterogeneous graph.

    For a meta-path :math:`\mathcal{P} = t_1 \xrightarrow{r_1} t_2
    \xrightarrow{r_2} \cdots \xrightarrow{r_{l-1}} t_l` the meta-path graph is
    the product of the relation adjacencies,

    .. math::
        A^{\mathcal{P}} = A_{r_1} A_{r_2} \cdots A_{r_{l-1}},

    whose entry :math:`A^{\mathcal{P}}_{ij}` counts the path instances from
    :math:`i` to :math:`j` (a relation's ``edge_weight`` multiplies in where
    present). For a symmetric meta-path such as PAP the diagonal holds the
    paths from a node back to itself (the number of authors of a paper), which
    PathSim needs; HeCo's and MEOW's meta-path files include it too.

    The products are computed by PyG's
    :class:`~torch_geometric.transforms.AddMetaPaths` (``weighted=True``) on
    sparse matrices; the new edge type is ``(t_1, name, t_l)`` with
    ``edge_index`` (coalesced: sorted by source, then target) and
    ``edge_weight`` (float32 path
    counts; exact below :math:`2^{24}`), and ``data.metapath_dict`` maps it to
    its relations (earlier entries are kept).

    Args:
        data (HeteroData): The graph, not modified.
        metapaths (Mapping[str, Sequence[tuple]]): Name -> meta-path, a list of
            edge types (``(src, rel, dst)`` or ``(src, dst)``), e.g.
            ``{"pap": [("paper", "to", "author"), ("author", "to", "paper")]}``.
        weighted (bool, optional): Store the path counts as ``edge_weight``;
            :obj:`False` keeps only the support. (default: :obj:`True`)

    Returns:
        HeteroData: A shallow copy of ``data`` with the meta-path edge types.

    Raises:
        ValueError: For an empty mapping, a name that is already an edge type,
            a meta-path with fewer than two relations, a relation the graph
            does not have, or relations whose node types do not chain.
    """
    if not isinstance(data, HeteroData):
        raise ValueError(f"data must be a HeteroData, got {type(data).__name__}")
    if not isinstance(metapaths, Mapping) or len(metapaths) == 0:
        raise ValueError("metapaths must be a non-empty mapping name -> list of "
                         "edge types")
    from torch_geometric.transforms import AddMetaPaths

    paths = []
    for name, path in metapaths.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"meta-path names must be non-empty strings, got "
                             f"{name!r}")
        path = [tuple(e) for e in path]
        if len(path) < 2:
            raise ValueError(f"meta-path {name!r} needs at least two relations, "
                             f"got {path}")
        canonical = []
        for et in path:
            try:
                et = data._to_canonical(et)
            except (AssertionError, KeyError, TypeError, ValueError):
                et = None
            if et is None or et not in data.edge_types:
                raise ValueError(
                    f"meta-path {name!r}: the graph has no relation "
                    f"{path[len(canonical)]}; its edge types are "
                    f"{data.edge_types}")
            canonical.append(et)
        for a, b in zip(canonical[:-1], canonical[1:]):
            if a[-1] != b[0]:
                raise ValueError(f"meta-path {name!r}: {a} ends at {a[-1]!r} but "
                                 f"{b} starts at {b[0]!r}")
        new = (canonical[0][0], name, canonical[-1][-1])
        if new in data.edge_types:
            raise ValueError(f"edge type {new} already exists; pick another "
                             f"meta-path name")
        paths.append((name, canonical))

    try:  # HeteroData resolves "<key>_dict" attributes by collecting <key>
        old_dict = dict(data.metapath_dict or {})
    except (AttributeError, KeyError):
        old_dict = {}
    with warnings.catch_warnings():
        # torch's beta warnings on sparse CSR tensors built inside PyG.
        warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
        out = AddMetaPaths([p for _, p in paths], weighted=True)(data)
    for j, (name, path) in enumerate(paths):
        tmp = (path[0][0], f"metapath_{j}", path[-1][-1])
        store = out[tmp]
        new = (path[0][0], name, path[-1][-1])
        size = max(out[new[0]].num_nodes, out[new[-1]].num_nodes)
        ei, w = coalesce(store.edge_index, store.edge_weight.to(torch.float32),
                         num_nodes=size, reduce="sum")
        out[new].edge_index = ei
        if weighted:
            out[new].edge_weight = w
        del out[tmp]
        old_dict[new] = path
    out.metapath_dict = old_dict
    return out


# --------------------------------------------------------------------------- #
# PathSim
# --------------------------------------------------------------------------- #


def _diag_and_coalesce(edge_index: Tensor, edge_weight: Tensor | None,
                       num_nodes: int) -> tuple[Tensor, Tensor, Tensor]:
    if edge_weight is None:
        raise ValueError("PathSim needs path counts: pass the meta-path graph's "
                         "edge_weight (see add_metapaths)")
    w = torch.as_tensor(edge_weight)
    if w.dim() != 1 or w.numel() != edge_index.size(1):
        raise ValueError(f"edge_weight must have shape [{edge_index.size(1)}], "
                         f"got {tuple(w.shape)}")
    w = w.to(torch.float64)
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError("edge_weight must hold finite, non-negative path counts")
    if not _is_coalesced(edge_index, num_nodes):
        edge_index, w = coalesce(edge_index, w, num_nodes=num_nodes,
                                 reduce="sum")
    keep = w > 0
    edge_index, w = edge_index[:, keep], w[keep]
    row, col = edge_index
    diag = torch.zeros(num_nodes, dtype=torch.float64, device=w.device)
    loop = row == col
    diag[row[loop]] = w[loop]
    return edge_index, w, diag


def pathsim(
    edge_index: Tensor,
    edge_weight: Tensor,
    num_nodes: int | None = None,
) -> Tensor:
    r"""PathSim of every pair connected by a symmetric meta-path.

    From "PathSim: Meta Path-Based Top-K Similarity Search in Heterogeneous
    Information Networks" (Sun et al., VLDB 2011), with :math:`A` the path
    count matrix of a symmetric meta-path:

    .. math::
        s_{ij} = \frac{2 A_{ij}}{A_{ii} + A_{jj}} \in (0, 1],
        \qquad s_{ii} = 1.

    Args:
        edge_index (torch.Tensor): Meta-path graph ``[2, E]`` including the
            diagonal (:func:`add_metapaths` keeps it).
        edge_weight (torch.Tensor): Path counts ``[E]``.
        num_nodes (int, optional): Number of nodes. (default: inferred)

    Returns:
        torch.Tensor: float64 PathSim ``[E]``, aligned with the input edges
        (duplicates summed first, so a repeated pair gets its total count).

    Raises:
        ValueError: For malformed input, or an edge whose endpoints both lack
            the diagonal count (the graph is not a count matrix
            :math:`M M^\top`).
    """
    edge_index, n = _prepare(edge_index, num_nodes)
    ei, w, diag = _diag_and_coalesce(edge_index, edge_weight, n)
    sim = _sim(ei, w, diag)
    # Map back to the input order (duplicates share their pair's value).
    key = ei[0] * max(n, 1) + ei[1]
    pos = torch.searchsorted(key, edge_index[0] * max(n, 1) + edge_index[1])
    pos = pos.clamp_max(max(key.numel() - 1, 0))
    out = torch.zeros(edge_index.size(1), dtype=torch.float64, device=w.device)
    if key.numel():
        hit = key[pos] == edge_index[0] * max(n, 1) + edge_index[1]
        out[hit] = sim[pos[hit]]
    return out


def _sim(ei: Tensor, w: Tensor, diag: Tensor) -> Tensor:
    den = diag[ei[0]] + diag[ei[1]]
    if (den == 0).any():
        bad = ei[:, den == 0][:, 0].tolist()
        raise ValueError(
            f"PathSim needs the diagonal path counts A_ii, but nodes {bad} have "
            f"none; build the graph with add_metapaths (which keeps the "
            f"diagonal), not with self-loops removed")
    return 2.0 * w / den


def pathsim_topk(
    edge_index: Tensor,
    edge_weight: Tensor,
    k: int,
    num_nodes: int | None = None,
    ties: str = "low",
) -> tuple[Tensor, Tensor]:
    r"""Keeps each node's :math:`k` most PathSim-similar meta-path neighbours.

    MEOW's sparsification ("Heterogeneous Graph Contrastive Learning with
    Meta-path Contexts and Adaptively Weighted Negative Samples", Yu et al.,
    SDM 2023 / TKDE 2024, official ``code_meow/module/preprocess.py``,
    ``pathsim``): for every node :math:`i` the neighbours :math:`j` of the
    meta-path graph are ranked by :math:`s_{ij}` (:func:`pathsim`) and the
    first :math:`k` (the ``nei_max`` setting) are kept, **with their original
    path counts** :math:`A_{ij}` as weights. Rows with fewer than :math:`k`
    neighbours keep them all. The selection is row-wise, so the result is in
    general not symmetric; the node itself (:math:`s_{ii} = 1`, the maximum)
    ranks first.

    Ties follow the module's ranking rule: the node itself first, then column
    index ascending (``"low"``) or descending (``"high"``; what reversing a
    *stable* ascending sort gives, the intent of MEOW's
    ``np.argsort(...)[:, ::-1]``, whose quicksort is unstable). On data sets
    where PathSim ties a lot (HeCo's binary ACM PSP is all ones), the official
    selection depends on the numpy version; this one does not.

    ``ties="numpy"`` is the official selection itself, as the authors'
    environment (numpy 1.23.5) made it: each row of PathSim values, dense
    with 0 off the graph, is sorted by ``np.argsort`` (numpy's default,
    unstable quicksort), reversed, and its first :math:`k` columns with a
    non-zero count are kept; the node itself has no priority. The order
    among equal scores is that of numpy's portable introsort, which numpy
    before 1.25 runs on every CPU. Numpy 1.25 and later dispatch
    ``argsort`` of float64 to SIMD sorts (AVX2, AVX-512) that order ties
    differently, so the official code's graph depends on the machine it
    runs on: on ACM's PSP (:math:`k = 700`) an AVX-512 machine keeps
    26,082 entries differently from the portable sort and an AVX2 machine
    2.6 million of 2.1 million (a different graph: of the 700 papers kept
    for the largest subject, 691 are of class 0 with the portable sort, 693
    with AVX-512, 177 with AVX2). Here the rows are sorted as ``long
    double``, for which numpy has no SIMD sort, and the portable introsort
    orders them as it would float64: the same graph on every machine and
    numpy version (``benchmarks/notes/meow.md``, "The tie order depends on
    the CPU"). It matters on ACM: every paper of one subject has the same
    all-ones PSP row, so all of them keep the *same* 700 papers (1841 and
    811 papers share the two largest subjects), and the papers outside
    those 700 keep no other paper, not even themselves (1252 of 4019).
    The portable sort happens to pick a run of node indices in the middle
    of the row, and ACM's papers are numbered roughly by class, so the
    PSP view marks those papers (``"low"`` keeps 385 and 315 papers of two
    classes), and MEOW's accuracy rises by several points. Computed in
    blocks of rows (dense ``[block, N]`` long double, about 128 MiB), so it
    costs :math:`O(N^2 \log N)` time: meant for the official data sets'
    few thousand nodes.

    Args:
        edge_index (torch.Tensor): Meta-path graph ``[2, E]`` with its
            diagonal.
        edge_weight (torch.Tensor): Path counts ``[E]``.
        k (int): Neighbours kept per node (counting the node itself).
        num_nodes (int, optional): Number of nodes. (default: inferred)
        ties (str, optional): ``"low"``, ``"high"`` or ``"numpy"``, see
            above. (default: ``"low"``)

    Returns:
        tuple[Tensor, Tensor]: ``edge_index`` ``[2, E_k]`` (sorted by source
        node, then by rank; with ``"numpy"`` by source node, then by column,
        as the official ``np.sort``) and its path counts ``[E_k]`` (float64).

    Raises:
        ValueError: For malformed input, ``k < 1``, an unknown ``ties`` or a
            graph without the diagonal counts.
    """
    k = _check_k(k, "k")
    if ties not in _TOPK_TIES:
        raise ValueError(f"ties must be one of {_TOPK_TIES}, got {ties!r}")
    edge_index, n = _prepare(edge_index, num_nodes)
    ei, w, diag = _diag_and_coalesce(edge_index, edge_weight, n)
    sim = _sim(ei, w, diag)
    if ties == "numpy":
        keep = _numpy_topk(ei, sim, n, k)
    else:
        keep = _rank_in_rows(ei[0], sim, ei[1], n, k, ties)
    return ei[:, keep], w[keep]


def _numpy_topk(ei: Tensor, sim: Tensor, num_nodes: int, k: int,
                sort_dtype: Any = None) -> Tensor:
    """Positions (into the coalesced ``ei``) of the entries MEOW's official
    ``pathsim`` keeps: ``np.argsort(row)[::-1][:k]`` of every dense row of
    PathSim values, row blocks at a time (rows are sorted in ``ei``), in
    numpy's portable introsort order (rows as ``long double``, which no SIMD
    sort takes: the same order on every CPU, see :func:`pathsim_topk`).
    ``sort_dtype=np.float64`` sorts as the official code does on this numpy
    and CPU (``benchmarks/diagnostics/pathsim_ties_cpu.py`` compares them).
    """
    import numpy as np

    sort_dtype = np.longdouble if sort_dtype is None else sort_dtype

    row, col = (t.cpu().numpy() for t in ei)
    val = sim.cpu().numpy().astype(np.float64)
    start = np.searchsorted(row, np.arange(num_nodes + 1))
    block = max(1, _NUMPY_BLOCK // max(num_nodes, 1))
    keep = np.zeros(val.size, dtype=bool)
    for r0 in range(0, num_nodes, block):
        r1 = min(num_nodes, r0 + block)
        e0, e1 = start[r0], start[r1]
        if e0 == e1:
            continue
        local = row[e0:e1] - r0
        dense = np.zeros((r1 - r0, num_nodes), dtype=sort_dtype)
        dense[local, col[e0:e1]] = val[e0:e1]
        top = np.argsort(dense, axis=1)[:, ::-1][:, :k]
        chosen = np.zeros(dense.shape, dtype=bool)
        chosen[np.arange(r1 - r0)[:, None], top] = True
        keep[e0:e1] = chosen[local, col[e0:e1]]
    return torch.from_numpy(np.flatnonzero(keep)).to(ei.device)


# --------------------------------------------------------------------------- #
# HeCo's positives
# --------------------------------------------------------------------------- #


def heco_positives(
    metapath_graphs: Sequence[Tensor],
    num_nodes: int,
    pos_num: int,
    score: str = "count",
    ties: str = "low",
) -> Tensor:
    r"""HeCo's positive pairs: each node's most meta-path-connected nodes.

    From "Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" (Wang et al., KDD 2021,
    https://arxiv.org/abs/2105.09111), Sec. 4.4: with :math:`M` meta-paths
    over the target nodes,

    .. math::
        \mathbb{C}_i(j) = \sum_{m=1}^{M} \mathbb{1}\big(j \in
        \mathcal{N}_i^{\mathcal{P}_m}\big),

    the nodes :math:`j` with :math:`\mathbb{C}_i(j) > 0` are ranked by
    :math:`\mathbb{C}_i(j)` and the first ``pos_num`` (:math:`T_{pos}`) are
    the positives of :math:`i` (all of them where there are fewer). The
    official ``data/pos.py`` builds the shipped ``pos.npz`` from the
    meta-path files, which include the diagonal, so a node is its own
    positive.

    - ``score="count"``: :math:`\mathbb{C}_i(j)` as above (the paper). It
      reproduces the shipped ``pos.npz`` of ACM, DBLP, AMiner and Freebase up
      to the order among tied candidates (checked in the tests).
    - ``score="normalized"``: :math:`\sum_m A^m_{ij} / \sum_l A^m_{il}` with
      binary :math:`A^m`, what ``pos.py`` computes for ACM (each meta-path's
      row normalised). It reproduces ACM and DBLP up to ties, but not AMiner
      or Freebase, whose files were evidently made with counts.

    Ranking follows the module's rule, with the node itself always first (a
    positive of itself even where the graphs lack the diagonal, or where more
    than ``pos_num`` nodes tie with it: the official ``np.argsort`` dropped it
    from 923 of ACM's 4019 rows that way), then score descending, then column
    index.

    Args:
        metapath_graphs (Sequence[torch.Tensor]): The ``edge_index`` ``[2, E_m]``
            of each meta-path graph over the same ``num_nodes`` target nodes
            (weights are ignored: only whether a meta-path connects two nodes
            counts).
        num_nodes (int): Number of target nodes.
        pos_num (int): Positives per node :math:`T_{pos}` (HeCo: ACM 5, DBLP
            1000, AMiner 15, Freebase 80).
        score (str, optional): ``"count"`` or ``"normalized"``, see above.
            (default: ``"count"``)
        ties (str, optional): ``"low"`` or ``"high"`` column index first
            among equal scores. (default: ``"low"``)

    Returns:
        torch.Tensor: Positive pairs ``[2, P]``: row 0 the anchor :math:`i`,
        row 1 its positive :math:`j`, grouped by anchor (ascending) in rank
        order, so each anchor's first pair is :math:`(i, i)`.

    Raises:
        ValueError: For no graphs, malformed ``edge_index``, ``pos_num < 1``
            or an unknown ``score`` / ``ties``.
    """
    if score not in _SCORES:
        raise ValueError(f"score must be one of {_SCORES}, got {score!r}")
    pos_num = _check_k(pos_num, "pos_num")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or \
            num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive int, got {num_nodes!r}")
    if isinstance(metapath_graphs, Tensor) or len(metapath_graphs) == 0:
        raise ValueError("metapath_graphs must be a non-empty sequence of "
                         "[2, E] edge_index tensors")
    graphs = []
    for m, ei in enumerate(metapath_graphs):
        ei = _check_edge_index(ei, num_nodes, f"metapath_graphs[{m}]")
        if not _is_coalesced(ei, num_nodes):  # binary: one entry per pair
            ei = coalesce(ei, num_nodes=num_nodes)
        graphs.append(ei)
    # Candidates: every pair some meta-path connects, and each node itself.
    nodes = torch.arange(num_nodes, device=graphs[0].device)
    keys = [g[0] * num_nodes + g[1] for g in graphs]
    union = torch.unique(torch.cat(keys + [nodes * (num_nodes + 1)]))
    ei = torch.stack([union // num_nodes, union % num_nodes])
    # Scores summed over the meta-paths in their order, so that pairs joined
    # by the same meta-paths get bit-identical scores (exact ties).
    val = torch.zeros(union.numel(), dtype=torch.float64, device=union.device)
    for g, key in zip(graphs, keys):
        pos = torch.searchsorted(key, union).clamp_max(key.numel() - 1)
        member = (key[pos] == union) if key.numel() else \
            torch.zeros_like(union, dtype=torch.bool)
        if score == "count":
            val += member.to(torch.float64)
        else:
            deg = torch.bincount(g[0], minlength=num_nodes).to(torch.float64)
            val += member.to(torch.float64) / deg.clamp_min(1)[ei[0]]
    keep = _rank_in_rows(ei[0], val, ei[1], num_nodes, pos_num, ties)
    return ei[:, keep]


# --------------------------------------------------------------------------- #
# network-schema neighbour sampling
# --------------------------------------------------------------------------- #


def sample_neighbors(
    edge_index: Tensor,
    num_nodes: int,
    num_samples: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Samples a fixed number of network-schema neighbours per node.

    HeCo's network-schema view (Wang et al., KDD 2021, official
    ``code/module/sc_encoder.py``) aggregates, for each target node and each
    neighbour type, ``sample_rate`` neighbours drawn afresh every epoch:
    **without** replacement where the node has at least that many neighbours,
    **with** replacement where it has fewer. This does the same for all nodes
    at once: random keys sort each node's neighbours into a uniformly random
    order of which the first ``num_samples`` are taken; nodes with fewer
    neighbours draw uniformly with replacement.

    Args:
        edge_index (torch.Tensor): Relation edges ``[2, E]`` from the target
            nodes (row 0, ``0..num_nodes-1``) to their neighbours of one type
            (row 1, any non-negative id), e.g. ``data["paper", "to",
            "author"].edge_index``. Repeated pairs count as repeated entries
            of HeCo's neighbour lists.
        num_nodes (int): Number of target nodes.
        num_samples (int): Neighbours per node (HeCo's ``sample_rate`` for
            this type).
        generator (torch.Generator, optional): Random source (on the device
            of ``edge_index``). (default: torch's global RNG)

    Returns:
        torch.Tensor: Neighbour ids ``[num_nodes, num_samples]`` (long).

    Raises:
        ValueError: For malformed input, ``num_samples < 1``, or target nodes
            without any neighbour (HeCo's sampler cannot draw for them).
    """
    num_samples = _check_k(num_samples, "num_samples")
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or \
            num_nodes < 1:
        raise ValueError(f"num_nodes must be a positive int, got {num_nodes!r}")
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or \
            edge_index.size(0) != 2:
        raise ValueError("edge_index must be a [2, E] tensor")
    n_dst = int(edge_index[1].max()) + 1 if edge_index.numel() else 0
    edge_index = _check_edge_index(edge_index, (num_nodes, n_dst))
    row, col = edge_index
    deg = torch.bincount(row, minlength=num_nodes)
    if bool((deg == 0).any()):
        lonely = torch.nonzero(deg == 0).view(-1)
        raise ValueError(
            f"{lonely.numel()} target nodes have no neighbour of this type "
            f"(first: {lonely[:5].tolist()}); HeCo's sampler needs at least one")
    dev = edge_index.device
    key = torch.rand(row.numel(), generator=generator, device=dev)
    perm = torch.argsort(key)
    perm = perm[torch.argsort(row[perm], stable=True)]
    shuffled = col[perm]  # each node's neighbours in a random order
    start = torch.cumsum(deg, 0) - deg
    offset = torch.arange(num_samples, device=dev).expand(num_nodes, -1)
    draw = torch.rand(num_nodes, num_samples, generator=generator, device=dev)
    with_repl = (draw * deg.unsqueeze(1)).long().clamp_max(
        (deg - 1).unsqueeze(1))
    pos = torch.where((deg >= num_samples).unsqueeze(1), offset, with_repl)
    return shuffled[start.unsqueeze(1) + pos]
