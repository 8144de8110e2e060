import datetime
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch_geometric import seed_everything
from torch_geometric.data import Data
from torch_geometric.datasets import FakeDataset

import gcl
from gcl.augment import Compose, EdgeDrop, FeatureMask
from gcl.losses import extra_negatives, gather_negatives, info_nce
from gcl.methods import CSGCL, GCOOL, GRACE, batch_step
from gcl.nn import GCNEncoder
from gcl.train import neighbor_loader
from gcl.train.distributed import BatchObjective, all_reduce_mean, ddp

WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback() -> str:
    """The loopback interface's name ("lo" on Linux, "lo0" on macOS)."""
    names = [name for _, name in socket.if_nameindex()]
    return next((n for n in names if n.startswith("lo")), names[0])


def graph():
    seed_everything(0)  # FakeDataset draws sizes from Python's random
    d = FakeDataset(1, avg_num_nodes=70, avg_degree=5, num_channels=9)[0]
    d.x = d.x.double()
    return d


def make(name, data):
    torch.manual_seed(0)
    views = [Compose([EdgeDrop(0.3), FeatureMask(0.2)]),
             Compose([EdgeDrop(0.2), FeatureMask(0.3)])]
    if name == "grace":
        m = GRACE(GCNEncoder(data.num_features, 12), 6, views, tau=0.5)
    else:
        m = CSGCL.from_config(data.num_features, 12, 6, t0=0, gamma_max=2.0)
    m = m.double()
    m.prepare(data)
    m.set_epoch(120)  # CSGCL: gamma = 1.2, a non-trivial Team-up bias
    return m


def extra_rows():
    """Rows of two processes: 3 seeds each (rows 0-5), then 2 extra
    negatives each (rows 6-9), and a Team-up-like bias.
    """
    g = torch.Generator().manual_seed(7)
    z1 = torch.randn(10, 4, generator=g, dtype=torch.float64)
    z2 = torch.randn(10, 4, generator=g, dtype=torch.float64)
    return z1, z2, torch.rand(10, generator=g, dtype=torch.float64)


def union_batch(data, size=2 * 12):
    torch.manual_seed(3)
    return next(iter(neighbor_loader(data, size, [4, 4])))


def own_seeds_first(batch, rank):
    """The union batch with this rank's half of the seeds as its seeds (the
    same subgraph, so every rank encodes what one process would).
    """
    b = batch.batch_size // WORLD
    seeds = torch.arange(rank * b, (rank + 1) * b)
    rest = torch.ones(batch.num_nodes, dtype=torch.bool)
    rest[seeds] = False
    order = torch.cat([seeds, rest.nonzero().view(-1)])
    new = torch.empty_like(order)
    new[order] = torch.arange(order.numel())
    out = Data(x=batch.x[order], edge_index=new[batch.edge_index],
               n_id=batch.n_id[order], e_id=batch.e_id, num_nodes=batch.num_nodes)
    out.batch_size = b
    return out


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    # Gloo would talk over the address the host name resolves to, which a
    # sandbox may not route: both processes are here, so use the loopback.
    # A collective that cannot complete fails after two minutes (the default
    # is 30 minutes per collective) instead of hanging the test run.
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank),
                      GLOO_SOCKET_IFNAME=loopback())
    try:
        dist.init_process_group("gloo", rank=rank, world_size=WORLD,
                                timeout=datetime.timedelta(seconds=120))
        dist.all_reduce(torch.ones(1))
    except RuntimeError as error:  # DistBackendError, DistNetworkError
        with open(os.path.join(out_dir, f"no-gloo{rank}.txt"), "w") as f:
            f.write(f"{type(error).__name__}: {error}")
        return
    data = graph()
    result = {}
    for name in ("grace", "csgcl"):
        method = make(name, data)
        model = ddp(BatchObjective(method), torch.device("cpu"))
        batch = own_seeds_first(union_batch(data), rank)
        torch.manual_seed(1)  # the same views on every rank
        with gather_negatives():
            loss = model(batch)
        loss.backward()
        result[name] = {"loss": all_reduce_mean(float(loss.detach()),
                                                 torch.device("cpu")),
                        "grads": [p.grad.clone() for p in method.parameters()]}
    # end to end: fit with distributed=True (the group exists already)
    data.x = data.x.float()
    m = GRACE.from_config(data.num_features, 12, 6)
    h = gcl.fit(m, data, epochs=2, lr=0.01, seed=0, progress=False,
                batch_size=16, num_neighbors=[3, 3], distributed=True,
                checkpoint=os.path.join(out_dir, "ckpt.pt"))
    result["fit_loss"] = h.loss
    result["fit_weight"] = m.encoder.convs[0].lin.weight.detach().clone()
    # gCooL with stride 1: the community terms (and with them the centres'
    # gradients) are on in epoch 1 and off from epoch 2 (alpha(1) = 0), so
    # DDP must look for unused parameters (Method.may_skip_parameters)
    g = GCOOL.from_config(data.num_features, 12, 6, num_communities=3,
                          drop_scheme="uniform", stride=1.0)
    h = gcl.fit(g, data, epochs=2, lr=0.01, seed=0, progress=False,
                batch_size=16, num_neighbors=[3, 3], distributed=True)
    result["gcool_loss"] = h.loss
    result["gcool_centers"] = g.centers.detach().clone()
    # extra negatives across processes: this rank's seed and extra rows
    z1, z2, bias = extra_rows()
    rows = torch.cat([torch.arange(rank * 3, rank * 3 + 3),
                      torch.arange(6 + rank * 2, 6 + rank * 2 + 2)])
    u1, u2 = z1[rows].requires_grad_(), z2[rows].requires_grad_()
    with gather_negatives(), extra_negatives(2):
        loss = info_nce(u1, u2, 0.5, bias=bias[rows], block_size=2)
    loss.backward()
    result["extra"] = {"loss": all_reduce_mean(float(loss.detach()),
                                               torch.device("cpu")),
                       "rows": rows, "grads": (u1.grad, u2.grad)}
    h = gcl.fit(GRACE.from_config(data.num_features, 12, 6), data, epochs=2,
                lr=0.01, seed=0, progress=False, batch_size=16,
                num_neighbors=[3, 3], num_negatives=8, distributed=True)
    result["negatives_loss"] = h.loss
    torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    # Leave without tearing gloo down: on a loaded 2-core machine one rank
    # once hung for minutes in its teardown after both had saved (the peer
    # had already left). The barrier makes both results exist first.
    dist.barrier()
    os._exit(0)


@pytest.fixture(scope="module")
def spawned(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(free_port(), str(out)), nprocs=WORLD, join=True)
    failed = sorted(out.glob("no-gloo*.txt"))
    if failed:  # the machine, not gcl: two local processes cannot connect
        pytest.skip("gloo cannot connect two processes on this machine: "
                    + failed[0].read_text()[:500])
    return out, [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("name", ["grace", "csgcl"])
def test_two_processes_equal_one(spawned, name):
    _, ranks = spawned
    data = graph()
    method = make(name, data)
    batch = union_batch(data)
    torch.manual_seed(1)
    loss = batch_step(method, batch).loss
    grads = torch.autograd.grad(loss, list(method.parameters()))
    for res in ranks:
        assert abs(res[name]["loss"] - loss.item()) < 1e-6
        for g, d in zip(grads, res[name]["grads"]):
            torch.testing.assert_close(d, g, rtol=0, atol=1e-6)
    assert loss.item() > 0


def test_distributed_fit_with_unused_parameters(spawned):
    _, (a, b) = spawned
    assert GCOOL.may_skip_parameters and not GRACE.may_skip_parameters
    assert len(a["gcool_loss"]) == 2 and a["gcool_loss"] == b["gcool_loss"]
    assert torch.equal(a["gcool_centers"], b["gcool_centers"])


def test_distributed_fit(spawned):
    out, ranks = spawned
    a, b = ranks
    assert len(a["fit_loss"]) == 2
    assert a["fit_loss"] == b["fit_loss"]  # the global loss, on every rank
    assert torch.equal(a["fit_weight"], b["fit_weight"])  # DDP kept them equal
    state = gcl.train.Checkpoint(out / "ckpt.pt").load()  # rank 0 wrote it
    assert state["epoch"] == 2
    assert state["history"]["loss"] == a["fit_loss"]


def test_extra_negatives_across_processes(spawned):
    # the global loss: all 6 seeds as anchors against all 10 rows
    _, ranks = spawned
    z1, z2, bias = extra_rows()
    z1.requires_grad_()
    z2.requires_grad_()
    with extra_negatives(4):  # rows: every rank's seeds, then its extras
        ref = info_nce(z1, z2, 0.5, bias=bias)
    g1, g2 = torch.autograd.grad(ref, [z1, z2])
    for res in ranks:
        got = res["extra"]
        assert abs(got["loss"] - ref.item()) < 1e-12
        # each rank's rows get the gradients of every rank's loss: W times
        # the global mean's
        torch.testing.assert_close(got["grads"][0], WORLD * g1[got["rows"]],
                                   rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(got["grads"][1], WORLD * g2[got["rows"]],
                                   rtol=1e-10, atol=1e-12)
    a, b = ranks
    assert len(a["negatives_loss"]) == 2
    assert a["negatives_loss"] == b["negatives_loss"]
