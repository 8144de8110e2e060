import pytest
import torch
import torch.nn.functional as F

from gcl.losses import HeCoLoss, heco_loss, positive_pairs


def dense_reference(z_mp, z_sc, pos_dense, tau, lam, eps=0.0):
    """HeCo's Contrast.forward written densely (exp, row sums, mask product)."""
    a, b = F.normalize(z_mp, dim=1), F.normalize(z_sc, dim=1)
    sim = torch.exp(a @ b.t() / tau)
    mp2sc = sim / (sim.sum(1, keepdim=True) + eps)
    l_mp = -torch.log((mp2sc * pos_dense).sum(1)).mean()
    sc2mp = sim.t() / (sim.t().sum(1, keepdim=True) + eps)
    l_sc = -torch.log((sc2mp * pos_dense).sum(1)).mean()
    return lam * l_mp + (1 - lam) * l_sc


def make(n=23, d=8, seed=0, extra=40):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    # Every node is its own positive (as in HeCo's data) plus random pairs.
    rows = torch.cat([torch.arange(n), torch.randint(0, n, (extra,), generator=g)])
    cols = torch.cat([torch.arange(n), torch.randint(0, n, (extra,), generator=g)])
    index = torch.stack([rows, cols])
    index = torch.unique(index, dim=1)  # HeCo's pos matrix has unique pairs
    dense = torch.zeros(n, n, dtype=torch.float64)
    dense[index[0], index[1]] = 1.0
    return z1, z2, index, dense


@pytest.mark.parametrize("block", [1, 3, 23, None])
@pytest.mark.parametrize("lam,eps", [(0.5, 0.0), (0.3, 1e-8), (1.0, 0.0)])
def test_matches_dense_value_and_gradient(block, lam, eps):
    z1, z2, index, dense = make()
    ref = dense_reference(z1, z2, dense, 0.7, lam, eps)
    out = heco_loss(z1, z2, index, tau=0.7, lam=lam, eps=eps, block_size=block)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    for a, b in zip(torch.autograd.grad(out, (z1, z2)),
                    torch.autograd.grad(ref, (z1, z2))):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


def test_pos_weight_and_sparse_matrix_input():
    z1, z2, index, dense = make(seed=1)
    g = torch.Generator().manual_seed(5)
    w = torch.rand(index.size(1), generator=g, dtype=torch.float64) + 0.1
    dense_w = torch.zeros_like(dense)
    dense_w[index[0], index[1]] = w
    ref = dense_reference(z1, z2, dense_w, 0.5, 0.5)
    out = heco_loss(z1, z2, index, tau=0.5, pos_weight=w, block_size=4)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    sp = torch.sparse_coo_tensor(index, w, (23, 23), check_invariants=True)
    out2 = heco_loss(z1, z2, sp, tau=0.5, block_size=5)
    assert torch.allclose(out2, ref, atol=1e-12, rtol=0)
    # Index order does not matter.
    perm = torch.randperm(index.size(1), generator=g)
    out3 = heco_loss(z1, z2, index[:, perm], tau=0.5, pos_weight=w[perm])
    assert torch.allclose(out3, ref, atol=1e-12, rtol=0)


def test_asymmetric_positives_use_the_same_pairs_in_both_directions():
    # Anchor 0 has positive 1 but not the reverse: the sc direction still
    # reads pos[i, j] with sim(z_sc_i, z_mp_j), as the official code does.
    z1, z2, _, _ = make(n=5, seed=2)
    index = torch.tensor([[0, 0, 1, 2, 3, 4], [0, 1, 1, 2, 3, 4]])
    dense = torch.zeros(5, 5, dtype=torch.float64)
    dense[index[0], index[1]] = 1
    ref = dense_reference(z1, z2, dense, 0.9, 0.2)
    assert torch.allclose(heco_loss(z1, z2, index, 0.9, 0.2), ref, atol=1e-12)


def test_gradcheck():
    z1, z2, index, _ = make(n=7, d=3, seed=3, extra=6)
    assert torch.autograd.gradcheck(
        lambda a, b: heco_loss(a, b, index, 0.6, 0.4, block_size=3), (z1, z2))


def test_float32_and_no_grad():
    z1, z2, index, dense = make(seed=4)
    with torch.no_grad():
        out = heco_loss(z1.float(), z2.float(), index, 0.8)
    ref = dense_reference(z1, z2, dense, 0.8, 0.5)
    assert abs(out.item() - ref.item()) < 1e-5


def test_module_matches_functional():
    z1, z2, index, _ = make(seed=6)
    mod = HeCoLoss(tau=0.5, lam=0.3, block_size=4)
    assert torch.allclose(mod(z1, z2, index), heco_loss(z1, z2, index, 0.5, 0.3))
    assert repr(mod) == "HeCoLoss(tau=0.5, lam=0.3)"


def test_invalid_input():
    z1, z2, index, _ = make(n=6, seed=7, extra=0)
    with pytest.raises(ValueError, match="no positive"):
        heco_loss(z1, z2, index[:, 1:])
    with pytest.raises(ValueError, match="out of range"):
        heco_loss(z1, z2, torch.cat([index, torch.tensor([[0], [6]])], 1))
    with pytest.raises(ValueError, match=r"\[2, P\]"):
        heco_loss(z1, z2, index.t())
    with pytest.raises(ValueError, match="integer"):
        heco_loss(z1, z2, index.double())
    with pytest.raises(ValueError, match="same shape"):
        heco_loss(z1, z2[:5], index)
    with pytest.raises(ValueError, match="tau"):
        heco_loss(z1, z2, index, tau=0.0)
    with pytest.raises(ValueError, match="lam"):
        heco_loss(z1, z2, index, lam=1.5)
    with pytest.raises(ValueError, match="block_size"):
        heco_loss(z1, z2, index, block_size=0)
    with pytest.raises(ValueError, match="pos_weight"):
        heco_loss(z1, z2, index, pos_weight=-torch.ones(index.size(1)))
    with pytest.raises(ValueError, match="pos_weight"):
        heco_loss(z1, z2, index, pos_weight=torch.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        heco_loss(z1.detach() * float("nan"), z2, index)
    with pytest.raises(ValueError, match=r"\[N, N\]"):
        positive_pairs(torch.eye(5).to_sparse(), 6)
