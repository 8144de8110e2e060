"""InteractionData, the recommendation loaders and the BPR sampler."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gcl.datasets import (
    BPRSampler,
    InteractionData,
    load_interactions,
    read_lightgcl,
    read_lightgcn,
    sample_negatives,
)


def small(seed=0, users=6, items=9, m=25):
    g = torch.Generator().manual_seed(seed)
    keys = torch.randperm(users * items, generator=g)[:m + 6]
    pairs = torch.stack([keys // items, keys % items])
    return InteractionData(users, items, pairs[:, :m], pairs[:, m:], name="toy")


def test_validation_split_is_seeded_disjoint_and_per_user():
    data = small(users=20, items=40, m=300)
    a = data.split_validation(0.2, seed=1)
    b = data.split_validation(0.2, seed=1)
    c = data.split_validation(0.2, seed=2)
    assert torch.equal(a.val, b.val) and not torch.equal(a.val, c.val)
    key = lambda p: set((p[0] * 40 + p[1]).tolist())  # noqa: E731
    assert key(a.train) | key(a.val) == key(data.train)
    assert not key(a.train) & key(a.val)
    deg = torch.bincount(data.train[0], minlength=20)
    val_deg = torch.bincount(a.val[0], minlength=20)
    expect = torch.minimum(torch.floor(0.2 * deg.double() + 0.5).long(), deg - 1)
    assert torch.equal(val_deg, expect.clamp(min=0))
    assert torch.equal(a.test, data.test)
    # carving again starts from train + val
    again = a.split_validation(0.2, seed=1)
    assert torch.equal(again.val, a.val)
    with pytest.raises(ValueError, match="fraction"):
        data.split_validation(1.0)


def test_conversions():
    data = small()
    h = data.to_hetero()
    assert h["user"].num_nodes == 6 and h["item"].num_nodes == 9
    assert torch.equal(h["user", "rates", "item"].edge_index, data.train)
    assert torch.equal(h["item", "rated_by", "user"].edge_index, data.train.flip(0))
    back = InteractionData.from_hetero(h)
    assert torch.equal(back.train, data.train) and torch.equal(back.test, data.test)
    ei = data.edge_index()
    assert ei.shape == (2, 2 * data.train.size(1))
    assert int(ei[1, :data.train.size(1)].min()) >= 6  # items shifted by U
    dense = torch.zeros(6, 9)
    dense[data.train[0], data.train[1]] = 1.0
    norm = dense / torch.sqrt(dense.sum(1, keepdim=True).clamp(min=1)
                              * dense.sum(0, keepdim=True).clamp(min=1))
    assert torch.allclose(data.biadjacency().to_dense(), norm)
    assert torch.equal(data.biadjacency(None).to_dense(), dense)
    assert "users=6" in repr(data)


def test_errors():
    with pytest.raises(ValueError, match="item ids"):
        InteractionData(3, 4, torch.tensor([[0, 1], [1, 4]]))
    with pytest.raises(ValueError, match=r"\[2, M\]"):
        InteractionData(3, 4, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="no interaction"):
        InteractionData(3, 4, torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        InteractionData(3, 4, torch.zeros(2, 1))
    with pytest.raises(ValueError, match="unknown recommendation"):
        load_interactions("no-such-set")


def test_readers(tmp_path):
    (tmp_path / "train.txt").write_text("0 1 2 3\n1 0\n2\n3 4 1\n")
    (tmp_path / "test.txt").write_text("0 5\n1 2 3\n")
    data = read_lightgcn(tmp_path)
    assert (data.num_users, data.num_items) == (4, 6)
    assert data.train.tolist() == [[0, 0, 0, 1, 3, 3], [1, 2, 3, 0, 4, 1]]
    assert load_interactions(tmp_path).train.tolist() == data.train.tolist()
    pk = tmp_path / "pkl"
    pk.mkdir()
    for name, pairs in (("trnMat.pkl", data.train), ("tstMat.pkl", data.test)):
        mat = sp.coo_matrix((np.ones(pairs.size(1)), (pairs[0].numpy(),
                                                      pairs[1].numpy())),
                            shape=(4, 6))
        with open(pk / name, "wb") as f:
            pickle.dump(mat, f)
    lg = read_lightgcl(pk)
    assert (lg.num_users, lg.num_items) == (4, 6)
    assert sorted(map(tuple, lg.train.t().tolist())) == sorted(
        map(tuple, data.train.t().tolist()))
    assert load_interactions(pk).test.size(1) == 3


def test_offline_missing_set_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="rec/yelp2018"):
        load_interactions("Yelp2018", root=tmp_path, download=False)


@pytest.mark.parametrize("mode", ["interaction", "user", "user_batch"])
def test_sampler_triples(mode):
    data = small(users=12, items=30, m=120)
    torch.manual_seed(0)
    batches = BPRSampler(mode, batch_size=5 if mode == "user_batch" else 32,
                         max_pairs=4)(data)
    users = torch.cat([b[0] for b in batches])
    pos = torch.cat([b[1] for b in batches])
    neg = torch.cat([b[2] for b in batches])
    train = set((data.train[0] * 30 + data.train[1]).tolist())
    assert all(k in train for k in (users * 30 + pos).tolist())
    assert not any(k in train for k in (users * 30 + neg).tolist())
    if mode == "interaction":  # every interaction once
        assert sorted((users * 30 + pos).tolist()) == sorted(train)
    if mode == "user_batch":
        deg = torch.bincount(data.train[0], minlength=12)
        assert torch.equal(torch.bincount(users, minlength=12), deg.clamp(max=4))
        for b in batches:  # a batch's pairs belong to its users
            assert set(b[0].tolist()) <= set(b[3].tolist())
        # negatives distinct within a user, as old_setting's permutation prefix
        assert torch.unique(users * 30 + neg).numel() == neg.numel()
    torch.manual_seed(0)
    again = BPRSampler(mode, batch_size=5 if mode == "user_batch" else 32,
                       max_pairs=4)(data)
    assert torch.equal(torch.cat([b[2] for b in again]), neg)


def test_sampler_sees_an_in_place_change_of_the_training_pairs():
    data = small(users=12, items=30, m=120)
    sampler = BPRSampler("interaction", batch_size=1000)
    sampler(data)  # caches the keys of these pairs
    data.train[1] = (data.train[1] + 1) % 30  # every item moved in place
    users, pos, neg = sampler(data)[0]
    train = set((data.train[0] * 30 + data.train[1]).tolist())
    assert sorted((users * 30 + pos).tolist()) == sorted(train)
    assert not any(k in train for k in (users * 30 + neg).tolist())


def test_sample_negatives_distinct_within_a_user():
    # user 0 has items 0..4 of 8: its three free items, each once
    keys = torch.tensor([0, 1, 2, 3, 4, 8 + 7])
    users = torch.tensor([0, 1, 0, 1, 0])
    torch.manual_seed(0)
    neg = sample_negatives(users, keys, 8, distinct=True)
    assert sorted(neg[users == 0].tolist()) == [5, 6, 7]
    assert neg[users == 1].unique().numel() == 2 and 7 not in neg[users == 1]
    with pytest.raises(ValueError, match="fewer free items"):
        sample_negatives(torch.zeros(4, dtype=torch.long), keys, 8,
                         max_rounds=50, distinct=True)


def test_sample_negatives_full_user_raises():
    keys = torch.arange(3)  # user 0 has items 0, 1, 2 = all items
    with pytest.raises(ValueError, match="every item"):
        sample_negatives(torch.tensor([0]), keys, 3, max_rounds=20)


def _root():
    root = os.environ.get("GCL_DATA")
    return Path(root) if root else None


def test_real_counts():
    root = _root()
    if root is None or not (root / "rec" / "gowalla" / "train.txt").is_file():
        pytest.skip("set GCL_DATA to shared/data")
    g = load_interactions("Gowalla", root=root)
    assert (g.num_users, g.num_items) == (29858, 40981)
    assert (g.train.size(1), g.test.size(1)) == (810128, 217242)
    lf = load_interactions("lastfm", root=root)
    assert (lf.num_users, lf.num_items) == (1892, 4489)
    assert (lf.train.size(1), lf.test.size(1)) == (42135, 10533)
