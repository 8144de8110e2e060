"""The ``gcl`` command line: ``gcl train | eval | bench | datasets``.

Run ``gcl COMMAND --help`` for the options of each command; ``python -m gcl``
is the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional

__all__ = ["main"]

#: The values of ``--task`` (those of :mod:`gcl.app.experiment`, not imported
#: here so that building the parser loads no experiment code).
_TASKS = ["classification", "clustering", "link", "ranking"]


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=None,
                   help="data root (default: $GCL_DATA, else the user cache)")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if available), cpu, cuda, cuda:1 ...")


def _add_deterministic(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deterministic", action="store_true",
                   help="use PyTorch's deterministic kernels (GPU runs that "
                   "repeat; slower); the record lists the operations that "
                   "had none")


def _add_batching(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, default=None,
                   help="train in mini-batches of this many seed nodes with "
                   "sampled neighbourhoods (default: the config's, else full "
                   "batch)")
    p.add_argument("--num-neighbors", type=int, nargs="+", default=None,
                   metavar="K", help="neighbours sampled per hop of a "
                   "mini-batch, -1 for all (default: 10 per encoder layer)")
    p.add_argument("--num-negatives", type=int, default=None, metavar="M",
                   help="with --batch-size: also draw M nodes uniformly from "
                   "the whole graph per batch, sample their neighbourhoods and "
                   "use them as negatives only (default: negatives from the "
                   "batch)")


def _batch_overrides(args: argparse.Namespace) -> list[str]:
    """``--batch-size``, ``--num-neighbors`` and ``--num-negatives`` as
    config overrides.
    """
    out = []
    if args.batch_size is not None:
        out.append(f"train.batch_size={args.batch_size}")
    if args.num_neighbors is not None:
        out.append(f"train.num_neighbors={list(args.num_neighbors)}")
    if args.num_negatives is not None:
        out.append(f"train.num_negatives={args.num_negatives}")
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from gcl.app.experiment import run_experiment

    out = Path(args.out or f"runs/{args.method}/{args.dataset}/seed{args.seed}")
    ckpt = None if args.no_save else out / "checkpoint.pt"
    overrides = [*args.set, *([f"eval.rule={args.rule}"] if args.rule else []),
                 *_batch_overrides(args)]
    if args.distributed:
        overrides.append("train.distributed=true")
    exp = run_experiment(args.method, args.dataset, seed=args.seed,
                         epochs=args.epochs, overrides=overrides, root=args.root,
                         device=args.device, protocol=args.protocol,
                         progress=not args.quiet, checkpoint=ckpt,
                         resume=args.resume, tasks=args.task,
                         deterministic_algorithms=args.deterministic)
    if args.distributed:
        from gcl.train.distributed import is_main_process
        if not is_main_process():  # rank 0 reports and writes the files
            return 0
    print(exp.summary())
    if not args.no_save:
        exp.save(out, plot=True)
        if args.plot:
            from gcl.datasets import load
            from gcl.viz import plot_embedding
            y = load(exp.config["dataset"], root=args.root).y
            plot_embedding(exp.embeddings, y, out / "tsne.png")
        print(f"wrote {out}/ (embeddings.pt, metrics.json, config.yaml, "
              f"history.json, loss.png{', tsne.png' if args.plot else ''})")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import torch

    from gcl import eval as E

    z = torch.load(args.embeddings, map_location="cpu", weights_only=True)
    kwargs = {} if args.runs is None else {"runs": args.runs}
    if args.task == "ranking":
        if not (args.item_embeddings and args.interactions):
            raise SystemExit("--task ranking needs --item-embeddings and "
                             "--interactions (a folder with train.txt, test.txt)")
        items = torch.load(args.item_embeddings, map_location="cpu",
                           weights_only=True)
        from gcl.datasets import load_interactions

        inter = load_interactions(args.interactions)
        result = E.ranking(z, items, inter.train, inter.test,
                           ks=tuple(args.ks))
    else:
        from gcl.datasets import load

        if args.dataset is None:
            raise SystemExit(f"--task {args.task} needs --dataset")
        data = load(args.dataset, root=args.root)
        if z.size(0) != data.num_nodes:
            raise SystemExit(f"{args.embeddings} has {z.size(0)} rows but "
                             f"{data.name} has {data.num_nodes} nodes")
        if args.task == "classification":
            result = E.node_classification(z, data.y, protocol=args.protocol,
                                           seed=args.seed, data=data, **kwargs)
        elif args.task == "clustering":
            result = E.clustering(z, data.y, seed=args.seed, **kwargs)
        else:  # link: the encoder must never have seen the held-out edges
            raise SystemExit(
                "--task link cannot score a saved embedding: link prediction "
                "trains the encoder on the training edges only. Use "
                "gcl.eval.link_prediction with the method, or gcl train "
                "--task link.")
    print(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from gcl.app.bench import render, run_bench

    # The README's results block mirrors benchmarks/results only: results
    # written elsewhere (a scratch --results-dir) leave it alone.
    readme = ("README.md" if Path("README.md").exists() and Path(
        args.results_dir).resolve() == Path("benchmarks/results").resolve()
        else None)
    if args.render_only:
        render(args.method, args.runs_dir, args.results_dir, readme)
        return 0
    if args.variants:
        from gcl.app.bench import compare_variants

        if not args.datasets:
            raise ValueError("--variants needs --datasets")
        for dataset in args.datasets:
            print(compare_variants(args.method, dataset, args.runs_dir))
        return 0
    seeds = args.seed_list if args.seed_list else list(range(args.seeds))
    records = run_bench(
        args.method, args.datasets, seeds, epochs=args.epochs, tasks=args.task,
        overrides=[*args.set, *_batch_overrides(args)], runs_dir=args.runs_dir,
        results_dir=args.results_dir, device=args.device, root=args.root,
        progress=args.progress, dry_run=args.dry_run, readme=readme,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_seconds=args.checkpoint_seconds,
        keep_checkpoints=args.keep_checkpoints,
        deterministic_algorithms=args.deterministic)
    if args.plot and not args.dry_run:
        from gcl.app.bench import summarize
        from gcl.viz import plot_comparison

        path = Path(args.results_dir) / f"{args.method}.png"
        plot_comparison({args.method: summarize(args.method, args.runs_dir)},
                        path, title=f"{args.method}: ours vs paper")
        print(f"wrote {path}")
    failed = [] if args.dry_run else [r for r in records if not r.exists()]
    if failed:  # each printed its [fail] line; scripts see it in the exit code
        print(f"gcl bench: {len(failed)} of {len(records)} runs wrote no "
              f"record: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from gcl.datasets import DATASETS, available, data_root

    avail = available(args.root)
    print(f"data root: {data_root(args.root)}")
    print(f"{'dataset':<13} {'local':<6} {'nodes':>7} {'features':>8} "
          f"{'classes':>7}  loader")
    for name, spec in DATASETS.items():
        print(f"{name:<13} {'yes' if avail.get(name) else 'no':<6} "
              f"{spec.num_nodes or '?':>7} {spec.num_features or '?':>8} "
              f"{spec.num_classes or '?':>7}  {spec.loader}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``gcl`` command."""
    parser = argparse.ArgumentParser(
        prog="gcl", description="Graph contrastive learning: train, evaluate "
        "and benchmark methods from their paper configurations.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a method with its config and "
                       "evaluate it", description="Train METHOD on --dataset "
                       "with gcl/configs/METHOD/DATASET.yaml, evaluate with the "
                       "config's protocol and write embeddings.pt, metrics.json, "
                       "config.yaml and loss.png to --out.")
    p.add_argument("method", help="method name, e.g. grace")
    p.add_argument("--dataset", required=True, help="dataset name, e.g. Cora")
    p.add_argument("--epochs", type=int, default=None,
                   help="override the config's epochs")
    p.add_argument("--seed", type=int, default=None,
                   help="override the config's seed")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.tau=0.5 "
                   "(repeatable)")
    p.add_argument("--protocol", default=None,
                   help="override the evaluation protocol")
    p.add_argument("--rule", default=None,
                   choices=["final", "val_selected", "max_over_epochs"],
                   help="reporting rule over the scored epochs (protocol "
                   "'clusters', PamC: every epoch; a node protocol with "
                   "--set eval.every=N, AdaMEOW's configs): final (the trained "
                   "model), val_selected (the scored epoch of best validation "
                   "score; not for 'clusters') or max_over_epochs (each "
                   "metric's best epoch, the papers' rule: selects on the test "
                   "labels); all are recorded, this picks the main result")
    p.add_argument("--task", nargs="+", default=["classification"],
                   choices=_TASKS,
                   help="evaluations: classification (config protocol), "
                   "clustering (k-means), link (retrains on 85%% of the edges, "
                   "AUC/AP on held-out edges), ranking (recommenders: full-"
                   "ranking Recall/NDCG@K on the test split, selection on a "
                   "validation split; the only task of lightgcn, simgcl, "
                   "lightgcl); default classification")
    p.add_argument("--out", default=None,
                   help="output folder (default runs/METHOD/DATASET/seedS)")
    p.add_argument("--resume", action="store_true",
                   help="resume from OUT/checkpoint.pt if it exists")
    p.add_argument("--plot", action="store_true",
                   help="also save a t-SNE plot of the embeddings")
    p.add_argument("--no-save", action="store_true",
                   help="write nothing (only print the result)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_batching(p)
    p.add_argument("--distributed", action="store_true",
                   help="train with torch.distributed (launch with torchrun; "
                   "rank 0 writes the results)")
    _add_deterministic(p)
    _add_common(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="evaluate saved embeddings",
                       description="Evaluate an embeddings file (torch.save of "
                       "an [N, d] tensor): node classification or k-means "
                       "clustering against a dataset's labels, or full-ranking "
                       "recommendation metrics.")
    p.add_argument("--embeddings", required=True,
                   help="path to embeddings.pt (user embeddings for ranking)")
    p.add_argument("--dataset", default=None,
                   help="dataset name (classification, clustering)")
    p.add_argument("--task", default="classification",
                   choices=_TASKS,
                   help="what to evaluate (default: classification)")
    p.add_argument("--item-embeddings", default=None,
                   help="ranking: item embeddings file")
    p.add_argument("--interactions", default=None,
                   help="ranking: folder with train.txt and test.txt "
                   "(LightGCN format)")
    p.add_argument("--ks", type=int, nargs="+", default=[20, 40],
                   help="ranking: cut-offs K (default 20 40)")
    p.add_argument("--protocol", default="linear_probe",
                   help="grace, linear_probe (gca), public (wikics)")
    p.add_argument("--runs", type=int, default=None,
                   help="number of splits (classification) or k-means runs")
    p.add_argument("--seed", type=int, default=0, help="split seed")
    p.add_argument("--json", default=None, help="also write the result here")
    _add_common(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("bench", help="run the benchmark harness",
                       description="Run METHOD x --datasets x seeds from the "
                       "configs (finished runs are skipped) and render "
                       "benchmarks/results/METHOD.md.")
    p.add_argument("method", help="method name")
    p.add_argument("--datasets", nargs="+", default=[], help="dataset names")
    p.add_argument("--seeds", type=int, default=5,
                   help="run seeds 0..K-1 (default 5)")
    p.add_argument("--seed-list", type=int, nargs="+", default=None,
                   help="explicit seeds instead of --seeds")
    p.add_argument("--epochs", type=int, default=None,
                   help="shorter runs than the config (labelled as such)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override (repeatable)")
    p.add_argument("--runs-dir", default="benchmarks/runs")
    p.add_argument("--results-dir", default="benchmarks/results")
    p.add_argument("--checkpoint-dir", default=None,
                   help="checkpoint each run there every --checkpoint-seconds "
                   "and resume from it (keep it in an ignored folder, e.g. "
                   "runs/checkpoints): long runs spread over sessions")
    p.add_argument("--checkpoint-seconds", type=float, default=300.0,
                   help="checkpoint period in seconds (default 300)")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="with --checkpoint-dir: keep each run's last "
                   "checkpoint, so that asking later for another --task "
                   "evaluates the trained model instead of training again")
    p.add_argument("--task", nargs="+", default=["classification"],
                   choices=_TASKS,
                   help="evaluations of each run (default classification; "
                   "ranking for the recommenders); "
                   "clustering and link add columns to the table")
    p.add_argument("--render-only", action="store_true",
                   help="only re-render the results table")
    p.add_argument("--variants", action="store_true",
                   help="train nothing: list the recorded variants of each "
                   "dataset (configs, --epochs, --set overrides) with their "
                   "validation and test scores, and the one validation "
                   "chooses")
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs that would execute")
    p.add_argument("--progress", action="store_true",
                   help="show each run's progress bar")
    p.add_argument("--plot", action="store_true",
                   help="also save a bar chart (ours vs paper) next to the table")
    _add_batching(p)
    _add_deterministic(p)
    _add_common(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("datasets", help="list datasets and local availability",
                       description="List the known datasets and whether each "
                       "is available under the data root.")
    p.add_argument("--root", default=None, help="data root")
    p.set_defaults(func=_cmd_datasets)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``gcl`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        # bad input (unknown method or dataset, missing files, malformed
        # override): one line naming the problem; GCL_TRACEBACK=1 re-raises
        if os.environ.get("GCL_TRACEBACK"):
            raise
        print(f"gcl {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
