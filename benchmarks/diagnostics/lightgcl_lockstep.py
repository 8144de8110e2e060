"""Diagnostic: gcl's LightGCL (``setting="code"``) against the official
``HKUDS/LightGCL`` model (current ``model.py``), in lockstep, float64.

What is shared: the initial embedding tables, the SVD factors (computed
once by gcl's :class:`~gcl.augment.SVDView`, because ``torch.svd_lowrank``
draws a random start), the batches (gcl's ``BPRSampler("interaction")``:
the official ``TrnData`` draws the same kind of triples) and the optimiser
(each model its own Adam, lr 1e-3, no weight decay).

What is official: ``model.LightGCL`` and ``utils.sparse_dropout`` are
imported unchanged from the checkout, and the normalised adjacency is built
by the loop of ``main.py`` (``train.data[i] / pow(rowD[row] * colD[col],
0.5)``) from the scipy COO matrix of the training interactions, then
compared with ``InteractionData.biadjacency("sym")``. The official model
is built on CPU (its training phase calls no ``.cuda``).

The official code is not part of this repository: pass a checkout::

    mkdir -p /tmp/lightgcl_official
    git -C <LightGCL git dir> archive HEAD main.py model.py utils.py parser.py \\
        | tar -x -C /tmp/lightgcl_official
    python benchmarks/diagnostics/lightgcl_lockstep.py \\
        --official /tmp/lightgcl_official --dataset LastFM --steps 5

Per step it prints both losses (total, BPR, lambda1 * InfoNCE), the largest
gradient difference before the step and the largest parameter difference
after it. ``--users N`` keeps the first N users (a subsample of Gowalla).
"""

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from gcl.datasets import BPRSampler, InteractionData, load_interactions
from gcl.losses import bpr_loss, lightgcl_code_loss
from gcl.methods import LightGCL

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402


def official_adj_norm(train: torch.Tensor, num_users: int, num_items: int):
    """main.py's normalisation loop, on the scipy COO matrix it loads."""
    mat = sp.coo_matrix((np.ones(train.size(1)), (train[0].numpy(),
                                                  train[1].numpy())),
                        shape=(num_users, num_items))
    row_d = np.array(mat.sum(1)).squeeze()
    col_d = np.array(mat.sum(0)).squeeze()
    for i in range(len(mat.data)):
        mat.data[i] = mat.data[i] / pow(row_d[mat.row[i]] * col_d[mat.col[i]], 0.5)
    idx = torch.from_numpy(np.vstack((mat.row, mat.col)).astype(np.int64))
    return torch.sparse_coo_tensor(idx, torch.from_numpy(mat.data.copy()),
                                   mat.shape).coalesce()


def subsample_users(data: InteractionData, users: int) -> InteractionData:
    """The training interactions of the first ``users`` users (all when 0),
    items renumbered to those they touch (no test split)."""
    if not users:
        return data
    keep = data.train[0] < users
    train = data.train[:, keep]
    items = torch.unique(train[1])
    remap = torch.full((data.num_items,), -1, dtype=torch.long)
    remap[items] = torch.arange(items.numel())
    return InteractionData(users, items.numel(),
                           torch.stack([train[0], remap[train[1]]]),
                           name=f"{data.name}[:{users}]")


def main() -> None:
    parser = common.lockstep_parser(__doc__, "folder with the official model.py")
    parser.add_argument("--dataset", default="LastFM")
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--lambda2", type=float, default=1e-7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    sys.path.insert(0, args.official)
    import model as official  # noqa: E402  (the official model.py)

    data = subsample_users(load_interactions(args.dataset), args.users)
    print(data)
    torch.manual_seed(args.seed)
    ours = LightGCL(data.num_users, data.num_items, "code",
                    lambda2=args.lambda2).double()
    ours.prepare(data)
    adj = official_adj_norm(data.train, data.num_users, data.num_items)
    mine = data.biadjacency("sym").to_sparse_coo().coalesce().double()
    assert torch.equal(adj.indices(), mine.indices())
    print(f"adjacency: max |official - gcl| = "
          f"{float((adj.values() - mine.values()).abs().max()):.3e}")
    u, s, v = (t.double() for t in (ours.svd.u_, ours.svd.s_, ours.svd.v_))
    theirs = official.LightGCL(
        data.num_users, data.num_items, ours.embedding_dim, u @ torch.diag(s),
        v @ torch.diag(s), u.T, v.T, None, adj, ours.propagation.num_layers,
        ours.tau, ours.lambda1, ours.lambda2, 0.0, 256, "cpu")
    with torch.no_grad():
        theirs.E_u_0.copy_(ours.user_emb)
        theirs.E_i_0.copy_(ours.item_emb)
    opt_t, opt_o = common.adam_pair(theirs, ours, 1e-3)  # opt_o: gcl's
    batches = BPRSampler("interaction", args.batch_size)(data)
    print(f"{'step':>4} {'loss gcl':>14} {'loss official':>14} {'|diff|':>9} "
          f"{'bpr diff':>9} {'cl diff':>9} {'grad diff':>9} {'param diff':>10}")
    worst = common.Worst(loss=0.0)
    for step in range(min(args.steps, len(batches))):
        users, pos, neg = batches[step]
        t0 = time.perf_counter()
        opt_o.zero_grad()
        loss_o = ours(data, (users, pos, neg))
        loss_o.backward()
        t_ours = time.perf_counter() - t0
        with torch.no_grad():  # our parts, for the split
            _, _, _, eu, ei, g_u, g_i = ours.views(data)
            bpr_o = bpr_loss(eu[users], ei[pos], ei[neg])
            cl_o = ours.lambda1 * lightgcl_code_loss(
                g_u, eu, g_i, ei, users, torch.cat([pos, neg]), tau=ours.tau)
        t0 = time.perf_counter()
        opt_t.zero_grad()
        loss_t, bpr_t, cl_t = theirs(users, torch.cat([pos, neg]), pos, neg)
        loss_t.backward()
        t_theirs = time.perf_counter() - t0
        grad = max(float((ours.user_emb.grad - theirs.E_u_0.grad).abs().max()),
                   float((ours.item_emb.grad - theirs.E_i_0.grad).abs().max()))
        opt_o.step()
        opt_t.step()
        with torch.no_grad():
            param = max(float((ours.user_emb - theirs.E_u_0).abs().max()),
                        float((ours.item_emb - theirs.E_i_0).abs().max()))
        diff = abs(float(loss_o) - float(loss_t))
        worst.max(loss=diff)
        print(f"{step:>4} {float(loss_o):>14.10f} {float(loss_t):>14.10f} "
              f"{diff:>9.2e} {abs(float(bpr_o - bpr_t)):>9.2e} "
              f"{abs(float(cl_o - cl_t)):>9.2e} {grad:>9.2e} {param:>10.2e}"
              f"   ({t_ours:.2f}s gcl, {t_theirs:.2f}s official)")
    print(f"largest loss difference over {args.steps} steps: {worst['loss']:.3e}")


if __name__ == "__main__":
    main()
