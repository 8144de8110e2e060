"""Diagnostic: gcl's SimGCL against the official ``Coder-Yu/SELFRec``
(``model/graph/SimGCL.py``), in lockstep, float64.

What is official: ``SimGCL_Encoder`` (the propagation, the noise and the
layer mean), ``SimGCL.cal_cl_loss`` (the two noisy views and the user and
item InfoNCE on the batch's distinct users and items), ``bpr_loss``,
``l2_reg_loss`` and ``InfoNCE`` of ``util/loss_torch.py``, and the
normalised adjacency of ``data/ui_graph.py`` (``Interaction``, built from the
training triples in SELFRec's own id order). The training step of
``SimGCL.train`` is re-typed below (``rec_loss + l2_reg_loss(reg, user_emb,
pos_item_emb) + cl_rate * cal_cl_loss``). The files are imported from the
checkout with ``.cuda()`` removed in memory; ``numba`` (used only by the
evaluation's top-k) is stubbed when missing.

What is shared: the initial embedding tables (gcl's Xavier draw, copied in
SELFRec's id order), the batches (gcl's ``BPRSampler("interaction")``, the
same kind of triples as ``next_batch_pairwise``: shuffled interactions, one
uniform negative outside the user's training items), the noise (every
``torch.rand_like`` of SELFRec's two views is recorded and handed to gcl's
:class:`~gcl.augment.NoisePerturbation` in gcl's order: users, then items,
per layer) and the optimiser (each model its own Adam, lr 1e-3). The
adjacency of SELFRec is rebuilt from its ``ui_adj`` in float64 (SELFRec
normalises in float32 and casts to float32); the float32 one is compared
too.

The official code is not part of this repository: pass a checkout::

    mkdir -p /tmp/selfrec_official
    git -C <SELFRec git dir> archive HEAD base data/*.py model util \\
        | tar -x -C /tmp/selfrec_official
    python benchmarks/diagnostics/simgcl_lockstep.py \\
        --official /tmp/selfrec_official --users 1000 --steps 5

Per step it prints both losses (total) and the differences of the BPR, L2
and lambda * InfoNCE terms, the largest gradient difference before the step
and the largest parameter difference after it. ``--users N`` keeps the
first N users of LastFM's training split (after the validation split that
``gcl bench`` carves with ``--val-fraction`` and ``--seed``).
"""

import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from gcl.datasets import BPRSampler, InteractionData, load_interactions
from gcl.losses import bpr_loss, info_nce, l2_reg_batch_norm
from gcl.methods import SimGCL

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402


def subsample(data: InteractionData, users: int) -> InteractionData:
    """The training interactions of the first ``users`` users (all with 0),
    renumbered over the users and items that have one (SELFRec knows only
    those).
    """
    train = data.train[:, data.train[0] < users] if users else data.train
    ids = []
    for row in train:
        kept = torch.unique(row)
        remap = torch.full((int(row.max()) + 1,), -1, dtype=torch.long)
        remap[kept] = torch.arange(kept.numel())
        ids.append((kept.numel(), remap[row]))
    return InteractionData(ids[0][0], ids[1][0], torch.stack([ids[0][1], ids[1][1]]),
                           name=f"{data.name}[:{users or data.num_users}]")


def import_official(path: str):
    """SELFRec's ``SimGCL`` module, ``loss_torch`` and ``Interaction``."""
    sys.path.insert(0, path)
    try:
        import numba  # noqa: F401
    except ImportError:
        common.stub_module("numba", jit=lambda *a, **k: (lambda f: f))
    import util.loss_torch as loss_torch  # noqa: E402
    from data.ui_graph import Interaction  # noqa: E402
    model = common.load_patched(f"{path}/model/graph/SimGCL.py",
                                "selfrec_simgcl", [(".cuda()", "")])
    return model, loss_torch, Interaction


class NoiseTape:
    """Records the ``torch.rand_like`` draws of SELFRec's views, then
    replays them to gcl in gcl's order and ids."""

    def __init__(self, u_perm: torch.Tensor, i_perm: torch.Tensor):
        # u_perm[g] = SELFRec's row of gcl's user g (items likewise)
        self.u_perm, self.i_perm = u_perm, i_perm
        self.tape, self._orig = [], torch.rand_like

    def record(self):
        self.tape.clear()

        def spy(x, *a, **k):
            out = self._orig(x, *a, **k)
            self.tape.append(out.clone())
            return out
        torch.rand_like = spy
        return self

    def replay(self):
        n_u = self.u_perm.numel()
        queue = []
        for t in self.tape:  # [U + I, d] per layer and view
            queue += [t[:n_u][self.u_perm], t[n_u:][self.i_perm]]
        it = iter(queue)

        def give(x, *a, **k):
            out = next(it)
            assert out.shape == x.shape
            return out.to(x.dtype)
        torch.rand_like = give
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        torch.rand_like = self._orig


def main() -> None:
    parser = common.lockstep_parser(__doc__, "SELFRec checkout (its root folder)")
    parser.add_argument("--dataset", default="LastFM")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--cl-rate", type=float, default=0.5)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--reg", type=float, default=1e-4)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    sel, loss_torch, Interaction = import_official(args.official)

    data = load_interactions(args.dataset, val_fraction=args.val_fraction,
                             seed=args.seed)
    data = subsample(data, args.users)
    print(data)
    # SELFRec's data object from the training triples (its ids: order of
    # first appearance), the test set unused
    triples = [[str(u), str(i), 1.0] for u, i in data.train.t().tolist()]
    inter = Interaction({}, triples, [])
    u_perm = torch.tensor([inter.user[str(u)] for u in range(data.num_users)])
    i_perm = torch.tensor([inter.item[str(i)] for i in range(data.num_items)])
    n_u = data.num_users

    torch.manual_seed(args.seed)
    ours = SimGCL(data.num_users, data.num_items, cl_rate=args.cl_rate,
                  eps=args.eps, reg=args.reg, batch_size=args.batch_size).double()
    ours.prepare(data)
    enc = sel.SimGCL_Encoder(inter, ours.embedding_dim, args.eps,
                             ours.propagation.num_layers)
    # SELFRec's adjacency, float32 as it runs and rebuilt in float64
    mine = data.biadjacency("sym").to_dense()
    full = torch.zeros(n_u + data.num_items, n_u + data.num_items)
    full[u_perm[:, None], (n_u + i_perm)[None, :]] = mine
    full[(n_u + i_perm)[:, None], u_perm[None, :]] = mine.t()
    adj32 = enc.sparse_norm_adj.to_dense().double()
    adj64 = inter.normalize_graph_mat(inter.ui_adj.astype(np.float64)).tocoo()
    enc.sparse_norm_adj = torch.sparse_coo_tensor(
        np.vstack([adj64.row, adj64.col]), adj64.data, adj64.shape).coalesce()
    print(f"adjacency: max |SELFRec - gcl| = "
          f"{(enc.sparse_norm_adj.to_dense() - full).abs().max():.3e} (float64), "
          f"{(adj32 - full).abs().max():.3e} (SELFRec's float32)")
    del full, adj32
    with torch.no_grad():
        enc.embedding_dict["user_emb"].copy_(
            torch.zeros_like(ours.user_emb).index_copy_(0, u_perm, ours.user_emb))
        enc.embedding_dict["item_emb"].copy_(
            torch.zeros_like(ours.item_emb).index_copy_(0, i_perm, ours.item_emb))
    official = types.SimpleNamespace(model=enc)  # what cal_cl_loss reads
    opt_t, opt_o = common.adam_pair(enc, ours, args.lr)  # opt_o: gcl's
    batches = BPRSampler("interaction", args.batch_size)(data)
    tape = NoiseTape(u_perm, i_perm)
    print(f"{'step':>4} {'loss gcl':>14} {'loss SELFRec':>14} {'|diff|':>9} "
          f"{'bpr diff':>9} {'l2 diff':>9} {'cl diff':>9} {'grad diff':>9} "
          f"{'param diff':>10}  terms (SELFRec): bpr, l2, cl")
    worst = common.Worst(loss=0.0, grad=0.0, param=0.0)
    for step in range(min(args.steps, len(batches))):
        users, pos, neg = batches[step]
        # SELFRec's step (SimGCL.train), on its ids
        t0 = time.perf_counter()
        ut, pt, nt = u_perm[users].tolist(), i_perm[pos].tolist(), i_perm[neg].tolist()
        opt_t.zero_grad()
        rec_user_emb, rec_item_emb = enc()
        user_emb, pos_item_emb, neg_item_emb = (rec_user_emb[ut], rec_item_emb[pt],
                                                rec_item_emb[nt])
        bpr_t = loss_torch.bpr_loss(user_emb, pos_item_emb, neg_item_emb)
        with tape.record():
            cl_t = args.cl_rate * sel.SimGCL.cal_cl_loss(official, [ut, pt])
        l2_t = loss_torch.l2_reg_loss(args.reg, user_emb, pos_item_emb)
        loss_t = bpr_t + l2_t + cl_t
        loss_t.backward()
        t_theirs = time.perf_counter() - t0
        # gcl's step on the same noise
        t0 = time.perf_counter()
        opt_o.zero_grad()
        with tape.replay():
            loss_o = ours(data, (users, pos, neg))
        loss_o.backward()
        t_ours = time.perf_counter() - t0
        with torch.no_grad():  # gcl's terms, for the split
            eu, ei = ours.propagate(data)
            bpr_o = bpr_loss(eu[users], ei[pos], ei[neg], eps=1e-5)
            l2_o = args.reg * l2_reg_batch_norm(eu[users], ei[pos])
            with tape.replay():
                u1, i1 = ours.perturbed(data)
                u2, i2 = ours.perturbed(data)
            uu, ii = torch.unique(users), torch.unique(pos)
            cl_o = args.cl_rate * (
                info_nce(u1[uu], u2[uu], ours.tau, intra_view=False,
                         symmetric=False)
                + info_nce(i1[ii], i2[ii], ours.tau, intra_view=False,
                           symmetric=False))
        grad = max(float((ours.user_emb.grad
                          - enc.embedding_dict["user_emb"].grad[u_perm]).abs().max()),
                   float((ours.item_emb.grad
                          - enc.embedding_dict["item_emb"].grad[i_perm]).abs().max()))
        opt_o.step()
        opt_t.step()
        with torch.no_grad():
            param = max(
                float((ours.user_emb - enc.embedding_dict["user_emb"][u_perm])
                      .abs().max()),
                float((ours.item_emb - enc.embedding_dict["item_emb"][i_perm])
                      .abs().max()))
        loss_o, loss_t = loss_o.detach(), loss_t.detach()
        diff = abs(float(loss_o) - float(loss_t))
        worst.max(loss=diff, grad=grad, param=param)
        print(f"{step:>4} {float(loss_o):>14.10f} {float(loss_t):>14.10f} "
              f"{diff:>9.2e} {abs(float(bpr_o - bpr_t)):>9.2e} "
              f"{abs(float(l2_o - l2_t)):>9.2e} {abs(float(cl_o - cl_t)):>9.2e} "
              f"{grad:>9.2e} {param:>10.2e}  {float(bpr_t):.6f}, "
              f"{float(l2_t):.2e}, {float(cl_t):.6f}"
              f"   ({t_ours:.2f}s gcl, {t_theirs:.2f}s SELFRec)")
    print(f"largest differences over {args.steps} steps: loss {worst['loss']:.3e}, "
          f"gradient {worst['grad']:.3e}, parameters {worst['param']:.3e}")


if __name__ == "__main__":
    main()
