import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

from gcl.eval import (
    PROTOCOLS,
    EvalResult,
    LinearProbe,
    batched_classification_metrics,
    classification_metrics,
    masks_to_splits,
    node_classification,
    random_split,
    train_linear_probe,
)

FAST = {"epochs": 200}  # probe epochs in tests; the protocols default to 3000


@pytest.fixture(autouse=True)
def _single_thread():
    # The probes run thousands of tiny ops; on a shared CPU, waiting for a
    # second intra-op thread costs far more than it saves.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def separable(n=400, c=4, d=16, seed=0, spread=10.0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % c
    centers = spread * torch.randn(c, d, generator=g)
    z = centers[y] + torch.randn(n, d, generator=g)
    return z, y


def noise(n=2000, c=4, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, c, (n,), generator=g)


def public_masks(n, n_train=40, n_val=100, n_test=200, seed=0):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    masks = []
    for lo, hi in ((0, n_train), (n_train, n_train + n_val),
                   (n_train + n_val, n_train + n_val + n_test)):
        m = torch.zeros(n, dtype=torch.bool)
        m[perm[lo:hi]] = True
        masks.append(m)
    return tuple(masks)


# ---------------------------------------------------------------- protocols


@pytest.mark.parametrize("protocol", ["grace", "linear_probe", "gca", "public"])
def test_separable_embeddings_are_classified_perfectly(protocol):
    z, y = separable()
    kw = {} if protocol == "grace" else dict(FAST)
    if protocol == "public":
        kw["masks"] = public_masks(z.size(0))
    res = node_classification(z, y, protocol, runs=2, **kw)
    assert res.metrics["accuracy"] > 0.99
    assert res.metrics["macro_f1"] > 0.99
    assert res.metrics["micro_f1"] == pytest.approx(res.metrics["accuracy"])
    assert res.protocol == {"gca": "linear_probe"}.get(protocol, protocol)


@pytest.mark.parametrize("protocol", ["grace", "linear_probe", "public"])
def test_noise_embeddings_score_chance(protocol):
    z, y = noise()
    kw = {} if protocol == "grace" else dict(FAST)
    if protocol == "public":
        kw["masks"] = public_masks(z.size(0), n_train=200, n_val=300, n_test=1000)
    res = node_classification(z, y, protocol, runs=2, **kw)
    assert abs(res.metrics["accuracy"] - 0.25) < 0.06


def test_grace_protocol_trains_on_ten_percent_and_selects_on_train_only(
        monkeypatch):
    import sklearn.model_selection as ms

    seen = {"fit": [], "proba": []}
    real = ms.GridSearchCV

    class Spy(real):
        def fit(self, X, y=None, **kw):
            seen["fit"].append(np.array(X))
            return super().fit(X, y, **kw)

        def predict_proba(self, X):
            seen["proba"].append(np.array(X))
            return super().predict_proba(X)

    monkeypatch.setattr(ms, "GridSearchCV", Spy)
    n = 500
    z, y = separable(n=n)
    res = node_classification(z, y, "grace", runs=2)
    n_test = math.ceil(0.9 * n)
    assert res.details["train_size"] == n - n_test == 50
    assert res.details["test_size"] == n_test
    assert len(res.details["C"]) == 2
    assert set(res.details["C"]) <= set(2.0 ** np.arange(-10, 10))
    assert len(seen["fit"]) == len(seen["proba"]) == 2
    xn = F.normalize(z, dim=1).numpy()
    for fit_x, test_x in zip(seen["fit"], seen["proba"]):
        assert fit_x.shape == (50, z.size(1)) and test_x.shape == (n_test, z.size(1))
        # Rows are l2-normalised embeddings; map them back to node ids.
        fit_ids = {int(np.abs(xn - r).sum(1).argmin()) for r in fit_x}
        test_ids = {int(np.abs(xn - r).sum(1).argmin()) for r in test_x}
        assert len(fit_ids) == 50 and len(test_ids) == n_test
        assert not fit_ids & test_ids  # the selection never sees a test node
        assert fit_ids | test_ids == set(range(n))
        np.testing.assert_allclose(np.linalg.norm(fit_x, axis=1), 1.0, rtol=1e-5)


def test_linear_probe_details_and_split_sizes():
    z, y = separable(n=1000)
    res = node_classification(z, y, "linear_probe", runs=2, **FAST)
    d = res.details
    assert (d["train_size"], d["val_size"], d["test_size"]) == (100, 100, 800)
    assert res.num_runs == 2 and len(d["best_epoch"]) == 2
    assert all(e % 20 == 0 and 0 < e <= 200 for e in d["best_epoch"])


def test_linear_probe_default_runs_is_ten():
    z, y = separable(n=200)
    res = node_classification(z, y, "linear_probe", epochs=20)
    assert res.num_runs == 10


def test_public_protocol_scores_exactly_the_given_masks():
    # Clean nodes are separable; the "dirty" nodes carry random labels.
    n = 600
    z, y = separable(n=n)
    tr, va, te = public_masks(n, n_train=80, n_val=150, n_test=250)
    y = y.clone()
    y[va] = torch.randint(0, 4, (int(va.sum()),),
                          generator=torch.Generator().manual_seed(1))
    res = node_classification(z, y, "public", masks=(tr, va, te), runs=2, **FAST)
    assert res.details["train_size"] == 80
    assert res.details["val_size"] == 150
    assert res.details["test_size"] == 250
    assert res.metrics["accuracy"] > 0.99
    swapped = node_classification(z, y, "public", masks=(tr, te, va), runs=2,
                                  **FAST)
    assert swapped.details["test_size"] == 150 and swapped.details["val_size"] == 250
    assert swapped.metrics["accuracy"] < 0.5  # now scored on the noisy nodes


def test_public_protocol_reads_masks_from_data():
    from torch_geometric.data import Data

    z, y = separable(n=300)
    tr, va, te = public_masks(300)
    data = Data(num_nodes=300, train_mask=tr, val_mask=va, test_mask=te)
    a = node_classification(z, y, "public", data=data, runs=1, **FAST)
    b = node_classification(z, y, "public", masks=(tr, va, te), runs=1, **FAST)
    assert a.per_split == b.per_split
    with pytest.raises(ValueError, match="test_mask"):
        node_classification(z, y, "public", data=Data(train_mask=tr, val_mask=va))
    with pytest.raises(ValueError, match="needs the split"):
        node_classification(z, y, "public")


def test_public_protocol_wikics_masks_one_run_per_column():
    n, s = 400, 5
    z, y = separable(n=n)
    g = torch.Generator().manual_seed(0)
    test = torch.zeros(n, dtype=torch.bool)
    test[200:] = True
    train = torch.zeros(n, s, dtype=torch.bool)
    val = torch.zeros(n, s, dtype=torch.bool)
    for j in range(s):
        perm = torch.randperm(200, generator=g)
        train[perm[:20 + j], j] = True
        val[perm[100:150], j] = True
    res = node_classification(z, y, "wikics", masks=(train, val, test), **FAST)
    assert res.protocol == "public"
    assert res.num_runs == s and res.details["num_splits"] == s
    assert res.details["train_size"] == [20 + j for j in range(s)]
    assert res.metrics["accuracy"] > 0.99
    res2 = node_classification(z, y, "public", masks=(train, val, test), runs=2,
                               **FAST)
    assert res2.num_runs == 2 * s


def test_masks_must_be_valid():
    n = 50
    tr, va, te = public_masks(n, 10, 10, 10)
    with pytest.raises(ValueError, match="overlap"):
        masks_to_splits(tr, va, te | tr)
    with pytest.raises(ValueError, match="boolean"):
        masks_to_splits(tr.long(), va, te)
    with pytest.raises(ValueError, match="shape"):
        masks_to_splits(tr, va[:-1], te)
    with pytest.raises(ValueError, match="empty"):
        masks_to_splits(tr, torch.zeros(n, dtype=torch.bool), te)
    with pytest.raises(ValueError, match="split columns"):
        masks_to_splits(tr.view(-1, 1).repeat(1, 2), va.view(-1, 1).repeat(1, 3), te)


# --------------------------------------------------------------- seeding


@pytest.mark.parametrize("protocol", ["grace", "linear_probe"])
def test_same_seed_same_result_different_seed_different_splits(protocol):
    z, y = noise(n=400)
    kw = {} if protocol == "grace" else dict(FAST)
    a = node_classification(z, y, protocol, runs=2, seed=0, **kw)
    b = node_classification(z, y, protocol, runs=2, seed=0, **kw)
    c = node_classification(z, y, protocol, runs=2, seed=1, **kw)
    assert a.to_dict() == b.to_dict()
    assert a.per_split != c.per_split
    assert a.per_split[0] != a.per_split[1]  # runs use different splits


def test_public_seed_changes_only_the_init():
    z, y = noise(n=600)
    masks = public_masks(600, 100, 100, 300)
    a = node_classification(z, y, "public", masks=masks, runs=2, seed=0, **FAST)
    b = node_classification(z, y, "public", masks=masks, runs=2, seed=0, **FAST)
    c = node_classification(z, y, "public", masks=masks, runs=2, seed=5, **FAST)
    assert a.per_split == b.per_split
    assert a.per_split != c.per_split


# --------------------------------------------------------------- splits


def test_random_split_sizes_disjoint_cover():
    for n in (100, 2708, 7650, 13):
        tr, va, te = random_split(n, generator=torch.Generator().manual_seed(0))
        assert tr.numel() == int(0.1 * n) and va.numel() == int(0.1 * n)
        assert te.numel() == n - 2 * int(0.1 * n)
        allidx = torch.cat([tr, va, te])
        assert allidx.unique().numel() == n and allidx.sort().values.equal(
            torch.arange(n))
    tr, va, te = random_split(2708, generator=torch.Generator().manual_seed(0))
    assert (tr.numel(), va.numel(), te.numel()) == (270, 270, 2168)


def test_random_split_seeding():
    def split(seed):
        return random_split(1000, generator=torch.Generator().manual_seed(seed))

    a, b, c = split(3), split(3), split(4)
    assert all(x.equal(y) for x, y in zip(a, b))
    assert not a[0].equal(c[0])


def test_random_split_rejects_bad_fractions():
    with pytest.raises(ValueError):
        random_split(100, train=0.6, val=0.5)
    with pytest.raises(ValueError, match="too few"):
        random_split(5)


# --------------------------------------------------------------- validation


def test_input_validation_messages():
    z, y = separable(n=100)
    bad = z.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        node_classification(bad, y)
    bad[3, 1] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        node_classification(bad, y, "linear_probe")
    with pytest.raises(ValueError, match="99 labels but z has 100 rows"):
        node_classification(z, y[:-1])
    with pytest.raises(ValueError, match="unknown node-classification protocol"
                       r".*gca, grace, heco, linear_probe, pot, pot_fixed, public, "
                       r"wikics"):
        node_classification(z, y, "nope")
    with pytest.raises(ValueError, match="2-D"):
        node_classification(z[0], y)
    with pytest.raises(ValueError, match="floating-point"):
        node_classification(z.long(), y)
    with pytest.raises(ValueError, match="integer class labels"):
        node_classification(z, y.float())
    with pytest.raises(ValueError, match="fewer than 2 classes"):
        node_classification(z, torch.zeros(100, dtype=torch.long))
    with pytest.raises(ValueError, match="negative"):
        node_classification(z, y - 1)
    with pytest.raises(ValueError, match="runs"):
        node_classification(z, y, runs=0)
    with pytest.raises(ValueError, match="val_mask has 50 entries"):
        tr, va, te = public_masks(100, 10, 10, 10)
        node_classification(z, y, "public", masks=(tr, va[:50], te))


def test_accepts_float64_and_numpy_inputs():
    z, y = separable(n=200)
    a = node_classification(z, y, "linear_probe", runs=1, **FAST)
    b = node_classification(z.double().numpy(), y.numpy(), "linear_probe", runs=1,
                            **FAST)
    assert a.per_split == b.per_split


def test_registry_names():
    assert {"grace", "linear_probe", "gca", "public", "wikics"} <= set(PROTOCOLS)
    assert PROTOCOLS["gca"] is PROTOCOLS["linear_probe"]


# --------------------------------------------------------------- result


def test_eval_result_str_and_dict():
    res = EvalResult.from_runs(
        "grace",
        [{"accuracy": 0.83, "micro_f1": 0.83, "macro_f1": 0.80},
         {"accuracy": 0.84, "micro_f1": 0.84, "macro_f1": 0.82}],
        {"train_size": np.int64(270), "C": [np.float64(0.5), 2.0],
         "split": (1, 2)},
    )
    assert res.metrics["accuracy"] == pytest.approx(0.835)
    assert res.std["accuracy"] == pytest.approx(0.005)  # ddof=0 like np.std
    assert res["macro_f1"] == pytest.approx(0.81)
    assert str(res) == ("grace: accuracy 83.50 ± 0.50 (micro_f1 83.50 ± 0.50, "
                        "macro_f1 81.00 ± 1.00) over 2 runs")
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["details"]["train_size"] == 270 and d["details"]["split"] == [1, 2]
    assert d["protocol"] == "grace" and len(d["per_split"]) == 2
    with pytest.raises(KeyError, match="accuracy"):
        res["nmi"]
    with pytest.raises(ValueError):
        EvalResult.from_runs("x", [])


def test_real_result_is_json_serialisable():
    z, y = separable(n=200)
    res = node_classification(z, y, "linear_probe", runs=2, **FAST)
    json.dumps(res.to_dict())
    assert "linear_probe: accuracy" in str(res) and "over 2 runs" in str(res)


# --------------------------------------------------------------- metrics


def test_macro_f1_matches_sklearn_hand_made():
    y_true = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0])
    y_pred = torch.tensor([0, 1, 1, 1, 0, 2, 3, 0])  # class 3 only predicted
    m = classification_metrics(y_true, y_pred, num_classes=6)  # 4, 5 absent
    # per class F1: 0: 2*2/(3+3)=2/3, 1: 2*2/(3+3)=2/3, 2: 2*1/(2+1)=2/3, 3: 0
    assert m["macro_f1"] == pytest.approx((2 / 3 * 3 + 0) / 4)
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="micro"))


def test_batched_metrics_match_sklearn_random():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (300,), generator=g)
    pred = torch.randint(0, 5, (4, 300), generator=g)
    mask = torch.rand(4, 300, generator=g) < 0.5
    out = batched_classification_metrics(y, pred, mask, 5)
    for r in range(4):
        t, p = y[mask[r]].numpy(), pred[r][mask[r]].numpy()
        assert out["macro_f1"][r] == pytest.approx(f1_score(t, p, average="macro"))
        assert out["accuracy"][r] == pytest.approx((t == p).mean())


# --------------------------------------------------------------- probe


def test_batched_probe_equals_separate_probes():
    z, y = noise(n=300)
    splits = [random_split(300, generator=torch.Generator().manual_seed(s))
              for s in range(3)]
    g = torch.Generator().manual_seed(0)
    batched = train_linear_probe(z, y, splits, epochs=60, eval_every=10,
                                 generator=g)
    g = torch.Generator().manual_seed(0)
    alone = [train_linear_probe(z, y, [s], epochs=60, eval_every=10, generator=g)
             for s in splits]
    for i, a in enumerate(alone):
        assert batched.best_epoch[i] == a.best_epoch[0]
        assert batched.metrics[i] == pytest.approx(a.metrics[0])
        torch.testing.assert_close(batched.probe.weight[i], a.probe.weight[0])


def test_probe_matches_autograd_reference():
    # Plain GCA-style LogReg: nn.Linear + Xavier + Adam + cross-entropy.
    z, y = noise(n=200, d=8)
    tr, va, te = random_split(200, generator=torch.Generator().manual_seed(0))
    out = train_linear_probe(z, y, [(tr, va, te)], epochs=50, eval_every=50,
                             weight_decay=1e-3,
                             generator=torch.Generator().manual_seed(7))
    ref = torch.nn.Linear(8, 4)
    torch.nn.init.xavier_uniform_(ref.weight,
                                  generator=torch.Generator().manual_seed(7))
    torch.nn.init.zeros_(ref.bias)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01, weight_decay=1e-3)
    for _ in range(50):
        opt.zero_grad()
        F.cross_entropy(ref(z[tr]), y[tr]).backward()
        opt.step()
    torch.testing.assert_close(out.probe.weight[0], ref.weight.detach(),
                               atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.probe.bias[0], ref.bias.detach(),
                               atol=1e-5, rtol=1e-4)
    pred = ref(z).argmax(1)
    assert out.metrics[0] == pytest.approx(classification_metrics(y[te], pred[te]))


def test_probe_selects_first_best_validation_epoch():
    # With a constant validation score every evaluation ties: the first wins.
    z = torch.zeros(40, 3)
    y = torch.arange(40) % 2
    split = (torch.arange(0, 20), torch.arange(20, 30), torch.arange(30, 40))
    out = train_linear_probe(z, y, [split], epochs=100, eval_every=20)
    assert out.best_epoch == [20]


def test_probe_rejects_bad_splits():
    z, y = noise(n=50)
    idx = torch.arange(50)
    with pytest.raises(ValueError, match="training nodes also appear"):
        train_linear_probe(z, y, [(idx[:10], idx[10:20], idx[5:50])], epochs=1)
    with pytest.raises(ValueError, match="outside"):
        train_linear_probe(z, y, [(idx[:10], idx[10:20], idx[20:] + 5)], epochs=1)
    with pytest.raises(ValueError, match="empty part"):
        train_linear_probe(z, y, [(idx[:10], idx[:0], idx[20:])], epochs=1)
    with pytest.raises(ValueError, match="labels must lie"):
        train_linear_probe(z, y, [(idx[:10], idx[10:20], idx[20:])], epochs=1,
                           num_classes=2)


def test_probe_leaves_global_rng_alone():
    z, y = noise(n=60)
    split = random_split(60, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    train_linear_probe(z, y, [split], epochs=5,
                       generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.rand(3), before)


def test_linear_probe_module():
    m = LinearProbe(16, 3, num_models=4)
    assert "LinearProbe(16, 3, num_models=4)" == repr(m)
    assert m(torch.randn(10, 16)).shape == (4, 10, 3)
    assert m(torch.randn(4, 10, 16)).shape == (4, 10, 3)
    bound = math.sqrt(6 / (16 + 3))
    assert m.weight.abs().max() <= bound and m.bias.abs().sum() == 0


def test_probe_restores_thread_count():
    z, y = noise(n=100)
    split = random_split(100, generator=torch.Generator().manual_seed(0))
    torch.set_num_threads(2)
    train_linear_probe(z, y, [split], epochs=5)
    assert torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="num_threads"):
        train_linear_probe(z, y, [split], epochs=5, num_threads=0)
    assert torch.get_num_threads() == 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_embeddings_and_cuda_probe():
    z, y = separable(n=300)
    a = node_classification(z.cuda(), y.cuda(), "linear_probe", runs=2, **FAST)
    b = node_classification(z, y, "linear_probe", runs=2, device="cuda", **FAST)
    assert a.metrics["accuracy"] > 0.99 and b.metrics["accuracy"] > 0.99
    masks = tuple(m.cuda() for m in public_masks(300))
    c = node_classification(z.cuda(), y.cuda(), "public", masks=masks, runs=2,
                            device="cuda", **FAST)
    assert c.metrics["accuracy"] > 0.99
