import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gcl.losses import (
    NContrastLoss,
    PamCLoss,
    influence_matrix,
    meta_nodes,
    ncontrast_loss,
    pamc_loss,
)

D = torch.float64


def random_graph(n, e, seed):
    """A directed edge list with duplicates and self-loops."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    return torch.cat([ei, ei[:, :3], torch.tensor([[0, 1], [0, 1]])], dim=1)


def dense_influence(ei, n, order, cumulative):
    """Gamma from the formula, dense float64."""
    a = torch.zeros(n, n, dtype=D)
    a[ei[0], ei[1]] = 1.0
    a[ei[1], ei[0]] = 1.0
    a.fill_diagonal_(0.0)
    a = a + torch.eye(n, dtype=D)
    a_hat = a / a.sum(1, keepdim=True)
    power = a_hat
    gamma = a_hat.clone()
    for _ in range(order - 1):
        power = power @ a_hat
        gamma = gamma + power if cumulative else power
    return gamma


def to_dense(index, value, n):
    out = torch.zeros(n, n, dtype=value.dtype)
    out.index_put_((index[0], index[1]), value, accumulate=True)
    return out


def cos_tilde(x):
    """Cosine matrix with a zero diagonal; a zero row has cosine 0."""
    norm = x.norm(dim=1, keepdim=True)
    u = torch.where(norm > 0, x / norm.clamp_min(1e-300), torch.zeros_like(x))
    s = u @ u.t()
    return s - torch.diag(torch.diag(s))


def dense_pamc(z, gamma, c, k, tau, eps, mode):
    """PamC from the formula, dense, one cluster at a time."""
    pos = (gamma * torch.exp(tau * cos_tilde(z))).sum(1)
    width = int(c.max()) + 1 if mode == "official" else k
    rows = []
    for cl in range(width):
        members = z[c == cl]
        if mode == "drop" and members.size(0) == 0:
            continue
        rows.append(members.sum(0) if members.size(0) else
                    torch.zeros(z.size(1), dtype=z.dtype))
    m = torch.stack(rows)
    neg = torch.exp(tau * cos_tilde(m)).sum(1)
    return -torch.log(pos + eps).mean() + torch.log(neg + eps).mean()


def official_pamc(z, gamma, c, tau):
    """The official NcontrastCCSP/get_feature_dis formulas (no eps in the
    cosines, one-hot width max(c) + 1), written out densely."""
    def feature_dis(x):
        s = x @ x.t()
        nrm = torch.sqrt((x ** 2).sum(1)).reshape(-1, 1)
        s = s * (nrm @ nrm.t()) ** (-1)
        return (1 - torch.eye(x.size(0), dtype=x.dtype)) * s

    onehot = torch.nn.functional.one_hot(c).to(z.dtype)
    cc = (z.unsqueeze(1) * onehot.unsqueeze(2)).sum(0)
    x_pos = (gamma * torch.exp(tau * feature_dis(z))).sum(1)
    x_neg = torch.exp(tau * feature_dis(cc)).sum(1)
    return -torch.log(x_pos + 1e-10).mean() + torch.log(x_neg + 1e-10).mean()


def dense_ncontrast(z, gamma, tau, eps):
    e = torch.exp(tau * cos_tilde(z))
    return -torch.log((gamma * e).sum(1) / e.sum(1) + eps).mean()


def assignment(n, k, seed, empty):
    g = torch.Generator().manual_seed(seed)
    if empty == "none":
        c = torch.randperm(n, generator=g) % k
    elif empty == "top":  # nobody in clusters k-2, k-1
        c = torch.randint(0, k - 2, (n,), generator=g)
    else:  # nobody in cluster 1 (below the largest used index)
        c = torch.randint(0, k, (n,), generator=g)
        c[c == 1] = 0
        c[0] = k - 1
    return c


# --- influence matrix -------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("cumulative", [True, False])
def test_influence_matches_dense_formula(order, cumulative):
    for seed in range(3):
        n = 15 + seed
        ei = random_graph(n, 25, seed)
        index, value = influence_matrix(ei, n, order, cumulative, dtype=D)
        ref = dense_influence(ei, n, order, cumulative)
        got = to_dense(index, value, n)
        assert torch.allclose(got, ref, atol=1e-12, rtol=0)
        # Coalesced, row index first, no stored zeros of the product.
        key = index[0] * n + index[1]
        assert torch.all(key[1:] > key[:-1])
        assert (ref[index[0], index[1]] > 0).all()
        assert int((ref > 0).sum()) == index.size(1)
        rows = got.sum(1)
        assert torch.allclose(rows, torch.full_like(rows, order if cumulative else 1))


def test_influence_matches_official_load_graph():
    # SDCN/PAMC's load_graph: max(A, A^T) + I, row-normalised (scipy), then
    # sparse powers, on a graph without duplicates or self-loops.
    n = 20
    g = torch.Generator().manual_seed(3)
    ei = torch.randint(0, n, (2, 40), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.unique(ei, dim=1)
    adj = sp.coo_matrix((np.ones(ei.size(1)), (ei[0].numpy(), ei[1].numpy())),
                        shape=(n, n))
    adj = adj + adj.T.multiply(adj.T > adj) - adj.multiply(adj.T > adj)
    adj = adj + sp.eye(n)
    adj = sp.diags(1.0 / np.asarray(adj.sum(1)).ravel()) @ adj
    ref = adj + adj @ adj + adj @ adj @ adj
    index, value = influence_matrix(ei, n, order=3, cumulative=True, dtype=D)
    assert np.allclose(to_dense(index, value, n).numpy(), ref.toarray(), atol=1e-12)


def test_influence_isolated_nodes_and_default_dtype():
    index, value = influence_matrix(torch.tensor([[0], [1]]), 4, order=2)
    assert value.dtype == torch.get_default_dtype()
    ref = dense_influence(torch.tensor([[0], [1]]), 4, 2, True)
    assert torch.allclose(to_dense(index, value, 4).double(), ref, atol=1e-6)
    assert to_dense(index, value, 4)[3, 3] == 2.0  # isolated: its self-loop only


def test_influence_validation():
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="outside"):
        influence_matrix(ei, 2)
    with pytest.raises(ValueError, match="order"):
        influence_matrix(ei, 3, order=0)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        influence_matrix(torch.tensor([[0, 1, 2]]).t(), 3)
    with pytest.raises(ValueError, match="num_nodes"):
        influence_matrix(ei, 0)


# --- PamC -------------------------------------------------------------------


def pamc_case(n, k, seed, empty, order=2):
    ei = random_graph(n, 2 * n, seed)
    index, value = influence_matrix(ei, n, order, True, dtype=D)
    g = torch.Generator().manual_seed(100 + seed)
    z = torch.randn(n, 5, generator=g, dtype=D)
    return z, index, value, assignment(n, k, seed, empty)


@pytest.mark.parametrize("k", [3, 5, 8])
@pytest.mark.parametrize("empty", ["none", "top", "middle"])
@pytest.mark.parametrize("mode", ["official", "keep", "drop"])
@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_pamc_matches_dense_reference_value_and_gradient(k, empty, mode, tau):
    for seed in range(2):
        z, index, value, c = pamc_case(20 + 3 * seed, k, seed, empty)
        gamma = to_dense(index, value, z.size(0))
        z1 = z.clone().requires_grad_()
        z2 = z.clone().requires_grad_()
        got = pamc_loss(z1, index, value, c, k, tau=tau, empty_clusters=mode)
        ref = dense_pamc(z2, gamma, c, k, tau, 1e-10, mode)
        assert torch.allclose(got, ref, atol=1e-12, rtol=0)
        (g1,) = torch.autograd.grad(got, z1)
        (g2,) = torch.autograd.grad(ref, z2)
        assert torch.isfinite(g1).all()
        assert torch.allclose(g1, g2, atol=1e-12, rtol=0)


def test_pamc_equals_official_formulas_without_empty_clusters():
    for seed, order in [(0, 1), (1, 2), (2, 3)]:
        for empty in ("none", "top"):
            z, index, value, c = pamc_case(25, 6, seed, empty, order)
            gamma = to_dense(index, value, 25)
            ours = pamc_loss(z, index, value, c, 6, tau=0.5)
            assert torch.allclose(ours, official_pamc(z, gamma, c, 0.5), atol=1e-12)


def test_pamc_empty_middle_cluster_is_finite_where_official_is_nan():
    z, index, value, c = pamc_case(20, 4, 0, "middle")
    gamma = to_dense(index, value, 20)
    assert torch.isnan(official_pamc(z, gamma, c, 0.5))
    z = z.requires_grad_()
    for mode in ("official", "keep", "drop"):
        loss = pamc_loss(z, index, value, c, 4, empty_clusters=mode)
        (g,) = torch.autograd.grad(loss, z)
        assert torch.isfinite(loss) and torch.isfinite(g).all()
    # "official": rows 0..3 (cluster 1 a zero meta-node), "keep" the same,
    # "drop": rows 0, 2, 3 only.
    assert torch.allclose(pamc_loss(z, index, value, c, 4),
                          pamc_loss(z, index, value, c, 4, empty_clusters="keep"))


def test_pamc_empty_top_cluster_drops_out_officially():
    z, index, value, c = pamc_case(20, 5, 1, "top")  # clusters 3, 4 empty
    official = pamc_loss(z, index, value, c, 5)
    assert torch.allclose(official, pamc_loss(z, index, value, c, 5,
                                              empty_clusters="drop"))
    assert not torch.allclose(official, pamc_loss(z, index, value, c, 5,
                                                  empty_clusters="keep"))


def test_pamc_hand_computed_two_clusters():
    # Two nodes, Gamma = I: the positive term is -log(1 + eps) (self-pairs
    # count as e^0); the meta-nodes are z_0, z_1 with cosine 0 (orthogonal).
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=D)
    index = torch.tensor([[0, 1], [0, 1]])
    value = torch.ones(2, dtype=D)
    loss = pamc_loss(z, index, value, torch.tensor([0, 1]), 2, tau=0.7, eps=0)
    assert math.isclose(float(loss), math.log(2.0), rel_tol=1e-12)
    # Gamma_01 = 0.5 and z_1 = 3 z_0: cosine 1 on the off-diagonal.
    z = torch.tensor([[1.0, 1.0], [3.0, 3.0]], dtype=D)
    index = torch.tensor([[0, 0, 1], [0, 1, 1]])
    value = torch.tensor([0.5, 0.5, 1.0], dtype=D)
    loss = pamc_loss(z, index, value, torch.tensor([0, 0]), 2, tau=0.7, eps=0)
    expected = -0.5 * (math.log(0.5 + 0.5 * math.exp(0.7)) + math.log(1.0)) + 0.0
    assert math.isclose(float(loss), expected, rel_tol=1e-12)


def test_pamc_large_tau_float32_no_overflow():
    z, index, value, c = pamc_case(30, 4, 2, "none")
    ref = dense_pamc(z, to_dense(index, value, 30), c, 4, 150.0, 1e-10, "official")
    got = pamc_loss(z.float(), index, value.float(), c, 4, tau=150.0)
    assert torch.isfinite(got)
    assert math.isclose(float(got), float(ref), rel_tol=1e-4, abs_tol=1e-3)


def test_pamc_soft_assignment_module_and_meta_nodes():
    z, index, value, c = pamc_case(20, 4, 0, "none")
    q = torch.nn.functional.one_hot(c, 4).to(D) * 0.7 + 0.3 / 4
    ref = pamc_loss(z, index, value, c, 4, tau=0.5)
    assert torch.allclose(pamc_loss(z, index, value, q, tau=0.5), ref)
    mod = PamCLoss(tau=0.5)
    assert torch.allclose(mod(z, index, value, c, 4), ref)
    assert "PamCLoss(tau=0.5" in repr(mod)
    m = meta_nodes(z, c, 4)
    for cl in range(4):
        assert torch.allclose(m[cl], z[c == cl].sum(0))


def test_pamc_validation():
    z, index, value, c = pamc_case(10, 3, 0, "none")
    with pytest.raises(ValueError, match="num_clusters"):
        pamc_loss(z, index, value, c)
    with pytest.raises(ValueError, match="outside"):
        pamc_loss(z, index, value, c, 2)
    with pytest.raises(ValueError, match="gamma_index holds nodes"):
        pamc_loss(z[:5], index, value, c[:5], 3)
    with pytest.raises(ValueError, match="gamma_value"):
        pamc_loss(z, index, value[:-1], c, 3)
    with pytest.raises(ValueError, match="tau"):
        pamc_loss(z, index, value, c, 3, tau=0.0)
    with pytest.raises(ValueError, match="empty_clusters"):
        pamc_loss(z, index, value, c, 3, empty_clusters="ignore")
    with pytest.raises(ValueError, match="entries"):
        pamc_loss(z, index, value, c[:-1], 3)


# --- Ncontrast --------------------------------------------------------------


@pytest.mark.parametrize("order,cumulative", [(1, True), (2, False), (3, True)])
@pytest.mark.parametrize("tau", [0.25, 1.0, 3.0])
@pytest.mark.parametrize("eps", [1e-8, 0.0])
def test_ncontrast_matches_dense_reference_for_every_block(order, cumulative,
                                                           tau, eps):
    n = 23
    ei = random_graph(n, 40, order)
    index, value = influence_matrix(ei, n, order, cumulative, dtype=D)
    gamma = to_dense(index, value, n)
    z = torch.randn(n, 6, generator=torch.Generator().manual_seed(7), dtype=D)
    z_ref = z.clone().requires_grad_()
    ref = dense_ncontrast(z_ref, gamma, tau, eps)
    (g_ref,) = torch.autograd.grad(ref, z_ref)
    for block in (None, 1, 4, 7, n, 100):
        z1 = z.clone().requires_grad_()
        got = ncontrast_loss(z1, index, value, tau=tau, block_size=block, eps=eps)
        (g,) = torch.autograd.grad(got, z1)
        assert torch.allclose(got, ref, atol=1e-12, rtol=0), block
        assert torch.allclose(g, g_ref, atol=1e-12, rtol=0), block


def test_ncontrast_equals_scgc_formula_and_gradcheck():
    # SCGC's Ncontrast on get_feature_dis and a dense Gamma, eps 1e-8 added
    # to the ratio inside the log.
    n = 12
    index, value = influence_matrix(random_graph(n, 20, 1), n, 2, True, dtype=D)
    gamma = to_dense(index, value, n)
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(1), dtype=D)
    x = z @ z.t()
    nrm = z.norm(dim=1, keepdim=True)
    x_dis = (1 - torch.eye(n, dtype=D)) * x / (nrm @ nrm.t())
    e = torch.exp(0.5 * x_dis)
    scgc = -torch.log((e * gamma).sum(1) * e.sum(1) ** (-1) + 1e-8).mean()
    assert torch.allclose(ncontrast_loss(z, index, value, tau=0.5), scgc, atol=1e-12)
    z = z.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t: ncontrast_loss(t, index, value, tau=0.5, block_size=5), (z,))
    mod = NContrastLoss(tau=0.5, block_size=5)
    assert torch.allclose(mod(z, index, value), scgc, atol=1e-12)


def test_ncontrast_large_tau_float32_and_validation():
    n = 30
    index, value = influence_matrix(random_graph(n, 50, 2), n, 2, dtype=D)
    z = torch.randn(n, 5, generator=torch.Generator().manual_seed(2), dtype=D)
    ref = dense_ncontrast(z, to_dense(index, value, n), 120.0, 1e-8)
    got = ncontrast_loss(z.float(), index, value.float(), tau=120.0, block_size=8)
    assert math.isclose(float(got), float(ref), rel_tol=1e-4, abs_tol=1e-3)
    with pytest.raises(ValueError, match="block_size"):
        ncontrast_loss(z, index, value, block_size=-1)
    with pytest.raises(ValueError, match="tau"):
        ncontrast_loss(z, index, value, tau=-1.0)


def test_anchor_without_positives_gives_log_eps():
    # Rows 3 and 4 of Gamma are empty: their positive sum is 0, log(0 + eps).
    n = 5
    index = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 2, 0]])
    value = torch.tensor([0.5, 0.5, 1.0, 0.7, 0.3], dtype=D)
    gamma = to_dense(index, value, n)
    z = torch.randn(n, 3, generator=torch.Generator().manual_seed(4), dtype=D)
    c = torch.tensor([0, 1, 1, 0, 2])
    z1 = z.clone().requires_grad_()
    z2 = z.clone().requires_grad_()
    got = pamc_loss(z1, index, value, c, 3)
    ref = dense_pamc(z2, gamma, c, 3, 0.5, 1e-10, "official")
    assert torch.allclose(got, ref, atol=1e-12)
    g1, g2 = torch.autograd.grad(got, z1)[0], torch.autograd.grad(ref, z2)[0]
    assert torch.allclose(g1, g2, atol=1e-12)
    z1 = z.clone().requires_grad_()
    z2 = z.clone().requires_grad_()
    got = ncontrast_loss(z1, index, value, block_size=2)
    ref = dense_ncontrast(z2, gamma, 1.0, 1e-8)
    assert torch.allclose(got, ref, atol=1e-12)
    g1, g2 = torch.autograd.grad(got, z1)[0], torch.autograd.grad(ref, z2)[0]
    assert torch.isfinite(g1).all() and torch.allclose(g1, g2, atol=1e-12)
