import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

from gcl.eval import labels_per_class, load_heco_splits, ovr_auc
from gcl.eval._labels_per_class import _draw_split

FAST = {"epochs": 60}


def separable(n=600, c=3, d=16, seed=0, spread=10.0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % c
    centers = spread * torch.randn(c, d, generator=g)
    return centers[y] + torch.randn(n, d, generator=g), y


def heco_evaluate_reference(z, y, split, c, epochs, lr, seed):
    """HeCo's official ``evaluate`` loop (one repetition), sklearn metrics."""
    tr, va, te = split
    gen = torch.Generator().manual_seed(seed)
    log = torch.nn.Linear(z.size(1), c)
    with torch.no_grad():
        torch.nn.init.xavier_uniform_(log.weight, generator=gen)
        log.bias.zero_()
    opt = torch.optim.Adam(log.parameters(), lr=lr, weight_decay=0.0)
    xent = torch.nn.CrossEntropyLoss()
    val_mi, val_ma, test_mi, test_ma, logits_list = [], [], [], [], []
    for _ in range(epochs):
        opt.zero_grad()
        loss = xent(log(z[tr]), y[tr])
        loss.backward()
        opt.step()
        with torch.no_grad():
            pv = log(z[va]).argmax(1)
            val_ma.append(f1_score(y[va], pv, average="macro"))
            val_mi.append(f1_score(y[va], pv, average="micro"))
            logits = log(z[te])
            pt = logits.argmax(1)
            test_ma.append(f1_score(y[te], pt, average="macro"))
            test_mi.append(f1_score(y[te], pt, average="micro"))
            logits_list.append(logits)
    i_ma = val_ma.index(max(val_ma))
    i_mi = val_mi.index(max(val_mi))
    proba = torch.softmax(logits_list[i_mi], 1).numpy()
    return {"macro_f1": test_ma[i_ma], "micro_f1": test_mi[i_mi],
            "auc": roc_auc_score(y[te].numpy(), proba, multi_class="ovr"),
            "best_val_macro_f1": max(val_ma)}


# ------------------------------------------------------------------ AUC


def test_ovr_auc_hand_case_and_sklearn():
    # binary: positives score 0.9, 0.4; negatives 0.5, 0.1 -> pairs
    # (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1): AUC = 3/4
    y = np.array([1, 1, 0, 0])
    p1 = np.array([0.9, 0.4, 0.5, 0.1])
    proba = np.stack([1 - p1, p1], 1)
    assert ovr_auc(y, proba) == pytest.approx(0.75)
    assert ovr_auc(y, proba) == pytest.approx(roc_auc_score(y, p1))
    # three classes, with a tie
    y = np.array([0, 1, 2, 0, 1, 2])
    proba = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7],
                      [0.3, 0.3, 0.4], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]])
    ref = roc_auc_score(y, proba, multi_class="ovr")
    assert ovr_auc(y, proba) == pytest.approx(ref)
    # by hand for class 0: positives {0.6, 0.3}, negatives {0.2, 0.1, 0.5, 0.3}:
    # 0.6 beats 4; 0.3 beats 0.2, 0.1, ties 0.3 -> 2.5; (4 + 2.5) / 8
    col0 = roc_auc_score(y == 0, proba[:, 0])
    assert col0 == pytest.approx(6.5 / 8)


def test_ovr_auc_random_equals_sklearn():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), 200)
    assert ovr_auc(y, proba) == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr"))


# ------------------------------------------------------------------ protocol


def test_separable_embeddings_score_one():
    z, y = separable()
    res = labels_per_class(z, y, shots=(20, 40), runs=2, val_size=200,
                           test_size=200, **FAST)
    assert res.protocol == "heco"
    assert list(res.metrics) == ["macro_f1@20", "micro_f1@20", "auc@20",
                                 "macro_f1@40", "micro_f1@40", "auc@40"]
    for key, value in res.metrics.items():
        assert value > 0.99, key
    assert res.num_runs == 2
    assert res.details["split_sizes"][20] == [60, 200, 200]
    assert len(res.details["best_val"]) == 4  # 2 shots x 2 runs


def test_drawn_split_sizes():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (3000,), generator=g)
    for k in (20, 60):
        tr, va, te = _draw_split(y, k, 4, 1000, 1000, g)
        assert torch.bincount(y[tr], minlength=4).tolist() == [k] * 4
        assert va.numel() == 1000 and te.numel() == 1000
        allidx = torch.cat([tr, va, te])
        assert torch.unique(allidx).numel() == allidx.numel()  # disjoint
    a = _draw_split(y, 20, 4, 1000, 1000, torch.Generator().manual_seed(1))
    b = _draw_split(y, 20, 4, 1000, 1000, torch.Generator().manual_seed(1))
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_matches_heco_official_loop():
    g = torch.Generator().manual_seed(3)
    c, n = 3, 400
    y = torch.randint(0, c, (n,), generator=g)
    z = torch.randn(c, 8, generator=g)[y] * 0.7 + torch.randn(n, 8, generator=g)
    perm = torch.randperm(n, generator=g)
    split = (perm[:30], perm[30:180], perm[180:])
    res = labels_per_class(z, y, splits={10: split}, runs=1, epochs=40, lr=0.05,
                           seed=7)
    ref = heco_evaluate_reference(z, y, split, c, epochs=40, lr=0.05, seed=7)
    assert 0.4 < ref["micro_f1"] < 1.0  # a non-trivial case
    for name in ("macro_f1", "micro_f1", "auc"):
        assert res.metrics[f"{name}@10"] == pytest.approx(ref[name], abs=1e-6)
    # the validation score the macro-F1 epoch was selected on, kept for
    # choosing between configurations without the test set
    assert res.details["best_val"] == [pytest.approx(ref["best_val_macro_f1"],
                                                     abs=1e-6)]


def test_fixed_splits_runs_differ_only_by_init_and_seed_repeats():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (500,), generator=g)
    z = torch.randn(500, 8, generator=g) + y[:, None].float()
    perm = torch.randperm(500, generator=g)
    splits = {5: (perm[:15], perm[15:215], perm[215:])}
    a = labels_per_class(z, y, splits=splits, runs=3, epochs=30, seed=1)
    b = labels_per_class(z, y, splits=splits, runs=3, epochs=30, seed=1)
    assert a.per_split == b.per_split
    assert a.details["split_sizes"] == {5: [15, 200, 285]}
    assert a.details["splits"] == "given"


def test_errors():
    z, y = separable(n=120)
    with pytest.raises(ValueError, match="fewer than val_size"):
        labels_per_class(z, y, shots=(20,), **FAST)
    with pytest.raises(ValueError, match="fewer than k"):
        labels_per_class(z, y, shots=(41,), val_size=1, test_size=1, **FAST)
    with pytest.raises(ValueError, match="no entry"):
        labels_per_class(z, y, splits={20: (0, 1, 2)}, shots=(40,), **FAST)
    with pytest.raises(ValueError, match="outside"):
        labels_per_class(z, y, splits={1: ([0, 1], [2], [500])}, **FAST)
    with pytest.raises(ValueError, match="must match"):
        labels_per_class(z, y[:-1], **FAST)
    bad = z.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        labels_per_class(bad, y, **FAST)
    with pytest.raises(ValueError, match="runs"):
        labels_per_class(z, y, runs=0, **FAST)
    with pytest.raises(FileNotFoundError, match="train_k.npy"):
        load_heco_splits("/nonexistent/heco/acm")


def test_real_heco_acm_splits():
    root = os.environ.get("GCL_DATA")
    folder = Path(root) / "heco" / "acm" if root else None
    if folder is None or not (folder / "train_20.npy").is_file():
        pytest.skip("set GCL_DATA to shared/data to run the real-data check")
    splits = load_heco_splits(folder)
    assert sorted(splits) == [20, 40, 60]
    y = torch.from_numpy(np.load(folder / "labels.npy")).long()
    for k, (tr, va, te) in splits.items():
        assert (tr.numel(), va.numel(), te.numel()) == (3 * k, 1000, 1000)
        assert torch.bincount(y[tr], minlength=3).tolist() == [k] * 3
    # a fast end-to-end pass on label-informed embeddings
    g = torch.Generator().manual_seed(0)
    z = torch.randn(y.numel(), 8, generator=g) + 5 * torch.nn.functional.one_hot(
        y, 8).float()
    res = labels_per_class(z, y, splits=splits, shots=(20,), runs=2, epochs=50,
                           lr=0.05)
    assert res.metrics["micro_f1@20"] > 0.9
