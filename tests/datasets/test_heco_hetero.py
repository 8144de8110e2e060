import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from gcl.datasets import (
    HECO_SCHEMAS,
    DatasetNotFoundError,
    HeteroSchema,
    available,
    get_spec,
    heco_positives,
    load,
    load_heco_hetero,
)

SHARED = os.environ.get("GCL_DATA")

TOY = HeteroSchema(
    name="Toy-HeCo", folder="toy", target="paper",
    num_nodes={"paper": 6, "author": 4, "subject": 2},
    relations={"pa": ("paper", "author"), "ps": ("paper", "subject")},
    metapaths={"pap": ("paper", "author", "paper"),
               "psp": ("paper", "subject", "paper")},
    features={"heco": {"paper": "p_feat.npz"},
              "meow": {"paper": "p_feat.npz", "author": "a_feat.npz"}},
    schema_neighbors=("author", "subject"), sample_rate=(2, 1), pos_num=2,
    num_classes=2, class_counts=(3, 3))

PA = [(0, 0), (0, 1), (1, 0), (2, 1), (3, 2), (4, 2), (4, 3), (5, 3)]
PS = [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1), (5, 1)]


def write_toy(root, labels=(1, 1, 1, 2, 2, 2), drop=()):
    folder = Path(root) / "heco" / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "labels.npy", np.array(labels))
    np.savetxt(folder / "pa.txt", np.array(PA), fmt="%d")
    np.savetxt(folder / "ps.txt", np.array(PS), fmt="%d")
    feat = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0], [3, 0, 1], [1, 0, 0],
                     [0, 0, 4]], dtype=float)
    sp.save_npz(folder / "p_feat.npz", sp.csr_matrix(feat))
    sp.save_npz(folder / "a_feat.npz", sp.csr_matrix(np.eye(4)[:, :3] * 2))
    for k, (tr, va, te) in {20: ([0, 3], [1, 4], [2, 5]),
                            40: ([0, 3, 0], [1, 4], [2, 5]),
                            60: ([1, 4], [0, 3], [2, 5])}.items():
        for part, idx in (("train", tr), ("val", va), ("test", te)):
            np.save(folder / f"{part}_{k}.npy", np.array(idx, dtype=np.int64))
    sp.save_npz(folder / "pos.npz",
                sp.coo_matrix(([1.0] * 4, ([0, 0, 5, 1], [0, 1, 5, 0])),
                              shape=(6, 6)))
    for name in drop:
        (folder / name).unlink()
    return folder


def dense_of(store, n):
    out = torch.zeros(n, n, dtype=torch.float64)
    out[store.edge_index[0], store.edge_index[1]] = store.edge_weight.double()
    return out


def test_toy_files_as_heterodata(tmp_path):
    write_toy(tmp_path)
    d = load_heco_hetero(TOY, root=tmp_path)
    assert isinstance(d, HeteroData)
    assert d.name == "Toy-HeCo" and d.target_node_type == "paper"
    assert d["paper"].y.tolist() == [0, 0, 0, 1, 1, 1]
    # HeCo's preprocess_features: rows divided by their sums, zero rows kept.
    assert torch.allclose(d["paper"].x[0], torch.tensor([0.5, 0.5, 0.0]))
    assert torch.equal(d["paper"].x[2], torch.zeros(3))
    assert d["author"].x.is_sparse  # one-hot (identity) as HeCo's sp.eye
    assert torch.equal(d["author"].x.to_dense(), torch.eye(4))
    assert d["subject"].num_nodes == 2
    # Relations in both directions.
    ei = d["paper", "to", "author"].edge_index
    assert list(map(tuple, ei.t().tolist())) == PA
    assert torch.equal(d["author", "to", "paper"].edge_index, ei.flip(0))
    # Meta-paths with counts: PAP = PA PA^T, diagonal included.
    pa = torch.zeros(6, 4, dtype=torch.float64)
    pa[tuple(torch.tensor(PA).t())] = 1
    ps = torch.zeros(6, 2, dtype=torch.float64)
    ps[tuple(torch.tensor(PS).t())] = 1
    assert torch.equal(dense_of(d["paper", "pap", "paper"], 6), pa @ pa.t())
    assert torch.equal(dense_of(d["paper", "psp", "paper"], 6), ps @ ps.t())
    assert d.metapaths == ["pap", "psp"]
    assert set(d.metapath_dict) == {("paper", "pap", "paper"),
                                    ("paper", "psp", "paper")}
    # Splits: masks [N, 3] per shots, and exact index tensors.
    assert d.shots == [20, 40, 60]
    assert d["paper"].train_mask.shape == (6, 3)
    assert d["paper"].train_mask[:, 0].nonzero().view(-1).tolist() == [0, 3]
    assert d["paper"].val_mask[:, 2].nonzero().view(-1).tolist() == [0, 3]
    assert d.splits[40][0].tolist() == [0, 3, 0]  # a repeat kept, as shipped
    assert d["paper"].positive_index.t().tolist() == [[0, 0], [0, 1], [1, 0],
                                                      [5, 5]]


def test_toy_options(tmp_path):
    write_toy(tmp_path)
    raw = load_heco_hetero(TOY, root=tmp_path, normalize=False)
    assert raw["paper"].x[1].tolist() == [0.0, 2.0, 0.0]
    meow = load_heco_hetero(TOY, root=tmp_path, features="meow")
    assert meow["author"].x.tolist()[0] == [1.0, 0.0, 0.0]  # row-normalised
    few = load_heco_hetero(TOY, root=tmp_path, metapaths=["psp"],
                           positives=False)
    assert few.metapaths == ["psp"] and ("paper", "pap", "paper") not in \
        few.edge_types
    assert "positive_index" not in few["paper"]
    none = load_heco_hetero(TOY, root=tmp_path, metapaths=False)
    assert none.metapaths == [] and len(none.edge_types) == 4


def test_toy_metapath2vec_features(tmp_path, monkeypatch):
    write_toy(tmp_path)
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    d = load_heco_hetero(TOY, root=tmp_path, features="metapath2vec")
    paper = d["paper"]
    assert paper.x_pap.shape == paper.x_psp.shape == (6, 64)
    torch.testing.assert_close(paper.x, (paper.x_pap + paper.x_psp) / 2)
    assert d["author"].x.shape == (4, 64) and d["subject"].x.shape == (2, 64)
    assert d.metapaths == ["pap", "psp"] and paper.y.tolist() == [0] * 3 + [1] * 3
    cached = list((tmp_path / "cache" / "heco" / "toy").glob("metapath2vec-*.pt"))
    assert len(cached) == 1
    again = load_heco_hetero(TOY, root=tmp_path, features="metapath2vec",
                             metapaths=False)  # same walks, same file
    assert torch.equal(again["paper"].x_pap, paper.x_pap)
    assert len(list(cached[0].parent.iterdir())) == 1


def test_toy_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no folder"):
        load_heco_hetero(TOY, root=tmp_path)
    write_toy(tmp_path, drop=["ps.txt"])
    with pytest.raises(DatasetNotFoundError, match="ps.txt"):
        load_heco_hetero(TOY, root=tmp_path)
    write_toy(tmp_path, drop=["pos.npz"])
    with pytest.raises(DatasetNotFoundError, match="pos.npz"):
        load_heco_hetero(TOY, root=tmp_path)
    assert load_heco_hetero(TOY, root=tmp_path, positives=False).name
    write_toy(tmp_path, labels=(0, 1, 0))
    with pytest.raises(ValueError, match="6 labels"):
        load_heco_hetero(TOY, root=tmp_path)
    folder = write_toy(tmp_path)
    np.savetxt(folder / "pa.txt", np.array([[0, 9]]), fmt="%d")
    with pytest.raises(ValueError, match="pa.txt.*outside"):
        load_heco_hetero(TOY, root=tmp_path)
    folder = write_toy(tmp_path)
    np.save(folder / "val_60.npy", np.array([0.5]))
    with pytest.raises(ValueError, match="val_60.npy"):
        load_heco_hetero(TOY, root=tmp_path)
    write_toy(tmp_path)
    with pytest.raises(ValueError, match="features"):
        load_heco_hetero(TOY, root=tmp_path, features="han")
    with pytest.raises(ValueError, match="meta-paths"):
        load_heco_hetero(TOY, root=tmp_path, metapaths=["pcp"])
    with pytest.raises(ValueError, match="unknown HeCo-format"):
        load_heco_hetero("cora", root=tmp_path)
    with pytest.raises(ValueError, match="not available"):
        load_heco_hetero("aminer", root=tmp_path, features="meow")
    with pytest.raises(DatasetNotFoundError, match="ACM"):
        load_heco_hetero("acm", root=tmp_path)


def test_registry_names_and_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GCL_OFFLINE", "1")
    for name, canonical in (("acm-heco", "ACM-HeCo"), ("HeCo-DBLP", "DBLP-HeCo"),
                            ("aminer_heco", "AMiner-HeCo"),
                            ("freebase heco", "Freebase-HeCo"),
                            ("meow-imdb", "IMDB-MEOW"),
                            ("dblp-magnn", "DBLP-MAGNN"), ("hgb-acm", "HGB-ACM")):
        assert get_spec(name).name == canonical
    assert get_spec("DBLP").name == "DBLP"  # CitationFull, not HeCo's
    assert get_spec("ACM-HeCo").target == "paper"
    assert get_spec("ACM-HeCo").hetero and not get_spec("Cora").hetero
    assert get_spec("ACM-HeCo").raw_dir(tmp_path) == tmp_path / "heco" / "acm"
    assert not available(tmp_path)["ACM-HeCo"]
    with pytest.raises(DatasetNotFoundError) as err:
        load("ACM-HeCo", root=tmp_path)
    msg = str(err.value)
    assert "heco/acm" in msg and "pa.txt" in msg and "liun-online/HeCo" in msg
    with pytest.raises(TypeError, match="only the HeCo-format"):
        load("Cora", metapaths=["pap"])


def write_fake_magnn_dblp(raw):
    """A tiny stand-in for PyG's DBLP raw files (MAGNN's format)."""
    raw.mkdir(parents=True)
    n_a, n_p, n_t, n_c = 4, 3, 2, 1
    sp.save_npz(raw / "features_0.npz", sp.csr_matrix(np.eye(n_a, 50)))
    sp.save_npz(raw / "features_1.npz",
                sp.csr_matrix(np.array([[1, 0, 1], [0, 2, 0], [1, 1, 1.0]])))
    np.save(raw / "features_2.npy", np.ones((n_t, 2), dtype=np.float64))
    np.save(raw / "node_types.npy", np.array([0] * n_a + [1] * n_p + [2] * n_t
                                             + [3] * n_c))
    np.save(raw / "labels.npy", np.array([0, 1, 2, 3]))
    np.savez(raw / "train_val_test_idx.npz", train_idx=np.array([0]),
             val_idx=np.array([1]), test_idx=np.array([2, 3]))
    n = n_a + n_p + n_t + n_c
    a = np.zeros((n, n))
    for u, v in ((0, 4), (1, 4), (2, 5), (3, 6), (4, 7), (5, 8), (4, 9)):
        a[u, v] = a[v, u] = 1
    sp.save_npz(raw / "adjM.npz", sp.csr_matrix(a))


def test_pyg_heterogeneous_set_through_load(tmp_path, monkeypatch):
    # PyG's own DBLP (online in real use): fake raw files, offline.
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    write_fake_magnn_dblp(tmp_path / "pyg" / "DBLP-MAGNN" / "raw")
    assert available(tmp_path)["DBLP-MAGNN"]
    d = load("DBLP-MAGNN", root=tmp_path)
    assert isinstance(d, HeteroData) and d.target_node_type == "author"
    assert d.name == "DBLP-MAGNN"
    assert d["author"].y.tolist() == [0, 1, 2, 3]
    assert d["author"].x.dtype == torch.float32
    assert torch.allclose(d["paper"].x.sum(1), torch.ones(3))  # NormalizeFeatures
    assert d["author", "to", "paper"].edge_index.size(1) == 4
    s = load("DBLP-MAGNN", root=tmp_path, sparse_features=True)
    assert s["author"].x.is_sparse


# ------------------------------------------------------------------ real data

# name: (nodes per type, class counts, relation edges, meta-path nonzeros)
REAL = {
    "ACM-HeCo": ({"paper": 4019, "author": 7167, "subject": 60},
                 [1993, 965, 1061], {"pa": 13407, "ps": 4019},
                 {"pap": 57853, "psp": 4338213}),
    "DBLP-HeCo": ({"author": 4057, "paper": 14328, "conference": 20,
                   "term": 7723}, [1197, 745, 1109, 1006],
                  {"pa": 19645, "pc": 14328, "pt": 85810}, {"apa": 11113}),
    "AMiner-HeCo": ({"paper": 6564, "author": 13329, "reference": 35890},
                    [1333, 1114, 526, 3591], {"pa": 18007, "pr": 58831},
                    {"pap": 21976, "prp": 129824}),
    "Freebase-HeCo": ({"movie": 3492, "director": 2502, "actor": 33401,
                       "writer": 4459}, [1327, 618, 1547],
                      {"md": 3762, "ma": 65341, "mw": 6414},
                      {"mdm": 8404, "mam": 254702, "mwm": 10706}),
    "IMDB-MEOW": ({"movie": 4275, "actor": 5432, "director": 2083,
                   "keyword": 7313}, [1112, 1594, 1569],
                  {"ma": 12831, "md": 4181, "mk": 20428},
                  {"mam": 81360, "mdm": 16498, "mkm": 319435}),
}


def shared_root(name):
    if not SHARED:
        pytest.skip("set GCL_DATA to shared/data to run the real-data checks")
    schema = HECO_SCHEMAS[name]
    if not (Path(SHARED) / "heco" / schema.folder).is_dir():
        pytest.skip(f"{name} is not under {SHARED}")
    return Path(SHARED)


@pytest.mark.parametrize("name", list(REAL))
def test_real_counts_and_metapaths(name):
    root = shared_root(name)
    sizes, classes, rels, mps = REAL[name]
    schema = HECO_SCHEMAS[name]
    d = load(name, root=root, metapaths=list(mps))
    t = d.target_node_type
    assert {k: d[k].num_nodes for k in d.node_types} == sizes
    assert torch.bincount(d[t].y).tolist() == classes
    assert d[t].x.size(0) == sizes[t] == get_spec(name).num_nodes
    assert d[t].x.size(1) == get_spec(name).num_features
    for stem, (a, b) in schema.relations.items():
        assert d[a, "to", b].edge_index.size(1) == rels[stem]
    c = len(classes)
    for j, k in enumerate(d.shots):
        sizes_k = [int(d[t][f"{p}_mask"][:, j].sum()) for p in ("train", "val",
                                                                  "test")]
        expect = [k * c, 1000, 1000]
        if name == "IMDB-MEOW" and k > 20:  # MEOW's files repeat train nodes
            expect[0] -= {40: 1, 60: 5}[k]
        assert sizes_k == expect
        assert [v.numel() for v in d.splits[k]] == [k * c, 1000, 1000]
    folder = root / "heco" / schema.folder
    for mp, nnz in mps.items():
        st = d[t, mp, t]
        assert st.edge_index.size(1) == nnz
        shipped = sp.load_npz(folder / f"{mp}.npz").tocsr()
        ours = sp.csr_matrix((st.edge_weight.double().numpy(),
                              tuple(st.edge_index.numpy())), shape=shipped.shape)
        if shipped.dtype == bool:  # HeCo: binary support, diagonal included
            assert ((ours > 0) != shipped).nnz == 0
        else:  # MEOW's IMDB: the path counts themselves
            assert abs(ours - shipped).max() == 0


@pytest.mark.parametrize("name", ["ACM-HeCo", "AMiner-HeCo", "Freebase-HeCo"])
def test_real_positives_reproduce_shipped_pos_up_to_ties(name):
    root = shared_root(name)
    schema = HECO_SCHEMAS[name]
    d = load(name, root=root)
    t = d.target_node_type
    n = d[t].num_nodes
    graphs = [d[t, m, t].edge_index for m in d.metapaths]
    ours = heco_positives(graphs, n, schema.pos_num)
    shipped = d[t].positive_index
    # C_i(j): how many meta-paths connect i and j.
    count = sum(sp.csr_matrix((np.ones(g.size(1)), tuple(g.numpy())),
                              shape=(n, n)) for g in graphs).tocsr()

    def per_row_scores(pairs):
        s = np.asarray(count[pairs[0].numpy().copy(),
                             pairs[1].numpy().copy()]).ravel()
        order = np.lexsort((-s, pairs[0].numpy()))
        return pairs[0].numpy()[order], s[order]

    # Same anchors, same number of positives each, and the same multiset of
    # scores per anchor: the selections differ only among tied candidates.
    r1, s1 = per_row_scores(ours)
    r2, s2 = per_row_scores(shipped)
    assert np.array_equal(r1, r2) and np.array_equal(s1, s2)
    assert (ours[0] == ours[1]).sum() == n  # each node is its own positive
    if name == "ACM-HeCo":
        # np.argsort's tie order dropped the node itself from 923 rows.
        assert int((shipped[0] == shipped[1]).sum()) == n - 923


@pytest.mark.parametrize("name", list(REAL))
def test_real_schema_neighbours_are_the_relation_edges(name):
    # HeCo's nei_*.npy lists (MEOW's nei_*.npz incidences for IMDB) hold, for
    # each target node, its neighbours of one type: the relation edges.
    root = shared_root(name)
    schema = HECO_SCHEMAS[name]
    d = load(name, root=root, metapaths=False, positives=False)
    t = d.target_node_type
    folder = root / "heco" / schema.folder
    for other in schema.schema_neighbors:
        ei = d[t, "to", other].edge_index
        ours = sorted(map(tuple, ei.t().tolist()))
        npy, npz = folder / f"nei_{other[0]}.npy", folder / f"nei_{other[0]}.npz"
        if npy.is_file():
            lists = np.load(npy, allow_pickle=True)
            assert len(lists) == d[t].num_nodes
            theirs = sorted((i, int(j)) for i, row in enumerate(lists)
                            for j in np.atleast_1d(row))
        else:
            inc = sp.load_npz(npz).tocoo()
            theirs = sorted(zip(inc.row.tolist(), inc.col.tolist()))
        assert ours == theirs, other
