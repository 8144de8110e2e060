import pytest

from gcl.app.config import apply_overrides, list_configs, load_config
from gcl.methods import RECOMMENDERS, build_method


def test_every_config_loads_builds_and_names_a_source():
    configs = list_configs()
    assert set(configs["grace"]) >= {"Cora", "CiteSeer", "PubMed", "DBLP", "Photo",
                                     "Computers", "CS", "Physics", "WikiCS"}
    for method, datasets in configs.items():
        for name in datasets:
            cfg = load_config(method, name)
            assert cfg["source"], (method, name)
            assert cfg["dataset"] == name
            assert isinstance(cfg["train"]["lr"], float)
            if cfg["method"] in RECOMMENDERS:  # sized by the interaction data
                build_method(cfg["method"], None, num_users=5, num_items=7,
                             **cfg["model"])
            else:
                build_method(cfg, 16)  # recursive for pot's base


def test_official_cora_values():
    cfg = load_config("grace", "cora")
    assert cfg["seed"] == 39788
    assert cfg["model"]["drop_edge"] == [0.2, 0.4]
    assert cfg["model"]["tau"] == 0.4
    assert cfg["train"] == {"epochs": 200, "lr": 0.0005, "weight_decay": 1e-5}


@pytest.mark.parametrize("method", ["grace", "csgcl", "gcool"])
def test_acm_sdcn_configs_are_the_cora_configs(method):
    # no paper has these methods on ACM: the k-means rows beside PamC use
    # each method's Cora configuration, gCooL's K set to ACM's 3 classes
    acm, cora = load_config(method, "ACM-SDCN"), load_config(method, "Cora")
    model = dict(cora["model"])
    if method == "gcool":
        model["num_communities"] = 3
    assert acm["model"] == model
    for key in ("seed", "train", "data", "eval"):
        assert acm[key] == cora[key], key
    assert "Cora configuration" in acm["source"]


def test_overrides():
    cfg = load_config("grace", "Cora", ["train.epochs=3", "model.drop_edge=[0.1, 0.1]"])
    assert cfg["train"]["epochs"] == 3 and cfg["model"]["drop_edge"] == [0.1, 0.1]
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(cfg, ["epochs"])
    with pytest.raises(ValueError, match="unknown section"):
        apply_overrides(cfg, ["trian.epochs=3"])
    with pytest.raises(ValueError, match="known"):
        load_config("grace", "NoSuchGraph")


def test_grace_pot_reads_the_pot_configs():
    from gcl.app.config import config_family, config_path, list_configs
    assert config_family("GRACE_POT") == "pot" and config_family("grace") == "grace"
    assert config_path("grace_pot", "cora") == config_path("pot", "Cora")
    assert list_configs("grace_pot") == {"pot": list_configs("pot")["pot"]}
    cfg = load_config("grace_pot", "Cora", ["model.kappa=0.2"])
    assert cfg["model"]["kappa"] == 0.2 and cfg["model"]["base"] == "grace"


def test_protocol_options_leave_out_the_reporting_keys():
    from gcl.app.config import REPORTING_KEYS, protocol_options

    cfg = load_config("adameow", "ACM-HeCo")
    assert {"every", "start", "rule", "protocol"} <= set(cfg["eval"])
    assert protocol_options(cfg["eval"]) == {"runs": 50, "lr": 0.03,
                                             "weight_decay": 0.0}
    assert set(REPORTING_KEYS) == {"protocol", "rule", "every", "start"}
