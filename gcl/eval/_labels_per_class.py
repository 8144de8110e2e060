r"""HeCo's node-classification protocol: 20/40/60 labelled nodes per class.

From "Self-supervised Heterogeneous Graph Neural Network with Co-contrastive
Learning" (Wang et al., KDD 2021, https://arxiv.org/abs/2105.09111), and used
by the heterogeneous contrastive methods that compare with it on ACM, DBLP,
AMiner, Freebase (and MEOW's IMDB): a logistic-regression probe is
trained on :math:`k \in \{20, 40, 60\}` labelled target nodes per class,
selected on 1000 validation nodes and scored on 1000 test nodes by Macro-F1,
Micro-F1 and AUC. HeCo ships the splits as ``{train,val,test}_{k}.npy``
(:func:`load_heco_splits`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.eval._linear_probe import LinearProbe
from gcl.eval._metrics import batched_classification_metrics
from gcl.eval._result import EvalResult
from gcl.eval._validation import check_inputs, check_runs

__all__ = ["heco_protocol", "labels_per_class", "load_heco_splits", "ovr_auc"]

Split = tuple[Tensor, Tensor, Tensor]


def load_heco_splits(
    folder: str | Path, shots: Sequence[int] = (20, 40, 60)
) -> dict[int, Split]:
    r"""Reads HeCo's fixed splits ``train_{k}.npy``, ``val_{k}.npy``, ``test_{k}.npy``.

    Args:
        folder (str or Path): A HeCo data folder, e.g. ``shared/data/heco/acm``.
        shots (Sequence[int], optional): Labelled nodes per class :math:`k`.
            (default: ``(20, 40, 60)``)

    Returns:
        dict[int, tuple[Tensor, Tensor, Tensor]]: ``{k: (train_idx, val_idx,
        test_idx)}`` as int64 tensors (on ACM: 60/1000/1000 for ``k = 20``).
    """
    folder = Path(folder)
    out = {}
    for k in shots:
        parts = []
        for part in ("train", "val", "test"):
            path = folder / f"{part}_{int(k)}.npy"
            if not path.is_file():
                raise FileNotFoundError(
                    f"no HeCo split file {path}; a HeCo data folder holds "
                    f"train_k.npy, val_k.npy and test_k.npy for k in 20, 40, 60")
            idx = np.load(path)
            if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"{path} must hold a 1-D integer index array, got "
                                 f"{idx.dtype} with shape {idx.shape}")
            parts.append(torch.from_numpy(idx.astype(np.int64)))
        out[int(k)] = tuple(parts)
    return out


def ovr_auc(y_true: Any, proba: Any) -> float:
    r"""One-vs-rest macro ROC-AUC of class probabilities.

    Equals ``sklearn.metrics.roc_auc_score(y_true, proba, multi_class="ovr")``
    (macro average) as used by HeCo, computed for all classes at once with
    the Mann-Whitney statistic (ties count one half):
    :math:`\mathrm{AUC}_c = (R_c - P_c (P_c + 1) / 2) / (P_c N_c)`, with
    :math:`R_c` the sum of the ranks of the :math:`P_c` positives of class
    :math:`c` among all scores ``proba[:, c]`` and :math:`N_c` the number of
    negatives. Unlike sklearn it also accepts two classes (where it gives the
    binary AUC) and classes absent from ``y_true`` (left out of the mean).

    Args:
        y_true (array-like): Integer labels ``[n]`` in ``0..C-1``.
        proba (array-like): Scores ``[n, C]``; column ``c`` scores class ``c``.

    Returns:
        float: Mean AUC over the classes with at least one positive and one
        negative among ``y_true``.
    """
    from scipy.stats import rankdata

    y = np.asarray(y_true.cpu() if isinstance(y_true, Tensor) else y_true)
    p = np.asarray(proba.detach().cpu() if isinstance(proba, Tensor) else proba,
                   dtype=np.float64)
    if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0]:
        raise ValueError(f"need y_true [n] and proba [n, C], got {y.shape} and "
                         f"{p.shape}")
    if y.size and (y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"y_true must be in 0..{p.shape[1] - 1}")
    pos = y[:, None] == np.arange(p.shape[1])[None, :]  # [n, C]
    n_pos = pos.sum(0)
    n_neg = y.size - n_pos
    valid = (n_pos > 0) & (n_neg > 0)
    if not valid.any():
        raise ValueError("AUC needs at least two classes in y_true")
    ranks = rankdata(p, axis=0)  # average ranks of ties, per column
    rank_sum = (ranks * pos).sum(0)
    auc = (rank_sum[valid] - n_pos[valid] * (n_pos[valid] + 1) / 2) / (
        n_pos[valid] * n_neg[valid])
    return float(auc.mean())


def _draw_split(y: Tensor, k: int, c: int, val_size: int, test_size: int,
                gen: torch.Generator) -> Split:
    """Draws k random nodes per class for training, then random disjoint val/test."""
    n = y.numel()
    perm = torch.randperm(n, generator=gen)
    order = torch.sort(y[perm], stable=True).indices
    nodes = perm[order]  # grouped by class, random within each class
    counts = torch.bincount(y, minlength=c)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - start[y[nodes]]
    is_train = rank < k
    train = nodes[is_train]
    rest = nodes[~is_train]
    rest = rest[torch.randperm(rest.numel(), generator=gen)]
    return train, rest[:val_size], rest[val_size:val_size + test_size]


def _check_split(split: Any, k: int, n: int) -> Split:
    if not isinstance(split, (tuple, list)) or len(split) != 3:
        raise ValueError(f"splits[{k}] must be (train_idx, val_idx, test_idx)")
    parts = []
    for name, idx in zip(("train", "val", "test"), split):
        idx = torch.as_tensor(np.asarray(idx) if not isinstance(idx, Tensor) else idx)
        idx = idx.detach().cpu().view(-1)
        if idx.is_floating_point() or idx.numel() == 0:
            raise ValueError(f"splits[{k}] {name} indices must be a non-empty "
                             f"integer array")
        idx = idx.long()
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"splits[{k}] {name} indices are outside 0..{n - 1}")
        parts.append(idx)
    return tuple(parts)


def _heco_probe(z: Tensor, y: Tensor, splits: Sequence[Split], c: int, epochs: int,
                lr: float, weight_decay: float, gen: torch.Generator,
                device: torch.device | str
                ) -> tuple[list[dict[str, float]], list[float]]:
    """HeCo's ``evaluate`` for R runs at once (splits of equal part sizes):
    each run's test scores, and the best validation macro-F1 of each run
    (the score its macro-F1 epoch was selected on).
    """
    r = len(splits)
    tr = torch.stack([s[0] for s in splits]).to(device)  # [R, L]
    va = torch.stack([s[1] for s in splits]).to(device)  # [R, V]
    te = torch.stack([s[2] for s in splits]).to(device)  # [R, T]
    z, y = z.to(device), y.to(device)
    x_tr, y_tr = z[tr], y[tr]
    x_ev = torch.cat([z[va], z[te]], dim=1)  # [R, V + T, d]
    y_va, y_te = y[va], y[te]
    n_val = va.size(1)

    # Xavier-uniform weights, zero bias: HeCo's (DGI's) LogReg.
    probe = LinearProbe(z.size(1), c, num_models=r, generator=gen).to(device)
    opt = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    neg = torch.full((r,), -1.0, dtype=torch.float64, device=device)
    best = {"macro": neg.clone(), "micro": neg.clone()}
    test_at = {"macro": torch.zeros_like(neg), "micro": torch.zeros_like(neg)}
    proba_at = torch.zeros(r, te.size(1), c, device=device)
    for _ in range(epochs):
        opt.zero_grad()
        logits = probe(x_tr)  # [R, L, C]
        # Sum over runs of each run's mean cross-entropy: runs stay independent.
        loss = F.cross_entropy(logits.reshape(-1, c), y_tr.reshape(-1),
                               reduction="sum") / tr.size(1)
        loss.backward()
        opt.step()
        with torch.no_grad():
            out = probe(x_ev)
            pred = out.argmax(-1)
            val = batched_classification_metrics(y_va, pred[:, :n_val], num_classes=c)
            test = batched_classification_metrics(y_te, pred[:, n_val:],
                                                  num_classes=c)
            for name in ("macro", "micro"):
                better = val[f"{name}_f1"] > best[name]  # first maximum wins
                best[name] = torch.where(better, val[f"{name}_f1"], best[name])
                test_at[name] = torch.where(better, test[f"{name}_f1"], test_at[name])
                if name == "micro":  # HeCo's AUC uses the best-micro epoch
                    proba_at[better] = torch.softmax(out[better, n_val:], -1)
    y_te, proba_at = y_te.cpu(), proba_at.cpu()
    return ([{"macro_f1": float(test_at["macro"][i]),
              "micro_f1": float(test_at["micro"][i]),
              "auc": ovr_auc(y_te[i], proba_at[i])} for i in range(r)],
            best["macro"].tolist())


def labels_per_class(
    z: Tensor,
    y: Tensor,
    splits: Mapping[int, Split] | None = None,
    shots: Sequence[int] | None = None,
    runs: int = 10,
    val_size: int = 1000,
    test_size: int = 1000,
    seed: int = 0,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    device: torch.device | str = "cpu",
) -> EvalResult:
    r"""HeCo's evaluator: a logistic-regression probe on k labels per class.

    The protocol (``"heco"``) of HeCo (Wang et al., KDD 2021,
    https://arxiv.org/abs/2105.09111; official ``code/utils/evaluate.py``,
    adapted from DMGI), also used by later heterogeneous graph contrastive
    methods that compare with HeCo on its splits. For each :math:`k` in
    ``shots`` and each run:

    1. the training part holds :math:`k` labelled nodes per class, the
       validation and test parts ``val_size`` and ``test_size`` (1000) other
       nodes (HeCo's fixed files via ``splits``, else drawn at random);
    2. a ``Linear(d, C)`` probe (Xavier-uniform weight, zero bias) is trained
       full-batch with cross-entropy and Adam (``lr``, ``weight_decay``) for
       ``epochs`` (200) epochs, and after every epoch is scored on the
       validation and test nodes;
    3. **Macro-F1** is the test macro-F1 at the first epoch of highest
       validation macro-F1, **Micro-F1** the test micro-F1 at the first epoch
       of highest validation micro-F1, and **AUC** the one-vs-rest macro
       ROC-AUC (:func:`ovr_auc`, sklearn's ``roc_auc_score(multi_class="ovr")``)
       of the softmax test probabilities at that best-micro-F1 epoch, exactly
       as the official code selects them.

    The official code repeats the probe 50 times on each fixed split (so runs
    differ only by the probe's initialisation) and uses ``lr=0.05`` on ACM and
    ``0.01`` on DBLP, AMiner and Freebase, ``weight_decay=0``. Here ``runs``
    defaults to 10; with ``splits`` given the runs likewise differ only by
    the probe's initial weights, without ``splits`` every run draws a fresh
    split (seeded, disjoint parts). Embeddings are used as given. All runs of
    one :math:`k` train together as one batched probe; each keeps its own
    weights, optimiser state and selection.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]`` of the target nodes.
        y (torch.Tensor): Labels ``[N]`` in ``0..C-1`` (integral floats, as in
            HeCo's ``labels.npy`` for ACM, are accepted).
        splits (Mapping[int, tuple], optional): ``{k: (train_idx, val_idx,
            test_idx)}``, e.g. from :func:`load_heco_splits`. (default:
            :obj:`None`, draw random splits)
        shots (Sequence[int], optional): Labels per class :math:`k`; with
            ``splits`` each must be a key of it. (default: the keys of
            ``splits``, else ``(20, 40, 60)``)
        runs (int, optional): Runs per :math:`k`. (default: ``10``)
        val_size (int, optional): Validation nodes of a drawn split.
            (default: ``1000``)
        test_size (int, optional): Test nodes of a drawn split.
            (default: ``1000``)
        seed (int, optional): Seeds the drawn splits and the probe's initial
            weights. (default: ``0``)
        epochs (int, optional): Probe epochs. (default: ``200``)
        lr (float, optional): Adam learning rate. (default: ``0.01``)
        weight_decay (float, optional): Adam weight decay. (default: ``0.0``)
        device (torch.device or str, optional): Where the probes train.
            (default: ``"cpu"``)

    Returns:
        EvalResult: ``macro_f1@k``, ``micro_f1@k`` and ``auc@k`` for every
        :math:`k` (headline: ``macro_f1@`` of the first :math:`k`), mean and
        ``ddof=0`` std over runs; details hold the split sizes per :math:`k`
        and ``best_val``, each run's best validation macro-F1 (the score its
        macro-F1 epoch was chosen on; shots in order), for choosing between
        configurations without the test set.

    Raises:
        ValueError: For malformed inputs, a class with fewer than :math:`k`
            nodes, too few nodes left for ``val_size + test_size``, or split
            indices out of range.
    """
    z, y, c = check_inputs(z, y, allow_integral_float=True)
    n = z.size(0)
    runs = check_runs(runs, runs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if shots is None:
        shots = tuple(splits) if splits is not None else (20, 40, 60)
    shots = tuple(int(k) for k in shots)
    if len(shots) == 0 or any(k < 1 for k in shots):
        raise ValueError(f"shots must be positive integers, got {shots}")
    if splits is not None:
        missing = [k for k in shots if k not in splits]
        if missing:
            raise ValueError(f"splits has no entry for k in {missing} (keys: "
                             f"{list(splits)})")
    else:
        if val_size < 1 or test_size < 1:
            raise ValueError(f"val_size and test_size must be >= 1, got {val_size} "
                             f"and {test_size}")
        counts = torch.bincount(y, minlength=c)
        if (counts == 0).any():
            raise ValueError(f"classes {torch.nonzero(counts == 0).view(-1).tolist()} "
                             f"have no nodes; labels must be 0..C-1")
        for k in shots:
            if int(counts.min()) < k:
                raise ValueError(f"class {int(counts.argmin())} has "
                                 f"{int(counts.min())} nodes, fewer than k={k}")
            if n - k * c < val_size + test_size:
                raise ValueError(
                    f"{n} nodes leave {n - k * c} after {k} per class for training, "
                    f"fewer than val_size + test_size = {val_size + test_size}")

    gen = torch.Generator().manual_seed(seed)
    per_run: list[dict[str, float]] = [{} for _ in range(runs)]
    sizes = {}
    best_val: list[float] = []
    for k in shots:
        if splits is not None:
            split = _check_split(splits[k], k, n)
            run_splits = [split] * runs
        else:
            run_splits = [_draw_split(y, k, c, val_size, test_size, gen)
                          for _ in range(runs)]
        sizes[k] = [int(p.numel()) for p in run_splits[0]]
        scores, val = _heco_probe(z, y, run_splits, c, epochs, lr, weight_decay,
                                  gen, device)
        best_val += val
        for r, s in enumerate(scores):
            for name, value in s.items():
                per_run[r][f"{name}@{k}"] = value
    details = {
        "shots": list(shots),
        "split_sizes": sizes,
        "splits": "given" if splits is not None else "random (k per class)",
        "num_classes": c,
        "epochs": epochs,
        "lr": lr,
        "weight_decay": weight_decay,
        "selection": "macro_f1 at best val macro_f1; micro_f1 and auc at best "
                     "val micro_f1",
        # every run's best validation macro-F1, shots in order
        "best_val": best_val,
        "seed": seed,
    }
    return EvalResult.from_runs("heco", per_run, details)


def _splits_from_data(data: Any, shots: Sequence[int] | None) -> dict[int, Split]:
    """``{k: (train, val, test)}`` from a graph: ``data.splits``, else masks."""
    try:
        given = data.splits
    except (AttributeError, KeyError):
        given = None
    if isinstance(given, Mapping) and given:
        return {int(k): tuple(v) for k, v in given.items()}
    store = data
    try:
        target = data.target_node_type
    except (AttributeError, KeyError):
        target = None
    if target is not None:
        store = data[target]
    masks = []
    for name in ("train_mask", "val_mask", "test_mask"):
        try:
            m = store[name]
        except (AttributeError, KeyError):
            m = None
        if m is None:
            raise ValueError(
                f"the 'heco' protocol needs the split: data has neither "
                f"data.splits nor {name}"
                + (f" on its {target!r} nodes" if target else "")
                + "; pass splits={k: (train_idx, val_idx, test_idx)}")
        masks.append(torch.as_tensor(m))
    if masks[0].dim() == 1:
        masks = [m.unsqueeze(1) for m in masks]
    cols = masks[0].size(1)
    if any(m.dim() != 2 or m.size(1) != cols for m in masks):
        raise ValueError("train_mask, val_mask and test_mask must all be [N] or "
                         "all [N, S] with the same S")
    try:
        keys = list(data.shots)
    except (AttributeError, KeyError, TypeError):
        keys = None
    if keys is None:
        keys = list(shots) if shots is not None else None
    if keys is None or len(keys) != cols:
        raise ValueError(
            f"the masks have {cols} split column(s); say which labels-per-class "
            f"each holds with data.shots or shots= ({cols} values)")
    return {int(k): tuple(torch.nonzero(m[:, j]).view(-1) for m in masks)
            for j, k in enumerate(keys)}


def heco_protocol(
    z: Tensor,
    y: Tensor | None,
    *,
    runs: int | None = None,
    seed: int = 0,
    data: Any = None,
    splits: Mapping[int, Split] | None = None,
    shots: Sequence[int] | None = None,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    device: torch.device | str = "cpu",
) -> EvalResult:
    r"""HeCo's evaluation on the fixed 20/40/60-labels-per-class splits.

    The protocol ``"heco"`` of :func:`~gcl.eval.node_classification`: the
    probe of :func:`labels_per_class` (HeCo's ``code/utils/evaluate.py``:
    ``Linear(d, C)`` with Xavier-uniform weights and zero bias, full-batch
    cross-entropy, Adam, 200 epochs, scored on validation and test after
    every epoch), run on the **given** splits, ``runs`` times each (HeCo:
    50). What is selected on what, per run and per :math:`k`:

    - **Macro-F1**: test macro-F1 at the first epoch of highest
      **validation macro-F1**;
    - **Micro-F1**: test micro-F1 at the first epoch of highest
      **validation micro-F1**;
    - **AUC**: one-vs-rest macro ROC-AUC of the softmax test probabilities at
      that best-validation-micro-F1 epoch.

    Test scores are only read at epochs chosen on validation, never used to
    choose. Means and ``ddof=0`` standard deviations are over the runs, which
    on a fixed split differ only by the probe's initial weights.

    The splits come from ``splits``, else ``data.splits`` (what
    :func:`gcl.datasets.load_heco_hetero` provides: the files' index arrays,
    duplicates kept), else the masks ``train_mask``/``val_mask``/``test_mask``
    of ``data`` (of its ``data.target_node_type`` nodes for a
    ``HeteroData``), ``[N]`` or ``[N, S]`` with ``data.shots`` (or
    ``shots``) naming the :math:`k` of each column.

    The official probe learning rates (``eva_lr``; weight decay 0): HeCo ACM
    0.05, DBLP, AMiner and Freebase 0.01; MEOW ACM 0.03, DBLP 0.01, AMiner
    0.1 (weight decay 8e-4), IMDB 0.01.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]`` of the target nodes.
        y (torch.Tensor, optional): Labels ``[N]``; :obj:`None` takes
            ``data[data.target_node_type].y`` (or ``data.y``).
        runs (int, optional): Probe runs per :math:`k`. (default: ``50``, as
            HeCo)
        seed (int, optional): Seeds the probes' initial weights.
            (default: ``0``)
        data (HeteroData or Data, optional): Graph holding the splits.
            (default: :obj:`None`)
        splits (Mapping[int, tuple], optional): ``{k: (train_idx, val_idx,
            test_idx)}``; takes precedence over ``data``. (default:
            :obj:`None`)
        shots (Sequence[int], optional): The :math:`k` to evaluate (default:
            all the splits have); for masks without ``data.shots``, the
            :math:`k` of each mask column.
        epochs (int, optional): Probe epochs. (default: ``200``)
        lr (float, optional): Adam learning rate. (default: ``0.01``)
        weight_decay (float, optional): Adam weight decay. (default: ``0.0``)
        device (torch.device or str, optional): Where the probes train.
            (default: ``"cpu"``)

    Returns:
        EvalResult: protocol ``"heco"``; ``macro_f1@k``, ``micro_f1@k``,
        ``auc@k`` per :math:`k`, per-run values and details.

    Raises:
        ValueError: No split given or found, masks without their :math:`k`,
            or what :func:`labels_per_class` refuses.
    """
    if splits is None:
        if data is None:
            raise ValueError(
                "the 'heco' protocol needs the fixed splits: pass data= (e.g. "
                "gcl.datasets.load('ACM-HeCo')) or splits={k: (train_idx, "
                "val_idx, test_idx)}")
        splits = _splits_from_data(data, shots)
        if shots is not None:
            missing = [k for k in shots if int(k) not in splits]
            if missing:
                raise ValueError(f"data has splits for k in {sorted(splits)}, "
                                 f"not {missing}")
    if y is None:
        if data is None:
            raise ValueError("y is missing (pass the labels or data=)")
        try:
            target = data.target_node_type
        except (AttributeError, KeyError):
            target = None
        y = data[target].y if target is not None else data.y
    runs = 50 if runs is None else runs
    splits = {int(k): tuple(torch.as_tensor(i).detach().cpu().long().view(-1)
                            for i in v) for k, v in splits.items()}
    res = labels_per_class(z, y, splits=splits, shots=shots, runs=runs,
                           seed=seed, epochs=epochs, lr=lr,
                           weight_decay=weight_decay, device=device)
    res.details["runs"] = runs
    return res
