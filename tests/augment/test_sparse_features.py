import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.augment import Compose, EdgeDrop, FeatureDropout, FeatureMask
from gcl.datasets import SparseFeatures, check_graph, load
from gcl.losses import info_nce
from gcl.methods import GRACE
from gcl.nn import GCNEncoder


def bow_graph(n=120, f=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, f, generator=g) < 0.05).float() * torch.rand(n, f, generator=g)
    ei = to_undirected(torch.randint(0, n, (2, 600), generator=g))
    return Data(x=x, edge_index=ei[:, ei[0] != ei[1]])


def test_sparse_features_transform():
    d = bow_graph()
    s = SparseFeatures()(d)
    assert s.x.is_sparse and torch.equal(s.x.to_dense(), d.x)
    dense = Data(x=torch.rand(5, 4) + 0.1)
    assert not SparseFeatures()(dense).x.is_sparse  # too dense: unchanged
    with pytest.raises(ValueError, match="max_density"):
        SparseFeatures(1.5)


@pytest.mark.parametrize("aug", [FeatureMask(0.4), FeatureDropout(0.0),
                                 Compose([EdgeDrop(0.3), FeatureMask(0.3)])])
def test_feature_mask_same_draw_sparse_and_dense(aug):
    d = bow_graph()
    s = SparseFeatures()(d)
    torch.manual_seed(7)
    a = aug(d)
    torch.manual_seed(7)
    b = aug(s)
    assert b.x.is_sparse
    assert torch.equal(b.x.to_dense(), a.x)
    assert torch.equal(a.edge_index, b.edge_index)


def test_feature_dropout_sparse_rate_and_rescale():
    d = SparseFeatures()(bow_graph(n=400, f=200))
    nnz = d.x.coalesce().values().numel()
    torch.manual_seed(0)
    out = FeatureDropout(0.3, rescale=True)(d).x.coalesce()
    assert abs(out.values().numel() / nnz - 0.7) < 0.05
    dense_in, dense_out = d.x.to_dense(), out.to_dense()
    nz = dense_out != 0
    assert torch.allclose(dense_out[nz], dense_in[nz] / 0.7)


def test_encoder_and_grace_loss_equal_on_sparse_input():
    d = bow_graph()
    s = SparseFeatures()(d)
    enc = GCNEncoder(60, 8)
    assert torch.allclose(enc(d.x, d.edge_index), enc(s.x, s.edge_index),
                          atol=1e-6)
    m = GRACE.from_config(60, 8, 8)
    torch.manual_seed(3)
    l_dense = m(d)
    torch.manual_seed(3)
    l_sparse = m(s)
    assert torch.allclose(l_dense, l_sparse, atol=1e-5)
    l_sparse.backward()
    assert m.encoder.convs[0].lin.weight.grad is not None
    z1 = m.embed(s)
    assert torch.allclose(z1, m.embed(d), atol=1e-6)
    assert info_nce(z1, z1).isfinite()


def test_check_graph_on_sparse_and_loader_option():
    s = SparseFeatures()(bow_graph())
    check_graph(s)
    bad = s.clone()
    v = bad.x.coalesce()
    vals = v.values().clone()
    vals[0] = float("nan")
    bad.x = torch.sparse_coo_tensor(v.indices(), vals, v.shape)
    with pytest.raises(ValueError, match="NaN"):
        check_graph(bad)
    cora = load("Cora", sparse_features=True)
    assert cora.x.is_sparse and cora.x.shape == (2708, 1433)
    assert torch.equal(cora.x.to_dense(), load("Cora").x)
