r"""Reporting rules for metrics measured at several training epochs.

Some papers score the model against the labels during training and publish
the best value. PamC (and SDCN, DAEGC, SCGC before it) reports, for each
metric separately, its maximum over the training epochs, so ACC, NMI, ARI
and F1 may come from different epochs; AdaMEOW's code scores the test split
every 100 epochs after ``start_eval`` and the reported values come from
those logs. That is model selection on the test labels. gcl reports it
under its own name next to the honest rules:

- ``"final"``: the metrics of the trained model after the last epoch; no
  selection.
- ``"val_selected"``: the metrics of the evaluated epoch with the highest
  validation score (the probe's own validation split); no test labels are
  used to choose.
- ``"max_over_epochs"``: each metric's maximum over the evaluated epochs,
  the papers' rule; it selects on the labels, and every result says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gcl.eval._result import EvalResult

__all__ = ["REPORTING_RULES", "report_over_epochs"]

#: The reporting rules, honest first.
REPORTING_RULES = ("final", "val_selected", "max_over_epochs")

_SELECTS = ("selects on the test labels: each metric's maximum over the "
            "epochs, possibly from different epochs (the paper's rule)")


def report_over_epochs(per_epoch: Sequence[Mapping[str, float]],
                       final: Mapping[str, float], rule: str = "final", *,
                       protocol: str = "clusters", val_key: str = "val",
                       after: int = 0) -> EvalResult:
    r"""One result from metrics measured at several epochs, under a named
    rule (see the module's description).

    Args:
        per_epoch (Sequence[Mapping[str, float]]): The metrics of each
            evaluated epoch, in order, each with an ``"epoch"`` key (as
            :attr:`gcl.train.History.evals` holds them); for
            ``"val_selected"`` each also holds ``val_key``.
        final (Mapping[str, float]): The metrics of the trained model.
        rule (str, optional): ``"final"``, ``"val_selected"`` or
            ``"max_over_epochs"``. (default: ``"final"``)
        protocol (str, optional): The protocol that produced the metrics;
            the result is named ``"<protocol>:<rule>"``.
            (default: ``"clusters"``)
        val_key (str, optional): The validation score ``"val_selected"``
            maximises; never a metric of the result. (default: ``"val"``)
        after (int, optional): Only the evaluations of epochs after this one
            take part (AdaMEOW's ``start_eval`` window). (default: ``0``)

    Returns:
        EvalResult: The metrics under ``rule``. Its ``details`` give the rule,
        what it selected on, and the epoch (``"val_selected"``) or the epoch
        of each metric's maximum (``"max_over_epochs"``).

    Raises:
        ValueError: For an unknown rule, a selecting rule without evaluated
            epochs after ``after``, or ``"val_selected"`` where an epoch has
            no ``val_key``.
    """
    if rule not in REPORTING_RULES:
        raise ValueError(f"unknown reporting rule {rule!r}; choose from "
                         f"{', '.join(REPORTING_RULES)}")
    name = f"{protocol}:{rule}"
    if rule == "final":
        metrics = {k: float(v) for k, v in final.items()}
        return EvalResult(name, metrics, dict.fromkeys(metrics, 0.0), [metrics],
                          {"rule": rule, "selection": "none (the last epoch)"})
    window = [e for e in per_epoch if e["epoch"] > after]
    if not window:
        raise ValueError(f"{rule} needs the metrics of the evaluated epochs "
                         f"(none were recorded after epoch {after})")
    keys = [k for k in window[0] if k not in ("epoch", val_key)]
    if rule == "val_selected":
        missing = [e["epoch"] for e in window if val_key not in e]
        if missing:
            raise ValueError(f"val_selected needs a validation score "
                             f"{val_key!r} at every evaluated epoch; epochs "
                             f"{missing} have none")
        best = max(window, key=lambda e: e[val_key])  # first of equal scores
        metrics = {k: float(best[k]) for k in keys}
        details = {"rule": rule, "epoch": int(best["epoch"]),
                   "selection": f"the evaluated epoch of highest validation "
                                f"score {val_key!r} ({float(best[val_key]):.4f}); "
                                "no test labels",
                   "num_epochs": len(window)}
        return EvalResult(name, metrics, dict.fromkeys(metrics, 0.0), [metrics],
                          details)
    best = {k: max(window, key=lambda e, k=k: e[k]) for k in keys}
    metrics = {k: float(best[k][k]) for k in keys}
    details = {"rule": rule, "selection": _SELECTS,
               "epochs": {k: int(best[k]["epoch"]) for k in keys},
               "num_epochs": len(window)}
    return EvalResult(name, metrics, dict.fromkeys(metrics, 0.0), [metrics],
                      details)
