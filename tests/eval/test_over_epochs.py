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
    assert REPORTING_RULES == ("final", "max_over_epochs")


def test_bad_rule_or_no_epochs():
    with pytest.raises(ValueError, match="unknown reporting rule 'best'"):
        report_over_epochs(EPOCHS, FINAL, "best")
    with pytest.raises(ValueError, match="needs the metrics of every epoch"):
        report_over_epochs([], FINAL, "max_over_epochs")
