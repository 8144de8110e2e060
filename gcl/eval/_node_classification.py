r"""The node-classification protocols of the homogeneous-graph papers:
``"grace"`` (:func:`grace_protocol`), ``"linear_probe"`` / ``"gca"``
(:func:`linear_probe_protocol`) and ``"public"`` / ``"wikics"``
(:func:`public_protocol`). :func:`~gcl.eval.node_classification` dispatches
to them by name (:mod:`gcl.eval._protocols` explains how they differ).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gcl.eval._linear_probe import train_linear_probe
from gcl.eval._metrics import classification_metrics
from gcl.eval._result import EvalResult
from gcl.eval._splits import get_masks, masks_to_splits, random_split
from gcl.eval._validation import check_inputs, check_runs

__all__ = [
    "grace_protocol",
    "linear_probe_protocol",
    "public_protocol",
]


def grace_protocol(
    z: Tensor,
    y: Tensor,
    *,
    runs: int | None = None,
    seed: int = 0,
    data: Any = None,
    train_ratio: float = 0.1,
    cv: int = 5,
    c_grid: Sequence[float] | None = None,
    n_jobs: int | None = 1,
) -> EvalResult:
    r"""GRACE's official evaluator (``label_classification`` in CRIPAC-DIG/GRACE).

    From "Deep Graph Contrastive Representation Learning" (Zhu et al., ICML
    2020 GRL+ workshop, https://arxiv.org/abs/2006.04131), as coded (the paper
    text describes a 10/10/80 split instead; see
    :func:`linear_probe_protocol` for that kind of protocol):

    1. l2-normalise the rows of :math:`Z`; one-hot encode the labels;
    2. split the nodes at random into ``train_ratio`` (10 %) train and the rest
       test with ``sklearn.model_selection.train_test_split`` (no
       stratification; ``ceil(0.9 N)`` test nodes, e.g. 270 / 2438 on Cora);
    3. fit ``OneVsRestClassifier(LogisticRegression(solver="liblinear"))`` in
       ``GridSearchCV`` over :math:`C \in \{2^{-10}, \dots, 2^{9}\}` with
       ``cv``-fold cross-validation (5, unshuffled folds, subset-accuracy
       score, as sklearn does for one-hot targets) on the **training nodes
       only**, then refit on all of them;
    4. predict probabilities on the test nodes, take the argmax, report
       accuracy (= micro-F1) and macro-F1;
    5. repeat ``runs`` times (3, the official ``@repeat(3)``) on fresh splits.

    Differences from the official code: its split RNG is numpy's *unseeded*
    global one, here each run's split comes from ``np.random.RandomState(seed)``
    (advanced from run to run), so results repeat; macro-F1 is averaged over
    the classes present in the test labels or predictions (sklearn's 1-D
    convention), which differs from the official one-hot computation only when
    a class is missing from the test part and never predicted. Data sets whose
    classes have very few nodes may have classes missing from the training part
    (no stratification, as in the official code).

    Args:
        z (torch.Tensor): Embeddings ``[N, d]``.
        y (torch.Tensor): Labels ``[N]``.
        runs (int, optional): Number of random splits. (default: ``3``)
        seed (int, optional): Seed of the split RNG. (default: ``0``)
        data (Any, optional): Ignored (accepted for a uniform call signature).
        train_ratio (float, optional): Training fraction. (default: ``0.1``)
        cv (int, optional): Cross-validation folds. (default: ``5``)
        c_grid (Sequence[float], optional): Values of C searched.
            (default: ``2.0 ** np.arange(-10, 10)``)
        n_jobs (int, optional): ``GridSearchCV`` workers; the official code uses
            8, but on small training parts process start-up dominates, so 1 is
            usually fastest. (default: ``1``)

    Returns:
        EvalResult: ``accuracy``, ``micro_f1``, ``macro_f1`` per split; details
        hold the split sizes and the C chosen in each run.
    """
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GridSearchCV, train_test_split
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import normalize
    except ImportError as e:  # pragma: no cover
        raise ImportError("the 'grace' protocol needs scikit-learn: "
                          "pip install scikit-learn") from e

    z, y, num_classes = check_inputs(z, y)
    runs = check_runs(runs, 3)
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"train_ratio must be in (0, 1), got {train_ratio}")
    n = z.size(0)
    n_train = n - math.ceil((1.0 - train_ratio) * n)
    if n_train < cv:
        raise ValueError(
            f"{n} nodes with train_ratio={train_ratio} give {n_train} training "
            f"nodes, fewer than the cv={cv} folds")
    grid = (2.0 ** np.arange(-10, 10)) if c_grid is None else np.asarray(c_grid)

    x = normalize(z.numpy(), norm="l2")
    labels = y.numpy()
    classes = np.unique(labels)
    onehot = labels[:, None] == classes[None, :]
    rng = np.random.RandomState(seed)
    per_split, chosen_c, sizes = [], [], []
    for _ in range(runs):
        train_idx, test_idx = train_test_split(
            np.arange(n), test_size=1.0 - train_ratio, random_state=rng)
        clf = GridSearchCV(
            OneVsRestClassifier(LogisticRegression(solver="liblinear",
                                                   random_state=0)),
            param_grid={"estimator__C": grid}, cv=cv, n_jobs=n_jobs)
        with warnings.catch_warnings():
            # A class absent from a CV fold's training part: OvR then predicts
            # it constantly, as in the official code.
            warnings.filterwarnings("ignore", message=".*present in all training")
            clf.fit(x[train_idx], onehot[train_idx])
        pred = classes[clf.predict_proba(x[test_idx]).argmax(1)]
        per_split.append(classification_metrics(
            torch.from_numpy(labels[test_idx]), torch.from_numpy(pred),
            num_classes))
        chosen_c.append(float(clf.best_params_["estimator__C"]))
        sizes.append((len(train_idx), len(test_idx)))
    details = {
        "train_size": sizes[0][0],
        "test_size": sizes[0][1],
        "num_classes": num_classes,
        "C": chosen_c,
        "cv": cv,
        "c_grid": [float(c) for c in grid],
        "normalize": "l2",
        "seed": seed,
        "selection": f"{cv}-fold CV on the training part",
    }
    return EvalResult.from_runs("grace", per_split, details)


def _fit_probe(z: Tensor, y: Tensor, splits: Sequence[tuple[Tensor, Tensor, Tensor]],
               num_classes: int, gen: torch.Generator,
               split_details: dict[str, Any], *,
               epochs: int, lr: float, weight_decay: float, eval_every: int,
               select: str, device: torch.device | str, num_threads: int | None,
               seed: int) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """The linear probe of :func:`linear_probe_protocol` and
    :func:`public_protocol` on ``splits``: its per-split test metrics and the
    result details (the sizes of the first split, the class count, the best
    epochs and validation scores, then ``split_details``, then the probe's
    settings).
    """
    res = train_linear_probe(
        z, y, splits, num_classes=num_classes, epochs=epochs, lr=lr,
        weight_decay=weight_decay, eval_every=eval_every, select=select,
        generator=gen, device=device, num_threads=num_threads)
    tr, va, te = splits[0]
    details = {
        "train_size": int(tr.numel()),
        "val_size": int(va.numel()),
        "test_size": int(te.numel()),
        "num_classes": num_classes,
        "best_epoch": res.best_epoch,
        "best_val": res.best_val,
        **split_details,
        "epochs": epochs,
        "lr": lr,
        "weight_decay": weight_decay,
        "eval_every": eval_every,
        "selection": f"best validation {select}",
        "seed": seed,
    }
    return res.metrics, details


def linear_probe_protocol(
    z: Tensor,
    y: Tensor,
    *,
    runs: int | None = None,
    seed: int = 0,
    data: Any = None,
    train: float = 0.1,
    val: float = 0.1,
    epochs: int = 3000,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    eval_every: int = 20,
    select: str = "accuracy",
    device: torch.device | str = "cpu",
    num_threads: int | None = 1,
) -> EvalResult:
    r"""The GCA-family linear probe on random 10 %/10 %/80 % splits.

    The evaluator of GCA ("Graph Contrastive Learning with Adaptive
    Augmentation", Zhu et al., WWW 2021, https://arxiv.org/abs/2010.14945,
    ``log_regression`` with ``split="rand:0.1"``), which CSGCL, gCooL and POT
    inherit for their random-split data sets (Amazon, Coauthor, BlogCatalog,
    Flickr): each run draws a fresh :func:`~gcl.eval.random_split` of the
    nodes (``int(0.1 N)`` train, ``int(0.1 N)`` val, the rest test), trains a
    Xavier-initialised ``Linear`` classifier with Adam (lr 0.01, no weight
    decay) and full-batch cross-entropy for 3000 epochs, evaluates every 20
    epochs and reports the test accuracy, micro-F1 and macro-F1 at the best
    validation accuracy (first on ties). Embeddings are used as given (no
    normalisation), as in GCA. See :func:`~gcl.eval.train_linear_probe` for the
    code-base differences (gCooL's weight decay and epochs can be set here; its
    max-over-test reporting is not offered).

    Compared with ``"grace"``, there is no C search: regularisation comes only
    from selecting the epoch on the validation part, and the test part is 80 %
    rather than 90 % of the nodes.

    Splits and initial weights come from one ``torch.Generator`` seeded with
    ``seed``, so results repeat exactly (the official code uses the global RNG).

    Args:
        z (torch.Tensor): Embeddings ``[N, d]``.
        y (torch.Tensor): Labels ``[N]``.
        runs (int, optional): Number of random splits. (default: ``10``)
        seed (int, optional): Seed. (default: ``0``)
        data (Any, optional): Ignored (accepted for a uniform call signature).
        train (float, optional): Training fraction. (default: ``0.1``)
        val (float, optional): Validation fraction. (default: ``0.1``)
        epochs (int, optional): Probe epochs. (default: ``3000``)
        lr (float, optional): Adam learning rate. (default: ``0.01``)
        weight_decay (float, optional): Adam weight decay. (default: ``0.0``)
        eval_every (int, optional): Evaluation period. (default: ``20``)
        select (str, optional): Validation metric for selection.
            (default: ``"accuracy"``)
        device (torch.device or str, optional): Where the probe trains.
            (default: ``"cpu"``)
        num_threads (int, optional): CPU threads for the probe, see
            :func:`~gcl.eval.train_linear_probe`. (default: ``1``)

    Returns:
        EvalResult: Test ``accuracy``, ``micro_f1``, ``macro_f1`` per split.
    """
    z, y, num_classes = check_inputs(z, y)
    runs = check_runs(runs, 10)
    gen = torch.Generator().manual_seed(seed)
    splits = [random_split(z.size(0), train, val, generator=gen)
              for _ in range(runs)]
    if any(va.numel() == 0 for _, va, _ in splits):
        raise ValueError(f"val={val} leaves no validation nodes; the probe "
                         f"selects its epoch on them")
    metrics, details = _fit_probe(
        z, y, splits, num_classes, gen, {"split": f"random {train}/{val}/rest"},
        epochs=epochs, lr=lr, weight_decay=weight_decay, eval_every=eval_every,
        select=select, device=device, num_threads=num_threads, seed=seed)
    return EvalResult.from_runs("linear_probe", metrics, details)


def public_protocol(
    z: Tensor,
    y: Tensor,
    *,
    runs: int | None = None,
    seed: int = 0,
    data: Any = None,
    masks: Sequence[Tensor] | None = None,
    epochs: int = 3000,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    eval_every: int = 20,
    select: str = "accuracy",
    device: torch.device | str = "cpu",
    num_threads: int | None = 1,
) -> EvalResult:
    r"""The linear probe on given (public) train/val/test masks.

    - **1-D masks** (the Planetoid public split of Cora, CiteSeer, PubMed: 20
      labelled nodes per class, 500 val, 1000 test), as used by POT ("Provable
      Training for Graph Contrastive Learning", Yu et al., NeurIPS 2023,
      https://arxiv.org/abs/2309.13944): the split is fixed, so the ``runs``
      (default 10) differ only in the probe's initial weights.
    - **2-D masks** ``[N, S]`` (WikiCS's 20 public train/val splits with one
      test mask), as used by GCA and CSGCL: one run per split column (times
      ``runs``, default 1), averaged.

    The probe is the one of :func:`linear_probe_protocol` (Adam, 3000 epochs,
    test score at the best validation epoch). Public-split numbers are lower
    than random-split ones (far fewer training labels) and are not comparable
    with ``"grace"`` or ``"linear_probe"``. POT's code swaps the val and test
    masks on Planetoid (see the reference notes); pass
    ``masks=(train, test, val)`` to reproduce that.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]``.
        y (torch.Tensor): Labels ``[N]``.
        runs (int, optional): Probe trainings per split column.
            (default: ``10`` for 1-D masks, ``1`` for 2-D masks)
        seed (int, optional): Seed of the initial weights. (default: ``0``)
        data (torch_geometric.data.Data, optional): Graph with ``train_mask``,
            ``val_mask`` and ``test_mask``. (default: :obj:`None`)
        masks (Sequence[Tensor], optional): ``(train_mask, val_mask,
            test_mask)``, boolean ``[N]`` or ``[N, S]``; takes precedence over
            ``data``. (default: :obj:`None`)
        epochs (int, optional): Probe epochs. (default: ``3000``)
        lr (float, optional): Adam learning rate. (default: ``0.01``)
        weight_decay (float, optional): Adam weight decay. (default: ``0.0``)
        eval_every (int, optional): Evaluation period. (default: ``20``)
        select (str, optional): Validation metric for selection.
            (default: ``"accuracy"``)
        device (torch.device or str, optional): Where the probe trains.
            (default: ``"cpu"``)
        num_threads (int, optional): CPU threads for the probe, see
            :func:`~gcl.eval.train_linear_probe`. (default: ``1``)

    Returns:
        EvalResult: Test ``accuracy``, ``micro_f1``, ``macro_f1`` per run.
    """
    z, y, num_classes = check_inputs(z, y)
    if masks is None:
        if data is None:
            raise ValueError(
                "the 'public' protocol needs the split: pass data= (a graph with "
                "train_mask/val_mask/test_mask) or masks=(train, val, test)")
        masks = get_masks(data)
    if len(masks) != 3:
        raise ValueError(
            f"masks must be (train_mask, val_mask, test_mask), got {len(masks)} "
            f"items")
    for m, name in zip(masks, ("train_mask", "val_mask", "test_mask")):
        if m is not None and torch.as_tensor(m).size(0) != z.size(0):
            raise ValueError(
                f"{name} has {torch.as_tensor(m).size(0)} entries but z has "
                f"{z.size(0)} rows")
    columns = masks_to_splits(*masks)
    runs = check_runs(runs, 10 if len(columns) == 1 else 1)
    splits = [s for s in columns for _ in range(runs)]
    gen = torch.Generator().manual_seed(seed)
    metrics, details = _fit_probe(
        z, y, splits, num_classes, gen,
        {"num_splits": len(columns), "runs_per_split": runs},
        epochs=epochs, lr=lr, weight_decay=weight_decay, eval_every=eval_every,
        select=select, device=device, num_threads=num_threads, seed=seed)
    if len(columns) > 1:
        details["train_size"] = [int(s[0].numel()) for s in columns]
        details["val_size"] = [int(s[1].numel()) for s in columns]
        details["test_size"] = [int(s[2].numel()) for s in columns]
    return EvalResult.from_runs("public", metrics, details)
