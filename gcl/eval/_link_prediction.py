r"""Link prediction on frozen embeddings: held-out edges (AUC, AP) and OGB Hits@K.

Two protocols, both selecting only on validation edges:

- ``"link_auc"`` (:func:`link_prediction`, :func:`score_links`): the
  held-out-edge protocol of GAE/VGAE (Kipf & Welling, 2016,
  https://arxiv.org/abs/1611.07308) and of the graph contrastive papers that
  report link prediction. The undirected edges are split at random into
  85 % / 5 % / 10 % train / validation / test (:func:`split_edges`, PyG's
  :class:`~torch_geometric.transforms.RandomLinkSplit`), each held-out part
  paired with as many sampled non-edges. **The encoder is trained on the
  training graph only** (:func:`link_prediction` never shows a validation or
  test edge to the method), the frozen embeddings of the training graph score
  every candidate pair, and ROC-AUC and average precision are computed with
  scikit-learn.
- ``"ogb_hits"`` (:func:`ogb_link_prediction`): the official OGB
  ``ogbl-*`` splits and :class:`ogb.linkproppred.Evaluator` (Hits@K, e.g.
  Hits@20 for ``ogbl-ddi``; Hu et al., NeurIPS 2020,
  https://arxiv.org/abs/2005.00687).

Scorers (a pair :math:`(u, v)` gets a score from :math:`z_u, z_v`):

- ``"cosine"``: :math:`\cos(z_u, z_v)`, no parameters;
- ``"dot"``: :math:`z_u^\top z_v`, no parameters;
- ``"hadamard_lr"``: logistic regression on the Hadamard feature
  :math:`z_u \odot z_v` (standardised), trained on the training edges and as
  many non-edges of the training graph (``negative_sampling``, seeded), with
  the inverse regularisation :math:`C` chosen on validation;
- or any parameter-free callable ``(z, edge_index [2, E]) -> scores [E]``.

The reported test score is that of the scorer with the best validation score
(ties: the first in ``scorers``); ``details`` holds every scorer's validation
and test numbers. Nothing is ever selected on test edges.
"""

from __future__ import annotations

import copy
import random
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.eval._result import EvalResult
from gcl.eval._validation import (
    as_tensor,
    check_embeddings,
    check_positive_int,
    check_runs,
)

__all__ = [
    "SCORERS",
    "split_edges",
    "score_links",
    "link_prediction",
    "ogb_link_prediction",
]

#: Built-in scorer names.
SCORERS: tuple[str, ...] = ("cosine", "dot", "hadamard_lr")
_DEFAULT_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)

Scorer = Callable[[Tensor, Tensor], Tensor]
Scorers = Union[Sequence[Union[str, tuple[str, Scorer]]], Mapping[str, Scorer]]
_LABEL_KEYS = ("pos_edge_label", "pos_edge_label_index", "neg_edge_label",
               "neg_edge_label_index", "edge_label", "edge_label_index")


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seeds torch's CPU RNG and Python's ``random`` (PyG's negative sampling
    uses ``random.sample``), restoring both afterwards.
    """
    py_state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)


def _check_edges(edges: Any, num_nodes: int, name: str,
                 allow_empty: bool = False) -> Tensor:
    """A ``[2, E]`` long tensor of node ids below ``num_nodes``."""
    edges = as_tensor(edges, name)
    if edges.dim() != 2 or edges.size(0) != 2:
        raise ValueError(f"{name} must have shape [2, E], got {tuple(edges.shape)}")
    if edges.is_floating_point() or edges.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer node ids, got {edges.dtype}")
    edges = edges.long()
    if edges.size(1) == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= num_nodes):
        raise ValueError(
            f"{name} refers to node {int(edges.max())} (or {int(edges.min())}) but "
            f"there are {num_nodes} nodes (0..{num_nodes - 1}): z and the edges "
            f"do not belong to the same graph")
    return edges


def _resolve_scorers(scorers: Scorers) -> list[tuple[str, Scorer | None]]:
    """``[(name, fn)]``; ``fn`` is None for ``"hadamard_lr"`` (trained)."""
    items = list(scorers.items()) if isinstance(scorers, Mapping) else list(scorers)
    if not items:
        raise ValueError("scorers is empty; give at least one of "
                         f"{', '.join(SCORERS)} or a callable")
    builtin: dict[str, Scorer | None] = {"cosine": _cosine, "dot": _dot,
                                         "hadamard_lr": None}
    out: list[tuple[str, Scorer | None]] = []
    for item in items:
        if isinstance(item, str):
            if item not in builtin:
                raise ValueError(f"unknown scorer {item!r}; known: "
                                 f"{', '.join(SCORERS)} (or pass (name, callable))")
            name, fn = item, builtin[item]
        else:
            name, fn = item
            if not callable(fn):
                raise TypeError(f"scorer {name!r} is not callable")
        if any(name == n for n, _ in out):
            raise ValueError(f"scorer {name!r} is given twice")
        out.append((str(name), fn))
    return out


def _cosine(z: Tensor, edges: Tensor) -> Tensor:
    return torch.nn.functional.cosine_similarity(z[edges[0]], z[edges[1]], dim=-1)


def _dot(z: Tensor, edges: Tensor) -> Tensor:
    return (z[edges[0]] * z[edges[1]]).sum(-1)


def _batched(fn: Scorer, z: Tensor, edges: Tensor, batch_size: int) -> np.ndarray:
    """``fn`` on ``batch_size`` edges at a time, as a float64 numpy array."""
    edges = edges.to(z.device)
    out = [fn(z, edges[:, i:i + batch_size]).detach().reshape(-1).double().cpu()
           for i in range(0, edges.size(1), batch_size)]
    scores = torch.cat(out).numpy() if out else np.zeros(0)
    if scores.shape[0] != edges.size(1):
        raise ValueError(f"a scorer returned {scores.shape[0]} scores for "
                         f"{edges.size(1)} edges")
    if not np.isfinite(scores).all():
        raise ValueError("a scorer returned NaN or inf scores")
    return scores


def _hadamard(z: Tensor, edges: Tensor) -> np.ndarray:
    return (z[edges[0]] * z[edges[1]]).double().cpu().numpy()


def _sample_negatives(train_edges: Tensor, num_nodes: int, num: int,
                      seed: int) -> Tensor:
    """``num`` non-edges of the training graph (seeded ``negative_sampling``)."""
    from torch_geometric.utils import negative_sampling, to_undirected

    with _seeded(seed):
        neg = negative_sampling(to_undirected(train_edges.cpu(), num_nodes=num_nodes),
                                num_nodes=num_nodes, num_neg_samples=num)
    if neg.size(1) == 0:
        raise ValueError("the training graph is complete: there are no non-edges "
                         "to train the 'hadamard_lr' scorer on")
    return neg


class _HadamardLR:
    """Logistic regression on standardised Hadamard features ``z_u * z_v``."""

    def __init__(self, c: float) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.c = float(c)
        self.model = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.c, max_iter=1000))

    def fit(self, z: Tensor, pos: Tensor, neg: Tensor) -> _HadamardLR:
        x = np.concatenate([_hadamard(z, pos), _hadamard(z, neg)])
        y = np.concatenate([np.ones(pos.size(1)), np.zeros(neg.size(1))])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*did not converge")
            self.model.fit(x, y)
        return self

    def __call__(self, z: Tensor, edges: Tensor) -> Tensor:
        return torch.from_numpy(self.model.decision_function(_hadamard(z, edges)))


def _auc_ap(pos: np.ndarray, neg: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    s = np.concatenate([pos, neg])
    return {"auc": float(roc_auc_score(y, s)),
            "ap": float(average_precision_score(y, s))}


def _c_grid(c_grid: Sequence[float] | None) -> list[float]:
    grid = list(_DEFAULT_C_GRID if c_grid is None else c_grid)
    if not grid or any(not np.isfinite(c) or c <= 0 for c in grid):
        raise ValueError(f"c_grid must be non-empty positive values, got {c_grid!r}")
    return [float(c) for c in grid]


# --------------------------------------------------------------------------- #
# splitting
# --------------------------------------------------------------------------- #


def _clean_undirected(data: Data) -> tuple[Data, dict[str, int]]:
    """A shallow copy of ``data`` whose graph is symmetric, coalesced and free
    of self-loops (edge attributes are carried along, averaged over the two
    directions).
    """
    from torch_geometric.utils import to_undirected

    n = data.num_nodes
    if n is None or n == 0:
        raise ValueError("data has no nodes: link prediction needs a graph")
    ei = _check_edges(data.edge_index, n, "data.edge_index", allow_empty=True)
    for k in data.keys():
        v = data[k]
        sparse = (isinstance(v, Tensor) and v.layout != torch.strided) or \
            type(v).__name__ == "SparseTensor"
        # Sparse node features (an [N, F] matrix) are fine; an [N, N] sparse
        # attribute is graph structure the split cannot see.
        if sparse and tuple(v.size()) == (n, n):
            raise ValueError(
                f"data.{k} is a sparse matrix, i.e. graph structure that the edge "
                f"split cannot filter (held-out edges would leak through it); "
                f"remove it and keep the graph in edge_index")
    keys = [k for k in data.keys()
            if k != "edge_index" and k not in _LABEL_KEYS and data.is_edge_attr(k)
            and isinstance(data[k], Tensor)]
    attrs = [data[k] for k in keys]
    loops = ei[0] == ei[1]
    ei_nl = ei[:, ~loops]
    attrs = [a[~loops] for a in attrs]
    if attrs:
        ei_u, attrs = to_undirected(ei_nl, attrs, num_nodes=n, reduce="mean")
    else:
        ei_u = to_undirected(ei_nl, num_nodes=n)
    out = copy.copy(data)  # shallow: node tensors are shared, never modified
    for k in _LABEL_KEYS:
        if k in out:
            del out[k]
    out.edge_index = ei_u
    for k, a in zip(keys, attrs):
        out[k] = a
    out.num_nodes = n
    facts = {"num_self_loops_removed": int(loops.sum()),
             "num_input_edges": int(ei.size(1)),
             "num_undirected_edges": int(ei_u.size(1)) // 2}
    return out, facts


def split_edges(
    data: Data,
    val: float = 0.05,
    test: float = 0.10,
    seed: int = 0,
) -> tuple[Data, Data, Data]:
    r"""A seeded random train/validation/test split of an undirected graph's edges.

    The graph is first made undirected: self-loops are dropped, duplicate edges
    merged and a missing reverse direction added (``to_undirected``; a
    directed input is treated as its symmetrisation). PyG's
    ``RandomLinkSplit(num_val=val, num_test=test, is_undirected=True,
    add_negative_train_samples=False, split_labels=True)`` then permutes the
    :math:`M` undirected edges (:math:`u < v`) and cuts them into
    ``int(val * M)`` validation, ``int(test * M)`` test and the rest training
    edges (Cora: 5278 edges -> 4488 / 263 / 527, i.e. 85 / 5 / 10 %). Each
    held-out part gets as many negatives, non-edges of the whole graph sampled
    once (so validation and test negatives are disjoint). Torch's and Python's
    RNG are seeded with ``seed`` for the split and restored afterwards, so the
    same seed gives the same split and the caller's RNG streams are untouched.

    Args:
        data (torch_geometric.data.Data): The graph (``edge_index``,
            ``num_nodes``; node attributes such as ``x`` are kept).
        val (float, optional): Fraction of validation edges, in :math:`(0, 1)`.
            (default: ``0.05``)
        test (float, optional): Fraction of test edges, in :math:`(0, 1)`.
            (default: ``0.10``)
        seed (int, optional): Seed of the split and of the negatives.
            (default: ``0``)

    Returns:
        tuple[Data, Data, Data]: ``(train_data, val_data, test_data)``.
        ``train_data.edge_index`` holds **only the training edges**, both
        directions: the message-passing graph on which an encoder is trained and
        embeds; ``train_data.pos_edge_label_index`` holds them once
        (``[2, M_train]``). ``val_data`` and ``test_data`` hold the positive
        (``pos_edge_label_index``, one direction per edge) and negative
        (``neg_edge_label_index``) pairs to score; their ``edge_index`` (train,
        resp. train + validation edges, as PyG builds them) must not be given
        to the encoder under this protocol.

    Raises:
        ValueError: Bad fractions, out-of-range edges, or too few edges for
            non-empty parts.
    """
    from torch_geometric.transforms import RandomLinkSplit

    for name, v in (("val", val), ("test", test)):
        if not isinstance(v, (float, int)) or isinstance(v, bool) or not 0 < v < 1:
            raise ValueError(f"{name} must be a fraction in (0, 1), got {v!r}")
    if val + test >= 1:
        raise ValueError(f"val + test must be below 1, got {val} + {test}")
    if not isinstance(data, Data):
        raise TypeError(f"expected torch_geometric.data.Data, got "
                        f"{type(data).__name__}")
    if data.get("edge_index") is None:
        raise ValueError("data.edge_index is missing")
    graph, facts = _clean_undirected(copy.copy(data).cpu() if data.is_cuda else data)
    m = facts["num_undirected_edges"]
    n_val, n_test = int(float(val) * m), int(float(test) * m)
    if n_val < 1 or n_test < 1 or m - n_val - n_test < 1:
        raise ValueError(
            f"{m} undirected edges are too few for val={val}, test={test}: the "
            f"split would have {m - n_val - n_test} training, {n_val} validation "
            f"and {n_test} test edges")
    transform = RandomLinkSplit(num_val=float(val), num_test=float(test),
                                is_undirected=True, split_labels=True,
                                add_negative_train_samples=False)
    with _seeded(seed), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not enough negative edges")
        train_data, val_data, test_data = transform(graph)
    for part, name in ((val_data, "validation"), (test_data, "test")):
        if part.get("neg_edge_label_index") is None or \
                part.neg_edge_label_index.size(1) == 0:
            raise ValueError(f"the graph is too dense: no negative {name} pairs "
                             f"could be sampled")
    return train_data, val_data, test_data


# --------------------------------------------------------------------------- #
# link_auc protocol
# --------------------------------------------------------------------------- #


def _score_all(
    z: Tensor,
    scorers: list[tuple[str, Scorer | None]],
    train_pos: Tensor,
    train_graph: Tensor,
    parts: dict[str, tuple[Tensor, Tensor]],
    metric_fn: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    select: str,
    seed: int,
    c_grid: list[float],
    batch_size: int,
    max_train_edges: int | None,
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Every scorer's metrics on ``parts`` ("val", "test") and the selection.

    ``hadamard_lr`` picks its C on validation ``select``. Returns the name of
    the scorer with the best validation ``select`` and ``{name: {val_<m>,
    test_<m>, ...}}``.
    """
    num_nodes = z.size(0)
    table: dict[str, dict[str, Any]] = {}

    def evaluate(fn: Scorer) -> dict[str, float]:
        row = {}
        for part, (pos, neg) in parts.items():
            res = metric_fn(_batched(fn, z, pos, batch_size),
                            _batched(fn, z, neg, batch_size))
            row.update({f"{part}_{k}": v for k, v in res.items()})
        return row

    for name, fn in scorers:
        if fn is not None:
            table[name] = evaluate(fn)
            continue
        pos = train_pos
        if max_train_edges is not None and pos.size(1) > max_train_edges:
            g = torch.Generator().manual_seed(seed)
            pos = pos[:, torch.randperm(pos.size(1), generator=g)[:max_train_edges]]
        neg = _sample_negatives(train_graph, num_nodes, pos.size(1), seed)
        best: dict[str, Any] | None = None
        for c in c_grid:
            row = evaluate(_HadamardLR(c).fit(z, pos, neg))
            if best is None or row[f"val_{select}"] > best[f"val_{select}"]:
                best = {**row, "C": c}
        assert best is not None
        best.update(num_train_pos=int(pos.size(1)), num_train_neg=int(neg.size(1)))
        table[name] = best
    selected = max(table, key=lambda k: table[k][f"val_{select}"])  # first on ties
    return selected, table


def _edge_counts(train: Tensor, parts: dict[str, tuple[Tensor, Tensor]]
                 ) -> dict[str, int]:
    """The edge counts of a link result's details: the training positives,
    then the positives and negatives of ``parts["val"]`` and ``parts["test"]``.
    """
    counts = {"num_train_edges": int(train.size(1))}
    for name in ("val", "test"):
        pos, neg = parts[name]
        counts[f"num_{name}_pos"] = int(pos.size(1))
        counts[f"num_{name}_neg"] = int(neg.size(1))
    return counts


def score_links(
    z: Tensor,
    split: Sequence[Data],
    *,
    scorers: Scorers = SCORERS,
    seed: int = 0,
    c_grid: Sequence[float] | None = None,
    max_train_edges: int | None = None,
    batch_size: int = 65536,
) -> EvalResult:
    r"""Scores precomputed embeddings on a link split (protocol ``"link_auc"``).

    The lower-level half of :func:`link_prediction`: **the caller guarantees
    that** ``z`` **was computed from** ``split[0]``'s **training graph only**
    (an encoder trained and run on the full graph has seen the test edges and
    gives optimistic numbers). Each scorer (see the module docstring) scores
    the validation and test positive and negative pairs; AUC and AP come from
    ``sklearn.metrics.roc_auc_score`` and ``average_precision_score``. The
    ``"hadamard_lr"`` scorer trains on ``train_data.pos_edge_label_index``
    plus an equal number of non-edges of the training graph (seeded
    ``negative_sampling``) and takes the :math:`C` of ``c_grid`` with the best
    validation AUC. The result reports the test AUC and AP of the scorer with
    the best validation AUC.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]`` of the training graph.
        split (Sequence[Data]): ``(train_data, val_data, test_data)`` as
            :func:`split_edges` returns them (or built by hand: ``train_data``
            with ``edge_index`` and ``pos_edge_label_index``; the others with
            ``pos_edge_label_index`` and ``neg_edge_label_index``, all
            ``[2, E]``).
        scorers (Sequence or Mapping, optional): Names from :data:`SCORERS`
            and/or ``(name, fn)`` pairs (or a ``{name: fn}`` mapping) with
            ``fn(z, edge_index) -> scores``. (default: all of :data:`SCORERS`)
        seed (int, optional): Seed of the training negatives.
            (default: ``0``)
        c_grid (Sequence[float], optional): :math:`C` values for
            ``"hadamard_lr"``. (default: ``(0.01, 0.1, 1, 10, 100)``)
        max_train_edges (int, optional): Cap on ``"hadamard_lr"``'s positive
            training edges (a seeded random subset), for large graphs;
            :obj:`None` uses all. (default: :obj:`None`)
        batch_size (int, optional): Pairs scored at a time. (default: ``65536``)

    Returns:
        EvalResult: Protocol ``"link_auc"``, metrics ``auc`` and ``ap`` (test,
        selected scorer); ``details["selected"]``, ``details["scorers"]``
        (every scorer's ``val_auc``, ``val_ap``, ``test_auc``, ``test_ap``, and
        the chosen ``C``) and the numbers of pairs.
    """
    z = check_embeddings(z, dtype=torch.float32)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_positive_int(max_train_edges, "max_train_edges", allow_none=True)
    if len(split) != 3:
        raise ValueError(f"split must be (train_data, val_data, test_data), got "
                         f"{len(split)} items")
    train_data, val_data, test_data = split
    n = z.size(0)
    for part, name in ((train_data, "train_data"), (val_data, "val_data"),
                       (test_data, "test_data")):
        if not isinstance(part, Data):
            raise ValueError(f"{name} must be a torch_geometric Data (as "
                             f"split_edges returns), got {type(part).__name__}")
        # Only a stated node count (num_nodes or x), never PyG's guess from edges.
        if "num_nodes" in part or part.get("x") is not None:
            if part.num_nodes != n:
                raise ValueError(
                    f"{name} has {part.num_nodes} nodes but z has {n} rows")
    train_pos = _check_edges(train_data.get("pos_edge_label_index"), n,
                             "train_data.pos_edge_label_index")
    train_graph = _check_edges(train_data.get("edge_index"), n,
                               "train_data.edge_index")
    parts = {}
    for part, name in ((val_data, "val"), (test_data, "test")):
        parts[name] = tuple(
            _check_edges(part.get(f"{s}_edge_label_index"), n,
                         f"{name}_data.{s}_edge_label_index") for s in ("pos", "neg"))
    selected, table = _score_all(
        z, _resolve_scorers(scorers), train_pos, train_graph, parts, _auc_ap,
        "auc", seed, _c_grid(c_grid), batch_size, max_train_edges)
    best = table[selected]
    details = {
        "selected": selected,
        "selection": "best validation AUC",
        "scorers": table,
        **_edge_counts(train_pos, parts),
        "seed": seed,
    }
    return EvalResult.from_runs(
        "link_auc", [{"auc": best["test_auc"], "ap": best["test_ap"]}], details)


def _message_passing_graph(train_data: Data) -> Data:
    """``train_data`` without the supervision attributes: what the method sees."""
    graph = copy.copy(train_data)
    for k in _LABEL_KEYS:
        if k in graph:
            del graph[k]
    return graph


def _device_of(module: torch.nn.Module) -> torch.device:
    p = next(iter(module.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def link_prediction(
    method: Any,
    data: Data,
    train_fn: Callable[[Any, Data], Any],
    *,
    val: float = 0.05,
    test: float = 0.10,
    seed: int = 0,
    runs: int = 1,
    scorers: Scorers = SCORERS,
    c_grid: Sequence[float] | None = None,
    max_train_edges: int | None = None,
    batch_size: int = 65536,
) -> EvalResult:
    r"""Link prediction with held-out edges, encoder trained on the training graph.

    Protocol ``"link_auc"`` (see the module docstring). For each run
    :math:`r = 0, \dots, runs - 1`:

    1. split the edges with :func:`split_edges` (seed ``seed + r``), 85/5/10 %
       by default;
    2. build the method (a factory is called with the training graph; an
       instance gets ``reset_parameters()``) and train it with
       ``train_fn(method, graph)``, where ``graph`` holds the node attributes
       of ``data`` and **only the training edges**;
    3. embed with ``method.embed(graph)``, the same training graph;
    4. score the validation and test pairs with :func:`score_links`.

    No validation or test edge ever reaches the method: neither
    ``train_fn`` nor ``embed`` receives any graph other than ``graph``. The
    result reports the mean and std over runs of the test AUC and AP of the
    scorer with the best validation AUC.

    Example:
        >>> import gcl
        >>> from gcl.methods import GRACE
        >>> res = link_prediction(  # doctest: +SKIP
        ...     lambda g: GRACE.from_config(g.num_features),
        ...     data,
        ...     lambda m, g: gcl.fit(m, g, epochs=200, lr=5e-4, seed=0,
        ...                          progress=False))
        >>> res["auc"], res.details["selected"]  # doctest: +SKIP

    Args:
        method (Method or Callable[[Data], Method]): The method, or a factory
            called with the training graph (e.g. to read ``num_features``);
            a factory is safer: a method instance may hold statistics cached
            from a graph it saw before (e.g. precomputed augmentor caches),
            which ``reset_parameters()`` does not clear.
        data (torch_geometric.data.Data): The full graph (``x``,
            ``edge_index``).
        train_fn (Callable[[Method, Data], Any]): Trains the method in place on
            the graph it is given, e.g. ``lambda m, g: gcl.fit(m, g,
            epochs=..., progress=False)``; ``lambda m, g: None`` evaluates
            the untrained encoder.
        val (float, optional): Validation edge fraction. (default: ``0.05``)
        test (float, optional): Test edge fraction. (default: ``0.10``)
        seed (int, optional): Seed of run 0's split and negatives; run
            :math:`r` uses ``seed + r``. (default: ``0``)
        runs (int, optional): Number of splits (each retrains the method).
            (default: ``1``)
        scorers (Sequence or Mapping, optional): See :func:`score_links`.
            (default: all of :data:`SCORERS`)
        c_grid (Sequence[float], optional): :math:`C` grid of
            ``"hadamard_lr"``. (default: ``(0.01, 0.1, 1, 10, 100)``)
        max_train_edges (int, optional): See :func:`score_links`.
            (default: :obj:`None`)
        batch_size (int, optional): Pairs scored at a time. (default: ``65536``)

    Returns:
        EvalResult: Protocol ``"link_auc"``: test ``auc`` and ``ap`` per run;
        ``details["runs"]`` holds each run's :func:`score_links` details
        (selected scorer, every scorer's validation and test numbers).

    Raises:
        TypeError: If ``method`` is a tensor (use :func:`score_links`) or
            neither a module nor a callable.
        ValueError: Bad fractions, runs, graph or embeddings.
    """
    if isinstance(method, Tensor):
        raise TypeError(
            "link_prediction trains the method on the training graph itself; for "
            "precomputed embeddings use split = split_edges(data) and "
            "score_links(z, split), with z computed from split[0] only")
    runs = check_runs(runs, 1)
    if not callable(train_fn):
        raise TypeError(f"train_fn must be callable (method, graph) -> Any, got "
                        f"{type(train_fn).__name__}")
    is_module = isinstance(method, torch.nn.Module)
    if not is_module and not callable(method):
        raise TypeError(f"method must be a Method or a factory (graph) -> Method, "
                        f"got {type(method).__name__}")
    _resolve_scorers(scorers)  # fail before training
    _c_grid(c_grid)
    check_positive_int(max_train_edges, "max_train_edges", allow_none=True)
    check_positive_int(batch_size, "batch_size")
    per_split, run_details = [], []
    for r in range(int(runs)):
        split = split_edges(data, val=val, test=test, seed=seed + r)
        graph = _message_passing_graph(split[0])
        if is_module:
            model = method
            if hasattr(model, "reset_parameters"):
                model.reset_parameters()
        else:
            model = method(graph)
            if not isinstance(model, torch.nn.Module) or not hasattr(model, "embed"):
                raise TypeError(f"the method factory returned "
                                f"{type(model).__name__}, not a Method")
        train_fn(model, graph)
        z = model.embed(graph.to(_device_of(model)))
        res = score_links(z, split, scorers=scorers, seed=seed + r, c_grid=c_grid,
                          max_train_edges=max_train_edges, batch_size=batch_size)
        per_split.append(res.per_split[0])
        run_details.append(res.details)
    details = {
        "val": val, "test": test, "seed": seed,
        "split": "RandomLinkSplit(is_undirected=True), encoder trained on the "
                 "training edges only",
        "selection": "best validation AUC",
        "selected": [d["selected"] for d in run_details],
        "runs": run_details,
    }
    return EvalResult.from_runs("link_auc", per_split, details)


# --------------------------------------------------------------------------- #
# OGB Hits@K
# --------------------------------------------------------------------------- #


def _ogb_edges(split_edge: Mapping, part: str, key: str, n: int) -> Tensor:
    try:
        e = split_edge[part][key]
    except (KeyError, TypeError):
        raise ValueError(
            f"split_edge has no [{part!r}][{key!r}]; expected OGB's "
            f"get_edge_split() dict with 'train' 'edge', 'valid'/'test' 'edge' and "
            f"'edge_neg' ([E, 2] each)") from None
    e = torch.as_tensor(e)
    if e.dim() != 2 or e.size(1) != 2:
        raise ValueError(f"split_edge[{part!r}][{key!r}] must have shape [E, 2], "
                         f"got {tuple(e.shape)}")
    return _check_edges(e.t(), n, f"split_edge[{part!r}][{key!r}]")


def ogb_link_prediction(
    z: Tensor,
    split_edge: Mapping[str, Mapping[str, Tensor]],
    *,
    name: str = "ogbl-ddi",
    ks: Sequence[int] = (20,),
    scorers: Scorers = ("dot", "hadamard_lr"),
    seed: int = 0,
    c_grid: Sequence[float] | None = None,
    max_train_edges: int | None = 100_000,
    batch_size: int = 65536,
) -> EvalResult:
    r"""Hits@K on an official OGB link split (protocol ``"ogb_hits"``).

    From "Open Graph Benchmark" (Hu et al., NeurIPS 2020,
    https://arxiv.org/abs/2005.00687). Every positive validation/test pair is
    ranked against the split's shared set of negative pairs (``edge_neg``);
    Hits@K is the fraction of positives scored above the :math:`K`-th best
    negative, computed by :class:`ogb.linkproppred.Evaluator` (``evaluator.K
    = K`` for each K, as in OGB's examples; ``ogbl-ddi``'s official metric is
    Hits@20). ``z`` must come from the training graph only (for ``ogbl-ddi``,
    ``data.edge_index`` of :func:`gcl.datasets.load_ogb_link` is that graph).

    Scorers as in :func:`score_links`; ``"hadamard_lr"`` trains on at most
    ``max_train_edges`` training edges (a seeded random subset; ogbl-ddi has
    about 1.07 M) plus as many non-edges of the training graph, picking
    :math:`C` on validation. The scorer with the best validation Hits@K (first
    K of ``ks``) is selected; its test Hits@K are reported. Pairs are scored
    ``batch_size`` at a time on ``z``'s device.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]`` of the training graph.
        split_edge (Mapping): ``dataset.get_edge_split()``: ``"train"``
            ``{"edge"}``, ``"valid"`` and ``"test"`` ``{"edge", "edge_neg"}``,
            each ``[E, 2]``.
        name (str, optional): OGB dataset name for the Evaluator.
            (default: ``"ogbl-ddi"``)
        ks (Sequence[int], optional): The K of Hits@K; the first selects.
            (default: ``(20,)``)
        scorers (Sequence or Mapping, optional): See :func:`score_links`.
            (default: ``("dot", "hadamard_lr")``)
        seed (int, optional): Seed of the training subset and negatives.
            (default: ``0``)
        c_grid (Sequence[float], optional): :math:`C` grid of
            ``"hadamard_lr"``. (default: ``(0.01, 0.1, 1, 10, 100)``)
        max_train_edges (int, optional): Cap on ``"hadamard_lr"``'s positive
            training edges; :obj:`None` uses all. (default: ``100_000``)
        batch_size (int, optional): Pairs scored at a time. (default: ``65536``)

    Returns:
        EvalResult: Protocol ``"ogb_hits"``, metrics ``hits@K`` (test, selected
        scorer) for each K; ``details["scorers"]`` has every scorer's
        ``val_hits@K`` and ``test_hits@K``.

    Raises:
        ValueError: Malformed ``z``/``split_edge``, bad ``ks``, or a dataset
            whose metric is not Hits@K (e.g. MRR for ``ogbl-citation2``).
    """
    from ogb.linkproppred import Evaluator

    z = check_embeddings(z, dtype=torch.float32)
    batch_size = check_positive_int(batch_size, "batch_size")
    ks = [int(k) for k in ks]
    if not ks or any(k < 1 for k in ks) or len(set(ks)) != len(ks):
        raise ValueError(f"ks must be distinct positive integers, got {ks!r}")
    check_positive_int(max_train_edges, "max_train_edges", allow_none=True)
    evaluator = Evaluator(name)
    if not evaluator.eval_metric.startswith("hits@"):
        raise ValueError(f"{name} is evaluated by {evaluator.eval_metric!r}, not "
                         f"Hits@K; ogb_link_prediction supports the Hits@K sets "
                         f"(ogbl-ddi, ogbl-collab, ogbl-ppa)")
    n = z.size(0)
    train = _ogb_edges(split_edge, "train", "edge", n)
    parts = {p: (_ogb_edges(split_edge, s, "edge", n),
                 _ogb_edges(split_edge, s, "edge_neg", n))
             for p, s in (("val", "valid"), ("test", "test"))}

    def hits(pos: np.ndarray, neg: np.ndarray) -> dict[str, float]:
        out = {}
        for k in ks:
            evaluator.K = k
            out[f"hits@{k}"] = float(evaluator.eval(
                {"y_pred_pos": torch.from_numpy(pos),
                 "y_pred_neg": torch.from_numpy(neg)})[f"hits@{k}"])
        return out

    select = f"hits@{ks[0]}"
    selected, table = _score_all(
        z, _resolve_scorers(scorers), train, train, parts, hits, select, seed,
        _c_grid(c_grid), batch_size, max_train_edges)
    best = table[selected]
    details = {
        "dataset": name,
        "selected": selected,
        "selection": f"best validation {select}",
        "scorers": table,
        **_edge_counts(train, parts),
        "seed": seed,
    }
    return EvalResult.from_runs(
        "ogb_hits", [{f"hits@{k}": best[f"test_hits@{k}"] for k in ks}], details)
