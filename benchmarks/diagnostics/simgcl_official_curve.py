"""Diagnostic: the official SELFRec SimGCL trained on gcl's LastFM split,
its own loop and evaluation, to see its validation curve.

Runs ``SimGCL.train`` of ``Coder-Yu/SELFRec`` (``model/graph/SimGCL.py``,
imported from the checkout with ``.cuda()`` removed in memory; ``numba``
stubbed when missing, so its top-k runs in Python) on the training
interactions of ``load_interactions(dataset, val_fraction=0.1, seed)``,
with the validation interactions as SELFRec's "test" set: its
``fast_evaluation`` prints Recall@20 and NDCG@20 on them after every epoch.
The test split is not used. SELFRec's settings (conf/SimGCL.yaml) except
``--epochs`` and ``--cl-rate``::

    python benchmarks/diagnostics/simgcl_official_curve.py \\
        --official /tmp/selfrec_official --epochs 30 --cl-rate 0.5

(SELFRec writes ``./log/`` in the working directory: run it from a scratch
folder.)
"""

import random
import sys
from pathlib import Path

import numpy as np
import torch

from gcl.datasets import load_interactions

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402


class _Conf(dict):
    """What SELFRec reads of its ``ModelConf``."""

    def contain(self, key):
        return key in self

    @property
    def config(self):
        return self


def main() -> None:
    parser = common.lockstep_parser(__doc__, "SELFRec checkout (its root folder)")
    parser.add_argument("--dataset", default="LastFM")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--cl-rate", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        import numba  # noqa: F401
    except ImportError:
        common.stub_module("numba", jit=lambda *a, **k: (lambda f: f))
    sys.path.insert(0, args.official)
    official = common.load_patched(f"{args.official}/model/graph/SimGCL.py",
                                   "selfrec_simgcl", [(".cuda()", "")])
    data = load_interactions(args.dataset, val_fraction=0.1, seed=args.seed)
    train = [[str(u), str(i), 1.0] for u, i in data.train.t().tolist()]
    val = [[str(u), str(i), 1.0] for u, i in data.val.t().tolist()]
    conf = _Conf({"model": {"name": "SimGCL", "type": "graph"},
                  "item.ranking.topN": [20], "embedding.size": 64,
                  "max.epoch": args.epochs, "batch.size": 2048,
                  "learning.rate": 0.001, "reg.lambda": 0.0001,
                  "SimGCL": {"n_layer": 2, "lambda": args.cl_rate, "eps": 0.1},
                  "output": "./results/"})
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rec = official.SimGCL(conf, train, val)
    print(f"{args.dataset} (val 0.1, seed {args.seed}): {rec.data.user_num} users, "
          f"{rec.data.item_num} items, {len(train)} train, {len(val)} val "
          f"interactions; lambda {args.cl_rate}", flush=True)
    rec.train()


if __name__ == "__main__":
    main()
