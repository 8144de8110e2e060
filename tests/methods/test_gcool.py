import math

import pytest
import torch
import torch.nn.functional as F

import gcl
from gcl.app.config import list_configs, load_config
from gcl.augment import AdaptiveEdgeDrop, AdaptiveFeatureMask, EdgeDrop, FeatureMask
from gcl.methods import GCOOL, METHODS, build_method
from gcl.methods.gcool import gcool_schedule, soft_assignment


def small_graph():
    from torch_geometric.datasets import FakeDataset
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=80, num_channels=12,
                       num_classes=3)[0]


def build(data, **kw):
    cfg = dict(hidden_channels=16, first_hidden=24, proj_channels=8,
               drop_edge=(0.2, 0.3), drop_feature=(0.1, 0.2), tau=0.4,
               num_communities=4, stride=10, drop_scheme="degree")
    cfg.update(kw)
    return GCOOL.from_config(data.num_features, **cfg)


# The official gCooL loss (lblaoke/gCooL src/model.py), dense, for reference.
def official_loss(h1, h2, r1, r2, ei1, ei2, t, m):
    tau, lam, k = m.tau, m.lam, m.num_communities
    s12 = torch.exp(h1 @ h2.t() / tau)
    l_node = ((-torch.log(s12.diag()) + torch.log(s12.sum(1))) * 2 / 2).mean()

    def deca(r, ei):
        n = len(r)
        a = torch.zeros(n, n, dtype=r.dtype)
        a[ei[0], ei[1]] = 1
        df = r.t() @ a @ r
        return (lam * df.sum() - (n - 1 + lam) * df.trace()) / (n * (n - 1)) \
            + (r.t() @ r).trace() / n / 2

    i1, i2 = r1.detach().argmax(1), r2.detach().argmax(1)
    c1 = torch.stack([h1[i1 == c].mean(0) if (i1 == c).any()
                      else torch.zeros(h1.size(1)) for c in range(k)])
    c2 = torch.stack([h2[i2 == c].mean(0) if (i2 == c).any()
                      else torch.zeros(h2.size(1)) for c in range(k)])
    s1 = torch.exp(h1 @ c2.detach().t() / tau)
    s2 = torch.exp(h2 @ c1.detach().t() / tau)
    p1 = s1.gather(1, i2[:, None]).squeeze(1)
    p2 = s2.gather(1, i1[:, None]).squeeze(1)
    l_comm = ((-torch.log(p1) + torch.log(s1.sum(1))
               - torch.log(p2) + torch.log(s2.sum(1))) / 2).mean()
    alpha = max(0, 1 - t / m.alpha_rate / m.stride)
    coef = math.exp(-t / m.stride)
    return l_node + alpha * (coef * 0.5 * (deca(r1, ei1) + deca(r2, ei2))
                             + (1 - coef) * l_comm)


@pytest.mark.parametrize("epoch", [1, 2, 3, 50])
def test_step_equals_official_formulas(epoch):
    data = small_graph()
    m = build(data)
    m.prepare(data)
    m.set_epoch(epoch)
    assert m.t == epoch - 1
    torch.manual_seed(1)
    loss = m(data)
    torch.manual_seed(1)  # the official order: edges 1, edges 2, features 1, 2
    (e1, f1), (e2, f2) = (a.augmentors for a in m.augmentors)
    g1, g2 = e1(data), e2(data)
    v1, v2 = f1(g1), f2(g2)
    h1 = F.normalize(m.projector.fc2(F.elu(m.projector.fc1(
        m.encoder(v1.x, v1.edge_index)))))
    h2 = F.normalize(m.projector.fc2(F.elu(m.projector.fc1(
        m.encoder(v2.x, v2.edge_index)))))
    phi = F.normalize(m.centers)
    r1 = torch.softmax(h1.detach() @ phi.t() / m.tau, 1)
    r2 = torch.softmax(h2.detach() @ phi.t() / m.tau, 1)
    ref = official_loss(h1, h2, r1, r2, v1.edge_index, v2.edge_index, epoch - 1, m)
    assert torch.allclose(loss, ref, rtol=1e-5, atol=1e-6)


def test_schedule_and_terms():
    assert gcool_schedule(0, 500) == (1.0, 1.0)
    a, c = gcool_schedule(50, 500)
    assert a == pytest.approx(0.5) and c == pytest.approx(math.exp(-0.1))
    assert gcool_schedule(100, 500)[0] == 0.0
    assert gcool_schedule(400, 1000, alpha_rate=1.0)[0] == pytest.approx(0.6)
    data = small_graph()
    m = build(data, stride=10)  # alpha hits 0 at t = 2
    m.prepare(data)
    m.set_epoch(1)
    assert set(m.step(data).terms) == {"node", "deca"}  # c(0) = 1: no ReSC
    m.set_epoch(2)
    assert set(m.step(data).terms) == {"node", "deca", "resc"}
    m.set_epoch(3)
    step = m.step(data)
    assert set(step.terms) == {"node"} and step.loss is step.terms["node"]


def test_gradients_assignment_trains_only_centres():
    data = small_graph()
    m = build(data)
    m.prepare(data)
    m.set_epoch(1)
    terms = m.step(data).terms
    params = dict(m.named_parameters())
    g = torch.autograd.grad(terms["deca"], list(params.values()), allow_unused=True)
    grads = dict(zip(params, g))
    assert grads["centers"] is not None and grads["centers"].abs().sum() > 0
    assert all(v is None or v.abs().sum() == 0 for k, v in grads.items()
               if k != "centers")
    # The node term does not touch the centres.
    g = torch.autograd.grad(terms["node"], [m.centers], allow_unused=True)[0]
    assert g is None


def test_soft_assignment_rbf_and_symmetric_option():
    torch.manual_seed(0)
    h = F.normalize(torch.randn(20, 5), dim=1)
    c = torch.randn(3, 5)
    r = soft_assignment(h, c, 0.5, "rbf")
    phi = F.normalize(c, dim=1)
    ref = torch.softmax(-torch.cdist(h, phi) ** 2 / 0.25, 1)
    assert torch.allclose(r, ref, atol=1e-5)
    data = small_graph()
    m = build(data, symmetric_node_loss=True, similarity="rbf")
    m.prepare(data)
    h1 = F.normalize(torch.randn(30, 16), dim=1)
    h2 = F.normalize(torch.randn(30, 16), dim=1)
    s = torch.exp(h1 @ h2.t() / m.tau)
    d = torch.log(s.diag())
    ref = 0.5 * ((torch.log(s.sum(1)) - d).mean() + (torch.log(s.sum(0)) - d).mean())
    assert torch.allclose(m.node_loss(h1, h2), ref, atol=1e-5)
    m.set_epoch(2)
    assert torch.isfinite(m(data))


def test_prepare_fits_views_and_fit_runs():
    data = small_graph()
    m = build(data, drop_scheme="pr")
    edge1, feat1 = m.augmentors[0].augmentors
    edge2, feat2 = m.augmentors[1].augmentors
    assert isinstance(edge1, AdaptiveEdgeDrop)
    assert isinstance(feat2, AdaptiveFeatureMask)
    with pytest.raises(RuntimeError, match="fit"):
        m(data)
    hist = gcl.fit(m, data, epochs=4, lr=0.01, seed=0, progress=False)
    assert edge1.weights_ is edge2.weights_ and feat1.weights_ is feat2.weights_
    assert all(math.isfinite(v) for v in hist.loss)
    # Seeded runs repeat; embed is the clean graph, frozen.
    m2 = build(data, drop_scheme="pr")
    hist2 = gcl.fit(m2, data, epochs=4, lr=0.01, seed=0, progress=False)
    assert hist.loss == hist2.loss
    z = m.embed(data)
    assert not z.requires_grad
    assert torch.allclose(z, m.encoder(data.x, data.edge_index))
    uni = build(data, drop_scheme="uniform")
    assert isinstance(uni.augmentors[0].augmentors[0], EdgeDrop)
    assert isinstance(uni.augmentors[0].augmentors[1], FeatureMask)
    assert uni.encoder.hidden_channels == 24 and uni.encoder.out_channels == 16


def test_errors():
    data = small_graph()
    with pytest.raises(ValueError, match="drop_scheme"):
        build(data, drop_scheme="random")
    with pytest.raises(ValueError, match="similarity"):
        build(data, similarity="dot")
    with pytest.raises(ValueError, match="num_communities"):
        build(data, num_communities=0)
    with pytest.raises(ValueError, match="drop_edge"):
        build(data, drop_edge=(0.1, 0.2, 0.3))
    m = build(data)
    with pytest.raises(ValueError, match="two augmentors"):
        GCOOL(m.encoder, 8, m.augmentors[:1])
    assert "GCOOL" in repr(m) and METHODS["gcool"] is GCOOL


def test_every_gcool_config_builds():
    names = list_configs("gcool")["gcool"]
    assert set(names) >= {"Photo", "Computers", "CS", "WikiCS", "Cora", "CiteSeer"}
    for name in names:
        cfg = load_config("gcool", name)
        assert cfg["method"] == "gcool" and cfg["source"]
        m = build_method(cfg["method"], 16, **cfg["model"])
        assert isinstance(m, GCOOL)
        assert m.alpha_rate == 0.2 and m.similarity == "cos"
        assert not m.symmetric_node_loss
    cfg = load_config("gcool", "Photo")
    photo = build_method(cfg["method"], 745, **cfg["model"])
    assert photo.encoder.hidden_channels == 256 and photo.encoder.out_channels == 128
    assert photo.num_communities == 8 and photo.lam == 0.1 and photo.stride == 500
    assert photo.augmentors[0].augmentors[0].centrality == "pr"
    wiki = load_config("gcool", "WikiCS")
    assert wiki["model"]["feature_weighting"] == "abs"
    assert wiki["data"]["normalize"] == "legacy"
    assert wiki["eval"]["protocol"] == "public"
    assert load_config("gcool", "CS")["train"]["epochs"] == 601
