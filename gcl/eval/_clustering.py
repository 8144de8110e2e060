r"""Node clustering on frozen embeddings: k-means, then ACC, NMI, ARI and macro-F1.

The clustering protocol of the deep graph clustering literature (DAEGC, SDCN,
...) and of graph contrastive papers that report clustering (MVGRL, HeCo,
...): run k-means with as many clusters as classes on the embeddings, then
compare the clusters with the classes. Clusters carry no class names, so
accuracy and macro-F1 first map each cluster to a class by the Hungarian
algorithm on the contingency matrix (:func:`match_clusters`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor

from gcl.eval._result import EvalResult
from gcl.eval._validation import (
    check_embeddings,
    check_labels,
    check_positive_int,
    check_runs,
)

__all__ = ["clustering", "cluster_accuracy", "match_clusters"]

_BACKENDS = ("sklearn", "faiss")


def _cluster_ids(y_pred: Any) -> np.ndarray:
    """Predicted cluster ids ``[N]`` as int64 (any integer values)."""
    return check_labels(y_pred, None, min_classes=0, allow_integral_float=True,
                        name="y_pred", allow_negative=True).numpy()


def _true_labels(y_true: Any) -> np.ndarray:
    """Class labels ``[N]`` as int64: non-negative, any values."""
    return check_labels(y_true, None, min_classes=0, allow_integral_float=True,
                        name="y_true",
                        negative_hint="-1 marks unmatched clusters").numpy()


def _contingency(y_true: np.ndarray, y_pred: np.ndarray):
    """Contingency matrix ``[num_clusters, num_classes]`` and the label values."""
    classes, t = np.unique(y_true, return_inverse=True)
    clusters, p = np.unique(y_pred, return_inverse=True)
    counts = np.bincount(p * classes.size + t, minlength=clusters.size * classes.size)
    return counts.reshape(clusters.size, classes.size), classes, clusters, p


def match_clusters(y_true: Any, y_pred: Any) -> np.ndarray:
    r"""Maps each predicted cluster to a class by maximum-weight matching.

    Builds the contingency matrix :math:`M_{pc}` = number of nodes in cluster
    :math:`p` with class :math:`c` and solves the assignment problem
    :math:`\max_\sigma \sum_p M_{p\sigma(p)}` over one-to-one maps from
    clusters to classes with ``scipy.optimize.linear_sum_assignment`` (the
    Hungarian algorithm, as ``cluster_acc`` in DAEGC/SDCN uses ``munkres``).
    The matrix may be rectangular: with more clusters than classes, the
    clusters left unmatched are mapped to ``-1``, so their nodes count as
    wrong; with fewer clusters than classes, some classes are never predicted.

    Args:
        y_true (array-like): Non-negative integer class labels ``[N]``.
        y_pred (array-like): Integer cluster ids ``[N]`` (any values).

    Returns:
        numpy.ndarray: ``[N]`` int64 predictions in the label space of
        ``y_true`` (``-1`` for unmatched clusters).
    """
    from scipy.optimize import linear_sum_assignment

    y_true = _true_labels(y_true)
    y_pred = _cluster_ids(y_pred)
    if y_true.size != y_pred.size:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {y_true.size} "
            f"and {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("y_true and y_pred are empty")
    m, classes, clusters, p = _contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(m, maximize=True)
    mapping = np.full(clusters.size, -1, dtype=np.int64)
    mapping[rows] = classes[cols]
    return mapping[p]


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    r"""Clustering accuracy (ACC) under the best one-to-one cluster-class map.

    .. math::
        \mathrm{ACC} = \max_\sigma \frac{1}{N} \sum_i
        \mathbb{1}[y_i = \sigma(\hat y_i)]

    with :math:`\sigma` found by :func:`match_clusters`; nodes of unmatched
    clusters (more clusters than classes) count as errors.

    Args:
        y_true (array-like): Class labels ``[N]``.
        y_pred (array-like): Cluster ids ``[N]``.

    Returns:
        float: ACC in :math:`[0, 1]`.
    """
    y_true = _true_labels(y_true)
    return float(np.mean(match_clusters(y_true, y_pred) == y_true))


def _cluster_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        adjusted_rand_score,
        f1_score,
        normalized_mutual_info_score,
    )

    mapped = match_clusters(y_true, y_pred)
    classes = np.unique(y_true)
    return {
        "acc": float(np.mean(mapped == y_true)),
        "nmi": float(normalized_mutual_info_score(
            y_true, y_pred, average_method="arithmetic")),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
        # Averaged over the true classes: unmatched clusters (-1) only add
        # false negatives, not a class of their own.
        "macro_f1": float(f1_score(y_true, mapped, labels=classes,
                                   average="macro", zero_division=0)),
    }


def _kmeans_sklearn(x: np.ndarray, k: int, n_init: int, max_iter: int,
                    random_state: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter,
                random_state=random_state)
    return km.fit_predict(x)


def _kmeans_faiss(x: np.ndarray, k: int, n_init: int, max_iter: int,
                  random_state: int) -> np.ndarray:
    try:
        import faiss
    except ImportError as e:
        raise ImportError(
            "clustering(backend='faiss') needs faiss: pip install faiss-cpu (or "
            "faiss-gpu); use backend='sklearn' otherwise") from e
    x = np.ascontiguousarray(x, dtype=np.float32)
    km = faiss.Kmeans(x.shape[1], k, niter=max_iter, nredo=n_init,
                      seed=int(random_state), verbose=False)
    km.train(x)
    _, assign = km.index.search(x, 1)
    return assign.reshape(-1).astype(np.int64)


def clustering(
    z: Tensor,
    y: Tensor,
    n_clusters: int | None = None,
    runs: int = 10,
    seed: int = 0,
    backend: str = "sklearn",
    *,
    normalize: bool = False,
    n_init: int = 10,
    max_iter: int = 300,
) -> EvalResult:
    r"""k-means clustering of frozen embeddings, scored against the classes.

    The protocol (``"kmeans"``) of deep graph clustering (DAEGC, Wang et al.,
    IJCAI 2019; SDCN, Bo et al., WWW 2020) as used for contrastive embeddings
    by, e.g., MVGRL (Hassani and Khasahmadi, ICML 2020) and HeCo (Wang et
    al., KDD 2021), which report NMI and ARI:

    1. optionally l2-normalise the rows of :math:`Z`;
    2. run k-means with ``n_clusters`` clusters (default: the number of
       classes), ``n_init`` restarts (best inertia kept), ``random_state =
       seed + run``;
    3. score the clusters: **ACC** (:func:`cluster_accuracy`, Hungarian
       matching; unmatched clusters count as wrong), **NMI**
       (``normalized_mutual_info_score``, arithmetic mean normalisation),
       **ARI** (``adjusted_rand_score``) and **macro-F1** of the matched
       predictions (``f1_score(average="macro")`` over the true classes);
    4. repeat ``runs`` times; report mean and (``ddof=0``) std.

    Papers differ in the number of repetitions (HeCo: 10 runs, SDCN: 10) and
    some report the best run; this function reports the mean.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]`` (tensor or array), finite.
        y (torch.Tensor): Integer class labels ``[N]``, any non-negative values.
        n_clusters (int, optional): Number of clusters :math:`K`, at most
            :math:`N`. (default: number of distinct labels)
        runs (int, optional): Number of k-means runs. (default: ``10``)
        seed (int, optional): Run ``r`` uses ``random_state = seed + r``.
            (default: ``0``)
        backend (str, optional): ``"sklearn"`` (``sklearn.cluster.KMeans``) or
            ``"faiss"`` (``faiss.Kmeans``, imported lazily; ``nredo=n_init``).
            The metric code is the same. (default: ``"sklearn"``)
        normalize (bool, optional): l2-normalise the embeddings first.
            (default: :obj:`False`)
        n_init (int, optional): k-means restarts per run. (default: ``10``)
        max_iter (int, optional): k-means iterations per restart.
            (default: ``300``)

    Returns:
        EvalResult: ``acc``, ``nmi``, ``ari``, ``macro_f1`` per run; details
        hold ``n_clusters``, ``num_classes``, the random states and options.

    Raises:
        ValueError: For malformed or non-finite ``z``, a length mismatch,
            ``n_clusters`` outside ``1..N``, ``runs < 1`` or an unknown backend.
        ImportError: For ``backend="faiss"`` without faiss installed.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    runs = check_runs(runs, runs)
    if n_init < 1 or max_iter < 1:
        raise ValueError(f"n_init and max_iter must be >= 1, got {n_init}, {max_iter}")
    x = check_embeddings(z).cpu().numpy()
    labels = check_labels(y, x.shape[0], min_classes=1,
                          allow_integral_float=True).numpy()
    num_classes = int(np.unique(labels).size)
    k = num_classes if n_clusters is None else n_clusters
    k = check_positive_int(k, "n_clusters")
    if k > x.shape[0]:
        raise ValueError(
            f"n_clusters={k} is larger than the number of nodes ({x.shape[0]})")
    x = x.astype(np.float32 if x.dtype == np.float32 else np.float64, copy=True)
    if normalize:
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    kmeans = _kmeans_sklearn if backend == "sklearn" else _kmeans_faiss
    states = [int(seed) + r for r in range(int(runs))]
    per_run = [_cluster_metrics(labels, kmeans(x, int(k), n_init, max_iter, s))
               for s in states]
    details = {
        "n_clusters": int(k),
        "num_classes": num_classes,
        "num_nodes": int(x.shape[0]),
        "backend": backend,
        "normalize": bool(normalize),
        "n_init": n_init,
        "max_iter": max_iter,
        "random_states": states,
        "seed": seed,
    }
    return EvalResult.from_runs("kmeans", per_run, details)
