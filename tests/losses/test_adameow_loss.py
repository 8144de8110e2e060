import math

import pytest
import torch
import torch.nn.functional as F

from gcl.losses import AdaMEOWLoss, PairWeightMLP, adameow_loss


def official_dense(z_anchor, z, mlp: PairWeightMLP, tau):
    """AdaMEOW's weight_InfoNce (code_adameow/module/adameow.py), all N^2 pairs."""
    z_anchor, z = F.normalize(z_anchor, dim=1), F.normalize(z, dim=1)
    n = z.size(0)
    seq = torch.nn.Sequential(torch.nn.Linear(z.size(1), 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 1), torch.nn.Sigmoid()).double()
    seq[0].weight, seq[0].bias = mlp.lin1.weight, mlp.lin1.bias
    seq[2].weight, seq[2].bias = mlp.lin2.weight, mlp.lin2.bias
    dots = torch.exp(z_anchor @ z.t() / tau)
    w_anchor = z_anchor.repeat_interleave(n, 0)  # row i*N+j holds z_anchor[i]
    w = z.repeat(n, 1)  # ... and z[j]
    weight = seq(w_anchor + w).reshape(n, n)
    return (-torch.log(dots.diag() / (dots * weight).sum(1))).mean()


def make(n=17, d=6, seed=0):
    torch.manual_seed(seed)
    z1 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, d, dtype=torch.float64, requires_grad=True)
    mlp = PairWeightMLP(d).double()
    return z1, z2, mlp


def test_factored_mlp_equals_mlp_of_sum():
    z1, z2, mlp = make()
    out = mlp(z1, z2)
    ref = torch.sigmoid(mlp.lin2(torch.tanh(mlp.lin1(z1[:, None] + z2[None]))))[..., 0]
    assert out.shape == (17, 17)
    assert torch.allclose(out, ref, atol=1e-14)


def test_factored_mlp_gradients_equal_the_tanh_mlp():
    """The logistic form and its own backward against autograd through the
    official layers (tanh), every input and parameter, float64."""
    z1, z2, mlp = make(seed=3)
    params = list(mlp.parameters())
    g = torch.randn(17, 17, dtype=torch.float64)
    out = mlp(z1, z2)
    ref = torch.sigmoid(mlp.lin2(torch.tanh(mlp.lin1(z1[:, None] + z2[None]))))[..., 0]
    ga = torch.autograd.grad(out, [z1, z2] + params, g)
    gb = torch.autograd.grad(ref, [z1, z2] + params, g)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-13, rtol=0)
    a, c = mlp.sides(z1[:4], z2)
    assert torch.autograd.gradcheck(mlp.combine, (a.detach().requires_grad_(),
                                                  c.detach().requires_grad_()))


def test_exp_factors_give_the_logistic_of_the_sum():
    """sigma(a + c) as 1 / (1 + e^-a e^-c): the same weights and gradients
    as the logistic function of the sum, float64."""
    z1, z2, mlp = make(seed=5)
    params = list(mlp.parameters())
    a, c = mlp.sides(z1, z2)
    ea, ec = mlp.factors(a, c)
    assert torch.equal(ea, torch.exp(-a.detach())) and not ea.requires_grad
    g = torch.randn(17, 17, dtype=torch.float64)
    out = mlp.combine(a, c, ea, ec)
    ref = mlp.combine(a, c)
    assert torch.allclose(out, ref, atol=1e-15, rtol=0)
    ga = torch.autograd.grad(out, [z1, z2] + params, g, retain_graph=True)
    gb = torch.autograd.grad(ref, [z1, z2] + params, g)
    for x, y in zip(ga, gb):
        assert torch.allclose(x, y, atol=1e-14, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_factors_where_they_could_overflow(dtype):
    """Past 0.9 * log(max) of the dtype a factor could overflow (and inf * 0
    would give NaN): the loss takes the logistic function of the sum."""
    limit = 0.9 * math.log(torch.finfo(dtype).max)
    a = torch.zeros(3, 4, dtype=dtype)
    c = torch.zeros(5, 4, dtype=dtype)
    assert PairWeightMLP.factors(a, c)[0] is not None
    c[2, 1] = limit  # |c| reaches the limit
    assert PairWeightMLP.factors(a, c) == (None, None)
    a[0, 0] = float("nan")  # NaN never takes the factored path
    c[2, 1] = 0.0
    assert PairWeightMLP.factors(a, c) == (None, None)


def test_huge_first_layer_weights_take_the_logistic_path():
    """Pre-activations far past the limit: the loss is finite and equal to
    the official dense one."""
    z1, z2, mlp = make(seed=6)
    with torch.no_grad():
        mlp.lin1.weight.mul_(2000.0)
    assert PairWeightMLP.factors(*mlp.sides(F.normalize(z1, dim=1),
                                            F.normalize(z2, dim=1)))[0] is None
    out = adameow_loss(z1, z2, mlp, tau=0.9, block_size=4)
    ref = official_dense(z1, z2, mlp, 0.9)
    assert torch.isfinite(out) and torch.allclose(out, ref, atol=1e-12, rtol=0)
    params = list(mlp.parameters())
    ga = torch.autograd.grad(out, [z1, z2] + params)
    gb = torch.autograd.grad(ref, [z1, z2] + params)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


def test_any_pair_callable_matches_the_module():
    """A plain callable takes the generic path (the MLP on every block's
    rows); the module's factored path gives the same loss and gradients."""
    z1, z2, mlp = make(seed=4)
    params = list(mlp.parameters())
    for block in (2, 5):
        a = adameow_loss(z1, z2, mlp, tau=0.7, block_size=block)
        b = adameow_loss(z1, z2, lambda p, q: mlp(p, q), tau=0.7, block_size=block)
        assert torch.allclose(a, b, atol=1e-14, rtol=0)
        ga = torch.autograd.grad(a, [z1, z2] + params)
        gb = torch.autograd.grad(b, [z1, z2] + params)
        for x, y in zip(ga, gb):
            assert torch.allclose(x, y, atol=1e-13, rtol=0)


@pytest.mark.parametrize("block", [1, 3, 17, None])
def test_matches_official_dense(block):
    z1, z2, mlp = make()
    params = list(mlp.parameters())
    ref = official_dense(z1, z2, mlp, 0.9)
    out = adameow_loss(z1, z2, mlp, tau=0.9, block_size=block)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    ga = torch.autograd.grad(out, [z1, z2] + params)
    gb = torch.autograd.grad(ref, [z1, z2] + params)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


def test_gradients_formed_in_the_forward_pass_follow_the_graph():
    """The one-pass loss forms its gradients before backward: they must
    still scale with the incoming gradient, reach only the inputs that ask
    for them, and be skipped without autograd."""
    z1, z2, mlp = make(seed=8)
    params = list(mlp.parameters())
    ref = official_dense(z1, z2, mlp, 0.6)
    gb = torch.autograd.grad(ref, [z1, z2] + params)
    out = adameow_loss(z1, z2, mlp, tau=0.6, block_size=5)
    ga = torch.autograd.grad(3.0 * out + out.detach(), [z1, z2] + params)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, 3.0 * b, atol=1e-12, rtol=0)
    for p in params:  # a frozen MLP and a fixed second view
        p.requires_grad_(False)
    out = adameow_loss(z1, z2.detach(), mlp, tau=0.6, block_size=5)
    (g1,) = torch.autograd.grad(out, [z1])
    assert torch.allclose(g1, gb[0], atol=1e-12, rtol=0)
    with torch.no_grad():
        out = adameow_loss(z1, z2, mlp, tau=0.6, block_size=5)
    assert not out.requires_grad
    assert torch.allclose(out, ref.detach(), atol=1e-12, rtol=0)


def test_gradcheck():
    z1, z2, mlp = make(n=6, d=3, seed=1)
    assert torch.autograd.gradcheck(
        lambda a, b: adameow_loss(a, b, mlp, 0.5, block_size=4), (z1, z2))


def test_module():
    z1, z2, _ = make(seed=2)
    mod = AdaMEOWLoss(6, tau=1.0, block_size=5).double()
    out = mod(z1, z2)
    assert torch.allclose(out, official_dense(z1, z2, mod.mlp, 1.0), atol=1e-12)
    out.backward()
    assert mod.mlp.lin1.weight.grad is not None
    before = mod.mlp.lin2.bias.detach().clone()
    torch.manual_seed(9)
    mod.reset_parameters()
    assert not torch.equal(before, mod.mlp.lin2.bias)
    assert repr(mod) == "AdaMEOWLoss(6, hidden_channels=16, tau=1.0)"
    assert repr(mod.mlp) == "PairWeightMLP(6, hidden_channels=16)"


def test_invalid_input():
    z1, z2, mlp = make(n=5)
    with pytest.raises(ValueError, match="same shape"):
        adameow_loss(z1, z2[:4], mlp)
    with pytest.raises(ValueError, match="callable"):
        adameow_loss(z1, z2, "mlp")
    with pytest.raises(ValueError, match="tau"):
        AdaMEOWLoss(6, tau=0)


def test_default_block_keeps_the_hidden_layer_near_8_mib():
    from gcl.losses.adameow import _cache_block

    assert _cache_block(4019, 16, 4) == 32  # ACM: 32 x 4019 x 16 x 4 B = 7.9 MiB
    assert _cache_block(10, 16, 8) == 10  # never more rows than N
    assert _cache_block(10**9, 16, 4) == 1  # never fewer than one
