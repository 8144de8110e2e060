import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn.dense.linear import Linear

from gcl.nn import GCNEncoder, MLPEncoder, SparseInputLinear, sparse_linear


def _features(n=40, f=30, density=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, f, generator=g, dtype=torch.float64)
    x = x * (torch.rand(n, f, generator=g) < density)
    x[3] = 0.0  # an empty row
    x[:, 5] = 0.0  # an empty column
    return x


@pytest.mark.parametrize("layout", ["coo", "coo_uncoalesced", "csr"])
def test_sparse_linear_equals_dense_linear_in_value_and_gradient(layout):
    x = _features()
    if layout == "csr":
        xs = x.to_sparse_csr()
    else:
        xs = x.to_sparse_coo()
        if layout == "coo_uncoalesced":  # rows out of order, as index_select
            perm = torch.randperm(x.size(0), generator=torch.Generator().manual_seed(1))
            xs = xs.index_select(0, perm)
            x = x[perm]
            assert not xs.is_coalesced()
    w = torch.randn(7, x.size(1), dtype=torch.float64, requires_grad=True)
    b = torch.randn(7, dtype=torch.float64, requires_grad=True)
    g = torch.randn(x.size(0), 7, dtype=torch.float64)

    out = sparse_linear(xs, w, b)
    ref = F.linear(x, w, b)
    assert torch.allclose(out, ref, atol=1e-13)
    gw, gb = torch.autograd.grad(out, (w, b), g)
    rw, rb = torch.autograd.grad(ref, (w, b), g)
    assert torch.allclose(gw, rw, atol=1e-13)
    assert torch.allclose(gb, rb, atol=1e-13)


def test_sparse_linear_refuses_bad_input():
    w = torch.randn(4, 30)
    with pytest.raises(ValueError, match="shape"):
        sparse_linear(torch.rand(5, 29).to_sparse(), w)
    with pytest.raises(ValueError, match="COO or CSR"):
        sparse_linear(torch.rand(5, 30), w)
    x = torch.rand(5, 30).to_sparse().requires_grad_()
    with pytest.raises(ValueError, match="gradient"):
        sparse_linear(x, w)


def test_replacing_keeps_parameters_and_draws_no_random_numbers():
    lin = Linear(30, 6, bias=False, weight_initializer="glorot")
    keys = list(lin.state_dict())
    state = torch.random.get_rng_state()
    fast = SparseInputLinear.replacing(lin)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert fast.weight is lin.weight and list(fast.state_dict()) == keys
    x = _features().float()
    assert torch.allclose(fast(x.to_sparse()), lin(x), atol=1e-6)
    assert torch.equal(fast(x), lin(x))  # dense input: PyG's path
    with pytest.raises(TypeError, match="Linear"):
        SparseInputLinear.replacing(torch.nn.Linear(3, 4))


def test_gcn_encoder_on_sparse_features_equals_dense_features():
    x = _features(n=40, f=30)
    edge_index = torch.randint(40, (2, 120),
                               generator=torch.Generator().manual_seed(2))
    enc = GCNEncoder(30, 8, activation="prelu").double()
    grads = []
    for features in (x.to_sparse(), x):  # fast sparse path, PyG's dense path
        enc.zero_grad()
        out = enc(features, edge_index)
        out.square().sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in enc.parameters()]))
    (out, g_sparse), (ref, g_dense) = grads
    assert torch.allclose(out, ref, atol=1e-12)
    for a, b in zip(g_sparse, g_dense):
        assert torch.allclose(a, b, atol=1e-11)


def test_gcn_encoder_initialisation_is_unchanged_by_the_sparse_layer(monkeypatch):
    torch.manual_seed(0)
    enc = GCNEncoder(30, 8, activation="prelu")
    after = torch.rand(1)
    assert isinstance(enc.convs[0].lin, SparseInputLinear)
    # the same construction without the swap: same weights, same RNG state
    monkeypatch.setattr(SparseInputLinear, "replacing", lambda lin: lin)
    torch.manual_seed(0)
    plain = GCNEncoder(30, 8, activation="prelu")
    assert torch.equal(torch.rand(1), after)
    assert type(plain.convs[0].lin) is Linear
    assert list(enc.state_dict()) == list(plain.state_dict())
    for (k, a), b in zip(enc.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), k


def test_mlp_encoder_on_sparse_features_equals_dense_features():
    torch.manual_seed(0)
    enc = MLPEncoder(30, 4, hidden_channels=(9,)).double()
    x = _features()
    out = enc(x.to_sparse())
    ref = enc(x)
    assert torch.allclose(out, ref, atol=1e-13)
    (ga,) = torch.autograd.grad(out.sum(), enc.lins[0].weight)
    (gb,) = torch.autograd.grad(ref.sum(), enc.lins[0].weight)
    assert torch.allclose(ga, gb, atol=1e-12)
