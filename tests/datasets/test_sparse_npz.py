import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data
from torch_geometric.io import read_npz

import gcl.datasets._network as network_mod
from gcl.datasets import RowNormalizeFeatures, get_spec, load
from gcl.datasets.sparse_npz import read_npz_sparse, row_normalize_sparse

# CI points GCL_DATA at ../shared/data; read it before the fixture below clears it.
SHARED = os.environ.get("GCL_DATA")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """No test reads ~/.cache or GCL_DATA unless it asks, none hits the network."""
    monkeypatch.delenv("GCL_DATA", raising=False)
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(network_mod, "online", lambda url, timeout=0.0: False)


def _identity(data):
    return data


def old_path(name, root, normalize):
    """The dense path: PyG dataset, normalisation, then SparseFeatures.

    A user ``transform`` keeps ``load`` on that path; an identity one changes
    nothing else.
    """
    return load(name, root=root, normalize=normalize, sparse_features=True,
                transform=_identity)


def assert_same(new, old):
    assert new.x.dtype == old.x.dtype == torch.float32
    assert new.x.is_sparse == old.x.is_sparse
    if old.x.is_sparse:
        assert new.x.is_coalesced()
        assert torch.equal(new.x.indices(), old.x.indices())
        assert torch.equal(new.x.values(), old.x.values())  # exact
    else:
        assert torch.equal(new.x, old.x)
    assert torch.equal(new.edge_index, old.edge_index)  # same order
    assert torch.equal(new.y, old.y)
    assert new.name == old.name
    assert set(new.keys()) == set(old.keys())


# --------------------------------------------------------------------------- #
# a small hand-made file: duplicates, stored zeros, counts, empty rows, loops
# --------------------------------------------------------------------------- #

# 4 nodes x 20 features, 5 non-zeros after binarising (<= 10 %: sparse).
ATTR_ROWS = [0, 0, 0, 1, 1, 2, 3, 3]
ATTR_COLS = [3, 3, 7, 0, 5, 1, 11, 2]
ATTR_VALS = [1.0, 2.0, 4.0, 0.0, 1.0, 0.0, 1.0, 1.0]  # (0, 3) twice, stored 0s
DENSE_BIN = torch.zeros(4, 20)
DENSE_BIN[0, 3] = DENSE_BIN[0, 7] = DENSE_BIN[1, 5] = 1.0
DENSE_BIN[3, 11] = DENSE_BIN[3, 2] = 1.0  # node 2 has no feature


def write_npz(path: Path, rows=ATTR_ROWS, cols=ATTR_COLS, vals=ATTR_VALS,
              shape=(4, 20)) -> None:
    # CSR arrays by hand: duplicates and stored zeros stay as written
    order = np.argsort(rows, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=shape[0]))])
    adj = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
                                  [1, 0, 0, 0]], dtype=np.float32))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        attr_data=np.array(vals, dtype=np.float32)[order],
        attr_indices=np.array(cols, dtype=np.int32)[order],
        attr_indptr=indptr.astype(np.int32),
        attr_shape=np.array(shape),
        adj_data=adj.data, adj_indices=adj.indices, adj_indptr=adj.indptr,
        adj_shape=np.array(adj.shape),
        labels=np.array([0, 1, 1, 2]),
    )


def test_read_npz_sparse_matches_pyg_reader(tmp_path):
    path = tmp_path / "g.npz"
    write_npz(path)
    ref = read_npz(str(path))  # PyG: dense, binarised, undirected
    assert torch.equal(ref.x, DENSE_BIN)  # duplicates summed, then 1
    data = read_npz_sparse(path)
    assert data.x.is_sparse and data.x.is_coalesced()
    assert data.x.dtype == torch.float32
    assert data.x._nnz() == 5  # the stored zeros are not kept
    assert torch.equal(data.x.values(), torch.ones(5))
    assert torch.equal(data.x.to_dense(), DENSE_BIN)
    assert torch.equal(data.x.indices(), DENSE_BIN.to_sparse().indices())
    assert torch.equal(data.edge_index, ref.edge_index)  # loop (0, 0) removed
    assert data.edge_index.size(1) == 8
    assert data.y.tolist() == [0, 1, 1, 2]


def test_negative_entries_are_kept_as_pyg_keeps_them(tmp_path):
    path = tmp_path / "g.npz"
    write_npz(path, vals=[1.0, 2.0, -3.0, 0.0, 1.0, 0.0, 1.0, 0.5])
    data = read_npz_sparse(path)
    assert torch.equal(data.x.to_dense(), read_npz(str(path)).x)
    assert data.x.to_dense()[0, 7] == -3.0


def test_row_normalize_sparse_hand_computed():
    x = torch.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, 0.0], [0.5, 0.0, 0.0],
                      [0.0, -2.0, 0.0]])
    out = row_normalize_sparse(x.to_sparse())
    expected = torch.tensor([[0.25, 0.0, 0.75], [0.0, 0.0, 0.0],
                             [0.5, 0.0, 0.0], [0.0, -2.0, 0.0]])
    assert out.is_coalesced()
    assert torch.equal(out.to_dense(), expected)  # sums clamped at 1
    assert torch.equal(out.to_dense(), RowNormalizeFeatures()(Data(x=x)).x)


@pytest.mark.parametrize("normalize", [None, "pyg", "legacy"])
def test_load_fake_cs_equals_dense_path(tmp_path, normalize):
    root = tmp_path / "root"
    write_npz(get_spec("CS").raw_dir(root) / "ms_academic_cs.npz")
    new = load("CS", root=root, normalize=normalize, sparse_features=True)
    old = old_path("CS", root, normalize)
    assert new.x.is_sparse
    assert_same(new, old)
    if normalize is not None:
        assert torch.equal(new.x.to_dense()[3], torch.tensor(
            [0.0, 0.0, 0.5] + [0.0] * 8 + [0.5] + [0.0] * 8))


def test_load_fake_cs_negative_minimum_uses_dense_path(tmp_path):
    # PyG's NormalizeFeatures subtracts min(x) = -3: x becomes dense.
    root = tmp_path / "root"
    write_npz(get_spec("CS").raw_dir(root) / "ms_academic_cs.npz",
              vals=[1.0, 2.0, -3.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    for normalize in (None, "pyg", "legacy"):
        new = load("CS", root=root, normalize=normalize, sparse_features=True)
        assert_same(new, old_path("CS", root, normalize))
    assert not load("CS", root=root, normalize="pyg",
                    sparse_features=True).x.is_sparse


def test_load_fake_dense_enough_features_stay_dense(tmp_path):
    # 20 % non-zero: SparseFeatures (max_density 0.1) keeps x dense.
    root = tmp_path / "root"
    rows, cols = [0, 0, 1, 1, 2, 3], [0, 1, 0, 2, 3, 4]
    write_npz(get_spec("Photo").raw_dir(root) / "amazon_electronics_photo.npz",
              rows=rows, cols=cols, vals=[1.0] * 6, shape=(4, 5))
    new = load("Photo", root=root, normalize="pyg", sparse_features=True)
    assert not new.x.is_sparse
    assert_same(new, old_path("Photo", root, "pyg"))


def test_fast_path_writes_nothing(tmp_path):
    root = tmp_path / "root"
    write_npz(get_spec("CS").raw_dir(root) / "ms_academic_cs.npz")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    load("CS", root=root, normalize=None, sparse_features=True)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert not (tmp_path / "cache" / "processed").exists()  # no PyG processing


# --------------------------------------------------------------------------- #
# real data (GCL_DATA): Photo (35 % non-zero: dense) and CS (0.9 %: sparse)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", ["Photo", "CS"])
def test_shared_npz_sparse_equals_dense_path(monkeypatch, name):
    if not SHARED:
        pytest.skip("GCL_DATA is not set")
    root = Path(SHARED).absolute()
    spec = get_spec(name)
    if spec.missing_files(spec.raw_dir(root)):
        pytest.skip(f"{name} is not under {root}")
    # None: PamC's configs; 'pyg': GRACE/GCA/CSGCL; 'legacy': gCooL.
    for normalize in (None, "pyg", "legacy"):
        new = load(name, root=root, normalize=normalize, sparse_features=True)
        old = old_path(name, root, normalize)
        assert new.x.is_sparse == (name == "CS")
        assert new.x.shape == (spec.num_nodes, spec.num_features)
        assert new.edge_index.size(1) == spec.num_edges
        assert_same(new, old)
        del new, old
