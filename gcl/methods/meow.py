r"""MEOW: a coarse meta-path view against a fine meta-path-context view,
with negatives weighted by repeated clustering.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.nn import HeteroDictLinear
from torch_geometric.utils import coalesce, to_torch_csr_tensor

from gcl._sparse import quiet_sparse
from gcl.datasets import add_metapaths, pathsim_topk
from gcl.losses import kmeans_prototypes, proto_nce, weighted_info_nce
from gcl.methods.hetero_two_view import HeteroTwoViewMethod, node_widths
from gcl.nn import (
    MetaPathGCN,
    SemanticAttention,
    TanhProjection,
    meta_path_adjacency,
    spmm,
)

__all__ = ["MEOW", "MEOWViews"]

Rates = Union[float, Sequence[float]]


def _per_path(value: Union[Rates, Sequence[int]], m: int, name: str) -> list:
    vals = [value] * m if isinstance(value, (int, float)) else list(value)
    if len(vals) != m:
        raise ValueError(f"{name} needs one value or one per meta-path ({m}), "
                         f"got {value}")
    return vals


def _mask_nonzeros(x: Tensor, rate: float) -> Tensor:
    """A copy of ``x`` with ``int(rate * nnz)`` of its non-zero entries set
    to 0, drawn uniformly (MEOW's ``mask_feature``), from torch's RNG.
    """
    if x.is_sparse:
        x = x.coalesce()
        vals = x.values().clone()
        k = int(vals.numel() * rate)
        vals[torch.randperm(vals.numel(), device=vals.device)[:k]] = 0
        return torch.sparse_coo_tensor(x.indices(), vals, x.shape,
                                       is_coalesced=True)
    nz = x.nonzero()
    k = int(nz.size(0) * rate)
    pick = nz[torch.randperm(nz.size(0), device=x.device)[:k]]
    out = x.clone()
    out[pick[:, 0], pick[:, 1]] = 0
    return out


def _mask_edges(edge_index: Tensor, num_nodes: int, rate: float,
                dtype: torch.dtype) -> Tensor:
    """MEOW's ``mask_edges``: drop the diagonal, drop ``int(rate * E)`` of
    the remaining directed entries at random, set the rest to 1, add the
    identity and normalise (:func:`~gcl.nn.meta_path_adjacency`).
    """
    off = edge_index[:, edge_index[0] != edge_index[1]]
    perm = torch.randperm(off.size(1), device=off.device)
    kept = off[:, perm[int(rate * off.size(1)):]]
    loops = torch.arange(num_nodes, device=off.device).expand(2, -1)
    ei = torch.cat([kept, loops], dim=1)
    return meta_path_adjacency(ei, None, num_nodes, dtype=dtype)


def _mean(adjs: Sequence[Tensor]) -> Tensor:
    """The mean of sparse CSR matrices, as a sparse CSR matrix."""
    with quiet_sparse():
        coo = [a.to_sparse_coo() for a in adjs]
        ei = torch.cat([c.indices() for c in coo], dim=1)
        w = torch.cat([c.values() for c in coo]) / len(adjs)
        ei, w = coalesce(ei, w, num_nodes=adjs[0].size(0), reduce="sum")
        return to_torch_csr_tensor(ei, w, size=tuple(adjs[0].shape))


def _row_mean(edge_index: Tensor, num_rows: int, num_cols: int,
              dtype: torch.dtype) -> Tensor:
    """The binary incidence ``edge_index`` with rows divided by their counts
    (clamped at 1), as a sparse CSR ``[num_rows, num_cols]`` matrix:
    ``spmm`` with it averages over each row's distinct neighbours.
    """
    ei = coalesce(edge_index, num_nodes=max(num_rows, num_cols))
    deg = torch.bincount(ei[0], minlength=num_rows).clamp_min(1).to(dtype)
    with quiet_sparse():
        return to_torch_csr_tensor(ei, 1.0 / deg[ei[0]],
                                   size=(num_rows, num_cols))


class MEOWViews(HeteroTwoViewMethod):
    r"""The two views of MEOW and AdaMEOW (shared by :class:`MEOW` and
    :class:`~gcl.methods.AdaMEOW`, which differ only in their objective).

    From `"Heterogeneous Graph Contrastive Learning with Meta-path Contexts
    and Adaptively Weighted Negative Samples"
    <https://arxiv.org/abs/2212.13847>`_ (Yu, Ge, Li and Zhou; MEOW at SDM
    2023, AdaMEOW in TKDE 2024), as coded in ``jianxiangyu/MEOW``
    (``code_meow/module/meow.py``, ``code_adameow/module/adameow.py``).

    **Once** (:meth:`build_graph`): every meta-path graph :math:`A^m` (path
    counts; binarised first with ``binary_metapaths``, MEOW's AMiner) keeps
    each node's ``nei_max[m]`` most PathSim-similar neighbours with their
    counts (:func:`gcl.datasets.pathsim_topk`) and is normalised,
    :math:`\hat{A}^m = D^{-1/2} {A^m}^\top D^{-1/2}`
    (:func:`gcl.nn.meta_path_adjacency`); the coarse graph is
    :math:`\bar{A} = \frac{1}{M}\sum_m \hat{A}^m`. Static masks are drawn
    once from torch's RNG: a copy :math:`\tilde{X}` of the target features
    with a fraction ``feat_mask`` of its non-zeros set to 0, and per
    meta-path a graph :math:`\tilde{A}^m` that keeps :math:`1 -`
    ``adj_mask[m]`` of the off-diagonal entries of the top-:math:`k` graph
    with weight 1, plus the identity, normalised. The **meta-path contexts**
    of a meta-path :math:`t_0 t_1 \cdots t_L` are its prefixes
    :math:`t_0 \to t_k`, :math:`k = 1..L-1` (ACM PAP: P→A; DBLP APCPA: A→P,
    A→P→C, A→P→C→P), as binary incidences (composed with
    :func:`gcl.datasets.add_metapaths`).

    **Each step**: type projections :math:`h = \mathrm{ELU}(\mathrm{Dropout}
    (W_\phi x + b_\phi))`; per meta-path the context embedding
    :math:`h^m_v = \mathrm{ELU}\big(h_v + \sum_k \mathrm{Dropout}(W^{m,k}_{agg}
    \mathrm{mean}_{u \in \mathrm{ctx}_{m,k}(v)} h_u)\big)` and its
    masked-feature twin (:math:`\tilde{X}` for :math:`X`); one shared
    two-layer GCN :math:`f` (:class:`~gcl.nn.MetaPathGCN`) gives

    .. math::
        z^c = f(h, \bar{A}), \qquad
        z^f = \sum_{r=1}^{2M} \beta_r \frac{z^r}{\lVert z^r \rVert}, \quad
        \{z^r\} = \{f(h^m, \hat{A}^m), f(\tilde{h}^m, \tilde{A}^m)\}_m,

    with semantic attention :math:`\beta` (:class:`~gcl.nn.SemanticAttention`,
    attention dropout = ``dropout``) and projections
    :math:`p = \mathrm{normalize}(\tanh(W z + b))` shared by both views
    (:class:`~gcl.nn.TanhProjection`). The evaluated embedding is
    :math:`z^f` of the clean graph in evaluation mode (the official code
    keeps the :math:`z^f` of the last training forward, with dropout on; on
    ACM that scored 0.5 to 3.3 points lower in two runs,
    ``benchmarks/notes/meow.md``).

    **Ties** among equal PathSim values decide the top-:math:`k` graphs
    where a meta-path ties a lot (ACM's PSP: all ones). ``ties="numpy"``
    reproduces the official selection (numpy's unstable ``argsort``) as
    the authors' numpy made it, on every CPU, which
    on ACM keeps for every paper of the largest subject the same 700 papers,
    nearly all of one class, and raises ACM's Macro-F1 by several points;
    the ACM config uses it (:func:`~gcl.datasets.pathsim_topk`). Given the
    same graphs, masks, dropout masks, clusters and initial weights, one
    step of this class equals one step of the official model to 1e-15 in
    float64 (``benchmarks/diagnostics/meow_method_lockstep.py``).

    ``metapath_target_projections`` gives each meta-path its own projection
    of the target features, the coarse input being their mean (the official
    AMiner model, whose paper features are per-meta-path embeddings). The
    projection of meta-path ``m`` reads ``data[target].x_m`` where the graph
    holds it (``load("AMiner-HeCo", features="metapath2vec")``), else
    ``data[target].x``.

    Args:
        in_channels (Mapping[str, int] or int): Feature width per node type
            (``data.num_features``), or one width for all.
        target (str): Target node type.
        metapaths (Mapping[str, Sequence[str]]): Meta-path name -> its node
            types, e.g. ``{"pap": ["paper", "author", "paper"]}``; the graph
            needs ``(target, name, target)`` and the relations along it.
        nei_max (Sequence[int]): PathSim top-:math:`k` per meta-path.
        hidden_channels (int, optional): Projection size. (default: :obj:`64`)
        embed_channels (int, optional): GCN size. (default: :obj:`64`)
        proj_channels (int, optional): Size of :math:`p`. (default:
            ``embed_channels``)
        dropout (float, optional): Dropout everywhere (projections, context
            aggregation, GCN, attention). (default: :obj:`0.2`)
        feat_mask (float, optional): Fraction of masked feature non-zeros.
            (default: :obj:`0.3`)
        adj_mask (float or Sequence[float], optional): Fraction of masked
            edges, one or one per meta-path. (default: :obj:`0.2`)
        binary_metapaths (bool, optional): Use the meta-path graphs' support
            only (weights 1) before PathSim. (default: :obj:`False`)
        metapath_target_projections (bool, optional): See above.
            (default: :obj:`False`)
        mask_dropout (bool, optional): Dropout on the masked-feature
            projection (official ACM, AMiner, IMDB; not DBLP).
            (default: :obj:`True`)
        ties (str, optional): PathSim tie rule of
            :func:`~gcl.datasets.pathsim_topk`: ``"low"``, ``"high"`` or
            ``"numpy"`` (the official selection). (default: :obj:`"low"`)
    """

    def __init__(self, in_channels: Mapping[str, int], target: str,
                 metapaths: Mapping[str, Sequence[str]], nei_max: Sequence[int],
                 hidden_channels: int = 64, embed_channels: int = 64,
                 proj_channels: Optional[int] = None, dropout: float = 0.2,
                 feat_mask: float = 0.3, adj_mask: Rates = 0.2,
                 binary_metapaths: bool = False,
                 metapath_target_projections: bool = False,
                 mask_dropout: bool = True, ties: str = "low"):
        if not isinstance(metapaths, Mapping):
            raise ValueError("metapaths must map each meta-path name to its node "
                             "types, e.g. {'pap': ['paper', 'author', 'paper']}")
        paths = {str(k): [str(t) for t in v] for k, v in metapaths.items()}
        for name, types in paths.items():
            if len(types) < 3 or types[0] != target or types[-1] != target:
                raise ValueError(f"meta-path {name!r} must run from {target!r} to "
                                 f"{target!r} over >= 2 relations, got {types}")
        m = len(paths)
        self.nei_max = [int(k) for k in _per_path(nei_max, m, "nei_max")]
        self.adj_mask = [float(r) for r in _per_path(adj_mask, m, "adj_mask")]
        for r in [feat_mask, dropout, *self.adj_mask]:
            if not 0.0 <= r < 1.0:
                raise ValueError(f"mask and dropout rates must be in [0, 1), "
                                 f"got {r}")
        ctx_types = {t for types in paths.values() for t in types[1:-1]}
        super().__init__(node_widths(in_channels, [target, *sorted(ctx_types)]),
                         target, list(paths))
        self.paths = paths
        self.metapath_target_projections = bool(metapath_target_projections)
        self.binary_metapaths = bool(binary_metapaths)
        self.mask_dropout = bool(mask_dropout)
        self.feat_mask = float(feat_mask)
        self.dropout = float(dropout)
        self.ties = ties
        # Projections: one per node type, or one per meta-path for the target.
        widths = dict(self.in_channels)
        if self.metapath_target_projections:
            f_t = widths.pop(target) if target not in ctx_types else widths[target]
            widths.update({self._tkey(p): f_t for p in paths})
        self.projections = HeteroDictLinear(widths, hidden_channels)
        # One W_agg per (meta-path, context prefix), no bias.
        self.agg = torch.nn.ModuleDict({
            f"{p}_{k}": torch.nn.Linear(hidden_channels, hidden_channels,
                                        bias=False)
            for p, types in paths.items() for k in range(1, len(types) - 1)})
        self.encoder = MetaPathGCN(hidden_channels, embed_channels,
                                   embed_channels, dropout)
        self.attention = SemanticAttention(embed_channels, dropout)
        self.projector = TanhProjection(embed_channels, proj_channels)

    def reset_parameters(self) -> None:
        """Resets all parameters (PyTorch's default initialisation, Xavier
        for the attention, as the official code) and the cached graph.
        """
        super().reset_parameters()
        for lin in self.agg.values():
            lin.reset_parameters()

    def _features(self, data: HeteroData, key: str) -> Tensor:
        """The input of projection ``key``: a node type's ``x``, or for
        ``"<target>__<path>"`` the target's per-meta-path features
        ``x_<path>`` where the graph has them (e.g. metapath2vec's,
        :func:`~gcl.datasets.metapath2vec_features`), else its ``x``.
        """
        ntype, _, path = key.partition("__")
        store = data[ntype]
        x = store.x
        if path and f"x_{path}" in store:
            x = store[f"x_{path}"]
            if x.size(-1) != store.x.size(-1):
                raise ValueError(f"MEOW: {ntype}.x_{path} has {x.size(-1)} "
                                 f"features, {ntype}.x {store.x.size(-1)}; "
                                 f"per-meta-path features must match x's width")
        return x

    def _tkey(self, path: str) -> str:
        """Projection key of the target features for meta-path ``path``."""
        return f"{self.target}__{path}" if self.metapath_target_projections \
            else self.target

    # ------------------------------------------------------------------ #
    # once: PathSim top-k graphs, masks, contexts
    # ------------------------------------------------------------------ #

    def build_graph(self, data: HeteroData) -> dict[str, Any]:
        """PathSim top-:math:`k` graphs (normalised), the coarse mean, the
        static masks and the context incidences, computed once.
        """
        t, n, dtype = self.target, data[self.target].num_nodes, self.dtype
        adjs, masked, contexts = [], [], []
        for name, k, rate in zip(self.metapaths, self.nei_max, self.adj_mask):
            store = data[t, name, t]
            w = store.get("edge_weight")
            if self.binary_metapaths or w is None:
                w = torch.ones(store.edge_index.size(1), device=store.edge_index.device)
            ei, cnt = pathsim_topk(store.edge_index, w, k, n, ties=self.ties)
            adjs.append(meta_path_adjacency(ei, cnt.to(dtype), n, dtype=dtype))
            masked.append(_mask_edges(ei, n, rate, dtype))
            contexts.append(self._contexts(data, name))
        keys = list(dict.fromkeys(self._tkey(p) for p in self.metapaths))
        x_mask = {key: _mask_nonzeros(self._features(data, key), self.feat_mask)
                  for key in keys}
        return {"adjs": adjs, "coarse": _mean(adjs), "masked": masked,
                "contexts": contexts, "x_mask": x_mask}

    def _contexts(self, data: HeteroData, name: str) -> list[Tensor]:
        """Row-mean incidences of the prefixes ``t_0 -> t_k`` of meta-path
        ``name``, ``k = 1..L-1``.
        """
        types = self.paths[name]
        t = self.target
        rels = None
        try:
            rels = data.metapath_dict.get((t, name, t))
        except (AttributeError, KeyError):
            rels = None
        if rels is None:
            rels = [(a, "to", b) for a, b in zip(types[:-1], types[1:])]
        rels = [tuple(r) for r in rels]
        chain = [types[0]] + [r[-1] for r in rels]
        if chain != types:
            raise ValueError(f"MEOW: meta-path {name!r} runs over {chain} in the "
                             f"graph, the model expects {types}")
        n = data[t].num_nodes
        out = []
        for k in range(1, len(types) - 1):
            if k == 1:
                if rels[0] not in data.edge_types:
                    raise ValueError(f"MEOW: the graph has no relation {rels[0]} "
                                     f"of meta-path {name!r}")
                ei = data[rels[0]].edge_index
            else:
                tmp = f"_ctx_{name}_{k}"
                ei = add_metapaths(data, {tmp: rels[:k]}, weighted=False)[
                    types[0], tmp, types[k]].edge_index
            out.append(_row_mean(ei, n, data[types[k]].num_nodes, self.dtype))
        return out

    # ------------------------------------------------------------------ #
    # each step: the coarse and the fine-grained view
    # ------------------------------------------------------------------ #

    def _drop(self, h: Tensor, on: bool = True) -> Tensor:
        return F.dropout(h, self.dropout, self.training and on)

    def _inputs(self, data: HeteroData) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """The coarse input and the per-meta-path context inputs (clean and
        masked-feature twins).
        """
        g = self.graph(data)
        # keys: node types, and "<target>__<path>" for per-path projections
        proj = self.projections({k: self._features(data, k)
                                 for k in self.projections.lins})
        h = {k: F.elu(self._drop(v)) for k, v in proj.items()}
        masked_proj = self.projections(g["x_mask"])
        h_mask = {k: F.elu(self._drop(v, self.mask_dropout))
                  for k, v in masked_proj.items()}
        views, twins = [], []
        for name, ctx in zip(self.metapaths, g["contexts"]):
            key, types = self._tkey(name), self.paths[name]
            means = [spmm(inc, h[types[k]])
                     for k, inc in enumerate(ctx, start=1)]
            views.append(F.elu(h[key] + self._context(name, means)))
            twins.append(F.elu(h_mask[key] + self._context(name, means)))
        coarse = torch.stack([h[self._tkey(p)] for p in self.metapaths]).mean(0) \
            if self.metapath_target_projections else h[self.target]
        return coarse, views, twins

    def _context(self, name: str, means: Sequence[Tensor]) -> Tensor:
        r""":math:`\sum_k \mathrm{Dropout}(W^{m,k}_{agg}\, \mathrm{mean}_{u \in
        \mathrm{ctx}_{m,k}(v)} h_u)` of meta-path ``name`` from the context
        means (a fresh dropout draw on every call, as the official ACM code
        draws one per twin).
        """
        out = 0
        for k, mean in enumerate(means, start=1):
            out = out + self._drop(self.agg[f"{name}_{k}"](mean))
        return out

    def encode_views(self, data: HeteroData) -> tuple[Tensor, Tensor]:
        r"""The coarse view :math:`z^c` and the fused fine view :math:`z^f`."""
        g = self.graph(data)
        coarse, views, twins = self._inputs(data)
        fine = []
        for h, h_mask, adj, adj_mask in zip(views, twins, g["adjs"], g["masked"]):
            fine.append(F.normalize(self.encoder(h, adj), dim=1))
            fine.append(F.normalize(self.encoder(h_mask, adj_mask), dim=1))
        z_fine = self.attention(fine)
        z_coarse = self.encoder(coarse, g["coarse"])
        return z_coarse, z_fine

    def encode(self, data: HeteroData) -> Tensor:
        r"""The fused fine-grained view :math:`z^f` of the target nodes."""
        return self.encode_views(data)[1]

    def _repr_args(self) -> str:
        return f", nei_max={self.nei_max}, encoder={self.encoder}"


class MEOW(MEOWViews):
    r"""MEOW from `"Heterogeneous Graph Contrastive Learning with Meta-path
    Contexts and Weighted Negative Samples" <https://arxiv.org/abs/2212.13847>`_
    (Yu and Li, SDM 2023), as coded in ``jianxiangyu/MEOW`` (``code_meow``).

    The views are those of :class:`MEOWViews` (coarse :math:`z^c`, fine
    :math:`z^f`, projections :math:`p^c, p^f`). At every epoch (the
    :meth:`set_epoch` hook; with ``recluster_every`` > 1 less often) the
    detached :math:`p^f` of the step is clustered by :math:`K` k-means runs
    (``num_clusters``, :func:`gcl.losses.kmeans_prototypes`: faiss,
    inner product, seeds :math:`0..K-1`), giving labels :math:`c_k`,
    normalised prototypes :math:`\mu` and PCL densities :math:`\phi`. The
    loss anchors the coarse view:

    .. math::
        w_{ij} = \sum_{k} \mathbb{1}[c_k(i) \neq c_k(j)], \qquad
        \mathcal{L}_{info} = -\frac{1}{N} \sum_i \log
        \frac{e^{p^c_i \cdot p^f_i / \tau}}{\sum_j w_{ij}\,
        e^{p^c_i \cdot p^f_j / \tau}},

    .. math::
        \mathcal{L} = \mathcal{L}_{info} + \lambda_{proto}
        \frac{1}{K}\sum_k -\frac{1}{N} \sum_i \log
        \frac{e^{p^c_i \cdot \mu^k_{c_k(i)} / \phi^k_{c_k(i)}}}
        {\sum_l e^{p^c_i \cdot \mu^k_l / \phi^k_l}}

    (:func:`gcl.losses.weighted_info_nce`, :func:`gcl.losses.proto_nce`,
    block-wise: no :math:`N \times N` weight matrix). The official ProtoNCE
    writes its denominator as a mean over the :math:`K_k` prototypes times
    :math:`N`, which adds :math:`\frac{1}{K}\sum_k \log(N / K_k)` to the
    reported value, not to the gradients; ``proto_log_offset=True`` adds it
    (same early stopping either way).

    Training stops early on the training loss (patience, no weights
    restored: the official code keeps the last model). The loss is noisy
    (dropout, re-clustering every epoch), so where the run stops, and its
    accuracy, vary with the seed: on ACM the official code itself gave
    Macro-F1@20 of 91.0, 89.9 and 86.4 for seeds 0-2
    (``benchmarks/notes/meow.md``).

    Args:
        num_clusters (Sequence[int]): :math:`K_k` of each clustering
            (ACM: ``[100, 300]``).
        tau (float, optional): Temperature (also the mean density).
            (default: :obj:`0.4`)
        lam_proto (float, optional): :math:`\lambda_{proto}`.
            (default: :obj:`1.0`)
        recluster_every (int, optional): Re-cluster every this many epochs.
            (default: :obj:`1`, the official code)
        proto_log_offset (bool, optional): Report the official ProtoNCE
            value (see above). (default: :obj:`False`)
        block_size (int, optional): Rows per block of the losses.
            (default: :obj:`None`)
        **kwargs: The views' arguments (:class:`MEOWViews`).
    """

    def __init__(self, in_channels: Mapping[str, int], target: str,
                 metapaths: Mapping[str, Sequence[str]], nei_max: Sequence[int],
                 num_clusters: Sequence[int], tau: float = 0.4,
                 lam_proto: float = 1.0, recluster_every: int = 1,
                 proto_log_offset: bool = False,
                 block_size: Optional[int] = None, **kwargs: Any):
        super().__init__(in_channels, target, metapaths, nei_max, **kwargs)
        self.num_clusters = [int(k) for k in num_clusters]
        if not self.num_clusters or any(k < 1 for k in self.num_clusters):
            raise ValueError(f"num_clusters must be positive, got {num_clusters}")
        if recluster_every < 1:
            raise ValueError(f"recluster_every must be >= 1, got {recluster_every}")
        if not tau > 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.tau = float(tau)
        self.lam_proto = float(lam_proto)
        self.recluster_every = int(recluster_every)
        self.proto_log_offset = bool(proto_log_offset)
        self.block_size = block_size
        self.prototypes_ = None
        self.clustered_epoch_: Optional[int] = None
        self._stale = True

    @classmethod
    def from_config(cls, in_channels: Mapping[str, int], target: str,
                    metapaths: Mapping[str, Sequence[str]],
                    nei_max: Sequence[int], num_clusters: Sequence[int],
                    hidden_channels: int = 64, embed_channels: int = 64,
                    tau: float = 0.4, lam_proto: float = 1.0,
                    dropout: float = 0.2, feat_mask: float = 0.3,
                    adj_mask: Rates = 0.2, binary_metapaths: bool = False,
                    metapath_target_projections: bool = False,
                    mask_dropout: bool = True, recluster_every: int = 1,
                    proto_log_offset: bool = False, ties: str = "low",
                    block_size: Optional[int] = None) -> MEOW:
        """Builds MEOW from the ``model`` section of its configs (the
        official ``code_meow/utils/params.py`` values per data set).
        """
        return cls(in_channels, target, metapaths, nei_max, num_clusters, tau,
                   lam_proto, recluster_every, proto_log_offset, block_size,
                   hidden_channels=hidden_channels,
                   embed_channels=embed_channels, dropout=dropout,
                   feat_mask=feat_mask, adj_mask=adj_mask,
                   binary_metapaths=binary_metapaths,
                   metapath_target_projections=metapath_target_projections,
                   mask_dropout=mask_dropout, ties=ties)

    def reset_parameters(self) -> None:
        """Resets the parameters, the cached graph and the clusters."""
        super().reset_parameters()
        self.prototypes_ = None
        self.clustered_epoch_ = None
        self._stale = True

    def set_epoch(self, epoch: int) -> None:
        """Marks the clusters stale at every ``recluster_every``-th epoch: the
        next step re-clusters its fine-view projections.
        """
        super().set_epoch(epoch)
        if (epoch - 1) % self.recluster_every == 0:
            self._stale = True

    def objective(self, z1: Tensor, z2: Tensor, data: HeteroData
                  ) -> dict[str, Tensor]:
        """MEOW's weighted InfoNCE plus ProtoNCE; terms ``info``, ``proto``."""
        p_c, p_f = self.projector(z1), self.projector(z2)
        if self._stale or self.prototypes_ is None:
            if max(self.num_clusters) > p_f.size(0):
                raise ValueError(f"num_clusters {self.num_clusters} exceed the "
                                 f"{p_f.size(0)} target nodes")
            self.prototypes_ = kmeans_prototypes(p_f.detach(), self.num_clusters,
                                                 self.tau)
            self.clustered_epoch_ = getattr(self, "epoch", None)
            self._stale = False
        protos = self.prototypes_
        info = weighted_info_nce(p_c, p_f, cluster_labels=protos.labels,
                                 tau=self.tau, block_size=self.block_size)
        proto = proto_nce(p_c, protos.labels, protos.centroids, protos.density,
                          self.block_size)
        if self.proto_log_offset:
            n = p_c.size(0)
            proto = proto + sum(math.log(n / k) for k in self.num_clusters) / \
                len(self.num_clusters)
        return {"loss": info + self.lam_proto * proto, "info": info,
                "proto": proto}

    def _repr_args(self) -> str:
        return (f", nei_max={self.nei_max}, num_clusters={self.num_clusters}, "
                f"tau={self.tau}, lam_proto={self.lam_proto}")
