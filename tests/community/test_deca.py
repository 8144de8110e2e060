import pytest
import torch

from gcl.community import DeCA, deca_loss


def dense_deca(r, edge_index, lam):
    # The official gCooL.DeCA, dense: A[edge_index[0], edge_index[1]] = 1.
    n = r.size(0)
    m = n * (n - 1)
    a = torch.zeros(n, n, dtype=r.dtype)
    a[edge_index[0], edge_index[1]] = 1
    df = r.t() @ a @ r
    return ((lam * df.sum() - (n - 1 + lam) * df.trace()) / m
            + (r.t() @ r).trace() / n / 2)


def random_case(n, k, e, seed, loops=False, dup=False):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    if not loops:
        ei = ei[:, ei[0] != ei[1]]
    if dup:
        ei = torch.cat([ei, ei[:, : e // 3]], dim=1)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64)
    return logits, ei


@pytest.mark.parametrize("n,k,e,lam", [(2, 1, 2, 1.0), (7, 3, 20, 0.9),
                                       (30, 5, 200, 0.1), (50, 8, 600, 1.0)])
def test_sparse_equals_dense_value_and_gradient(n, k, e, lam):
    for seed in range(3):
        logits, ei = random_case(n, k, e, seed)
        for stochastic in (True, False):  # softmax rows, and arbitrary R
            leaf = logits.clone().requires_grad_(True)
            r = torch.softmax(leaf, 1) if stochastic else leaf
            ours = deca_loss(r, ei, lam)
            (g1,) = torch.autograd.grad(ours, leaf)
            leaf2 = logits.clone().requires_grad_(True)
            r2 = torch.softmax(leaf2, 1) if stochastic else leaf2
            ref = dense_deca(r2, ei, lam)
            (g2,) = torch.autograd.grad(ref, leaf2)
            assert torch.allclose(ours, ref, rtol=1e-10, atol=1e-12)
            assert torch.allclose(g1, g2, rtol=1e-9, atol=1e-12)


def test_duplicates_count_once_and_self_loops():
    logits, ei = random_case(20, 4, 120, 0, loops=True, dup=True)
    r = torch.softmax(logits, 1)
    assert (ei[0] == ei[1]).any()
    # Default: exactly the official dense assignment (duplicates once, A_ii = 1).
    assert torch.allclose(deca_loss(r, ei, 0.5), dense_deca(r, ei, 0.5))
    # self_loops=False ignores the self-loops of edge_index.
    no_loops = ei[:, ei[0] != ei[1]]
    assert torch.allclose(deca_loss(r, ei, 0.5, self_loops=False),
                          dense_deca(r, no_loops, 0.5))
    assert not torch.allclose(deca_loss(r, ei, 0.5, self_loops=False),
                              deca_loss(r, ei, 0.5))
    # coalesced=True skips the de-duplication: right on duplicate-free input.
    uniq = torch.unique(ei, dim=1)
    assert torch.allclose(deca_loss(r, uniq, 0.5, coalesced=True),
                          deca_loss(r, ei, 0.5))


def test_interpretation_and_module():
    # L = lam * D_inter - D_intra with hard assignments of two cliques.
    n = 6
    ei = torch.tensor([[i, j] for i in range(n) for j in range(n)
                       if i != j and (i < 3) == (j < 3)]).t()
    r = torch.zeros(n, 2, dtype=torch.float64)
    r[:3, 0] = 1
    r[3:, 1] = 1
    # D_inter = 0 and D_intra = (tr(R^T A' R) - tr(R^T R) / 2) / n = (12 - 3) / 6,
    # whatever lam is.
    for lam in (0.3, 1.0):
        assert deca_loss(r, ei, lam).item() == pytest.approx(-1.5, rel=1e-12)
    # Mixing the cliques adds inter-community mass, weighted by lam.
    r[0] = torch.tensor([0.5, 0.5], dtype=torch.float64)
    assert deca_loss(r, ei, 1.0) > deca_loss(r, ei, 0.1)
    m = DeCA(lam=0.3)
    assert torch.allclose(m(r, ei), dense_deca(r, ei, 0.3))
    assert "DeCA(lam=0.3)" == repr(m)


def test_errors():
    r = torch.rand(5, 3)
    with pytest.raises(ValueError, match="at least 2 nodes"):
        deca_loss(torch.rand(1, 3), torch.zeros(2, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"):
        deca_loss(r, torch.tensor([[0], [5]]))
    with pytest.raises(ValueError, match=r"\[N, K\]"):
        deca_loss(torch.rand(5), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        deca_loss(r, torch.tensor([0, 1]))
    # No edges: only the Frobenius term remains.
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert deca_loss(r, empty).item() == pytest.approx(float((r * r).sum() / 10))
