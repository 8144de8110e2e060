"""Time and memory of gcl.eval.ranking at Gowalla scale.

Loads the LightGCN Gowalla split (29,858 users, 40,981 items, 810,128 train and
217,242 test interactions) from ``<data>/rec/gowalla`` when it is there, else
draws random interactions of the same sizes, pairs them with random 64-dim
embeddings and times one full-ranking evaluation (Recall/NDCG @20 and @40).
Extra peak memory is the growth of ``ru_maxrss`` during the evaluation (the
process peak before it already holds the data and embeddings). Single torch
thread, as the evaluation shares its machine.

    python benchmarks/ranking_scale.py [--data ../shared/data] [--dim 64]
                                       [--batch-size 1024] [--threads 1]
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import torch

from gcl.datasets import load_interactions
from gcl.eval import ranking

NUM_USERS, NUM_ITEMS, NUM_TRAIN, NUM_TEST = 29858, 40981, 810128, 217242


def maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def random_interactions(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    keys = torch.randint(0, NUM_USERS * NUM_ITEMS, (NUM_TRAIN + NUM_TEST,),
                         generator=g)
    pairs = torch.stack([keys // NUM_ITEMS, keys % NUM_ITEMS])
    return pairs[:, :NUM_TRAIN], pairs[:, NUM_TRAIN:], NUM_USERS, NUM_ITEMS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get(
        "GCL_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    folder = Path(args.data) / "rec" / "gowalla"
    t0 = time.perf_counter()
    if (folder / "train.txt").is_file():
        data = load_interactions(folder)
        train, test = data.train, data.test
        num_users, num_items = data.num_users, data.num_items
        source = f"gowalla ({folder})"
    else:
        train, test, num_users, num_items = random_interactions()
        source = "random interactions (gowalla sizes)"
    t_load = time.perf_counter() - t0
    g = torch.Generator().manual_seed(0)
    user_emb = torch.randn(num_users, args.dim, generator=g)
    item_emb = torch.randn(num_items, args.dim, generator=g)

    base = maxrss_mib()
    t0 = time.perf_counter()
    res = ranking(user_emb, item_emb, train, test, ks=(20, 40),
                  batch_size=args.batch_size)
    seconds = time.perf_counter() - t0
    extra = maxrss_mib() - base

    print(f"data: {source}; {num_users} users, {num_items} items, "
          f"{train.size(1)} train / {test.size(1)} test; loaded in {t_load:.2f} s")
    print(f"dim {args.dim}, batch_size {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}")
    print(res)
    print(f"evaluated users: {res.details['num_eval_users']}")
    print(f"ranking time: {seconds:.2f} s (target < 60 s)")
    print(f"extra peak memory (ru_maxrss delta): {extra:.0f} MiB (target < 2048 MiB); "
          f"process peak {maxrss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
