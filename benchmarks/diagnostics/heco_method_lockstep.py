"""Diagnostic: gcl's whole HeCo method against the official HeCo model, in
lockstep: same data, same initial weights, same neighbour samples, same
dropout masks, float64, a few Adam steps on each side.

``meow_lockstep.py`` checks HeCo's loss alone (``Contrast``) on free
embeddings; this script checks everything around it, as the official
``code/main.py`` wires it: the data (features, normalised meta-path graphs,
positives, network-schema neighbour lists), the type projections with feature
dropout, the meta-path view (a GCN per meta-path, semantic attention), the
network-schema view (neighbour sampling, intra-type and type-level
attention), the projection head, the loss and the optimiser, and the
evaluated embedding (``get_embeds`` against ``HeCo.embed``).

What is official: from a HeCo checkout (``liun-online/HeCo``),
``code/utils/load_data.py`` (``load_data``), ``code/utils/params.py`` (the
``<set>_params`` function of the data set, extracted with ``ast``: the file
parses ``sys.argv`` when imported) and the model package ``code/module/``
(``mp_encoder.py``, ``sc_encoder.py``, ``contrast.py``, ``heco.py``), set up
as ``main.py`` does: seed (numpy, random, torch), ``load_data``, ``HeCo(...)``
with the params, Adam with ``lr`` and ``l2_coef``; the model is cast to
float64. The files are executed in one namespace with these text patches,
applied in memory and printed (``PATCHES``), never written anywhere:

* the data path ``../data/<set>/`` -> ``--data`` (default
  ``$GCL_DATA/heco``: the same files gcl reads);
* ``sparse_mx_to_torch_sparse_tensor`` keeps float64 (``SPARSE_DTYPE``; the
  official code casts the scipy float64 normalisation to float32) and builds
  the tensor with ``th.sparse_coo_tensor`` (``th.sparse.FloatTensor`` is
  deprecated and float32 only);
* one-hot features stay sparse: ``preprocess_features`` returns its scipy
  matrix and ``FEATURES`` (below) turns an identity into a sparse identity,
  anything else into ``th.FloatTensor(dense)`` as before; ``HeCo.forward``
  and ``get_embeds`` call ``LINEAR(fc, x)``, which is ``fc(x)`` for a dense
  ``x`` and ``x @ W^T + b`` by ``torch.sparse.mm`` for a sparse one. For an
  identity this is exact (each output is one weight plus the bias), and
  AMiner's dense 35890 x 35890 reference identity would need 10 GB in
  float64;
* ``.cuda()`` removed from the neighbour sampler, which appends each drawn
  ``[N, sample_rate]`` neighbour matrix to ``SAMPLES``;
* the package's relative imports are dropped (one namespace).

What is made equal, and how:

* **data**: gcl loads ``<Set>-HeCo`` with its config's data options (as
  ``gcl.app.experiment.run_config`` does); its features, normalised meta-path
  graphs (``HeCo.build_graph``), positive pairs and relation edges (the
  network-schema neighbour multisets) are compared with the official ones and
  the largest differences printed. gcl's features are then replaced by the
  official values (float64), so that a feature difference, if any, does not
  hide the rest;
* **weights**: every gcl parameter is copied from its official counterpart
  after the official seeded initialisation (the mapping is printed; a shape
  mismatch or an unpaired parameter stops the script);
* **neighbour samples**: the official ``Sc_encoder`` draws with
  ``np.random.choice`` per node inside ``forward``; the patched sampler
  records the drawn matrices, and ``gcl.methods.heco.sample_neighbors`` is
  replaced by a replay that hands gcl exactly those, checking the shape and
  that every drawn node is a neighbour in gcl's relation;
* **dropout**: ``torch.nn.functional.dropout`` (which ``nn.Dropout`` calls
  too) is replaced on both sides by one that draws its masks from a seeded
  generator on the official side and replays them on gcl's side. Both codes
  call dropout in the same order (the feature dropout of each node type,
  the meta-path attention vector, the intra-type attention vector of each
  neighbour type, the type-level attention vector); every replayed call
  checks the shape and the rate.

Printed per step: the loss of each side and their difference, the largest
difference of the two training views (``z_mp``, ``z_sc``), of the gradients
and of the parameters after the step, and of the evaluated embeddings after
the step (the official ``get_embeds`` in evaluation mode, as ``main.py``
calls it, against gcl's ``HeCo.embed``). At the end a verdict line: PASS if
every difference stays below ``--tol``.

Run it outside the repository, on a checkout of the official code::

    mkdir -p /tmp/heco_official
    git -C <HeCo git dir> archive HEAD code | tar -x -C /tmp/heco_official
    OMP_NUM_THREADS=1 GCL_DATA=<data root> PYTHONPATH=. python \\
        benchmarks/diagnostics/heco_method_lockstep.py \\
        --official /tmp/heco_official --dataset acm

Result (``heco_method_lockstep_{ACM,AMiner,DBLP}.log``, official seeds 0,
4 and 53, 8 steps, float64, dropout masks and neighbour samples replayed,
one thread): PASS on all three. The inputs agree: features exactly,
normalised meta-path graphs to 2.2e-16 (same non-zeros), positives and
network-schema neighbour multisets identical. Largest differences over the
steps (loss / views / gradients / parameters / ``get_embeds`` vs
``embed``): ACM 8.9e-16 / 6.7e-15 / 1.1e-16 / 1.5e-14 / 1.3e-16; AMiner
8.9e-16 / 2.1e-13 / 1.4e-14 / 7.0e-13 / 1.1e-13; DBLP 2.2e-16 / 1.5e-14 /
4.0e-17 / 1.3e-14 / 4.4e-16. The parameter differences are Adam's: a
gradient entry near zero (~1e-17) is normalised to a step of order ``lr``,
so its rounding shows up at ~1e-14..1e-13 of the weights; gcl's HeCo
computes the official model's function to float64 rounding.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import gcl.methods.heco as gcl_heco
from gcl.app.config import load_config
from gcl.datasets import load
from gcl.methods import build_method

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

#: Official data set key -> gcl data set (and config) name.
SETS = {"acm": "ACM-HeCo", "dblp": "DBLP-HeCo", "aminer": "AMiner-HeCo",
        "freebase": "Freebase-HeCo"}
MODULES = ["mp_encoder", "sc_encoder", "contrast", "heco"]
PATCHES = {
    "code/utils/load_data.py": [
        ('"../data/', 'DATA_ROOT + "'),
        ("sparse_mx = sparse_mx.tocoo().astype(np.float32)",
         "sparse_mx = sparse_mx.tocoo().astype(SPARSE_DTYPE)"),
        ("return th.sparse.FloatTensor(indices, values, shape)",
         "return th.sparse_coo_tensor(indices, values, shape)"),
        ("return features.todense()", "return features"),
        ("th.FloatTensor(preprocess_features(", "FEATURES(preprocess_features("),
    ],
    "code/module/sc_encoder.py": [
        ("sele_nei = torch.cat(sele_nei, dim=0).cuda()",
         "sele_nei = torch.cat(sele_nei, dim=0); SAMPLES.append(sele_nei)"),
    ],
    "code/module/heco.py": [
        ("from .mp_encoder import Mp_encoder", ""),
        ("from .sc_encoder import Sc_encoder", ""),
        ("from .contrast import Contrast", ""),
        ("self.fc_list[i](feats[i])", "LINEAR(self.fc_list[i], feats[i])"),
        ("self.fc_list[0](feats[0])", "LINEAR(self.fc_list[0], feats[0])"),
    ],
}


# ------------------------------------------------------------ official code
def official_features(m) -> torch.Tensor:
    """``th.FloatTensor(preprocess_features(m))`` of the official loaders,
    except that a one-hot identity stays a sparse identity."""
    n = m.shape[0]
    coo = m.tocoo()
    if m.shape == (n, n) and coo.nnz == n and np.array_equal(coo.row, coo.col) \
            and np.all(coo.data == 1):
        idx = torch.arange(n)
        return torch.sparse_coo_tensor(torch.stack([idx, idx]), torch.ones(n),
                                       (n, n)).coalesce()
    return torch.FloatTensor(np.asarray(m.todense()))


def official_linear(fc: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``fc(x)``; for a sparse ``x``, ``x @ W^T + b`` by sparse product."""
    if x.is_sparse:
        return torch.sparse.mm(x, fc.weight.t()) + fc.bias
    return fc(x)


def load_official(root: str, data_root: str,
                  sparse_dtype: type = np.float64,
                  extra: dict | None = None) -> dict:
    """The official model package and ``load_data``, patched (``PATCHES``,
    then ``extra``), in one namespace (``SAMPLES`` collects the neighbour
    samples)."""
    ns = {"__name__": "heco_official",
          "DATA_ROOT": data_root.rstrip("/") + "/",
          "SPARSE_DTYPE": sparse_dtype, "FEATURES": official_features,
          "LINEAR": official_linear, "SAMPLES": []}
    rels = ["code/utils/load_data.py"] + [f"code/module/{m}.py" for m in MODULES]
    for rel in rels:
        patches = list(PATCHES.get(rel, [])) + list((extra or {}).get(rel, []))
        src = common.read_official(root, rel, patches)
        exec(compile(src, rel, "exec"), ns)
    return ns


def official_params(root: str, dataset: str) -> argparse.Namespace:
    """The official ``<dataset>_params()`` of ``code/utils/params.py`` with
    its defaults (``sys.argv`` is ``main.py <dataset>`` while it parses)."""
    fn = common.official_function(os.path.join(root, "code/utils/params.py"),
                                  f"{dataset}_params", {"argparse": argparse})
    argv = sys.argv
    sys.argv = ["main.py", dataset]
    try:
        return fn()
    finally:
        sys.argv = argv


def official_setup(ns: dict, params: argparse.Namespace, seed: int):
    """``main.py`` up to the optimiser: seeds, ``load_data``, ``HeCo``.

    Returns:
        tuple: ``(model, (nei_index, feats, mps, pos, label, idx_train,
        idx_val, idx_test))``.
    """
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = ns["load_data"](params.dataset, params.ratio, params.type_num)
    nei_index, feats, mps = loaded[:3]
    model = ns["HeCo"](params.hidden_dim, [f.shape[1] for f in feats],
                       params.feat_drop, params.attn_drop, len(mps),
                       params.sample_rate, params.nei_num, params.tau,
                       params.lam)
    return model, loaded


@contextlib.contextmanager
def quiet():
    """The official attention layers print their weights every forward."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nn.Softmax() without dim
        yield


# ------------------------------------------------------------- the replays
class DropoutReplay:
    """``F.dropout`` drawing masks from ``gen`` (``record``) or replaying the
    recorded ones in the same order (``replay``), checking shape and rate."""

    def __init__(self, seed: int, names: list[str]):
        self.gen = torch.Generator().manual_seed(seed)
        self.names = names
        self.mode, self.calls, self.pos = "record", [], 0

    def __call__(self, input, p=0.5, training=True, inplace=False):
        if not training or p == 0.0:
            return input
        if self.mode == "record":
            keep = (torch.rand(input.shape, generator=self.gen,
                               dtype=torch.float64) >= p).to(input.dtype)
            self.calls.append((tuple(input.shape), p, keep))
        else:
            if self.pos >= len(self.calls):
                raise RuntimeError(f"gcl calls dropout more often than the "
                                   f"official model ({len(self.calls)} calls)")
            shape, p0, keep = self.calls[self.pos]
            if shape != tuple(input.shape) or p0 != p:
                raise RuntimeError(
                    f"dropout call {self.pos} ({self.names[self.pos]}): gcl "
                    f"shape {tuple(input.shape)}, p {p}; official {shape}, p {p0}")
            self.pos += 1
        return input * keep / (1.0 - p)

    def start(self, mode: str) -> None:
        if mode == "record":
            self.calls = []
        self.mode, self.pos = mode, 0

    def check_done(self) -> None:
        if len(self.calls) != len(self.names) or self.pos != len(self.calls):
            raise RuntimeError(f"{len(self.calls)} official and {self.pos} gcl "
                               f"dropout calls, expected {len(self.names)}")


class SampleReplay:
    """Stands in for ``gcl.datasets.sample_neighbors`` inside gcl's HeCo:
    returns the official samples of the step in order, after checking their
    shape and that every drawn node is a neighbour in gcl's relation."""

    def __init__(self, samples: list):
        self.samples, self.pos = samples, 0

    def __call__(self, edge_index, num_nodes, num_samples, generator=None):
        if self.pos >= len(self.samples):
            raise RuntimeError("gcl samples more neighbour types than the "
                               "official encoder")
        s = self.samples[self.pos].long()
        if tuple(s.shape) != (num_nodes, num_samples):
            raise RuntimeError(f"neighbour type {self.pos}: official samples "
                               f"{tuple(s.shape)}, gcl asks for "
                               f"({num_nodes}, {num_samples})")
        m = int(max(edge_index[1].max(), s.max())) + 1
        keys = edge_index[0] * m + edge_index[1]
        drawn = torch.arange(num_nodes)[:, None] * m + s
        if not torch.isin(drawn, keys).all():
            raise RuntimeError(f"neighbour type {self.pos}: an official sample "
                               f"is not a neighbour in gcl's relation")
        self.pos += 1
        return s.to(edge_index.device)

    def check_done(self) -> None:
        if self.pos != len(self.samples):
            raise RuntimeError(f"{len(self.samples)} official and {self.pos} "
                               f"gcl neighbour samplings")


# ---------------------------------------------------------- the comparisons
def param_map(official, ours, types: list[str]) -> list[tuple[str, str]]:
    """(official name, gcl name) of every parameter."""
    pairs = []
    for i, t in enumerate(types):
        for w in ("weight", "bias"):
            pairs.append((f"fc_list.{i}.{w}", f"projections.lins.{t}.{w}"))
    for m in range(len(official.mp.node_level)):
        pairs += [(f"mp.node_level.{m}.fc.weight", f"mp.convs.{m}.lin.weight"),
                  (f"mp.node_level.{m}.bias", f"mp.convs.{m}.bias"),
                  (f"mp.node_level.{m}.act.weight", f"mp.acts.{m}.weight")]
    pairs += [("mp.att.fc.weight", "mp.attention.lin.weight"),
              ("mp.att.fc.bias", "mp.attention.lin.bias"),
              ("mp.att.att", "mp.attention.att")]
    for i in range(len(official.sc.intra)):
        pairs.append((f"sc.intra.{i}.att", f"sc.intra.{i}.att"))
    pairs += [("sc.inter.fc.weight", "sc.inter.lin.weight"),
              ("sc.inter.fc.bias", "sc.inter.lin.bias"),
              ("sc.inter.att", "sc.inter.att"),
              ("contrast.proj.0.weight", "projector.fc1.weight"),
              ("contrast.proj.0.bias", "projector.fc1.bias"),
              ("contrast.proj.2.weight", "projector.fc2.weight"),
              ("contrast.proj.2.bias", "projector.fc2.bias")]
    po, pg = dict(official.named_parameters()), dict(ours.named_parameters())
    left_o = set(po) - {a for a, _ in pairs}
    left_g = set(pg) - {b for _, b in pairs}
    if left_o or left_g:
        raise RuntimeError(f"unpaired parameters: official {sorted(left_o)}, "
                           f"gcl {sorted(left_g)}")
    for a, b in pairs:
        if po[a].shape != pg[b].shape:
            raise RuntimeError(f"shape mismatch: official {a} "
                               f"{tuple(po[a].shape)}, gcl {b} "
                               f"{tuple(pg[b].shape)}")
    return [(a, po[a], b, pg[b]) for a, b in pairs]


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().double() - b.detach().double()).abs().max())


def pdiff(pairs, grad: bool = False) -> float:
    """Largest difference of the paired parameters (or their gradients)."""
    out = 0.0
    for _, a, _, b in pairs:
        if grad:
            a, b = a.grad, b.grad
            if a is None or b is None:
                if a is not None or b is not None:
                    raise RuntimeError("a parameter has a gradient on one side "
                                       "only")
                continue
        out = max(out, maxdiff(a, b))
    return out


def sparse_diff(a: torch.Tensor, b: torch.Tensor) -> tuple[float, int, int, int]:
    """Largest |a - b| of two sparse (or dense) matrices, the number of
    entries differing by more than 1e-12, and both numbers of stored
    non-zeros, without densifying."""
    a = (a.to_sparse_coo() if a.layout != torch.sparse_coo else a).double().coalesce()
    b = (b.to_sparse_coo() if b.layout != torch.sparse_coo else b).double().coalesce()
    d = (a - b).coalesce().values().abs()
    return ((float(d.max()) if d.numel() else 0.0), int((d > 1e-12).sum()),
            int((a.values() != 0).sum()), int((b.values() != 0).sum()))


def sorted_keys(row: torch.Tensor, col: torch.Tensor, m: int) -> torch.Tensor:
    return torch.sort(row.long() * m + col.long()).values


def compare_pairs(name: str, official: torch.Tensor, ours: torch.Tensor,
                  m: int, log) -> bool:
    """Compares two multisets of pairs given as sorted keys."""
    if official.numel() == ours.numel() and torch.equal(official, ours):
        log(f"{name}: equal ({official.numel()} pairs)")
        return True
    only_o = (~torch.isin(official, ours)).sum().item()
    only_g = (~torch.isin(ours, official)).sum().item()
    log(f"{name}: DIFFER, official {official.numel()} pairs, gcl {ours.numel()}; "
        f"{only_o} official pairs not in gcl, {only_g} gcl pairs not official")
    return False


def compare_inputs(method, data, feats, mps, pos, nei_index, log) -> bool:
    """Prints the largest input differences; replaces gcl's features by the
    official values (float64). Returns whether the graphs agree."""
    types = list(method.in_channels)
    ok = True
    for t, f in zip(types, feats):
        x = data[t].x
        if x.is_sparse or f.is_sparse:
            d, n, nx, nf = sparse_diff(x, f)
            log(f"features {t}: gcl {tuple(x.shape)} {x.layout} {x.dtype}, "
                f"official {tuple(f.shape)} {f.layout} (as float64); max "
                f"|gcl - official| {d:.1e} ({n} entries > 1e-12; non-zeros gcl {nx}, "
                f"official {nf})")
        else:
            d = maxdiff(x, f)
            n = int(((x.double() - f.double()).abs() > 1e-12).sum())
            log(f"features {t}: gcl {tuple(x.shape)} {x.dtype}, official "
                f"{tuple(f.shape)} (as {f.dtype}); max |gcl - official| {d:.1e} "
                f"({n} entries > 1e-12)")
        data[t].x = f.double().coalesce() if f.is_sparse else f.double()
    log("gcl's features now hold the official values (float64)")
    method.graph_ = None
    method.prepare(data)
    g = method.graph_
    n = data[method.target].num_nodes
    for name, a, ref in zip(method.metapaths, g["adjs"], mps):
        d, cnt, na, nr = sparse_diff(a, ref)
        log(f"meta-path graph {name} (normalised): gcl {na} non-zeros, official "
            f"{nr}; max |gcl - official| {d:.1e} ({cnt} entries > 1e-12)")
        ok &= cnt == 0
    pos = pos.coalesce()
    pi = g["pos"]
    ok &= compare_pairs("positives (anchor, positive)",
                        sorted_keys(*pos.indices(), n), sorted_keys(pi[0], pi[1], n),
                        n, log)
    vals = set(pos.values().tolist())
    log(f"official positive values: {sorted(vals)} (gcl: unweighted)")
    ok &= vals == {1.0}
    for t, ei, nei in zip(method.neighbor_types, g["neighbors"], nei_index):
        lengths = torch.tensor([len(v) for v in nei])
        rows = torch.repeat_interleave(torch.arange(len(nei)), lengths)
        cols = torch.cat(list(nei))
        m = int(max(cols.max(), ei[1].max())) + 1
        ok &= compare_pairs(f"network-schema neighbours {t} (multisets per node)",
                            sorted_keys(rows, cols, m), sorted_keys(ei[0], ei[1], m),
                            m, log)
    return bool(ok)


# ------------------------------------------------------------------ the run
def main():
    p = common.lockstep_parser(__doc__, "HeCo checkout (code/)", seed=None)
    p.add_argument("--dataset", choices=list(SETS), default="acm")
    p.add_argument("--seed", type=int, default=None,
                   help="official seed (default: params.py's for the data set)")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--data", help="folder holding the official <set>/ folders "
                   "(default: $GCL_DATA/heco)")
    p.add_argument("--tol", type=float, default=1e-10,
                   help="largest difference a PASS allows")
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    def log(msg):
        print(msg, flush=True)

    data_root = args.data or os.path.join(os.environ.get("GCL_DATA", "."), "heco")
    ns = load_official(args.official, data_root)
    params = official_params(args.official, args.dataset)
    seed = params.seed if args.seed is None else args.seed
    log(f"torch {torch.__version__}, numpy {np.__version__}, float64, "
        f"{args.steps} steps, data set {args.dataset}, official seed {seed}, "
        f"data {data_root}, {torch.get_num_threads()} thread(s)")
    common.log_patches(PATCHES, log)
    log("official params: " + ", ".join(
        f"{k}={getattr(params, k)}" for k in
        ("hidden_dim", "lr", "l2_coef", "tau", "feat_drop", "attn_drop",
         "sample_rate", "lam", "nei_num", "type_num", "patience")))

    # ---------------- official set-up, as code/main.py ------------------
    t0 = time.time()
    official, (nei_index, feats, mps, pos, *_) = official_setup(ns, params, seed)
    official = official.double()
    feats = [f.double().coalesce() if f.is_sparse else f.double() for f in feats]
    mps = [a.double().coalesce() for a in mps]
    pos = pos.double().coalesce()
    opt_off = torch.optim.Adam(official.parameters(), lr=params.lr,
                               weight_decay=params.l2_coef)
    log(f"official set-up (load_data, HeCo, Adam) {time.time() - t0:.0f}s")

    # ---------------- gcl: the data, the method, the comparison ---------
    t0 = time.time()
    cfg = load_config("heco", SETS[args.dataset])
    mc, tc = cfg["model"], cfg["train"]
    for key, ours, theirs in (("lr", tc["lr"], params.lr),
                              ("weight_decay", tc["weight_decay"], params.l2_coef),
                              ("tau", mc["tau"], params.tau),
                              ("lam", mc["lam"], params.lam),
                              ("feat_drop", mc["feat_drop"], params.feat_drop),
                              ("attn_drop", mc["attn_drop"], params.attn_drop),
                              ("sample_rate", list(mc["sample_rate"]),
                               list(params.sample_rate)),
                              ("hidden_channels", mc["hidden_channels"],
                               params.hidden_dim),
                              ("patience", tc["patience"], params.patience)):
        log(f"config {key}: gcl {ours}, official {theirs}"
            f"{'' if ours == theirs else '  <-- DIFFERENT'}")
    data = load(cfg["dataset"], **cfg["data"])
    method = build_method("heco", data.num_features, **mc).double()
    types = list(method.in_channels)
    if len(types) != len(feats):
        raise RuntimeError(f"gcl projects {types}, the official model "
                           f"{len(feats)} feature matrices")
    inputs_ok = compare_inputs(method, data, feats, mps, pos, nei_index, log)
    log(f"gcl set-up (load, compare, prepare) {time.time() - t0:.0f}s")

    pairs = param_map(official, method, types)
    with torch.no_grad():
        for _, a, _, b in pairs:
            b.copy_(a)
    log("weights, official -> gcl: " + "; ".join(f"{a} -> {b}" for a, _, b, _ in pairs))
    log(f"{len(pairs)} parameter tensors paired, shapes checked, max |initial "
        f"difference| {pdiff(pairs):.1e}")
    opt_ours = torch.optim.Adam(method.parameters(), lr=tc["lr"],
                                weight_decay=tc["weight_decay"])

    # ---------------- replays and hooks --------------------------------
    names = ([f"feat_drop {t}" for t in types] + ["mp attention vector"]
             + [f"intra-type attention {t}" for t in method.neighbor_types]
             + ["type-level attention vector"])
    drop = DropoutReplay(seed, names)
    F.dropout = drop  # nn.Dropout calls F.dropout too
    log("dropout calls of a step (same order on both sides): " + "; ".join(names))
    views = {}
    official.mp.register_forward_hook(lambda m, i, o: views.__setitem__("mp", o))
    official.sc.register_forward_hook(lambda m, i, o: views.__setitem__("sc", o))

    def embeds():
        official.eval()
        with quiet(), torch.no_grad():
            z_o = official.get_embeds(feats, mps)
        official.train()
        return maxdiff(z_o, method.embed(data))

    log(f"initial weights: get_embeds (eval mode) vs gcl embed max |diff| "
        f"{embeds():.1e}")

    # ---------------- the steps -----------------------------------------
    log("step    loss_official         loss_gcl      |dL|   |dz_mp|   |dz_sc|  "
        "|dgrad|max  |dparam|max  |dembed|")
    worst = common.Worst(loss=0.0, z=0.0, grad=0.0, param=0.0, embed=0.0)
    samples = ns["SAMPLES"]
    for step in range(args.steps):
        t0 = time.time()
        official.train()
        method.train()
        method.set_epoch(step + 1)
        drop.start("record")
        samples.clear()
        opt_off.zero_grad()
        with quiet():
            loss_o = official(feats, pos, mps, nei_index)
        drop.start("replay")
        replay = SampleReplay(samples)
        opt_ours.zero_grad()
        with common.patched(gcl_heco, "sample_neighbors", replay):
            rec = method.step(data)
        drop.check_done()
        replay.check_done()
        loss_o.backward()
        rec.loss.backward()
        dz_mp = maxdiff(views["mp"], rec.zs[0])
        dz_sc = maxdiff(views["sc"], rec.zs[1])
        dgrad = pdiff(pairs, grad=True)
        opt_off.step()
        opt_ours.step()
        dparam = pdiff(pairs)
        demb = embeds()
        lo, lg = loss_o.item(), rec.loss.item()
        dl = abs(lo - lg)
        worst.max(loss=dl, z=[dz_mp, dz_sc], grad=dgrad, param=dparam, embed=demb)
        log(f"{step:4d} {lo:18.15f} {lg:18.15f} {dl:8.1e} {dz_mp:9.1e} "
            f"{dz_sc:9.1e} {dgrad:11.1e} {dparam:12.1e} {demb:9.1e}   "
            f"[{time.time() - t0:.1f}s]")

    log(f"max over the {args.steps} steps: |loss difference| {worst['loss']:.1e}, "
        f"|view difference| {worst['z']:.1e}, |gradient difference| "
        f"{worst['grad']:.1e}, |parameter difference| {worst['param']:.1e}, "
        f"|embedding difference| {worst['embed']:.1e}")
    ok = inputs_ok and max(worst.values()) < args.tol
    log(f"VERDICT {args.dataset}: {'PASS' if ok else 'FAIL'} (inputs "
        f"{'equal' if inputs_ok else 'DIFFER'}; largest difference "
        f"{max(worst.values()):.1e}, tolerance {args.tol:.0e}; dropout masks "
        f"and neighbour samples replayed)")


if __name__ == "__main__":
    main()
