"""Mini-batch GRACE at scale: seconds per epoch and peak memory.

Three experiments, each configuration in a fresh child process (spawn), so
that each has its own memory high-water mark:

- ``synthetic``: a stochastic-block-model graph with ogbn-arxiv's shape
  (169,343 nodes, 1,166,243 undirected pairs made symmetric: about 2.3 M
  ``edge_index`` entries, as arxiv made undirected; 128 features, 40 blocks;
  ogbn-arxiv itself is online-only) and one with 1,000,000 nodes (average
  degree 10). One epoch of mini-batch GRACE (``--batch-size``,
  ``--num-neighbors``), optionally stopped after ``--max-batches`` batches
  and extrapolated to the epoch (``batches`` column says how many ran).
- ``physics``: Coauthor-Physics (34,493 nodes, 8,415 sparse features),
  GRACE's Physics config, mini-batch vs full-batch, ``--epochs`` epochs each:
  median seconds per epoch (first epoch dropped when there are more) and
  peak memory; ``--accuracy`` adds the linear probe of the trained models.
- ``ddp``: Physics, two ``gloo`` processes (``distributed=True``, the global
  batch split between them) vs one process with the same global batch.

Peak memory is the child's ``VmHWM`` (interpreter, torch, the graph, the
epochs) and the increment over the resident size just before training.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/scale.py synthetic \\
        --nodes 169343 --max-batches 5 [--threads 2] [--json out.json]
    PYTHONPATH=. python benchmarks/scale.py physics --epochs 3
    PYTHONPATH=. python benchmarks/scale.py ddp --epochs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sbm_graph(num_nodes: int, num_pairs: int, num_blocks: int = 40,
              channels: int = 128, p_in: float = 0.8, seed: int = 0):
    """A stochastic-block-model graph: each pair joins two nodes of one block
    with probability ``p_in``, else two random nodes; symmetric, no
    self-loops, duplicates kept (as sampled). Features: the block's random
    centre plus unit noise, so the blocks are learnable.
    """
    from torch_geometric.data import Data

    g = torch.Generator().manual_seed(seed)
    block = torch.randint(num_blocks, (num_nodes,), generator=g)
    order = torch.argsort(block)
    counts = torch.bincount(block, minlength=num_blocks)
    start = torch.cumsum(counts, 0) - counts
    src = torch.randint(num_nodes, (num_pairs,), generator=g)
    inside = torch.rand(num_pairs, generator=g) < p_in
    b = block[src]
    offset = (torch.rand(num_pairs, generator=g) * counts[b]).long()
    dst = torch.where(inside, order[start[b] + offset],
                      torch.randint(num_nodes, (num_pairs,), generator=g))
    keep = src != dst
    src, dst = src[keep], dst[keep]
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    centre = torch.randn(num_blocks, channels, generator=g)
    x = centre[block] + torch.randn(num_nodes, channels, generator=g)
    return Data(x=x, edge_index=edge_index, y=block)


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _limit_batches(max_batches):
    """Stops each epoch after ``max_batches`` batches (loader wrapper)."""
    import gcl.train.loop as loop

    if not max_batches:
        return None
    counted = {"total": 0, "ran": 0}
    original = loop._loader

    def limited(*args, **kwargs):
        loader, sampler = original(*args, **kwargs)
        counted["total"] = len(loader)

        class Head:
            def __len__(self):
                return min(max_batches, len(loader))

            def __iter__(self):
                for i, batch in enumerate(loader):
                    if i >= max_batches:
                        return
                    counted["ran"] = i + 1
                    yield batch

        return Head(), sampler

    loop._loader = limited
    return counted


def _child(job: dict, queue) -> None:
    torch.set_num_threads(job["threads"])
    import gcl
    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.methods import GRACE, build_method

    out = {"job": job}
    t0 = time.perf_counter()
    if job["graph"] == "physics":
        cfg = load_config("grace", "Physics")
        data = load("Physics", **cfg["data"])
        model = build_method("grace", data.num_features, **cfg["model"])
        lr, wd, seed = cfg["train"]["lr"], cfg["train"]["weight_decay"], cfg["seed"]
    else:
        data = sbm_graph(job["nodes"], job["pairs"])
        model = GRACE.from_config(128, 128, 128, activation="prelu",
                                  drop_edge=(0.2, 0.3), drop_feature=(0.1, 0.1))
        lr, wd, seed = 0.001, 1e-5, 0
    out.update(nodes=data.num_nodes, edges=data.num_edges,
               build_s=time.perf_counter() - t0)
    counted = _limit_batches(job.get("max_batches"))
    kw = {}
    if job.get("batch_size"):
        kw = dict(batch_size=job["batch_size"], num_neighbors=job["num_neighbors"])
    if job.get("distributed"):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(job["port"]),
                          RANK=str(job["rank"]), WORLD_SIZE=str(job["world"]))
        kw["distributed"] = True
    _reset_peak()
    before = _rss_mb("VmRSS")
    cpu0 = time.process_time()
    h = gcl.fit(model, data, epochs=job["epochs"], lr=lr, weight_decay=wd,
                seed=seed, progress=False, device="cpu", **kw)
    secs = h.seconds[1:] if len(h.seconds) > 1 else h.seconds
    out.update(seconds=sorted(secs)[len(secs) // 2], all_seconds=h.seconds,
               cpu_seconds_per_epoch=(time.process_time() - cpu0) / job["epochs"],
               load_average=os.getloadavg(),
               loss=h.loss, peak_mb=_rss_mb("VmHWM"),
               fit_increment_mb=_rss_mb("VmHWM") - before)
    if counted:
        out.update(batches_run=counted["ran"], batches_per_epoch=counted["total"])
        out["epoch_seconds_extrapolated"] = (
            out["seconds"] * counted["total"] / max(counted["ran"], 1))
    if job.get("accuracy") and job.get("rank", 0) == 0:
        from gcl.eval import node_classification
        z = model.embed(data)
        res = node_classification(z, data.y, protocol="linear_probe", seed=0,
                                  data=data)
        out["accuracy"] = res.mean
    queue.put(out)


def run(jobs: list[dict]) -> list[dict]:
    """Runs jobs that belong together (the ranks of one ddp run) at once."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(job, queue)) for job in jobs]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return sorted(results, key=lambda r: r["job"].get("rank", 0))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("experiment", choices=["synthetic", "physics", "ddp"])
    p.add_argument("--nodes", type=int, nargs="+", default=[169343, 1_000_000])
    p.add_argument("--pairs", type=int, nargs="+", default=None,
                   help="undirected pairs per graph (default: arxiv's 1,166,243 "
                   "for 169,343 nodes, else 5 per node)")
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--num-neighbors", type=int, nargs="+", default=[10, 10])
    p.add_argument("--max-batches", type=int, default=0,
                   help="stop each epoch after this many batches (0: all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--accuracy", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    base = dict(threads=args.threads, epochs=args.epochs,
                max_batches=args.max_batches, num_neighbors=args.num_neighbors,
                accuracy=args.accuracy)
    results = []
    if args.experiment == "synthetic":
        for i, n in enumerate(args.nodes):
            pairs = (args.pairs[i] if args.pairs else
                     1_166_243 if n == 169343 else 5 * n)
            results += run([dict(base, graph="sbm", nodes=n, pairs=pairs,
                                 batch_size=args.batch_size)])
    elif args.experiment == "physics":
        results += run([dict(base, graph="physics", batch_size=args.batch_size)])
        results += run([dict(base, graph="physics", batch_size=None)])
    else:
        results += run([dict(base, graph="physics", batch_size=args.batch_size)])
        port = _port()
        results += run([dict(base, graph="physics", batch_size=args.batch_size // 2,
                             distributed=True, rank=r, world=2, port=port)
                        for r in range(2)])
    for r in results:
        job = r["job"]
        print(f"{job['graph']:8s} nodes={r['nodes']:>9,} edges={r['edges']:>10,} "
              f"batch={job.get('batch_size')} rank={job.get('rank', '-')} "
              f"s/epoch={r['seconds']:.2f} (CPU {r['cpu_seconds_per_epoch']:.1f}) "
              + (f"(epoch extrapolated from {r['batches_run']}/"
                 f"{r['batches_per_epoch']} batches: "
                 f"{r['epoch_seconds_extrapolated']:.1f} s) "
                 if "batches_run" in r else "")
              + f"peak={r['peak_mb']:.0f} MiB (+{r['fit_increment_mb']:.0f} in fit) "
              f"loss={r['loss'][-1]:.4f}"
              + (f" acc={r['accuracy']:.4f}" if "accuracy" in r else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
