"""Property: malformed input ends in success or one clear ValueError.

Hypothesis draws small graphs (and embeddings, labels, edge splits,
interactions) with one defect each and throws them at ``gcl.fit`` and at the
evaluators exported by ``gcl.eval``. The only outcomes accepted are success
and a ``ValueError`` with a message; any other exception (a raw
``RuntimeError`` or ``IndexError`` from deep inside torch or scikit-learn) is
a failure, which Hypothesis shrinks to a minimal example.
"""

import math
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from torch_geometric.data import Data

import gcl
from gcl.eval import clustering, node_classification, ranking, score_links
from gcl.methods import GRACE

# Repeatable in CI (derandomize) and no example database written to disk.
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def succeeds_or_value_error(call):
    """Runs ``call``; a ValueError must say something, anything else escapes."""
    try:
        call()
    except ValueError as err:
        assert str(err).strip(), "a ValueError without a message"


def generator(draw):
    return torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))


def set_entry(draw, t, value):
    """``t`` (a copy) with one entry, drawn at random, set to ``value``."""
    t = t.clone()
    flat = t.view(-1)
    flat[draw(st.integers(0, flat.numel() - 1))] = value
    return t


# --------------------------------------------------------------------------- #
# graphs for gcl.fit
# --------------------------------------------------------------------------- #

def _edge_index_shape(draw, data, g):
    ei = data.edge_index
    shapes = [ei.reshape(-1), ei[:1], torch.cat([ei, ei[:1]]), ei.unsqueeze(0)]
    if ei.size(1) != 2:  # [E, 2] would be a valid [2, 2]
        shapes.append(ei.t().contiguous())
    data.edge_index = draw(st.sampled_from(shapes))


def _edge_index_dtype(draw, data, g):
    dtype = draw(st.sampled_from([torch.int32, torch.int16, torch.uint8,
                                  torch.float32, torch.float64, torch.bool]))
    data.edge_index = data.edge_index.to(dtype)


def _out_of_range(draw, data, g):
    n = data.num_nodes
    ei = data.edge_index if data.edge_index.numel() else torch.zeros(2, 1).long()
    data.edge_index = set_entry(draw, ei, n + draw(st.integers(0, 5)))


def _negative_index(draw, data, g):
    ei = data.edge_index if data.edge_index.numel() else torch.zeros(2, 1).long()
    data.edge_index = set_entry(draw, ei, -draw(st.integers(1, 5)))


def _x_non_finite(draw, data, g):
    data.x = set_entry(draw, data.x, draw(NON_FINITE))


def _empty_graph(draw, data, g):
    data.x = data.x[:0]
    data.edge_index = data.edge_index[:, :0]
    data.y = data.y[:0]


def _no_edges(draw, data, g):  # valid: every node is isolated
    data.edge_index = data.edge_index[:, :0]


def _x_dtype(draw, data, g):
    dtype = draw(st.sampled_from([torch.long, torch.int32, torch.uint8, torch.bool,
                                  torch.float64, torch.float16, torch.bfloat16,
                                  torch.complex64]))
    data.x = data.x.to(dtype)


def _x_shape(draw, data, g):
    x = data.x
    data.x = draw(st.sampled_from([x.reshape(-1), x.unsqueeze(0), x[:, :0]]))


def _x_width(draw, data, g):
    f = data.x.size(1)
    widths = [w for w in (f - 1, f + 1, f + draw(st.integers(2, 50))) if w >= 1]
    data.x = torch.randn(data.x.size(0), draw(st.sampled_from(widths)), generator=g)


def _not_tensors(draw, data, g):
    key = draw(st.sampled_from(["x", "edge_index", "edge_weight"]))
    if key == "edge_weight":
        data.edge_weight = torch.rand(data.edge_index.size(1), generator=g)
    value = data[key]
    data[key] = value.numpy() if draw(st.booleans()) else value.tolist()


def _sparse_layouts(draw, data, g):
    kind = draw(st.sampled_from(["x_csr", "x_csc", "x_hybrid", "edge_index_coo"]))
    with warnings.catch_warnings():  # "sparse CSR/CSC support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        if kind == "x_csr":
            data.x = data.x.to_sparse_csr()
        elif kind == "x_csc":
            data.x = data.x.to_sparse_csc()
        elif kind == "x_hybrid":  # one sparse and one dense dimension
            data.x = data.x.to_sparse(1)
        else:
            data.edge_index = data.edge_index.to_sparse()


def _x_missing(draw, data, g):
    data.x = None


def _edge_index_missing(draw, data, g):
    data.edge_index = None


def _edge_weight_length(draw, data, g):
    e = data.edge_index.size(1)
    lengths = [k for k in (e - 1, e + 1, e + draw(st.integers(2, 5))) if k >= 0]
    data.edge_weight = torch.rand(draw(st.sampled_from(lengths)), generator=g)


def _edge_weight_shape(draw, data, g):
    data.edge_weight = torch.rand(data.edge_index.size(1), 1, generator=g)


def _edge_weight_dtype(draw, data, g):
    dtype = draw(st.sampled_from([torch.long, torch.bool, torch.float64]))
    data.edge_weight = torch.ones(data.edge_index.size(1), dtype=dtype)


def _edge_weight_non_finite(draw, data, g):
    if data.edge_index.size(1) == 0:
        data.edge_index = torch.zeros(2, 1, dtype=torch.long)
    w = torch.rand(data.edge_index.size(1), generator=g)
    data.edge_weight = set_entry(draw, w, draw(NON_FINITE))


def _labels(draw, data, g):  # fit does not read y: these must train
    n = data.num_nodes
    data.y = draw(st.sampled_from([torch.zeros(n + 3, dtype=torch.long),
                                   torch.rand(n), torch.zeros(n, 2)]))


def _valid_variants(draw, data, g):  # self-loops, duplicates, sparse features
    ei = data.edge_index
    loops = torch.arange(data.num_nodes).repeat(2, 1)
    data.edge_index = torch.cat([ei, ei, loops], 1)
    if draw(st.booleans()):
        data.x = data.x.to_sparse()
    if draw(st.booleans()):
        data.edge_weight = torch.rand(data.edge_index.size(1), generator=g)


def _named(*fns):
    return {f.__name__.lstrip("_"): f for f in fns}


#: Defects fit must refuse with a ValueError.
GRAPH_DEFECTS = _named(
    _edge_index_shape, _edge_index_dtype, _out_of_range, _negative_index,
    _x_non_finite, _empty_graph, _x_dtype, _x_shape, _x_width, _not_tensors,
    _sparse_layouts, _x_missing, _edge_index_missing, _edge_weight_length,
    _edge_weight_shape, _edge_weight_dtype, _edge_weight_non_finite)
#: Unusual but valid graphs fit must train on.
GRAPH_VARIANTS = _named(_no_edges, _labels, _valid_variants)


@st.composite
def graphs(draw, kinds, min_nodes=1):
    """``(data, in_channels, kind)``: a small graph changed by one of ``kinds``."""
    n, f = draw(st.integers(min_nodes, 12)), draw(st.integers(1, 6))
    g = generator(draw)
    data = Data(x=torch.randn(n, f, generator=g),
                edge_index=torch.randint(0, n, (2, draw(st.integers(0, 30))),
                                         generator=g),
                y=torch.randint(0, 3, (n,), generator=g))
    kind = draw(st.sampled_from(sorted(kinds)))
    kinds[kind](draw, data, g)
    return data, f, kind


def fit_tiny_grace(data, in_channels):
    method = GRACE.from_config(in_channels, hidden_channels=8, proj_channels=8)
    return gcl.fit(method, data, epochs=2, lr=0.01, seed=0, device="cpu",
                   progress=False)


@SETTINGS
@given(graphs(GRAPH_DEFECTS))
def test_fit_refuses_malformed_graphs(case):
    data, in_channels, defect = case
    note(f"defect={defect}: {data}")
    with pytest.raises(ValueError) as err:
        fit_tiny_grace(data, in_channels)
    assert str(err.value).strip()


@settings(SETTINGS, max_examples=15)
@given(graphs(GRAPH_VARIANTS, min_nodes=2))  # InfoNCE needs a negative
def test_fit_trains_on_unusual_valid_graphs(case):
    data, in_channels, variant = case
    note(f"variant={variant}: {data}")
    history = fit_tiny_grace(data, in_channels)
    assert history.epochs == 2 and all(math.isfinite(v) for v in history.loss)


# --------------------------------------------------------------------------- #
# evaluators
# --------------------------------------------------------------------------- #



# --------------------------------------------------------------------------- #
# embeddings and labels for node_classification and clustering
# --------------------------------------------------------------------------- #

def _z_non_finite(draw, z, y):
    return set_entry(draw, z, draw(NON_FINITE)), y


def _z_shape(draw, z, y):
    return draw(st.sampled_from([z.reshape(-1), z.unsqueeze(0), z[:, :0], z[:0]])), y


def _z_dtype(draw, z, y):
    dtype = draw(st.sampled_from([torch.long, torch.bool, torch.float64,
                                  torch.float16, torch.complex64]))
    return z.to(dtype), y


def _z_sparse(draw, z, y):
    return z.to_sparse(), y


def _z_object(draw, z, y):
    return z.numpy().astype(object), y


def _y_length(draw, z, y):
    k = draw(st.sampled_from([-1, 1, 5]))
    return z, (y[:k] if k < 0 else torch.cat([y, y[:1].repeat(k)]))


def _y_dtype(draw, z, y):
    return z, draw(st.sampled_from([y.float() + 0.5, y.float(), y.bool(),
                                    y.to(torch.int32), y.to(torch.uint8)]))


def _y_strings(draw, z, y):
    return z, y.numpy().astype(str)


def _y_object(draw, z, y):
    return z, y.numpy().astype(object)


def _y_negative(draw, z, y):
    return z, set_entry(draw, y, -draw(st.integers(1, 3)))


def _y_huge_label(draw, z, y):  # labels must be 0..C-1: C would be 2**62 + 1
    return z, set_entry(draw, y, 2**62)


def _y_one_class(draw, z, y):
    return z, torch.zeros_like(y)


def _y_shape(draw, z, y):
    return z, draw(st.sampled_from([y.view(-1, 1), y.repeat(2, 1), y[:0]]))


def _as_numpy(draw, z, y):  # valid: arrays or lists instead of tensors
    return draw(st.sampled_from([(z.numpy(), y.numpy()), (z.tolist(), y.tolist())]))


LABEL_DEFECTS = _named(
    _z_non_finite, _z_shape, _z_dtype, _z_sparse, _z_object, _y_length, _y_dtype,
    _y_strings, _y_object, _y_negative, _y_huge_label, _y_one_class, _y_shape,
    _as_numpy)


@st.composite
def embeddings_and_labels(draw):
    """``(z, y, defect)``: embeddings ``[N, d]`` and labels, one defect."""
    n, d, c = draw(st.integers(10, 30)), draw(st.integers(1, 6)), draw(
        st.integers(2, 4))
    z = torch.randn(n, d, generator=generator(draw))
    y = torch.arange(n) % c
    defect = draw(st.sampled_from(["none", *sorted(LABEL_DEFECTS)]))
    if defect != "none":
        z, y = LABEL_DEFECTS[defect](draw, z, y)
    return z, y, defect


PROBE_OPTIONS = {"linear_probe": dict(epochs=20, eval_every=10),
                 "grace": dict(cv=2, c_grid=(1.0,), train_ratio=0.5)}


@SETTINGS
@given(embeddings_and_labels(), st.sampled_from(sorted(PROBE_OPTIONS)))
def test_node_classification_on_malformed_input(case, protocol):
    z, y, defect = case
    note(f"defect={defect}")
    succeeds_or_value_error(lambda: node_classification(
        z, y, protocol, runs=1, **PROBE_OPTIONS[protocol]))


@SETTINGS
@given(embeddings_and_labels(),
       st.one_of(st.none(), st.integers(-2, 40), st.floats(0.5, 3.5)))
def test_clustering_on_malformed_input(case, n_clusters):
    z, y, defect = case
    note(f"defect={defect}, n_clusters={n_clusters}")
    succeeds_or_value_error(lambda: clustering(z, y, n_clusters, runs=1, n_init=1,
                                               max_iter=20))


# --------------------------------------------------------------------------- #
# link splits for score_links
# --------------------------------------------------------------------------- #

LINK_KEYS = [("train", "edge_index"), ("train", "pos_edge_label_index"),
             ("val", "pos_edge_label_index"), ("val", "neg_edge_label_index"),
             ("test", "pos_edge_label_index"), ("test", "neg_edge_label_index")]
LINK_DEFECTS = ["none", "z_non_finite", "z_rows", "z_sparse", "out_of_range",
                "negative", "shape", "float_ids", "edges_object", "missing", "empty",
                "tensor_parts"]


@st.composite
def link_cases(draw):
    """``(z, (train, val, test), defect, where)``: a hand-built split, one defect."""
    n, d = draw(st.integers(4, 16)), draw(st.integers(1, 6))
    g = generator(draw)
    z = torch.randn(n, d, generator=g)

    def edges():
        return torch.randint(0, n, (2, draw(st.integers(1, 12))), generator=g)

    parts = {"train": Data(edge_index=edges(), pos_edge_label_index=edges(),
                           num_nodes=n),
             "val": Data(pos_edge_label_index=edges(), neg_edge_label_index=edges()),
             "test": Data(pos_edge_label_index=edges(),
                          neg_edge_label_index=edges())}
    defect = draw(st.sampled_from(LINK_DEFECTS))
    part, key = draw(st.sampled_from(LINK_KEYS))
    ei = parts[part][key]
    if defect == "z_non_finite":
        z = set_entry(draw, z, draw(NON_FINITE))
    elif defect == "z_rows":
        z = torch.randn(n + draw(st.sampled_from([-2, -1, 1, 3])), d, generator=g)
    elif defect == "z_sparse":
        z = z.to_sparse()
    elif defect == "out_of_range":
        parts[part][key] = set_entry(draw, ei, n + draw(st.integers(0, 3)))
    elif defect == "negative":
        parts[part][key] = set_entry(draw, ei, -draw(st.integers(1, 3)))
    elif defect == "shape":
        parts[part][key] = draw(st.sampled_from([ei.reshape(-1), ei.t(), ei[:1]]))
    elif defect == "float_ids":
        parts[part][key] = ei.float()
    elif defect == "edges_object":
        parts[part][key] = ei.numpy().astype(object)
    elif defect == "missing":
        del parts[part][key]
    elif defect == "empty":
        parts[part][key] = ei[:, :0]
    split = (parts["train"], parts["val"], parts["test"])
    if defect == "tensor_parts":  # edge tensors instead of Data objects
        split = (parts["train"].edge_index, parts["val"].pos_edge_label_index,
                 parts["test"].pos_edge_label_index)
    return z, split, defect, f"{part}.{key}"


@SETTINGS
@given(link_cases(), st.sampled_from([("cosine", "dot"), ("hadamard_lr",)]))
def test_score_links_on_malformed_input(case, scorers):
    z, split, defect, where = case
    note(f"defect={defect} at {where}, scorers={scorers}")
    succeeds_or_value_error(lambda: score_links(z, split, scorers=scorers,
                                                c_grid=(1.0,)))


# --------------------------------------------------------------------------- #
# interactions for ranking
# --------------------------------------------------------------------------- #

RANKING_DEFECTS = ["none", "dims", "user_out_of_range", "item_out_of_range",
                   "negative", "float_ids", "ids_object", "shape", "ks",
                   "batch_size", "empty_test", "test_none", "non_finite",
                   "emb_sparse"]


@st.composite
def ranking_cases(draw):
    """``(user_emb, item_emb, train, test, options, defect)``, one defect."""
    u, i, d = draw(st.integers(2, 8)), draw(st.integers(2, 10)), draw(
        st.integers(1, 5))
    g = generator(draw)
    user, item = torch.randn(u, d, generator=g), torch.randn(i, d, generator=g)

    def pairs():
        m = draw(st.integers(1, 12))
        return torch.stack([torch.randint(0, u, (m,), generator=g),
                            torch.randint(0, i, (m,), generator=g)])

    inter = {"train": pairs(), "test": pairs()}
    options = {"ks": (1, min(2, i))}
    defect = draw(st.sampled_from(RANKING_DEFECTS))
    which = draw(st.sampled_from(["train", "test"]))
    pairs_ = inter[which]
    if defect == "dims":
        item = torch.randn(i, d + 1, generator=g)
    elif defect in ("user_out_of_range", "item_out_of_range"):
        row, size = (0, u) if defect == "user_out_of_range" else (1, i)
        col = draw(st.integers(0, pairs_.size(1) - 1))
        pairs_[row, col] = size + draw(st.integers(0, 3))
    elif defect == "negative":
        pairs_[draw(st.integers(0, 1)), 0] = -1
    elif defect == "float_ids":
        inter[which] = pairs_.float()
    elif defect == "ids_object":
        inter[which] = pairs_.numpy().astype(object)
    elif defect == "shape":
        inter[which] = draw(st.sampled_from([pairs_.reshape(-1), pairs_.t()[:, :1],
                                             pairs_[:1]]))
    elif defect == "ks":
        options["ks"] = draw(st.sampled_from([(0,), (i + 1,), (), (-1, 1)]))
    elif defect == "batch_size":
        options["batch_size"] = draw(st.sampled_from([0, -1, True, 1.5]))
    elif defect == "empty_test":
        inter["test"] = inter["test"][:, :0]
    elif defect == "test_none":
        inter["test"] = None
    elif defect == "non_finite":
        user = set_entry(draw, user, draw(NON_FINITE))
    elif defect == "emb_sparse":
        user = user.to_sparse()
    return user, item, inter["train"], inter["test"], options, defect


@SETTINGS
@given(ranking_cases())
def test_ranking_on_malformed_input(case):
    user, item, train, test, options, defect = case
    note(f"defect={defect}, options={options}")
    succeeds_or_value_error(lambda: ranking(user, item, train, test, **options))


# --------------------------------------------------------------------------- #
# inputs that once crashed an evaluator with a raw error, one each
# --------------------------------------------------------------------------- #

def _known_crash_calls():
    """``{(evaluator, defect): (description, call)}``: each raised a raw
    TypeError, RuntimeError or NotImplementedError before the evaluators
    shared one input checker."""
    z = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
    y = torch.arange(20) % 2
    y_huge = y.clone()
    y_huge[0] = 2**62

    def probe(z, y):
        return lambda: node_classification(z, y, "linear_probe", runs=1, epochs=20,
                                           eval_every=10)

    e = torch.tensor([[0, 1, 2], [1, 2, 3]])
    split = (Data(edge_index=e, pos_edge_label_index=e, num_nodes=20),
             Data(pos_edge_label_index=e, neg_edge_label_index=e.flip(0)),
             Data(pos_edge_label_index=e, neg_edge_label_index=e.flip(0)))
    bad_split = (split[0].clone(), split[1], split[2])
    bad_split[0].edge_index = e.numpy().astype(object)
    users, items = z[:4], z[4:10]
    train, test = torch.tensor([[0, 1], [0, 1]]), torch.tensor([[2, 3], [2, 3]])
    return {
        ("node_classification", "z_sparse"): (
            "sparse COO embeddings", probe(z.to_sparse(), y)),
        ("node_classification", "z_object"): (
            "an object-dtype NumPy z", probe(z.numpy().astype(object), y)),
        ("node_classification", "y_strings"): (
            "string labels", probe(z, y.numpy().astype(str))),
        ("node_classification", "y_object"): (
            "object-dtype NumPy labels", probe(z, y.numpy().astype(object))),
        ("node_classification", "y_huge_label"): (
            "a label of 2**62 (C = max + 1 classes: storage size overflow)",
            probe(z, y_huge)),
        ("clustering", "z_sparse"): (
            "sparse COO embeddings", lambda: clustering(z.to_sparse(), y, runs=1)),
        ("clustering", "z_object"): (
            "an object-dtype NumPy z",
            lambda: clustering(z.numpy().astype(object), y, runs=1)),
        ("score_links", "z_sparse"): (
            "sparse COO embeddings",
            lambda: score_links(z.to_sparse(), split, scorers=("cosine",))),
        ("score_links", "tensor_parts"): (
            "a split of three edge tensors instead of three Data objects",
            lambda: score_links(z, (e, e, e), scorers=("cosine",))),
        ("score_links", "edges_object"): (
            "an object-dtype NumPy edge_index in train_data",
            lambda: score_links(z, bad_split, scorers=("cosine",))),
        ("ranking", "emb_sparse"): (
            "sparse COO user embeddings",
            lambda: ranking(users.to_sparse(), items, train, test, ks=(1,))),
        ("ranking", "ids_object"): (
            "object-dtype NumPy interactions",
            lambda: ranking(users, items, train.numpy().astype(object), test,
                            ks=(1,))),
        ("ranking", "test_none"): (
            "test=None", lambda: ranking(users, items, train, None, ks=(1,))),
    }


KNOWN_CRASH_CALLS = _known_crash_calls()


@pytest.mark.parametrize("key", list(KNOWN_CRASH_CALLS),
                         ids=["-".join(k) for k in KNOWN_CRASH_CALLS])
def test_former_evaluator_crashes_are_value_errors(key):
    with pytest.raises(ValueError, match=r"\w"):
        KNOWN_CRASH_CALLS[key][1]()
