import json
import os
import shutil
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid, WikiCS
from torch_geometric.transforms import NormalizeFeatures

import gcl.datasets._network as network_mod
from gcl.datasets import (
    DATASETS,
    DatasetNotFoundError,
    RowNormalizeFeatures,
    available,
    cache_dir,
    data_root,
    get_spec,
    load,
    raw_dir,
)
from gcl.datasets.paths import bundled_root

# CI points GCL_DATA at ../shared/data; read it before the fixture below clears it.
SHARED = os.environ.get("GCL_DATA")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """No test reads ~/.cache or GCL_DATA unless it asks, none hits the network."""
    monkeypatch.delenv("GCL_DATA", raising=False)
    monkeypatch.delenv("GCL_OFFLINE", raising=False)
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    def no_network(url, timeout=0.0):
        return False

    monkeypatch.setattr(network_mod, "online", no_network)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, size and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


def processed_entries(cache: Path) -> list[Path]:
    base = cache / "processed"
    return sorted(base.iterdir()) if base.exists() else []


# --------------------------------------------------------------------------- #
# fake raw files (for datasets that are not available offline)
# --------------------------------------------------------------------------- #

WIKI_X = [[-1.0, 2.0, 3.0], [0.5, 0.25, 0.0], [0.0, 0.0, 0.0], [1.0, -0.5, 0.5]]


def write_fake_wikics(raw: Path) -> None:
    n = len(WIKI_X)
    masks = [[(i + k) % 2 == 0 for i in range(n)] for k in range(20)]
    doc = {
        "features": WIKI_X,
        "labels": [0, 1, 0, 1],
        "links": [[1], [2], [3], []],
        "train_masks": masks,
        "val_masks": masks,
        "stopping_masks": masks,
        "test_mask": [True, False, True, False],
    }
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "data.json").write_text(json.dumps(doc))


def write_fake_dblp(raw: Path) -> None:
    import scipy.sparse as sp

    attr = sp.csr_matrix(np.array([[1, 0], [0, 2], [3, 0]], dtype=np.float32))
    adj = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32))
    raw.mkdir(parents=True, exist_ok=True)
    np.savez(
        raw / "dblp.npz",
        attr_data=attr.data,
        attr_indices=attr.indices,
        attr_indptr=attr.indptr,
        attr_shape=attr.shape,
        adj_data=adj.data,
        adj_indices=adj.indices,
        adj_indptr=adj.indptr,
        adj_shape=adj.shape,
        labels=np.array([0, 1, 1]),
    )


# --------------------------------------------------------------------------- #
# registry and paths
# --------------------------------------------------------------------------- #


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as err:
        load("NotADataset")
    for name in DATASETS:
        assert name in str(err.value)


@pytest.mark.parametrize(
    "alias, canonical",
    [
        ("cora", "Cora"),
        ("citeseer", "CiteSeer"),
        ("PUBMED", "PubMed"),
        ("amazon-photo", "Photo"),
        ("Amazon_Computers", "Computers"),
        ("coauthor-cs", "CS"),
        ("coauthor physics", "Physics"),
        ("wiki-cs", "WikiCS"),
        ("dblp", "DBLP"),
    ],
)
def test_aliases(alias, canonical):
    assert get_spec(alias).name == canonical


def test_bad_normalize():
    with pytest.raises(ValueError, match="normalize"):
        load("Cora", normalize="l2")


def test_root_resolution(monkeypatch, tmp_path):
    assert data_root() == tmp_path / "xdg" / "gcl"
    monkeypatch.setenv("GCL_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("GCL_CACHE")
    assert cache_dir() == tmp_path / "xdg" / "gcl"
    assert raw_dir("pubmed", tmp_path) == tmp_path / "pyg" / "PubMed" / "raw"
    assert raw_dir("WikiCS", tmp_path) == tmp_path / "pyg" / "WikiCS" / "raw"
    assert raw_dir("DBLP", tmp_path) == tmp_path / "pyg" / "DBLP" / "raw"


def test_available_empty_root(tmp_path):
    avail = available(tmp_path / "empty")
    assert set(avail) == set(DATASETS)
    assert avail["Cora"] is True  # bundled
    assert not any(v for k, v in avail.items() if k != "Cora")
    write_fake_wikics(tmp_path / "r" / "pyg" / "WikiCS" / "raw")
    assert available(tmp_path / "r")["WikiCS"] is True


# --------------------------------------------------------------------------- #
# bundled Cora and the processed cache
# --------------------------------------------------------------------------- #


def test_cora_bundled(tmp_path):
    before = snapshot(bundled_root())
    data = load("Cora")
    assert snapshot(bundled_root()) == before  # nothing written into the package
    assert data.name == "Cora"
    assert data.num_nodes == 2708
    assert data.edge_index.shape == (2, 10556)
    assert data.num_features == 1433
    assert int(data.y.max()) + 1 == 7
    assert data.x.dtype == torch.float32
    assert int(data.train_mask.sum()) == 140
    assert int(data.val_mask.sum()) == 500
    assert int(data.test_mask.sum()) == 1000
    assert bool(data.train_mask[:140].all())  # the public split: first 140 nodes
    rows = data.x.sum(dim=1)
    ok = torch.isclose(rows, torch.ones_like(rows)) | (rows == 0)
    assert bool(ok.all())

    raw = load("Cora", normalize=None)
    assert set(raw.x.unique().tolist()) == {0.0, 1.0}  # binary bag-of-words
    expected = raw.x / raw.x.sum(1, keepdim=True).clamp(min=1)
    assert torch.allclose(data.x, expected)
    assert torch.equal(raw.edge_index, data.edge_index)


def test_second_load_reuses_processed_cache(monkeypatch, tmp_path):
    load("Cora")
    cache = tmp_path / "cache"
    entries = processed_entries(cache)
    assert len(entries) == 1 and not entries[0].name.startswith(".")
    link = entries[0] / "Cora" / "raw"
    assert link.is_symlink()
    assert link.resolve() == (bundled_root() / "Cora" / "raw").resolve()
    pt = entries[0] / "Cora" / "processed" / "data.pt"
    assert pt.is_file()
    mtime = pt.stat().st_mtime_ns

    def fail(self):
        raise AssertionError("processed again instead of reusing the cache")

    monkeypatch.setattr(Planetoid, "process", fail)
    data = load("cora")
    assert data.num_nodes == 2708
    assert pt.stat().st_mtime_ns == mtime
    assert processed_entries(cache) == entries

    link.unlink()  # a removed raw link is restored, not downloaded into
    assert load("Cora").num_nodes == 2708
    assert link.is_symlink() and pt.stat().st_mtime_ns == mtime


def test_copy_when_symlinks_fail(monkeypatch, tmp_path):
    def no_symlink(self, *args, **kwargs):
        raise OSError("symlinks not supported")

    monkeypatch.setattr(Path, "symlink_to", no_symlink)
    data = load("Cora")
    assert data.num_nodes == 2708
    (entry,) = processed_entries(tmp_path / "cache")
    copied = entry / "Cora" / "raw"
    assert not copied.is_symlink()
    assert (copied / "ind.cora.x").is_file()


def test_cora_in_root_is_preferred_over_bundle(tmp_path):
    root = tmp_path / "root"
    write_fake_wikics(root / "pyg" / "WikiCS" / "raw")  # root without Cora
    assert load("Cora", root=root).num_nodes == 2708  # falls back to the bundle
    mine = root / "pyg" / "Cora" / "raw"
    shutil.copytree(bundled_root() / "Cora" / "raw", mine)
    load("Cora", root=root)
    targets = {
        (e / "Cora" / "raw").resolve() for e in processed_entries(tmp_path / "cache")
    }
    assert targets == {mine.resolve(), (bundled_root() / "Cora" / "raw").resolve()}


# --------------------------------------------------------------------------- #
# normalisation
# --------------------------------------------------------------------------- #


def test_row_normalize_hand_computed():
    x = torch.tensor(WIKI_X)
    data = Data(x=x.clone())
    legacy = RowNormalizeFeatures()(data)
    pyg = NormalizeFeatures()(Data(x=x.clone()))
    assert torch.equal(data.x, x)  # input untouched
    # legacy: divide by max(1, row sum); no min subtraction.
    expected_legacy = torch.tensor(
        [[-0.25, 0.5, 0.75], [0.5, 0.25, 0.0], [0.0, 0.0, 0.0], [1.0, -0.5, 0.5]]
    )
    # pyg: subtract the global min (-1) first, then divide by max(1, row sum).
    expected_pyg = torch.tensor(
        [
            [0.0, 3 / 7, 4 / 7],
            [1.5 / 3.75, 1.25 / 3.75, 1.0 / 3.75],
            [1 / 3, 1 / 3, 1 / 3],
            [2 / 4, 0.5 / 4, 1.5 / 4],
        ]
    )
    assert torch.allclose(legacy.x, expected_legacy)
    assert torch.allclose(pyg.x, expected_pyg)
    assert not torch.allclose(legacy.x, pyg.x)


def test_row_normalize_attrs_and_repr():
    data = Data(x=torch.ones(2, 4), h=torch.full((2, 2), 2.0))
    out = RowNormalizeFeatures(attrs=["h"])(data)
    assert torch.equal(out.x, torch.ones(2, 4))
    assert torch.allclose(out.h, torch.full((2, 2), 0.5))
    assert repr(RowNormalizeFeatures()) == "RowNormalizeFeatures(attrs=['x'])"


def test_legacy_equals_pyg_on_nonnegative_features():
    legacy = load("Cora", normalize="legacy")
    pyg = load("Cora", normalize="pyg")
    assert torch.equal(legacy.x, pyg.x)


def test_user_transform_runs_after_normalisation():
    def add_flag(data):
        data.flag = float(data.x.sum())
        return data

    data = load("Cora", transform=add_flag)
    assert data.flag == pytest.approx(float((data.x.sum(1) > 0).sum()), rel=1e-4)


# --------------------------------------------------------------------------- #
# WikiCS and DBLP layouts (fake raw files; the real ones are not offline)
# --------------------------------------------------------------------------- #


def test_fake_wikics_layout_masks_and_normalisation(tmp_path):
    root = tmp_path / "root"
    write_fake_wikics(root / "pyg" / "WikiCS" / "raw")
    before = snapshot(root)
    legacy = load("wiki-cs", root=root, normalize="legacy")
    pyg = load("WikiCS", root=root, normalize="pyg")
    raw = load("WikiCS", root=root, normalize=None)
    assert snapshot(root) == before  # processed/ went to the cache
    assert legacy.name == "WikiCS"
    assert legacy.train_mask.shape == (4, 20)
    assert legacy.val_mask.shape == (4, 20)
    assert legacy.test_mask.shape == (4,)
    assert torch.equal(raw.x, torch.tensor(WIKI_X))
    assert torch.allclose(legacy.x, RowNormalizeFeatures()(Data(x=raw.x)).x)
    assert torch.allclose(pyg.x, NormalizeFeatures()(Data(x=raw.x.clone())).x)
    assert not torch.allclose(legacy.x, pyg.x)  # negative GloVe-like features
    assert raw.edge_index.size(1) == 6  # 3 links, made undirected


def test_fake_dblp_layout(tmp_path):
    root = tmp_path / "root"
    write_fake_dblp(root / "pyg" / "DBLP" / "raw")
    before = snapshot(root)
    data = load("DBLP", root=root, normalize=None)
    assert snapshot(root) == before
    assert data.name == "DBLP"
    assert data.x.dtype == torch.float32
    assert torch.equal(data.x, torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    assert data.edge_index.size(1) == 4
    assert data.y.tolist() == [0, 1, 1]


# --------------------------------------------------------------------------- #
# missing datasets and downloads
# --------------------------------------------------------------------------- #


def test_missing_dataset_offline_fails_fast(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError) as err:
        load("PubMed", root=root)
    assert time.perf_counter() - start < 5
    msg = str(err.value)
    target = root / "pyg" / "PubMed" / "raw"
    assert str(target) in msg
    assert "ind.pubmed.allx" in msg and "ind.pubmed.test.index" in msg
    assert "GCL_DATA" in msg
    assert isinstance(err.value, FileNotFoundError)
    assert err.value.raw_dir == str(target)
    assert list(root.iterdir()) == []  # nothing created in the root


def test_offline_env_skips_network_probe(monkeypatch, tmp_path):
    def probe(url, timeout=0.0):
        raise AssertionError("probed the network although GCL_OFFLINE=1")

    monkeypatch.setattr(network_mod, "online", probe)
    monkeypatch.setenv("GCL_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="GCL_OFFLINE"):
        load("Photo", root=tmp_path)


def test_failed_download_is_wrapped_and_cleaned(monkeypatch, tmp_path):
    monkeypatch.setattr(network_mod, "online", lambda url, timeout=0.0: True)

    def broken(self):
        raise URLError("unreachable")

    monkeypatch.setattr(Planetoid, "download", broken)
    root = tmp_path / "root"
    with pytest.raises(DatasetNotFoundError, match="download failed") as err:
        load("CiteSeer", root=root)
    assert isinstance(err.value.__cause__, URLError)
    assert "ind.citeseer.x" in str(err.value)
    assert not root.exists()
    downloads = tmp_path / "cache" / "downloads"
    assert list(downloads.iterdir()) == []  # staging removed


def test_download_goes_into_root_then_is_reused(monkeypatch, tmp_path):
    monkeypatch.setattr(network_mod, "online", lambda url, timeout=0.0: True)
    calls = []

    def fake_download(self):
        calls.append(self.raw_dir)
        write_fake_wikics(Path(self.raw_dir))

    monkeypatch.setattr(WikiCS, "download", fake_download)
    root = tmp_path / "root"
    data = load("WikiCS", root=root, normalize=None)
    assert len(calls) == 1
    assert not Path(calls[0]).is_relative_to(root)  # staged in the cache first
    assert data.num_nodes == 4
    assert (root / "pyg" / "WikiCS" / "raw" / "data.json").is_file()
    assert sorted(p.name for p in (root / "pyg" / "WikiCS").iterdir()) == ["raw"]
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []

    load("WikiCS", root=root)
    assert len(calls) == 1  # found on disk, no second download


def test_hint_when_pyg_folder_passed_as_root(tmp_path):
    raw = tmp_path / "data" / "pyg" / "PubMed" / "raw"
    raw.mkdir(parents=True)
    for name in get_spec("PubMed").raw_files:
        (raw / name).touch()
    with pytest.raises(DatasetNotFoundError) as err:
        load("PubMed", root=tmp_path / "data" / "pyg")
    assert f"pass root={tmp_path / 'data'}" in str(err.value)


# --------------------------------------------------------------------------- #
# real data from GCL_DATA (read-only root)
# --------------------------------------------------------------------------- #

SHARED_CASES = [
    # name, nodes, edges, features, classes, public split sizes or None
    ("CiteSeer", 3327, 9104, 3703, 6, (120, 500, 1000)),
    ("Photo", 7650, 238162, 745, 8, None),
    ("Computers", 13752, 491722, 767, 10, None),
    ("CS", 18333, 163788, 6805, 15, None),
]


@pytest.mark.parametrize("name, n, e, f, c, split", SHARED_CASES)
def test_shared_data_read_only(monkeypatch, name, n, e, f, c, split):
    if not SHARED:
        pytest.skip("GCL_DATA is not set")
    root = Path(SHARED).absolute()
    spec = get_spec(name)
    if spec.missing_files(spec.raw_dir(root)):
        pytest.skip(f"{name} is not under {root}")
    monkeypatch.setenv("GCL_DATA", str(root))
    assert available()[name] is True
    before = snapshot(root)
    # CS's dense features are large: skip normalisation to keep memory low.
    data = load(name, normalize=None if name == "CS" else "pyg")
    assert snapshot(root) == before, "something was written into the data root"
    assert data.name == spec.name
    assert data.num_nodes == n == spec.num_nodes
    assert data.edge_index.size(1) == e == spec.num_edges
    assert data.num_features == f == spec.num_features
    assert int(data.y.max()) + 1 == c == spec.num_classes
    assert data.x.dtype == torch.float32
    if split is not None:
        sizes = tuple(
            int(m.sum()) for m in (data.train_mask, data.val_mask, data.test_mask)
        )
        assert sizes == split
