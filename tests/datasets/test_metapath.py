import numpy as np
import pytest
import torch
from torch_geometric.data import HeteroData

from gcl.datasets import (
    add_metapaths,
    heco_positives,
    pathsim,
    pathsim_topk,
    sample_neighbors,
)


def random_hetero(seed=0, n_p=30, n_a=12, n_s=4, n_t=9, p_edge=0.15):
    """Papers, authors, subjects, terms with random incidence (dense refs too)."""
    g = torch.Generator().manual_seed(seed)
    pa = (torch.rand(n_p, n_a, generator=g) < p_edge).double()
    ps = torch.zeros(n_p, n_s, dtype=torch.float64)
    ps[torch.arange(n_p), torch.randint(0, n_s, (n_p,), generator=g)] = 1
    pt = (torch.rand(n_p, n_t, generator=g) < 0.3).double()
    d = HeteroData()
    for name, n in (("paper", n_p), ("author", n_a), ("subject", n_s),
                    ("term", n_t)):
        d[name].num_nodes = n
    for other, mat in (("author", pa), ("subject", ps), ("term", pt)):
        ei = mat.nonzero().t()
        d["paper", "to", other].edge_index = ei
        d[other, "to", "paper"].edge_index = ei.flip(0)
    return d, pa, ps, pt


def dense(ei, w, shape):
    out = torch.zeros(shape, dtype=torch.float64)
    out.index_put_((ei[0], ei[1]), w.double(), accumulate=True)
    return out


# ------------------------------------------------------------ composition


def test_add_metapaths_counts_equal_dense_products():
    d, pa, ps, pt = random_hetero()
    out = add_metapaths(d, {
        "pap": [("paper", "to", "author"), ("author", "to", "paper")],
        "psp": [("paper", "subject"), ("subject", "paper")],
        "ptpap": [("paper", "term"), ("term", "paper"), ("paper", "author"),
                  ("author", "paper")],
        "pa": [("paper", "term"), ("term", "paper"), ("paper", "author")],
    })
    n = pa.size(0)
    refs = {"pap": pa @ pa.t(), "psp": ps @ ps.t(),
            "ptpap": pt @ pt.t() @ pa @ pa.t(), "pa": pt @ pt.t() @ pa}
    for name, ref in refs.items():
        dst = "author" if name == "pa" else "paper"
        st = out["paper", name, dst]
        got = dense(st.edge_index, st.edge_weight, ref.shape)
        assert torch.equal(got, ref), name
        assert st.edge_weight.dtype == torch.float32
        assert (st.edge_weight > 0).all()
        key = st.edge_index[0] * 100 + st.edge_index[1]
        assert (key[1:] > key[:-1]).all()  # coalesced
    # Diagonal of PAP = number of authors of each paper.
    pap = dense(out["paper", "pap", "paper"].edge_index,
                out["paper", "pap", "paper"].edge_weight, (n, n))
    assert torch.equal(pap.diagonal(), pa.sum(1))
    assert out.metapath_dict[("paper", "pap", "paper")] == [
        ("paper", "to", "author"), ("author", "to", "paper")]
    assert ("paper", "pap", "paper") not in d.edge_types  # input untouched
    # A second call keeps the first call's entries.
    again = add_metapaths(out, {"ptp": [("paper", "term"), ("term", "paper")]})
    assert len(again.metapath_dict) == 5
    unweighted = add_metapaths(d, {"pap": [("paper", "author"),
                                           ("author", "paper")]}, weighted=False)
    assert "edge_weight" not in unweighted["paper", "pap", "paper"]


def test_add_metapaths_errors():
    d, *_ = random_hetero()
    with pytest.raises(ValueError, match="non-empty"):
        add_metapaths(d, {})
    with pytest.raises(ValueError, match="no relation"):
        add_metapaths(d, {"pvp": [("paper", "venue"), ("venue", "paper")]})
    with pytest.raises(ValueError, match="ends at"):
        add_metapaths(d, {"x": [("paper", "author"), ("subject", "paper")]})
    with pytest.raises(ValueError, match="at least two"):
        add_metapaths(d, {"x": [("paper", "author")]})
    with pytest.raises(ValueError, match="already exists"):
        add_metapaths(d, {"to": [("paper", "author"), ("author", "paper"),
                                 ("paper", "author")]})
    with pytest.raises(ValueError, match="HeteroData"):
        add_metapaths(object(), {"x": []})


# ------------------------------------------------------------ PathSim


def pathsim_dense(a):
    diag = a.diagonal()
    den = diag[:, None] + diag[None, :]
    return torch.where(a > 0, 2 * a / den, torch.zeros_like(a))


def topk_reference(a, score, k, ties="low"):
    """Per row: self first, then score descending, then column asc/desc."""
    n = a.size(0)
    pairs = []
    for i in range(n):
        cand = [j for j in range(n) if a[i, j] > 0]
        sign = 1 if ties == "low" else -1
        cand.sort(key=lambda j: (j != i, -float(score[i, j]), sign * j))
        pairs += [(i, j) for j in cand[:k]]
    return pairs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pathsim_and_topk_equal_brute_force(seed):
    d, pa, ps, pt = random_hetero(seed)
    out = add_metapaths(d, {"ptp": [("paper", "term"), ("term", "paper")],
                            "pap": [("paper", "author"), ("author", "paper")]})
    for name in ("ptp", "pap"):
        st = out["paper", name, "paper"]
        a = dense(st.edge_index, st.edge_weight, (30, 30))
        ref = pathsim_dense(a)
        sim = pathsim(st.edge_index, st.edge_weight, 30)
        assert sim.dtype == torch.float64
        assert torch.allclose(sim, ref[st.edge_index[0], st.edge_index[1]],
                              rtol=0, atol=1e-15)
        loops = st.edge_index[0] == st.edge_index[1]
        assert torch.all(sim[loops] == 1)
        for k in (1, 3, 7, 40):
            for ties in ("low", "high"):
                ei, w = pathsim_topk(st.edge_index, st.edge_weight, k, 30,
                                     ties=ties)
                assert list(map(tuple, ei.t().tolist())) == topk_reference(
                    a, ref, k, ties)
                assert torch.equal(w, a[ei[0], ei[1]])  # original counts kept


def test_pathsim_hand_values_and_ties():
    # A = M M^T for M = [[1, 1], [1, 0], [0, 1], [0, 1]]: counts by hand.
    m = torch.tensor([[1, 1], [1, 0], [0, 1], [0, 1]], dtype=torch.float64)
    a = m @ m.t()  # [[2,1,1,1],[1,1,0,0],[1,0,1,1],[1,0,1,1]]
    ei = a.nonzero().t()
    w = a[ei[0], ei[1]]
    sim = dict(zip(map(tuple, ei.t().tolist()), pathsim(ei, w).tolist()))
    assert sim[(0, 1)] == pytest.approx(2 * 1 / (2 + 1))
    assert sim[(2, 3)] == 1.0 and sim[(0, 0)] == 1.0
    # Node 2: itself (1), node 3 (1), node 0 (2/3). k = 2 keeps {2, 3}.
    top, cnt = pathsim_topk(ei, w, 2)
    assert top[:, top[0] == 2].t().tolist() == [[2, 2], [2, 3]]
    # Node 0: itself, then 1, 2, 3 all at 2/3: "low" keeps 1, "high" keeps 3.
    assert top[:, top[0] == 0].t().tolist() == [[0, 0], [0, 1]]
    high, _ = pathsim_topk(ei, w, 2, ties="high")
    assert high[:, high[0] == 0].t().tolist() == [[0, 0], [0, 3]]
    assert cnt[(top[0] == 0) & (top[1] == 0)].item() == 2.0
    # Row-wise, so not symmetric: with "high", 0 keeps 3 but 3 keeps 2, not 0.
    assert high[:, high[0] == 3].t().tolist() == [[3, 3], [3, 2]]
    one, _ = pathsim_topk(ei, w, 1)  # k = 1: every node keeps only itself
    assert one.t().tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]


def official_topk(a, k, argsort):
    """MEOW's ``pathsim`` (code_meow/module/preprocess.py) on a dense count
    matrix: PathSim per non-zero, ``np.argsort`` of every dense row (in the
    portable order of the authors' numpy: ``argsort``), reversed, first k,
    sorted; the entries with a non-zero count."""
    a = a.numpy()
    sim = np.zeros_like(a)
    for i, j in zip(*a.nonzero()):
        sim[i, j] = 2 * a[i, j] / (a[i, i] + a[j, j])
    cols = np.sort(argsort(sim)[:, ::-1][:, :k])
    return [(i, int(j)) for i in range(a.shape[0]) for j in cols[i] if a[i, j] > 0]


@pytest.mark.parametrize("block", [None, 3])
def test_pathsim_topk_numpy_ties_equal_the_official_selection(
        block, monkeypatch, portable_argsort):
    import gcl.datasets.metapath as mp

    d, pa, ps, pt = random_hetero(0)
    out = add_metapaths(d, {"psp": [("paper", "subject"), ("subject", "paper")],
                            "ptp": [("paper", "term"), ("term", "paper")]})
    if block is not None:  # rows in blocks of 3 (30 nodes: 10 blocks)
        monkeypatch.setattr(mp, "_NUMPY_BLOCK", block * 30)
    for name in ("psp", "ptp"):
        st = out["paper", name, "paper"]
        a = dense(st.edge_index, st.edge_weight, (30, 30))
        for k in (1, 3, 5, 40):
            ei, w = pathsim_topk(st.edge_index, st.edge_weight, k, 30,
                                 ties="numpy")
            assert list(map(tuple, ei.t().tolist())) == \
                official_topk(a, k, portable_argsort)
            assert torch.equal(w, a[ei[0], ei[1]])


def test_pathsim_topk_numpy_ties_are_the_same_on_every_cpu(portable_argsort):
    """Numpy >= 1.25 orders float64 ties by the CPU's SIMD sort; the
    selection does not: 400 rows of one all-ones block with k = 150, as
    numpy's portable introsort picks them."""
    n, k = 400, 150
    ei = torch.cartesian_prod(torch.arange(n), torch.arange(n)).t()
    w = torch.ones(ei.size(1), dtype=torch.float64)
    top, _ = pathsim_topk(ei, w, k, n, ties="numpy")
    cols = np.sort(portable_argsort(np.ones((1, n)))[0, ::-1][:k])
    assert top.t().tolist() == [[i, int(j)] for i in range(n) for j in cols]
    # not "low" (the node first, then the lowest indices) on this data
    assert cols.tolist() != list(range(k))


def test_pathsim_topk_numpy_ties_hand_case(portable_argsort):
    # Four papers of one subject (all-ones PSP block) and one alone: every
    # row of the block is the same, so with k = 2 all four keep the same two
    # papers (numpy's choice among the ties) and two of them lose themselves.
    m = torch.tensor([[1, 0]] * 4 + [[0, 1]], dtype=torch.float64)
    a = m @ m.t()
    ei = a.nonzero().t()
    w = a[ei[0], ei[1]]
    top, cnt = pathsim_topk(ei, w, 2, ties="numpy")
    row = np.array([1.0, 1.0, 1.0, 1.0, 0.0])  # PathSim row of papers 0-3
    kept = np.sort(portable_argsort(row)[0, ::-1][:2])  # numpy's pick among the ties
    assert top.t().tolist() == [[i, int(j)] for i in range(4) for j in kept] + \
        [[4, 4]]
    assert torch.equal(cnt, torch.ones(9, dtype=torch.float64))
    assert int((top[0] == top[1]).sum()) == 3  # 2 of the block + the lone one
    low, _ = pathsim_topk(ei, w, 2)  # "low": itself first, then the lowest
    assert low.t().tolist() == [[0, 0], [0, 1], [1, 1], [1, 0], [2, 2], [2, 0],
                                [3, 3], [3, 0], [4, 4]]


def test_pathsim_errors():
    ei = torch.tensor([[0, 1], [1, 0]])
    w = torch.ones(2)
    with pytest.raises(ValueError, match="diagonal"):
        pathsim(ei, w)
    with pytest.raises(ValueError, match="path counts"):
        pathsim_topk(ei, None, 2)
    with pytest.raises(ValueError, match="positive integer"):
        pathsim_topk(ei, w, 0)
    with pytest.raises(ValueError, match="ties"):
        pathsim_topk(torch.tensor([[0], [0]]), torch.ones(1), 1, ties="random")
    with pytest.raises(ValueError, match=r"shape \[2\]"):
        pathsim(ei, torch.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        pathsim(ei, torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="outside"):
        pathsim(ei, w, num_nodes=1)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        pathsim(torch.zeros(3, 2, dtype=torch.long), w, num_nodes=4)


# ------------------------------------------------------------ HeCo positives


def positives_reference(graphs, n, pos_num, score):
    mats = []
    for ei in graphs:
        a = torch.zeros(n, n, dtype=torch.float64)
        a[ei[0], ei[1]] = 1.0
        if score == "normalized":
            a = a / a.sum(1, keepdim=True).clamp_min(1)
        mats.append(a)
    total = sum(mats)
    pairs = []
    for i in range(n):
        cand = [j for j in range(n) if total[i, j] > 0 or j == i]
        cand.sort(key=lambda j: (j != i, -float(total[i, j]), j))
        pairs += [(i, j) for j in cand[:pos_num]]
    return pairs


@pytest.mark.parametrize("score", ["count", "normalized"])
@pytest.mark.parametrize("pos_num", [1, 2, 4, 50])
def test_heco_positives_equal_brute_force(score, pos_num):
    d, *_ = random_hetero(3)
    out = add_metapaths(d, {"pap": [("paper", "author"), ("author", "paper")],
                            "psp": [("paper", "subject"), ("subject", "paper")],
                            "ptp": [("paper", "term"), ("term", "paper")]})
    graphs = [out["paper", m, "paper"].edge_index for m in ("pap", "psp", "ptp")]
    got = heco_positives(graphs, 30, pos_num, score=score)
    assert list(map(tuple, got.t().tolist())) == positives_reference(
        graphs, 30, pos_num, score)
    first = torch.ones(got.size(1), dtype=torch.bool)
    first[1:] = got[0, 1:] != got[0, :-1]
    assert torch.equal(got[0, first], got[1, first])  # each anchor: itself first


def test_heco_positives_hand_case():
    # PAP: 0-1, 0-2; PSP: 0-1, 2-3 (both with the diagonal).
    eye = [[i, i] for i in range(4)]
    pap = torch.tensor([[0, 1], [1, 0], [0, 2], [2, 0]] + eye).t()
    psp = torch.tensor([[0, 1], [1, 0], [2, 3], [3, 2]] + eye).t()
    pos = heco_positives([pap, psp], 4, pos_num=2)
    # counts: C_0 = {0: 2, 1: 2, 2: 1}; C_2 = {2: 2, 0: 1, 3: 1} -> 0 by index
    assert pos.t().tolist() == [[0, 0], [0, 1], [1, 1], [1, 0], [2, 2], [2, 0],
                                [3, 3], [3, 2]]
    # Graphs without the diagonal: every node is still its own first positive.
    nodiag = heco_positives([pap[:, :4], psp[:, :4]], 4, pos_num=2)
    assert nodiag.t().tolist() == pos.t().tolist()


def test_heco_positives_errors():
    ei = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match="score"):
        heco_positives([ei], 2, 1, score="pathsim")
    with pytest.raises(ValueError, match="non-empty sequence"):
        heco_positives([], 2, 1)
    with pytest.raises(ValueError, match="non-empty sequence"):
        heco_positives(ei, 2, 1)
    with pytest.raises(ValueError, match="pos_num"):
        heco_positives([ei], 2, 0)
    with pytest.raises(ValueError, match="outside"):
        heco_positives([ei], 1, 1)


# ------------------------------------------------------------ schema sampling


def test_sample_neighbors_hecos_rule():
    # node 0: 5 neighbours, node 1: 2, node 2: 1
    ei = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 2],
                       [10, 11, 12, 13, 14, 20, 21, 30]])
    g = torch.Generator().manual_seed(0)
    seen0 = torch.zeros(15, dtype=torch.long)
    for _ in range(300):
        s = sample_neighbors(ei, 3, 3, generator=g)
        assert s.shape == (3, 3) and s.dtype == torch.long
        assert s[0].unique().numel() == 3  # without replacement (5 >= 3)
        assert set(s[0].tolist()) <= {10, 11, 12, 13, 14}
        assert set(s[1].tolist()) <= {20, 21}  # with replacement (2 < 3)
        assert s[2].tolist() == [30, 30, 30]
        seen0.index_add_(0, s[0] - 10, torch.ones(3, dtype=torch.long))
    freq = seen0[:5].float() / 900
    assert torch.allclose(freq, torch.full((5,), 0.2), atol=0.05)  # uniform
    a = sample_neighbors(ei, 3, 4, generator=torch.Generator().manual_seed(5))
    b = sample_neighbors(ei, 3, 4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    # Repeated sampling with replacement covers both neighbours of node 1.
    many = sample_neighbors(ei, 3, 50, generator=g)
    assert set(many[1].tolist()) == {20, 21}


def test_sample_neighbors_errors():
    ei = torch.tensor([[0, 0], [1, 2]])
    with pytest.raises(ValueError, match="no neighbour"):
        sample_neighbors(ei, 2, 1)
    with pytest.raises(ValueError, match="num_samples"):
        sample_neighbors(ei, 1, 0)
    with pytest.raises(ValueError, match="outside"):
        sample_neighbors(torch.tensor([[3], [0]]), 2, 1)
    with pytest.raises(ValueError, match="num_nodes"):
        sample_neighbors(ei, 0, 1)
    with pytest.raises(ValueError, match="integer"):
        sample_neighbors(ei.float(), 1, 1)


def test_sample_neighbors_is_vectorised_on_a_larger_graph():
    g = torch.Generator().manual_seed(1)
    n, e = 2000, 20000
    ei = torch.stack([torch.randint(0, n, (e,), generator=g),
                      torch.randint(0, 500, (e,), generator=g)])
    ei = torch.cat([ei, torch.stack([torch.arange(n), torch.zeros(n).long()])], 1)
    s = sample_neighbors(ei, n, 7, generator=g)
    nbrs = {}
    for r, c in ei.t().tolist():
        nbrs.setdefault(r, set()).add(c)
    for i in np.random.RandomState(0).choice(n, 50, replace=False):
        assert set(s[i].tolist()) <= nbrs[int(i)]
