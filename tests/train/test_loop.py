import math

import pytest
import torch

import gcl
from gcl.methods import GRACE


def small_graph():
    from torch_geometric.datasets import FakeDataset
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=60, num_channels=10,
                       num_classes=3)[0]


def make(data):
    return GRACE.from_config(data.num_features, 8, 8)


def test_history_and_seeded_repeatability():
    data = small_graph()
    h1 = gcl.fit(make(data), data, epochs=5, lr=0.01, seed=3, progress=False,
                 device="cpu")
    h2 = gcl.fit(make(data), data, epochs=5, lr=0.01, seed=3, progress=False,
                 device="cpu")
    assert h1.epochs == 5 and len(h1.seconds) == 5
    assert h1.loss == h2.loss
    assert all(s > 0 for s in h1.seconds)
    h3 = gcl.fit(make(data), data, epochs=5, lr=0.01, seed=4, progress=False)
    assert h3.loss != h1.loss


def test_loss_decreases():
    data = small_graph()
    h = gcl.fit(make(data), data, epochs=40, lr=0.01, seed=0, progress=False)
    assert h.loss[-1] < h.loss[0]


def test_resume_continues_exactly(tmp_path):
    data = small_graph()
    ckpt = tmp_path / "run.ckpt"
    full = make(data)
    h_full = gcl.fit(full, data, epochs=8, lr=0.01, seed=1, progress=False)
    part = make(data)
    gcl.fit(part, data, epochs=4, lr=0.01, seed=1, progress=False,
            checkpoint=ckpt, checkpoint_every=2)
    assert ckpt.exists()
    assert not list(tmp_path.glob(".run.ckpt.*"))  # no temp file left behind
    resumed = make(data)
    # Pretend the first run had been asked for 8 epochs and was killed at 4.
    h_res = gcl.fit(resumed, data, epochs=8, lr=0.01, seed=1, progress=False,
                    checkpoint=ckpt, resume=True)
    assert h_res.resumed_from == 4
    assert h_res.loss == pytest.approx(h_full.loss, abs=1e-6)
    for a, b in zip(resumed.parameters(), full.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_nan_loss_names_the_epoch():
    data = small_graph()

    class Diverging(GRACE):
        def forward(self, data):
            loss = super().forward(data)
            return loss * (math.inf if self.epoch == 3 else 1.0)

    m = Diverging.from_config(data.num_features, 8, 8)
    with pytest.raises(gcl.NonFiniteLossError, match="epoch 3") as err:
        gcl.fit(m, data, epochs=5, progress=False)
    assert err.value.epoch == 3


def test_eval_and_early_stopping_restores_best():
    data = small_graph()
    scores = iter([0.5, 0.7, 0.6, 0.6, 0.6, 0.9])
    snapshots = {}

    def eval_fn(method, data):
        epoch = method.epoch
        snapshots[epoch] = [p.detach().clone() for p in method.parameters()]
        return {"val_acc": next(scores)}

    m = make(data)
    h = gcl.fit(m, data, epochs=20, lr=0.01, eval_fn=eval_fn, eval_every=1,
                monitor="val_acc", patience=3, progress=False)
    assert h.best_epoch == 2 and h.stopped_epoch == 5
    assert [e["epoch"] for e in h.evals] == [1, 2, 3, 4, 5]
    for a, b in zip(m.parameters(), snapshots[2]):
        assert torch.equal(a, b)


def test_set_epoch_hook_called():
    data = small_graph()
    seen = []

    class Spy(GRACE):
        def prepare(self, data):
            seen.append(("prepare", data.num_nodes))

        def set_epoch(self, epoch):
            seen.append(epoch)
            super().set_epoch(epoch)

    gcl.fit(Spy.from_config(data.num_features, 8, 8), data, epochs=3,
            progress=False)
    assert seen == [("prepare", data.num_nodes), 1, 2, 3]


def test_argument_errors():
    data = small_graph()
    with pytest.raises(ValueError, match="eval_fn"):
        gcl.fit(make(data), data, epochs=1, monitor="val_acc")
    with pytest.raises(ValueError, match="checkpoint"):
        gcl.fit(make(data), data, epochs=1, resume=True)
    bad = data.clone()
    bad.x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        gcl.fit(make(data), bad, epochs=1)
    for kwargs, name in (({"lr": "0.1"}, "lr"), ({"lr": 0.0}, "lr"),
                         ({"lr": float("nan")}, "lr"),
                         ({"weight_decay": -1e-5}, "weight_decay")):
        with pytest.raises(ValueError, match=f"^{name} must be a finite number"):
            gcl.fit(make(data), data, epochs=1, **kwargs)


def test_resume_restores_best_weights_from_before_the_interruption(tmp_path):
    # The best epoch (2) comes before the interruption (4); the resumed run
    # never improves on it, so restore_best must give epoch 2's weights.
    data = small_graph()
    ckpt = tmp_path / "run.ckpt"
    scores = {1: 0.5, 2: 0.9, 3: 0.6, 4: 0.6, 5: 0.6, 6: 0.7, 7: 0.6, 8: 0.6}
    snapshots = {}

    def eval_fn(method, data):
        snapshots[method.epoch] = [p.detach().clone() for p in method.parameters()]
        return {"val_acc": scores[method.epoch]}

    kw = dict(lr=0.01, seed=1, eval_fn=eval_fn, eval_every=1, monitor="val_acc",
              checkpoint=ckpt, progress=False)
    gcl.fit(make(data), data, epochs=4, checkpoint_every=4, **kw)
    resumed = make(data)
    h = gcl.fit(resumed, data, epochs=8, resume=True, **kw)
    assert h.resumed_from == 4 and h.best_epoch == 2
    assert [e["epoch"] for e in h.evals] == list(range(1, 9))
    for a, b in zip(resumed.parameters(), snapshots[2]):
        assert torch.equal(a, b)


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    import os

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    data = small_graph()
    ckpt = tmp_path / "run.ckpt"
    gcl.fit(make(data), data, epochs=2, lr=0.01, seed=1, progress=False,
            checkpoint=ckpt)
    state = torch.load(ckpt, weights_only=False)  # our own file: trusted
    state["history"]["evals"] = [{"epoch": 1, "val_acc": Payload()}]
    torch.save(state, ckpt)
    with pytest.raises(ValueError, match="refus"):
        gcl.fit(make(data), data, epochs=4, lr=0.01, seed=1, progress=False,
                checkpoint=ckpt, resume=True)
    assert not marker.exists()


def test_fit_reports_width_and_dtype_before_training():
    g = small_graph()  # 10 features
    with pytest.raises(ValueError, match="10 features but the encoder expects 500"):
        gcl.fit(GRACE.from_config(500, 8, 8), g, epochs=1, progress=False)
    g.x = g.x.double()
    with pytest.raises(ValueError, match="torch.float64 but the model's parameters "
                                         "are torch.float32"):
        gcl.fit(GRACE.from_config(10, 8, 8), g, epochs=1, progress=False)
    # The float64 model trains on the float64 graph.
    history = gcl.fit(GRACE.from_config(10, 8, 8).double(), g, epochs=2,
                      progress=False, device="cpu")
    assert history.epochs == 2


class _Quadratic(gcl.methods.Method):
    """loss = (w - 3)^2: a deterministic full-batch objective."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def check_input(self, data):
        pass

    def reset_parameters(self):
        with torch.no_grad():
            self.w.zero_()

    def forward(self, data):
        return (self.w - 3.0) ** 2


def test_monitor_loss_keeps_the_weights_that_gave_the_best_loss():
    # SGD with lr 1.5 overshoots: w = 0, 9, -9, 27, ... losses 9, 36, 144, ...
    # The best loss (9) was computed at w = 0, before the first update: the
    # restored weights are those, not the updated w = 9 (HeCo's rule).
    method = _Quadratic()
    opt = torch.optim.SGD(method.parameters(), lr=1.5)
    from torch_geometric.data import Data

    hist = gcl.fit(method, Data(num_nodes=1), epochs=10, optimizer=opt,
                   monitor="loss", patience=2, progress=False, device="cpu")
    assert hist.loss[:3] == [9.0, 36.0, 144.0]
    assert hist.best_epoch == 1 and hist.stopped_epoch == 3
    assert method.w.item() == 0.0
    with torch.no_grad():
        assert method(None).item() == min(hist.loss)


def test_checkpoint_seconds_saves_by_time(tmp_path, monkeypatch):
    import gcl.train.loop as loop

    saved = []
    real = loop._save
    monkeypatch.setattr(loop, "_save",
                        lambda ckpt, epoch, *a: (saved.append(epoch),
                                                 real(ckpt, epoch, *a)))
    data = small_graph()
    gcl.fit(make(data), data, epochs=4, lr=0.01, seed=1, progress=False,
            checkpoint=tmp_path / "a.ckpt", checkpoint_every=100)
    assert saved == [4]  # the last epoch only
    saved.clear()
    gcl.fit(make(data), data, epochs=4, lr=0.01, seed=1, progress=False,
            checkpoint=tmp_path / "b.ckpt", checkpoint_every=100,
            checkpoint_seconds=0.0)
    assert saved == [1, 2, 3, 4]  # every epoch: the period is always over


def test_resuming_an_early_stopped_run_trains_no_further(tmp_path):
    # A checkpoint written when early stopping ended the run is finished: a
    # resumed fit restores the best weights and takes no more steps.
    data = small_graph()
    ckpt = tmp_path / "run.ckpt"
    scores = iter([0.5, 0.9, 0.6, 0.6, 0.95, 0.99])
    snapshots = {}

    def eval_fn(method, data):
        snapshots[method.epoch] = [p.detach().clone() for p in method.parameters()]
        return {"val_acc": next(scores)}

    kw = dict(lr=0.01, seed=1, eval_fn=eval_fn, eval_every=1, monitor="val_acc",
              patience=2, checkpoint=ckpt, progress=False)
    h = gcl.fit(make(data), data, epochs=20, **kw)
    assert h.best_epoch == 2 and h.stopped_epoch == 4
    resumed = make(data)
    h2 = gcl.fit(resumed, data, epochs=20, resume=True, **kw)
    assert h2.resumed_from == 4 and h2.stopped_epoch == 4
    assert h2.best_epoch == 2 and h2.loss == h.loss
    assert [e["epoch"] for e in h2.evals] == [1, 2, 3, 4]  # no new evaluation
    for a, b in zip(resumed.parameters(), snapshots[2]):
        assert torch.equal(a, b)


class _Batched(GRACE):
    """GRACE whose epoch is three steps, one per (fake) batch."""

    def epoch_batches(self, data):
        return [0, 1, 2]

    def forward(self, data, batch=None):
        return super().forward(data) * (1.0 + batch)


def test_batched_epoch_records_the_mean_of_its_batch_losses():
    data = small_graph()
    m = _Batched.from_config(data.num_features, 8, 8)
    seen = []
    forward = m.forward

    def spy(data, batch=None):
        loss = forward(data, batch)
        seen.append(float(loss.detach()))
        return loss

    m.forward = spy
    h = gcl.fit(m, data, epochs=2, lr=0.01, seed=0, progress=False)
    # the float64 sum of the float32 batch losses, as Python floats add up
    assert h.loss == [sum(seen[:3]) / 3, sum(seen[3:]) / 3]


def test_batched_epoch_with_a_nan_batch_names_the_epoch():
    data = small_graph()

    class Diverging(_Batched):
        def forward(self, data, batch=None):
            loss = super().forward(data, batch)
            return loss * (math.nan if (self.epoch, batch) == (2, 1) else 1.0)

    m = Diverging.from_config(data.num_features, 8, 8)
    with pytest.raises(gcl.NonFiniteLossError, match="epoch 2") as err:
        gcl.fit(m, data, epochs=4, progress=False)
    assert err.value.epoch == 2 and math.isnan(err.value.value)
