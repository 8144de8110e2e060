"""gcl.app.record: what a finished experiment keeps."""

from gcl.app.experiment import run_experiment
from gcl.app.record import _loss_trace
from gcl.eval import embedding_health
from gcl.train import History


def test_a_record_keeps_its_loss_trace_and_embedding_health():
    exp = run_experiment("grace", "Cora", seed=0, epochs=3, device="cpu",
                         overrides=["model.hidden_channels=8",
                                    "model.proj_channels=8", "eval.runs=1"])
    rec = exp.record()
    assert rec["loss_trace"] == {"every": 1, "values": exp.history.loss}
    assert rec["embedding"] == embedding_health(exp.embeddings)
    assert not rec["embedding"]["collapsed"] and "WARNING" not in exp.summary()
    # a long run: about 100 values, the last epoch always among them
    trace = _loss_trace(History(loss=[float(e) for e in range(1, 251)]))
    assert trace["every"] == 3
    assert trace["values"] == [*range(3, 250, 3), 250]


def test_machine_info_names_the_cpu_and_the_kernels_instruction_set():
    import torch

    from gcl.app.record import machine_info

    info = machine_info()
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_the_commit_is_the_one_imported_not_the_checkout_at_the_end(monkeypatch):
    # a long run records the code it ran: HEAD moving on meanwhile (or
    # GCL_COMMIT set late) does not change what machine_info reports
    from gcl.app import record

    before = record.machine_info()["commit"]
    monkeypatch.setenv("GCL_COMMIT", "feedbee")
    assert record._git_commit() == "feedbee"
    assert record.machine_info()["commit"] == before
