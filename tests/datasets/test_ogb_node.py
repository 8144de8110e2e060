import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

import gcl.datasets._network as network_mod
from gcl.datasets import DatasetNotFoundError, load, load_ogb_node, ogb_node_dir


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """No network, no user cache, no shared data."""
    monkeypatch.delenv("GCL_DATA", raising=False)
    monkeypatch.delenv("GCL_OFFLINE", raising=False)
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(network_mod, "online", lambda url, timeout=0.0: False)


def write_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        for row in np.atleast_2d(rows):
            f.write(",".join(str(v) for v in np.atleast_1d(row)) + "\n")


def fake_arxiv(root: Path) -> Path:
    """A 6-node graph in the raw layout of ogbn-arxiv (time split)."""
    d = ogb_node_dir("ogbn-arxiv", root)
    (d / "RELEASE_v1.txt").parent.mkdir(parents=True)
    (d / "RELEASE_v1.txt").write_text("fake\n")
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 3]])
    write_csv(d / "raw/edge.csv.gz", edges)
    write_csv(d / "raw/num-node-list.csv.gz", [[6]])
    write_csv(d / "raw/num-edge-list.csv.gz", [[len(edges)]])
    write_csv(d / "raw/node-feat.csv.gz", np.arange(6 * 3).reshape(6, 3) / 10)
    write_csv(d / "raw/node-label.csv.gz", np.array([[0], [1], [2], [0], [1], [2]]))
    write_csv(d / "raw/node_year.csv.gz", np.full((6, 1), 2019))
    for part, idx in (("train", [0, 1, 2]), ("valid", [3]), ("test", [4, 5])):
        write_csv(d / f"split/time/{part}.csv.gz", np.array(idx)[:, None])
    return d


def test_load_ogb_node_reads_the_raw_layout(tmp_path):
    fake_arxiv(tmp_path / "root")
    data = load_ogb_node("ogbn-arxiv", root=tmp_path / "root")
    assert data.num_nodes == 6 and data.name == "ogbn-arxiv"
    assert data.edge_index.size(1) == 14  # both directions
    assert torch.equal(data.y, torch.tensor([0, 1, 2, 0, 1, 2]))
    torch.testing.assert_close(data.x[1], torch.tensor([0.3, 0.4, 0.5]))
    assert data.train_mask.tolist() == [True] * 3 + [False] * 3
    assert data.val_mask.nonzero().view(-1).tolist() == [3]
    assert data.test_mask.nonzero().view(-1).tolist() == [4, 5]
    directed = load_ogb_node("ogbn-arxiv", root=tmp_path / "root", undirected=False)
    assert directed.edge_index.size(1) == 7
    # gcl.datasets.load routes ogbn-* names, with the usual normalisation
    raw = data.x
    data = load("OGBN-Arxiv", root=tmp_path / "root", normalize="pyg")
    expect = raw / raw.sum(1, keepdim=True).clamp(min=1.0)  # rows 2.. sum > 1
    torch.testing.assert_close(data.x, expect)
    assert data.x[5].sum() == pytest.approx(1.0)


def test_missing_offline_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("GCL_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="ogbn_products"):
        load_ogb_node("ogbn-products", root=tmp_path)
    with pytest.raises(ValueError, match="unknown OGB node"):
        load_ogb_node("ogbn-mag", root=tmp_path)
