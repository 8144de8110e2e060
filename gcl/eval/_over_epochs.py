r"""Reporting rules for metrics measured at every training epoch.

Some papers score the model against the labels at every epoch and publish
the best value: PamC (and SDCN, DAEGC, SCGC before it) reports, for each
metric separately, its maximum over the training epochs, so ACC, NMI, ARI
and F1 may come from different epochs. That is model selection on the test
labels. gcl reports it under its own name next to the honest rule:

- ``"final"``: the metrics of the trained model after the last epoch; no
  selection.
- ``"max_over_epochs"``: each metric's maximum over the epochs, the paper's
  rule; it selects on the labels, and every result says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gcl.eval._result import EvalResult

__all__ = ["REPORTING_RULES", "report_over_epochs"]

#: The reporting rules, honest first.
REPORTING_RULES = ("final", "max_over_epochs")

_SELECTS = ("selects on the test labels: each metric's maximum over the "
            "epochs, possibly from different epochs (the paper's rule)")


def report_over_epochs(per_epoch: Sequence[Mapping[str, float]],
                       final: Mapping[str, float], rule: str = "final", *,
                       protocol: str = "clusters") -> EvalResult:
    r"""One result from metrics measured at every epoch, under a named rule.

    Args:
        per_epoch (Sequence[Mapping[str, float]]): The metrics of every
            epoch, in order, each with an ``"epoch"`` key (as
            :attr:`gcl.train.History.evals` holds them).
        final (Mapping[str, float]): The metrics of the trained model.
        rule (str, optional): ``"final"`` or ``"max_over_epochs"``.
            (default: ``"final"``)
        protocol (str, optional): The protocol that produced the metrics;
            the result is named ``"<protocol>:<rule>"``.
            (default: ``"clusters"``)

    Returns:
        EvalResult: The metrics under ``rule``. Its ``details`` give the rule,
        whether it selects on the labels, and for ``"max_over_epochs"`` the
        epoch each metric's maximum came from.

    Raises:
        ValueError: For an unknown rule, or ``"max_over_epochs"`` without
            per-epoch metrics.
    """
    if rule not in REPORTING_RULES:
        raise ValueError(f"unknown reporting rule {rule!r}; choose from "
                         f"{', '.join(REPORTING_RULES)}")
    name = f"{protocol}:{rule}"
    if rule == "final":
        metrics = {k: float(v) for k, v in final.items()}
        return EvalResult(name, metrics, dict.fromkeys(metrics, 0.0), [metrics],
                          {"rule": rule, "selection": "none (the last epoch)"})
    if not per_epoch:
        raise ValueError("max_over_epochs needs the metrics of every epoch "
                         "(none were recorded)")
    keys = [k for k in per_epoch[0] if k != "epoch"]
    best = {k: max(per_epoch, key=lambda e, k=k: e[k]) for k in keys}
    metrics = {k: float(best[k][k]) for k in keys}
    details = {"rule": rule, "selection": _SELECTS,
               "epochs": {k: int(best[k]["epoch"]) for k in keys},
               "num_epochs": len(per_epoch)}
    return EvalResult(name, metrics, dict.fromkeys(metrics, 0.0), [metrics],
                      details)
