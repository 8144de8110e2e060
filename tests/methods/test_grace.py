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
