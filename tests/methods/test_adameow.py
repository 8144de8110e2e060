"""AdaMEOW: the learned-weight objective against a dense float64 reference,
embeddings, configs and errors (the views are MEOW's, checked in test_meow).
"""

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data, HeteroData

from gcl.app.config import list_configs, load_config
from gcl.datasets import add_metapaths
from gcl.methods import AdaMEOW, build_method

PATHS = {"pap": ["paper", "author", "paper"],
         "psp": ["paper", "subject", "paper"]}

WIDTHS = {
    "ACM-HeCo": {"paper": 1902, "author": 1902, "subject": 60},
    "DBLP-HeCo": {"author": 334, "paper": 4231, "conference": 20, "term": 50},
    "AMiner-HeCo": {"paper": 6564, "author": 13329, "reference": 35890},
    "IMDB-MEOW": {"movie": 5927, "actor": 5432, "director": 2083,
                  "keyword": 7313},
}


def toy_hetero(seed=0, n=14):
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["paper"].x = torch.rand(n, 6, generator=g, dtype=torch.float64)
    data["author"].x = torch.rand(7, 4, generator=g, dtype=torch.float64)
    data["subject"].x = torch.eye(3, dtype=torch.float64)
    pa = torch.stack([torch.arange(n).repeat(2),
                      torch.randint(0, 7, (2 * n,), generator=g)])
    pa = torch.unique(pa, dim=1).contiguous()
    ps = torch.stack([torch.arange(n), torch.arange(n) % 3])
    for (a, b), ei in {("paper", "author"): pa, ("paper", "subject"): ps}.items():
        data[a, "to", b].edge_index = ei
        data[b, "to", a].edge_index = ei.flip(0).contiguous()
    return add_metapaths(data, {
        "pap": [("paper", "to", "author"), ("author", "to", "paper")],
        "psp": [("paper", "to", "subject"), ("subject", "to", "paper")]})


def make(data, **kw):
    kw = {"hidden_channels": 5, "embed_channels": 4, "dropout": 0.0,
          "feat_mask": 0.3, "adj_mask": 0.2, "tau": 0.9, **kw}
    return AdaMEOW(data.num_features, "paper", PATHS, [3, 5], **kw).double()


def test_step_equals_dense_reference():
    data = toy_hetero()
    torch.manual_seed(0)
    method = make(data, proj_channels=3)
    method.train()
    step = method.step(data)
    z_c, z_f = step.zs
    p = method.projector
    p_c = F.normalize(torch.tanh(z_c @ p.lin.weight.t() + p.lin.bias), dim=1)
    p_f = F.normalize(torch.tanh(z_f @ p.lin.weight.t() + p.lin.bias), dim=1)
    mlp = method.loss.mlp
    pair = p_f[:, None, :] + p_c[None, :, :]  # all N^2 pairs, as the official
    w = torch.sigmoid(torch.tanh(pair @ mlp.lin1.weight.t() + mlp.lin1.bias)
                      @ mlp.lin2.weight.t() + mlp.lin2.bias).squeeze(-1)
    s = torch.exp(p_f @ p_c.t() / 0.9)  # the fine view anchors
    ref = -torch.log(s.diagonal() / (w * s).sum(1)).mean()
    torch.testing.assert_close(step.loss, ref, rtol=1e-10, atol=1e-10)
    step.loss.backward()
    assert mlp.lin1.weight.grad is not None  # the weights are learned
    z = method.embed(data)
    assert z.shape == (14, 4) and not z.requires_grad
    torch.testing.assert_close(z, z_f.detach())


def test_scalar_edge_mask_for_all_paths_and_set_epoch_is_inert():
    data = toy_hetero(1)
    method = make(data, adj_mask=0.4)
    assert method.adj_mask == [0.4, 0.4]
    torch.manual_seed(0)
    method.train()
    method.set_epoch(3)  # no schedule: only the epoch is recorded
    assert method.epoch == 3 and torch.isfinite(method(data))


def test_wrong_input():
    data = toy_hetero()
    homo = Data(x=torch.rand(3, 6, dtype=torch.float64),
                edge_index=torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="HeteroData"):
        make(data)(homo)
    bad = toy_hetero()
    del bad["paper", "psp", "paper"]
    with pytest.raises(ValueError, match="psp"):
        make(data)(bad)
    with pytest.raises(ValueError, match="adj_mask"):
        make(data, adj_mask=[0.1, 0.2, 0.3])


@pytest.mark.parametrize("dataset", list_configs("adameow")["adameow"])
def test_configs_build(dataset):
    cfg = load_config("adameow", dataset)
    assert cfg["eval"]["protocol"] == "heco"
    assert "monitor" not in cfg["train"]  # a fixed number of epochs
    method = build_method(cfg, WIDTHS[cfg["dataset"]])
    assert isinstance(method, AdaMEOW)
    proj = cfg["model"].get("proj_channels", 64)
    assert method.loss.mlp.in_channels == proj
