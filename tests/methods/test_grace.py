import copy

import pytest
import torch

from gcl.augment import Compose, EdgeDrop, FeatureMask
from gcl.losses import info_nce
from gcl.methods import GRACE
from gcl.nn import GCNEncoder


def small_graph():
    from torch_geometric.datasets import FakeDataset
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=80, num_channels=12,
                       num_classes=3)[0]


def test_step_equals_composed_parts():
    data = small_graph()
    m = GRACE.from_config(data.num_features, 16, 8, drop_edge=(0.2, 0.4),
                          drop_feature=(0.3, 0.4), tau=0.4)
    torch.manual_seed(1)
    loss = m(data)
    torch.manual_seed(1)
    v1, v2 = m.augmentors[0](data), m.augmentors[1](data)
    z1 = m.encoder(v1.x, v1.edge_index)
    z2 = m.encoder(v2.x, v2.edge_index)
    ref = info_nce(m.projector(z1), m.projector(z2), 0.4)
    assert torch.allclose(loss, ref)


def test_embed_is_clean_frozen_and_keeps_mode():
    data = small_graph()
    m = GRACE.from_config(data.num_features, 16, 8)
    m.train()
    z = m.embed(data)
    assert not z.requires_grad and m.training
    assert torch.allclose(z, m.encoder(data.x, data.edge_index))
    assert torch.equal(m.embed(data), z)  # no augmentation at embed time


def test_custom_parts_and_errors():
    enc = GCNEncoder(12, 8, activation="prelu")
    augs = [Compose([EdgeDrop(0.1)]), FeatureMask(0.1)]
    m = GRACE(enc, 4, augs, tau=0.5)
    assert m.projector.in_channels == 8
    assert "GRACE" in repr(m)
    with pytest.raises(ValueError, match="two augmentors"):
        GRACE(enc, 4, augs[:1])
    data = small_graph()
    bad = copy.copy(data)
    bad.edge_index = data.edge_index.clone()
    bad.edge_index[0, 0] = 10_000
    with pytest.raises(ValueError, match="edge_index"):
        m.embed(bad)


def test_training_run_equals_the_dense_paper_reference_in_float64():
    # gcl.fit over GRACE (sparse propagation, block-wise InfoNCE with its
    # custom backward) against a from-scratch dense reference of the paper:
    # Z = relu(A relu(A X W1 + b1) W2 + b2) with A = D^-1/2 (A' + I) D^-1/2
    # (in-degree D of the directed view A'), projection fc2(elu(fc1(z))),
    # the InfoNCE with intra-view negatives, and Adam with weight decay; the
    # two see the same views. Float64, so the runs agree to rounding.
    from torch_geometric.data import Data
    from torch_geometric.utils import coalesce, remove_self_loops

    import gcl

    data = small_graph()
    data.edge_index = coalesce(remove_self_loops(data.edge_index)[0])
    data.x = data.x.double()
    n, tau, epochs, lr, wd = data.num_nodes, 0.4, 6, 0.01, 1e-5
    gen = torch.Generator().manual_seed(5)
    views = []
    for _ in range(2 * epochs):  # per epoch: view 1, view 2
        keep = torch.rand(data.edge_index.size(1), generator=gen) >= 0.3
        cols = torch.rand(data.num_features, generator=gen) >= 0.3
        views.append(Data(x=data.x * cols, edge_index=data.edge_index[:, keep],
                          num_nodes=n))
    stream = iter(views)
    m = GRACE.from_config(data.num_features, 16, 8, tau=tau).double()
    m.augmentors = [lambda _: next(stream)] * 2
    p0 = {k: v.detach().clone() for k, v in m.named_parameters()}
    (w1, b1), (w2, b2) = [(p0[f"encoder.convs.{i}.lin.weight"],
                           p0[f"encoder.convs.{i}.bias"]) for i in (0, 1)]
    params = [w1, b1, w2, b2, p0["projector.fc1.weight"],
              p0["projector.fc1.bias"], p0["projector.fc2.weight"],
              p0["projector.fc2.bias"]]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=lr, weight_decay=wd)

    def adjacency(edge_index):
        a = torch.eye(n, dtype=torch.float64)
        a[edge_index[1], edge_index[0]] = 1.0  # row = target, col = source
        d = a.sum(1).pow(-0.5)  # in-degree with the self-loop
        return d[:, None] * a * d[None, :]

    def semi(u, v):
        u, v = torch.nn.functional.normalize(u), torch.nn.functional.normalize(v)
        refl, between = torch.exp(u @ u.t() / tau), torch.exp(u @ v.t() / tau)
        return -torch.log(between.diag()
                          / (refl.sum(1) - refl.diag() + between.sum(1)))

    ref_loss = []
    for e in range(epochs):
        hs = []
        for v in views[2 * e:2 * e + 2]:
            a = adjacency(v.edge_index)
            z = torch.relu(a @ (v.x @ w1.t()) + b1)
            z = torch.relu(a @ (z @ w2.t()) + b2)
            hs.append(torch.nn.functional.elu(z @ params[4].t() + params[5])
                      @ params[6].t() + params[7])
        loss = 0.5 * (semi(hs[0], hs[1]) + semi(hs[1], hs[0])).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_loss.append(loss.item())

    hist = gcl.fit(m, data, epochs=epochs, lr=lr, weight_decay=wd,
                   progress=False, device="cpu")
    assert hist.loss == pytest.approx(ref_loss, rel=1e-12, abs=0)
    final = dict(m.named_parameters())
    assert torch.allclose(final["encoder.convs.0.lin.weight"], w1, atol=1e-12)
    assert torch.allclose(final["projector.fc2.bias"], params[7], atol=1e-12)
