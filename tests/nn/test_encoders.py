import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import (
    add_self_loops,
    coalesce,
    degree,
    to_torch_csr_tensor,
    to_undirected,
)

from gcl.nn import FixedRReLU, GCNEncoder, ProjectionHead, activation_resolver
from gcl.nn.gcn_encoder import _source_major, out_degree_norm
from gcl.nn.spmm import _TRANSPOSES


def test_gcn_encoder_matches_hand_computation():
    # Two layers with the activation after both, A_hat = D^-1/2 (A+I) D^-1/2.
    torch.manual_seed(0)
    n, f = 5, 3
    ei = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    x = torch.randn(n, f)
    enc = GCNEncoder(f, 2, activation="relu")
    assert [c.out_channels for c in enc.convs] == [4, 2]
    loop, _ = add_self_loops(ei, num_nodes=n)
    a = torch.zeros(n, n)
    a[loop[1], loop[0]] = 1.0
    dinv = degree(loop[1], n).pow(-0.5)
    a_hat = dinv[:, None] * a * dinv[None, :]
    h = x
    for conv in enc.convs:
        h = torch.relu(a_hat @ h @ conv.lin.weight.t() + conv.bias)
    assert torch.allclose(enc(x, ei), h, atol=1e-6)


def test_widths_layers_and_shared_prelu():
    enc = GCNEncoder(10, 8, num_layers=3, activation="prelu")
    assert [(c.in_channels, c.out_channels) for c in enc.convs] == [
        (10, 16), (16, 16), (16, 8)]
    prelus = [m for m in enc.modules() if isinstance(m, torch.nn.PReLU)]
    assert len(prelus) == 1 and prelus[0].weight.numel() == 1
    enc2 = GCNEncoder(10, 8, hidden_channels=32)
    assert enc2.convs[0].out_channels == 32
    with pytest.raises(ValueError, match="num_layers"):
        GCNEncoder(10, 8, num_layers=0)


def test_activations():
    x = torch.linspace(-2, 2, 9)
    slope = (1 / 8 + 1 / 3) / 2
    assert torch.allclose(FixedRReLU()(x), torch.where(x > 0, x, slope * x))
    r = activation_resolver("rrelu")
    r.eval()
    assert torch.allclose(r(x), FixedRReLU()(x))
    r.train()
    torch.manual_seed(0)
    assert not torch.allclose(r(x), FixedRReLU()(x))  # random in training
    with pytest.raises(ValueError, match="known"):
        activation_resolver("swish")


def test_projection_head():
    torch.manual_seed(0)
    head = ProjectionHead(8, 4)
    z = torch.randn(6, 8)
    expected = head.fc2(torch.nn.functional.elu(head.fc1(z)))
    assert torch.allclose(head(z), expected)
    assert head(z).shape == (6, 8)
    normed = ProjectionHead(8, 4, normalize=True)(z)
    assert torch.allclose(normed.norm(dim=1), torch.ones(6))


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_propagation_equals_edge_list_path(weighted):
    # Directed view (as after per-entry edge dropping), optional weights.
    torch.manual_seed(1)
    n = 50
    ei = torch.randint(0, n, (2, 300))
    ei = ei[:, ei[0] != ei[1]]
    w = torch.rand(ei.size(1)) if weighted else None
    x = torch.randn(n, 6, requires_grad=True)
    fast = GCNEncoder(6, 4, activation="prelu")
    slow = GCNEncoder(6, 4, activation="prelu", sparse_propagation=False)
    slow.load_state_dict(fast.state_dict())
    a, b = fast(x, ei, w), slow(x, ei, w)
    assert torch.allclose(a, b, atol=1e-5)
    ga = torch.autograd.grad(a.pow(2).sum(), [x, *fast.parameters()])
    gb = torch.autograd.grad(b.pow(2).sum(), [x, *slow.parameters()])
    for u, v in zip(ga, gb):
        assert torch.allclose(u, v, atol=1e-4)


def test_one_normalisation_per_call_keeps_values_float64():
    # Duplicate edges, existing self-loops and isolated nodes: the CSR path,
    # which normalises the edge list once for all layers, gives PyG's
    # edge-list values (GCNConv normalising in every layer) to rounding.
    torch.manual_seed(3)
    n = 40
    ei = torch.randint(0, n - 5, (2, 200))
    ei = torch.cat([ei, ei[:, :20], torch.arange(5).repeat(2, 1)], 1)
    x = torch.randn(n, 7, dtype=torch.float64, requires_grad=True)
    fast = GCNEncoder(7, 3, num_layers=3, activation="prelu").double()
    slow = GCNEncoder(7, 3, num_layers=3, activation="prelu",
                      sparse_propagation=False).double()
    slow.load_state_dict(fast.state_dict())
    a, b = fast(x, ei), slow(x, ei)
    assert torch.allclose(a, b, rtol=0, atol=1e-13)
    ga = torch.autograd.grad(a.sum(), [x, *fast.parameters()])
    gb = torch.autograd.grad(b.sum(), [x, *slow.parameters()])
    for u, v in zip(ga, gb):
        assert torch.allclose(u, v, rtol=0, atol=1e-12)
    # A cached encoder normalises in its layers (once per graph).
    cached = GCNEncoder(7, 3, num_layers=3, activation="prelu",
                        cached=True).double()
    cached.load_state_dict(fast.state_dict())
    assert torch.allclose(cached(x, ei), a, rtol=0, atol=1e-13)


def test_out_degree_normalisation_matches_legacy_formula():
    # PyG <= 1.5: deg over the source index, Â_ij = w_ji / sqrt(d_j d_i).
    torch.manual_seed(2)
    n = 6
    ei = torch.tensor([[0, 0, 1, 2, 3, 4], [1, 2, 2, 3, 4, 5]])  # directed
    x = torch.randn(n, 3)
    for sparse in (True, False):
        enc = GCNEncoder(3, 2, num_layers=1, degree="out",
                         sparse_propagation=sparse)
        loop, _ = add_self_loops(ei, num_nodes=n)
        a = torch.zeros(n, n)
        a[loop[1], loop[0]] = 1.0  # message j -> i lands in row i
        dout = degree(loop[0], n)
        a_hat = dout.pow(-0.5)[:, None] * a * dout.pow(-0.5)[None, :]
        conv = enc.convs[0]
        expected = torch.relu(a_hat @ x @ conv.lin.weight.t() + conv.bias)
        assert torch.allclose(enc(x, ei), expected, atol=1e-6)
    # Undirected graphs: identical to the in-degree normalisation.
    und = torch.cat([ei, ei.flip(0)], 1)
    e_in, e_out = GCNEncoder(3, 2), GCNEncoder(3, 2, degree="out")
    e_out.load_state_dict(e_in.state_dict())
    assert torch.allclose(e_in(x, und), e_out(x, und), atol=1e-6)
    assert not torch.allclose(e_in(x, ei), e_out(x, ei), atol=1e-4)
    with pytest.raises(ValueError, match="degree"):
        GCNEncoder(3, 2, degree="both")
    # float64 models: the normalised weights take the features' dtype
    for sparse in (True, False):
        enc = GCNEncoder(3, 2, num_layers=1, degree="out",
                         sparse_propagation=sparse).double()
        out = enc(x.double(), ei)
        assert out.dtype == torch.float64
        assert torch.allclose(out.float(), enc.float()(x, ei), atol=1e-6)


def _dropped_view(n, seed):
    """A coalesced undirected graph with a few self-loops, then 30 % of its
    entries dropped: sorted by (source, target), no duplicates, directed.
    """
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, 4 * n), generator=g)
    ei = coalesce(to_undirected(ei, num_nodes=n), num_nodes=n)
    return ei[:, torch.rand(ei.size(1), generator=g) > 0.3]


@pytest.mark.parametrize("degree_", ["in", "out"])
@pytest.mark.parametrize("weighted", [False, True])
def test_transpose_of_a_sorted_view_is_the_sorted_transpose(degree_, weighted):
    # The backward pass's source-major matrix, built from the edge order
    # without a sort, is entry for entry what sorting the transpose gives.
    n = 30
    for seed in range(5):
        ei = _dropped_view(n, seed)
        w = torch.rand(ei.size(1), dtype=torch.float64) if weighted else None
        if degree_ == "in":
            e, v = gcn_norm(ei, w, n, dtype=torch.float64)
        else:
            e, v = out_degree_norm(ei, w, n)
            v = v.double()
        ref = to_torch_csr_tensor(e.flip(0), v, size=(n, n)).t().to_sparse_csr()
        got = _source_major(e, v, n)
        assert torch.equal(got.crow_indices(), ref.crow_indices())
        assert torch.equal(got.col_indices(), ref.col_indices())
        assert torch.equal(got.values(), ref.values())
    # Not sorted, or with a duplicate: no shortcut (the encoder sorts).
    e, v = gcn_norm(ei, None, n)
    assert _source_major(e.flip(0), v, n) is None
    dup = torch.cat([ei[:, :1], ei], 1)
    assert _source_major(*gcn_norm(dup, None, n), n) is None
    assert _source_major(ei, torch.ones(ei.size(1)), n) is None  # no loop tail


def test_encoder_gradients_equal_with_and_without_the_sort():
    # The same view in source order (transpose from the order) and shuffled
    # (transpose by sorting): the same adjacency, the same gradients, bit
    # for bit, and the kept transpose is the one the order gave.
    n = 40
    ei = _dropped_view(n, 7)
    shuffled = ei[:, torch.randperm(ei.size(1), generator=torch.Generator()
                                    .manual_seed(0))]
    x = torch.randn(n, 5, dtype=torch.float64, requires_grad=True)
    enc = GCNEncoder(5, 3, activation="prelu", cached=True).double()
    grads = []
    for edges in (ei, shuffled):
        enc.reset_cache()
        adj_t = enc._adjacency(x, edges, None)  # the forward pass would sort
        assert (adj_t in _TRANSPOSES) == (edges is ei)
        out = enc(x, edges)
        grads.append(torch.autograd.grad(out.pow(2).sum(), [x, *enc.parameters()]))
    for u, v in zip(*grads):
        assert torch.equal(u, v)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 25), e=st.integers(0, 120), seed=st.integers(0, 2**16),
       coalesced=st.booleans(), weighted=st.booleans(),
       degree_=st.sampled_from(["in", "out"]))
def test_transpose_shortcut_is_exact_or_declines(n, e, seed, coalesced, weighted,
                                                 degree_):
    # Any edge list (duplicates, self-loops, any order): the shortcut either
    # returns the sorted transpose exactly or declines; on a coalesced list
    # (and so on every edge-dropped view of one) it never declines.
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    if coalesced:
        ei = coalesce(ei, num_nodes=n)
    w = torch.rand(ei.size(1), generator=g, dtype=torch.float64) if weighted \
        else None
    if degree_ == "in":
        norm, v = gcn_norm(ei, w, n, dtype=torch.float64)
    else:
        norm, v = out_degree_norm(ei, w, n)
        v = v.double()
    got = _source_major(norm, v, n)
    if got is None:
        assert not coalesced
        return
    ref = to_torch_csr_tensor(norm.flip(0), v, size=(n, n)).t().to_sparse_csr()
    assert torch.equal(got.crow_indices(), ref.crow_indices())
    assert torch.equal(got.col_indices(), ref.col_indices())
    assert torch.equal(got.values(), ref.values())
