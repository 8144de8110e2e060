import pytest
import torch
import torch.nn.functional as F

from gcl.losses import InfoNCE, info_nce, info_nce_per_node


def dense_reference(z1, z2, tau, intra=True, symmetric=True, bias=None):
    """GRACE's official formula, written densely (exp, sums, log)."""
    n = z1.size(0)
    b = torch.zeros(n, dtype=z1.dtype) if bias is None else bias

    def one_side(a, c):
        a, c = F.normalize(a, dim=1), F.normalize(c, dim=1)
        between = torch.exp(a @ c.t() / tau + b[None, :])
        denom = between.sum(1)
        if intra:
            refl = torch.exp(a @ a.t() / tau + b[None, :])
            denom = denom + refl.sum(1) - refl.diag()
        return -torch.log(between.diag() / denom)

    l1 = one_side(z1, z2)
    if not symmetric:
        return l1.mean()
    return 0.5 * (l1 + one_side(z2, z1)).mean()


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
@pytest.mark.parametrize("intra,symmetric", [(True, True), (False, True),
                                             (True, False), (False, False)])
def test_matches_dense_value_and_gradient(block, intra, symmetric):
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(53, 16, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(53, 16, generator=g, dtype=torch.float64, requires_grad=True)
    ref = dense_reference(z1, z2, 0.4, intra, symmetric)
    out = info_nce(z1, z2, 0.4, intra, symmetric, block_size=block)
    assert torch.allclose(out, ref, atol=1e-10)
    g_ref = torch.autograd.grad(ref, (z1, z2))
    g_out = torch.autograd.grad(out, (z1, z2))
    for a, b in zip(g_out, g_ref):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("block", [7, 1000])
def test_one_directional_inter_view_cached_blocks(block):
    # intra_view=False, symmetric=False (SimGCL) keeps its blocks with cache_mb
    g = torch.Generator().manual_seed(2)
    z1 = torch.randn(41, 8, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(41, 8, generator=g, dtype=torch.float64, requires_grad=True)
    ref = dense_reference(z1, z2, 0.3, False, False)
    out = info_nce(z1, z2, 0.3, False, False, block_size=block, cache_mb=1.0)
    assert torch.allclose(out, ref, atol=1e-10)
    for a, b in zip(torch.autograd.grad(out, (z1, z2)),
                    torch.autograd.grad(ref, (z1, z2))):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("block", [3, 32, 100])
def test_float32_within_1e5_with_bias(block):
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(100, 32, generator=g, requires_grad=True)
    z2 = torch.randn(100, 32, generator=g, requires_grad=True)
    bias = 0.3 * torch.randn(100, generator=g)
    ref = dense_reference(z1, z2, 0.2, bias=bias)
    out = info_nce(z1, z2, 0.2, bias=bias, block_size=block)
    assert abs(out.item() - ref.item()) < 1e-5
    g_ref = torch.autograd.grad(ref, (z1, z2))
    g_out = torch.autograd.grad(out, (z1, z2))
    for a, b in zip(g_out, g_ref):
        assert torch.allclose(a, b, atol=1e-6)


def test_gradcheck_small():
    g = torch.Generator().manual_seed(2)
    z1 = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(6, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b: info_nce(a, b, 0.5, bias=bias, block_size=4), (z1, z2))


def test_anchor_bias_cancels():
    # A per-anchor bias added to every logit of row i cancels exactly, which is
    # why only the sample-side (column) bias is an argument.
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(20, 8, generator=g), torch.randn(20, 8, generator=g)
    s = torch.randn(20, generator=g)
    tau = 0.5
    n = 20
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    two_term = (u @ v.t() + s[:, None] + s[None, :]) / tau
    refl = (u @ u.t() + s[:, None] + s[None, :]) / tau
    refl = refl.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
    lse = torch.logsumexp(torch.cat([two_term, refl], 1), 1)
    l1 = (lse - two_term.diag()).mean()
    out = info_nce(z1, z2, tau, symmetric=False, bias=s / tau)
    assert torch.allclose(out, l1, atol=1e-5)


def test_small_tau_uses_exact_path():
    # 2 / tau above the fixed-shift range: the general log-sum-exp path runs
    # and still matches the dense formula in float64.
    g = torch.Generator().manual_seed(4)
    z1 = torch.randn(30, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(30, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ref = dense_reference(z1, z2, 0.05)
    out = info_nce(z1, z2, 0.05, block_size=7)
    assert torch.allclose(out, ref, atol=1e-9)


def test_hand_computed_two_nodes():
    # Orthogonal unit vectors: u = (e1, e2), v = (e1, e2), tau = 1.
    z = torch.eye(2)
    # Anchor 0: pos cos=1, between j=1 cos=0, refl j=1 cos=0.
    expected = -torch.log(torch.tensor(torch.e / (torch.e + 1 + 1)))
    assert torch.allclose(info_nce(z, z, 1.0), expected)
    l1, l2 = info_nce_per_node(z, z, 1.0)
    assert torch.allclose(l1, expected.repeat(2))
    assert torch.allclose(l2, expected.repeat(2))


def test_module_and_errors():
    loss = InfoNCE(tau=0.3)
    assert "tau=0.3" in repr(loss)
    z = torch.randn(5, 4)
    assert loss(z, z).ndim == 0
    with pytest.raises(ValueError, match="same shape"):
        info_nce(z, torch.randn(4, 4))
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="tau must be a positive number"):
            InfoNCE(tau=bad)
    with pytest.raises(ValueError, match="bias"):
        info_nce(z, z, bias=torch.zeros(3))
    with pytest.raises(ValueError, match="at least 2"):
        info_nce(z[:1], z[:1])


def test_memory_is_blockwise():
    # The custom backward keeps no N x N tensor alive: the saved tensors are
    # the [N, d] inputs (stacked: [2N, d]) and [2N] vectors only.
    for intra, sym in [(True, True), (False, True), (True, False)]:
        z1 = torch.randn(300, 8, requires_grad=True)
        z2 = torch.randn(300, 8, requires_grad=True)
        l1, _ = info_nce_per_node(z1, z2, 0.5, intra, sym, block_size=10)
        saved = l1.grad_fn.saved_tensors
        assert max(t.numel() for t in saved) <= 2 * 300 * 8


@pytest.mark.parametrize("block", [5, 64])
def test_cached_blocks_equal_recomputed(block):
    g = torch.Generator().manual_seed(5)
    z1 = torch.randn(40, 6, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(40, 6, generator=g, dtype=torch.float64, requires_grad=True)
    bias = 0.2 * torch.randn(40, generator=g, dtype=torch.float64)
    out = []
    for cache_mb in (0.0, 100.0):
        loss = info_nce(z1, z2, 0.3, bias=bias, block_size=block,
                        cache_mb=cache_mb)
        out.append((loss, *torch.autograd.grad(loss, (z1, z2))))
    for a, b in zip(*out):
        assert torch.allclose(a, b, atol=1e-12)
    # With a cache the blocks are saved; without, only [2N, d]-sized tensors.
    l1, _ = info_nce_per_node(z1, z2, 0.3, block_size=block, cache_mb=100.0)
    assert len(l1.grad_fn.saved_tensors) > 5
    assert torch.allclose(dense_reference(z1, z2, 0.3, bias=bias),
                          out[1][0], atol=1e-10)


def test_default_block_rows_by_device():
    from gcl.losses.infonce import _default_block

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert _default_block(7650, cpu) == 256
    assert _default_block(100, cpu) == 100
    assert _default_block(7650, cuda) == 7650  # one block: 58.5M logits
    assert _default_block(169_343, cuda) == 2**26 // 169_343  # 396 rows
    assert _default_block(10**7, cuda) == 256  # never below the CPU default
