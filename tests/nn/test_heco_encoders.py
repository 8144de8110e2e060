import math

import pytest
import torch
import torch.nn.functional as F

from gcl.nn import (
    IntraTypeAttention,
    MetaPathEncoder,
    MetaPathGCN,
    NetworkSchemaEncoder,
    ProjectionHead,
    SemanticAttention,
    TanhProjection,
    meta_path_adjacency,
)

# An asymmetric meta-path matrix (row-wise top-k keeps it so): A[i, j] = weight
# of edge (i, j). Node 4 has an in-edge but no out-edge (row sum 0).
EDGES = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 3, 0, 1],
                      [0, 1, 1, 2, 2, 0, 3, 4, 3, 3]])
WEIGHTS = torch.tensor([2.0, 1.0, 3.0, 1.0, 1.0, 2.0, 4.0, 1.0, 1.0, 2.0],
                       dtype=torch.float64)


def dense_official_norm(n=5):
    """HeCo's/MEOW's normalize_adj: D^-1/2 A^T D^-1/2, D = row sums of A."""
    a = torch.zeros(n, n, dtype=torch.float64)
    a[EDGES[0], EDGES[1]] = WEIGHTS
    d = a.sum(1)
    dinv = torch.where(d > 0, d.pow(-0.5), torch.zeros_like(d))
    return dinv[:, None] * a.t() * dinv[None, :]


def test_meta_path_adjacency_matches_official_formula():
    adj = meta_path_adjacency(EDGES, WEIGHTS, 5)
    assert adj.layout == torch.sparse_csr and adj.dtype == torch.float64
    assert torch.allclose(adj.to_dense(), dense_official_norm(), atol=1e-15)
    # "in" uses column sums; on a symmetric matrix both agree.
    sym = torch.cat([EDGES, EDGES.flip(0)], 1)
    w = torch.cat([WEIGHTS, WEIGHTS])
    assert torch.allclose(meta_path_adjacency(sym, w, 5, degree="in").to_dense(),
                          meta_path_adjacency(sym, w, 5).to_dense(), atol=1e-15)
    a = torch.zeros(5, 5, dtype=torch.float64)
    a[EDGES[0], EDGES[1]] = WEIGHTS
    c = a.sum(0)
    ref_in = a.t() / torch.sqrt(c[:, None] * c[None, :]).clamp_min(1e-300)
    ref_in[c[:, None] * c[None, :] == 0] = 0
    assert torch.allclose(meta_path_adjacency(EDGES, WEIGHTS, 5, "in").to_dense(),
                          ref_in, atol=1e-15)


def test_meta_path_adjacency_invalid():
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        meta_path_adjacency(EDGES.t())
    with pytest.raises(ValueError, match="out of range"):
        meta_path_adjacency(EDGES, num_nodes=4)
    with pytest.raises(ValueError, match="edge_weight"):
        meta_path_adjacency(EDGES, -WEIGHTS, 5)
    with pytest.raises(ValueError, match="degree"):
        meta_path_adjacency(EDGES, degree="both")


def test_meta_path_gcn_matches_hand_computation():
    torch.manual_seed(0)
    gcn = MetaPathGCN(3, 4, 2, dropout=0.5).double().eval()
    with torch.no_grad():
        gcn.act.weight.fill_(0.1)
    x = torch.randn(5, 3, dtype=torch.float64)
    a = dense_official_norm()
    h = a @ x @ gcn.lin1.weight.t()
    h = torch.where(h > 0, h, 0.1 * h)
    z = a @ h @ gcn.lin2.weight.t()
    ref = (z - z.mean()) / torch.sqrt(z.var(unbiased=False) + 1e-5)
    out = gcn(x, EDGES, WEIGHTS)
    assert out.shape == (5, 2)
    assert torch.allclose(out, ref, atol=1e-12)
    # Whole-tensor LayerNorm: mean 0 and variance ~1 over all entries.
    assert abs(out.mean().item()) < 1e-12
    # A precomputed propagation matrix gives the same; so does a tuple.
    adj = meta_path_adjacency(EDGES, WEIGHTS, 5)
    assert torch.allclose(gcn(x, adj), ref, atol=1e-12)
    assert torch.allclose(gcn(x, (EDGES, WEIGHTS)), ref, atol=1e-12)
    # Without LayerNorm.
    gcn.layer_norm = False
    assert torch.allclose(gcn(x, adj), z, atol=1e-12)


def test_meta_path_gcn_dropout_init_and_repr():
    torch.manual_seed(1)
    gcn = MetaPathGCN(6, 8, 4, dropout=0.5)
    assert gcn.lin1.weight.abs().max() <= 1 / math.sqrt(8)
    assert gcn.lin2.weight.abs().max() <= 1 / math.sqrt(4)
    x = torch.randn(5, 6)
    adj = meta_path_adjacency(EDGES, WEIGHTS.float(), 5)
    gcn.train()
    assert not torch.allclose(gcn(x, adj), gcn(x, adj))
    gcn.eval()
    assert torch.equal(gcn(x, adj), gcn(x, adj))
    assert repr(gcn) == "MetaPathGCN(6, 8, 4, dropout=0.5)"
    with pytest.raises(ValueError, match=r"\[N, 6\]"):
        gcn(torch.randn(5, 3), adj)
    with pytest.raises(ValueError, match=r"\[N, N\]"):
        gcn(torch.randn(4, 6), adj)


def semantic_by_hand(att_mod, views, att_vec=None):
    """HeCo's Attention.forward, view by view."""
    a = att_mod.att if att_vec is None else att_vec
    betas = []
    for v in views:
        sp = torch.tanh(v @ att_mod.lin.weight.t() + att_mod.lin.bias).mean(0)
        betas.append((a @ sp[:, None]).view(-1))
    beta = torch.softmax(torch.cat(betas), dim=0)
    out = 0
    for b, v in zip(beta, views):
        out = out + v * b
    return out, beta


def test_semantic_attention_matches_hand_computation():
    torch.manual_seed(2)
    mod = SemanticAttention(4, attn_drop=0.5).double().eval()
    views = [torch.randn(6, 4, dtype=torch.float64) for _ in range(3)]
    out, beta = mod(views, return_attention=True)
    ref, ref_beta = semantic_by_hand(mod, views)
    assert torch.allclose(out, ref, atol=1e-14)
    assert torch.allclose(beta, ref_beta, atol=1e-14)
    assert torch.allclose(mod(torch.stack(views)), ref, atol=1e-14)
    # Training mode drops entries of the attention vector (scaled 1/(1-p)).
    mod.train()
    torch.manual_seed(3)
    out_train = mod(views)
    torch.manual_seed(3)
    dropped = F.dropout(mod.att, 0.5, True)
    assert torch.allclose(out_train, semantic_by_hand(mod, views, dropped)[0])
    assert repr(mod) == "SemanticAttention(4, attn_drop=0.5)"
    with pytest.raises(ValueError, match="same shape"):
        mod([views[0], views[1][:5]])
    with pytest.raises(ValueError, match="channels"):
        mod([torch.randn(6, 3)])


def test_semantic_attention_init():
    torch.manual_seed(4)
    mod = SemanticAttention(256)
    # Xavier normal, gain 1.414: std = 1.414 * sqrt(2 / (256 + 256)).
    assert abs(mod.lin.weight.std().item() / (1.414 * math.sqrt(2 / 512)) - 1) < 0.05
    assert abs(mod.lin.bias).max() <= 1 / math.sqrt(256)


def test_meta_path_encoder_matches_hand_computation():
    torch.manual_seed(5)
    enc = MetaPathEncoder(4, 2, attn_drop=0.3).double().eval()
    with torch.no_grad():
        for conv in enc.convs:
            conv.bias.normal_()
        enc.acts[1].weight.fill_(0.5)
    h = torch.randn(5, 4, dtype=torch.float64)
    a1 = dense_official_norm()
    ei2 = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 0, 3, 2, 4, 4]])
    a2 = meta_path_adjacency(ei2, None, 5, dtype=torch.float64)
    views = []
    for a, conv, slope in zip((a1, a2.to_dense()), enc.convs, (0.25, 0.5)):
        v = a @ h @ conv.lin.weight.t() + conv.bias
        views.append(torch.where(v > 0, v, slope * v))
    ref, ref_beta = semantic_by_hand(enc.attention, views)
    out, beta = enc(h, [(EDGES, WEIGHTS), a2], return_attention=True)
    assert torch.allclose(out, ref, atol=1e-12)
    assert torch.allclose(beta, ref_beta, atol=1e-12)
    assert repr(enc) == "MetaPathEncoder(4, num_meta_paths=2, attn_drop=0.3)"
    with pytest.raises(ValueError, match="2 meta-path graphs"):
        enc(h, [a2])


def test_schema_encoder_matches_hand_computation():
    torch.manual_seed(6)
    enc = NetworkSchemaEncoder(3, num_types=2, attn_drop=0.2).double().eval()
    x = torch.randn(4, 3, dtype=torch.float64)
    nb = [torch.randn(5, 3, dtype=torch.float64),
          torch.randn(2, 3, dtype=torch.float64)]
    idx = [torch.tensor([[0, 1, 4], [2, 2, 3], [4, 0, 1], [3, 3, 3]]),
           torch.tensor([[0], [1], [1], [0]])]
    views = []
    for t, intra in enumerate(enc.intra):
        rows = []
        for i in range(4):  # node by node, as HeCo's intra_att on one row
            nei = nb[t][idx[t][i]]
            cat = torch.cat([x[i].expand_as(nei), nei], dim=1)
            score = F.leaky_relu(cat @ intra.att[0], 0.01)
            alpha = torch.softmax(score, dim=0)
            rows.append((alpha[:, None] * nei).sum(0))
        views.append(F.elu(torch.stack(rows)))
    ref, ref_beta = semantic_by_hand(enc.inter, views)
    out, beta = enc(x, nb, idx, return_attention=True)
    assert out.shape == (4, 3)
    assert torch.allclose(out, ref, atol=1e-12)
    assert torch.allclose(beta, ref_beta, atol=1e-12)
    # One neighbour of a type: its attention is 1, the output is ELU(h_j).
    single = enc.intra[1](x, nb[1], idx[1])
    assert torch.allclose(single, nb[1][idx[1][:, 0]])
    assert repr(enc) == "NetworkSchemaEncoder(3, num_types=2, attn_drop=0.2)"


def test_schema_encoder_invalid():
    enc = NetworkSchemaEncoder(3, num_types=1)
    x, nb = torch.randn(4, 3), torch.randn(5, 3)
    with pytest.raises(ValueError, match="1 neighbour types"):
        enc(x, [nb, nb], [torch.zeros(4, 1, dtype=torch.long)] * 2)
    with pytest.raises(ValueError, match="out of range"):
        enc(x, [nb], [torch.full((4, 2), 5)])
    with pytest.raises(ValueError, match=r"\[N, k\]"):
        enc(x, [nb], [torch.zeros(3, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match="integer"):
        enc(x, [nb], [torch.zeros(4, 2)])
    assert repr(IntraTypeAttention(3)) == "IntraTypeAttention(3, attn_drop=0.0)"


def test_projection_heads():
    torch.manual_seed(7)
    proj = TanhProjection(4, 3)
    z = torch.randn(6, 4)
    ref = F.normalize(torch.tanh(z @ proj.lin.weight.t() + proj.lin.bias), dim=1)
    assert torch.allclose(proj(z), ref, atol=1e-6)
    raw = TanhProjection(4, 3, normalize=False)
    raw.load_state_dict(proj.state_dict())
    assert torch.allclose(raw(z), torch.tanh(proj.lin(z)))
    assert repr(proj) == "TanhProjection(4, 3)"
    head = ProjectionHead(256, 256, xavier_gain=1.414)
    expected = 1.414 * math.sqrt(2 / 512)
    assert abs(head.fc1.weight.std().item() / expected - 1) < 0.05
    assert abs(head.fc2.weight.std().item() / expected - 1) < 0.05
    default = ProjectionHead(256, 256)
    assert default.fc1.weight.abs().max() <= 1 / 16
