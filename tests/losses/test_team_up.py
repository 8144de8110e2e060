import pytest
import torch
import torch.nn.functional as F

from gcl.losses import TeamUp, info_nce, team_up_gamma, team_up_loss


def two_term_reference(h1, h2, s, gamma, tau, intra=True, symmetric=True):
    """The official _team_up written densely: every similarity (positive,
    inter- and intra-view negatives) is shifted by gamma * (S_i + S_j)."""
    shift = gamma * (s[None, :] + s[:, None])

    def one_side(a, b):
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
        between = torch.exp((a @ b.t() + shift) / tau)
        denom = between.sum(1)
        if intra:
            refl = torch.exp((a @ a.t() + shift) / tau)
            denom = denom + refl.sum(1) - refl.diag()
        return -torch.log(between.diag() / denom)

    l1 = one_side(h1, h2)
    if not symmetric:
        return l1.mean()
    return (0.5 * (l1 + one_side(h2, h1))).mean()


def inputs(n=61, d=12, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=dtype, requires_grad=True)
    z2 = torch.randn(n, d, generator=g, dtype=dtype, requires_grad=True)
    s = 0.2 * torch.rand(n, generator=g, dtype=dtype) - 0.05  # some S < 0
    return z1, z2, s


@pytest.mark.parametrize("gamma,tau,block", [(0.7, 0.4, None), (1.0, 0.2, 7),
                                             (5.0, 0.6, 16), (10.0, 0.3, 1000)])
def test_equals_two_term_formula_value_and_gradient(gamma, tau, block):
    z1, z2, s = inputs()
    ref = two_term_reference(z1, z2, s, gamma, tau)
    out = team_up_loss(z1, z2, s, gamma, tau, block_size=block)
    assert torch.allclose(out, ref, atol=1e-10, rtol=0)
    for a, b in zip(torch.autograd.grad(out, (z1, z2)),
                    torch.autograd.grad(ref, (z1, z2))):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("intra,symmetric", [(False, True), (True, False),
                                             (False, False)])
def test_variants_equal_reference(intra, symmetric):
    z1, z2, s = inputs(seed=1)
    ref = two_term_reference(z1, z2, s, 2.0, 0.5, intra, symmetric)
    out = team_up_loss(z1, z2, s, 2.0, 0.5, intra, symmetric, block_size=10)
    assert torch.allclose(out, ref, atol=1e-10, rtol=0)


def test_wide_bias_range_takes_general_path():
    # gamma * range(S) / tau = 50 pushes the bias range past the fast path's
    # limit (2 / tau + range < 60): the row-block path must agree too.
    z1, z2, _ = inputs(n=40, seed=2)
    s = torch.linspace(-0.5, 0.5, 40, dtype=torch.float64)
    ref = two_term_reference(z1, z2, s, 10.0, 0.2)
    out = team_up_loss(z1, z2, s, 10.0, 0.2, block_size=9)
    assert torch.allclose(out, ref, atol=1e-9, rtol=1e-12)


def test_float32_matches_float64_reference():
    z1, z2, s = inputs(n=100, d=32, seed=3, dtype=torch.float32)
    ref = two_term_reference(z1.double(), z2.double(), s.double(), 1.0, 0.3)
    out = team_up_loss(z1, z2, s, 1.0, 0.3)
    assert abs(out.item() - ref.item()) < 1e-5


def test_gamma_zero_is_grace_exactly():
    z1, z2, s = inputs(dtype=torch.float32)
    assert torch.equal(team_up_loss(z1, z2, s, 0.0, 0.4), info_nce(z1, z2, 0.4))
    assert torch.equal(TeamUp(0.4)(z1, z2, s, 0.0), info_nce(z1, z2, 0.4))


def test_anchor_term_cancels():
    # Adding a constant to S changes both the anchor and sample terms; only
    # the sample term's relative weights matter, so the loss is unchanged.
    z1, z2, s = inputs(seed=4)
    a = team_up_loss(z1, z2, s, 3.0, 0.5)
    b = team_up_loss(z1, z2, s + 0.7, 3.0, 0.5)
    assert torch.allclose(a, b, atol=1e-12)
    assert not torch.allclose(a, team_up_loss(z1, z2, s, 0.0, 0.5))


def test_module_equals_function():
    z1, z2, s = inputs(seed=5)
    m = TeamUp(tau=0.3, block_size=8)
    assert torch.equal(m(z1, z2, s, 1.5),
                       team_up_loss(z1, z2, s, 1.5, 0.3, block_size=8))
    assert "TeamUp(tau=0.3" in repr(m)


def test_schedule():
    # gamma(t) = min(max(0, (t - t0) / 100), gamma_max), t 1-based
    assert team_up_gamma(1, 0, 1.0) == 0.01
    assert team_up_gamma(500, 500, 1.0) == 0.0
    assert team_up_gamma(550, 500, 1.0) == 0.5
    assert team_up_gamma(2100, 2000, 1.0) == 1.0  # Photo: gamma_max at 2100
    assert team_up_gamma(3000, 2000, 1.0) == 1.0
    assert team_up_gamma(2000, 1000, 10.0) == 10.0  # WikiCS: at the last epoch
    assert team_up_gamma(1999, 1000, 10.0) == 9.99
    assert team_up_gamma(30, 0, 1.0, ramp=10) == 1.0
    with pytest.raises(ValueError, match="ramp"):
        team_up_gamma(1, 0, 1.0, ramp=0)
    with pytest.raises(ValueError, match="gamma_max"):
        team_up_gamma(1, 0, -1.0)


def test_errors():
    z1, z2, s = inputs(n=10)
    with pytest.raises(ValueError, match=r"strength must have shape \[N\] = \[10\]"):
        team_up_loss(z1, z2, s[:9], 1.0)
    with pytest.raises(ValueError, match="NaN"):
        team_up_loss(z1, z2, torch.full((10,), float("nan")), 1.0)
    with pytest.raises(ValueError, match="tau"):
        team_up_loss(z1, z2, s, 1.0, tau=0.0)
    for bad in (-1, float("inf")):
        with pytest.raises(ValueError, match="tau must be a positive number"):
            TeamUp(tau=bad)
