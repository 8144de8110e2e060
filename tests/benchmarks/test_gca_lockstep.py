"""benchmarks/diagnostics/gca_lockstep.py: the gcl config it runs encodes
edge-dropped (directed) views as the official ``GCNConv`` on PyG 2.x does.

The official code is not needed: its encoder on today's PyG is a stack of
``GCNConv`` layers normalised by the *target* (in-) degree with self-loops,
written here as a dense float64 matrix. ``gca/Cora`` and ``gca/CiteSeer``
keep GRACE's source-degree normalisation (``degree: out``); the lockstep
once ran them with it and disagreed with the official loss by 6e-6.
"""


import pytest
import torch

from gcl.app.config import list_configs, load_config
from gcl.methods import build_method


@pytest.fixture(scope="module")
def lockstep(load_script):
    return load_script("benchmarks/diagnostics/gca_lockstep.py")


def directed_view(num_nodes=30, num_edges=90, seed=0):
    """A random directed edge list (no self-loops, no duplicates): what an
    edge-dropped view of an undirected graph looks like."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(num_nodes, (4 * num_edges,), generator=gen)
    dst = torch.randint(num_nodes, (4 * num_edges,), generator=gen)
    keep = src != dst
    pairs = torch.unique(torch.stack([src[keep], dst[keep]]), dim=1)
    return pairs[:, torch.randperm(pairs.size(1), generator=gen)[:num_edges]]


def dense_official_encoder(x, edge_index, convs, act):
    """``act(D^-1/2 (A + I) D^-1/2 X W^T + b)`` per layer, with
    ``A[v, u] = 1`` for an edge ``u -> v`` and ``D`` its row sums (target
    in-degrees plus the self-loop): PyG 2.x ``GCNConv`` as the official
    ``Encoder`` stacks it (activation after every layer)."""
    n = x.size(0)
    a = torch.eye(n, dtype=torch.float64)
    a[edge_index[1], edge_index[0]] += 1.0
    d = a.sum(1).rsqrt()
    a_hat = d[:, None] * a * d[None, :]
    for conv in convs:
        x = act(a_hat @ (x @ conv.lin.weight.t()) + conv.bias)
    return x


@pytest.mark.parametrize("dataset", list_configs("gca")["gca"])
def test_lockstep_config_uses_in_degree(lockstep, dataset):
    cfg = lockstep.lockstep_config(dataset)
    assert cfg["model"]["degree"] == "in"
    assert cfg["dataset"] == dataset


def test_lockstep_config_overrides(lockstep):
    cfg = lockstep.lockstep_config("Cora", "pr", ["model.zero_columns=official"])
    assert (cfg["model"]["degree"], cfg["model"]["drop_scheme"],
            cfg["model"]["zero_columns"]) == ("in", "pr", "official")
    # an explicit degree on the command line wins
    cfg = lockstep.lockstep_config("Cora", overrides=["model.degree=out"])
    assert cfg["model"]["degree"] == "out"


@pytest.mark.parametrize("dataset", ["Cora", "CiteSeer"])
def test_lockstep_encoder_matches_official_normalisation(lockstep, dataset):
    """float64: the lockstep's encoder equals the dense in-degree reference
    on a directed view; the config's own (``degree: out``) does not."""
    small = ["model.hidden_channels=8"]
    num_features = 12
    edge_index = directed_view()
    x = torch.rand(30, num_features, generator=torch.Generator().manual_seed(1),
                   dtype=torch.float64)

    torch.manual_seed(0)
    cfg = lockstep.lockstep_config(dataset, overrides=small)
    model = build_method(cfg, num_features).double().eval()
    enc = model.encoder
    with torch.no_grad():  # the config's activation (ReLU or PReLU)
        ref = dense_official_encoder(x, edge_index, enc.convs, enc.activation)
        out = enc(x, edge_index)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-13)

    raw = load_config("gca", dataset, small)
    assert raw["model"]["degree"] == "out"  # GRACE's normalisation
    torch.manual_seed(0)
    other = build_method(raw, num_features).double().eval()
    other.load_state_dict(model.state_dict())
    with torch.no_grad():
        moved = (other.encoder(x, edge_index) - ref).abs().max().item()
    assert moved > 1e-3
