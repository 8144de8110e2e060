"""benchmarks/reference_methods.py: the official-style dense steps that
benchmarks/speed_methods.py times compute what gcl computes.

For CSGCL, gCooL, GRACE+POT and GCA, on a small graph in float64: the dense
reference's objective on gcl's own views and encoder outputs equals gcl's
loss (and its gradients), with every term active (Team-up's bias, DeCA and
ReSC, the POT term); and from the same torch state the reference draws the
same views as gcl (the official order of the random draws).
"""


import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

from gcl.methods import CSGCL, GCA, GCOOL, build_method


@pytest.fixture(scope="module")
def refs(load_script):
    return load_script("benchmarks/reference_methods.py")


def graph(dtype=torch.float64):
    """Four blocks of 15 nodes, sparse non-negative features, no empty
    column."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    ei = stochastic_blockmodel_graph([15] * 4, [[0.4, 0.03, 0.03, 0.03],
                                                [0.03, 0.4, 0.03, 0.03],
                                                [0.03, 0.03, 0.4, 0.03],
                                                [0.03, 0.03, 0.03, 0.4]])
    x = torch.rand(60, 10, generator=g, dtype=torch.float64)
    x = x * (torch.rand(60, 10, generator=g) < 0.4)
    x[0] = 1.0
    return Data(x=x.to(dtype), edge_index=ei, num_nodes=60)


def build(name, num_features):
    torch.manual_seed(3)
    if name == "csgcl":  # gamma(50) = 0.5 with t0 = 0
        return CSGCL.from_config(num_features, 16, 8, activation="relu",
                                 drop_edge=(0.3, 0.5), drop_feature=(0.2, 0.4),
                                 tau=0.5, t0=0, gamma_max=1.5,
                                 community_seed=5), 50
    if name.startswith("gcool"):  # t = 4: DeCA and ReSC both weighted
        scheme = "uniform" if name == "gcool_uniform" else "degree"
        return GCOOL.from_config(num_features, 8, first_hidden=16,
                                 proj_channels=8, drop_edge=(0.3, 0.4),
                                 drop_feature=(0.2, 0.3), drop_scheme=scheme,
                                 tau=0.5, num_communities=3, lam=0.5,
                                 stride=50), 5
    if name == "pot":
        return build_method("pot", num_features, base="grace", kappa=0.4,
                            hidden_channels=8, proj_channels=6,
                            activation="relu", drop_edge=[0.4, 0.3],
                            drop_feature=[0.0, 0.0], tau=0.5), 1
    return GCA.from_config(num_features, 8, 6, activation="relu",
                           drop_edge=(0.3, 0.4), drop_feature=(0.2, 0.3),
                           drop_scheme="pr", tau=0.5), 1


def two_view(method):
    return method.base if hasattr(method, "base") else method


METHODS = ["csgcl", "gcool", "gcool_uniform", "pot", "gca"]


@pytest.mark.parametrize("name", METHODS)
def test_dense_reference_equals_gcl_on_the_same_views(refs, name):
    data = graph()
    method, epoch = build(name, data.num_features)
    method = method.double()
    ref = refs.build_reference(name.split("_")[0], method)
    ref.prepare(data)
    if name == "pot":
        # The official lower bound diag(A_hat) comes out of gcn_norm in
        # float32, deg^-1/2 deg^-1/2, within one float32 ulp of gcl's
        # float32(1 / deg) (a 1e-11 change of the loss here); compare the
        # rest of the computation on gcl's rounding.
        deg = torch.bincount(data.edge_index[1], minlength=60).double() + 1
        gcl_lower = np.diag((1 / deg).float().numpy())
        for _, lower in ref.bounds:
            assert np.abs(lower - gcl_lower).max() <= 2.0 ** -24
        ref.bounds = [(upper, gcl_lower) for upper, _ in ref.bounds]
    method.set_epoch(epoch)
    ref.set_epoch(epoch)
    torch.manual_seed(11)
    np.random.seed(11)
    step = method.step(data)
    z1, z2 = step.zs
    v1, v2 = step.views
    ours = ref.loss(z1, z2, v1.edge_index, v2.edge_index)
    assert ours.dtype == torch.float64
    assert ours.item() == pytest.approx(step.loss.item(), rel=1e-12, abs=0)
    if name.startswith("gcool"):
        assert {"deca", "resc"} <= set(step.terms)
    if name == "pot":
        assert abs((step.terms["pot"] - step.terms["base"]).item()) > 1e-3
    params = [p for p in method.parameters() if p.requires_grad]
    g_gcl = torch.autograd.grad(step.loss, params, retain_graph=True,
                                allow_unused=True)
    g_ref = torch.autograd.grad(ours, params, allow_unused=True)
    for a, b in zip(g_gcl, g_ref):
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", METHODS)
def test_dense_reference_draws_gcl_views(refs, name):
    data = graph(torch.float32)
    method, epoch = build(name, data.num_features)
    ref = refs.build_reference(name.split("_")[0], method)
    ref.prepare(data)
    torch.manual_seed(7)
    x1, ei1, x2, ei2 = ref.views(data)
    torch.manual_seed(7)
    (v1, v2), _ = two_view(method).encode_views(data)
    assert torch.equal(ei1, v1.edge_index) and torch.equal(ei2, v2.edge_index)
    assert torch.equal(x1, v1.x) and torch.equal(x2, v2.x)
    assert ei1.size(1) < data.edge_index.size(1)
    if name != "pot":  # POT's GRACE code masks no features
        assert not torch.equal(x1, data.x)


def test_step_runs_and_matches_the_first_gcl_loss(refs):
    """One whole reference step (views, official encoder, loss) from the
    same state as gcl's step gives the same loss (float32)."""
    data = graph(torch.float32)
    method, epoch = build("gca", data.num_features)
    ref = refs.build_reference("gca", method)
    ref.prepare(data)
    torch.manual_seed(5)
    ours = ref(data)
    torch.manual_seed(5)
    assert ours.item() == pytest.approx(method(data).item(), rel=1e-5)


@pytest.mark.parametrize("degree", ["in", "out"])
def test_official_encoder_equals_gcl_encoder(refs, degree):
    """The reference's edge-list GCNConv stack (in-degree, or PyG <= 1.5's
    source degree) equals gcl's CSR propagation on a directed view."""
    data = graph()
    torch.manual_seed(3)
    method = GCA.from_config(data.num_features, 8, 6, degree=degree,
                             drop_scheme="uniform").double()
    ref = refs.GCAReference(method)
    view = data.edge_index[:, torch.rand(data.edge_index.size(1)) > 0.4]
    assert torch.allclose(ref.encode(data.x, view),
                          method.encoder(data.x, view), rtol=0, atol=1e-13)
