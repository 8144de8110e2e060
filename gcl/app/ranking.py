"""The ranking task of the recommenders: train with validation-based
selection, score the test split once, and optionally refit on all training
interactions (``eval.refit``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional, Union

import torch

from gcl.app.record import Experiment, OtherLoad, machine_info, peak_memory_mb
from gcl.datasets import load_interactions
from gcl.eval import EvalResult, ranking_split
from gcl.methods import RECOMMENDERS, Method, build_method, resolve
from gcl.train import History, fit

__all__ = ["refit_checkpoint", "run_ranking"]


def run_ranking(cfg: dict[str, Any], root: Optional[str], dev: torch.device,
                 progress: bool, checkpoint: Union[str, Path, None], resume: bool,
                 tasks: list[str],
                 checkpoint_seconds: Optional[float] = None) -> Experiment:
    """A recommender on interaction data: the ranking task.

    The data come from :func:`gcl.datasets.load_interactions` with the
    config's ``data`` (``val_fraction``: a validation split carved from the
    training interactions with the config's seed). With a validation split,
    :func:`fit` scores it every ``eval.every`` epochs and keeps the weights
    of the best ``eval.monitor`` (default ``val_recall@20``) with
    ``eval.patience``; the test split is scored once, at the end, with the
    training and validation items masked (:func:`gcl.eval.ranking_split`).
    The extra result ``"ranking_masked_zero"`` scores the same embeddings
    with LightGCL ``old_setting``'s rule (known items scored 0 rather than
    removed, ``masking="zero"``), for comparison only.

    ``eval.refit: true`` adds ``"ranking_refit"``: a fresh model trained on
    *all* training interactions (validation ones included) for the number
    of epochs that validation chose, then scored once on test. Published
    recommender numbers train on the whole training split; this compares
    with them without selecting on test (``details["refit_epochs"]`` and
    ``details["refit_seconds"]``, training and scoring).
    """
    if resolve(cfg["method"]) not in RECOMMENDERS or \
            set(tasks) - {"ranking", "classification"}:
        raise ValueError(f"the ranking task needs a recommender "
                         f"({', '.join(RECOMMENDERS)}) and no other task, got "
                         f"{cfg['method']!r} with tasks {tasks}")
    data = _interactions(cfg, root)
    model = _recommender(cfg, data)
    ev = dict(cfg["eval"])
    ks = tuple(ev.get("ks", (20, 40)))
    has_val = data.val.numel() > 0
    if ev.get("refit", False) and not (has_val and int(ev.get("every", 0)) > 0):
        raise ValueError(_REFIT_NEEDS)

    def validate(method: Method, d: Any) -> dict[str, float]:
        u, i = method.embed(d)
        res = ranking_split(u, i, d, "val", ks=ks)
        return {f"val_{k}": v for k, v in res.metrics.items()}

    t0 = time.perf_counter()
    with OtherLoad() as others:  # did the run have the cores it used?
        history = fit(model, data, epochs=cfg["train"]["epochs"],
                      lr=cfg["train"]["lr"],
                      weight_decay=cfg["train"].get("weight_decay", 0.0),
                      device=dev, seed=cfg["seed"], progress=progress,
                      checkpoint=checkpoint, resume=resume,
                      checkpoint_seconds=checkpoint_seconds,
                      eval_fn=validate if has_val else None,
                      eval_every=int(ev.get("every", 0)) if has_val else 0,
                      monitor=ev.get("monitor", "val_recall@20") if has_val else None,
                      patience=ev.get("patience") if has_val else None)
    train_s = time.perf_counter() - t0
    peak = peak_memory_mb(dev)
    t0 = time.perf_counter()
    user_emb, item_emb = model.embed(data.to(dev))
    result = ranking_split(user_emb, item_emb, data.to(dev), "test", ks=ks)
    eval_s = time.perf_counter() - t0
    # LightGCL old_setting's rule (training scores zeroed, not removed), for
    # comparison only: the main result removes them
    extra = {"ranking_masked_zero": ranking_split(
        user_emb, item_emb, data.to(dev), "test", ks=ks, masking="zero")}
    if ev.get("refit", False):
        extra["ranking_refit"] = _refit(cfg, root, dev, progress, history, ks,
                                        refit_checkpoint(checkpoint), resume,
                                        checkpoint_seconds)
    svd = getattr(model, "svd", None)
    if svd is not None and svd.svd_seconds_ is not None:
        result.details["svd_seconds"] = svd.svd_seconds_
    z = torch.cat([user_emb, item_emb]).cpu()
    return Experiment(cfg, model, history, z, result, train_s, eval_s, peak,
                      machine_info(dev, others), extra)


_REFIT_NEEDS = ("eval.refit needs a validation split (data.val_fraction > 0) "
                "scored during training (eval.every > 0, at most the epochs): "
                "it retrains for the number of epochs validation chose")


def _interactions(cfg: dict[str, Any], root: Optional[str], *,
                  all_training: bool = False) -> Any:
    """The config's interaction data, with a validation split carved from
    the training interactions by ``data.val_fraction`` (none when
    ``all_training``) and the config's seed.
    """
    data_kw = dict(cfg["data"])
    val_fraction = data_kw.pop("val_fraction", 0.0)
    return load_interactions(cfg["dataset"], root=root,
                             val_fraction=0.0 if all_training else val_fraction,
                             seed=data_kw.pop("split_seed", cfg["seed"]), **data_kw)


def _recommender(cfg: dict[str, Any], data: Any) -> Method:
    """The config's recommender, sized for ``data``."""
    return build_method(cfg["method"], None, num_users=data.num_users,
                        num_items=data.num_items, **cfg["model"])


def refit_checkpoint(checkpoint: Union[str, Path, None]) -> Optional[Path]:
    """Where ``eval.refit`` checkpoints its second training run: beside the
    run's own checkpoint (``seed0.pt`` -> ``seed0.refit.pt``), or nowhere.
    """
    if checkpoint is None:
        return None
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}.refit{checkpoint.suffix}")


def _refit(cfg: dict[str, Any], root: Optional[str], dev: torch.device,
           progress: bool, history: History, ks: tuple[int, ...],
           checkpoint: Optional[Path] = None,
           resume: bool = True,
           checkpoint_seconds: Optional[float] = None) -> EvalResult:
    """``eval.refit``: a fresh recommender trained on every training
    interaction for the epochs validation chose, scored once on test
    (checkpointed into ``checkpoint`` like the run itself, so a run cut off
    in its refit resumes there).
    """
    if history.best_epoch is None:  # validation never scored
        raise ValueError(_REFIT_NEEDS)
    full = _interactions(cfg, root, all_training=True)
    model = _recommender(cfg, full)
    t0 = time.perf_counter()
    fit(model, full, epochs=history.best_epoch, lr=cfg["train"]["lr"],
        weight_decay=cfg["train"].get("weight_decay", 0.0), device=dev,
        seed=cfg["seed"], progress=progress, checkpoint=checkpoint,
        resume=resume, checkpoint_seconds=checkpoint_seconds)
    full = full.to(dev)
    user_emb, item_emb = model.embed(full)
    result = ranking_split(user_emb, item_emb, full, "test", ks=ks)
    result.details.update(refit_epochs=history.best_epoch,
                          refit_seconds=time.perf_counter() - t0)
    return result
