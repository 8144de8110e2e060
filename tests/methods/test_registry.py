"""gcl.methods.build_method: names, and the input width it is given."""

import numpy as np
import pytest
import torch

from gcl.datasets import load
from gcl.methods import GRACE, build_method


def test_build_method_takes_integer_widths_of_any_kind():
    for width in (12, np.int64(12), torch.tensor(12)):
        m = build_method("grace", width, hidden_channels=8, proj_channels=8)
        assert isinstance(m, GRACE) and m.encoder.in_channels == 12


def test_build_method_names_a_wrong_in_channels():
    data = load("Cora")
    # the graph instead of its width: one TypeError that says what to pass
    with pytest.raises(TypeError, match="data.num_features.*got Data"):
        build_method("grace", data)
    for bad in ("1433", 2.5, True, -1, {"paper": "x"}):
        with pytest.raises(TypeError, match="in_channels must be"):
            build_method("grace", bad)
    with pytest.raises(ValueError, match="unknown method 'grase'"):
        build_method("grase", 8)
