import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.transforms import NormalizeFeatures
from torch_geometric.utils import coalesce, contains_self_loops, is_undirected

import gcl.datasets._network as network_mod
from gcl.app.cli import main
from gcl.datasets import (
    DATASETS,
    DatasetNotFoundError,
    available,
    get_spec,
    load,
    raw_dir,
    read_sdcn,
)

# CI points GCL_DATA at ../shared/data; read it before the fixture below clears it.
SHARED = os.environ.get("GCL_DATA")


def _no_network(url, timeout=0.0):
    raise AssertionError(f"probed the network ({url}) for an SDCN data set")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """No test reads ~/.cache or GCL_DATA unless it asks; none probes the network."""
    monkeypatch.delenv("GCL_DATA", raising=False)
    monkeypatch.delenv("GCL_OFFLINE", raising=False)
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(network_mod, "online", _no_network)


def snapshot(root: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


# --------------------------------------------------------------------------- #
# fake SDCN files: 4 nodes, written the way SDCN's files are (CRLF, '%f')
# --------------------------------------------------------------------------- #

FAKE_X = [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
# both directions listed, plus a duplicate, a self-loop and a one-way edge (2->3)
FAKE_EDGES = [(0, 1), (1, 0), (0, 1), (1, 2), (2, 1), (3, 3), (2, 3)]


def write_fake(folder: Path, stem: str, labels, gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(" ".join(f"{v:f}" for v in row) + "\r\n" for row in FAKE_X)
    if gz:
        with gzip.open(folder / f"{stem}.txt.gz", "wt", newline="") as f:
            f.write(text)
    else:
        (folder / f"{stem}.txt").write_text(text, newline="")
    (folder / f"{stem}_graph.txt").write_text(
        "".join(f"{i} {j}\n" for i, j in FAKE_EDGES))
    (folder / f"{stem}_label.txt").write_text("".join(f"{c}\n" for c in labels))
    return folder


# the undirected, coalesced edge set: {0-1, 1-2, 2-3}, self-loop and duplicate gone
FAKE_EDGE_INDEX = [[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]]


# --------------------------------------------------------------------------- #
# registry
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("alias, canonical", [
    ("ACM-SDCN", "ACM-SDCN"),
    ("acm_sdcn", "ACM-SDCN"),
    ("sdcn-acm", "ACM-SDCN"),
    ("Citeseer-SDCN", "Citeseer-SDCN"),
    ("CiteSeer SDCN", "Citeseer-SDCN"),
    ("sdcn-cite", "Citeseer-SDCN"),
    ("cite-sdcn", "Citeseer-SDCN"),
])
def test_aliases(alias, canonical):
    assert get_spec(alias).name == canonical


def test_names_do_not_clash_with_pyg_or_heco():
    assert get_spec("citeseer").family == "pyg"
    assert get_spec("citeseer").name == "CiteSeer"
    with pytest.raises(ValueError, match="ACM-SDCN"):
        get_spec("ACM")  # HeCo's ACM is load_heco_multiplex("acm"), not load()
    specs = [DATASETS["ACM-SDCN"], DATASETS["Citeseer-SDCN"]]
    assert [s.family for s in specs] == ["sdcn", "sdcn"]
    assert [s.loader for s in specs] == ["SDCN", "SDCN"]
    assert not any(s.downloadable for s in specs)
    assert DATASETS["CiteSeer"].loader == "Planetoid"


def test_raw_dir_layout(tmp_path):
    assert raw_dir("ACM-SDCN", tmp_path) == tmp_path / "sdcn" / "acm"
    assert raw_dir("citeseer-sdcn", tmp_path) == tmp_path / "sdcn" / "cite"
    assert get_spec("Citeseer-SDCN").raw_files == (
        "cite.txt.gz", "cite_graph.txt", "cite_label.txt")
    with pytest.raises(TypeError, match="not built by a PyG"):
        get_spec("ACM-SDCN").build(tmp_path)


def test_cli_lists_sdcn_sets(tmp_path, capsys):
    write_fake(tmp_path / "sdcn" / "acm", "acm", [0, 1, 2, 0])
    assert main(["datasets", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    acm = next(ln for ln in lines if ln.startswith("ACM-SDCN "))
    cite = next(ln for ln in lines if ln.startswith("Citeseer-SDCN "))
    assert acm.split() == ["ACM-SDCN", "yes", "3025", "1870", "3", "SDCN"]
    assert cite.split() == ["Citeseer-SDCN", "no", "3327", "3703", "6", "SDCN"]


# --------------------------------------------------------------------------- #
# fake files: values, label shift, read-only root
# --------------------------------------------------------------------------- #


def test_fake_cite_values_and_label_shift(tmp_path):
    root = tmp_path / "root"
    write_fake(root / "sdcn" / "cite", "cite", [1, 6, 3, 1])
    before = snapshot(root)
    assert available(root)["Citeseer-SDCN"] is True
    assert available(root)["ACM-SDCN"] is False
    data = load("Citeseer-SDCN", root=root, normalize=None)
    assert snapshot(root) == before  # nothing written next to the files
    assert not (tmp_path / "cache").exists()  # and nothing cached
    assert data.name == "Citeseer-SDCN"
    assert data.num_nodes == 4
    assert data.x.dtype == torch.float32
    assert torch.equal(data.x, torch.tensor(FAKE_X))
    assert data.y.dtype == torch.long
    assert data.y.tolist() == [0, 5, 2, 0]  # the file's 1..6 mapped to 0..5
    assert data.edge_index.tolist() == FAKE_EDGE_INDEX
    assert not hasattr(data, "train_mask") or data.train_mask is None


def test_fake_acm_normalisation_and_sparse(tmp_path):
    write_fake(tmp_path / "sdcn" / "acm", "acm", [0, 2, 1, 0])
    raw = load("acm-sdcn", root=tmp_path, normalize=None)
    assert raw.y.tolist() == [0, 2, 1, 0]  # ACM's file is already 0-based
    pyg = load("ACM-SDCN", root=tmp_path)  # default: row sums -> 1, zero row kept
    expected = torch.tensor([[0.5, 0.0, 0.5], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                             [1 / 3, 1 / 3, 1 / 3]])
    assert torch.allclose(pyg.x, expected)
    legacy = load("ACM-SDCN", root=tmp_path, normalize="legacy")
    assert torch.allclose(legacy.x, expected)
    sparse = load("ACM-SDCN", root=tmp_path, normalize=None, sparse_features=True)
    assert not sparse.x.is_sparse  # 6 of 12 entries non-zero: too dense to convert

    def add_flag(data):
        data.flag = float(data.x.sum())
        return data

    flagged = load("ACM-SDCN", root=tmp_path, transform=add_flag)
    assert flagged.flag == pytest.approx(3.0)  # after the normalisation


def test_uncompressed_feature_file_is_accepted(tmp_path):
    folder = write_fake(tmp_path / "sdcn" / "acm", "acm", [0, 1, 2, 0], gz=False)
    assert not (folder / "acm.txt.gz").exists()
    assert available(tmp_path)["ACM-SDCN"] is True
    data = load("ACM-SDCN", root=tmp_path, normalize=None)
    assert torch.equal(data.x, torch.tensor(FAKE_X))


def test_missing_file_names_it_and_explains_no_download(tmp_path):
    folder = write_fake(tmp_path / "sdcn" / "cite", "cite", [1, 2, 3, 4])
    (folder / "cite.txt.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        load("Citeseer-SDCN", root=tmp_path)
    msg = str(err.value)
    assert str(folder) in msg
    assert "Missing there: cite.txt.gz (or cite.txt)" in msg
    assert "no stable download URL" in msg
    assert "<root>/sdcn/<name>/" in msg and "GCL_DATA" in msg
    assert err.value.raw_dir == str(folder)
    assert err.value.files == ["cite.txt.gz", "cite_graph.txt", "cite_label.txt"]


def test_missing_folder_offline_and_hint_for_sdcn_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GCL_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="no stable download URL"):
        load("ACM-SDCN", root=tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
    write_fake(tmp_path / "data" / "sdcn" / "acm", "acm", [0, 1, 2, 0])
    with pytest.raises(DatasetNotFoundError) as err:
        load("ACM-SDCN", root=tmp_path / "data" / "sdcn")  # the family folder
    assert f"pass root={tmp_path / 'data'}" in str(err.value)


@pytest.mark.parametrize("labels, edges, rows, match", [
    ([0, 1, 2], None, None, r"shape \(4, 3\); expected 3 rows"),
    ([0, 1, 2, 3], None, None, r"labels run over 0..3; expected 0..2"),
    ([0, 1, 2, 0], [(0, 4)], None, r"node ids in 0..4; expected 0..3"),
    ([0, 1, 2, 0], None, ["1 0 x"], "cannot parse"),
])
def test_inconsistent_files_are_refused(tmp_path, labels, edges, rows, match):
    folder = write_fake(tmp_path / "sdcn" / "acm", "acm", labels)
    if edges is not None:
        (folder / "acm_graph.txt").write_text(
            "".join(f"{i} {j}\n" for i, j in edges))
    if rows is not None:
        with gzip.open(folder / "acm.txt.gz", "wt") as f:
            f.write("\n".join(rows))
    with pytest.raises(ValueError, match=match):
        load("ACM-SDCN", root=tmp_path)


def test_empty_graph_file(tmp_path):
    folder = write_fake(tmp_path / "sdcn" / "acm", "acm", [0, 1, 2, 0])
    (folder / "acm_graph.txt").write_text("")
    data = read_sdcn(get_spec("ACM-SDCN"), folder)
    assert data.edge_index.shape == (2, 0)
    assert data.edge_index.dtype == torch.long


# --------------------------------------------------------------------------- #
# the real files (GCL_DATA, read-only)
# --------------------------------------------------------------------------- #


def _shared_root(name: str) -> Path:
    if not SHARED:
        pytest.skip("GCL_DATA is not set")
    root = Path(SHARED).absolute()
    spec = get_spec(name)
    if spec.missing_files(spec.raw_dir(root)):
        pytest.skip(f"{name} is not under {root}")
    return root


@pytest.mark.parametrize("name, n, f, counts, undirected_edges", [
    ("ACM-SDCN", 3025, 1870, [1061, 965, 999], 13128),
    ("Citeseer-SDCN", 3327, 3703, [264, 590, 668, 701, 596, 508], 4552),
])
def test_real_sdcn_sets(name, n, f, counts, undirected_edges):
    root = _shared_root(name)
    before = snapshot(root / "sdcn")
    data = load(name, root=root, normalize=None)
    assert snapshot(root / "sdcn") == before
    spec = get_spec(name)
    assert data.name == name
    assert data.num_nodes == n == spec.num_nodes
    assert data.x.shape == (n, f) and f == spec.num_features
    assert data.x.dtype == torch.float32 and not data.x.is_sparse
    assert set(data.x.unique().tolist()) == {0.0, 1.0}  # binary features
    assert torch.bincount(data.y).tolist() == counts
    assert len(counts) == spec.num_classes
    assert data.edge_index.size(1) == 2 * undirected_edges == spec.num_edges
    assert is_undirected(data.edge_index, num_nodes=n)
    assert not contains_self_loops(data.edge_index)
    assert torch.equal(coalesce(data.edge_index, num_nodes=n), data.edge_index)
    # the edge list is the file's: both directions listed, no line dropped
    lines = (spec.raw_dir(root) / spec.raw_files[1]).read_text().split("\n")
    assert sum(1 for ln in lines if ln.strip()) == data.edge_index.size(1)


def test_real_citeseer_sdcn_equals_pyg_citeseer():
    root = _shared_root("Citeseer-SDCN")
    if get_spec("CiteSeer").missing_files(get_spec("CiteSeer").raw_dir(root)):
        pytest.skip("PyG CiteSeer is not under the root")
    sdcn = load("Citeseer-SDCN", root=root, normalize=None)
    pyg = load("CiteSeer", root=root, normalize=None)
    # cite.txt printed PyG's features with '%f': equal up to that formatting
    assert torch.allclose(sdcn.x, pyg.x, atol=1e-6, rtol=0)
    # same node order: the same graph (PyG sorts by target, so coalesce both)
    assert torch.equal(sdcn.edge_index, coalesce(pyg.edge_index, num_nodes=3327))
    # labels 1..6 in the file, 0..5 after the shift: PyG's classes exactly
    assert torch.equal(sdcn.y, pyg.y)
    # and so also after the same normalisation
    assert torch.allclose(NormalizeFeatures()(sdcn.clone()).x,
                          load("CiteSeer", root=root).x, atol=1e-6, rtol=0)


def test_real_acm_sdcn_is_not_hecos_acm():
    root = _shared_root("ACM-SDCN")
    data = load("ACM-SDCN", root=root, normalize=None, sparse_features=True)
    assert data.x.is_sparse  # binary keywords, sparse enough to convert
    assert data.x.shape == (3025, 1870)
    heco = root / "heco" / "acm" / "labels.npy"
    if heco.is_file():
        assert np.load(heco).shape[0] == 4019  # a different paper set
