"""gcl's ``GCNEncoder`` against a stack of PyG ``GCNConv`` layers on the
same augmented graph: one forward and backward pass, same weights.

``GCNEncoder`` normalises the edge list once per call with PyG's
``gcn_norm`` and builds one CSR matrix for all its layers; since
2026-11-29 (second change) it also takes the transpose that the backward
pass multiplies with from the order of a sorted, duplicate-free edge list
(a coalesced graph and every edge-dropped view of one), where a sort of
all entries built it before: 0.62 -> 0.45 of PyG's time on ACM's PSP.
The references are the same layers as PyG runs them without caching: on
the CSR matrix (each layer normalises it again: a sort and a CSR
conversion per layer, what ``GCNEncoder`` did before 2026-11-29) and on
the edge list (each layer normalises the edge list and gathers/scatters
its messages, as the official GRACE, GCA, CSGCL, gCooL and POT codes do).
Every variant runs the same number of times, alternating, on one thread;
the table gives medians and the ratios gcl / reference, and checks that
the three agree.

Graphs: Photo's and Computers' co-purchase graphs with 30 % of the edges
dropped (a GRACE view; widths 745 -> 256 -> 128) and ACM's PSP meta-path
graph with 30 % dropped (4.3 million edges; gCooL multiplex's widths
1902 -> 128 -> 64).

    python benchmarks/gcn_encoder_speed.py [--reps 8]
        [--out benchmarks/results/gcn_encoder_speed.md]
"""

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch_geometric.nn import GCNConv
from torch_geometric.utils import to_torch_csr_tensor

from gcl.app.record import machine_info
from gcl.datasets import load
from gcl.nn import GCNEncoder

GRAPHS = {"Photo": (256, 128), "Computers": (256, 128), "ACM-HeCo PSP": (128, 64)}


def graph(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense features and the full edge list of ``name``."""
    if name == "ACM-HeCo PSP":
        data = load("ACM-HeCo")
        x, ei = data["paper"].x, data["paper", "psp", "paper"].edge_index
        ei = ei[:, ei[0] != ei[1]]  # as GCOOLMultiplex reads it
    else:
        data = load(name)
        x, ei = data.x, data.edge_index
    return (x.to_dense() if x.is_sparse else x), ei


def reference(enc: GCNEncoder, on_csr: bool):
    """PyG ``GCNConv`` layers with ``enc``'s weights, normalising per layer."""
    convs = torch.nn.ModuleList()
    for conv in enc.convs:
        ref = GCNConv(conv.in_channels, conv.out_channels)
        ref.lin.weight.data.copy_(conv.lin.weight)
        ref.bias.data.copy_(conv.bias)
        convs.append(ref)
    act = enc.activation

    def run(x, ei):
        n = x.size(0)
        adj = to_torch_csr_tensor(ei.flip(0), torch.ones(ei.size(1)),
                                  size=(n, n)) if on_csr else ei
        for conv in convs:
            x = act(conv(x, adj))
        return x
    return run, list(convs.parameters()) + list(act.parameters())


def step(fn, params, x, ei) -> tuple[float, torch.Tensor]:
    """Seconds of one forward and backward pass, and the output."""
    t = time.perf_counter()
    z = fn(x, ei)
    z.pow(2).sum().backward()
    for p in params:
        p.grad = None
    return time.perf_counter() - t, z.detach()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=8)
    p.add_argument("--out", default="benchmarks/results/gcn_encoder_speed.md")
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name, (hidden, out) in GRAPHS.items():
        x, full = graph(name)
        g = torch.Generator().manual_seed(0)
        ei = full[:, torch.rand(full.size(1), generator=g) >= 0.3]
        torch.manual_seed(0)
        enc = GCNEncoder(x.size(1), out, hidden_channels=hidden,
                         activation="prelu")
        variants = {"gcl": (enc, list(enc.parameters())),
                    "PyG, CSR": reference(enc, True),
                    "PyG, edge list": reference(enc, False)}
        times = {k: [] for k in variants}
        outs = {}
        for rep in range(args.reps + 1):
            for k, (fn, params) in variants.items():
                s, outs[k] = step(fn, params, x, ei)
                if rep:  # the first round warms up
                    times[k].append(s)
        err = max((outs[k] - outs["gcl"]).abs().max().item() for k in outs)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append(f"| {name} | {x.size(0)} | {ei.size(1)} | {x.size(1)} -> "
                    f"{hidden} -> {out} | {med['gcl']:.3f} | "
                    f"{med['PyG, CSR']:.3f} | {med['PyG, edge list']:.3f} | "
                    f"{med['gcl'] / med['PyG, CSR']:.2f} | "
                    f"{med['gcl'] / med['PyG, edge list']:.2f} | {err:.1e} |")
        print(rows[-1], flush=True)
    m = machine_info(torch.device("cpu"))
    text = "\n".join([
        "# GCNEncoder: one normalisation per call against PyG's per-layer one",
        "",
        "<!-- --8<-- [start:body] -->",
        "Generated by `python benchmarks/gcn_encoder_speed.py` (see its "
        "docstring). One forward and backward pass of a 2-layer PReLU GCN on "
        "one augmented view (30 % of the edges dropped), same weights; "
        f"medians of {args.reps} alternating runs after one warm-up, in "
        "seconds; *max diff*: the largest difference of the outputs from "
        "gcl's.",
        "",
        f"Machine: {m['cpu']} ({m['cpu_capability']}), 1 torch thread, torch "
        f"{m['torch']}, PyG {m['torch_geometric']}, gcl {m['commit']}.",
        "",
        "| graph | N | edges | widths | gcl s | PyG on CSR s | PyG on edge list s "
        "| ratio to CSR | ratio to edge list | max diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "<!-- --8<-- [end:body] -->",
        ""])
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
