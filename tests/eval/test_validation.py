"""The evaluators' one input checker (gcl/eval/_validation.py) and the layout of
gcl.eval: private modules, public functions."""

import importlib
import pkgutil
import types

import numpy as np
import pytest
import torch

import gcl.eval
from gcl.eval import (
    clustering,
    labels_per_class,
    match_clusters,
    node_classification,
    pot_protocol,
    random_split,
    ranking,
    score_links,
    train_linear_probe,
)
from gcl.eval._validation import (
    check_embeddings,
    check_inputs,
    check_labels,
    check_positive_int,
    check_runs,
)

N, C = 60, 3


@pytest.fixture(autouse=True)
def _single_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, 4, generator=g), torch.arange(N) % C


def messages(calls):
    """The ValueError message of each call."""
    out = []
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        out.append(str(info.value))
    return out


def node_evaluators(z, y):
    """Every evaluator that takes node embeddings and labels."""
    split = random_split(N, generator=torch.Generator().manual_seed(0))
    return [
        lambda: node_classification(z, y, "grace", runs=1),
        lambda: node_classification(z, y, "linear_probe", runs=1, epochs=5),
        lambda: pot_protocol(z, y, epochs=5),
        lambda: labels_per_class(z, y, shots=(2,), runs=1, val_size=5,
                                 test_size=5, epochs=5),
        lambda: clustering(z, y, runs=1, n_init=1),
        lambda: train_linear_probe(z, y, [split], epochs=5),
    ]


# ------------------------------------------------------------------- layout


def test_public_names_are_not_shadowed_by_modules():
    for name in gcl.eval.__all__:
        assert not isinstance(getattr(gcl.eval, name), types.ModuleType), name
    modules = [m.name for m in pkgutil.iter_modules(gcl.eval.__path__)]
    assert "_validation" in modules
    assert all(m.startswith("_") for m in modules), modules
    for name in ("node_classification", "clustering", "ranking",
                 "link_prediction", "labels_per_class"):
        assert isinstance(getattr(gcl.eval, name), types.FunctionType)
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"gcl.eval.{name}")


# ------------------------------------------------------------ one wording


def test_non_finite_embeddings_same_message_everywhere():
    z, y = data()
    z[3, 1] = float("nan")
    expected = messages([lambda: check_embeddings(z)])[0]
    assert "NaN or inf in 1 of 60 rows (first rows: [3])" in expected
    got = messages(node_evaluators(z, y) + [lambda: score_links(z, None)])
    assert set(got) == {expected}
    items = torch.randn(5, 4)
    inter = torch.tensor([[0], [0]])
    (msg,) = messages([lambda: ranking(z, items, inter, inter)])
    assert msg == expected.replace("z contains", "user_emb contains")


def test_label_count_mismatch_same_message_everywhere():
    z, y = data()
    got = messages(node_evaluators(z, y[:-1]))
    assert set(got) == {"y has 59 labels but z has 60 rows; they must match "
                        "(one label per node)"}


def test_negative_labels_same_message_everywhere():
    z, y = data()
    y = y.clone()
    y[[4, 9]] = -1
    got = messages(node_evaluators(z, y))
    assert set(got) == {"y has 2 negative labels (first rows: [4, 9]); y must be "
                        "non-negative integer class labels (unlabelled nodes are "
                        "not supported)"}
    (msg,) = messages([lambda: match_clusters([-1, 0], [0, 1])])
    assert "y_true must be non-negative" in msg
    assert "-1 marks unmatched clusters" in msg


def test_bad_runs_same_message_everywhere():
    z, y = data()
    got = messages([
        lambda: node_classification(z, y, runs=0),
        lambda: pot_protocol(z, y, runs=0),
        lambda: labels_per_class(z, y, runs=0),
        lambda: clustering(z, y, runs=0),
        lambda: check_runs(True, 1),
    ])
    assert got[:4] == ["runs must be a positive integer, got 0"] * 4
    assert got[4] == "runs must be a positive integer, got True"


# ------------------------------------------------------------- the checks


def test_check_embeddings():
    z = np.random.default_rng(0).normal(size=(5, 3))
    out = check_embeddings(z)
    assert out.dtype == torch.float64 and out.shape == (5, 3)
    assert check_embeddings(z, dtype=torch.float32).dtype == torch.float32
    t = torch.randn(4, 2, requires_grad=True)
    assert not check_embeddings(t).requires_grad
    with pytest.raises(ValueError, match="non-empty 2-D"):
        check_embeddings(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="floating-point"):
        check_embeddings(torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="emb must be numeric"):
        check_embeddings(np.array([["a", "b"]]), "emb")


def test_check_labels():
    y = check_labels(np.array([0, 2, 1], dtype=np.uint16), 3)
    assert y.dtype == torch.long and y.tolist() == [0, 2, 1]
    assert check_labels([1.0, 0.0], 2, allow_integral_float=True).tolist() == [1, 0]
    with pytest.raises(ValueError, match="got fractions"):
        check_labels([0.5, 1.0], 2, allow_integral_float=True)
    with pytest.raises(ValueError, match=r"integer class labels \(torch.long\)"):
        check_labels([1.0, 0.0], 2)
    with pytest.raises(ValueError, match="integer class labels"):
        check_labels(torch.tensor([True, False]), 2)
    with pytest.raises(ValueError, match="y must be numeric"):
        check_labels(np.array(["a", "b"]), 2)
    with pytest.raises(ValueError, match="1-D"):
        check_labels(torch.zeros(2, 2, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="fewer than 2 classes"):
        check_labels([1, 1], 2)
    # No length to match, any ids (cluster ids may be negative), one class.
    ids = check_labels([-3, 7, 7], None, min_classes=0, allow_negative=True,
                       name="y_pred")
    assert ids.tolist() == [-3, 7, 7]
    with pytest.raises(ValueError, match="y_pred has 1 negative labels"):
        check_labels([-3, 7], None, min_classes=0, name="y_pred")


def test_check_inputs():
    z, y = data()
    z64 = z.double()
    zc, yc, c = check_inputs(z64, y.numpy())
    assert zc.dtype == torch.float32 and zc.device.type == "cpu"
    assert torch.equal(zc, z64.float()) and torch.equal(yc, y) and c == C
    _, yf, _ = check_inputs(z, y.double(), allow_integral_float=True)
    assert yf.dtype == torch.long


def test_check_positive_int():
    assert check_positive_int(np.int64(3), "k") == 3
    assert isinstance(check_positive_int(np.int64(3), "k"), int)
    assert check_positive_int(None, "cap", allow_none=True) is None
    for bad in (0, -1, 2.0, True, None, "3"):
        with pytest.raises(ValueError, match="k must be a positive integer, got"):
            check_positive_int(bad, "k")
    with pytest.raises(ValueError, match="positive integer or None, got 0"):
        check_positive_int(0, "cap", allow_none=True)
    assert check_runs(None, 7) == 7 and check_runs(2, 7) == 2
