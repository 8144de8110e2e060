import copy
import math
import warnings

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.augment import CommunalAttributeVoting, cav_drop_prob, cav_votes
from gcl.community import community_strength, detect
from gcl.datasets import SparseFeatures, load

COMM = torch.tensor([0, 0, 1, 1])
EI = to_undirected(torch.tensor([[0, 1, 2], [1, 2, 3]]))


def toy(zero_column=True):
    x = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0],
                      [0.0, 0.0, 1.0]])
    if zero_column:
        x = torch.cat([x, torch.zeros(4, 1)], dim=1)
    return Data(x=x, edge_index=EI)


def official_cav_prob(x, node_cs, p, thr, dense):
    """The official cav / cav_dense probabilities, written out densely."""
    w = x.abs().t().double() @ node_cs.double()
    if not dense:
        w[w == 0] = w.max()
    w = w.log()
    w = (w.max() - w) / (w.max() - w.min())
    w = w / w.mean() * p
    w = torch.where(w < thr, w, torch.full_like(w, thr))
    if not dense:
        w = torch.where(w > 0, w, torch.zeros_like(w))
    return w


def test_sparse_variant_by_hand():
    # S = [0.2, 0.2, 0.05, 0.05]: votes 0.4, 0.25, 0.05, 0 -> 0 becomes 0.4.
    data = toy()
    cav = CommunalAttributeVoting(0.2).fit(data, COMM, torch.tensor([0.2, 0.05]))
    s = torch.tensor([0.0, math.log(1.6) / math.log(8), 1.0, 0.0])
    ref = s / s.mean() * 0.2
    assert torch.allclose(cav.drop_prob_, ref.float())
    assert cav.drop_prob_[3] == 0 and cav.drop_prob_[0] == 0  # never dropped
    # cav_thr caps the probabilities
    capped = cav_drop_prob(data.x, torch.tensor([0.2, 0.2, 0.05, 0.05]), 0.2, 0.5)
    assert torch.allclose(capped, ref.double().clamp(max=0.5))


def test_dense_variant_by_hand():
    data = toy(zero_column=False)
    cav = CommunalAttributeVoting(0.3, variant="dense").fit(
        data, COMM, torch.tensor([0.2, 0.05]))
    s = torch.tensor([0.0, math.log(1.6) / math.log(8), 1.0])
    assert torch.allclose(cav.drop_prob_, s / s.mean() * 0.3)


@pytest.mark.parametrize("dense", [False, True])
def test_matches_official_formula_on_cora(dense):
    data = load("Cora")
    com = detect(data)
    s_c, s_i = community_strength(data.edge_index, com)
    assert (s_c > 0).all()  # no negative votes: the official formula is defined
    x = data.x if not dense else data.x + 0.01  # dense: no zero votes
    ref = official_cav_prob(x, s_i, 0.3, 0.9, dense)
    out = cav_drop_prob(x, s_i, 0.3, 0.9, "dense" if dense else "sparse")
    assert torch.allclose(out, ref, atol=1e-10)
    if not dense:  # Cora has unused words: the zero-vote rule matters
        assert (cav_votes(data.x, s_i) == 0).any()


@pytest.mark.parametrize("variant", ["sparse", "dense"])
def test_sparse_and_dense_x_agree(variant):
    data = load("Cora")
    sp = SparseFeatures()(copy.copy(data))
    assert sp.x.is_sparse
    com = detect(data)
    with warnings.catch_warnings():  # dense variant: one Cora word has no vote
        warnings.simplefilter("ignore", UserWarning)
        a = CommunalAttributeVoting(0.4, variant=variant).fit(data, com)
        b = CommunalAttributeVoting(0.4, variant=variant).fit(sp, com)
    assert torch.allclose(a.drop_prob_, b.drop_prob_, atol=1e-6)
    b.drop_prob_ = a.drop_prob_.clone()  # identical draws below
    torch.manual_seed(3)
    va = a(data)
    torch.manual_seed(3)
    vb = b(sp)
    assert vb.x.is_sparse and torch.equal(vb.x.to_dense(), va.x)


def test_negative_votes_give_finite_probabilities_and_warn():
    # community 1 has negative strength; only its node 3 holds column 2.
    data = toy(zero_column=False)
    for variant in ("sparse", "dense"):
        with pytest.warns(UserWarning, match="non-positive votes"):
            cav = CommunalAttributeVoting(0.3, variant=variant).fit(
                data, COMM, torch.tensor([0.2, -0.1]))
        assert torch.isfinite(cav.drop_prob_).all()
        assert (cav.drop_prob_ >= 0).all() and (cav.drop_prob_ <= 1).all()
        # votes 0.4, 0.1, -0.1 -> column 2 raised to 0.1 (dropped like column 1)
        assert cav.drop_prob_[2] == cav.drop_prob_[1] > cav.drop_prob_[0] == 0
    # the official formula gets NaN here, which its clipping turns into
    # probability thr for every column: all features dropped
    assert torch.equal(official_cav_prob(data.x, torch.tensor(
        [0.2, 0.2, -0.1, -0.1]), 0.3, 1.0, True), torch.ones(3).double())
    # no positive vote at all: uniform masking at rate p
    with pytest.warns(UserWarning):
        p = cav_drop_prob(data.x, -torch.ones(4), 0.3)
    assert torch.allclose(p, torch.full((3,), 0.3, dtype=torch.float64))


def test_dense_variant_zero_vote_is_handled():
    data = toy()  # column 3 has no votes
    with pytest.warns(UserWarning):
        cav = CommunalAttributeVoting(0.2, variant="dense").fit(
            data, COMM, torch.tensor([0.2, 0.05]))
    assert torch.isfinite(cav.drop_prob_).all()
    assert cav.drop_prob_[3] == cav.drop_prob_[2]


def test_no_warning_and_uniform_when_votes_equal():
    data = Data(x=torch.eye(4), edge_index=EI)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cav = CommunalAttributeVoting(0.25).fit(data, COMM, torch.tensor([0.1, 0.1]))
    assert torch.allclose(cav.drop_prob_, torch.full((4,), 0.25))


@pytest.mark.parametrize("sparse", [False, True])
def test_empirical_drop_rate_and_input_untouched(sparse):
    data = toy()
    if sparse:
        data.x = data.x.to_sparse().coalesce()
    cav = CommunalAttributeVoting(0.3).fit(data, COMM, torch.tensor([0.2, 0.05]))
    before = copy.deepcopy(data)
    torch.manual_seed(0)
    dense_x = before.x.to_dense()
    holds = dense_x != 0
    dropped = torch.zeros(4)
    draws = 3000
    for _ in range(draws):
        out = cav(data).x
        out = out.to_dense() if sparse else out
        gone = (out == 0) & holds  # column zeroed for every node
        whole = (gone.sum(0) == holds.sum(0)) & holds.any(0)
        assert torch.equal(gone.any(0), whole)
        assert torch.equal(out[~gone], dense_x[~gone])
        dropped += gone.any(0).float()
    probs = cav.drop_prob_.clone()
    probs[3] = 0.0  # an all-zero column shows no drop
    assert torch.allclose(dropped / draws, probs, atol=0.04)
    assert torch.equal(data.x.to_dense(), dense_x)
    assert torch.equal(data.edge_index, before.edge_index)


def test_dense_votes_in_row_blocks(monkeypatch):
    import gcl.augment.communal_attribute_voting as mod
    g = torch.Generator().manual_seed(0)
    x = torch.randn(103, 7, generator=g)
    s = torch.rand(103, generator=g)
    ref = x.abs().double().t() @ s.double()
    monkeypatch.setattr(mod, "_VOTE_BLOCK", 30)  # 4 rows per block
    assert torch.allclose(cav_votes(x, s), ref, atol=1e-12)
    sp = x.to_sparse()
    assert torch.allclose(cav_votes(sp, s), ref, atol=1e-12)


def test_errors():
    data = toy()
    with pytest.raises(RuntimeError, match="fit"):
        CommunalAttributeVoting(0.2)(data)
    cav = CommunalAttributeVoting(0.2).fit(data, COMM)
    with pytest.raises(ValueError, match="4 feature columns"):
        cav(Data(x=torch.rand(4, 6), edge_index=EI))
    with pytest.raises(ValueError, match="4 nodes, got 5"):
        cav(Data(x=torch.rand(5, 4), edge_index=EI))
    with pytest.raises(ValueError, match="variant"):
        CommunalAttributeVoting(0.2, variant="cora")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CommunalAttributeVoting(-0.2)
    with pytest.raises(ValueError, match="needs node features"):
        CommunalAttributeVoting(0.2).fit(Data(edge_index=EI, num_nodes=4), COMM)
    with pytest.raises(ValueError, match=r"\[N, F\]"):
        cav_votes(torch.rand(4, 3), torch.rand(5))
    assert "variant='dense'" in repr(CommunalAttributeVoting(0.1, variant="dense"))


def test_from_data_detects():
    data = load("Cora")
    cav = CommunalAttributeVoting.from_data(data, 0.2, seed=0)
    _, s_i = community_strength(data.edge_index, detect(data, seed=0))
    assert torch.allclose(cav.drop_prob_,
                          cav_drop_prob(data.x, s_i, 0.2).float())
    assert abs(float(cav.drop_prob_.mean()) - 0.2) < 1e-5  # mean p before capping
