import os
import random

import numpy as np
import pytest
import torch

from gcl.train import Checkpoint
from gcl.train.checkpoint import get_rng_state, set_rng_state, to_plain


def draws():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(),
            [random.random() for _ in range(3)], np.random.randn(1).tolist())


def test_rng_state_round_trips_through_a_safe_load(tmp_path):
    np.random.randn(1)  # leave a cached Gaussian in NumPy's legacy state
    ckpt = Checkpoint(tmp_path / "rng.ckpt")
    ckpt.save({"rng": get_rng_state()})
    expected = draws()
    state = ckpt.load()  # weights_only=True
    assert isinstance(state["rng"]["numpy"]["key"], torch.Tensor)
    set_rng_state(state["rng"])
    assert draws() == expected


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "sub" / "run.ckpt"
    ckpt = Checkpoint(path)
    assert not ckpt.exists()
    ckpt.save({"epoch": 1, "w": torch.ones(2)})
    ckpt.save({"epoch": 2, "w": torch.zeros(2)})
    assert ckpt.load()["epoch"] == 2
    assert os.listdir(path.parent) == ["run.ckpt"]
    assert repr(ckpt) == f"Checkpoint({str(path)!r})"


def test_pickled_code_is_refused_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = tmp_path / "evil.ckpt"
    torch.save({"epoch": 1, "payload": Payload()}, path)
    with pytest.raises(ValueError, match="refusing to load checkpoint .*posix.mkdir"):
        Checkpoint(path).load()
    assert not marker.exists()


def test_numpy_values_are_made_plain():
    out = to_plain({"acc": np.float64(0.5), "per_run": np.array([1, 2]),
                    "nested": [(np.int64(3), "a")], "t": torch.ones(1)})
    assert out["acc"] == 0.5 and type(out["acc"]) is float
    assert out["per_run"] == [1, 2] and type(out["nested"][0][0]) is int
    assert isinstance(out["t"], torch.Tensor)


def test_not_a_dict_is_refused(tmp_path):
    path = tmp_path / "list.ckpt"
    torch.save([1, 2], path)
    with pytest.raises(ValueError, match="not a gcl checkpoint"):
        Checkpoint(path).load()
