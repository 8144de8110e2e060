import pytest
import torch
import torch.nn.functional as F

from gcl.nn import MLPEncoder, sdcn_encoder_state_dict


def test_default_widths_and_hand_computation():
    enc = MLPEncoder(7)
    assert [(lin.in_features, lin.out_features) for lin in enc.lins] == [
        (7, 500), (500, 500), (500, 2000), (2000, 10)]
    assert enc.in_channels == 7 and enc.out_channels == 10
    assert enc.hidden_channels == (500, 500, 2000)

    torch.manual_seed(0)
    enc = MLPEncoder(5, 3, hidden_channels=[4, 6])
    x = torch.randn(8, 5)
    (w1, b1), (w2, b2), (w3, b3) = [(lin.weight, lin.bias) for lin in enc.lins]
    h = torch.relu(x @ w1.t() + b1)
    h = torch.relu(h @ w2.t() + b2)
    z = h @ w3.t() + b3  # linear output: negative values survive
    out = enc(x)
    assert torch.allclose(out, z, atol=1e-6)
    assert (out < 0).any()
    ei = torch.tensor([[0, 1], [1, 0]])
    assert torch.equal(enc(x, ei, torch.ones(2)), out)  # the graph is ignored


def test_single_linear_layer_activation_and_repr():
    torch.manual_seed(0)
    enc = MLPEncoder(4, 2, hidden_channels=())
    x = torch.randn(3, 4)
    assert torch.allclose(enc(x), enc.lins[0](x))
    enc = MLPEncoder(4, 2, hidden_channels=[3], activation="elu")
    assert torch.allclose(enc(x), enc.lins[1](F.elu(enc.lins[0](x))))
    assert repr(enc) == "MLPEncoder(4, 2, hidden_channels=[3])"
    with pytest.raises(ValueError, match="widths"):
        MLPEncoder(4, 0)
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        enc(torch.randn(3, 5))


def test_reset_parameters():
    enc = MLPEncoder(4, 2, hidden_channels=[3])
    before = [p.clone() for p in enc.parameters()]
    enc.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, enc.parameters()))


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support")
def test_sparse_features_match_dense(layout):
    torch.manual_seed(1)
    x = torch.randn(10, 6) * (torch.rand(10, 6) < 0.3)
    sx = x.to_sparse() if layout == "coo" else x.to_sparse_csr()
    enc = MLPEncoder(6, 3, hidden_channels=[5])
    dense = enc(x)
    sparse = enc(sx)
    assert torch.allclose(dense, sparse, atol=1e-6)
    g1 = torch.autograd.grad(dense.pow(2).sum(), list(enc.parameters()))
    g2 = torch.autograd.grad(sparse.pow(2).sum(), list(enc.parameters()))
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-5)


class SDCNStyleAE(torch.nn.Module):
    """The layer names of SDCN's AE (data/pretrain.py), tiny widths."""

    def __init__(self, n_in, h1, h2, h3, n_z):
        super().__init__()
        lin = torch.nn.Linear
        self.enc_1, self.enc_2 = lin(n_in, h1), lin(h1, h2)
        self.enc_3, self.z_layer = lin(h2, h3), lin(h3, n_z)
        self.dec_1, self.dec_2 = lin(n_z, h3), lin(h3, h2)
        self.dec_3, self.x_bar_layer = lin(h2, h1), lin(h1, n_in)

    def encode(self, x):
        h = torch.relu(self.enc_1(x))
        h = torch.relu(self.enc_2(h))
        h = torch.relu(self.enc_3(h))
        return self.z_layer(h)


def test_sdcn_state_dict_loads_encoder_keys():
    torch.manual_seed(2)
    ae = SDCNStyleAE(6, 5, 4, 7, 3)
    enc = MLPEncoder(6, 3, hidden_channels=[5, 4, 7])
    enc.load_state_dict(sdcn_encoder_state_dict(ae.state_dict()))
    x = torch.randn(9, 6)
    assert torch.allclose(enc(x), ae.encode(x), atol=1e-6)
    prefixed = {f"ae.{k}": v for k, v in ae.state_dict().items()}
    assert sdcn_encoder_state_dict(prefixed).keys() == enc.state_dict().keys()
    with pytest.raises(KeyError, match="SDCN"):
        sdcn_encoder_state_dict(enc.state_dict())
