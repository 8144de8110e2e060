import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.augment import (
    Compose,
    EdgeDrop,
    FeatureDropout,
    FeatureMask,
    Identity,
    RandomChoice,
)


def graph(n=200, e=2000, f=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = to_undirected(torch.randint(0, n, (2, e), generator=g))
    ei = ei[:, ei[0] != ei[1]]
    m = ei.size(1)
    return Data(x=torch.rand(n, f, generator=g) + 0.1, edge_index=ei,
                edge_weight=torch.arange(m, dtype=torch.float),
                edge_attr=torch.arange(m, dtype=torch.float)[:, None].repeat(1, 3))


def snapshot(d):
    return {k: v.clone() for k, v in d.items() if torch.is_tensor(v)}


@pytest.mark.parametrize("aug", [EdgeDrop(0.3), EdgeDrop(0.3, force_undirected=True),
                                 FeatureMask(0.3), FeatureDropout(0.3),
                                 FeatureDropout(0.3, rescale=True), Identity(),
                                 Compose([EdgeDrop(0.2), FeatureMask(0.2)]),
                                 RandomChoice([EdgeDrop(0.2), FeatureMask(0.2)])])
def test_input_untouched_and_new_object(aug):
    d = graph()
    before = snapshot(d)
    out = aug(d)
    assert out is not d
    for k, v in before.items():
        assert torch.equal(d[k], v), k


def test_edge_drop_rate_and_alignment():
    torch.manual_seed(0)
    d = graph(n=500, e=20000)
    out = EdgeDrop(0.3)(d)
    kept = out.edge_index.size(1) / d.edge_index.size(1)
    assert abs(kept - 0.7) < 0.02
    # Weights are the original edge ids: they must point at the same edges.
    ids = out.edge_weight.long()
    assert torch.equal(d.edge_index[:, ids], out.edge_index)
    assert torch.equal(out.edge_attr[:, 0], out.edge_weight)
    # Per directed entry: some edges keep one direction only.
    s = set(map(tuple, out.edge_index.t().tolist()))
    assert any((j, i) not in s for i, j in s)


def test_edge_drop_force_undirected_keeps_pairs():
    torch.manual_seed(1)
    d = graph(n=300, e=5000)
    # Shuffle the edge order so pairs are not adjacent.
    perm = torch.randperm(d.edge_index.size(1))
    d.edge_index, d.edge_weight = d.edge_index[:, perm], d.edge_weight[perm]
    out = EdgeDrop(0.5, force_undirected=True)(d)
    s = set(map(tuple, out.edge_index.t().tolist()))
    assert all((j, i) in s for i, j in s)
    assert abs(len(s) / d.edge_index.size(1) - 0.5) < 0.05


def test_edge_drop_extremes_and_errors():
    d = graph()
    assert EdgeDrop(1.0)(d).edge_index.size(1) == 0
    assert torch.equal(EdgeDrop(0.0)(d).edge_index, d.edge_index)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        EdgeDrop(1.5)
    with pytest.raises(TypeError, match="Data"):
        EdgeDrop(0.1)(d.x)


def test_feature_mask_is_columnwise():
    torch.manual_seed(2)
    d = graph(f=400)
    out = FeatureMask(0.4)(d)
    zero_cols = (out.x == 0).all(dim=0)
    # Columns are either untouched or zero for every node.
    assert torch.equal(out.x[:, ~zero_cols], d.x[:, ~zero_cols])
    assert abs(zero_cols.float().mean().item() - 0.4) < 0.08


def test_feature_dropout_entrywise_and_rescale():
    torch.manual_seed(3)
    d = graph(n=400, f=100)
    out = FeatureDropout(0.25)(d)
    zeros = out.x == 0
    assert abs(zeros.float().mean().item() - 0.25) < 0.02
    assert not zeros.all(dim=0).any()  # not column-wise
    assert torch.equal(out.x[~zeros], d.x[~zeros])
    torch.manual_seed(3)
    scaled = FeatureDropout(0.25, rescale=True)(d)
    assert torch.allclose(scaled.x[~zeros], d.x[~zeros] / 0.75)


def test_compose_order_and_random_choice():
    calls = []

    class Tag(Identity):
        def __init__(self, t):
            self.t = t

        def forward(self, data):
            calls.append(self.t)
            return data

    Compose([Tag("a"), Tag("b"), Tag("c")])(graph())
    assert calls == ["a", "b", "c"]
    calls.clear()
    torch.manual_seed(0)
    seen = set()
    for _ in range(30):
        calls.clear()
        RandomChoice([Tag("a"), Tag("b"), Tag("c")], num_choices=2)(graph())
        assert len(calls) == 2 and len(set(calls)) == 2
        seen.add(tuple(calls))
    assert len(seen) == 6  # every ordered pair appears
    with pytest.raises(ValueError, match="num_choices"):
        RandomChoice([Identity()], num_choices=2)


def test_seeded_views_repeat():
    d = graph()
    aug = Compose([EdgeDrop(0.3), FeatureMask(0.3)])
    torch.manual_seed(5)
    a = aug(d)
    torch.manual_seed(5)
    b = aug(d)
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)
