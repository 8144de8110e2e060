import math
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gcl.datasets import load_interactions as datasets_load_interactions
from gcl.eval import ranking, ranking_split


def brute_force(user_emb, item_emb, train, test, ks, zero=False):
    """Python loops and numpy argsort: the textbook definitions (``zero``:
    training items scored 0 instead of removed, LightGCL's old_setting)."""
    u_np, i_np = user_emb.numpy().astype(np.float64), item_emb.numpy().astype(
        np.float64)
    tr, te = {}, {}
    for u, i in train.t().tolist():
        tr.setdefault(u, set()).add(i)
    for u, i in test.t().tolist():
        te.setdefault(u, set()).add(i)
    out = {f"{m}@{k}": [] for k in ks for m in ("recall", "ndcg")}
    for u in range(u_np.shape[0]):
        if not te.get(u):
            continue
        scores = u_np[u] @ i_np.T
        for i in tr.get(u, ()):
            scores[i] = 0.0 if zero else -np.inf
        order = np.argsort(-scores, kind="stable")
        for k in ks:
            top = order[:k]
            hits = [1.0 if i in te[u] and i not in tr.get(u, ()) else 0.0
                    for i in top]
            dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
            idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(te[u]))))
            out[f"recall@{k}"].append(sum(hits) / len(te[u]))
            out[f"ndcg@{k}"].append(dcg / idcg)
    return ({k: float(np.mean(v)) for k, v in out.items()},
            {k: float(np.std(v)) for k, v in out.items()},
            len(out[f"recall@{ks[0]}"]))


def random_case(num_users=37, num_items=50, d=8, m_train=300, m_test=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    user_emb = torch.randn(num_users, d, generator=g)
    item_emb = torch.randn(num_items, d, generator=g)
    # disjoint train/test pairs (duplicates inside each are allowed)
    keys = torch.randperm(num_users * num_items, generator=g)[:m_train + m_test]
    pairs = torch.stack([keys // num_items, keys % num_items])
    train, test = pairs[:, :m_train], pairs[:, m_train:]
    train = torch.cat([train, train[:, :10]], dim=1)  # duplicates
    return user_emb, item_emb, train, test


@pytest.mark.parametrize("batch_size", [3, 1024])
def test_zeroed_training_scores_match_brute_force(batch_size):
    user_emb, item_emb, train, test = random_case(seed=3)
    res = ranking(user_emb, item_emb, train, test, ks=(5, 20),
                  batch_size=batch_size, masking="zero")
    ref, _, _ = brute_force(user_emb, item_emb, train, test, (5, 20), zero=True)
    removed = ranking(user_emb, item_emb, train, test, ks=(5, 20))
    for key in ref:
        assert res.metrics[key] == pytest.approx(ref[key], abs=1e-12)
        # a zeroed training item can outrank test items: never better
        assert res.metrics[key] <= removed.metrics[key] + 1e-12
    assert res.metrics["recall@20"] < removed.metrics["recall@20"]
    assert res.details["masking"].startswith("training items scored 0")
    with pytest.raises(ValueError, match="masking"):
        ranking(user_emb, item_emb, train, test, masking="drop")


@pytest.mark.parametrize("ks", [(20, 40), (1, 5, 10), (50,)])
@pytest.mark.parametrize("batch_size", [1, 7, 1024])
def test_matches_brute_force(ks, batch_size):
    user_emb, item_emb, train, test = random_case()
    res = ranking(user_emb, item_emb, train, test, ks=ks, batch_size=batch_size)
    ref, ref_std, n = brute_force(user_emb, item_emb, train, test, ks)
    assert res.protocol == "full_ranking"
    assert list(res.metrics) == [f"{m}@{k}" for k in ks for m in ("recall", "ndcg")]
    for key in ref:
        assert res.metrics[key] == pytest.approx(ref[key], abs=1e-9)
        assert res.std[key] == pytest.approx(ref_std[key], abs=1e-7)
    assert res.details["num_eval_users"] == n


def test_scipy_sparse_input_equals_edge_index():
    user_emb, item_emb, train, test = random_case(seed=3)
    a = ranking(user_emb, item_emb, train, test, ks=(5, 10))

    def to_sp(p):
        return sp.csr_matrix((np.ones(p.size(1)), (p[0].numpy(), p[1].numpy())),
                             shape=(37, 50))

    b = ranking(user_emb, item_emb, to_sp(train), to_sp(test), ks=(5, 10),
                batch_size=5)
    for key in a.metrics:
        assert a.metrics[key] == pytest.approx(b.metrics[key], abs=1e-12)


def test_hand_computed_single_user():
    # 1 user, 5 items; scores = item_emb[:, 0]: ranking 4 > 3 > 2 > 1 > 0.
    user_emb = torch.tensor([[1.0]])
    item_emb = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    train = torch.tensor([[0], [4]])  # item 4 masked -> ranking 3, 2, 1, 0
    test = torch.tensor([[0, 0], [2, 0]])  # test items {2, 0}: ranks 2 and 4
    res = ranking(user_emb, item_emb, train, test, ks=(1, 2, 3, 4))
    assert res.metrics["recall@1"] == 0.0
    assert res.metrics["ndcg@1"] == 0.0
    assert res.metrics["recall@2"] == 0.5
    idcg2 = 1 + 1 / math.log2(3)
    assert res.metrics["ndcg@2"] == pytest.approx((1 / math.log2(3)) / idcg2)
    assert res.metrics["recall@3"] == 0.5
    assert res.metrics["ndcg@3"] == pytest.approx((1 / math.log2(3)) / idcg2)
    assert res.metrics["recall@4"] == 1.0
    assert res.metrics["ndcg@4"] == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / idcg2)
    assert res.details["num_eval_users"] == 1
    # One run: the printed spread is the one across users, and says so.
    assert str(res).endswith(
        "over 1 run; ± is the population std across evaluated users")


def test_training_items_never_in_top_k():
    # Training items get by far the highest scores; masked, they cannot be hit
    # even where (unusually) a test item is also a training item.
    num_users, num_items = 6, 30
    g = torch.Generator().manual_seed(0)
    user_emb = torch.ones(num_users, 1)
    item_emb = torch.rand(num_items, 1, generator=g)
    item_emb[:10] += 100.0  # items 0..9 dominate every ranking
    users = torch.arange(num_users).repeat_interleave(10)
    train = torch.stack([users, torch.arange(10).repeat(num_users)])
    test = torch.tensor([[0, 1, 2], [3, 20, 21]])  # item 3 is also in train
    res = ranking(user_emb, item_emb, train, test, ks=(5,))
    assert res.metrics["recall@5"] == pytest.approx(
        brute_force(user_emb, item_emb, train, test, (5,))[0]["recall@5"])
    assert res.details["num_train_test_overlap"] == 1
    # user 0's only test item is a training item: recall 0, not 1
    only0 = ranking(user_emb, item_emb, train, test[:, :1], ks=(5,))
    assert only0.metrics["recall@5"] == 0.0
    # K larger than the unmasked items: the -inf tail is never a hit
    full = ranking(user_emb, item_emb, train, test[:, :1], ks=(30,))
    assert full.metrics["recall@30"] == 0.0


def test_users_without_test_items_are_excluded():
    user_emb = torch.tensor([[1.0], [1.0], [1.0]])
    item_emb = torch.tensor([[3.0], [2.0], [1.0]])
    empty = torch.zeros(2, 0, dtype=torch.long)
    test = torch.tensor([[1], [0]])  # only user 1 has a test item, its top item
    res = ranking(user_emb, item_emb, empty, test, ks=(1,))
    assert res.metrics["recall@1"] == 1.0
    assert res.metrics["ndcg@1"] == 1.0
    assert res.details["num_eval_users"] == 1
    assert res.details["num_users_without_test"] == 2


def test_errors():
    user_emb, item_emb, train, test = random_case()
    with pytest.raises(ValueError, match="ks"):
        ranking(user_emb, item_emb, train, test, ks=(51,))
    with pytest.raises(ValueError, match="ks"):
        ranking(user_emb, item_emb, train, test, ks=(0,))
    with pytest.raises(ValueError, match="batch_size"):
        ranking(user_emb, item_emb, train, test, batch_size=0)
    with pytest.raises(ValueError, match="same dimension"):
        ranking(user_emb, item_emb[:, :4], train, test)
    with pytest.raises(ValueError, match="item ids"):
        ranking(user_emb, item_emb[:40], train, test)
    with pytest.raises(ValueError, match="user ids"):
        ranking(user_emb[:10], item_emb, train, test)
    bad = user_emb.clone()
    bad[3, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ranking(bad, item_emb, train, test)
    with pytest.raises(ValueError, match=r"\[2, M\]"):
        ranking(user_emb, item_emb, train.t(), test)
    with pytest.raises(ValueError, match="no user has a test item"):
        ranking(user_emb, item_emb, train, torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="sparse matrix"):
        ranking(user_emb, item_emb, sp.csr_matrix((3, 3)), test)


def _data_root():
    root = os.environ.get("GCL_DATA")
    if root is None:
        return None
    return Path(root)


def test_load_real_gowalla():
    root = _data_root()
    if root is None or not (root / "rec" / "gowalla" / "train.txt").is_file():
        pytest.skip("set GCL_DATA to shared/data to run the real-data check")
    inter = datasets_load_interactions(root / "rec" / "gowalla")
    assert (inter.num_users, inter.num_items) == (29858, 40981)
    assert inter.train.size(1) == 810128
    assert inter.test.size(1) == 217242


def test_exclude_masks_like_training_and_matches_brute_force():
    user_emb, item_emb, train, test = random_case(seed=5)
    extra = train[:, :40]
    res = ranking(user_emb, item_emb, train[:, 40:], test, ks=(5, 20),
                  batch_size=6, exclude=extra)
    ref, _, _ = brute_force(user_emb, item_emb, train, test, (5, 20))
    for key in ref:
        assert res.metrics[key] == pytest.approx(ref[key], abs=1e-12)
    assert res.details["num_excluded"] == 40


def test_ranking_split_masks_validation_for_test():
    from gcl.datasets import InteractionData

    user_emb, item_emb, train, test = random_case(seed=6)
    data = InteractionData(37, 50, train, test).split_validation(0.2, seed=0)
    val = ranking_split(user_emb, item_emb, data, "val", ks=(10,))
    ref_val, _, _ = brute_force(user_emb, item_emb, data.train, data.val, (10,))
    assert val.metrics["recall@10"] == pytest.approx(ref_val["recall@10"], abs=1e-12)
    tst = ranking_split(user_emb, item_emb, data, "test", ks=(10,))
    known = torch.cat([data.train, data.val], dim=1)
    ref_test, _, _ = brute_force(user_emb, item_emb, known, data.test, (10,))
    assert tst.metrics["ndcg@10"] == pytest.approx(ref_test["ndcg@10"], abs=1e-12)
    assert tst.details["split"] == "test"
    no_val = InteractionData(37, 50, train, test)
    with pytest.raises(ValueError, match="split_validation"):
        ranking_split(user_emb, item_emb, no_val, "val")
