import pytest
import torch
from torch_geometric import seed_everything
from torch_geometric.datasets import FakeDataset

import gcl
import gcl.train.memory as memory
from gcl.methods import GRACE
from gcl.train import (
    InsufficientMemoryError,
    available_memory,
    check_full_batch_memory,
    estimate_full_batch_memory,
)


def graph():
    seed_everything(0)
    return FakeDataset(1, avg_num_nodes=50, avg_degree=4, num_channels=7)[0]


def test_estimate_by_hand():
    data = graph()
    n, f, e = data.num_nodes, 7, data.num_edges
    m = GRACE.from_config(f, 16, 8, cache_mb=0.0)  # encoder 7->32->16, head 16->8->16
    widths = 32 + 16 + 8 + 16
    params = sum(p.numel() for p in m.parameters())
    expect = (2 * n * f * 4 + 2 * 24 * e + 2 * 4 * n * widths * 4
              + 4 * min(2 * n, 256) * 2 * n * 4 + 4 * params * 4)
    assert estimate_full_batch_memory(m, data, torch.device("cpu")) == expect
    # a loss allowed to cache its strips costs 2 N^2 floats instead
    m = GRACE.from_config(f, 16, 8, cache_mb=256.0)
    expect += 2 * n * n * 4 - 4 * min(2 * n, 256) * 2 * n * 4
    assert estimate_full_batch_memory(m, data, torch.device("cpu")) == expect
    # a graph that has to be copied to the device counts once more
    dev = torch.device("meta")
    assert estimate_full_batch_memory(m, data, dev) == expect + n * f * 4 + 16 * e


def test_available_memory_on_this_machine():
    free = available_memory(torch.device("cpu"))
    assert free is None or free > 2**20
    assert available_memory(torch.device("meta")) is None


def test_fit_stops_before_training_when_it_cannot_fit(monkeypatch):
    data = graph()
    m = GRACE.from_config(7, 16, 8)
    est = estimate_full_batch_memory(m, data, torch.device("cpu"))
    with pytest.raises(InsufficientMemoryError) as err:
        gcl.fit(m, data, epochs=5, progress=False, memory_limit=est - 1)
    msg = str(err.value)
    assert f"{est / 2**30:.2f} GiB" in msg and "batch_size" in msg
    assert "--batch-size" in msg and err.value.estimate == est
    # the device's free memory is what is checked by default
    monkeypatch.setattr(memory, "available_memory", lambda device: 1024)
    with pytest.raises(InsufficientMemoryError, match="only 0.00 GiB"):
        gcl.fit(m, data, epochs=5, progress=False)
    h = gcl.fit(m, data, epochs=1, progress=False, check_memory=False)
    assert h.epochs == 1
    # mini-batch training is not refused
    h = gcl.fit(m, data, epochs=1, progress=False, batch_size=16)
    assert h.epochs == 1
    # an unknown amount of memory checks nothing
    monkeypatch.setattr(memory, "available_memory", lambda device: None)
    assert check_full_batch_memory(m, data, torch.device("cpu")) is None
