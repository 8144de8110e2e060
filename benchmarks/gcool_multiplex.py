"""gCooL on multiplex graphs: HeCo's meta-path graphs as the views.

**Prefer** ``gcl bench gcool_multiplex --datasets ACM-HeCo DBLP-HeCo
AMiner-HeCo Freebase-HeCo --task classification clustering``: the same model
(``gcl/configs/gcool_multiplex/``; they contrast within each relation since
2026-11-29, and this script's defaults across the relations, as its records
do: ``--contrast within --drop-edge 0.3 --drop-feature 0.3`` gives the
configs' design) on the same graphs (the
``HeteroData`` of ``gcl.datasets.load``, whose meta-path graphs the model reads
as these relations), with HeCo's full protocol (50 probe runs), k-means
clustering, and records that ``benchmarks/hetero_table.py`` puts beside
HeCo, MEOW and AdaMEOW. This script is kept for its earlier records and for
experiments with its flags (a subset of meta-paths, per-relation
assignments); its records are in its own format and not tabulated there.

Trains :class:`gcl.methods.GCOOLMultiplex` (one GCN encoder per meta-path
graph, one community assignment shared by all relations, DeCA per relation,
ReSC and the node term across relation pairs, embedding = mean over
relations) on a HeCo data set and scores the embeddings with HeCo's
labels-per-class protocol (``gcl.eval.labels_per_class`` on HeCo's fixed
20/40/60-per-class splits; Macro-F1, Micro-F1, AUC; the probe's learning rate
is HeCo's: 0.05 on ACM, 0.01 elsewhere).

The multiplex design is a reconstruction (the official gCooL code releases
only the single-view model) and the hyper-parameters below are gcl choices,
not the paper's: no number here is comparable with a published one.

    python benchmarks/gcool_multiplex.py --dataset acm --epochs 500 --seed 0
    python benchmarks/gcool_multiplex.py --dataset dblp --epochs 500 --seed 0

Writes ``benchmarks/runs/gcool_multiplex/<dataset>/seed<S>.json``.
"""

import argparse
import json
import time
from pathlib import Path

import gcl
from gcl.app.record import machine_info, peak_memory_mb
from gcl.datasets import HECO_METAPATHS, heco_dir, load_heco_multiplex
from gcl.eval import labels_per_class, load_heco_splits
from gcl.methods import GCOOLMultiplex
from gcl.train import resolve_device

PROBE_LR = {"acm": 0.05}  # HeCo's evaluate(): 0.05 on ACM, 0.01 elsewhere


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="acm", choices=sorted(HECO_METAPATHS))
    p.add_argument("--metapaths", nargs="+", default=None,
                   help="meta-path graphs to use (default: all of the data set)")
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--hidden", type=int, default=64, help="embedding size h")
    p.add_argument("--first-hidden", type=int, default=128,
                   help="width of the first GCN layer")
    p.add_argument("--activation", default="prelu")
    p.add_argument("--tau", type=float, default=0.5)
    p.add_argument("--num-communities", type=int, default=None,
                   help="K (default: the number of classes)")
    p.add_argument("--lam", type=float, default=1.0)
    p.add_argument("--stride", type=float, default=500)
    p.add_argument("--alpha-rate", type=float, default=0.2,
                   help="community terms stop at alpha_rate * stride epochs")
    p.add_argument("--similarity", default="cos", choices=["cos", "rbf"])
    p.add_argument("--per-relation-assignment", action="store_true",
                   help="one assignment per relation instead of a shared one")
    p.add_argument("--contrast", default="across", choices=["across", "within"],
                   help="the relations as the views, or two augmented views "
                        "of each relation (needs --drop-edge/--drop-feature)")
    p.add_argument("--drop-edge", type=float, default=0.0)
    p.add_argument("--drop-feature", type=float, default=0.0)
    p.add_argument("--probe-runs", type=int, default=10,
                   help="probe trainings per split (HeCo: 50)")
    p.add_argument("--device", default="auto")
    p.add_argument("--root", default=None, help="data root (default $GCL_DATA)")
    p.add_argument("--out", default="benchmarks/runs/gcool_multiplex")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()

    data = load_heco_multiplex(args.dataset, root=args.root,
                               metapaths=args.metapaths)
    splits = load_heco_splits(heco_dir(args.dataset, args.root))
    num_classes = int(data.y.max()) + 1
    settings = dict(
        relations=data.metapaths, hidden_channels=args.hidden,
        first_hidden=args.first_hidden, activation=args.activation,
        tau=args.tau, num_communities=args.num_communities or num_classes,
        lam=args.lam, stride=args.stride, alpha_rate=args.alpha_rate,
        similarity=args.similarity,
        shared_assignment=not args.per_relation_assignment,
        drop_edge=args.drop_edge, drop_feature=args.drop_feature,
        contrast=args.contrast)
    method = GCOOLMultiplex.from_config(data.num_features, **settings)
    print(f"{data.name}: {data.num_nodes} nodes, relations "
          + ", ".join(f"{k} ({v.size(1)} edges)" for k, v in data.relations.items()))
    device = resolve_device(args.device)
    t0 = time.perf_counter()
    history = gcl.fit(method, data, epochs=args.epochs, lr=args.lr,
                      weight_decay=args.weight_decay, seed=args.seed,
                      device=device, progress=not args.quiet)
    train_s = time.perf_counter() - t0
    z = method.embed(data.to(device))
    result = labels_per_class(z, data.y, splits=splits, runs=args.probe_runs,
                              seed=args.seed,
                              lr=PROBE_LR.get(args.dataset, 0.01))
    print(f"loss {history.loss[0]:.4f} -> {history.loss[-1]:.4f}, "
          f"{history.seconds_per_epoch:.3f} s/epoch")
    for k in result.details["shots"]:
        m, s = result.metrics, result.std
        print(f"  {k:>2} labels/class: Macro-F1 {100 * m[f'macro_f1@{k}']:.2f} ± "
              f"{100 * s[f'macro_f1@{k}']:.2f}  Micro-F1 "
              f"{100 * m[f'micro_f1@{k}']:.2f} ± {100 * s[f'micro_f1@{k}']:.2f}  "
              f"AUC {100 * m[f'auc@{k}']:.2f}")
    record = {"method": "gcool_multiplex", "dataset": data.name,
              "seed": args.seed, "epochs": args.epochs,
              "protocol": result.protocol, "metrics": result.metrics,
              "std": result.std,
              "settings": {**settings, "lr": args.lr,
                           "weight_decay": args.weight_decay,
                           "probe_runs": args.probe_runs},
              "seconds_per_epoch": history.seconds_per_epoch,
              "train_seconds": train_s, "final_loss": history.loss[-1],
              "peak_memory_mb": peak_memory_mb(device),
              "machine": machine_info(device)}
    out = Path(args.out) / args.dataset / f"seed{args.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
