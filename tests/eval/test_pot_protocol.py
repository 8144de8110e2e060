import pytest
import torch
from torch_geometric.data import Data

from gcl.eval import (
    PROTOCOLS,
    linear_probe_protocol,
    node_classification,
    pot_fixed_protocol,
    pot_protocol,
    public_protocol,
    train_linear_probe,
)


def planetoid_like(name="Cora", n=120, c=3, seed=0):
    """Train 15, val 40, test 60 nodes; embeddings carry the label on the
    train and *val* nodes only, pure noise on the test nodes."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % c
    perm = torch.randperm(n, generator=gen)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    for m, idx in zip(masks, (perm[:15], perm[15:55], perm[55:115])):
        m[idx] = True
    z = torch.randn(n, 8, generator=gen)
    informative = masks[0] | masks[1]
    z[informative, :c] += 6 * torch.nn.functional.one_hot(y[informative], c)
    data = Data(y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2])
    data.name = name
    return z, y, data


def test_pot_scores_the_public_val_nodes_and_selects_on_test():
    z, y, data = planetoid_like()
    swapped = pot_protocol(z, y, data=data, epochs=100)
    fixed = pot_fixed_protocol(z, y, data=data, epochs=100)
    assert swapped.protocol == "pot" and fixed.protocol == "pot_fixed"
    # "pot": val part = the 60 test-mask nodes, scored part = the 40 val nodes.
    assert (swapped.details["val_size"], swapped.details["test_size"]) == (60, 40)
    assert (fixed.details["val_size"], fixed.details["test_size"]) == (40, 60)
    assert "swapped" in swapped.details["split"]
    # Only the val-mask nodes are informative: the swap scores them.
    assert swapped.metrics["micro_f1"] >= 0.9
    assert fixed.metrics["micro_f1"] < 0.7
    assert set(swapped.metrics) == {"accuracy", "micro_f1", "macro_f1"}


def test_pot_equals_the_probe_on_the_swapped_split():
    z, y, data = planetoid_like(seed=1)
    res = pot_protocol(z, y, data=data, epochs=60, runs=2, seed=3)
    tr, va, te = (m.nonzero().view(-1) for m in
                  (data.train_mask, data.val_mask, data.test_mask))
    gen = torch.Generator().manual_seed(3)
    ref = train_linear_probe(z, y, [(tr, te, va)] * 2, epochs=60,
                             select="micro_f1", generator=gen)
    assert res.per_split == ref.metrics
    assert res.num_runs == 2


def test_random_split_elsewhere_and_both_names_agree():
    z, y, data = planetoid_like(name="Photo", n=200)
    a = pot_protocol(z, y, data=data, epochs=40, seed=5)
    b = pot_fixed_protocol(z, y, data=data, epochs=40, seed=5)
    assert a.metrics == b.metrics
    assert (a.details["train_size"], a.details["val_size"],
            a.details["test_size"]) == (20, 20, 160)
    assert a.details["split"].startswith("random")
    assert a.num_runs == 1  # one probe per trained model, as the code
    # No data at all: random split too.
    c = pot_protocol(z, y, epochs=40, seed=5)
    assert c.metrics == a.metrics


def test_registry_and_errors():
    assert PROTOCOLS["pot"] is pot_protocol
    assert PROTOCOLS["pot_fixed"] is pot_fixed_protocol
    z, y, data = planetoid_like()
    res = node_classification(z, y, "pot", data=data, epochs=20)
    assert res.protocol == "pot"
    with pytest.raises(ValueError, match="needs data"):
        pot_protocol(z, y, split="public")
    with pytest.raises(ValueError, match="split must be"):
        pot_protocol(z, y, data=data, split="wikics")
    two_d = data.clone()
    two_d.train_mask = data.train_mask[:, None].repeat(1, 2)
    with pytest.raises(ValueError, match="1-D"):
        pot_protocol(z, y, data=two_d, split="public")


def test_pot_is_the_public_protocol_with_swapped_masks():
    z, y, data = planetoid_like(seed=2)
    masks = (data.train_mask, data.val_mask, data.test_mask)
    for fn, order in ((pot_protocol, (0, 2, 1)), (pot_fixed_protocol, (0, 1, 2))):
        res = fn(z, y, data=data, epochs=40, runs=2, seed=4)
        ref = public_protocol(z, y, masks=[masks[i] for i in order], epochs=40,
                              runs=2, seed=4, select="micro_f1")
        assert res.per_split == ref.per_split
        assert res.metrics == ref.metrics and res.std == ref.std
        for key in ("train_size", "val_size", "test_size", "best_epoch"):
            assert res.details[key] == ref.details[key]


def test_pot_random_split_is_the_linear_probe_protocol():
    z, y, data = planetoid_like(name="Photo", n=200)
    res = pot_protocol(z, y, data=data, epochs=40, runs=2, seed=6)
    ref = linear_probe_protocol(z, y, epochs=40, runs=2, seed=6, select="micro_f1")
    assert res.per_split == ref.per_split
    assert res.details["best_epoch"] == ref.details["best_epoch"]


def test_pot_checks_inputs_like_every_evaluator():
    z, y, data = planetoid_like()
    bad = z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        pot_protocol(bad, y, data=data, epochs=5)
    with pytest.raises(ValueError, match="runs must be a positive integer"):
        pot_fixed_protocol(z, y, data=data, runs=0, epochs=5)
