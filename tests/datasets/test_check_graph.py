import warnings

import pytest
import torch
from torch_geometric.data import Data

from gcl.datasets import check_graph, expected_input
from gcl.methods import GRACE
from gcl.nn import GCNEncoder

with warnings.catch_warnings():  # "sparse CSR support is in beta"
    warnings.simplefilter("ignore", UserWarning)
    X_CSR = torch.randn(6, 4).to_sparse_csr()


def graph(n=6, f=4):
    torch.manual_seed(0)
    return Data(x=torch.randn(n, f), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]))


def test_valid_graph_passes():
    check_graph(graph())
    check_graph(graph(), in_channels=4, dtype=torch.float32)
    g = graph()
    g.edge_weight = torch.rand(3)
    g.x = g.x.to_sparse()
    check_graph(g, 4, torch.float32)


def test_width_mismatch_names_both_numbers():
    with pytest.raises(ValueError, match="^data.x has 1433 features but the encoder "
                                         "expects 500 input channels$"):
        check_graph(graph(f=1433), in_channels=500)


def test_dtype_mismatch_names_both_dtypes_and_the_fix():
    g = graph()
    g.x = g.x.double()
    with pytest.raises(ValueError) as err:
        check_graph(g, dtype=torch.float32)
    assert str(err.value) == (
        "data.x is torch.float64 but the model's parameters are torch.float32; "
        "call data.x = data.x.float() or method.double()")
    g.x = g.x.half()
    with pytest.raises(ValueError, match=r"x.float\(\) or method.half\(\)$"):
        check_graph(g, dtype=torch.float32)


@pytest.mark.parametrize("change, message", [
    (dict(x=None), "data.x is missing"),
    (dict(x=torch.randn(0, 4)), "non-empty"),
    (dict(x=torch.ones(6, 4, dtype=torch.long)), "floating point, got torch.int64"),
    (dict(x=torch.full((6, 4), float("nan"))), "NaN"),
    (dict(x=torch.randn(6, 4).numpy()), "must be a torch.Tensor, got numpy.ndarray"),
    (dict(x=X_CSR), "sparse COO"),
    (dict(x=torch.randn(6, 4).to_sparse(1)), "2 sparse dimensions"),
    (dict(edge_index=None), "edge_index is missing"),
    (dict(edge_index=torch.tensor([[0, 1], [1, 6]])), "refers to node 6"),
    (dict(edge_index=torch.tensor([[0, -1], [1, 2]])), r"\(or -1\)"),
    (dict(edge_index=torch.tensor([0, 1])), r"\[2, E\] long"),
    (dict(edge_index=torch.tensor([[0, 1], [1, 2]], dtype=torch.int32)), "int32"),
    (dict(edge_index=[[0, 1], [1, 2]]), "must be a torch.Tensor, got builtins.list"),
    (dict(edge_index=torch.tensor([[0, 1], [1, 2]]).to_sparse()), "dense"),
    (dict(edge_weight=torch.rand(2)), r"shape \[E\] = \[3\]"),
    (dict(edge_weight=torch.ones(3, dtype=torch.long)), "edge_weight must be float"),
    (dict(edge_weight=torch.tensor([1.0, float("inf"), 1.0])), "edge_weight contains"),
])
def test_malformed_graphs_name_the_problem(change, message):
    g = graph()
    for key, value in change.items():
        g[key] = value
    with pytest.raises(ValueError, match=message):
        check_graph(g)


def test_edge_weight_dtype_must_match_the_model():
    g = graph()
    g.edge_weight = torch.rand(3, dtype=torch.float64)
    check_graph(g)  # no model to compare with
    with pytest.raises(ValueError, match="edge_weight is torch.float64 but the "
                                         "model's parameters are torch.float32"):
        check_graph(g, dtype=torch.float32)


def test_not_a_data_object():
    with pytest.raises(TypeError, match="Data"):
        check_graph({"x": torch.randn(3, 2)})


def test_expected_input():
    method = GRACE.from_config(7, 8, 8)
    assert expected_input(method) == (7, torch.float32)
    assert expected_input(method.double()) == (7, torch.float64)
    assert expected_input(GCNEncoder(5, 3)) == (None, torch.float32)  # no .encoder
    assert expected_input(torch.nn.ReLU()) == (None, None)

