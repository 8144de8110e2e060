import copy

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.augment import (
    CommunalEdgeDrop,
    Compose,
    EdgeDrop,
    ced_edge_weight,
    ced_keep_prob,
)
from gcl.community import community_strength, detect
from gcl.datasets import load


def two_triangles():
    """Triangles {0,1,2} and {3,4,5} joined by the edge 2-3 (14 entries)."""
    ei = to_undirected(torch.tensor([[0, 0, 1, 3, 3, 4, 2], [1, 2, 2, 4, 5, 5, 3]]))
    return Data(x=torch.rand(6, 4), edge_index=ei,
                edge_attr=torch.arange(ei.size(1)).float(), num_nodes=6)


COMM = torch.tensor([0, 0, 0, 1, 1, 1])


def official_edge_weight(edge_index, com, com_cs):
    """The official get_edge_weight, one edge at a time (brute force)."""
    raw = []
    for u, v in edge_index.t().tolist():
        cu, cv = int(com[u]), int(com[v])
        raw.append(float(com_cs[cu]) if cu == cv
                   else -(float(com_cs[cu]) + float(com_cs[cv])))
    raw = torch.tensor(raw, dtype=torch.float64)
    return (raw - raw.min()) / (raw.max() - raw.min())


def test_keep_prob_by_hand():
    data = two_triangles()
    # S_A = 0.3, S_B = 0.1: raw weights 0.3 (A), 0.1 (B), -0.4 (bridge);
    # min-max: 1, 5/7, 0; mean over 6 + 6 + 2 entries = 36/49.
    ced = CommunalEdgeDrop(0.2).fit(data, COMM, torch.tensor([0.3, 0.1]))
    u, v = data.edge_index
    in_a, in_b = (u < 3) & (v < 3), (u >= 3) & (v >= 3)
    bridge = ~(in_a | in_b)
    assert torch.allclose(ced.weight_[in_a], torch.ones(6, dtype=torch.float64))
    assert torch.allclose(ced.weight_[in_b],
                          torch.full((6,), 5 / 7, dtype=torch.float64))
    assert torch.all(ced.weight_[bridge] == 0)
    q = ced.keep_prob_
    assert torch.all(q[in_a] == 1.0)  # 49/36 * 0.8 > 1, clipped
    assert torch.allclose(q[in_b], torch.full((6,), 35 / 36 * 0.8, dtype=torch.float64))
    assert torch.all(q[bridge] == 0)
    # ced_thr = 0.5: keep probabilities are at least 0.5
    q5 = CommunalEdgeDrop(0.2, threshold=0.5).fit(
        data, COMM, torch.tensor([0.3, 0.1])).keep_prob_
    assert torch.all(q5[bridge] == 0.5) and torch.equal(q5[in_b], q[in_b])
    # p = 0 is not the identity: below-mean entries may still be dropped
    q0 = ced_keep_prob(ced.weight_, 0.0)
    assert torch.all(q0[in_a] == 1) and torch.allclose(
        q0[in_b], torch.full((6,), 35 / 36, dtype=torch.float64))


def test_strength_computed_when_not_given():
    data = two_triangles()
    ced = CommunalEdgeDrop(0.3).fit(data, COMM)
    # Both triangles: S = 3/7 - (7/14)^2 = 5/28; bridge -5/14 -> 0, others 1.
    s_c, _ = community_strength(data.edge_index, COMM)
    assert torch.allclose(s_c, torch.full((2,), 5 / 28))
    bridge = (data.edge_index < 3).sum(0) == 1
    assert torch.equal(ced.weight_, (~bridge).double())
    assert torch.allclose(ced.keep_prob_[~bridge],
                          torch.full((12,), 7 / 6 * 0.7, dtype=torch.float64))


def test_matches_official_loop_on_cora():
    data = load("Cora")
    com = detect(data)
    s_c, _ = community_strength(data.edge_index, com)
    ei = data.edge_index[:, :3000]
    ref = official_edge_weight(ei, com, s_c.double())
    assert torch.allclose(ced_edge_weight(ei, com, s_c), ref, atol=1e-12)
    ced = CommunalEdgeDrop.from_data(data, 0.4, seed=0)
    full = official_edge_weight(data.edge_index, com, s_c.double())
    ref_q = (full / full.mean() * 0.6).clamp(0, 1)
    # float64, as the official NumPy weights: bernoulli draws depend on it
    assert ced.keep_prob_.dtype == torch.float64
    assert torch.allclose(ced.keep_prob_, ref_q, atol=1e-6)
    torch.manual_seed(4)
    view = ced(data)
    torch.manual_seed(4)
    keep = torch.bernoulli(ref_q).bool()  # the official ced's draw
    assert torch.equal(view.edge_index, data.edge_index[:, keep])


def test_empirical_keep_rate_matches_and_input_untouched():
    data = two_triangles()
    ced = CommunalEdgeDrop(0.2).fit(data, COMM, torch.tensor([0.3, 0.1]))
    before = copy.deepcopy(data)
    torch.manual_seed(0)
    counts = torch.zeros(data.edge_index.size(1))
    key = data.edge_index[0] * 6 + data.edge_index[1]
    draws = 3000
    for _ in range(draws):
        view = ced(data)
        assert torch.equal(view.edge_attr, data.edge_attr[
            torch.isin(key, view.edge_index[0] * 6 + view.edge_index[1])])
        counts += torch.isin(key, view.edge_index[0] * 6 + view.edge_index[1])
    assert torch.allclose(counts / draws, ced.keep_prob_.float(), atol=0.04)
    for k in ("x", "edge_index", "edge_attr"):
        assert torch.equal(data[k], before[k])


def test_equal_weights_give_uniform_rate():
    ei = to_undirected(torch.tensor([[0, 2], [1, 3]]))
    w = ced_edge_weight(ei, torch.tensor([0, 0, 1, 1]), torch.tensor([0.25, 0.25]))
    assert torch.equal(w, torch.ones(4, dtype=torch.float64))
    assert torch.allclose(ced_keep_prob(w, 0.3),
                          torch.full((4,), 0.7, dtype=torch.float64))


def test_errors():
    data = two_triangles()
    with pytest.raises(RuntimeError, match="from_data"):
        CommunalEdgeDrop(0.2)(data)
    ced = CommunalEdgeDrop(0.2).fit(data, COMM)
    other = two_triangles()
    other.edge_index = other.edge_index[:, :-2]
    other.edge_attr = other.edge_attr[:-2]
    with pytest.raises(ValueError, match="14 edge entries, got a graph with 12"):
        ced(other)
    with pytest.raises(ValueError, match="6 nodes, got 7"):
        ced(Data(x=torch.rand(7, 4), edge_index=data.edge_index))
    with pytest.raises(ValueError, match="14 edge entries"):  # e.g. after EdgeDrop
        torch.manual_seed(0)
        Compose([EdgeDrop(0.5), ced])(data)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CommunalEdgeDrop(1.5)
    with pytest.raises(ValueError, match="threshold"):
        CommunalEdgeDrop(0.2, threshold=-0.1)
    with pytest.raises(ValueError, match="without its community"):
        CommunalEdgeDrop(0.2).fit(data, strength=torch.ones(2))
    with pytest.raises(ValueError, match="precomputed community"):
        CommunalEdgeDrop(0.2).fit(data, COMM, seed=3)
    with pytest.raises(ValueError, match=r"shape \[N\] = \[6\]"):
        CommunalEdgeDrop(0.2).fit(data, COMM[:5])
    with pytest.raises(ValueError, match="one value per community"):
        CommunalEdgeDrop(0.2).fit(data, COMM, torch.ones(1))
    assert repr(CommunalEdgeDrop(0.2, 0.5)) == "CommunalEdgeDrop(p=0.2, threshold=0.5)"
