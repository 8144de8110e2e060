"""Benchmark graphs as PyG ``Data``, offline-friendly and safe on read-only roots.

:func:`load` resolves the data root (argument, ``GCL_DATA``, user cache), reads the
raw files from ``<root>/pyg/<Name>/raw/``, processes them in a writable cache
(``GCL_CACHE``) and returns one :class:`~torch_geometric.data.Data`. Cora ships with
the package. :func:`available` tells which datasets are on disk; :data:`DATASETS` is
the registry; SDCN's clustering sets (``"ACM-SDCN"``, ``"Citeseer-SDCN"``) load
through :func:`load` too (:func:`read_sdcn` reads their text files).
:func:`load_heco_multiplex` reads HeCo's heterogeneous sets as
multiplex graphs of meta-path relations; :func:`load_heco_hetero` (also
``load("ACM-HeCo")`` etc.) reads them as ``HeteroData`` with meta-path graphs
of path counts, splits and HeCo's positives. The meta-path machinery
(:func:`add_metapaths`, :func:`pathsim_topk`, :func:`heco_positives`,
:func:`sample_neighbors`) works on any ``HeteroData``, and
:func:`metapath2vec_features` learns node features from meta-path walks.
Recommendation data are :class:`InteractionData` (users, items,
train/validation/test interactions), loaded by :func:`load_interactions`
(LightGCN's text files, LightGCL's pickles, PyG's recommendation sets) and
sampled into (user, positive, negative) batches by :class:`BPRSampler`.
:func:`check_graph` validates a graph (against a model's
:func:`expected_input` when given) before training or embedding.
"""

from gcl.datasets.bpr_sampler import SAMPLING_MODES, BPRSampler, sample_negatives
from gcl.datasets.errors import DatasetNotFoundError
from gcl.datasets.heco import HECO_METAPATHS, heco_dir, load_heco_multiplex
from gcl.datasets.heco_hetero import HECO_SCHEMAS, HeteroSchema, load_heco_hetero
from gcl.datasets.interaction_data import InteractionData
from gcl.datasets.loader import available, load, raw_dir
from gcl.datasets.metapath import (
    add_metapaths,
    heco_positives,
    pathsim,
    pathsim_topk,
    sample_neighbors,
)
from gcl.datasets.metapath2vec import (
    metapath2vec_embeddings,
    metapath2vec_features,
)
from gcl.datasets.ogb_link import OGB_LINK_FEATURES, load_ogb_link, ogb_link_dir
from gcl.datasets.ogb_node import OGB_NODE_SETS, load_ogb_node, ogb_node_dir
from gcl.datasets.paths import cache_dir, data_root
from gcl.datasets.rec import (
    REC_DATASETS,
    RecSpec,
    load_interactions,
    read_lightgcl,
    read_lightgcn,
    read_lightgcn_file,
)
from gcl.datasets.registry import (
    DATASETS,
    FAMILIES,
    DatasetSpec,
    get_spec,
    known_names,
)
from gcl.datasets.row_normalize_features import RowNormalizeFeatures
from gcl.datasets.sdcn import SDCN_LABEL_OFFSET, read_sdcn
from gcl.datasets.sparse_features import SparseFeatures
from gcl.datasets.validation import check_graph, expected_input

__all__ = [
    "BPRSampler",
    "InteractionData",
    "REC_DATASETS",
    "RecSpec",
    "SAMPLING_MODES",
    "load_interactions",
    "read_lightgcl",
    "read_lightgcn",
    "read_lightgcn_file",
    "sample_negatives",
    "DATASETS",
    "DatasetNotFoundError",
    "DatasetSpec",
    "FAMILIES",
    "HECO_METAPATHS",
    "HECO_SCHEMAS",
    "HeteroSchema",
    "RowNormalizeFeatures",
    "SDCN_LABEL_OFFSET",
    "SparseFeatures",
    "available",
    "cache_dir",
    "check_graph",
    "data_root",
    "expected_input",
    "get_spec",
    "heco_dir",
    "known_names",
    "add_metapaths",
    "heco_positives",
    "pathsim",
    "pathsim_topk",
    "sample_neighbors",
    "metapath2vec_embeddings",
    "metapath2vec_features",
    "load_heco_hetero",
    "load",
    "load_heco_multiplex",
    "load_ogb_link",
    "load_ogb_node",
    "OGB_NODE_SETS",
    "ogb_node_dir",
    "OGB_LINK_FEATURES",
    "ogb_link_dir",
    "raw_dir",
    "read_sdcn",
]
