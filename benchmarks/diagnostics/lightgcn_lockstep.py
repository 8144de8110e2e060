"""Diagnostic: gcl's LightGCN against the official
``gusye1234/LightGCN-PyTorch`` (``code/``), in lockstep, float64, and the
two ranking evaluators on the same embeddings.

What is official: ``dataloader.Loader`` (reads LightGCN's ``train.txt`` /
``test.txt``, builds the user-item matrix and the normalised adjacency
:math:`D^{-1/2} A D^{-1/2}` of ``getSparseGraph``), ``model.LightGCN``
(``computer``: the layer mean of the propagated embeddings; ``bpr_loss``:
``softplus(neg - pos)`` and the halved squared norms of the batch's layer-0
rows over the batch size), and ``Procedure.Test`` (full ranking, training
items masked, Recall@K over ``|test items|``, NDCG@K), imported from the
checkout with ``sys.argv`` set to the official defaults (``--tensorboard
0``, ``--topks [20,40]``). The training step of ``utils.BPRLoss.stageOne``
(``loss + decay * reg_loss``, Adam) is re-typed below so that the gradients
can be compared before the step. Patches, in memory: the adjacency is built
and kept in float64 (``dataloader.py``: ``np.float32`` -> ``np.float64``,
``torch.FloatTensor(coo.data)`` -> ``torch.from_numpy(coo.data)``, and
``torch.sparse.FloatTensor`` -> ``torch.sparse_coo_tensor``, which also
serves today's torch); nothing else.

What is shared: the data (gcl's ``load_interactions`` with the validation
split that ``gcl bench`` carves, then the first ``--users`` users; their
training and test interactions are written in LightGCN's text format to a
temporary folder that the official ``Loader`` reads, and gcl builds its
``InteractionData`` with the official user and item counts), the initial
embeddings (gcl's N(0, 0.1^2) draw, copied into the official tables), the
batches (gcl's ``BPRSampler("user")``: users drawn uniformly with
replacement, a random training item each and a uniform negative outside
the user's training items, the distribution of the official
``UniformSample_original``) and the optimiser (each model its own Adam,
lr 1e-3).

The official code is not part of this repository: pass a checkout::

    mkdir -p /tmp/lightgcn_official
    git -C <LightGCN-PyTorch git dir> archive HEAD code \\
        | tar -x -C /tmp/lightgcn_official
    GCL_DATA=<data root> python benchmarks/diagnostics/lightgcn_lockstep.py \\
        --official /tmp/lightgcn_official --users 2000 --steps 8

Per step it prints both losses and the differences of the BPR and L2
terms, the largest gradient difference before the step and the largest
parameter difference after it; then both evaluators score the embeddings
of the last step (the official ``Test`` on the official model, gcl's
``ranking`` on gcl's). The official ``Test`` asserts ``len(users) //
batch + 1`` batches, which fails when its batch (100 users) divides the
number of test users; the script then gives it 99.

Result (``lightgcn_lockstep_Gowalla.log``, ``--users 2000 --steps 49``:
one epoch of the subsample, 2,000 users x 40,981 items, 98,382 training
interactions after the validation carve-out, 28,355 test ones): the
normalised adjacencies hold the same entries and agree to 5.6e-17; over
the 49 Adam steps the losses agree to 1.1e-16 (BPR and L2 terms to
5.5e-17), the gradients to 1.6e-19 and the parameters to 2.3e-16; after
them both evaluators give Recall@20 0.015454545, NDCG@20 0.017111267,
Recall@40 0.023003658 and NDCG@40 0.018680266 (differences under 1e-17).
"""

import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from gcl.app.config import load_config
from gcl.datasets import InteractionData, load_interactions
from gcl.eval import ranking
from gcl.losses import bpr_loss
from gcl.methods import build_method

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

#: The float64 adjacency of ``dataloader.Loader.getSparseGraph`` (see the
#: docstring).
FLOAT64_PATCHES = (
    ("dtype=np.float32", "dtype=np.float64"),
    ("coo = X.tocoo().astype(np.float32)", "coo = X.tocoo().astype(np.float64)"),
    ("data = torch.FloatTensor(coo.data)", "data = torch.from_numpy(coo.data)"),
    ("return torch.sparse.FloatTensor(index, data, torch.Size(coo.shape))",
     "return torch.sparse_coo_tensor(index, data, torch.Size(coo.shape))"),
)


def subsample(data: InteractionData, users: int) -> tuple:
    """The training and test pairs of the first ``users`` users."""
    train = data.train[:, data.train[0] < users]
    test = data.test[:, data.test[0] < users]
    return train, test


def write_lightgcn_folder(folder: Path, train, test) -> None:
    """LightGCN's ``train.txt`` / ``test.txt``: ``user item item ...`` per
    line, users with at least one interaction only."""
    for name, pairs in (("train.txt", train), ("test.txt", test)):
        rows = {}
        for u, i in pairs.t().tolist():
            rows.setdefault(u, []).append(i)
        lines = [" ".join(map(str, [u, *items])) for u, items in sorted(rows.items())]
        (folder / name).write_text("\n".join(lines) + "\n")


def import_official(code: str, topks=(20, 40)):
    """The official ``world``, ``dataloader``, ``model`` and ``Procedure``."""
    sys.argv = ["main.py", "--dataset", "gowalla", "--model", "lgn",
                "--tensorboard", "0", "--topks", str(list(topks)).replace(" ", ""),
                "--multicore", "0"]
    sys.path.insert(0, code)
    with contextlib.redirect_stdout(io.StringIO()):
        import world  # noqa: E402
        dataloader = common.load_patched(f"{code}/dataloader.py", "dataloader",
                                         FLOAT64_PATCHES)
        import model  # noqa: E402
        import Procedure  # noqa: E402
    return world, dataloader, model, Procedure


def coo_of(adj: torch.Tensor, users: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys ``u * I + i`` and values of the user-item block of the official
    ``[U + I, U + I]`` adjacency, sorted."""
    adj = adj.coalesce()
    r, c = adj.indices()
    keep = (r < users) & (c >= users)
    n_items = adj.size(1) - users
    key = r[keep] * n_items + (c[keep] - users)
    order = torch.argsort(key)
    return key[order], adj.values()[keep][order]


def main() -> None:
    parser = common.lockstep_parser(__doc__, "LightGCN-PyTorch checkout (the "
                                    "folder holding code/)")
    parser.add_argument("--dataset", default="Gowalla")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    cfg = load_config("lightgcn", args.dataset)
    mcfg, lr = cfg["model"], cfg["train"]["lr"]
    world, dataloader, official_model, Procedure = import_official(
        f"{args.official}/code", tuple(cfg["eval"]["ks"]))
    for key, value in (("latent_dim_rec", mcfg["embedding_dim"]),
                       ("lightGCN_n_layers", mcfg["num_layers"]),
                       ("bpr_batch_size", mcfg["batch_size"]),
                       ("decay", mcfg["reg"]), ("lr", lr)):
        assert world.config[key] == value, (key, world.config[key], value)

    full = load_interactions(args.dataset, val_fraction=args.val_fraction,
                             seed=args.seed)
    train, test = subsample(full, args.users)
    common.log_patches({"code/dataloader.py": FLOAT64_PATCHES})
    with tempfile.TemporaryDirectory() as tmp:
        write_lightgcn_folder(Path(tmp), train, test)
        # items no kept user has trained on have degree 0: the official code
        # takes 0 ** -0.5 = inf and sets it to 0 (numpy warns)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", message="Sparse invariant checks")
            loader = dataloader.Loader(world.config, path=tmp)
            torch.manual_seed(args.seed)
            theirs = official_model.LightGCN(world.config, loader)
    data = InteractionData(loader.n_users, loader.m_items, train, test=test,
                           name=f"{full.name}[:{args.users}]")
    print(f"torch {torch.__version__}, float64, 1 thread, seed {args.seed}")
    print(f"{full!r} -> {data!r}")
    n_u = data.num_users

    torch.manual_seed(args.seed)
    ours = build_method("lightgcn", None, num_users=data.num_users,
                        num_items=data.num_items, **mcfg).double()
    ours.prepare(data)
    theirs = theirs.double()
    with torch.no_grad():
        theirs.embedding_user.weight.copy_(ours.user_emb)
        theirs.embedding_item.weight.copy_(ours.item_emb)
    key_t, val_t = coo_of(theirs.Graph, n_u)
    mine = data.biadjacency("sym").to_sparse_coo().coalesce()
    key_o = mine.indices()[0] * data.num_items + mine.indices()[1]
    same = key_t.numel() == key_o.numel() and bool((key_t == key_o).all())
    gap = f"{(val_t - mine.values()).abs().max():.3e}" if same else "-"
    print(f"adjacency: {key_o.numel()} user-item entries in gcl, {key_t.numel()} "
          f"in the official block, same positions: {same}; max |value diff| = {gap}")
    print(f"official config: {world.config}")

    opt_t = torch.optim.Adam(theirs.parameters(), lr=lr)
    opt_o = torch.optim.Adam(ours.parameters(), lr=lr)
    batches = ours.epoch_batches(data)
    print(f"{len(batches)} batches of {mcfg['batch_size']} per epoch here")
    print(f"{'step':>4} {'loss gcl':>14} {'loss official':>14} {'|diff|':>9} "
          f"{'bpr diff':>9} {'l2 diff':>9} {'grad diff':>9} {'param diff':>10}")
    worst = common.Worst(loss=0.0, grad=0.0, param=0.0)
    steps = min(args.steps, len(batches))
    for step in range(steps):
        users, pos, neg = batches[step][:3]
        t0 = time.perf_counter()
        theirs.train()
        opt_t.zero_grad()
        bpr_t, reg_t = theirs.bpr_loss(users, pos, neg)
        l2_t = reg_t * world.config["decay"]
        loss_t = bpr_t + l2_t  # utils.BPRLoss.stageOne
        loss_t.backward()
        t_theirs = time.perf_counter() - t0
        t0 = time.perf_counter()
        opt_o.zero_grad()
        loss_o = ours(data, (users, pos, neg))
        loss_o.backward()
        t_ours = time.perf_counter() - t0
        with torch.no_grad():
            eu, ei = ours.propagate(data)
            bpr_o = bpr_loss(eu[users], ei[pos], ei[neg])
            l2_o = loss_o - bpr_o
        grad = max(
            float((ours.user_emb.grad - theirs.embedding_user.weight.grad).abs().max()),
            float((ours.item_emb.grad - theirs.embedding_item.weight.grad).abs().max()))
        opt_o.step()
        opt_t.step()
        with torch.no_grad():
            param = max(
                float((ours.user_emb - theirs.embedding_user.weight).abs().max()),
                float((ours.item_emb - theirs.embedding_item.weight).abs().max()))
        loss_o, loss_t = loss_o.detach(), loss_t.detach()
        diff = abs(float(loss_o) - float(loss_t))
        worst.max(loss=diff, grad=grad, param=param)
        print(f"{step:>4} {float(loss_o):>14.10f} {float(loss_t):>14.10f} "
              f"{diff:>9.2e} {abs(float(bpr_o - bpr_t.detach())):>9.2e} "
              f"{abs(float(l2_o - l2_t.detach())):>9.2e} {grad:>9.2e} {param:>10.2e}"
              f"   ({t_ours:.2f}s gcl, {t_theirs:.2f}s official)")
    print(f"largest differences over {steps} steps: loss {worst['loss']:.3e}, "
          f"gradient {worst['grad']:.3e}, parameters {worst['param']:.3e}")

    # the two evaluators, each on its own model's embeddings. Procedure.Test
    # asserts len(users) // batch + 1 batches, which fails when the batch
    # size divides the number of test users: then one user fewer per batch.
    if len(loader.testDict) % world.config["test_u_batch_size"] == 0:
        world.config["test_u_batch_size"] -= 1
        print(f"official test_u_batch_size {world.config['test_u_batch_size']} "
              f"(100 divides the {len(loader.testDict)} test users)")
    with contextlib.redirect_stdout(io.StringIO()):
        res_t = Procedure.Test(loader, theirs, 0, None, 0)
    eu, ei = ours.embed(data)
    res_o = ranking(eu, ei, data.train, data.test, ks=tuple(cfg["eval"]["ks"]))
    for j, k in enumerate(cfg["eval"]["ks"]):
        rec_o, ndcg_o = res_o.metrics[f"recall@{k}"], res_o.metrics[f"ndcg@{k}"]
        print(f"test after {steps} steps, K = {k}: Recall gcl {rec_o:.10f} "
              f"official {res_t['recall'][j]:.10f} (diff "
              f"{abs(rec_o - res_t['recall'][j]):.1e}); NDCG gcl {ndcg_o:.10f} "
              f"official {res_t['ndcg'][j]:.10f} (diff "
              f"{abs(ndcg_o - res_t['ndcg'][j]):.1e}); "
              f"{res_o.details['num_eval_users']} users")


if __name__ == "__main__":
    main()
