"""benchmarks/diagnostics/_common.py: the helpers the lockstep diagnostics
share (patched imports, same-RNG draws, view replay, worst differences)."""

import sys

import pytest
import torch


@pytest.fixture(scope="module")
def common(load_script):
    return load_script("benchmarks/diagnostics/_common.py")


def test_patch_source(common):
    text = "a = 1\nb = a + 1\n"
    assert common.patch_source(text, [("a", "c")], "f.py") == "c = 1\nb = c + 1\n"
    assert common.patch_source(text, [("b =", "d ="), ("d = a", "d = 2 * a")],
                               "f.py") == "a = 1\nd = 2 * a + 1\n"
    with pytest.raises(RuntimeError, match="found 0 times"):
        common.patch_source(text, [("z", "y")], "f.py")
    with pytest.raises(RuntimeError, match="found 2 times"):
        common.patch_source(text, [("a", "c")], "f.py", once=True)


def test_read_official_and_log_patches(common, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "cluster.py").write_text(
        "x = y.cuda()\r\nres = faiss.StandardGpuResources()\r\n")
    patches = {"m/cluster.py": [(".cuda()", ""),
                                ("res = faiss.StandardGpuResources()", "pass")]}
    text = common.read_official(str(tmp_path), "m/cluster.py",
                                patches["m/cluster.py"])
    assert text == "x = y\npass\n"
    with pytest.raises(RuntimeError, match="m/cluster.py: patch target found 0"):
        common.read_official(str(tmp_path), "m/cluster.py", [("absent", "")])
    lines = []
    common.log_patches(patches, lines.append)
    assert lines == ["patch m/cluster.py: '.cuda()' -> ''",
                     "patch m/cluster.py: 'res = faiss.StandardGpuResources()' "
                     "-> 'pass'"]
    olds = [old for old, _ in common.MEOW_KMEANS_CPU_PATCHES]
    assert olds[0] == ".cuda()" and "GpuIndexFlatIP" in olds[-1]


def test_load_patched(common, tmp_path):
    path = tmp_path / "official.py"
    path.write_text("import torch\nSCALE = 2.0\n"
                    "def f(x):\n    SEEN.append(x)\n    return SCALE * x\n")
    name = "_diag_common_test_official"
    try:
        mod = common.load_patched(str(path), name, [("SCALE = 2.0", "SCALE = 3.0")],
                                  attrs=dict(SEEN=[]))
        assert sys.modules[name] is mod
        assert mod.f(2.0) == 6.0 and mod.SEEN == [2.0]
    finally:
        sys.modules.pop(name, None)
    assert "SCALE = 2.0" in path.read_text()  # the file is not changed


def test_from_same_rng_and_capture(common):
    torch.manual_seed(0)
    p = torch.full((50,), 0.3)
    bernoulli = torch.bernoulli

    def official():
        with common.BernoulliCapture() as cap:
            out = torch.bernoulli(p)
        return out, cap.probs

    (a, probs), b, same = common.from_same_rng(official, lambda: torch.bernoulli(p))
    assert torch.equal(a, b) and same
    assert len(probs) == 1 and torch.equal(probs[0], p)
    assert torch.bernoulli is bernoulli  # restored after the block
    _, _, same = common.from_same_rng(lambda: torch.rand(3), lambda: torch.rand(4))
    assert not same


def test_replay_and_swapped_augmentors(common):
    class Method:
        augmentors = ["own"]

    m = Method()
    with common.swapped_augmentors(m, common.replay_views(["v1", "v2"])):
        first, second = m.augmentors
        assert (first(None), second(None)) == ("v1", "v2")
    assert m.augmentors == ["own"]


def test_worst_and_differences(common):
    w = common.Worst(dl=0.0, views=0)
    w.max(dl=1e-3)
    w.max(dl=[2e-4, 5e-3, 1e-4])
    w.count(views=True)
    w.count(views=False)
    assert w == {"dl": 5e-3, "views": 1}
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([1.5, 1.0])
    assert common.max_abs_diff(a, b) == 1.0


def test_copy_grace_weights_and_adam_pair(common):
    from torch_geometric.nn import GCNConv

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.ModuleList([GCNConv(4, 3), GCNConv(3, 3)])

    class Official(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.fc1, self.fc2 = torch.nn.Linear(3, 2), torch.nn.Linear(2, 3)

    torch.manual_seed(0)
    off, other = Official(), Official()
    gcl_encoder = torch.nn.Module()
    gcl_encoder.convs = other.encoder.conv
    projector = torch.nn.Module()
    projector.fc1, projector.fc2 = other.fc1, other.fc2
    assert common.max_weight_diff(off.encoder.conv, gcl_encoder.convs) > 0
    common.copy_grace_weights(off, gcl_encoder, projector)
    for po, pg in zip(off.parameters(), other.parameters()):
        assert torch.equal(po, pg)
    assert common.max_weight_diff(off.encoder.conv, gcl_encoder.convs) == 0.0
    opt_o, opt_g = common.adam_pair(off, other, 1e-3, 1e-5)
    for opt, model in ((opt_o, off), (opt_g, other)):
        assert opt.defaults["lr"] == 1e-3 and opt.defaults["weight_decay"] == 1e-5
        assert opt.param_groups[0]["params"] == list(model.parameters())


def test_patched(common):
    rand = torch.rand
    with common.patched(torch, "rand", lambda *size: torch.zeros(size)) as orig:
        assert orig is rand
        assert torch.equal(torch.rand(3), torch.zeros(3))
    assert torch.rand is rand
    with pytest.raises(KeyError):  # restored when the block raises too
        with common.patched(torch, "rand", None):
            raise KeyError
    assert torch.rand is rand


def test_official_function(common, tmp_path):
    path = tmp_path / "main.py"
    path.write_text("import sys\nRAN = sys.exit('the script ran')\n"
                    "def decay(opt):\n    for g in opt.param_groups:\n"
                    "        lr = g['lr'] * FACTOR\n        if lr > 0.5:\n"
                    "            g['lr'] = lr\n    return lr\n")
    decay = common.official_function(str(path), "decay", dict(FACTOR=0.9))

    class Opt:
        param_groups = [{"lr": 0.6}]

    opt = Opt()
    assert decay(opt) == pytest.approx(0.54) and opt.param_groups[0]["lr"] == 0.54
    assert decay(opt) == pytest.approx(0.486) and opt.param_groups[0]["lr"] == 0.54
    with pytest.raises(RuntimeError, match="0 top-level functions 'nope'"):
        common.official_function(str(path), "nope")
