"""benchmarks/pygcl_compare.py: GRACE assembled from PyGCL's parts, and
what its objective computes against GRACE's."""

import importlib.util
import sys

import pytest
import torch

# PyGCL (the test extra) is imported through the script's shims
pytestmark = pytest.mark.skipif(importlib.util.find_spec("GCL") is None,
                                reason="PyGCL is not installed")


@pytest.fixture(scope="module")
def cmp(load_script):
    return load_script("benchmarks/pygcl_compare.py")


def test_pygcl_imports_without_its_unused_dependencies(cmp):
    GCL = cmp.import_pygcl()
    assert hasattr(GCL.models, "DualBranchContrast")
    # the placeholders lived for the import only
    for module in cmp._UNUSED_IMPORTS:
        if importlib.util.find_spec(module) is None:
            assert module not in sys.modules
    with pytest.raises(RuntimeError, match="dgl.DGLGraph is not installed"):
        cmp._placeholder("dgl", "DGLGraph")()


def test_pygcl_objective_keeps_the_self_pair(cmp):
    # PyGCL's DualBranchContrast equals GRACE's formula with the anchor's
    # pair with itself in the denominator (to rounding in float64), and so
    # differs from GRACE's loss as its code and gcl compute it
    for tau in (0.4, 0.9):
        diff = cmp.loss_agreement(n=40, d=8, tau=tau, seed=3)
        assert diff["with_self_pair"] < 1e-12
        assert diff["gcl"] > 1e-3


def test_pygcl_grace_has_the_architecture_of_gcl_grace(cmp):
    from gcl.app.config import load_config
    from gcl.methods import build_method

    for dataset, features in (("Cora", 1433), ("CiteSeer", 3703)):
        model_cfg = load_config("grace", dataset)["model"]
        torch.manual_seed(0)
        ours = build_method("grace", features, **model_cfg)
        theirs = cmp.PyGCLGRACE(features, **model_cfg)
        shapes = sorted(tuple(p.shape) for p in ours.parameters())
        assert sorted(tuple(p.shape) for p in theirs.parameters()) == shapes
        assert type(theirs.activation) is type(ours.encoder.activation)


def test_one_variant_times_and_scores_both_libraries(cmp):
    # Cora ships with gcl; two timed epochs, no accuracy for a short run
    for variant in cmp.VARIANTS:
        rec = cmp.one_variant("Cora", variant, seed=0, epochs=2)
        assert rec["epochs"] == 3 and rec["nodes"] == 2708
        assert rec["seconds_per_epoch"] > 0 and rec["peak_mb"] > 0
        assert torch.isfinite(torch.tensor(rec["last_loss"]))
        assert "accuracy" not in rec
