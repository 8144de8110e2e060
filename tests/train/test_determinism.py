import os
import warnings

import pytest
import torch
from torch._prims_common import alert_not_deterministic
from torch_geometric.utils import to_torch_csr_tensor

import gcl
from gcl.methods import GRACE
from gcl.train import deterministic

CUBLAS = "CUBLAS_WORKSPACE_CONFIG"


def _state():
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.benchmark, os.environ.get(CUBLAS))


def test_switches_on_inside_and_restores_after(monkeypatch):
    monkeypatch.delenv(CUBLAS, raising=False)
    before = _state()
    assert before[0] is False  # the test process runs without it
    with deterministic() as alerts:
        assert _state() == (True, True, False, ":4096:8")
        assert alerts == []
    assert _state() == before


def test_restores_a_caller_state_and_a_preset_workspace(monkeypatch):
    monkeypatch.setenv(CUBLAS, ":16:8")
    torch.use_deterministic_algorithms(True)  # strict, raising
    try:
        with deterministic():
            assert _state() == (True, True, False, ":16:8")
        assert _state()[:2] == (True, False) and os.environ[CUBLAS] == ":16:8"
    finally:
        torch.use_deterministic_algorithms(False)


def test_restores_when_the_run_raises(monkeypatch):
    monkeypatch.delenv(CUBLAS, raising=False)
    before = _state()
    with pytest.raises(RuntimeError, match="boom"):
        with deterministic():
            raise RuntimeError("boom")
    assert _state() == before


def test_collects_each_nondeterministic_op_once_and_passes_other_warnings():
    with deterministic() as alerts:
        with pytest.warns(UserWarning, match="unrelated"):
            alert_not_deterministic("scatter_add_cuda_kernel")
            alert_not_deterministic("scatter_add_cuda_kernel")
            alert_not_deterministic("index_put_ with accumulate")
            warnings.warn("unrelated", UserWarning, stacklevel=1)
    assert alerts == ["scatter_add_cuda_kernel", "index_put_ with accumulate"]
    # outside, the alert is PyTorch's again (a no-op with the mode off)
    alert_not_deterministic("after")
    assert "after" not in alerts


def test_disabled_is_a_no_op(monkeypatch):
    monkeypatch.delenv(CUBLAS, raising=False)
    before = _state()
    with deterministic(False) as alerts:
        assert _state() == before
    assert alerts == []


def test_a_cpu_run_is_unchanged_and_has_no_nondeterministic_op():
    from torch_geometric.datasets import FakeDataset

    torch.manual_seed(0)
    data = FakeDataset(num_graphs=1, avg_num_nodes=60, num_channels=10,
                       num_classes=3)[0]
    kw = dict(epochs=4, lr=0.01, seed=2, progress=False, device="cpu")
    plain = gcl.fit(GRACE.from_config(10, 8, 8), data, **kw)
    with deterministic() as alerts:
        det = gcl.fit(GRACE.from_config(10, 8, 8), data, **kw)
    assert alerts == []
    assert det.loss == plain.loss  # bit for bit


@pytest.mark.parametrize("name", ["grace", "csgcl", "gcool", "gca", "pot",
                                  "pot_gcool"])
def test_node_methods_run_unchanged_and_without_alerts(name):
    # deterministic mode also fills new tensors with NaN (PyTorch's
    # fill_uninitialized_memory): a method reading memory it never wrote
    # would show up here as a changed or non-finite loss
    from gcl.app.config import load_config
    from gcl.datasets import load

    cfg = load_config(name, "Cora")
    data = load("Cora", **cfg["data"])
    _assert_unchanged_without_alerts(cfg, data, data.num_features)


@pytest.mark.parametrize("name,dataset", [("heco", "ACM-HeCo"),
                                          ("meow", "ACM-HeCo"),
                                          ("lightgcl", "LastFM")])
def test_hetero_and_recommender_methods_run_unchanged(name, dataset):
    from gcl.app.config import load_config
    from gcl.datasets import load, load_interactions

    cfg = load_config(name, dataset)
    if name == "lightgcl":
        data_kw = dict(cfg["data"])
        data = load_interactions(dataset, seed=0, **data_kw)
        kw = dict(num_users=data.num_users, num_items=data.num_items)
        num_features = None
    else:
        data = load(dataset, **cfg["data"])
        kw, num_features = {}, data.num_features

    _assert_unchanged_without_alerts(cfg, data, num_features, **kw)


def _assert_unchanged_without_alerts(cfg, data, num_features, **kw):
    """Two epochs of the config's method, plain and in deterministic mode:
    the same losses, and no operation without a deterministic kernel."""
    from gcl.methods import build_method

    def losses():
        model = build_method(cfg["method"], num_features, **kw, **cfg["model"])
        return gcl.fit(model, data, epochs=2, lr=cfg["train"]["lr"], seed=0,
                       progress=False, device="cpu").loss

    plain = losses()
    with deterministic() as alerts:
        det = losses()
    assert alerts == []
    assert det == plain


def test_alerts_from_gcl_sparse_products_reach_the_collector(monkeypatch):
    """A GPU sparse product that alerts (cuSPARSE) must not be hidden by the
    notice filters around gcl's CSR code, as blanket filters once did."""
    from gcl.nn import GCNEncoder, spmm

    mm = torch.sparse.mm

    def alerting_mm(a, b):
        alert_not_deterministic("sparse_mm_stand_in")
        return mm(a, b)

    monkeypatch.setattr(torch.sparse, "mm", alerting_mm)
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    adj = to_torch_csr_tensor(edge_index, size=(3, 3))
    x = torch.randn(3, 4, requires_grad=True)
    with deterministic() as alerts:
        spmm(adj, x).sum().backward()
    assert alerts == ["sparse_mm_stand_in"]
    enc = GCNEncoder(4, 2, sparse_propagation=True)
    with deterministic() as alerts:
        enc(x, edge_index).sum().backward()
    assert alerts == ["sparse_mm_stand_in"]


@pytest.mark.parametrize("name,dataset", [("grace", "Cora"), ("pot", "Cora"),
                                          ("heco", "ACM-HeCo"),
                                          ("lightgcl", "LastFM")])
def test_fixed_order_products_train_as_the_library_products(name, dataset,
                                                           monkeypatch):
    # On a GPU in deterministic mode every sparse-dense product takes
    # gcl._sparse.deterministic_sparse_mm. Forced here on the CPU: each
    # method's sparse products (GCN propagation and its backward, POT's
    # bound operators, meta-path graphs, the bipartite adjacency) go
    # through it and two epochs give the losses of torch.sparse.mm.
    import gcl._sparse as sparse
    from gcl.app.config import load_config
    from gcl.datasets import load, load_interactions
    from gcl.methods import build_method

    cfg = load_config(name, dataset)
    if name == "lightgcl":
        data = load_interactions(dataset, seed=0, **cfg["data"])
        kw, num_features = dict(num_users=data.num_users,
                                num_items=data.num_items), None
    else:
        data = load(dataset, **cfg["data"])
        kw, num_features = {}, data.num_features

    def losses():
        model = build_method(cfg["method"], num_features, **kw, **cfg["model"])
        return gcl.fit(model, data, epochs=2, lr=cfg["train"]["lr"], seed=0,
                       progress=False, device="cpu").loss

    plain = losses()
    calls = []
    fixed = sparse.deterministic_sparse_mm

    def counted(a, x):
        calls.append(tuple(x.shape))
        return fixed(a, x)

    monkeypatch.setattr(sparse, "_fixed_order", lambda x: True)
    monkeypatch.setattr(sparse, "deterministic_sparse_mm", counted)
    forced = losses()
    assert calls, "no sparse product took the fixed-order path"
    assert forced == pytest.approx(plain, rel=1e-5, abs=1e-6)
