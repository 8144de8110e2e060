import math

import pytest
import torch

from gcl.train import EarlyStopping


def test_max_mode_patience_and_best_weights():
    module = torch.nn.Linear(2, 1)
    stopper = EarlyStopping("max", patience=2, min_delta=0.05)
    weights = {}
    stops = []
    for epoch, value in enumerate([0.5, 0.7, 0.72, 0.6], start=1):
        with torch.no_grad():
            module.weight.fill_(epoch)
        weights[epoch] = module.weight.detach().clone()
        stops.append(stopper.step(value, epoch, module))
    # 0.72 is not 0.05 better than 0.7: two bad checks in a row stop.
    assert stops == [False, False, False, True]
    assert stopper.best_epoch == 2 and stopper.best == pytest.approx(0.7)
    assert stopper.restore(module)
    assert torch.equal(module.weight, weights[2])


def test_min_mode_and_no_patience():
    stopper = EarlyStopping("min", restore_best=False)
    module = torch.nn.Linear(1, 1)
    assert [stopper.step(v, e, module) for e, v in enumerate([3.0, 2.0, 5.0, 6.0])] \
        == [False] * 4
    assert stopper.best_epoch == 1 and stopper.best == -2.0
    assert stopper.best_state is None and not stopper.restore(module)


def test_state_dict_round_trip_keeps_best_weights():
    module = torch.nn.Linear(2, 2)
    a = EarlyStopping(patience=3)
    a.step(1.0, 4, module)
    a.step(0.5, 5, module)
    b = EarlyStopping(patience=3)
    b.load_state_dict(a.state_dict())
    assert (b.best, b.bad, b.best_epoch) == (1.0, 1, 4)
    assert all(torch.equal(b.best_state[k], v) for k, v in module.state_dict().items())
    assert EarlyStopping().best == -math.inf


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping("up")
