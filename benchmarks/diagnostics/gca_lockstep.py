"""Diagnostic: gcl's GCA against the official CRIPAC-DIG/GCA code, in lockstep.

Both models start from the same weights (the official model is built first
from the config's seed, its parameters are copied into gcl's), the official
edge and feature weights are computed with the official functions, and every
epoch the official ``train()`` step (``drop_edge_weighted`` for both views,
``drop_feature`` for both, ``drop_feature_weighted_2`` for both, encode, loss,
Adam) runs from a saved torch RNG state; gcl's step then runs from the same
state. Per epoch the script prints both losses, whether gcl's views equal the
official ones (edges and features) and whether both leave the RNG in the same
state. It first prints the largest difference between the official and gcl's
drop probabilities (float32 in both) and how many official feature weights
are NaN (a weightless column makes all of them NaN: see
docs/methods/gca.md).

The official code is not part of this repository: pass the folder holding
its ``pGRACE`` package (a checkout of https://github.com/CRIPAC-DIG/GCA,
commit 0f17497)::

    python benchmarks/diagnostics/gca_lockstep.py --official /tmp/gca_off \
        --dataset Photo --scheme pr --epochs 4
    # Cora's all-zero column: the official NaN weights, reproduced
    python benchmarks/diagnostics/gca_lockstep.py --official /tmp/gca_off \
        --dataset Cora --set model.zero_columns=official --epochs 4

Patches applied at run time for today's torch and PyG (nothing in the
checkout is edited):

- ``torch_scatter`` (imported by ``pGRACE/utils.py``) is replaced by a module
  whose ``scatter`` is PyG's ``torch_geometric.utils.scatter`` (same sum);
- ``torch_sparse`` (imported, unused) is an empty module;
- ``GCNConv.jittable()`` (removed from PyG) returns the layer itself.

Under PyG 2.x the official ``GCNConv`` normalises directed views by
in-degree, so gcl runs with ``model.degree=in`` here (:func:`lockstep_config`),
whatever its config says: the GCA configs taken from GCA's parameter files
leave the default (``in``), but ``gca/Cora`` and ``gca/CiteSeer`` are GRACE's
configs and keep its source-degree normalisation (``degree: out``, PyG 1.x's),
which on Cora moves the first loss by 6e-6. A ``--set model.degree=out``
given on the command line still wins (to see that difference). The output
starts with the command and the gcl settings. Results (float64, CPU):
``gca_lockstep_Photo.log``, ``gca_lockstep_Cora.log``.
"""

import sys
from pathlib import Path
from typing import Optional

import torch
import torch_geometric
import torch_geometric.utils as pyg_utils
from torch_geometric.nn import GCNConv

from gcl.app.config import load_config
from gcl.methods import build_method

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402


def patch_environment(official: str) -> None:
    """Makes the official package importable on today's torch and PyG."""
    common.stub_module("torch_scatter", scatter=pyg_utils.scatter)
    common.stub_module("torch_sparse")
    common.skip_jittable()
    sys.path.insert(0, official)


def lockstep_config(dataset: str, scheme: Optional[str] = None,
                    overrides=()) -> dict:
    """The gcl config the lockstep runs: ``gca/<dataset>`` with in-degree
    GCN normalisation (the official ``GCNConv`` on PyG 2.x), then
    ``overrides``, then ``scheme`` if given."""
    over = ["model.degree=in", *overrides]
    if scheme is not None:
        over.append(f"model.drop_scheme={scheme}")
    return load_config("gca", dataset, over)


def main():
    p = common.lockstep_parser(__doc__,
                               "folder with the official pGRACE package",
                               seed=None, dtype="float64")
    p.add_argument("--dataset", default="Photo")
    p.add_argument("--scheme", default=None,
                   help="degree, pr or evc (default: the config's)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. model.zero_columns=official")
    args = p.parse_args()
    patch_environment(args.official)
    from pGRACE.functional import (  # the official code
        degree_drop_weights,
        drop_edge_weighted,
        drop_feature,
        drop_feature_weighted_2,
        evc_drop_weights,
        feature_drop_weights,
        feature_drop_weights_dense,
        pr_drop_weights,
    )
    from pGRACE.model import GRACE as Official
    from pGRACE.model import Encoder
    from pGRACE.utils import compute_pr, eigenvector_centrality

    dtype = getattr(torch, args.dtype)
    cfg = lockstep_config(args.dataset, args.scheme, args.set)
    mc = cfg["model"]
    print("# python " + " ".join(sys.argv))
    print(f"# torch {torch.__version__}, PyG {torch_geometric.__version__}; "
          f"gcl config gca/{args.dataset} with degree {mc['degree']}, "
          f"drop_scheme {mc['drop_scheme']}, zero_columns "
          f"{mc.get('zero_columns', 'cap')}, {args.dtype}")
    if mc["degree"] != "in":
        print("# warning: the official GCNConv normalises by in-degree; "
              f"degree {mc['degree']} will not agree on directed views")
    if mc["drop_scheme"] == "uniform":
        raise SystemExit("use grace_lockstep.py for the uniform scheme")
    # dense features: the official functions index and multiply dense x
    data = common.load_dense(args.dataset, cfg, dtype)
    act = common.official_activation(mc["activation"])

    torch.manual_seed(cfg["seed"])
    off = Official(Encoder(data.num_features, mc["hidden_channels"], act,
                           GCNConv, mc["num_layers"]),
                   mc["hidden_channels"], mc["proj_channels"], mc["tau"]).to(dtype)
    ours = build_method(cfg, data.num_features).to(dtype)
    common.copy_grace_weights(off, ours.encoder, ours.projector)
    with torch.no_grad():
        if mc["activation"] == "prelu":
            ours.encoder.activation.weight.copy_(act.weight)

    ei, scheme = data.edge_index, mc["drop_scheme"]
    if scheme == "degree":  # as train.py
        dw = degree_drop_weights(ei)
        node_c = pyg_utils.degree(pyg_utils.to_undirected(ei)[1])
    elif scheme == "pr":
        dw = pr_drop_weights(ei, aggr="sink", k=200)
        node_c = compute_pr(ei)
    else:
        dw = evc_drop_weights(data)
        node_c = eigenvector_centrality(data)
    weigh = (feature_drop_weights_dense if mc["feature_weighting"] == "abs"
             else feature_drop_weights)
    fw = weigh(data.x.float(), node_c=node_c)
    print(f"{args.dataset}, drop_scheme {scheme}: official feature weights "
          f"NaN: {int(fw.isnan().sum())} of {fw.numel()}")

    ours.prepare(data)
    for k, aug in enumerate(ours.augmentors):
        edge, feature = aug.augmentors
        for name, w, p, mine in (("p_e", dw, mc["drop_edge"][k], edge),
                                 ("p_f", fw, mc["drop_feature"][k], feature)):
            ref = w / w.mean() * p
            ref = ref.where(ref < 0.7, torch.ones_like(ref) * 0.7)
            diff = (mine.drop_probabilities() - ref).abs().max().item()
            print(f"view {k + 1}: max |{name} - official| = {diff:.3g}")

    wd = cfg["train"]["weight_decay"]
    opt_o, opt_g = common.adam_pair(off, ours, cfg["train"]["lr"], wd)

    def official_step():  # the official train() with an adaptive drop scheme
        off.train()
        opt_o.zero_grad()
        ei1 = drop_edge_weighted(ei, dw, p=mc["drop_edge"][0], threshold=0.7)
        ei2 = drop_edge_weighted(ei, dw, p=mc["drop_edge"][1], threshold=0.7)
        drop_feature(data.x, mc["drop_feature"][0])  # drawn, then overwritten
        drop_feature(data.x, mc["drop_feature"][1])
        x1 = drop_feature_weighted_2(data.x, fw, mc["drop_feature"][0])
        x2 = drop_feature_weighted_2(data.x, fw, mc["drop_feature"][1])
        lo = off.loss(off(x1, ei1), off(x2, ei2))
        lo.backward()
        opt_o.step()
        return lo, ei1, ei2, x1, x2

    def gcl_step():
        ours.train()
        opt_g.zero_grad()
        return ours.step(data)

    torch.manual_seed(0)
    worst = common.Worst(loss=0.0)
    for epoch in range(1, args.epochs + 1):
        (lo, ei1, ei2, x1, x2), step, same_rng = common.from_same_rng(
            official_step, gcl_step)
        v1, v2 = step.views
        same = (torch.equal(v1.edge_index, ei1) and torch.equal(v2.edge_index, ei2)
                and torch.equal(v1.x, x1) and torch.equal(v2.x, x2))
        step.loss.backward()
        opt_g.step()
        d = abs(lo.item() - step.loss.item())
        worst.max(loss=d)
        print(f"epoch {epoch}: official {lo.item():.15f}  gcl "
              f"{step.loss.item():.15f}  |diff| {d:.1e}  views equal {same}  "
              f"RNG state equal {same_rng}")
    print(f"{args.dataset} {scheme} {args.dtype}: largest loss difference over "
          f"{args.epochs} epochs {worst['loss']:.1e}")


if __name__ == "__main__":
    main()
