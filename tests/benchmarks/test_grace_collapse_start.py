"""benchmarks/diagnostics/grace_collapse_start.py: its spread and dead-unit
measures on hand-made embeddings, and its layer outputs equal the method's
own encoder and projection."""

import pytest
import torch
from torch_geometric.data import Data

from gcl.methods import build_method


@pytest.fixture(scope="module")
def diag(load_script):
    return load_script("benchmarks/diagnostics/grace_collapse_start.py")


def test_spread_is_zero_for_one_direction_and_grows_with_the_angle(diag):
    same = torch.tensor([[1.0, 2.0], [2.0, 4.0], [0.5, 1.0]])  # one direction
    assert diag.spread(same) == pytest.approx(0.0, abs=1e-7)
    # two orthogonal unit rows: mean (0.5, 0.5), ||Z - mean|| = 1, ||Z|| = sqrt(2)
    ortho = torch.tensor([[3.0, 0.0], [0.0, 2.0]])
    assert diag.spread(ortho) == pytest.approx(2 ** -0.5)


def test_dead_counts_units_that_are_zero_for_every_node(diag):
    h = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    assert diag.dead(h) == 0.5


def test_layers_are_the_encoder_and_projection_of_the_method(diag):
    g = torch.Generator().manual_seed(0)
    n = 30
    data = Data(x=torch.rand(n, 6, generator=g),
                edge_index=torch.randint(n, (2, 90), generator=g))
    torch.manual_seed(0)
    m = build_method("grace", 6, hidden_channels=8, proj_channels=4,
                     num_layers=2)
    outs, z = diag.layers(m, data)
    assert len(outs) == 2 and m.training  # the training mode is restored
    m.eval()
    with torch.no_grad():
        h = m.encoder(data.x, data.edge_index)
        torch.testing.assert_close(outs[-1], h)
        torch.testing.assert_close(z, m.projector(h))
