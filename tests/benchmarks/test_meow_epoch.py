"""benchmarks/meow_epoch.py: the measured record of a tiny synthetic graph
(patched loader, shrunk config) counts its epochs and k-means runs, its times
and peaks are positive and consistent, and the page renders every row."""

import math

import pytest
import torch
from torch_geometric.data import HeteroData

from gcl.datasets import add_metapaths

pytest.importorskip("faiss")

SHRINK = ["model.nei_max=[4, 4, 4]", "model.num_clusters=[3, 5]",
          "model.hidden_channels=8", "model.embed_channels=8"]


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("benchmarks/meow_epoch.py")


def tiny_freebase(n=30, seed=0):
    """Movies, actors, directors and writers with Freebase-HeCo's names."""
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    sizes = {"movie": n, "actor": 40, "director": 8, "writer": 10}
    for t, k in sizes.items():
        data[t].x = torch.rand(k, 5, generator=g)
        data[t].num_nodes = k
    rels = {}
    for t, per in (("actor", 3), ("director", 1), ("writer", 2)):
        ei = torch.stack([torch.arange(n).repeat(per),
                          torch.randint(0, sizes[t], (per * n,), generator=g)])
        ei = torch.unique(ei, dim=1).contiguous()
        data["movie", "to", t].edge_index = ei
        data[t, "to", "movie"].edge_index = ei.flip(0).contiguous()
        rels[f"m{t[0]}m"] = [("movie", "to", t), (t, "to", "movie")]
    data = add_metapaths(data, rels)
    data.target_node_type = "movie"
    return data


def test_measure_record(bench):
    data = tiny_freebase()
    seen = []

    def loader(name, **kw):
        seen.append((name, kw))
        return data

    rec = bench.measure("Freebase-HeCo", epochs=3, threads=1, overrides=SHRINK,
                        loader=loader)
    assert seen == [("Freebase-HeCo", {"features": "meow", "positives": False})]
    assert rec["dataset"] == "Freebase-HeCo" and rec["target"] == "movie"
    assert rec["target_nodes"] == 30 and rec["torch_threads"] == 1
    assert rec["nodes"] == {"movie": 30, "actor": 40, "director": 8, "writer": 10}
    assert set(rec["metapaths"]) == {"mam", "mdm", "mwm"}
    assert rec["metapaths"]["mdm"] == \
        data["movie", "mdm", "movie"].edge_index.size(1)
    assert rec["num_clusters"] == [3, 5]
    assert rec["epochs"] == 3 and len(rec["wall"]) == len(rec["cpu"]) == 3
    assert rec["kmeans_calls"] == [1, 1, 1]  # re-clustered every epoch
    assert all(t > 0 for t in rec["wall"] + rec["cpu"] + rec["kmeans_wall"])
    assert rec["epoch1_s"] == rec["wall"][0]
    assert rec["median_s"] == pytest.approx(sum(rec["wall"][1:]) / 2)
    assert rec["kmeans_median_s"] == pytest.approx(sum(rec["kmeans_wall"][1:]) / 2)
    # k-means is part of its epoch
    assert all(k <= w for k, w in zip(rec["kmeans_wall"], rec["wall"]))
    assert all(math.isfinite(v) for v in rec["losses"])
    assert rec["prepare_s"] > 0 and rec["load_s"] >= 0
    assert 0 < rec["rss_after_imports_mb"] <= rec["load_peak_mb"] \
        <= rec["prepare_peak_mb"] <= rec["peak_mb"]
    assert rec["train_peak_mb"] <= rec["peak_mb"]
    # the wrapper is gone again
    import gcl.losses
    import gcl.methods.meow
    assert gcl.methods.meow.kmeans_prototypes is gcl.losses.kmeans_prototypes


def test_measure_needs_two_epochs(bench):
    with pytest.raises(ValueError, match="epochs"):
        bench.measure("Freebase-HeCo", epochs=1)


def test_render(bench):
    rec = {"dataset": "X", "target": "movie", "target_nodes": 3,
           "nodes": {"movie": 3, "actor": 1200}, "metapaths": {"mam": 9},
           "num_clusters": [2], "epochs": 3, "load_s": 0.5, "prepare_s": 1.0,
           "prepare_cpu_s": 1.5, "wall": [3.0, 2.0, 4.0], "cpu": [5.0, 4.0, 6.0],
           "epoch1_s": 3.0, "epoch1_cpu_s": 5.0, "median_s": 3.0,
           "median_cpu_s": 5.0, "kmeans_epoch1_s": 1.0, "kmeans_median_s": 1.5,
           "rss_after_imports_mb": 400.0, "load_peak_mb": 500.0,
           "prepare_peak_mb": 600.0, "train_peak_mb": 700.0,
           "train_added_mb": 90.0, "peak_mb": 700.0, "torch_threads": 2,
           "faiss_threads": 2}
    page = bench.render([rec, {"dataset": "Y", "error": "killed by signal 9"}],
                        "cmd", "cpu, 2 cores", "load average: 1", "load average: 2",
                        "Other processes took 0 CPU seconds.")
    assert "| X | movie 3 | movie 3, actor 1,200 | mam 9 | 2 |" in page
    assert "| X | 0.5 | 1.0 (1.5) | 3.0 (5.0) | 3.0 (5.0) | 1.0 / 1.5 (50%) |" in page
    assert "| X | 400 | 500 | 600 | 700 (+90) | 700 |" in page
    assert "- Y: killed by signal 9" in page
    assert "`load average: 1`" in page and "`load average: 2`" in page
    assert "faiss threads 2. Other processes took 0 CPU seconds. Load at" in page
