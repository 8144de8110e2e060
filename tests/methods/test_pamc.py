import math

import pytest
import torch

import gcl
from gcl.app.config import load_config
from gcl.app.experiment import run_config
from gcl.losses import influence_matrix, pamc_loss
from gcl.methods import PamC, build_method
from gcl.nn import ClusterHead, pretrain_autoencoder


def small_graph():
    import random

    from torch_geometric.datasets import FakeDataset
    random.seed(0)
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=60, num_channels=12,
                       num_classes=3)[0]


def small(data, **kw):
    kw = {"hidden_channels": (16,), "out_channels": 4, "pretrain": False,
          "kmeans_n_init": 2, **kw}
    return PamC.from_config(data.num_features, 3, **kw)


def test_step_equals_the_composed_parts():
    data = small_graph()
    m = small(data, alpha=2.0, beta=2.5, order=2, tau=0.7)
    m.prepare(data)
    idx, val = influence_matrix(data.edge_index, data.num_nodes, 2, True)
    assert torch.equal(m.gamma_index_, idx) and torch.allclose(m.gamma_value_, val)
    loss = m(data)
    z = m.encoder(data.x)
    q = m.head(z)
    c = q.argmax(1)
    ref = 2.5 * ClusterHead.kl_loss(ClusterHead.target_distribution(q.detach()), q) \
        + 2.0 * pamc_loss(z, idx, val, c, 3, 0.7)
    assert torch.allclose(loss, ref)
    assert torch.equal(m.assignment_, c)  # the clusters scored for this step
    assert torch.equal(m.predict(data), c)  # no update yet: the same clusters


def test_fit_trains_and_reset_forgets_the_fitted_state():
    data = small_graph()
    m = small(data)
    hist = gcl.fit(m, data, epochs=4, lr=1e-3, seed=0, progress=False)
    assert len(hist.loss) == 4 and all(math.isfinite(v) for v in hist.loss)
    assert m.assignment_.shape == (data.num_nodes,)
    again = small(data)
    gcl.fit(again, data, epochs=4, lr=1e-3, seed=0, progress=False)
    assert torch.equal(m.predict(data), again.predict(data))  # seeded
    m.reset_parameters()
    assert m.gamma_index_ is None and m.assignment_ is None
    with pytest.raises(RuntimeError, match="prepare"):
        m(data)


def test_prepare_loads_the_cached_pretrained_encoder(tmp_path):
    data = small_graph()
    m = small(data, pretrain=True, pretrain_epochs=2, cache=str(tmp_path))
    m.prepare(data)
    ae = pretrain_autoencoder(data.x, (16,), 4, epochs=2, cache=str(tmp_path))
    for a, b in zip(m.encoder.state_dict().values(),
                    ae.encoder.state_dict().values()):
        assert torch.equal(a, b)
    assert len(list(tmp_path.rglob("*.pt"))) == 1  # one cached autoencoder


def test_bad_settings():
    data = small_graph()
    with pytest.raises(ValueError, match="order"):
        small(data, order=0)
    with pytest.raises(ValueError, match="alpha and beta"):
        small(data, alpha=-1.0)


def test_harness_records_both_reporting_rules():
    cfg = load_config("pamc", "Cora", [
        "model.hidden_channels=[16]", "model.out_channels=4",
        "model.pretrain=false", "model.kmeans_n_init=1", "train.epochs=3"])
    exp = run_config(cfg, device="cpu", progress=False)
    assert exp.result.protocol == "clusters:final"
    best = exp.extra["max_over_epochs"]
    assert best.protocol == "clusters:max_over_epochs"
    assert "selects on the test labels" in best.details["selection"]
    evals = exp.history.evals
    assert [e["epoch"] for e in evals] == [1, 2, 3]
    for k in ("acc", "nmi", "ari", "macro_f1"):
        assert best.metrics[k] == max(e[k] for e in evals)
    rec = exp.record()
    assert rec["protocol"] == "clusters:final"
    assert rec["tasks"]["max_over_epochs"]["metrics"] == best.metrics


def test_configs_build():
    for name in ("ACM-SDCN", "Citeseer-SDCN", "Cora", "Physics"):
        cfg = load_config("pamc", name)
        m = build_method(cfg, 32)
        assert isinstance(m, PamC) and m.encoder.out_channels == 10
        assert cfg["eval"] == {"protocol": "clusters", "rule": "final"}


def test_cli_rule_picks_the_main_result(tmp_path, capsys):
    from gcl.app.cli import main

    args = ["train", "pamc", "--dataset", "Cora", "--no-save", "--quiet",
            "--set", "model.hidden_channels=[16]", "--set", "model.out_channels=4",
            "--set", "model.pretrain=false", "--set", "model.kmeans_n_init=1",
            "--epochs", "2"]
    assert main([*args, "--rule", "max_over_epochs"]) == 0
    assert "clusters:max_over_epochs" in capsys.readouterr().out
    assert main(args) == 0
    assert "clusters:final" in capsys.readouterr().out
