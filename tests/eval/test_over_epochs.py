import pytest

from gcl.eval import REPORTING_RULES, report_over_epochs

EPOCHS = [{"epoch": 1, "acc": 0.5, "nmi": 0.40},
          {"epoch": 2, "acc": 0.7, "nmi": 0.35},
          {"epoch": 3, "acc": 0.6, "nmi": 0.45}]
FINAL = {"acc": 0.6, "nmi": 0.45}


def test_max_over_epochs_takes_each_metric_from_its_own_epoch():
    res = report_over_epochs(EPOCHS, FINAL, "max_over_epochs", protocol="pamc")
    assert res.protocol == "pamc:max_over_epochs"
    assert res.metrics == {"acc": 0.7, "nmi": 0.45}  # epochs 2 and 3
    assert res.details["epochs"] == {"acc": 2, "nmi": 3}
    assert "selects on the test labels" in res.details["selection"]


def test_final_is_the_trained_model_without_selection():
    res = report_over_epochs(EPOCHS, FINAL, "final")
    assert res.protocol == "clusters:final" and res.metrics == FINAL
    assert res.details["selection"].startswith("none")
    assert REPORTING_RULES == ("final", "val_selected", "max_over_epochs")


def test_bad_rule_or_no_epochs():
    with pytest.raises(ValueError, match="unknown reporting rule 'best'"):
        report_over_epochs(EPOCHS, FINAL, "best")
    with pytest.raises(ValueError, match="needs the metrics of the evaluated epochs"):
        report_over_epochs([], FINAL, "max_over_epochs")


SCORED = [{"epoch": 100, "macro_f1": 0.80, "auc": 0.90, "val": 0.70},
          {"epoch": 200, "macro_f1": 0.85, "auc": 0.88, "val": 0.75},
          {"epoch": 300, "macro_f1": 0.83, "auc": 0.93, "val": 0.75},
          {"epoch": 400, "macro_f1": 0.90, "auc": 0.91, "val": 0.60}]


def test_val_selected_takes_every_metric_from_the_best_validation_epoch():
    res = report_over_epochs(SCORED, {"macro_f1": 0.9, "auc": 0.91},
                             "val_selected", protocol="heco")
    assert res.protocol == "heco:val_selected"
    # epochs 200 and 300 tie on val 0.75: the first is kept
    assert res.metrics == {"macro_f1": 0.85, "auc": 0.88}
    assert res.details["epoch"] == 200 and res.details["num_epochs"] == 4
    assert "no test labels" in res.details["selection"]
    assert "val" not in res.metrics


def test_after_restricts_both_selecting_rules_to_the_window():
    res = report_over_epochs(SCORED, {}, "val_selected", after=200)
    assert res.details["epoch"] == 300 and res.details["num_epochs"] == 2
    best = report_over_epochs(SCORED, {}, "max_over_epochs", after=250)
    assert best.metrics == {"macro_f1": 0.90, "auc": 0.93}  # val is no metric
    assert best.details["epochs"] == {"macro_f1": 400, "auc": 300}
    with pytest.raises(ValueError, match="none were recorded after epoch 400"):
        report_over_epochs(SCORED, {}, "max_over_epochs", after=400)


def test_val_selected_needs_a_validation_score_everywhere():
    with pytest.raises(ValueError, match=r"epochs \[1, 2, 3\] have none"):
        report_over_epochs(EPOCHS, FINAL, "val_selected")
