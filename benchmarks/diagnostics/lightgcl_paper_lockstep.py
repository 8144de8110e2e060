"""Diagnostic: gcl's LightGCL (``setting="paper"``) against the official
``HKUDS/LightGCL`` ``old_setting/`` model (the code of the paper's tables),
in lockstep, float64.

What is shared: the initial weights (gcl's embedding tables and
:math:`W_l`, copied into the official ``E_u_0``, ``E_i_0``, ``Ws``), the
SVD factors (gcl's :class:`~gcl.augment.SVDView` of the raw :math:`R`, since
``torch.svd_lowrank`` draws a random start; fed to the official model as
``main.py`` does: ``u @ diag(s)``, ``v @ diag(s)``, ``u.T``, ``v.T``), the
batches (one epoch of gcl's ``BPRSampler("user_batch")``: the batch users,
and per user its positives and paired negatives, handed to the official
``forward`` as the per-user lists ``main.py`` builds; items in sorted order
on both sides) and the random draws inside a step: the four edge-dropout
masks (per layer one for :math:`Z_u`, one for :math:`Z_i`) and the
per-layer uniforms of the contrastive term's masks (``torch.rand(n) >
0.5``). Both are injected: ``torch.nn.functional.dropout`` and
``torch.rand`` are replaced during each forward by functions that hand out
the step's prepared masks/uniforms in call order and check their shapes, on
both sides the same, and every prepared draw must be used. Each side has
its own Adam with the config's rate and weight decay (the official L2), the
rate set by each side's own decay rule for epoch 1 (the official
``learning_rate_decay`` is compiled out of ``main.py``, which cannot be
imported).

What is official: ``old_setting/model.py`` and ``utils.py`` run from the
checkout, patched in memory only to run on CPU (``.cuda(dev)`` ->
``.to(dev)``, three places) and to keep the test scores (``self.test_scores
= preds`` before the ``argsort``); ``parser.py`` is read for its defaults
(``parse_args([])``). The normalised adjacency is built by ``main.py``'s
loop (:func:`lightgcl_lockstep.official_adj_norm`; the official code then
rounds it to float32, which this float64 check does not), the raw matrix
the SVD decomposes by the official ``scipy_sparse_mat_to_torch_sparse_tensor``
of the scipy COO of the training interactions (``trnMat.pkl`` holds such a
matrix). The official code is not part of this repository: pass a
checkout::

    mkdir -p /tmp/lightgcl_paper_official
    git -C <LightGCL git dir> archive HEAD old_setting \\
        | tar -x --strip-components=1 -C /tmp/lightgcl_paper_official
    python -W ignore benchmarks/diagnostics/lightgcl_paper_lockstep.py \\
        --official /tmp/lightgcl_paper_official --dataset LastFM --steps 8

It prints the official ``parser.py`` defaults next to gcl's config, the
learning-rate schedules over 100 epochs, the SVD input and factors, the
adjacency, then per step both losses and their parts (hinge, the
contrastive sum :math:`\\mathcal{L}_s` before :math:`\\lambda_1`, and the
weight decay as the equivalent :math:`\\frac{\\lambda_2}{2}\\lVert\\Theta
\\rVert^2`), the largest gradient difference (tables; :math:`W_l`) before
the step and the largest parameter difference after it; then the official
test scores of a few users (``test=True``: the embeddings cached by the
last training forward, training items scored 0) against gcl's, and one
forward of each from the same RNG state with nothing injected.
``--users N`` keeps the first N users (a subsample of Gowalla).
``--checkpoint`` takes a ``gcl.fit`` checkpoint of ``lightgcl_paper`` on
the data set (validation split of its config) and scores its best weights
as gcl does and as ``old_setting`` does (the last training forward's
embeddings, edge dropout included; ``--draws`` draws).
"""

import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

import gcl.methods.lightgcl as gcl_lightgcl
from gcl.app.config import load_config
from gcl.augment import SVDView
from gcl.datasets import load_interactions
from gcl.methods import LightGCL

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402
from lightgcl_lockstep import official_adj_norm, subsample_users  # noqa: E402

#: In-memory patches of the official files (the files are not changed).
MODEL_PATCHES = [
    (".cuda(torch.device(self.device))", ".to(torch.device(self.device))"),
    (".cuda(self.device)", ".to(self.device)"),
    ("predictions = preds.argsort(descending=True)",
     "self.test_scores = preds; predictions = preds.argsort(descending=True)"),
]
UTILS_PATCHES = [(".cuda(torch.device(device))", ".to(torch.device(device))")]
PARSER_PATCHES = [("parser.parse_args()", "parser.parse_args([])")]


def import_official(path: str):
    """``(model, utils, args, learning_rate_decay)`` of ``old_setting/``."""
    root = Path(path)
    utils = common.load_patched(str(root / "utils.py"), "utils", UTILS_PATCHES)
    model = common.load_patched(str(root / "model.py"), "lightgcl_old_model",
                                MODEL_PATCHES)
    parser = common.load_patched(str(root / "parser.py"), "lightgcl_old_parser",
                                 PARSER_PATCHES)
    decay = common.official_function(str(root / "main.py"), "learning_rate_decay")
    return model, utils, parser.args, decay


class Draws:
    """One step's random draws, handed to whichever side runs.

    ``masks``: the edge-dropout keep masks in call order (layer 1 user side,
    layer 1 item side, layer 2 ...); ``uniforms``: the contrastive masks'
    uniforms (layer 1 users, layer 1 items, ...).
    """

    def __init__(self, gen: torch.Generator, nnz: int, num_layers: int,
                 num_users: int, num_items: int, p: float):
        self.p = p
        self.masks = [torch.rand(nnz, generator=gen) >= p
                      for _ in range(2 * num_layers)]
        self.uniforms = [torch.rand(n, generator=gen) for _ in range(num_layers)
                         for n in (num_users, num_items)]

    @contextmanager
    def replay(self):
        """Context manager: ``F.dropout`` and ``torch.rand`` replaced by the
        prepared draws; raises unless exactly all were used."""
        masks, uniforms = iter(self.masks), iter(self.uniforms)
        used = {"dropout": 0, "rand": 0}

        def dropout(values, p=0.5, training=True, inplace=False):
            keep = next(masks)
            if keep.shape != values.shape or p != self.p or not training:
                raise RuntimeError(f"dropout call {values.shape}, p={p}, "
                                   f"training={training}: not the prepared one")
            used["dropout"] += 1
            return values * keep.to(values.dtype) / (1.0 - p)

        def rand(*size, **kwargs):
            out = next(uniforms)
            shape = tuple(size[0]) if size and isinstance(size[0], (tuple, list,
                                                                     torch.Size)) \
                else tuple(size)
            if tuple(out.shape) != shape:
                raise RuntimeError(f"torch.rand{shape}: prepared {tuple(out.shape)}")
            used["rand"] += 1
            return out.clone()

        with common.patched(torch.nn.functional, "dropout", dropout), \
                common.patched(torch, "rand", rand):
            yield
        if used["dropout"] != len(self.masks) or used["rand"] != len(self.uniforms):
            raise RuntimeError(f"used {used} of {len(self.masks)} masks and "
                               f"{len(self.uniforms)} uniforms")


class Record:
    """Wraps a function, keeping what its last call returned."""

    def __init__(self, fn):
        self.fn, self.last = fn, None

    def __call__(self, *args, **kwargs):
        self.last = self.fn(*args, **kwargs)
        return self.last


def official_inputs(users, pos, neg, batch_users):
    """``uids, pos, neg`` as ``main.py`` hands them to the model: the batch
    users and, per user, its positives and negatives (in the batch's
    order)."""
    pos_l = [pos[users == u] for u in batch_users.tolist()]
    neg_l = [neg[users == u] for u in batch_users.tolist()]
    return batch_users.clone(), pos_l, neg_l


def param_pairs(theirs, ours):
    """``(name, official, gcl)`` for every parameter."""
    pairs = [("E_u", theirs.E_u_0, ours.user_emb),
             ("E_i", theirs.E_i_0, ours.item_emb)]
    pairs += [(f"W{k + 1}", w.W, v) for k, (w, v) in
              enumerate(zip(theirs.Ws, ours.weights))]
    return pairs


def checkpoint_eval(path: str, dataset: str, draws: int, seed: int) -> None:
    """Validation Recall/NDCG@20 of a trained gcl checkpoint (its best
    weights) scored as gcl does (:meth:`embed`: evaluation mode, no edge
    dropout) and as ``old_setting`` does (``test=True`` ranks the ``E_u``,
    ``E_i`` its last *training* forward cached: edge dropout 0.25 included),
    each with training items removed or scored 0."""
    from gcl.eval import ranking_split

    cfg = load_config("lightgcl_paper", dataset)
    data = load_interactions(dataset, val_fraction=cfg["data"]["val_fraction"],
                             seed=cfg["data"].get("split_seed", cfg["seed"]))
    state = torch.load(path, map_location="cpu", weights_only=False)
    weights = (state["early_stopping"].get("best_state")
               or state["method"])
    ours = LightGCL.from_config(num_users=data.num_users,
                                num_items=data.num_items, **cfg["model"])
    ours.load_state_dict({k: v.double() for k, v in weights.items()})
    print(f"checkpoint {Path(path).name}: epoch {state['epoch']}, best epoch "
          f"{state['early_stopping'].get('best_epoch')}, best "
          f"val_recall@20 {state['early_stopping'].get('best')}; {data}")

    def scores(u, i):
        return {m: ranking_split(u, i, data, "val", ks=(20,), masking=m).metrics
                for m in ("remove", "zero")}

    clean = scores(*ours.embed(data))
    torch.manual_seed(seed)
    noisy = []
    ours.train()
    with torch.no_grad():
        for _ in range(draws):
            noisy.append(scores(*ours.propagation(ours.user_emb, ours.item_emb,
                                                  ours._adj(data))))
    for m in ("remove", "zero"):
        r = [x[m]["recall@20"] for x in noisy]
        n = [x[m]["ndcg@20"] for x in noisy]
        print(f"  training items {m:>6}: gcl.embed R@20 "
              f"{100 * clean[m]['recall@20']:.2f} N@20 "
              f"{100 * clean[m]['ndcg@20']:.2f}; training forward (dropout), "
              f"{draws} draws: R@20 {100 * np.mean(r):.2f} +- "
              f"{100 * np.std(r):.2f}, N@20 {100 * np.mean(n):.2f} +- "
              f"{100 * np.std(n):.2f}")


def main() -> None:
    parser = common.lockstep_parser(__doc__, "folder with the official "
                                    "old_setting/ model.py, utils.py, parser.py "
                                    "and main.py")
    parser.add_argument("--dataset", default="LastFM")
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--eval-users", type=int, default=8)
    parser.add_argument("--checkpoint", default=None,
                        help="a gcl.fit checkpoint of lightgcl_paper on "
                        "--dataset: also score its best weights both ways")
    parser.add_argument("--draws", type=int, default=5,
                        help="dropout draws for --checkpoint")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    official, off_utils, off_args, off_decay = import_official(args.official)

    data = subsample_users(load_interactions(args.dataset), args.users)
    cfg = load_config("lightgcl_paper", args.dataset)
    lr, wd = float(cfg["train"]["lr"]), float(cfg["train"]["weight_decay"])
    print(data)
    torch.manual_seed(args.seed)
    ours = LightGCL.from_config(num_users=data.num_users,
                                num_items=data.num_items, **cfg["model"])
    ours.prepare(data)
    n_layers = ours.propagation.num_layers

    # ------------------------------------------------ the hyper-parameters
    main_src = (Path(args.official) / "main.py").read_text()
    rows = [("d", off_args.d, ours.embedding_dim),
            ("gnn_layer", off_args.gnn_layer, n_layers),
            ("q", off_args.q, ours.svd.q),
            ("lambda1", off_args.lambda1, ours.lambda1),
            ("temp", off_args.temp, ours.tau),
            ("dropout", off_args.dropout, ours.propagation.edge_dropout),
            ("batch", off_args.batch, ours.sampler.batch_size),
            ("max_samp", 40 if "max_samp = 40" in main_src else "?",
             ours.sampler.max_pairs),
            ("epoch_user cap", 30000 if "30000)" in main_src else "?",
             ours.sampler.num_users),
            ("lr", off_args.lr, lr),
            ("lambda2 (Adam weight_decay)", off_args.lambda2, wd),
            ("loss L2 (none there)", 0.0, ours.lambda2)]
    print("official parser.py default vs gcl config lightgcl_paper/"
          f"{cfg.get('dataset', args.dataset)}:")
    for name, o, g in rows:
        print(f"  {name:<28} {o!s:>10} {g!s:>10}   "
              f"{'same' if float(o) == float(g) else 'DIFFERENT'}")
    dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    off_lr = []
    for _ in range(100):
        off_decay(dummy)
        off_lr.append(dummy.param_groups[0]["lr"])
    our_lr = [ours.learning_rate(epoch, lr) for epoch in range(1, 101)]
    print(f"learning rate over 100 epochs (official learning_rate_decay before "
          f"each epoch, gcl learning_rate(1..100)): max |diff| = "
          f"{max(abs(a - b) for a, b in zip(off_lr, our_lr)):.1e}; epoch 1 "
          f"{off_lr[0]:.6g}, last {off_lr[-1]:.6g} / {our_lr[-1]:.6g}")

    # ------------------------------------------------------- the SVD input
    train = data.train.numpy()
    coo = sp.coo_matrix((np.ones(train.shape[1]), (train[0], train[1])),
                        shape=(data.num_users, data.num_items))
    raw_off = off_utils.scipy_sparse_mat_to_torch_sparse_tensor(coo).coalesce()
    raw_ours = data.biadjacency(None).to_sparse_coo().coalesce()
    assert torch.equal(raw_off.indices(), raw_ours.indices())
    print(f"SVD input (raw R): {raw_off._nnz()} entries, same indices; max "
          f"|official - gcl| = "
          f"{float((raw_off.values().double() - raw_ours.values()).abs().max()):.1e}"
          f" (official {raw_off.dtype}, values {raw_off.values().unique().tolist()})")
    svd_o, svd_g, same_rng = common.from_same_rng(
        lambda: torch.svd_lowrank(raw_off.double(), q=off_args.q),
        lambda: SVDView(ours.svd.q, "raw").fit(data))
    print("SVD factors from the same RNG state (official call on its matrix as "
          "float64 vs SVDView('raw').fit): max |diff| u "
          f"{common.max_abs_diff(svd_o[0], svd_g.u_):.1e}, s "
          f"{common.max_abs_diff(svd_o[1], svd_g.s_):.1e}, v "
          f"{common.max_abs_diff(svd_o[2], svd_g.v_):.1e}; same RNG use: {same_rng}"
          f"; s = {[round(x, 4) for x in svd_g.s_.tolist()]}")

    # -------------------------------------------------- the adjacency
    adj = official_adj_norm(data.train, data.num_users, data.num_items)
    a = ours.adj_
    rows_g = torch.repeat_interleave(torch.arange(a.shape[0]),
                                     a.crow[1:] - a.crow[:-1])
    assert torch.equal(adj.indices(), torch.stack([rows_g, a.col]))
    print(f"normalised adjacency (main.py's loop): max |official - gcl| = "
          f"{float((adj.values() - a.value).abs().max()):.1e}, same entry order "
          f"(so the dropout masks hit the same edges); the official float32 "
          f"copy differs by up to "
          f"{float((adj.values().float().double() - adj.values()).abs().max()):.1e}")

    # -------------------------------------------------- the official model
    u, s, v = ours.svd.u_, ours.svd.s_, ours.svd.v_
    train_csr = (coo.tocsr() != 0).astype(np.float32)
    theirs = official.LightGCL(
        data.num_users, data.num_items, off_args.d, u @ torch.diag(s),
        v @ torch.diag(s), u.T, v.T, train_csr, adj, off_args.gnn_layer,
        off_args.temp, off_args.lambda1, off_args.dropout, off_args.batch, "cpu")
    with torch.no_grad():
        for _, po, pg in param_pairs(theirs, ours):
            po.copy_(pg)
    opt_t, opt_o = common.adam_pair(theirs, ours, lr, weight_decay=wd)
    off_decay(opt_t)  # main.py: before epoch 0
    for group in opt_o.param_groups:  # gcl.fit: before epoch 1
        group["lr"] = ours.learning_rate(1, lr)
    print(f"Adam: lr official {opt_t.param_groups[0]['lr']:.6g}, gcl "
          f"{opt_o.param_groups[0]['lr']:.6g}; weight decay {wd:g} on "
          f"{[n for n, _, _ in param_pairs(theirs, ours)]}")

    torch.manual_seed(args.seed)
    batches = ours.epoch_batches(data)
    gen = torch.Generator().manual_seed(args.seed + 1)
    record_r = Record(gcl_lightgcl.hinge_rank_loss)
    record_s = Record(gcl_lightgcl.lightgcl_paper_loss)
    record_v = Record(ours.views)
    print(f"{'step':>4} {'users':>5} {'pairs':>5} {'items':>5} {'loss gcl':>14} "
          f"{'loss official':>14} {'|diff|':>9} {'hinge':>9} {'L_s':>9} "
          f"{'reg':>9} {'grad E':>9} {'grad W':>9} {'param':>9}")
    worst = common.Worst(loss=0.0, hinge=0.0, ls=0.0, grad=0.0, grad_w=0.0,
                         param=0.0)
    grad_w_scale = 0.0
    for step in range(min(args.steps, len(batches))):
        users, pos, neg, batch_users = batches[step]
        items = torch.unique(torch.cat([pos, neg]))
        draws = Draws(gen, a.nnz, n_layers, batch_users.numel(), items.numel(),
                      ours.propagation.edge_dropout)
        t0 = time.perf_counter()
        opt_o.zero_grad()
        with common.patched(gcl_lightgcl, "hinge_rank_loss", record_r), \
                common.patched(gcl_lightgcl, "lightgcl_paper_loss", record_s), \
                common.patched(ours, "views", record_v), draws.replay():
            loss_o = ours(data, batches[step])
        loss_o.backward()
        t_ours = time.perf_counter() - t0
        uids, pos_l, neg_l = official_inputs(users, pos, neg, batch_users)
        t0 = time.perf_counter()
        opt_t.zero_grad()
        with draws.replay():
            loss_t, r_t, s_t = theirs(uids, items, pos_l, neg_l)
        loss_t.backward()
        t_theirs = time.perf_counter() - t0
        pairs = param_pairs(theirs, ours)
        grad = max(common.max_abs_diff(po.grad, pg.grad) for n, po, pg in pairs
                   if n.startswith("E"))
        grad_w = max(common.max_abs_diff(po.grad, pg.grad) for n, po, pg in pairs
                     if n.startswith("W"))
        grad_w_scale = max(grad_w_scale, max(float(po.grad.abs().max())
                                             for n, po, _ in pairs
                                             if n.startswith("W")))
        with torch.no_grad():
            reg = abs(sum(float(po.square().sum() - pg.square().sum())
                          for _, po, pg in pairs)) * wd / 2
        pre_step = ours.embed(data)  # eval mode: no draws
        opt_o.step()
        opt_t.step()
        with torch.no_grad():
            param = max(common.max_abs_diff(po, pg) for _, po, pg in pairs)
        diff = abs(float(loss_o) - float(loss_t))
        d_r = abs(float(record_r.last) - float(r_t))
        d_s = abs(float(record_s.last) - float(s_t))
        worst.max(loss=diff, hinge=d_r, ls=d_s, grad=grad, grad_w=grad_w,
                  param=param)
        print(f"{step:>4} {batch_users.numel():>5} {users.numel():>5} "
              f"{items.numel():>5} {float(loss_o):>14.10f} {float(loss_t):>14.10f} "
              f"{diff:>9.2e} {d_r:>9.2e} {d_s:>9.2e} {reg:>9.2e} {grad:>9.2e} "
              f"{grad_w:>9.2e} {param:>9.2e}   (L_s {float(s_t):.4f}; "
              f"{t_ours:.2f}s gcl, {t_theirs:.2f}s official)")
    print(f"largest differences over {step + 1} steps: loss {worst['loss']:.2e}, "
          f"hinge {worst['hinge']:.2e}, L_s {worst['ls']:.2e}, grad E "
          f"{worst['grad']:.2e}, grad W {worst['grad_w']:.2e} (|grad W| up to "
          f"{grad_w_scale:.2e}), parameters {worst['param']:.2e}")

    # ------------------------------------------------- evaluation scores
    eval_users = torch.arange(min(args.eval_users, data.num_users))
    with torch.no_grad():
        theirs(eval_users, None, None, None, test=True)
    s_off = theirs.test_scores
    mask = torch.from_numpy(train_csr[eval_users.numpy()].toarray()).double()
    eu, ei = record_v.last[3], record_v.last[4]
    u_e, i_e = ours.embed(data)
    with torch.no_grad():
        s_same = (eu[eval_users] @ ei.T) * (1 - mask)
        s_pre = (pre_step[0][eval_users] @ pre_step[1].T) * (1 - mask)
        s_eval = (u_e[eval_users] @ i_e.T) * (1 - mask)
    top = 20
    overlap = np.mean([len(set(a.tolist()) & set(b.tolist())) / top for a, b in
                       zip(s_off.topk(top).indices, s_eval.topk(top).indices)])
    print(f"test scores of users 0..{eval_users.numel() - 1} (official test=True: "
          f"E cached by the last training forward, training items x 0):")
    print(f"  vs gcl, the same training forward's E_u, E_i: max |diff| = "
          f"{common.max_abs_diff(s_off, s_same):.2e}")
    print(f"  vs gcl.embed before the step (eval mode: no edge dropout): max "
          f"|diff| = {common.max_abs_diff(s_off, s_pre):.2e}")
    print(f"  vs gcl.embed (eval mode, no dropout, after the step): max |diff| "
          f"= {common.max_abs_diff(s_off, s_eval):.2e} (|score| up to "
          f"{float(s_off.abs().max()):.2f}), top-{top} overlap {overlap:.3f}")

    # ---------------------------------------- free-running, same RNG state
    users, pos, neg, batch_users = batches[0]
    items = torch.unique(torch.cat([pos, neg]))
    uids, pos_l, neg_l = official_inputs(users, pos, neg, batch_users)
    with torch.no_grad():
        out_t, out_o, same = common.from_same_rng(
            lambda: theirs(uids, items, pos_l, neg_l)[0],
            lambda: ours(data, batches[0]))
    print(f"batch 0 again, nothing injected, both from the same RNG state: loss "
          f"|diff| = {abs(float(out_t) - float(out_o)):.2e}, same RNG use: {same}")
    if args.checkpoint:
        checkpoint_eval(args.checkpoint, args.dataset, args.draws, args.seed)


if __name__ == "__main__":
    main()
