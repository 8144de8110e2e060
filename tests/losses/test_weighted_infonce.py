import pytest
import torch
import torch.nn.functional as F

from gcl.losses import WeightedInfoNCE, cluster_negative_weights, weighted_info_nce


def meow_dense(z_tar, z, labels, tau):
    """MEOW's InfoNce (code_meow/module/contrast.py) written densely."""
    a, b = F.normalize(z_tar, dim=1), F.normalize(z, dim=1)
    dots = torch.exp(a @ b.t() / tau)
    k = labels.size(0)
    weight = torch.full_like(dots, float(k))
    for lab in labels:
        onehot = F.one_hot(lab).to(dots.dtype)
        weight = weight - onehot @ onehot.t()
    denom = (dots * weight).mean(1) * dots.size(0)
    return -torch.log(dots.diag() / denom).mean()


def weighted_dense(z1, z2, w, tau):
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    s = a @ b.t() / tau
    return (-s.diag() + torch.log((w * torch.exp(s)).sum(1))).mean()


def make(n=29, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.stack([torch.randint(0, 4, (n,), generator=g),
                          torch.randint(0, 7, (n,), generator=g)])
    return z1, z2, labels


def test_cluster_weights_rule():
    labels = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1]])
    w = cluster_negative_weights(labels)(torch.arange(4), torch.arange(4))
    expected = torch.tensor([[0, 1, 2, 2], [1, 0, 1, 1], [2, 1, 0, 0], [2, 1, 0, 0]])
    assert torch.equal(w, expected)
    # A block of rows/cols is the same block of the full matrix.
    wb = cluster_negative_weights([labels[0], labels[1]])(
        torch.tensor([2, 3]), torch.tensor([0, 3]))
    assert torch.equal(wb, expected[[2, 3]][:, [0, 3]])
    every = torch.arange(4)
    wf = cluster_negative_weights(labels, torch.float64)(every, every)
    assert wf.dtype == torch.float64 and torch.equal(wf, expected.double())


@pytest.mark.parametrize("block", [1, 3, 29, None])
def test_cluster_labels_match_meow_dense(block):
    z1, z2, labels = make()
    ref = meow_dense(z1, z2, labels, 0.4)
    out = weighted_info_nce(z1, z2, cluster_labels=labels, tau=0.4, block_size=block)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    for a, b in zip(torch.autograd.grad(out, (z1, z2)),
                    torch.autograd.grad(ref, (z1, z2))):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("block", [1, 3, 29])
def test_callable_with_parameters_gets_gradients(block):
    z1, z2, _ = make(seed=1)
    g = torch.Generator().manual_seed(2)
    theta = torch.randn(29, 29, generator=g, dtype=torch.float64, requires_grad=True)
    theta_ref = theta.detach().clone().requires_grad_()
    calls = []

    def weight(rows, cols):
        calls.append((rows.numel(), cols.numel()))
        return F.softplus(theta[rows][:, cols])

    out = weighted_info_nce(z1, z2, weight=weight, tau=0.9, block_size=block)
    ref = weighted_dense(z1, z2, F.softplus(theta_ref), 0.9)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    ga = torch.autograd.grad(out, (z1, z2, theta))
    gb = torch.autograd.grad(ref, (z1, z2, theta_ref))
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)
    # Never more than one block of weights at a time.
    assert max(r for r, _ in calls) == block


def test_zero_weight_entries_have_finite_gradients():
    z1, z2, _ = make(n=6, seed=3)
    w = torch.ones(6, 6, dtype=torch.float64)
    w.fill_diagonal_(0.0)
    w[0, 3] = 0.0
    wp = w.clone().requires_grad_()
    out = weighted_info_nce(z1, z2, weight=lambda r, c: wp[r][:, c], block_size=2)
    ref = weighted_dense(z1, z2, w, 0.5)
    assert torch.allclose(out, ref, atol=1e-12)
    grads = torch.autograd.grad(out, (z1, z2, wp))
    assert all(torch.isfinite(gr).all() for gr in grads)


def test_gradcheck():
    z1, z2, labels = make(n=8, d=3, seed=4)
    assert torch.autograd.gradcheck(
        lambda a, b: weighted_info_nce(a, b, cluster_labels=labels, tau=0.5,
                                       block_size=3), (z1, z2))


def test_module_and_no_grad():
    z1, z2, labels = make(seed=5)
    mod = WeightedInfoNCE(tau=0.4, block_size=5)
    out = mod(z1, z2, cluster_labels=labels)
    assert torch.allclose(out, meow_dense(z1, z2, labels, 0.4), atol=1e-12)
    with torch.no_grad():
        assert torch.allclose(mod(z1, z2, cluster_labels=labels), out)
    assert repr(mod) == "WeightedInfoNCE(tau=0.4)"


def test_invalid_input():
    z1, z2, labels = make(n=6, seed=6)
    with pytest.raises(ValueError, match="exactly one"):
        weighted_info_nce(z1, z2)
    with pytest.raises(ValueError, match="exactly one"):
        weighted_info_nce(z1, z2, weight=lambda r, c: None, cluster_labels=labels)
    with pytest.raises(ValueError, match="label 5 nodes"):
        weighted_info_nce(z1, z2, cluster_labels=labels[:, :5])
    with pytest.raises(ValueError, match="integers"):
        weighted_info_nce(z1, z2, cluster_labels=labels.double())
    with pytest.raises(ValueError, match="one cluster"):
        weighted_info_nce(z1, z2, cluster_labels=torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[2, 6\] block"):
        weighted_info_nce(z1, z2, weight=lambda r, c: torch.ones(6, 6), block_size=2)
    with pytest.raises(ValueError, match="non-negative"):
        weighted_info_nce(z1, z2, weight=lambda r, c: -torch.ones(r.numel(), c.numel()))
    for bad in (float("nan"), float("inf")):
        def weight(r, c, bad=bad):
            w = torch.ones(r.numel(), c.numel())
            w[0, -1] = bad
            return w
        with pytest.raises(ValueError, match="finite and non-negative"):
            weighted_info_nce(z1, z2, weight=weight, block_size=4)
    with pytest.raises(ValueError, match="callable"):
        weighted_info_nce(z1, z2, weight=torch.ones(6, 6))
    with pytest.raises(ValueError, match="same shape"):
        weighted_info_nce(z1, z2[:, :2], cluster_labels=labels)
    with pytest.raises(ValueError, match="tau"):
        weighted_info_nce(z1, z2, cluster_labels=labels, tau=-1)
