import os
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data, HeteroData

from gcl.eval import PROTOCOLS, clustering, heco_protocol, node_classification

# Two classes on a line: +1 is class 1, -1 is class 0. Train and val are clean;
# the test part has one class-0 node sitting at +1 (it cannot be right).
Z = torch.tensor([1.0, 1.0, -1.0, -1.0,          # train 0..3
                  1.0, 1.0, -1.0, -1.0,          # val 4..7
                  1.0, 1.0, 1.0, 1.0,            # test 8..11 (11: class 0)
                  -1.0, -1.0, -1.0, -1.0]).unsqueeze(1)  # test 12..15
Y = torch.tensor([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0])
TRAIN, VAL, TEST = torch.arange(4), torch.arange(4, 8), torch.arange(8, 16)

# By hand, once the probe separates the line (which val selects):
MICRO = 7 / 8                      # 7 of 8 test nodes right
MACRO = (6 / 7 + 8 / 9) / 2        # class 1: TP 3, FP 1; class 0: TP 4, FN 1
AUC = 13.5 / 15                    # 3 x 4 wins + 3 x 1 ties, 3 x 5 pairs


def toy_hetero(with_splits=False):
    d = HeteroData()
    d["paper"].x = Z
    d["paper"].y = Y
    d["author"].num_nodes = 3
    for part, idx in (("train", TRAIN), ("val", VAL), ("test", TEST)):
        m = torch.zeros(16, 1, dtype=torch.bool)
        m[idx, 0] = True
        d["paper"][f"{part}_mask"] = m
    d.shots = [2]
    d.target_node_type = "paper"
    if with_splits:
        d.splits = {2: (TRAIN, VAL, TEST)}
    return d


def test_hand_checked_values_from_heterodata():
    assert PROTOCOLS["heco"] is heco_protocol
    for d in (toy_hetero(), toy_hetero(with_splits=True)):
        res = node_classification(Z, None, "heco", data=d, lr=0.05, runs=4)
        assert res.protocol == "heco" and res.num_runs == 4
        assert res.metrics["micro_f1@2"] == pytest.approx(MICRO)
        assert res.metrics["macro_f1@2"] == pytest.approx(MACRO)
        assert res.metrics["auc@2"] == pytest.approx(AUC)
        assert res.std["micro_f1@2"] == pytest.approx(0.0, abs=1e-12)
        assert res.details["split_sizes"] == {2: [4, 4, 8]}
        assert "best val macro_f1" in res.details["selection"]


def test_defaults_fifty_runs_and_homogeneous_masks():
    d = Data(x=Z, y=Y)
    for part, idx in (("train", TRAIN), ("val", VAL), ("test", TEST)):
        m = torch.zeros(16, dtype=torch.bool)
        m[idx] = True
        d[f"{part}_mask"] = m
    res = node_classification(Z, Y, "heco", data=d, shots=[2], lr=0.05)
    assert res.num_runs == 50  # HeCo's count
    assert res.metrics["macro_f1@2"] == pytest.approx(MACRO)
    given = heco_protocol(Z, Y, splits={2: (TRAIN, VAL, TEST)}, runs=2, lr=0.05)
    assert given.metrics == pytest.approx(res.metrics)


def test_selection_ignores_test_labels():
    # Flipping test labels changes the scores but not the epochs selected on
    # validation: the predictions stay the same, so micro-F1 becomes 1/8.
    y = Y.clone()
    y[TEST] = 1 - y[TEST]
    res = heco_protocol(Z, y, splits={2: (TRAIN, VAL, TEST)}, runs=3, lr=0.05)
    assert res.metrics["micro_f1@2"] == pytest.approx(1 / 8)


def test_errors():
    with pytest.raises(ValueError, match="fixed splits"):
        node_classification(Z, Y, "heco")
    d = toy_hetero()
    del d["paper"].val_mask
    with pytest.raises(ValueError, match="val_mask"):
        heco_protocol(Z, Y, data=d)
    d = toy_hetero()
    del d.shots
    with pytest.raises(ValueError, match="data.shots or shots="):
        heco_protocol(Z, Y, data=d)
    with pytest.raises(ValueError, match="not \\[20\\]"):
        heco_protocol(Z, Y, data=toy_hetero(), shots=[20])
    with pytest.raises(ValueError, match="y is missing"):
        heco_protocol(Z, None, splits={2: (TRAIN, VAL, TEST)})
    with pytest.raises(ValueError, match="outside"):
        heco_protocol(Z, Y, splits={2: (TRAIN, VAL, torch.tensor([99]))})
    with pytest.raises(ValueError, match="NaN"):
        heco_protocol(torch.full((16, 1), float("nan")), Y,
                      splits={2: (TRAIN, VAL, TEST)})


def test_clustering_on_target_labels():
    d = toy_hetero()
    z = torch.cat([Z, Z * 0.5], 1) + 0.01 * torch.arange(16.0).unsqueeze(1)
    res = clustering(z, d[d.target_node_type].y, runs=2)
    y = d["paper"].y
    # k-means on the line splits it at 0: the clusters are the signs of z.
    pred = (Z.view(-1) > 0).long()
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    assert res.metrics["nmi"] == pytest.approx(
        normalized_mutual_info_score(y, pred))
    assert res.metrics["ari"] == pytest.approx(adjusted_rand_score(y, pred))


def test_real_acm_splits_through_the_protocol():
    root = os.environ.get("GCL_DATA")
    if not root or not (Path(root) / "heco" / "acm").is_dir():
        pytest.skip("set GCL_DATA to shared/data to run the real-data check")
    from gcl.datasets import load

    d = load("ACM-HeCo", root=root, metapaths=False, positives=False)
    g = torch.Generator().manual_seed(0)
    # Class-informative 16-d embeddings: label centres plus noise.
    y = d["paper"].y
    z = torch.randn(3, 16, generator=g)[y] + 1.5 * torch.randn(y.numel(), 16,
                                                               generator=g)
    res = node_classification(z, None, "heco", data=d, runs=3, lr=0.05)
    assert res.details["split_sizes"] == {20: [60, 1000, 1000],
                                          40: [120, 1000, 1000],
                                          60: [180, 1000, 1000]}
    for k in (20, 40, 60):
        assert 0.6 < res.metrics[f"micro_f1@{k}"] <= 1.0
        assert res.metrics[f"auc@{k}"] > res.metrics[f"micro_f1@{k}"] - 0.1
