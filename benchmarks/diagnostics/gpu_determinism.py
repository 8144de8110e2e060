"""Diagnostic: does a training run repeat bit for bit, and which part does not?

Two GPU runs of GRACE on Photo (seed 0, the shipped config) on PyTorch's
deterministic kernels (``gcl bench --deterministic``) ended 60 points apart
(28.41 and 87.97, ``benchmarks/notes/grace.md``) with no operation reported
as lacking a deterministic kernel. This script finds where two runs part.
Inside :func:`gcl.train.deterministic` (or without it, ``--plain``) it runs
each piece of one training step twice on the same inputs and compares the
results bit for bit:

- ``views``: the two augmented views drawn from the same seed;
- ``csr``: the normalised adjacency of view 1 as a CSR tensor
  (``to_torch_csr_tensor``);
- ``spmm``: one propagation with it (:func:`gcl.nn.spmm`), forward and the
  gradient of its input;
- ``scatter``: a degree sum over the view's edges (PyG ``scatter``);
- ``encode``: the encoder on the two fixed views;
- ``objective``: the method's loss on fixed embeddings, and its gradient;
- ``step``: encoder and loss on fixed views, every parameter's gradient;
- ``adam``: one optimiser step from fixed gradients;

then trains two copies of the model from the same start and seed for
``--epochs`` epochs with :func:`gcl.fit` and reports the first epoch whose
loss differs and the largest parameter difference at the end. On the CPU
every line should say ``equal``; a GPU line that does not names the part
to fix. Writes the whole report as JSON to ``--out``.

    python benchmarks/diagnostics/gpu_determinism.py --method grace \\
        --dataset Photo --epochs 50 --device cuda --out /tmp/det.json
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable
from typing import Any

import torch
from torch_geometric.utils import add_remaining_self_loops, scatter, to_torch_csr_tensor

import gcl
from gcl.app.config import load_config
from gcl.datasets import load
from gcl.methods import build_method
from gcl.nn import spmm


def _flat(value: Any) -> list[torch.Tensor]:
    """The tensors inside ``value`` (tensor, Data, tuple/list/dict), in order."""
    if isinstance(value, torch.Tensor):
        t = value.to_dense() if value.layout != torch.strided else value
        return [t.detach()]
    if isinstance(value, dict):
        return [t for k in sorted(value) for t in _flat(value[k])]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _flat(v)]
    if hasattr(value, "stores"):  # a PyG Data view
        return [t for s in value.stores for k in sorted(s.keys())
                if isinstance(s[k], torch.Tensor) for t in _flat(s[k])]
    return []


def compare(a: Any, b: Any) -> dict[str, Any]:
    """``equal`` when every tensor of ``a`` and ``b`` agrees bit for bit,
    else the largest absolute difference and how many tensors differ.
    """
    ta, tb = _flat(a), _flat(b)
    if len(ta) != len(tb) or any(x.shape != y.shape for x, y in zip(ta, tb)):
        return {"equal": False, "note": "different shapes"}
    bad = [(x, y) for x, y in zip(ta, tb) if not torch.equal(x, y)]
    if not bad:
        return {"equal": True, "tensors": len(ta)}
    diff = max(float((x.double() - y.double()).abs().max()) for x, y in bad)
    return {"equal": False, "tensors": len(ta), "differ": len(bad),
            "max_abs_diff": diff}


def twice(fn: Callable[[], Any]) -> dict[str, Any]:
    return compare(fn(), fn())


def pieces(model, data, seed: int) -> dict[str, dict[str, Any]]:
    """Each piece of one step run twice on the same inputs."""
    out = {}

    def views():
        torch.manual_seed(seed)
        return model.encode_views(data)[0]

    out["views"] = twice(views)
    v1, v2 = views()
    n = data.num_nodes
    ei, ew = add_remaining_self_loops(
        v1.edge_index, torch.ones(v1.edge_index.size(1), device=data.x.device),
        1.0, n)

    def degree():
        return scatter(ew, ei[1], 0, dim_size=n, reduce="sum")

    out["scatter"] = twice(degree)
    deg = degree()
    dinv = deg.pow(-0.5)
    w = dinv[ei[0]] * ew * dinv[ei[1]]

    def csr():
        a = to_torch_csr_tensor(ei.flip(0), w, size=(n, n))
        return a.crow_indices(), a.col_indices(), a.values()

    out["csr"] = twice(csr)
    adj = to_torch_csr_tensor(ei.flip(0), w, size=(n, n))
    g = torch.Generator(device="cpu").manual_seed(seed)
    h = torch.randn(n, 256, generator=g).to(data.x.device)
    grad = torch.randn(n, 256, generator=g).to(data.x.device)

    def prop():
        x = h.clone().requires_grad_(True)
        y = spmm(adj, x)
        y.backward(grad)
        return y, x.grad

    out["spmm"] = twice(prop)
    out["encode"] = twice(lambda: (model.encode(v1), model.encode(v2)))
    with torch.no_grad():
        z1, z2 = model.encode(v1), model.encode(v2)

    def objective():
        a = z1.clone().requires_grad_(True)
        b = z2.clone().requires_grad_(True)
        loss = model.objective(a, b, (v1, v2))
        loss = loss["loss"] if isinstance(loss, dict) else loss
        loss.backward()
        return loss, a.grad, b.grad

    out["objective"] = twice(objective)

    def step():
        model.zero_grad(set_to_none=True)
        loss = model.objective(model.encode(v1), model.encode(v2), (v1, v2))
        loss = loss["loss"] if isinstance(loss, dict) else loss
        loss.backward()
        return [loss] + [p.grad for p in model.parameters() if p.grad is not None]

    out["step"] = twice(step)
    step()
    grads = {k: p.grad.clone() for k, p in model.named_parameters()
             if p.grad is not None}

    def adam():
        m = copy.deepcopy(model)
        for k, p in m.named_parameters():
            p.grad = grads[k].clone() if k in grads else None
        opt = torch.optim.Adam(m.parameters(), lr=0.1)
        opt.step()
        return [p for p in m.parameters()]

    out["adam"] = twice(adam)
    return out


def trajectory(model, data, cfg: dict, epochs: int, seed: int,
               device: str) -> dict[str, Any]:
    """Two :func:`gcl.fit` runs of copies of ``model`` from the same seed."""
    runs = []
    for _ in range(2):
        m = copy.deepcopy(model)
        h = gcl.fit(m, data, epochs=epochs, lr=cfg["train"]["lr"],
                    weight_decay=cfg["train"].get("weight_decay", 0.0),
                    seed=seed, device=device, progress=False)
        runs.append((h.loss, [p.detach() for p in m.parameters()]))
    (la, pa), (lb, pb) = runs
    first = next((e + 1 for e, (x, y) in enumerate(zip(la, lb)) if x != y), None)
    return {"epochs": epochs, "first_differing_epoch": first,
            "loss_a": la[-1], "loss_b": lb[-1],
            "parameters": compare(pa, pb)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", default="grace")
    p.add_argument("--dataset", default="Photo")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--plain", action="store_true",
                   help="leave PyTorch's default (non-deterministic) kernels on")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default=None, help="write the report as JSON here")
    args = p.parse_args()

    cfg = load_config(args.method, args.dataset, args.set)
    device = gcl.train.resolve_device(args.device)
    # entered before anything touches the device: cuBLAS reads its workspace
    # setting when its handle is created
    with gcl.train.deterministic(enabled=not args.plain) as alerts:
        data = load(args.dataset, **cfg["data"]).to(device)
        torch.manual_seed(args.seed)
        model = build_method(cfg["method"], data.num_features, **cfg["model"])
        model.to(device).prepare(data)
        report = {"method": args.method, "dataset": args.dataset,
                  "device": str(device), "deterministic": not args.plain,
                  "gpu": (torch.cuda.get_device_name(device)
                          if device.type == "cuda" else None),
                  "torch": torch.__version__,
                  "pieces": pieces(model, data, args.seed),
                  "trajectory": trajectory(model, data, cfg, args.epochs,
                                           args.seed, str(device))}
        report["nondeterministic_ops"] = list(alerts)
    for name, r in report["pieces"].items():
        print(f"{name:10s} {'equal' if r['equal'] else 'DIFFERS'} {r}", flush=True)
    t = report["trajectory"]
    print(f"trajectory: {t['epochs']} epochs, first differing epoch "
          f"{t['first_differing_epoch']}, final losses {t['loss_a']:.10g} / "
          f"{t['loss_b']:.10g}, parameters {t['parameters']}")
    print(f"operations without a deterministic kernel: "
          f"{report['nondeterministic_ops']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
