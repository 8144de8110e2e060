import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

from gcl.eval import EvalResult, cluster_accuracy, clustering, match_clusters


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
