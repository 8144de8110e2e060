import gzip
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import gcl.datasets._network as network_mod
from gcl.datasets import DatasetNotFoundError
from gcl.datasets.ogb_link import load_ogb_link, ogb_link_dir
from gcl.eval import ogb_link_prediction

# CI points GCL_DATA at ../shared/data; read it before the fixture below clears it.
SHARED = os.environ.get("GCL_DATA")
FLAG = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """No test reads ~/.cache or GCL_DATA unless it asks, none hits the network."""
    monkeypatch.delenv("GCL_DATA", raising=False)
    monkeypatch.delenv("GCL_OFFLINE", raising=False)
    monkeypatch.delenv(FLAG, raising=False)
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(network_mod, "online", lambda url, timeout=0.0: False)
    torch.set_num_threads(1)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, size and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


# A tiny ogbl-ddi look-alike: 8 nodes, a ring of training edges.
N = 8
TRAIN = np.array([[i, (i + 1) % N] for i in range(N)], dtype=np.int64)
VALID = np.array([[0, 2], [1, 3]], dtype=np.int64)
VALID_NEG = np.array([[0, 4], [1, 5], [2, 6]], dtype=np.int64)
TEST = np.array([[4, 6], [5, 7]], dtype=np.int64)
TEST_NEG = np.array([[0, 5], [3, 7]], dtype=np.int64)


def write_csv_gz(path: Path, rows) -> None:
    with gzip.open(path, "wt") as f:
        for row in rows:
            f.write(",".join(str(v) for v in np.atleast_1d(row)) + "\n")


def write_fake_ddi(folder: Path) -> Path:
    (folder / "raw").mkdir(parents=True)
    (folder / "split" / "target").mkdir(parents=True)
    (folder / "mapping").mkdir()
    (folder / "RELEASE_v1.txt").write_text("fake ogbl-ddi for tests\n")
    write_csv_gz(folder / "raw" / "edge.csv.gz", TRAIN)
    write_csv_gz(folder / "raw" / "num-node-list.csv.gz", [N])
    write_csv_gz(folder / "raw" / "num-edge-list.csv.gz", [len(TRAIN)])
    write_csv_gz(folder / "mapping" / "nodeidx2drugid.csv.gz", range(N))
    split = folder / "split" / "target"
    torch.save({"edge": TRAIN}, split / "train.pt")
    torch.save({"edge": VALID, "edge_neg": VALID_NEG}, split / "valid.pt")
    torch.save({"edge": TEST, "edge_neg": TEST_NEG}, split / "test.pt")
    return folder


def check_fake(data, split_edge) -> None:
    assert data.num_nodes == N and data.name == "ogbl-ddi"
    assert data.edge_index.shape == (2, 2 * N)  # OGB adds the inverse edges
    got = set(zip(*data.edge_index.tolist()))
    want = {(int(u), int(v)) for u, v in TRAIN} | {(int(v), int(u)) for u, v in TRAIN}
    assert got == want
    assert torch.equal(split_edge["train"]["edge"], torch.from_numpy(TRAIN))
    assert torch.equal(split_edge["valid"]["edge_neg"], torch.from_numpy(VALID_NEG))
    assert torch.equal(split_edge["test"]["edge"], torch.from_numpy(TEST))


def test_fake_ddi_read_only_root_features_and_cache(tmp_path, monkeypatch):
    root = tmp_path / "data"
    write_fake_ddi(root / "ogb" / "ogbl_ddi")
    assert ogb_link_dir("ogbl-ddi", root) == root / "ogb" / "ogbl_ddi"
    before = snapshot(root)
    data, split_edge = load_ogb_link("ogbl-ddi", root=root)
    assert snapshot(root) == before  # nothing written next to the raw files
    assert FLAG not in os.environ  # set during the load only
    assert data.x is None
    check_fake(data, split_edge)
    processed = list((tmp_path / "cache" / "ogb").glob("*/ogbl_ddi/processed/*.pt"))
    assert processed
    mtimes = {p: p.stat().st_mtime_ns for p in processed}

    x_id, _ = load_ogb_link("ogbl-ddi", root=root, features="identity")
    assert torch.equal(x_id.x, torch.eye(N))
    x_deg, _ = load_ogb_link("ogbl-ddi", root=root, features="onehot_degree")
    assert x_deg.x.shape == (N, 3) and torch.equal(x_deg.x[:, 2], torch.ones(N))
    assert {p: p.stat().st_mtime_ns for p in processed} == mtimes  # reused
    assert snapshot(root) == before

    # GCL_DATA is the default root.
    monkeypatch.setenv("GCL_DATA", str(root))
    check_fake(*load_ogb_link())


def test_missing_files_offline_error(tmp_path, monkeypatch):
    root = tmp_path / "empty"
    with pytest.raises(DatasetNotFoundError) as info:
        load_ogb_link("ogbl-ddi", root=root)
    msg = str(info.value)
    target = root / "ogb" / "ogbl_ddi"
    assert str(target) in msg and "raw/edge.csv.gz" in msg and "GCL_DATA" in msg
    assert "no network" in msg and info.value.raw_dir == str(target)
    assert not root.exists()  # nothing created on failure
    monkeypatch.setenv("GCL_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="GCL_OFFLINE"):
        load_ogb_link("ogbl-ddi", root=root)
    # Passing the ogb/ folder itself as root: the message points to the right one.
    write_fake_ddi(tmp_path / "d" / "ogb" / "ogbl_ddi")
    with pytest.raises(DatasetNotFoundError, match=r"pass root=.*[/\\]d\b"):
        load_ogb_link("ogbl-ddi", root=tmp_path / "d" / "ogb")


def test_download_moves_files_into_root(tmp_path, monkeypatch):
    src = write_fake_ddi(tmp_path / "zipsrc" / "ddi")
    archive = tmp_path / "ddi.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(src.parent))
    import ogb.utils.url as ogb_url

    def fake_download(url, folder, log=True):
        assert url.endswith("/ddi.zip")
        dest = Path(folder) / "ddi.zip"
        shutil.copyfile(archive, dest)
        return str(dest)

    monkeypatch.setattr(ogb_url, "download_url", fake_download)
    monkeypatch.setattr(network_mod, "online", lambda url, timeout=0.0: True)
    root = tmp_path / "root"
    check_fake(*load_ogb_link("ogbl-ddi", root=root))
    assert (root / "ogb" / "ogbl_ddi" / "raw" / "edge.csv.gz").is_file()
    assert not (root / "ogb" / "ogbl_ddi" / "processed").exists()
    assert not list((tmp_path / "cache" / "downloads").glob(".*"))  # staging gone


def test_bad_arguments():
    with pytest.raises(ValueError, match="features"):
        load_ogb_link("ogbl-ddi", features="degree")
    with pytest.raises(ValueError, match="unknown OGB link data set"):
        load_ogb_link("ogbl-nope")
    with pytest.raises(ValueError, match="heterogeneous"):
        load_ogb_link("ogbl-biokg")


@pytest.mark.skipif(SHARED is None, reason="GCL_DATA (../shared/data) is not set")
def test_real_ogbl_ddi_read_only_and_hits():
    root = Path(SHARED)
    folder = root / "ogb" / "ogbl_ddi"
    if not (folder / "RELEASE_v1.txt").is_file():
        pytest.skip(f"no ogbl-ddi under {root}")
    before = snapshot(root / "ogb")
    data, split_edge = load_ogb_link("ogbl-ddi", root=root)
    assert snapshot(root / "ogb") == before
    assert FLAG not in os.environ
    assert data.num_nodes == 4267 and data.x is None
    assert data.edge_index.shape == (2, 2_135_822)
    assert split_edge["train"]["edge"].shape == (1_067_911, 2)
    assert split_edge["valid"]["edge"].shape == (133_489, 2)
    assert split_edge["valid"]["edge_neg"].shape == (101_882, 2)
    assert split_edge["test"]["edge"].shape == (133_489, 2)
    assert split_edge["test"]["edge_neg"].shape == (95_599, 2)

    z = torch.randn(data.num_nodes, 16, generator=torch.Generator().manual_seed(0))
    res = ogb_link_prediction(z, split_edge, scorers=("dot", "hadamard_lr"),
                              max_train_edges=2000, c_grid=(1.0,))
    assert res.protocol == "ogb_hits" and 0.0 <= res["hits@20"] <= 1.0
    dot = res.details["scorers"]["dot"]
    p, q = split_edge["test"]["edge"], split_edge["test"]["edge_neg"]
    sp = (z[p[:, 0]] * z[p[:, 1]]).sum(1).double().numpy()
    sn = (z[q[:, 0]] * z[q[:, 1]]).sum(1).double().numpy()
    assert dot["test_hits@20"] == pytest.approx(np.mean(sp > np.sort(sn)[-20]))
    assert res.details["num_val_neg"] == 101_882
