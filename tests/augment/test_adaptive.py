import math

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.augment import (
    AdaptiveEdgeDrop,
    AdaptiveFeatureMask,
    Compose,
    EdgeDrop,
    degree_centrality,
    drop_probabilities,
    edge_drop_weights,
    eigenvector_centrality,
    feature_drop_weights,
    fit_augmentors,
    node_centrality,
    pagerank_centrality,
)


def tiny():
    # Undirected edges 0-1, 0-2, 0-3, 1-2: degrees 3, 2, 2, 1.
    und = [(0, 1), (0, 2), (0, 3), (1, 2)]
    ei = torch.tensor([[a for a, b in und] + [b for a, b in und],
                       [b for a, b in und] + [a for a, b in und]])
    x = torch.tensor([[1.0, 0.0, 2.0],
                      [0.0, 0.0, 1.0],
                      [0.5, 0.0, 0.0],
                      [0.0, 0.0, -3.0]])
    return Data(x=x, edge_index=ei)


def random_graph(n=60, e=300, f=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = to_undirected(torch.randint(0, n, (2, e), generator=g))
    ei = ei[:, ei[0] != ei[1]]
    x = (torch.rand(n, f, generator=g) < 0.3).float() * torch.rand(n, f, generator=g)
    return Data(x=x, edge_index=ei)


def official_pr(edge_index, n, damp=0.85, k=10):
    # GCA's compute_pr, written with Python loops over the edges.
    deg_out = [0] * n
    for s in edge_index[0].tolist():
        deg_out[s] += 1
    x = [1.0] * n
    for _ in range(k):
        agg = [0.0] * n
        for s, t in edge_index.t().tolist():
            agg[t] += x[s] / deg_out[s]
        x = [(1 - damp) * x[i] + damp * agg[i] for i in range(n)]
    return torch.tensor(x)


def test_degree_edge_weights_by_hand():
    d = tiny()
    deg = {0: 3, 1: 2, 2: 2, 3: 1}
    assert degree_centrality(d.edge_index, 4).tolist() == [3, 2, 2, 1]
    s = [math.log(deg[t]) for t in d.edge_index[1].tolist()]
    smax, smean = max(s), sum(s) / len(s)
    ref = torch.tensor([(smax - v) / (smax - smean) for v in s])
    w = edge_drop_weights(d.edge_index, 4, "degree")
    assert torch.allclose(w, ref, atol=1e-6)
    # p_e = min(w_e / mean(w) * p, threshold)
    p = 0.3
    prob = AdaptiveEdgeDrop(p, "degree").fit(d).drop_probabilities()
    mean = sum(ref.tolist()) / len(ref)
    hand = torch.tensor([min(v / mean * p, 0.7) for v in ref.tolist()])
    assert torch.allclose(prob, hand, atol=1e-6)
    # An edge into the hub (node 0) is never dropped, into the leaf most often.
    into_hub = d.edge_index[1] == 0
    assert torch.all(prob[into_hub] == 0)
    assert prob[d.edge_index[1] == 3].min() == prob.max()


def test_pagerank_matches_official_iteration():
    d = random_graph()
    # A directed graph with duplicates, to check the exact iteration.
    ei = torch.cat([d.edge_index[:, ::2], d.edge_index[:, :5]], dim=1)
    ours = pagerank_centrality(ei, 60, iterations=10)
    assert torch.allclose(ours, official_pr(ei, 60, k=10), rtol=1e-5)
    ours200 = pagerank_centrality(ei, 60, iterations=200)
    assert torch.allclose(ours200, official_pr(ei, 60, k=200), rtol=1e-4)
    # pr edge weights: log PR of the target, 200 iterations.
    s = torch.log(official_pr(d.edge_index, 60, k=200)[d.edge_index[1]])
    ref = (s.max() - s) / (s.max() - s.mean())
    assert torch.allclose(edge_drop_weights(d.edge_index, 60, "pr"), ref, atol=1e-4)


@pytest.mark.parametrize("directed", [False, True])
def test_eigenvector_centrality_matches_networkx(directed):
    if directed:  # a strongly connected directed graph: a cycle plus chords
        n = 30
        src = list(range(n)) + [0, 5, 7, 12, 20]
        dst = [(i + 1) % n for i in range(n)] + [15, 3, 22, 2, 9]
        ei = torch.tensor([src, dst])
        graph = nx.DiGraph()
    else:
        d = random_graph(n=40, e=400, seed=3)
        ei, n = d.edge_index, 40
        graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(ei.t().tolist())
    ref = nx.eigenvector_centrality_numpy(graph)
    ref = torch.tensor([ref[i] for i in range(n)], dtype=torch.float32)
    ours = eigenvector_centrality(ei, n)
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(node_centrality(ei, n, "eigenvector"), ours)


def test_evc_edge_weights_clamp():
    d = random_graph(seed=4)
    evc = eigenvector_centrality(d.edge_index, 60)
    s = torch.log(evc.clamp(min=0) + 1e-8)[d.edge_index[1]]
    ref = (s.max() - s) / (s.max() - s.mean())
    assert torch.allclose(edge_drop_weights(d.edge_index, 60, "evc"), ref, atol=1e-5)


def test_feature_weights_binary_abs_sparse_and_zero_column():
    d = tiny()
    phi = torch.tensor([3.0, 2.0, 2.0, 1.0])
    # binary: column sums of phi over nodes with x != 0; column 1 is empty.
    w_bin = [math.log(3 + 2), None, math.log(3 + 2 + 1)]
    w_abs = [math.log(1 * 3 + 0.5 * 2), None, math.log(2 * 3 + 1 * 2 + 3 * 1)]
    for weighting, w in (("binary", w_bin), ("abs", w_abs)):
        fin = [v for v in w if v is not None]
        wmax, wmean = max(fin), sum(fin) / len(fin)
        ref = [(wmax - v) / (wmax - wmean) if v is not None else math.inf for v in w]
        out = feature_drop_weights(d.x, phi, weighting)
        assert out[1] == math.inf
        assert torch.allclose(out[[0, 2]], torch.tensor(ref)[[0, 2]], atol=1e-6)
        sparse = feature_drop_weights(d.x.to_sparse(), phi, weighting)
        assert torch.equal(torch.isinf(sparse), torch.isinf(out))
        assert torch.allclose(sparse[[0, 2]], out[[0, 2]])
    # The empty column gets the capped probability, the others the rescaled one.
    prob = drop_probabilities(feature_drop_weights(d.x, phi), 0.2, 0.7)
    assert prob[1] == pytest.approx(0.7)
    ws = feature_drop_weights(d.x, phi)[[0, 2]]
    assert torch.allclose(prob[[0, 2]], (ws / ws.mean() * 0.2).clamp(max=0.7))


def test_feature_mask_uses_graph_centrality():
    d = random_graph(seed=5)
    aug = AdaptiveFeatureMask(0.3, "pr").fit(d)
    phi = official_pr(d.edge_index, 60, k=10)
    assert torch.allclose(aug.weights_, feature_drop_weights(d.x, phi), atol=1e-4)
    aug = AdaptiveFeatureMask(0.3, "degree", weighting="abs").fit(d)
    phi = degree_centrality(d.edge_index, 60)
    assert torch.allclose(aug.weights_, feature_drop_weights(d.x, phi, "abs"))


def test_cap_at_threshold():
    d = random_graph(seed=6)
    for aug in (AdaptiveEdgeDrop(0.9, "degree", threshold=0.7),
                AdaptiveFeatureMask(0.9, "degree", threshold=0.7)):
        prob = aug.fit(d).drop_probabilities()
        assert prob.max() == pytest.approx(0.7)
        assert (prob == prob.max()).sum() > 1
        assert prob.min() >= 0
    assert AdaptiveEdgeDrop(0.0, "pr").fit(d).drop_probabilities().max() == 0


def test_empirical_rates():
    torch.manual_seed(0)
    d = random_graph(n=40, e=150, f=12, seed=7)
    edge = AdaptiveEdgeDrop(0.4, "degree").fit(d)
    feat = AdaptiveFeatureMask(0.4, "degree").fit(d)
    d.edge_weight = torch.arange(d.edge_index.size(1), dtype=torch.float)
    trials = 3000
    kept_e = torch.zeros(d.edge_index.size(1))
    kept_f = torch.zeros(12)
    for _ in range(trials):
        v = edge(d)
        kept_e[v.edge_weight.long()] += 1
        kept_f += (feat(d).x != 0).any(dim=0).float()
    assert (kept_e / trials - (1 - edge.drop_probabilities())).abs().max() < 0.04
    present = (d.x != 0).any(dim=0)
    emp = kept_f[present] / trials
    assert (emp - (1 - feat.drop_probabilities()[present])).abs().max() < 0.04


def test_no_mutation_sparse_and_alignment():
    torch.manual_seed(1)
    d = random_graph(seed=8)
    d.edge_weight = torch.arange(d.edge_index.size(1), dtype=torch.float)
    before = {k: v.clone() for k, v in d.items() if torch.is_tensor(v)}
    aug = Compose([AdaptiveEdgeDrop(0.5, "pr"), AdaptiveFeatureMask(0.5, "pr")])
    fit_augmentors([aug], d)
    out = aug(d)
    assert out is not d
    for k, v in before.items():
        assert torch.equal(d[k], v), k
    ids = out.edge_weight.long()
    assert torch.equal(d.edge_index[:, ids], out.edge_index)
    # Sparse COO features: same draw, same values, still sparse.
    ds = d.clone()
    ds.x = d.x.to_sparse()
    feat = aug.augmentors[1]
    torch.manual_seed(2)
    dense = feat(d).x
    torch.manual_seed(2)
    sparse = feat(ds).x
    assert sparse.is_sparse and torch.equal(sparse.to_dense(), dense)
    masked = (dense == 0).all(dim=0) & (d.x != 0).any(dim=0)
    assert masked.any() and torch.equal(dense[:, ~masked], d.x[:, ~masked])


def test_fit_augmentors_shares_weights():
    d = random_graph(seed=9)
    views = [Compose([AdaptiveEdgeDrop(0.2, "degree"), AdaptiveFeatureMask(0.1)]),
             Compose([AdaptiveEdgeDrop(0.4, "degree"), AdaptiveFeatureMask(0.3),
                      EdgeDrop(0.1)])]
    fit_augmentors(views, d)
    e1, f1 = views[0].augmentors
    e2, f2 = views[1].augmentors[:2]
    assert e1.weights_ is e2.weights_ and f1.weights_ is f2.weights_
    assert e2.drop_probabilities().mean() == pytest.approx(0.4, abs=0.02)


def test_errors():
    d = random_graph(seed=10)
    with pytest.raises(RuntimeError, match="fit"):
        AdaptiveEdgeDrop(0.2)(d)
    with pytest.raises(RuntimeError, match="fit"):
        AdaptiveFeatureMask(0.2)(d)
    aug = AdaptiveEdgeDrop(0.2).fit(d)
    other = random_graph(seed=11)
    with pytest.raises(ValueError, match="edges"):
        aug(other)
    with pytest.raises(ValueError, match="columns"):
        AdaptiveFeatureMask(0.2).fit(d)(Data(x=torch.ones(60, 3),
                                            edge_index=d.edge_index))
    with pytest.raises(ValueError, match="centrality"):
        AdaptiveEdgeDrop(0.2, "closeness")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        AdaptiveFeatureMask(1.2)
    with pytest.raises(ValueError, match="weighting"):
        AdaptiveFeatureMask(0.2, weighting="dense")
    with pytest.raises(ValueError, match="shape"):
        aug.fit(d, weights=torch.ones(3))
    with pytest.raises(ValueError, match="outside"):
        degree_centrality(torch.tensor([[0], [9]]), 5)
