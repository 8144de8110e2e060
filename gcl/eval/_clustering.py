r"""Node clustering on frozen embeddings: k-means, then ACC, NMI, ARI and macro-F1.

The clustering protocol of the deep graph clustering literature (DAEGC, SDCN,
...) and of graph contrastive papers that report clustering (MVGRL, HeCo,
...): run k-means with as many clusters as classes on the embeddings, then
compare the clusters with the classes. Clusters carry no class names, so
accuracy and macro-F1 first map each cluster to a class by the Hungarian
algorithm on the contingency matrix (:func:`match_clusters`).

The parts are public for methods that cluster during training: :func:`kmeans`
(e.g. to initialise DEC/SDCN/PamC cluster centres) and :func:`cluster_metrics`
(to score a given assignment, e.g. PamC's :math:`\arg\max_k q_{ik}` each
epoch, as SDCN's ``eva`` does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from gcl.eval._result import EvalResult
from gcl.eval._validation import (
    check_embeddings,
    check_labels,
    check_positive_int,
    check_runs,
)

__all__ = [
    "KMEANS_BACKENDS",
    "cluster_accuracy",
    "cluster_metrics",
    "clustering",
    "kmeans",
    "match_clusters",
]

#: k-means implementations: ``"auto"`` (faiss when importable, else
#: scikit-learn), ``"sklearn"`` and ``"faiss"``.
KMEANS_BACKENDS = ("auto", "sklearn", "faiss")
# Seeds each backend accepts: scikit-learn takes a uint32, faiss a C int.
_MAX_SEED = {"sklearn": 2**32 - 1, "faiss": 2**31 - 1}


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


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Class labels and cluster ids as arrays of one, non-zero length."""
    y_true, y_pred = _true_labels(y_true), _cluster_ids(y_pred)
    if y_true.size != y_pred.size:
        raise ValueError(
            f"y_true and y_pred must have the same length, got {y_true.size} "
            f"and {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("y_true and y_pred are empty")
    return y_true, y_pred


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

    y_true, y_pred = _check_pair(y_true, y_pred)
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


def _fill_missing_classes(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """SDCN's ``cluster_acc`` quirk: give the first nodes the absent class ids."""
    classes = np.unique(y_true - y_true.min())
    clusters = np.unique(y_pred)
    if classes.size == clusters.size:
        return y_pred
    missing = classes[~np.isin(classes, clusters)]
    out = y_pred.copy()
    out[:missing.size] = missing
    return out


def cluster_metrics(y_true: Any, y_pred: Any, *,
                    fill_missing: bool = False) -> dict[str, float]:
    r"""Scores a cluster assignment against class labels: ACC, NMI, ARI, macro-F1.

    The metrics of SDCN's ``eva`` (Bo et al., *Structural Deep Clustering
    Network*, WWW 2020, https://github.com/bdy9527/SDCN, ``evaluation.py``),
    which DAEGC, AGCN, DFCN, SCGC and PamC share, for an assignment that is
    given rather than computed (PamC predicts :math:`\hat y_i = \arg\max_k
    q_{ik}` every epoch):

    * **ACC**: accuracy after the best one-to-one map :math:`\sigma` of
      clusters to classes (Hungarian algorithm on the contingency matrix,
      :func:`match_clusters`), :math:`\frac{1}{N}\sum_i
      \mathbb{1}[y_i = \sigma(\hat y_i)]`;
    * **NMI**: ``normalized_mutual_info_score`` with arithmetic-mean
      normalisation, :math:`I(Y; \hat Y) / \tfrac12 (H(Y) + H(\hat Y))`;
    * **ARI**: ``adjusted_rand_score``;
    * **macro-F1**: ``f1_score(average="macro")`` of the mapped predictions
      :math:`\sigma(\hat y)`, over the true classes.

    NMI and ARI need no map and ignore label values. With as many clusters as
    classes this equals SDCN's ``eva`` (which solves the same assignment with
    ``munkres``; where several maps tie, ACC is the same and macro-F1 may
    differ). SDCN's ``eva`` fails with more clusters than classes; here the
    clusters left unmatched count as wrong. With fewer clusters than classes
    (a cluster emptied during training), SDCN first relabels the first nodes:
    each class id absent from ``y_pred`` (after shifting ``y_true`` to start
    at 0) is written over the prediction of one of the first nodes, in
    increasing order, and all four metrics see the relabelled predictions.
    ``fill_missing=True`` reproduces that; the default scores the assignment
    as given (the missing classes are simply never predicted).

    Args:
        y_true (array-like): Non-negative integer class labels ``[N]`` (tensor
            or array; whole-number floats are accepted).
        y_pred (array-like): Integer cluster ids ``[N]``; any values.
        fill_missing (bool, optional): Apply SDCN's relabelling when ``y_pred``
            has a different number of distinct values than ``y_true``.
            (default: :obj:`False`)

    Returns:
        dict[str, float]: ``{"acc", "nmi", "ari", "macro_f1"}``, each in
        :math:`[0, 1]` (ARI in :math:`[-1, 1]`).

    Raises:
        ValueError: For lengths that differ, empty or non-integer inputs, or
            negative labels.

    Example:
        >>> from gcl.eval import cluster_metrics
        >>> cluster_metrics([0, 0, 1, 1], [1, 1, 0, 0])["acc"]
        1.0
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    if fill_missing:
        y_pred = _fill_missing_classes(y_true, y_pred)
    return _cluster_metrics(y_true, y_pred)


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


def _faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _resolve_backend(backend: str) -> str:
    if backend not in KMEANS_BACKENDS:
        raise ValueError(f"backend must be one of {KMEANS_BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "faiss" if _faiss_available() else "sklearn"
    return backend


def _check_kmeans_args(n_init: Any, max_iter: Any, seed: Any,
                       backend: str) -> tuple[int, int, int]:
    n_init = check_positive_int(n_init, "n_init")
    max_iter = check_positive_int(max_iter, "max_iter")
    top = _MAX_SEED[backend]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed <= top:
        raise ValueError(f"seed must be an integer in 0..{top} for the {backend} "
                         f"backend, got {seed!r}")
    return n_init, max_iter, int(seed)


def _kmeans_sklearn(x: np.ndarray, k: int, n_init: int, max_iter: int,
                    random_state: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter,
                random_state=random_state).fit(x)
    return km.labels_.astype(np.int64), km.cluster_centers_


def _kmeans_faiss(x: np.ndarray, k: int, n_init: int, max_iter: int,
                  random_state: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        import faiss
    except ImportError as e:
        raise ImportError(
            "k-means with backend='faiss' needs faiss: pip install faiss-cpu "
            "(or pip install 'gcl-pyg[faiss]'); use backend='sklearn' otherwise"
        ) from e
    from sklearn.cluster import kmeans_plusplus

    x32 = np.ascontiguousarray(x, dtype=np.float32)
    n = x32.shape[0]
    # Restarts run here, each from scikit-learn's greedy k-means++ seeding drawn
    # from one RandomState, as KMeans draws them: faiss's own seeding (nredo)
    # samples the initial centres uniformly, which on well-separated data often
    # puts two of them in one cluster and keeps them there.
    rng = np.random.RandomState(random_state)
    norms = (x.astype(np.float64) ** 2).sum(1)
    best = None
    for _ in range(n_init):
        init, _ = kmeans_plusplus(x, k, x_squared_norms=norms.astype(x.dtype),
                                  random_state=rng)
        km = faiss.Kmeans(
            x32.shape[1], k, niter=max_iter, nredo=1, seed=random_state,
            verbose=False,
            # faiss trains on a random sample of 256 points per centroid by
            # default (silently): use every point, as scikit-learn does.
            max_points_per_centroid=n,
            # and it prints a warning below 39 points per centroid.
            min_points_per_centroid=1,
        )
        km.train(x32, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
        dist, assign = km.index.search(x32, 1)
        inertia = float(dist.astype(np.float64).sum())
        if best is None or inertia < best[0]:
            best = (inertia, assign.reshape(-1).astype(np.int64), km.centroids)
    return best[1], best[2]


def _kmeans_numpy(x: np.ndarray, k: int, n_init: int, max_iter: int, seed: int,
                  backend: str) -> tuple[np.ndarray, np.ndarray]:
    run = _kmeans_sklearn if backend == "sklearn" else _kmeans_faiss
    return run(x, k, n_init, max_iter, seed)


def kmeans(
    x: Tensor,
    n_clusters: int,
    n_init: int = 10,
    max_iter: int = 300,
    seed: int = 0,
    backend: str = "sklearn",
) -> tuple[Tensor, Tensor]:
    r"""k-means (Lloyd) on the rows of ``x``: cluster ids and centres.

    Minimises :math:`\sum_i \lVert x_i - \mu_{c_i} \rVert^2` over
    assignments :math:`c` and centres :math:`\mu_1, \dots, \mu_K` from
    ``n_init`` initialisations, keeping the run with the lowest objective.
    Methods use it to initialise cluster centres: DEC, SDCN and PamC run
    ``KMeans(n_clusters=K, n_init=20)`` on the pre-trained embeddings and
    copy ``cluster_centers_`` into their cluster layer, i.e.
    ``kmeans(z, K, n_init=20)``.

    Backends (the result is the same clustering on well-separated data; the
    centres may differ in the last digits and the cluster ids by a
    permutation):

    * ``"sklearn"``: ``sklearn.cluster.KMeans`` (k-means++ initialisation,
      stops early at its default tolerance); the default, as in SDCN.
    * ``"faiss"``: ``faiss.Kmeans`` (``pip install faiss-cpu`` or
      ``faiss-gpu``; imported lazily) for the Lloyd iterations, for large
      :math:`N`: each of the ``n_init`` restarts starts from scikit-learn's
      greedy k-means++ centres (``sklearn.cluster.kmeans_plusplus``, drawn in
      turn from one ``RandomState(seed)`` as ``KMeans`` draws them; faiss's
      own uniform seeding often leaves two centres in one of a few
      well-separated clusters), runs at most ``max_iter`` iterations
      (``niter``; recent faiss stops once the objective no longer changes,
      older versions run them all) in float32 on every row (faiss's default
      would subsample 256 rows per centroid), and the restart with the
      lowest inertia is kept. faiss's OpenMP threads compete with torch's on
      a busy CPU; ``faiss.omp_set_num_threads`` limits them.
    * ``"auto"``: faiss when it can be imported, else scikit-learn. Results
      then depend on what is installed, hence not the default.

    The same ``seed`` and backend give the same result on CPU.

    Args:
        x (torch.Tensor): Points ``[N, d]`` (tensor or array), finite.
        n_clusters (int): Number of clusters :math:`K`, at most :math:`N`.
        n_init (int, optional): Number of initialisations. (default: ``10``)
        max_iter (int, optional): Most iterations per initialisation.
            (default: ``300``)
        seed (int, optional): Random state (``0..2**32-1``; ``0..2**31-1``
            for faiss). (default: ``0``)
        backend (str, optional): ``"sklearn"``, ``"faiss"`` or ``"auto"``.
            (default: ``"sklearn"``)

    Returns:
        tuple[Tensor, Tensor]: Cluster ids ``[N]`` (long, in ``0..K-1``) and
        centres ``[K, d]`` (``x``'s floating dtype), on ``x``'s device.

    Raises:
        ValueError: For malformed or non-finite ``x``, ``n_clusters`` outside
            ``1..N``, non-positive ``n_init``/``max_iter``, a seed out of
            range or an unknown backend.
        ImportError: For ``backend="faiss"`` without faiss installed.

    Example:
        >>> import torch
        >>> from gcl.eval import kmeans
        >>> x = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
        >>> labels, centers = kmeans(x, 2, seed=0)
        >>> bool(labels[0] == labels[1]), bool(labels[0] != labels[2])
        (True, True)
    """
    backend = _resolve_backend(backend)
    n_init, max_iter, seed = _check_kmeans_args(n_init, max_iter, seed, backend)
    z = check_embeddings(x, "x")
    k = check_positive_int(n_clusters, "n_clusters")
    if k > z.size(0):
        raise ValueError(
            f"n_clusters={k} is larger than the number of points ({z.size(0)})")
    arr = z.cpu().numpy()
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    labels, centers = _kmeans_numpy(arr, k, n_init, max_iter, seed, backend)
    return (torch.from_numpy(np.ascontiguousarray(labels)).to(z.device),
            torch.from_numpy(np.ascontiguousarray(centers)).to(z.device, z.dtype))


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
    2. run k-means (:func:`kmeans`) with ``n_clusters`` clusters (default:
       the number of classes), ``n_init`` restarts (best inertia kept),
       ``random_state = seed + run``;
    3. score the clusters (:func:`cluster_metrics`): **ACC**
       (:func:`cluster_accuracy`, Hungarian matching; unmatched clusters
       count as wrong), **NMI** (``normalized_mutual_info_score``,
       arithmetic mean normalisation), **ARI** (``adjusted_rand_score``) and
       **macro-F1** of the matched predictions (``f1_score(average="macro")``
       over the true classes);
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
        backend (str, optional): ``"sklearn"`` (``sklearn.cluster.KMeans``),
            ``"faiss"`` (``faiss.Kmeans`` from k-means++ centres, imported
            lazily) or ``"auto"`` (faiss when installed); see :func:`kmeans`. The
            metric code is the same. (default: ``"sklearn"``)
        normalize (bool, optional): l2-normalise the embeddings first.
            (default: :obj:`False`)
        n_init (int, optional): k-means restarts per run. (default: ``10``)
        max_iter (int, optional): k-means iterations per restart.
            (default: ``300``)

    Returns:
        EvalResult: ``acc``, ``nmi``, ``ari``, ``macro_f1`` per run; details
        hold ``n_clusters``, ``num_classes``, the random states, the backend
        that ran (``"auto"`` resolved) and the options.

    Raises:
        ValueError: For malformed or non-finite ``z``, a length mismatch,
            ``n_clusters`` outside ``1..N``, ``runs < 1`` or an unknown backend.
        ImportError: For ``backend="faiss"`` without faiss installed.
    """
    backend = _resolve_backend(backend)
    runs = check_runs(runs, runs)
    n_init, max_iter, _ = _check_kmeans_args(n_init, max_iter, 0, backend)
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

    states = [int(seed) + r for r in range(int(runs))]
    _check_kmeans_args(n_init, max_iter, states[0], backend)
    _check_kmeans_args(n_init, max_iter, states[-1], backend)
    per_run = [_cluster_metrics(
        labels, _kmeans_numpy(x, int(k), n_init, max_iter, s, backend)[0])
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
