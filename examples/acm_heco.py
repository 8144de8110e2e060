"""HeCo (or MEOW / AdaMEOW) on HeCo's ACM, end to end, under the HeCo protocol.

Trains the method with its official ACM settings (gcl/configs/<method>/
ACM-HeCo.yaml) on the heterogeneous ACM graph (papers, authors, subjects;
meta-paths PAP and PSP) and evaluates the paper embeddings with HeCo's probe
on the shipped 20/40/60-labels-per-class splits (Macro-F1, Micro-F1, AUC),
then k-means clustering (NMI, ARI).

HeCo and MEOW stop early on the training loss (HeCo restores the lowest-loss
weights, MEOW keeps the last ones); AdaMEOW trains its fixed 1,200 epochs
(hours on a CPU: use --epochs for a short run).

    python examples/acm_heco.py [--method heco|meow|adameow] [--epochs N]

HeCo's ACM files must be under the data root (GCL_DATA): <root>/heco/acm/.
"""

import argparse

import gcl
from gcl.app.config import load_config, protocol_options
from gcl.datasets import load
from gcl.eval import clustering, node_classification
from gcl.methods import build_method


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="heco",
                        choices=["heco", "meow", "adameow"])
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the config's epochs (an upper bound "
                        "for HeCo and MEOW, which stop early)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    cfg = load_config(args.method, "ACM-HeCo")
    train = cfg["train"]
    seed = cfg["seed"] if args.seed is None else args.seed
    data = load("ACM-HeCo", **cfg["data"])
    method = build_method(cfg, data.num_features)
    print(method)
    hist = gcl.fit(method, data, epochs=args.epochs or train["epochs"],
                   lr=train["lr"], weight_decay=train.get("weight_decay", 0.0),
                   seed=seed, monitor=train.get("monitor"),
                   patience=train.get("patience"),
                   restore_best=train.get("restore_best", True))
    print(f"{hist.epochs} epochs, {hist.seconds_per_epoch:.2f} s/epoch, best "
          f"loss {min(hist.loss):.4f} at epoch {hist.best_epoch}")
    z = method.embed(data)
    y = data[data.target_node_type].y
    ev = protocol_options(cfg["eval"])  # not the reporting keys (rule, every)
    print(node_classification(z, y, "heco", data=data, seed=seed, **ev))
    print(clustering(z, y, seed=seed))


if __name__ == "__main__":
    main()
