import math

import pytest
import torch
import torch.nn.functional as F

from gcl.losses import POTLoss, pot_loss, principle_direction


def test_principle_direction_equals_leave_one_out_mean():
    z = torch.randn(7, 4, dtype=torch.float64)
    w = principle_direction(z)
    zn = F.normalize(z)
    ref = torch.stack([zn[i] - torch.cat([zn[:i], zn[i + 1:]]).mean(0)
                       for i in range(7)])  # the code's commented-out loop
    assert torch.allclose(w, ref)
    with pytest.raises(ValueError, match="N >= 2"):
        principle_direction(torch.randn(1, 4))


def test_pot_loss_is_bce_with_target_one_averaged_over_views():
    s1, s2 = torch.randn(10), torch.randn(6)
    bce = torch.nn.BCEWithLogitsLoss()
    ref = (bce(s1, torch.ones(10)) + bce(s2, torch.ones(6))) / 2
    assert torch.allclose(pot_loss([s1, s2]), ref)
    assert torch.allclose(POTLoss()(s1), bce(s1, torch.ones(10)))
    assert math.isclose(pot_loss(torch.zeros(3)).item(), math.log(2), rel_tol=1e-6)
    # Stable for large scores of either sign.
    big = torch.tensor([1e4, -1e4])
    assert torch.allclose(pot_loss(big), torch.tensor(5e3))
    with pytest.raises(ValueError):
        pot_loss([])
    with pytest.raises(ValueError, match=r"\[N\]"):
        pot_loss(torch.zeros(2, 2))
