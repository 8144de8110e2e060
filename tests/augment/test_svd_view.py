"""LightGCL's SVD view and SimGCL's noise."""

import pytest
import torch

from gcl.augment import NoisePerturbation, SVDView
from gcl.datasets import InteractionData

D = torch.float64


def toy():
    g = torch.Generator().manual_seed(0)
    keys = torch.randperm(12 * 15, generator=g)[:60]
    return InteractionData(12, 15, torch.stack([keys // 15, keys % 15]))


@pytest.mark.parametrize("adjacency,norm", [("normalized", "sym"), ("raw", None)])
def test_full_rank_view_reconstructs_the_matrix(adjacency, norm):
    data = toy()
    torch.manual_seed(0)
    view = SVDView(q=12, adjacency=adjacency, niter=6).fit(data)
    a = data.biadjacency(norm).to_dense().to(D)
    g = torch.Generator().manual_seed(1)
    eu, ei = torch.randn(12, 3, generator=g, dtype=D), torch.randn(15, 3, generator=g,
                                                                    dtype=D)
    gu, gi = view(eu, ei)
    # rank 12 = min(U, I): U S V^T is the matrix itself
    assert torch.allclose(gu, a @ ei, atol=1e-4)
    assert torch.allclose(gi, a.t() @ eu, atol=1e-4)
    assert view.svd_seconds_ is not None


def test_low_rank_view_is_the_truncated_svd():
    data = toy()
    a = data.biadjacency().to_dense().to(D)
    torch.manual_seed(0)
    view = SVDView(q=3, niter=10).fit(a.to_sparse())
    u, s, vh = torch.linalg.svd(a)
    ei = torch.eye(15, dtype=D)
    approx = view.propagate_users(ei)  # U S V^T itself
    # randomised: its error is near the optimal rank-3 error (Eckart-Young)
    best = s[3:].square().sum().sqrt()
    err = torch.linalg.norm(a - approx)
    assert best <= err <= 1.05 * best
    assert torch.allclose(view.s_.to(D), s[:3], rtol=0.05)
    # the cached factors are used again, not recomputed
    f = view.u_
    view.propagate_items(torch.eye(12, dtype=D))
    assert view.u_ is f


def test_errors():
    with pytest.raises(RuntimeError, match="fit"):
        SVDView().propagate_users(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="adjacency"):
        SVDView(adjacency="laplacian")
    with pytest.raises(ValueError, match="exceeds"):
        SVDView(q=20).fit(toy())


def test_noise_perturbation_norm_and_orthant():
    torch.manual_seed(0)
    x = torch.randn(50, 8, dtype=D)
    noise = NoisePerturbation(0.1)
    delta = noise(x) - x
    assert torch.allclose(delta.norm(dim=1), torch.full((50,), 0.1, dtype=D))
    assert bool(((delta * x) >= 0).all())  # same orthant as x
    assert torch.equal(noise.eval()(x), x)
