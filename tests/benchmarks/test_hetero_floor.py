"""benchmarks/hetero_floor.py: the untrained candidates equal their dense
definitions, every candidate is scored, and the page puts the trained
records' means beside them."""

import json
import sys

import pytest
import torch
from torch_geometric.data import HeteroData


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("benchmarks/hetero_floor.py")


def tiny(n=24, f=6, seed=0):
    """Movies with features, 3 classes, two meta-path graphs (no
    self-loops, no repeated pairs) and 3 split columns."""
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["movie"].x = torch.rand(n, f, generator=g) + 0.1
    data["movie"].y = torch.arange(n) % 3
    for rel, k in (("mam", 60), ("mdm", 30)):
        ei = torch.randint(0, n, (2, k), generator=g)
        ei = torch.cat([ei, ei.flip(0)], 1)
        ei = torch.unique(ei[:, ei[0] != ei[1]], dim=1)
        data["movie", rel, "movie"].edge_index = ei
    data["actor"].x = torch.eye(4)
    data["movie", "to", "actor"].edge_index = torch.tensor([[0, 1], [0, 1]])
    idx = torch.arange(n)
    data["movie"].train_mask = torch.stack([idx % 4 == 0] * 3, 1)
    data["movie"].val_mask = torch.stack([idx % 4 == 1] * 3, 1)
    data["movie"].test_mask = torch.stack([idx % 4 >= 2] * 3, 1)
    data.shots = [20, 40, 60]
    data.target_node_type = "movie"
    data.name = "Tiny"
    return data


def dense_propagation(ei, x):
    n = x.size(0)
    a = torch.zeros(n, n)
    a[ei[0], ei[1]] = 1.0
    a = a + torch.eye(n)  # no self-loops in tiny(): one added everywhere
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :] @ x


def test_candidates_match_their_dense_definitions(bench):
    data = tiny()
    out = bench.candidates(data)
    assert list(out) == ["X", "A_mam X", "A_mdm X", "mean_m A_m X"]
    x = data["movie"].x / data["movie"].x.sum(1, keepdim=True)
    torch.testing.assert_close(out["X"], x)
    for rel in ("mam", "mdm"):
        ei = data["movie", rel, "movie"].edge_index
        torch.testing.assert_close(out[f"A_{rel} X"], dense_propagation(ei, x))
    torch.testing.assert_close(out["mean_m A_m X"],
                               (out["A_mam X"] + out["A_mdm X"]) / 2)
    bad = tiny()
    del bad["movie", "mam", "movie"], bad["movie", "mdm", "movie"]
    with pytest.raises(ValueError, match="no meta-path graph"):
        bench.candidates(bad)


def test_score_and_page(bench, tmp_path, monkeypatch):
    data = tiny()
    monkeypatch.setattr(bench, "config_of", lambda ds: {
        "data": {"features": "heco"}, "eval": {"lr": 0.05, "runs": 50}})
    seen = []
    monkeypatch.setattr(bench, "load", lambda ds, **kw: seen.append(kw) or data)
    rows = bench.score("Tiny", runs=2)
    assert seen == [{"features": "heco"}]
    assert [r["candidate"] for r in rows] == ["X", "A_mam X", "A_mdm X",
                                              "mean_m A_m X"]
    for r in rows:
        assert r["runs"] == 2 and r["probe_lr"] == 0.05 and r["dim"] == 6
        assert set(r["metrics"]) == set(bench.METRICS)
        assert all(0.0 <= v <= 100.0 for v in r["metrics"].values())
        assert 0.0 <= r["nmi"] <= 100.0
    # the trained rows: means of the records, in %, NMI only where all have it
    monkeypatch.setattr(bench, "RUNS", tmp_path)
    folder = tmp_path / "heco" / "Tiny" / "config"
    folder.mkdir(parents=True)
    for seed, v in ((0, 0.8), (1, 0.6)):
        rec = {"metrics": {k: v for k in bench.METRICS},
               "tasks": {"clustering": {"metrics": {"nmi": v / 2, "ari": v / 4}}}}
        (folder / f"seed{seed}.json").write_text(json.dumps(rec))
    page = bench.render(rows, {"machine": "m", "command": "c", "date": "d"})
    assert "| Tiny | trained: HeCo (2 seeds) | - | " + " | ".join(
        ["70.00"] * 6) + " | 35.00 | 17.50 | 50 |" in page
    assert page.count("| Tiny | untrained: ") == 4
    assert "<!-- notes:start -->" in page


def test_the_committed_page_is_current(bench, tmp_path, monkeypatch):
    """benchmarks/results/hetero_floor.md is what its stored scores and the
    committed run records (its *trained* rows) give."""
    out = tmp_path / "hetero_floor.md"
    monkeypatch.setattr(sys, "argv", ["hetero_floor.py", "--render-only",
                                      "--out", str(out)])
    bench.main()
    assert out.read_text() == (bench.RESULTS / "hetero_floor.md").read_text(), (
        "benchmarks/results/hetero_floor.md is stale: run "
        "PYTHONPATH=. python benchmarks/hetero_floor.py --render-only")
