import itertools
import math
import sys

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

import gcl.eval._clustering as clustering_mod
from gcl.eval import (
    KMEANS_BACKENDS,
    EvalResult,
    cluster_accuracy,
    cluster_metrics,
    clustering,
    kmeans,
    match_clusters,
)

try:
    import faiss
except ImportError:
    faiss = None

needs_faiss = pytest.mark.skipif(faiss is None, reason="faiss is not installed "
                                 "(pip install faiss-cpu)")


def blobs(n=300, c=3, d=8, seed=0, spread=20.0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % c
    centers = spread * torch.randn(c, d, generator=g)
    return centers[y] + torch.randn(n, d, generator=g), y


# ------------------------------------------------------------ hand-computed ACC


def test_permuted_clusters_have_accuracy_one():
    y = [0, 0, 1, 1, 2, 2]
    pred = [1, 1, 0, 0, 2, 2]
    assert cluster_accuracy(y, pred) == 1.0
    np.testing.assert_array_equal(match_clusters(y, pred), y)


def test_one_error_gives_five_sixths():
    y = [0, 0, 1, 1, 2, 2]
    pred = [1, 1, 0, 0, 2, 0]  # last node lands in the class-1 cluster
    assert cluster_accuracy(y, pred) == pytest.approx(5 / 6)
    np.testing.assert_array_equal(match_clusters(y, pred), [0, 0, 1, 1, 2, 1])


def test_more_clusters_than_classes_count_unmatched_as_wrong():
    y = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    pred = [5, 5, 7, 3, 3, 3, 4, 4, 4]  # cluster 7 splits off one class-0 node
    # contingency: 5->{0:2}, 7->{0:1}, 3->{1:3}, 4->{2:3}; best matching is
    # 5->0, 3->1, 4->2 (weight 8); cluster 7 stays unmatched.
    mapped = match_clusters(y, pred)
    np.testing.assert_array_equal(mapped, [0, 0, -1, 1, 1, 1, 2, 2, 2])
    assert cluster_accuracy(y, pred) == pytest.approx(8 / 9)


def test_fewer_clusters_than_classes():
    y = [0, 0, 1, 1, 2, 2]
    pred = [0, 0, 0, 0, 1, 1]
    # one of the classes 0/1 gets cluster 0 (2 hits), class 2 gets cluster 1.
    assert cluster_accuracy(y, pred) == pytest.approx(4 / 6)


def test_non_contiguous_labels_and_float_labels():
    y = np.array([3.0, 3.0, 7.0, 7.0])  # HeCo's labels.npy is float64
    pred = np.array([9, 9, 2, 2])
    np.testing.assert_array_equal(match_clusters(y, pred), [3, 3, 7, 7])


def test_match_clusters_errors():
    with pytest.raises(ValueError, match="same length"):
        match_clusters([0, 1], [0])
    with pytest.raises(ValueError, match="non-negative"):
        match_clusters([-1, 0], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        match_clusters([0.5, 1.0], [0, 1])


# ---------------------------------------------------------------- clustering()


def test_blobs_are_clustered_perfectly_and_metrics_match_sklearn():
    z, y = blobs()
    res = clustering(z, y, runs=2)
    assert isinstance(res, EvalResult)
    assert res.protocol == "kmeans"
    assert list(res.metrics) == ["acc", "nmi", "ari", "macro_f1"]
    for key in res.metrics:
        assert res.metrics[key] == pytest.approx(1.0)
    assert res.details["n_clusters"] == 3
    assert res.num_runs == 2


def test_permuted_labels_score_one():
    z, y = blobs(c=4)
    perm = torch.tensor([2, 0, 3, 1])
    a, b = clustering(z, y, runs=1), clustering(z, perm[y], runs=1)
    for key in ("acc", "nmi", "ari", "macro_f1"):
        assert a.metrics[key] == pytest.approx(1.0)
        assert b.metrics[key] == pytest.approx(1.0)


def test_noisy_metrics_equal_sklearn():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(200, 4, generator=g)
    y = torch.randint(0, 3, (200,), generator=g)
    from sklearn.cluster import KMeans

    res = clustering(z, y, runs=2, seed=5)
    for r, state in enumerate((5, 6)):
        pred = KMeans(3, n_init=10, random_state=state).fit_predict(z.numpy())
        run = res.per_split[r]
        assert run["nmi"] == pytest.approx(normalized_mutual_info_score(y, pred))
        assert run["ari"] == pytest.approx(adjusted_rand_score(y, pred))
        assert run["acc"] == pytest.approx(cluster_accuracy(y, pred))
        mapped = match_clusters(y, pred)
        assert run["macro_f1"] == pytest.approx(
            f1_score(y.numpy(), mapped, average="macro"))
    assert res.metrics["nmi"] == pytest.approx(np.mean(
        [r["nmi"] for r in res.per_split]))
    assert res.std["nmi"] == pytest.approx(np.std([r["nmi"] for r in res.per_split]))


def test_more_clusters_than_classes_in_clustering():
    z, y = blobs(c=3)
    res = clustering(z, y, n_clusters=4, runs=1)
    # one class is split in two clusters: ACC < 1 but every cluster is pure
    assert res.details["n_clusters"] == 4
    assert 0.5 < res.metrics["acc"] < 1.0
    assert 0.0 < res.metrics["macro_f1"] < 1.0


def test_seed_repeatability_and_normalize():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(150, 5, generator=g)
    y = torch.randint(0, 3, (150,), generator=g)
    a = clustering(z, y, runs=2, seed=3, n_init=2)
    b = clustering(z, y, runs=2, seed=3, n_init=2)
    assert a.per_split == b.per_split
    assert a.details["random_states"] == [3, 4]
    c = clustering(z, y, runs=1, normalize=True, n_init=2)
    assert c.details["normalize"] is True
    # l2-normalisation is scale-invariant per row
    d = clustering(z * torch.rand(150, 1, generator=g).add(0.5), y, runs=1,
                   normalize=True, n_init=2)
    assert c.per_split == d.per_split


def test_clustering_errors():
    z, y = blobs(n=30)
    with pytest.raises(ValueError, match="larger than the number of nodes"):
        clustering(z, y, n_clusters=31)
    bad = z.clone()
    bad[4, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        clustering(bad, y)
    with pytest.raises(ValueError, match="must match"):
        clustering(z, y[:-1])
    with pytest.raises(ValueError, match="backend"):
        clustering(z, y, backend="cuml")
    with pytest.raises(ValueError, match="runs"):
        clustering(z, y, runs=0)
    with pytest.raises(ValueError, match="2-D"):
        clustering(z[0], y)


def test_faiss_backend_missing_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    z, y = blobs(n=30)
    with pytest.raises(ImportError, match="faiss-cpu"):
        clustering(z, y, backend="faiss", runs=1)


# ------------------------------------------------------------ cluster_metrics()


def test_cluster_metrics_hand_computed():
    y = [0, 0, 0, 1, 1, 1]
    pred = [0, 0, 1, 1, 1, 1]
    # contingency (cluster x class): c0 -> {0: 2}, c1 -> {0: 1, 1: 3}; map c0->0,
    # c1->1: 5 of 6 right.
    # F1: class 0 P=2/2 R=2/3 -> 4/5; class 1 P=3/4 R=3/3 -> 6/7.
    # ARI: sum C(n_ij,2)=1+0+3=4, clusters C(2,2)+C(4,2)=7, classes 3+3=6,
    #      C(6,2)=15: (4 - 7*6/15) / ((7+6)/2 - 7*6/15) = 1.2/3.7 = 12/37.
    # NMI: I = 1/6 ln 2 + 1/2 ln 3/2, H(y) = ln 2, H(c) = 1/3 ln 3 + 2/3 ln 3/2.
    mi = math.log(2) / 6 + math.log(1.5) / 2
    h = (math.log(2) + math.log(3) / 3 + 2 * math.log(1.5) / 3) / 2
    out = cluster_metrics(y, pred)
    assert list(out) == ["acc", "nmi", "ari", "macro_f1"]
    assert out["acc"] == pytest.approx(5 / 6)
    assert out["macro_f1"] == pytest.approx((4 / 5 + 6 / 7) / 2)
    assert out["ari"] == pytest.approx(12 / 37)
    assert out["nmi"] == pytest.approx(mi / h)
    # cluster ids are names: renaming them changes nothing
    assert cluster_metrics(y, [7, 7, 3, 3, 3, 3]) == pytest.approx(out)
    # tensors, float labels and a fill that has nothing to fill give the same
    assert cluster_metrics(torch.tensor(y, dtype=torch.float64), torch.tensor(pred),
                           fill_missing=True) == pytest.approx(out)


def test_cluster_metrics_perfect_and_single_cluster():
    assert cluster_metrics([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(
        {"acc": 1.0, "nmi": 1.0, "ari": 1.0, "macro_f1": 1.0})
    # one cluster for two balanced classes: half right, nothing explained
    out = cluster_metrics([0, 0, 1, 1], [5, 5, 5, 5])
    assert out["acc"] == 0.5
    assert out["nmi"] == pytest.approx(0.0)
    assert out["ari"] == pytest.approx(0.0)
    assert out["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)  # P=1/2 R=1 -> 2/3


def test_fill_missing_reproduces_sdcn_relabelling():
    y = [0, 0, 1, 1, 2, 2]
    pred = [0, 0, 0, 0, 1, 1]  # class 2's id is never predicted
    plain = cluster_metrics(y, pred)
    assert plain["acc"] == pytest.approx(4 / 6)
    # SDCN writes the absent id 2 over the first prediction: [2, 0, 0, 0, 1, 1];
    # contingency c2 -> {0: 1}, c0 -> {0: 1, 1: 2}, c1 -> {2: 2}; map c2->0,
    # c0->1, c1->2: mapped [0, 1, 1, 1, 2, 2], 5 of 6 right.
    # F1: class 0 P=1 R=1/2 -> 2/3; class 1 P=2/3 R=1 -> 4/5; class 2 -> 1.
    # ARI: sum C(n_ij,2)=2, clusters 0+3+1=4, classes 1+1+1=3:
    #      (2 - 4*3/15) / (3.5 - 0.8) = 4/9.
    filled = cluster_metrics(y, pred, fill_missing=True)
    assert filled["acc"] == pytest.approx(5 / 6)
    assert filled["macro_f1"] == pytest.approx((2 / 3 + 4 / 5 + 1) / 3)
    assert filled["ari"] == pytest.approx(4 / 9)
    assert filled["nmi"] == pytest.approx(
        normalized_mutual_info_score(y, [2, 0, 0, 0, 1, 1]))
    # the ids compared are those of y shifted to start at 0 (Citeseer's 1..6)
    assert cluster_metrics([1, 1, 2, 2, 3, 3], pred, fill_missing=True) == \
        pytest.approx(filled)
    # the caller's array is left alone (SDCN's overwrote it)
    arr = np.array(pred)
    cluster_metrics(y, arr, fill_missing=True)
    assert arr.tolist() == pred


def _sdcn_eva_brute_force(y, pred):
    """SDCN's eva by brute force: relabel, then try every cluster->class map."""
    y = np.asarray(y) - np.min(y)
    pred = np.array(pred)
    classes, clusters = sorted(set(y.tolist())), sorted(set(pred.tolist()))
    if len(classes) != len(clusters):
        missing = [c for c in classes if c not in clusters]
        pred[:len(missing)] = missing
        clusters = sorted(set(pred.tolist()))
    best, f1s = -1, set()
    for perm in itertools.permutations(classes):
        mapped = np.array([dict(zip(clusters, perm))[p] for p in pred])
        hits = int((mapped == y).sum())
        f1 = round(f1_score(y, mapped, average="macro"), 12)
        if hits > best:
            best, f1s = hits, {f1}
        elif hits == best:
            f1s.add(f1)
    return best / y.size, f1s, pred


@pytest.mark.parametrize("seed", range(12))
def test_cluster_metrics_equal_sdcn_eva_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, c = 14, 4
    y = rng.integers(0, c, n) + (seed % 2)  # odd seeds: labels 1..4 like cite
    y[:c] = np.arange(c) + (seed % 2)  # every class present
    k = c if seed < 8 else c - 1  # some assignments lose a cluster
    pred = rng.integers(0, k, n)
    acc, f1s, relabelled = _sdcn_eva_brute_force(y, pred)
    out = cluster_metrics(y, pred, fill_missing=True)
    assert out["acc"] == pytest.approx(acc)
    assert round(out["macro_f1"], 12) in f1s  # one of the tied best maps
    assert out["nmi"] == pytest.approx(normalized_mutual_info_score(
        y, relabelled, average_method="arithmetic"))
    assert out["ari"] == pytest.approx(adjusted_rand_score(y, relabelled))
    if k == c:
        assert cluster_metrics(y, pred) == pytest.approx(out)


def test_cluster_metrics_errors():
    with pytest.raises(ValueError, match="same length"):
        cluster_metrics([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        cluster_metrics([], [])
    with pytest.raises(ValueError, match="non-negative"):
        cluster_metrics([-1, 0], [0, 1])
    with pytest.raises(ValueError, match="y_pred must be 1-D"):
        cluster_metrics([0, 1], [[0, 1]])


# --------------------------------------------------------------------- kmeans()


def test_kmeans_sklearn_is_sklearn_kmeans():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(120, 4, generator=g)
    labels, centers = kmeans(x, 4, n_init=3, max_iter=50, seed=7)
    ref = KMeans(4, n_init=3, max_iter=50, random_state=7).fit(x.numpy())
    assert labels.dtype == torch.long and labels.shape == (120,)
    assert labels.tolist() == ref.labels_.tolist()
    assert centers.dtype == torch.float32 and centers.shape == (4, 4)
    np.testing.assert_allclose(centers.numpy(), ref.cluster_centers_, rtol=1e-6)


def test_kmeans_dtype_device_and_array_input():
    z, y = blobs(n=90)
    labels, centers = kmeans(z.double(), 3)
    assert centers.dtype == torch.float64
    assert cluster_accuracy(y, labels) == 1.0
    # converged: every centre is the mean of its points
    for j in range(3):
        assert torch.allclose(centers[j], z.double()[labels == j].mean(0))
    labels_np, centers_np = kmeans(z.numpy(), 3)
    assert torch.equal(labels_np, kmeans(z, 3)[0])
    assert centers_np.device == z.device


def test_kmeans_errors():
    z, _ = blobs(n=30)
    with pytest.raises(ValueError, match="larger than the number of points"):
        kmeans(z, 31)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(z, 0)
    with pytest.raises(ValueError, match="n_init"):
        kmeans(z, 3, n_init=0)
    with pytest.raises(ValueError, match="max_iter"):
        kmeans(z, 3, max_iter=0)
    with pytest.raises(ValueError, match="seed"):
        kmeans(z, 3, seed=-1)
    with pytest.raises(ValueError, match="backend"):
        kmeans(z, 3, backend="cuml")
    bad = z.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        kmeans(bad, 3)
    assert KMEANS_BACKENDS == ("auto", "sklearn", "faiss")


def test_kmeans_faiss_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # as if not installed
    z, y = blobs(n=60)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        kmeans(z, 3, backend="faiss")
    # auto falls back to scikit-learn
    auto = kmeans(z, 3, seed=2, backend="auto")
    ref = kmeans(z, 3, seed=2, backend="sklearn")
    assert torch.equal(auto[0], ref[0]) and torch.equal(auto[1], ref[1])
    assert clustering(z, y, runs=1, backend="auto").details["backend"] == "sklearn"


@needs_faiss
def test_faiss_equals_sklearn_on_blobs():
    z, y = blobs(n=600, c=4, d=8, seed=4)
    sk_labels, sk_centers = kmeans(z, 4, seed=0, backend="sklearn")
    fa_labels, fa_centers = kmeans(z, 4, seed=0, backend="faiss")
    assert fa_labels.dtype == torch.long and fa_centers.dtype == torch.float32
    # the same partition, up to the names of the clusters
    assert cluster_accuracy(sk_labels, fa_labels) == 1.0
    assert cluster_accuracy(y, fa_labels) == 1.0
    perm = torch.as_tensor(match_clusters(sk_labels, fa_labels))
    # fa cluster j is sk cluster perm[labels == j]
    for j in range(4):
        (sk_j,) = perm[fa_labels == j].unique().tolist()
        assert torch.allclose(fa_centers[j], sk_centers[sk_j], atol=1e-4)
    res = clustering(z, y, runs=2, backend="faiss")
    assert res.details["backend"] == "faiss"
    for key in res.metrics:
        assert res.metrics[key] == pytest.approx(1.0)


@needs_faiss
def test_faiss_seed_repeatable():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(400, 6, generator=g)  # no cluster structure: seeds matter
    a = kmeans(x, 5, n_init=2, max_iter=20, seed=11, backend="faiss")
    b = kmeans(x, 5, n_init=2, max_iter=20, seed=11, backend="faiss")
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    others = [kmeans(x, 5, n_init=1, max_iter=20, seed=s, backend="faiss")[0]
              for s in (1, 2, 3)]
    assert any(cluster_accuracy(a[0], o) < 1.0 for o in others)
    y = torch.randint(0, 5, (400,), generator=g)
    r1 = clustering(x, y, runs=2, seed=3, backend="faiss", n_init=1)
    r2 = clustering(x, y, runs=2, seed=3, backend="faiss", n_init=1)
    assert r1.per_split == r2.per_split
    assert r1.details["random_states"] == [3, 4]


@needs_faiss
def test_faiss_honours_n_init_and_max_iter(monkeypatch):
    made, real = [], faiss.Kmeans

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(faiss, "Kmeans", spy)
    g = torch.Generator().manual_seed(6)
    x = torch.randn(300, 3, generator=g)
    labels, centers = kmeans(x, 4, n_init=3, max_iter=7, seed=1, backend="faiss")
    assert len(made) == 3  # one faiss run per restart
    for km in made:
        assert (km.cp.nredo, km.cp.niter) == (1, 7)
        assert len(km.obj) == 7  # one objective value per iteration

    def inertia(labels, centers):
        return float(((x - centers[labels]) ** 2).sum())

    # the restart with the lowest inertia is returned
    finals = []
    for km in made:
        dist, _ = km.index.search(x.numpy(), 1)
        finals.append(float(dist.sum()))
    assert inertia(labels, centers) == pytest.approx(min(finals), rel=1e-5)
    # more restarts never give a worse objective (restart 0 is the same)
    one = kmeans(x, 4, n_init=1, max_iter=7, seed=1, backend="faiss")
    many = kmeans(x, 4, n_init=8, max_iter=7, seed=1, backend="faiss")
    assert inertia(*many) <= inertia(*one) + 1e-4
    # one Lloyd iteration is not yet converged; seven improve on it
    first = kmeans(x, 4, n_init=1, max_iter=1, seed=1, backend="faiss")
    assert inertia(*one) < inertia(*first)


@needs_faiss
def test_faiss_trains_on_every_point_and_stays_quiet(capfd):
    # faiss's default subsamples 256 points per centroid (here 768 of 3000), so
    # its centres would not be the means of the clusters it returns.
    z, y = blobs(n=3000, c=3, d=4, seed=8, spread=10.0)
    labels, centers = kmeans(z, 3, n_init=1, max_iter=50, seed=0, backend="faiss")
    assert cluster_accuracy(y, labels) == 1.0
    for j in range(3):
        torch.testing.assert_close(centers[j], z[labels == j].mean(0),
                                   atol=1e-4, rtol=0)
    # and no "please provide at least 39*k training points" on stderr
    kmeans(z[:20], 3, n_init=1, max_iter=5, backend="faiss")
    out, err = capfd.readouterr()
    assert "WARNING" not in out + err


@needs_faiss
def test_faiss_seed_range():
    z, _ = blobs(n=30)
    kmeans(z, 3, seed=2**31 - 1, backend="faiss", n_init=1)
    with pytest.raises(ValueError, match=r"seed must be an integer in 0..2147483647"):
        kmeans(z, 3, seed=2**31, backend="faiss")
    kmeans(z, 3, seed=2**31, backend="sklearn", n_init=1)  # a uint32 is fine there
    with pytest.raises(ValueError, match="seed"):
        clustering(z, torch.arange(30) % 3, runs=2, seed=2**31 - 1, backend="faiss")


@needs_faiss
def test_auto_picks_faiss_when_installed(monkeypatch):
    z, y = blobs(n=90)
    auto = kmeans(z, 3, seed=4, backend="auto")
    ref = kmeans(z, 3, seed=4, backend="faiss")
    assert torch.equal(auto[0], ref[0]) and torch.equal(auto[1], ref[1])
    assert clustering(z, y, runs=1, backend="auto").details["backend"] == "faiss"
    calls = []
    monkeypatch.setattr(clustering_mod, "_kmeans_faiss",
                        lambda *a: calls.append(a) or ref_np(z))
    kmeans(z, 3, backend="auto")
    assert len(calls) == 1


def ref_np(z):
    labels, centers = kmeans(z, 3, backend="sklearn")
    return labels.numpy(), centers.numpy()
