r"""Node features learned by metapath2vec on a heterogeneous graph.

metapath2vec (Dong, Chawla and Swami, "metapath2vec: Scalable Representation
Learning for Heterogeneous Networks", KDD 2017) walks the graph along a
meta-path scheme, e.g. paper -> author -> paper -> ..., and fits skip-gram
embeddings with negative sampling to the walks: for a node :math:`v` and a
node :math:`c` within ``context_size`` steps of it on a walk,

.. math::
    \ell = -\log \sigma(\mathbf{e}_v^\top \mathbf{e}_c)
           - \sum_{n \sim \mathcal{U}} \log \sigma(-\mathbf{e}_v^\top
           \mathbf{e}_n).

MEOW's AMiner model (Yu et al., SDM 2023, ``jianxiangyu/MEOW``
``code_meow/utils/load_data.py``) reads such embeddings as its features: 64-d
files ``feat_p_pap.w1000.l100.npy`` and ``feat_p_prp.w1000.l100.npy`` (one
paper embedding per meta-path) and ``feat_a``/``feat_r`` for authors and
references. ``w1000.l100`` is the naming of metapath2vec's walk generator
(1000 walks per node, 100 steps each). Those files are not in HeCo's data, so
:func:`metapath2vec_features` **re-learns** features of the same kind with
PyG's :class:`~torch_geometric.nn.MetaPath2Vec`; they are not the authors'
embeddings, and results computed from them are named as such.

Two departures from PyG's defaults, both toward metapath2vec's own code (a
word2vec derivative): the embeddings start uniform in
:math:`[-0.5/d, 0.5/d]` (word2vec's ``syn0``) instead of
:math:`\mathcal{N}(0, 1)`, whose 64-d dot products saturate the sigmoid (on
AMiner's PRP walks, one epoch from :math:`\mathcal{N}(0, 1)` left the papers
near chance in the HeCo probe, where one from the small start scored about
as three from :math:`\mathcal{N}(0, 1)`); and the optimiser is dense Adam,
about twice as fast here as ``SparseAdam`` for the same steps. Walk counts
are far below metapath2vec's 1000 per node (``walks_per_node``,
``epochs``): that many walks take hours on a CPU. Training runs on the CPU.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

__all__ = ["metapath2vec_embeddings", "metapath2vec_features"]

EdgeType = tuple[str, str, str]

#: Cache format; bump when the training procedure changes.
_VERSION = 1


def _relations(data: HeteroData, types: Sequence[str]) -> list[EdgeType]:
    """The edge types along a node-type sequence, one per step."""
    out = []
    for u, v in zip(types[:-1], types[1:]):
        cands = [e for e in data.edge_types if e[0] == u and e[2] == v]
        if len(cands) != 1:
            have = ", ".join(map(str, data.edge_types))
            raise ValueError(
                f"metapath2vec: the step {u!r} -> {v!r} needs exactly one "
                f"relation in the graph, found {len(cands)} (edge types: "
                f"{have}); pass the edge types instead")
        out.append(cands[0])
    return out


def _scheme(data: HeteroData, metapath: Sequence) -> list[EdgeType]:
    """A meta-path given as node types or edge types, as edge types that
    close into a cycle (metapath2vec walks repeat the scheme).
    """
    items = list(metapath)
    if len(items) < 2:
        raise ValueError(f"metapath2vec: a meta-path needs at least two node "
                         f"types or one edge type, got {metapath!r}")
    if all(isinstance(t, str) for t in items):
        rels = _relations(data, items)
    elif all(isinstance(t, (tuple, list)) and len(t) == 3 for t in items):
        rels = [tuple(t) for t in items]
        missing = [e for e in rels if e not in data.edge_types]
        if missing:
            raise ValueError(f"metapath2vec: edge types {missing} are not in "
                             f"the graph")
    else:
        raise ValueError(f"metapath2vec: a meta-path is a list of node types "
                         f"or of (src, rel, dst) edge types, got {metapath!r}")
    for a, b in zip(rels[:-1], rels[1:]):
        if a[2] != b[0]:
            raise ValueError(f"metapath2vec: {a} does not lead into {b}")
    if rels[-1][2] != rels[0][0]:
        raise ValueError(f"metapath2vec: the meta-path must end at its start "
                         f"type {rels[0][0]!r} (walks repeat it), got "
                         f"{rels[-1][2]!r}")
    return rels


def metapath2vec_embeddings(
    data: HeteroData,
    metapath: Sequence,
    *,
    embedding_dim: int = 64,
    walk_length: int = 100,
    context_size: int = 7,
    walks_per_node: int = 5,
    num_negative_samples: int = 5,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 0.05,
    seed: int = 0,
) -> dict[str, Tensor]:
    r"""Trains metapath2vec on one meta-path scheme and returns the
    embedding of every node type on it.

    Walks start from every node of the scheme's first type and follow the
    scheme cyclically (PyG's :class:`~torch_geometric.nn.MetaPath2Vec`,
    uniform choice among neighbours); the skip-gram loss above is minimised
    with Adam over ``epochs`` passes. Runs under its own random state
    (``seed``), leaving the caller's untouched.

    Args:
        data (HeteroData): The graph with the relations of ``metapath``.
        metapath (Sequence): Node types, e.g. ``["paper", "author",
            "paper"]`` (each step must be one relation of the graph), or
            edge types; it must end where it starts.
        embedding_dim (int, optional): Embedding size (MEOW's AMiner files:
            64). (default: :obj:`64`)
        walk_length (int, optional): Steps per walk (``l100``).
            (default: :obj:`100`)
        context_size (int, optional): Window of the skip-gram, in nodes
            (metapath2vec's ``-window 7``). (default: :obj:`7`)
        walks_per_node (int, optional): Walks from each start node per
            epoch (metapath2vec's files: 1000 in one pass).
            (default: :obj:`5`)
        num_negative_samples (int, optional): Negatives per positive pair
            (``-negative 5``). (default: :obj:`5`)
        epochs (int, optional): Passes over the start nodes.
            (default: :obj:`3`)
        batch_size (int, optional): Start nodes per step.
            (default: :obj:`128`)
        lr (float, optional): Adam's learning rate (on AMiner's PRP walks,
            one epoch at 0.05 probed about as well as two at the 0.01 of
            PyG's example, ``benchmarks/notes/meow.md``).
            (default: :obj:`0.05`)
        seed (int, optional): Seed of the walks, negatives and
            initialisation. (default: :obj:`0`)

    Returns:
        dict[str, Tensor]: Node type -> ``[N_type, embedding_dim]``
        embeddings on the CPU (nodes no walk reached keep their initial
        values).
    """
    from torch_geometric.nn import MetaPath2Vec

    if not isinstance(data, HeteroData):
        raise ValueError(f"metapath2vec needs a HeteroData graph, got "
                         f"{type(data).__name__}")
    for name, value in (("embedding_dim", embedding_dim),
                        ("walks_per_node", walks_per_node),
                        ("num_negative_samples", num_negative_samples),
                        ("epochs", epochs), ("batch_size", batch_size)):
        if int(value) < 1:
            raise ValueError(f"metapath2vec: {name} must be >= 1, got {value}")
    if context_size < 2 or walk_length < context_size:
        raise ValueError(f"metapath2vec: need 2 <= context_size <= walk_length, "
                         f"got context_size={context_size}, "
                         f"walk_length={walk_length}")
    if not lr > 0:
        raise ValueError(f"metapath2vec: lr must be positive, got {lr}")
    rels = _scheme(data, metapath)
    types = list(dict.fromkeys(t for e in rels for t in (e[0], e[2])))
    num_nodes = {t: data[t].num_nodes for t in types}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MetaPath2Vec({e: data[e].edge_index.cpu() for e in rels},
                             embedding_dim=embedding_dim, metapath=rels,
                             walk_length=walk_length, context_size=context_size,
                             walks_per_node=walks_per_node,
                             num_negative_samples=num_negative_samples,
                             num_nodes_dict=num_nodes, sparse=False)
        with torch.no_grad():  # word2vec's syn0 initialisation (see above)
            model.embedding.weight.uniform_(-0.5 / embedding_dim,
                                            0.5 / embedding_dim)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loader = model.loader(batch_size=batch_size, shuffle=True)
        for _ in range(epochs):
            for pos, neg in loader:
                opt.zero_grad()
                model.loss(pos, neg).backward()
                opt.step()
        with torch.no_grad():
            return {t: model(t).detach().clone() for t in types}


_SIGNATURE = inspect.signature(metapath2vec_embeddings)


def metapath2vec_features(
    data: HeteroData,
    metapaths: Mapping[str, Sequence[str]],
    target: str,
    *,
    cache: str | Path | None = None,
    **kwargs: Any,
) -> HeteroData:
    r"""Replaces the features of ``data`` by metapath2vec embeddings, in
    MEOW's AMiner layout.

    One :func:`metapath2vec_embeddings` run per meta-path (all with the same
    ``kwargs``). The target type gets one embedding per meta-path,
    ``data[target][f"x_{name}"]``, and ``data[target].x`` = their mean
    (MEOW's model projects each separately, see
    :class:`~gcl.methods.MEOW`'s ``metapath_target_projections``); every
    other node type on a meta-path gets its embedding from the first
    meta-path that visits it (AMiner: authors from PAP, references from
    PRP). Other types keep their features.

    Args:
        data (HeteroData): The graph (changed in place and returned).
        metapaths (Mapping[str, Sequence[str]]): Meta-path name -> node
            types, each from ``target`` back to ``target``.
        target (str): The target node type.
        cache (str | Path, optional): Folder for the embeddings; a file named
            by a hash of the graph's relations and the settings is read if it
            exists and written otherwise. (default: :obj:`None`, no cache)
        **kwargs (Any): Settings of :func:`metapath2vec_embeddings`.

    Returns:
        HeteroData: ``data``.
    """
    if not metapaths:
        raise ValueError("metapath2vec_features needs at least one meta-path")
    for name, types in metapaths.items():
        if types[0] != target or types[-1] != target:
            raise ValueError(f"meta-path {name!r} must run from {target!r} back "
                             f"to {target!r}, got {list(types)}")
    path = None
    if cache is not None:
        path = Path(cache) / f"metapath2vec-{_key(data, metapaths, kwargs)}.pt"
        if path.is_file():
            embs = torch.load(path, weights_only=True)
            return _assign(data, embs, target)
    embs = {name: metapath2vec_embeddings(data, list(types), **kwargs)
            for name, types in metapaths.items()}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(embs, tmp)
        tmp.replace(path)
    return _assign(data, embs, target)


def _assign(data: HeteroData, embs: Mapping[str, Mapping[str, Tensor]],
            target: str) -> HeteroData:
    per_path = {name: e[target] for name, e in embs.items()}
    for name, x in per_path.items():
        data[target][f"x_{name}"] = x
    data[target].x = torch.stack(list(per_path.values())).mean(0)
    done = {target}
    for e in embs.values():
        for t, x in e.items():
            if t not in done:
                data[t].x = x
                done.add(t)
    return data


def _key(data: HeteroData, metapaths: Mapping[str, Sequence[str]],
         kwargs: Mapping) -> str:
    """A hash of the relations the walks use and of the settings (defaults
    included, so that a new default makes a new file).
    """
    try:
        bound = _SIGNATURE.bind(None, None, **kwargs)
    except TypeError as exc:
        raise ValueError(f"metapath2vec_features: {exc}") from None
    bound.apply_defaults()
    settings = {k: v for k, v in bound.arguments.items()
                if k not in ("data", "metapath")}
    h = hashlib.sha256()
    h.update(json.dumps({"version": _VERSION, "torch": torch.__version__,
                         "metapaths": {k: list(v) for k, v in metapaths.items()},
                         "settings": settings}, sort_keys=True).encode())
    rels = {e for v in metapaths.values() for e in _scheme(data, list(v))}
    for e in sorted(rels):
        h.update(repr(e).encode())
        h.update(data[e].edge_index.cpu().numpy().tobytes())
    return h.hexdigest()[:16]
