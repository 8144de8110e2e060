"""metapath2vec features: what the walks learn on a graph of two separate
communities, determinism, the MEOW layout, the cache and bad input.
"""

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import HeteroData

import gcl.datasets.metapath2vec as m2v
from gcl.datasets import metapath2vec_embeddings, metapath2vec_features

PATHS = {"pap": ["paper", "author", "paper"],
         "psp": ["paper", "subject", "paper"]}
FAST = {"embedding_dim": 8, "walk_length": 10, "context_size": 3,
        "walks_per_node": 4, "epochs": 20, "batch_size": 8, "lr": 0.05}


def two_communities():
    """Papers 0-11 write with authors 0-5, papers 12-23 with authors 6-11;
    every paper has one of two subjects, shared across the halves.
    """
    g = torch.Generator().manual_seed(0)
    pa = []
    for p in range(24):
        base = 0 if p < 12 else 6
        for a in torch.randperm(6, generator=g)[:2].tolist():
            pa.append((p, base + a))
    pa = torch.tensor(pa).t()
    ps = torch.stack([torch.arange(24), torch.arange(24) % 2])
    data = HeteroData()
    data["paper"].x = torch.rand(24, 3)
    data["author"].num_nodes = 12
    data["subject"].num_nodes = 2
    for (a, b), ei in {("paper", "author"): pa, ("paper", "subject"): ps}.items():
        data[a, "to", b].edge_index = ei
        data[b, "to", a].edge_index = ei.flip(0)
    return data


def cosine_gap(z, half=12):
    s = F.normalize(z, dim=1) @ F.normalize(z, dim=1).t()
    same = torch.zeros_like(s, dtype=torch.bool)
    same[:half, :half] = same[half:, half:] = True
    off = ~torch.eye(len(z), dtype=torch.bool)
    return s[same & off].mean() - s[~same].mean()


def test_walks_separate_the_communities():
    data = two_communities()
    embs = metapath2vec_embeddings(data, PATHS["pap"], **FAST)
    assert set(embs) == {"paper", "author"}
    assert embs["paper"].shape == (24, 8) and embs["author"].shape == (12, 8)
    # PAP walks never cross between the halves: papers of one half end up
    # closer to each other than to the other half's
    # (seeds 0-3: 0.52-0.58 for papers, 0.24-0.38 for authors)
    assert cosine_gap(embs["paper"]) > 0.4
    assert cosine_gap(embs["author"], half=6) > 0.15
    # PSP walks mix the halves, so their embeddings do not split them
    psp = metapath2vec_embeddings(data, PATHS["psp"], **FAST)["paper"]
    assert abs(cosine_gap(psp)) < 0.2  # (seeds 0-3: -0.09)


def test_seeded_and_leaves_the_global_rng_alone():
    data = two_communities()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = metapath2vec_embeddings(data, PATHS["pap"], seed=1, **FAST)
    torch.testing.assert_close(torch.rand(3), expected)
    b = metapath2vec_embeddings(data, PATHS["pap"], seed=1, **FAST)
    c = metapath2vec_embeddings(data, PATHS["pap"], seed=2, **FAST)
    assert torch.equal(a["paper"], b["paper"])
    assert not torch.equal(a["paper"], c["paper"])
    # edge types name the same scheme
    d = metapath2vec_embeddings(
        data, [("paper", "to", "author"), ("author", "to", "paper")], seed=1,
        **FAST)
    assert torch.equal(a["paper"], d["paper"])


def test_features_in_meow_layout_and_cache(tmp_path, monkeypatch):
    data = two_communities()
    out = metapath2vec_features(data, PATHS, "paper", cache=tmp_path, **FAST)
    assert out is data
    x_pap, x_psp = data["paper"].x_pap, data["paper"].x_psp
    assert x_pap.shape == x_psp.shape == (24, 8)
    torch.testing.assert_close(data["paper"].x, (x_pap + x_psp) / 2)
    # each other type from the first meta-path that visits it
    pap = metapath2vec_embeddings(data, PATHS["pap"], **FAST)
    assert torch.equal(data["author"].x, pap["author"])
    assert torch.equal(x_pap, pap["paper"])
    assert data["subject"].x.shape == (2, 8)
    files = list(tmp_path.glob("metapath2vec-*.pt"))
    assert len(files) == 1
    # a second call reads the file instead of training
    monkeypatch.setattr(m2v, "metapath2vec_embeddings",
                        lambda *a, **k: pytest.fail("trained again"))
    again = metapath2vec_features(two_communities(), PATHS, "paper",
                                  cache=tmp_path, **FAST)
    assert torch.equal(again["paper"].x_psp, x_psp)
    # other settings, another file
    monkeypatch.undo()
    metapath2vec_features(two_communities(), {"pap": PATHS["pap"]}, "paper",
                          cache=tmp_path, **{**FAST, "epochs": 1})
    assert len(list(tmp_path.glob("metapath2vec-*.pt"))) == 2
    # a default spelled out is the same file
    metapath2vec_features(two_communities(), {"pap": PATHS["pap"]}, "paper",
                          cache=tmp_path, **{**FAST, "epochs": 1, "seed": 0})
    assert len(list(tmp_path.glob("metapath2vec-*.pt"))) == 2


def test_bad_input():
    data = two_communities()
    with pytest.raises(ValueError, match="HeteroData"):
        metapath2vec_embeddings(data.to_homogeneous(), PATHS["pap"])
    with pytest.raises(ValueError, match="exactly one relation"):
        metapath2vec_embeddings(data, ["paper", "venue", "paper"])
    with pytest.raises(ValueError, match="end at its start"):
        metapath2vec_embeddings(data, ["paper", "author"])
    with pytest.raises(ValueError, match="not in the graph"):
        metapath2vec_embeddings(data, [("paper", "by", "author"),
                                       ("author", "to", "paper")])
    with pytest.raises(ValueError, match="does not lead into"):
        metapath2vec_embeddings(data, [("paper", "to", "author"),
                                       ("subject", "to", "paper")])
    with pytest.raises(ValueError, match="context_size"):
        metapath2vec_embeddings(data, PATHS["pap"], walk_length=3,
                                context_size=5)
    with pytest.raises(ValueError, match="epochs"):
        metapath2vec_embeddings(data, PATHS["pap"], epochs=0)
    with pytest.raises(ValueError, match="lr"):
        metapath2vec_embeddings(data, PATHS["pap"], lr=0.0)
    with pytest.raises(ValueError, match="back to"):
        metapath2vec_features(data, {"pa": ["paper", "author"]}, "paper")
    with pytest.raises(ValueError, match="at least one"):
        metapath2vec_features(data, {}, "paper")
    with pytest.raises(ValueError, match="walk_lenght"):
        metapath2vec_features(data, {"pap": PATHS["pap"]}, "paper",
                              cache="unused", walk_lenght=10)
