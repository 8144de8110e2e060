import copy
import math

import pytest
import torch

import gcl
from gcl.app.config import list_configs, load_config
from gcl.augment import (
    CommunalAttributeVoting,
    CommunalAugmentor,
    CommunalEdgeDrop,
    Compose,
    FeatureMask,
    RandomChoice,
    ced_edge_weight,
    walk_augmentors,
)
from gcl.community import community_strength, detect
from gcl.datasets import load
from gcl.losses import team_up_loss
from gcl.methods import CSGCL, METHODS, build_method
from gcl.nn import FixedRReLU, GCNEncoder


def small_graph():
    from torch_geometric.datasets import FakeDataset
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=80, num_channels=12,
                       num_classes=3)[0]


def test_prepare_computes_statistics_once_and_fits_augmentors():
    data = small_graph()
    m = CSGCL.from_config(data.num_features, 16, 8, community_seed=3)
    m.prepare(data)
    c = detect(data, seed=3)
    s_c, s_i = community_strength(data.edge_index, c)
    assert torch.equal(m.membership_, c)
    assert torch.equal(m.community_strength_, s_c)
    assert torch.equal(m.node_strength_, s_i)
    augs = [a for a in walk_augmentors(m.augmentors)
            if isinstance(a, CommunalAugmentor)]
    assert len(augs) == 4
    ced = augs[0]
    assert isinstance(ced, CommunalEdgeDrop)
    assert torch.equal(ced.weight_, ced_edge_weight(data.edge_index, c, s_c))
    cached = [a.keep_prob_ if isinstance(a, CommunalEdgeDrop) else a.drop_prob_
              for a in augs]
    for _ in range(3):  # steps draw from the cache, never recompute it
        m(data)
    for a, t in zip(augs, cached):
        assert (a.keep_prob_ if isinstance(a, CommunalEdgeDrop) else a.drop_prob_) is t
    # statistics are not saved in the state dict: a fresh model loads it
    state = m.state_dict()
    assert not any(k in state for k in ("membership_", "node_strength_",
                                        "community_strength_"))
    CSGCL.from_config(data.num_features, 16, 8).load_state_dict(state)


def test_step_equals_composed_parts_with_gamma():
    data = small_graph()
    m = CSGCL.from_config(data.num_features, 16, 8, drop_edge=(0.2, 0.4),
                          drop_feature=(0.3, 0.4), tau=0.4, t0=10,
                          gamma_max=2.0)
    m.prepare(data)
    m.set_epoch(160)
    assert m.gamma == 1.5 and m.epoch == 160
    torch.manual_seed(1)
    loss = m(data)
    torch.manual_seed(1)  # the official order: CED 1, CED 2, CAV 1, CAV 2
    (ced1, cav1), (ced2, cav2) = (a.augmentors for a in m.augmentors)
    e1, e2 = ced1(data), ced2(data)
    v1, v2 = cav1(e1), cav2(e2)
    z1 = m.encoder(v1.x, v1.edge_index)
    z2 = m.encoder(v2.x, v2.edge_index)
    ref = team_up_loss(m.projector(z1), m.projector(z2), m.node_strength_,
                       1.5, 0.4)
    assert torch.allclose(loss, ref)
    m.set_epoch(5)
    assert m.gamma == 0.0
    m.set_epoch(1000)
    assert m.gamma == 2.0


def test_fit_calls_prepare_once_and_schedules_gamma(monkeypatch):
    data = small_graph()
    m = CSGCL.from_config(data.num_features, 16, 8, t0=2, gamma_max=1.0)
    calls = []
    orig = CSGCL.prepare
    monkeypatch.setattr(CSGCL, "prepare",
                        lambda self, d: (calls.append(1), orig(self, d))[1])
    gammas = []
    orig_set = CSGCL.set_epoch

    def record(self, epoch):
        orig_set(self, epoch)
        gammas.append(self.gamma)

    monkeypatch.setattr(CSGCL, "set_epoch", record)
    hist = gcl.fit(m, data, epochs=5, lr=0.01, seed=0, progress=False)
    assert calls == [1]
    assert gammas == [0.0, 0.0, 0.01, 0.02, 0.03]
    assert all(math.isfinite(v) for v in hist.loss)


def test_forward_prepares_lazily_and_checks_graph_size():
    data = small_graph()
    m = CSGCL.from_config(data.num_features, 16, 8)
    assert m.node_strength_ is None
    assert torch.isfinite(m(data))
    assert m.node_strength_.shape == (data.num_nodes,)
    other = copy.copy(data)
    other.x = data.x[:-1]
    other.edge_index = data.edge_index[:, (data.edge_index < data.num_nodes - 1).all(0)]
    with pytest.raises(ValueError, match="prepared on a graph of"):
        m(other)


def test_embed_is_clean_and_frozen():
    data = small_graph()
    m = CSGCL.from_config(data.num_features, 16, 8)
    z = m.embed(data)
    assert not z.requires_grad
    assert torch.allclose(z, m.encoder(data.x, data.edge_index))
    assert m.node_strength_ is None  # embedding needs no communities


def test_custom_augmentors_nested_are_fitted():
    data = small_graph()
    enc = GCNEncoder(data.num_features, 8, activation="rrelu_fixed")
    cav = CommunalAttributeVoting(0.2, variant="dense")
    augs = [RandomChoice([CommunalEdgeDrop(0.3), FeatureMask(0.2)]),
            Compose([cav])]
    m = CSGCL(enc, 4, augs, tau=0.5, community="louvain", community_seed=1)
    m.prepare(data)
    assert cav.drop_prob_ is not None
    assert augs[0].augmentors[0].keep_prob_ is not None
    assert torch.equal(m.membership_, detect(data, "louvain", seed=1))
    assert isinstance(m.encoder.activation, FixedRReLU)
    assert "community='louvain'" in repr(m)


def test_errors():
    enc = GCNEncoder(12, 8)
    augs = [CommunalEdgeDrop(0.1), CommunalEdgeDrop(0.2)]
    with pytest.raises(ValueError, match="two augmentors"):
        CSGCL(enc, 4, augs[:1])
    with pytest.raises(ValueError, match="unknown community"):
        CSGCL(enc, 4, augs, community="infomap")
    with pytest.raises(ValueError, match="t0"):
        CSGCL(enc, 4, augs, t0=-1)
    with pytest.raises(ValueError, match="gamma_max"):
        CSGCL(enc, 4, augs, gamma_max=-1.0)
    with pytest.raises(ValueError, match="one rate per view"):
        CSGCL.from_config(12, drop_edge=(0.1,))
    with pytest.raises(ValueError, match="variant"):
        CSGCL.from_config(12, cav="cora")


OFFICIAL = {  # HanChen-HUST/CSGCL param/*.json (commit 23a0236)
    "WikiCS": (0.01, 256, 256, "prelu", [0.2, 0.7], [0.1, 0.2], 0.6, 2000, 1000, 10),
    "Computers": (0.005, 512, 128, "prelu", [0.6, 0.7], [0.1, 0.1], 0.2, 2500, 2000, 5),
    "Photo": (0.1, 256, 64, "relu", [0.5, 0.7], [0.1, 0.1], 0.3, 3000, 2000, 1),
    "CS": (5e-4, 256, 256, "rrelu_fixed", [0.1, 0.1], [0.1, 0.5], 0.4, 4600, 1500, 1),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_configs_hold_the_official_values(name):
    cfg = load_config("csgcl", name)
    lr, h, p, act, pe, pf, tau, epochs, t0, gamma = OFFICIAL[name]
    mod = cfg["model"]
    assert cfg["method"] == "csgcl" and cfg["seed"] == 39788
    assert (mod["hidden_channels"], mod["proj_channels"], mod["activation"],
            mod["drop_edge"], mod["drop_feature"], mod["tau"], mod["t0"],
            mod["gamma_max"]) == (h, p, act, pe, pf, tau, t0, gamma)
    assert cfg["train"] == {"epochs": epochs, "lr": lr, "weight_decay": 1e-5}
    assert mod["cav"] == ("dense" if name == "WikiCS" else "sparse")
    assert cfg["eval"]["protocol"] == ("public" if name == "WikiCS"
                                       else "linear_probe")
    assert cfg["data"]["normalize"] == ("legacy" if name == "WikiCS" else "pyg")
    assert "23a0236" in cfg["source"] and cfg["paper"]["value"] > 78


def test_all_configs_build_and_cora_matches_grace():
    assert set(list_configs("csgcl")["csgcl"]) == {
        "ACM-SDCN", "CS", "CiteSeer", "Computers", "Cora", "Photo", "WikiCS"}
    for name in list_configs("csgcl")["csgcl"]:
        cfg = load_config("csgcl", name)
        m = build_method(cfg["method"], 16, **cfg["model"])
        assert isinstance(m, CSGCL) and METHODS["csgcl"] is CSGCL
    for name in ("Cora", "CiteSeer"):
        ours, grace = load_config("csgcl", name), load_config("grace", name)
        extra = {"t0", "gamma_max", "ced_thr", "cav_thr", "cav", "community",
                 "community_seed"}
        assert {k: v for k, v in ours["model"].items() if k not in extra} == \
            grace["model"]
        for key in ("seed", "train", "data", "eval"):
            assert ours[key] == grace[key]


def test_cora_config_trains_a_few_epochs():
    cfg = load_config("csgcl", "Cora", ["model.t0=1"])
    data = load("Cora", **cfg["data"])
    m = build_method(cfg["method"], data.num_features, **cfg["model"])
    hist = gcl.fit(m, data, epochs=3, lr=cfg["train"]["lr"], seed=0,
                   progress=False)
    assert len(hist.loss) == 3 and all(math.isfinite(v) for v in hist.loss)
    assert m.gamma == 0.02
    assert m.embed(data).shape == (data.num_nodes, 128)
