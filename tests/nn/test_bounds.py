"""POT's bounds: budgets, adjacency bounds, relaxations and bound propagation.

The sound-mode tests are property tests over many seeded random small graphs
and random edge drops within the budget: the true pre-activations and the true
score must lie inside the computed bounds. The official mode is checked
against a dense, line-by-line transcription of the official code's formulas.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import degree as pyg_degree
from torch_geometric.utils import to_dense_adj, to_undirected

from gcl.losses import principle_direction
from gcl.nn import GCNEncoder, out_degree_norm
from gcl.nn.bounds import (
    activation_range,
    compactness_score,
    drop_budget,
    edge_dot,
    edge_drop_bounds,
    gcn_bounds,
    interval_matmul,
    leaky_relu,
    leaky_slope,
    normalized_adjacency,
    relaxation,
)

DT = torch.float64


def random_graph(gen, n, m):
    """A random simple undirected graph (both directions stored)."""
    ei = torch.randint(0, n, (2, m), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    return to_undirected(ei, num_nodes=n)


def admissible_drop(gen, edge_index, budget, degree="in"):
    """Drops a random number k_i <= q_i of the edges counted by node i's
    degree (targets for "in", sources for "out"), at random."""
    n = budget.numel()
    owner = edge_index[1] if degree == "in" else edge_index[0]
    keys = torch.rand(owner.numel(), generator=gen, dtype=DT)
    order = torch.argsort(keys)
    order = order[torch.argsort(owner[order], stable=True)]
    own = owner[order]
    start = torch.zeros(n + 1, dtype=torch.long)
    start[1:] = torch.cumsum(torch.bincount(own, minlength=n), 0)
    rank = torch.arange(own.numel()) - start[own]
    k = (torch.rand(n, generator=gen, dtype=DT) * (budget + 1)).floor().long()
    keep = torch.ones(owner.numel(), dtype=torch.bool)
    keep[order[rank < k[own]]] = False
    return edge_index[:, keep]


def layers(enc, x, ei):
    """Pre-activations of both layers and the output, as the encoder computes
    them (checked against ``enc(x, ei)``)."""
    w = None
    if enc.degree == "out":
        ones = torch.ones(ei.size(1), dtype=x.dtype)  # float64 weights
        ei, w = out_degree_norm(ei, ones, x.size(0))
    z1 = enc.convs[0](x, ei, w)
    z2 = enc.convs[1](enc.activation(z1), ei, w)
    return z1, z2, enc.activation(z2)


def make_encoder(f, h, activation, degree="in", seed=0):
    torch.manual_seed(seed)
    enc = GCNEncoder(f, h, activation=activation, degree=degree).to(DT)
    with torch.no_grad():  # non-zero biases exercise every term
        for conv in enc.convs:
            conv.bias.normal_(0, 0.3)
        if isinstance(enc.activation, torch.nn.PReLU):
            enc.activation.weight.fill_(0.3)
    return enc.eval()


# ---------------------------------------------------------------- budgets


def test_drop_budget_uniform_by_hand():
    # Star: node 0 has degree 4, leaves degree 1.
    ei = to_undirected(torch.tensor([[0, 0, 0, 0], [1, 2, 3, 4]]))
    q = drop_budget(ei, 5, 0.5)
    # round(0.5 * 4) = 2 <= 3; leaves: min(max(1 - 1, 0), round(0.5)) = 0.
    assert q.tolist() == [2, 0, 0, 0, 0]
    assert drop_budget(ei, 5, 1.0).tolist() == [3, 0, 0, 0, 0]  # cap d - 1
    assert drop_budget(ei, 5, 0.0).tolist() == [0] * 5
    # Half-to-even rounding, as np.round: 0.5 * 3 = 1.5 -> 2, 0.5 * 5 -> 2.
    tri = to_undirected(torch.tensor([[0, 0, 0, 0, 0], [1, 2, 3, 4, 5]]))
    assert drop_budget(tri, 6, 0.5)[0] == 2
    tri3 = to_undirected(torch.tensor([[0, 0, 0], [1, 2, 3]]))
    assert drop_budget(tri3, 4, 0.5)[0] == 2


def test_drop_budget_matches_official_numpy_formula():
    np = pytest.importorskip("numpy")
    gen = torch.Generator().manual_seed(3)
    for rate in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        ei = random_graph(gen, 40, 120)
        deg = pyg_degree(to_undirected(ei)[1], 40).numpy()  # float32
        dt = deg + 1
        ref = np.maximum(dt.astype("int") - 2, 0)
        ref = np.minimum(ref, np.round(rate * deg))
        assert drop_budget(ei, 40, rate).tolist() == ref.astype(int).tolist()


def test_drop_budget_per_edge_rates_are_expected_drops():
    ei = to_undirected(torch.tensor([[0, 0, 0, 1], [1, 2, 3, 2]]))
    p = torch.full((ei.size(1),), 0.1)
    p[ei[1] == 0] = 0.7  # three edges into node 0: 2.1 expected drops
    q = drop_budget(ei, 4, p)
    assert q[0] == 2
    # node 2 (degree 2): 0.2 expected -> 0; node 3 (degree 1): capped at 0.
    assert q[2] == 0 and q[3] == 0
    with pytest.raises(ValueError, match="shape"):
        drop_budget(ei, 4, p[:-1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        drop_budget(ei, 4, p + 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        drop_budget(ei, 4, 1.5)


# ------------------------------------------------------- adjacency bounds


def dense_official_bounds(ei, n, rate):
    """The official code's dense A_upper / A_lower (GRACE/model.py)."""
    deg = pyg_degree(to_undirected(ei)[1], n).to(DT)
    a_tilde = to_dense_adj(ei, max_num_nodes=n)[0].to(DT) + torch.eye(n, dtype=DT)
    dt = deg + 1
    max_delete = (dt.long() - 2).clamp_min(0)
    max_delete = torch.minimum(max_delete, torch.round(
        torch.tensor(rate, dtype=torch.float32) * deg.float()).long())
    s = 1 / torch.sqrt(dt - max_delete)
    upper = torch.where(a_tilde > 0, s[None, :] * s[:, None], 0.0)
    ei_n, an = gcn_norm(ei, num_nodes=n, dtype=DT)
    an = to_dense_adj(ei_n, edge_attr=an, max_num_nodes=n)[0].to(DT)
    lower = torch.diag(torch.diag(an))
    return lower, upper


def test_sparse_bounds_equal_dense_reference():
    gen = torch.Generator().manual_seed(0)
    for trial in range(10):
        n = 10 + trial * 3
        ei = random_graph(gen, n, 3 * n)
        rate = (0.1, 0.3, 0.5, 0.7)[trial % 4]
        b = edge_drop_bounds(ei, n, rate, dtype=DT)
        lo, up = b.to_dense()
        ref_lo, ref_up = dense_official_bounds(ei, n, rate)
        assert torch.allclose(lo, ref_lo) and torch.allclose(up, ref_up)
        assert b.num_entries == ei.size(1) + n  # O(|E| + N), never N^2
        # The clean normalised adjacency is in between.
        clean = torch.zeros(n, n, dtype=DT)
        clean[b.row, b.col] = b.clean
        ei_n, an = gcn_norm(ei, num_nodes=n, dtype=DT)
        assert torch.allclose(clean, to_dense_adj(ei_n, edge_attr=an,
                                                  max_num_nodes=n)[0].to(DT).t())


@pytest.mark.parametrize("degree", ["in", "out"])
def test_admissible_views_lie_within_the_bounds(degree):
    gen = torch.Generator().manual_seed(1)
    for _ in range(8):
        n = 25
        ei = random_graph(gen, n, 60)
        b = edge_drop_bounds(ei, n, 0.5, degree=degree, dtype=DT)
        lo, up = b.to_dense()
        for _ in range(10):
            view = admissible_drop(gen, ei, b.budget, degree)
            vei, w = normalized_adjacency(view, n, degree, DT)
            a = torch.zeros(n, n, dtype=DT)
            a[vei[1], vei[0]] = w.to(DT)  # row = target
            assert (a >= lo - 1e-12).all() and (a <= up + 1e-12).all()


def test_bounds_reject_bad_input():
    ei = torch.tensor([[0, 1, 0], [1, 0, 1]])
    with pytest.raises(ValueError, match="duplicate"):
        edge_drop_bounds(ei, 2, 0.2)
    with pytest.raises(ValueError, match="outside"):
        edge_drop_bounds(torch.tensor([[0], [5]]), 2, 0.2)
    with pytest.raises(ValueError, match="long tensor"):
        edge_drop_bounds(torch.zeros(3, 2), 2, 0.2)


def test_subgraph_is_the_induced_block():
    gen = torch.Generator().manual_seed(2)
    ei = random_graph(gen, 20, 50)
    b = edge_drop_bounds(ei, 20, 0.4, dtype=DT)
    nodes = torch.randperm(20, generator=gen)[:9]
    lo, up = b.to_dense()
    slo, sup = b.subgraph(nodes).to_dense()
    assert torch.equal(slo, lo[nodes][:, nodes])
    assert torch.equal(sup, up[nodes][:, nodes])
    with pytest.raises(ValueError, match="distinct"):
        b.subgraph(torch.tensor([1, 1]))


# ------------------------------------------------------------ relaxations


@pytest.mark.parametrize("a", [0.0, 0.01, 0.25, 0.2291, 1.0])
@pytest.mark.parametrize("mode", ["sound", "official"])
def test_relaxation_lines_bound_the_activation(a, mode):
    gen = torch.Generator().manual_seed(4)
    lo = torch.randn(400, generator=gen, dtype=DT) * 2
    up = lo + torch.rand(400, generator=gen, dtype=DT) * 3
    rel = relaxation(lo, up, a, mode)
    t = torch.linspace(0, 1, 101, dtype=DT)[:, None]
    z = lo + t * (up - lo)  # grid over [l, u], endpoints included
    sig = leaky_relu(z, a)
    assert (rel.slope * z + rel.lower_intercept <= sig + 1e-12).all()
    assert (rel.slope * z + rel.upper_intercept >= sig - 1e-12).all()


@pytest.mark.parametrize("a", [-0.5, 1.7, 3.0])
def test_sound_relaxation_holds_for_any_slope(a):
    gen = torch.Generator().manual_seed(5)
    lo = torch.randn(400, generator=gen, dtype=DT) * 2
    up = lo + torch.rand(400, generator=gen, dtype=DT) * 3
    rel = relaxation(lo, up, a, "sound")
    z = lo + torch.linspace(0, 1, 101, dtype=DT)[:, None] * (up - lo)
    sig = leaky_relu(z, a)
    assert (rel.slope * z + rel.lower_intercept <= sig + 1e-12).all()
    assert (rel.slope * z + rel.upper_intercept >= sig - 1e-12).all()


def test_activation_range_is_the_exact_image():
    gen = torch.Generator().manual_seed(11)
    lo = torch.randn(300, generator=gen, dtype=DT) * 2
    up = lo + torch.rand(300, generator=gen, dtype=DT) * 3
    t = torch.linspace(0, 1, 201, dtype=DT)[:, None]
    # The grid plus the kink at 0 where it lies inside [l, u].
    z = torch.cat([lo + t * (up - lo), torch.minimum(lo.clamp_min(0), up)[None]])
    for a in (0.0, 0.25, 1.5, -0.5):
        sig = leaky_relu(z, a)
        rlo, rhi = activation_range(lo, up, a)
        assert torch.allclose(rlo, sig.min(0).values, atol=1e-12)
        assert torch.allclose(rhi, sig.max(0).values, atol=1e-12)


def test_relaxation_values_by_hand():
    lo, up = torch.tensor([-1.0, 1.0, -3.0]), torch.tensor([3.0, 2.0, -1.0])
    sound = relaxation(lo, up, 0.0, "sound")
    off = relaxation(lo, up, 0.0, "official")
    # Unstable ReLU on [-1, 3]: slope 3/4, chord intercept 3/4, code's -l = 1.
    assert torch.allclose(sound.slope, torch.tensor([0.75, 1.0, 0.0]))
    assert torch.allclose(sound.upper_intercept, torch.tensor([0.75, 0.0, 0.0]))
    assert torch.allclose(off.upper_intercept, torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(off.lower_intercept, torch.zeros(3))
    # PReLU a = 0.25 on [-1, 3]: s = 3.25/4, code intercept 0.75*3/3.25.
    off = relaxation(lo[:1], up[:1], 0.25, "official")
    assert math.isclose(off.slope.item(), 3.25 / 4, rel_tol=1e-6)
    assert math.isclose(off.upper_intercept.item(), 0.75 * 3 / 3.25, rel_tol=1e-6)
    # Gradients never NaN, even at l = u.
    lo = torch.tensor([0.0, -1.0, 2.0], requires_grad=True)
    rel = relaxation(lo, lo.detach() + torch.tensor([0.0, 2.0, 0.0]), 0.1)
    sum(rel).sum().backward()
    assert torch.isfinite(lo.grad).all()


def test_leaky_slope_of_activations():
    from gcl.nn import activation_resolver

    assert leaky_slope(activation_resolver("relu")) == 0.0
    assert leaky_slope(activation_resolver("leaky_relu")) == 0.01
    assert math.isclose(leaky_slope(activation_resolver("rrelu")), (1 / 8 + 1 / 3) / 2)
    assert math.isclose(leaky_slope(activation_resolver("rrelu_fixed")),
                        (1 / 8 + 1 / 3) / 2)
    assert leaky_slope(activation_resolver("prelu")) is not None
    with pytest.raises(ValueError, match="ELU"):
        leaky_slope(activation_resolver("elu"))


# --------------------------------------------------------- sparse kernels


def test_edge_dot_and_interval_matmul_against_dense():
    gen = torch.Generator().manual_seed(6)
    p = torch.randn(7, 5, generator=gen, dtype=DT, requires_grad=True)
    q = torch.randn(9, 5, generator=gen, dtype=DT, requires_grad=True)
    row = torch.randint(0, 7, (30,), generator=gen)
    col = torch.randint(0, 9, (30,), generator=gen)
    assert torch.allclose(edge_dot(p, q, row, col), (p @ q.t())[row, col])
    assert torch.autograd.gradcheck(lambda a, b: edge_dot(a, b, row, col), (p, q))

    ei = random_graph(gen, 15, 40)
    b = edge_drop_bounds(ei, 15, 0.5, dtype=DT)
    y = torch.randn(15, 4, generator=gen, dtype=DT)
    lo, up = interval_matmul(b, y)
    dlo, dup = b.to_dense()
    # Brute force: entry-wise min/max over a in [L, U] of sum_j a_ij y_jc.
    ref_lo = torch.minimum(dlo[:, :, None] * y, dup[:, :, None] * y).sum(1)
    ref_up = torch.maximum(dlo[:, :, None] * y, dup[:, :, None] * y).sum(1)
    assert torch.allclose(lo, ref_lo) and torch.allclose(up, ref_up)


# ------------------------------------------------ sound mode: properties


CASES = [("relu", "in"), ("prelu", "in"), ("leaky_relu", "out"),
         ("rrelu_fixed", "in"), ("rrelu", "out"), ("relu", "out")]


@pytest.mark.parametrize("activation,degree", CASES)
def test_sound_bounds_contain_true_values_for_admissible_drops(activation, degree):
    gen = torch.Generator().manual_seed(hash((activation, degree)) % 2**31)
    for trial in range(6):
        n = int(torch.randint(8, 30, (1,), generator=gen))
        ei = random_graph(gen, n, int(2.5 * n))
        rate = float(torch.rand(1, generator=gen)) * 0.8
        enc = make_encoder(5, 3, activation, degree, seed=trial)
        x = torch.rand(n, 5, generator=gen, dtype=DT)
        w = principle_direction(torch.randn(n, 3, generator=gen, dtype=DT))
        b = edge_drop_bounds(ei, n, rate, degree=degree, dtype=DT)
        with torch.no_grad():
            gb = gcn_bounds(enc, x, b, "sound")
            score = compactness_score(enc, x, b, w, "sound")
            nodes = torch.randperm(n, generator=gen)[: n // 2]
            score_b = compactness_score(enc, x, b, w[nodes], "sound", nodes)
            assert torch.allclose(score_b, score[nodes])  # full neighbourhoods
            if degree == "in":  # (GCNEncoder's "out" path is float32-only)
                assert torch.allclose(enc(x, ei), layers(enc, x, ei)[2])
            for _ in range(15):
                view = admissible_drop(gen, ei, b.budget, degree)
                z1, z2, z = layers(enc, x, view)
                tol = 1e-10
                assert (z1 >= gb.lower1 - tol).all() and (z1 <= gb.upper1 + tol).all()
                assert (z2 >= gb.lower2 - tol).all() and (z2 <= gb.upper2 + tol).all()
                assert ((w * z).sum(1) >= score - tol).all()


def test_sound_score_is_exact_when_no_view_differs():
    """Without edges every admissible view is the graph itself: all intervals
    have zero width, every neuron is stable and the bound equals f_i."""
    gen = torch.Generator().manual_seed(7)
    enc = make_encoder(4, 3, "prelu")
    x = torch.rand(15, 4, generator=gen, dtype=DT)
    w = torch.randn(15, 3, generator=gen, dtype=DT)
    ei = torch.empty(2, 0, dtype=torch.long)
    b = edge_drop_bounds(ei, 15, 0.5, dtype=DT)
    with torch.no_grad():
        s = compactness_score(enc, x, b, w, "sound")
        _, _, z = layers(enc, x, ei)
    assert torch.allclose(s, (w * z).sum(1), atol=1e-12)


# ------------------------------------ official mode: dense transcription


def official_dense_pot_loss(enc, z_other, x, ei, view_ei, rate, node_list):
    """Line-by-line dense transcription of GRACE/model.py ``pot_loss`` and
    my_utils.py ``get_alpha_beta`` / ``get_crown_weights`` of
    VoidHaruhi/POT-GCL (commit ad4910b)."""
    n_all = x.size(0)
    a_lower, a_upper = dense_official_bounds(ei, n_all, rate)
    au = a_upper[node_list][:, node_list]
    al = a_lower[node_list][:, node_list]
    conv = enc.convs
    w1, b1 = conv[0].lin.weight.t(), conv[0].bias
    w2, b2 = conv[1].lin.weight.t(), conv[1].bias
    xw = conv[0].lin(x)[node_list]
    h = enc.activation(conv[0](x, ei))
    hw = conv[1].lin(h)[node_list]
    z1_u = (au + al) / 2 @ xw + (au - al) / 2 @ xw.abs() + b1
    z1_l = (au + al) / 2 @ xw - (au - al) / 2 @ xw.abs() + b1
    z2_u = (au + al) / 2 @ hw + (au - al) / 2 @ hw.abs() + b2
    z2_l = (au + al) / 2 @ hw - (au - al) / 2 @ hw.abs() + b2
    act = enc.activation
    alpha = 0 if isinstance(act, torch.nn.ReLU) else act.weight.item()
    n = len(node_list)
    z2n = F.normalize(z_other)
    wcl = z2n * (n / (n - 1)) - z2n.sum(0) / (n - 1)

    def alpha_beta(lo, up):
        al_, au_ = torch.zeros_like(lo), torch.zeros_like(lo)
        bl, bu = torch.zeros_like(lo), torch.zeros_like(lo)
        pos, neg = lo >= 0, up <= 0
        al_[pos], au_[pos] = 1, 1
        al_[neg], au_[neg] = alpha, alpha
        nm = ~(pos | neg)
        top = up[nm] - alpha * lo[nm]
        s = top / (up[nm] - lo[nm])
        al_[nm], au_[nm] = s, s
        bu[nm] = (alpha - 1) * up[nm] * lo[nm] / top
        return al_, au_, bl, bu

    a2l, a2u, b2l, b2u = alpha_beta(z2_l, z2_u)
    a1l, a1u, b1l, b1u = alpha_beta(z1_l, z1_u)
    lam2 = torch.where(wcl >= 0, a2l, a2u)
    d2 = torch.where(wcl >= 0, b2l, b2u)
    big_lam2 = lam2 * wcl
    wt2 = big_lam2 @ w2.T
    bt2 = torch.diag(big_lam2 @ (d2 + b2).T)
    lam1 = torch.where(wt2 >= 0, a1l, a1u)
    d1 = torch.where(wt2 >= 0, b1l, b1u)
    big_lam1 = lam1 * wt2
    wt1 = big_lam1 @ w1.T
    bt1 = torch.diag(big_lam1 @ (d1 + b1).T)
    xw_t = (x[node_list, None, :] @ wt1[:, :, None]).view(-1, 1)
    ei_p, an_p = gcn_norm(view_ei, num_nodes=n_all, dtype=x.dtype)
    m = to_dense_adj(ei_p, edge_attr=an_p, max_num_nodes=n_all)[0].to(x.dtype)
    m = m[node_list][:, node_list]  # [source, target], as the sparse COO
    h_t = m @ xw_t + bt1.view(-1, 1)
    score = (m @ h_t + bt2.view(-1, 1)).squeeze()
    loss = F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
    return score, loss


@pytest.mark.parametrize("activation", ["relu", "prelu"])
@pytest.mark.parametrize("batch", [None, 11])
def test_official_mode_matches_dense_transcription(activation, batch):
    from gcl.losses import pot_loss

    gen = torch.Generator().manual_seed(8)
    n = 24
    ei = random_graph(gen, n, 60)
    view = ei[:, torch.rand(ei.size(1), generator=gen) >= 0.4]  # a sampled view
    enc = make_encoder(6, 4, activation, seed=1)
    x = torch.rand(n, 6, generator=gen, dtype=DT)
    z2 = torch.randn(n, 4, generator=gen, dtype=DT)
    perm = torch.randperm(n, generator=gen)
    node_list = perm if batch is None else perm[:batch]
    b = edge_drop_bounds(ei, n, 0.4, dtype=DT)

    ref_score, ref_loss = official_dense_pot_loss(
        enc, z2[node_list], x, ei, view, 0.4, node_list)
    ref_grads = torch.autograd.grad(ref_loss, list(enc.parameters()))

    w = principle_direction(z2[node_list])
    score = compactness_score(enc, x, b, w, "official", node_list, view)
    loss = pot_loss(score)
    assert torch.allclose(score, ref_score, atol=1e-10)
    assert torch.allclose(loss, ref_loss, atol=1e-12)
    grads = torch.autograd.grad(loss, list(enc.parameters()))
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-10)
    if batch is None:  # identity order gives the same scores, permuted
        full = compactness_score(enc, x, b, principle_direction(z2), "official",
                                 None, view)
        assert torch.allclose(full[node_list], score, atol=1e-10)


def test_official_layer1_bounds_equal_sound_ones_and_hold():
    gen = torch.Generator().manual_seed(9)
    ei = random_graph(gen, 20, 50)
    enc = make_encoder(4, 3, "relu")
    x = torch.rand(20, 4, generator=gen, dtype=DT)
    b = edge_drop_bounds(ei, 20, 0.5, dtype=DT)
    with torch.no_grad():
        off, sound = gcn_bounds(enc, x, b, "official"), gcn_bounds(enc, x, b)
    assert torch.allclose(off.lower1, sound.lower1)
    assert torch.allclose(off.upper1, sound.upper1)
    # Sound layer-2 intervals contain the official (clean-H) ones.
    assert (sound.lower2 <= off.lower2 + 1e-12).all()
    assert (sound.upper2 >= off.upper2 - 1e-12).all()


def test_compactness_score_rejects_bad_input():
    gen = torch.Generator().manual_seed(10)
    ei = random_graph(gen, 10, 20)
    b = edge_drop_bounds(ei, 10, 0.5, dtype=DT)
    x = torch.rand(10, 4, dtype=DT)
    enc = make_encoder(4, 3, "relu")
    with pytest.raises(ValueError, match="w must be"):
        compactness_score(enc, x, b, torch.zeros(9, 3, dtype=DT))
    with pytest.raises(ValueError, match="view_edge_index"):
        compactness_score(enc, x, b, torch.zeros(10, 3, dtype=DT), "official")
    with pytest.raises(ValueError, match="mode"):
        compactness_score(enc, x, b, torch.zeros(10, 3, dtype=DT), "exact")
    with pytest.raises(ValueError, match="2 GCN layers"):
        compactness_score(GCNEncoder(4, 3, num_layers=3).to(DT), x, b,
                          torch.zeros(10, 3, dtype=DT))
    with pytest.raises(ValueError, match="ELU"):
        compactness_score(GCNEncoder(4, 3, activation="elu").to(DT), x, b,
                          torch.zeros(10, 3, dtype=DT))
