import pytest
import torch
import torch.nn.functional as F

from gcl.nn import Autoencoder, MLPEncoder, autoencoder_cache_path, pretrain_autoencoder

SMALL = {"hidden_channels": (16, 12, 24), "out_channels": 3, "epochs": 3,
         "batch_size": 16}


def features(n=50, f=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, f, generator=g) * (torch.rand(n, f, generator=g) < 0.5)


def test_autoencoder_mirrors_the_encoder():
    ae = Autoencoder(7)
    assert isinstance(ae.encoder, MLPEncoder)
    assert [lin.out_features for lin in ae.encoder.lins] == [500, 500, 2000, 10]
    assert [lin.out_features for lin in ae.decoder.lins] == [2000, 500, 500, 7]
    torch.manual_seed(0)
    ae = Autoencoder(5, 2, (4, 3))
    x = torch.randn(6, 5)
    x_bar, z = ae(x)
    h = torch.relu(ae.decoder.lins[1](torch.relu(ae.decoder.lins[0](z))))
    assert [lin.out_features for lin in ae.decoder.lins] == [3, 4, 5]
    assert torch.allclose(z, ae.encoder(x))
    assert torch.allclose(x_bar, ae.decoder.lins[2](h))  # linear output
    assert repr(ae) == "Autoencoder(5, 2, hidden_channels=[4, 3])"


def test_one_full_batch_epoch_is_one_adam_step_on_the_mse():
    x = features()
    ae = pretrain_autoencoder(x, epochs=1, batch_size=len(x), lr=1e-2, seed=3,
                              cache=None, hidden_channels=(6, 5), out_channels=2)
    torch.manual_seed(3)
    ref = Autoencoder(8, 2, (6, 5))
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2)
    loss = F.mse_loss(ref(x)[0], x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    for a, b in zip(ae.state_dict().values(), ref.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-7)
    assert not ae.training


def test_training_reduces_the_error_is_seeded_and_keeps_global_rng():
    x = features()
    state = torch.get_rng_state()
    a = pretrain_autoencoder(x, cache=None, **{**SMALL, "epochs": 20}, lr=3e-3)
    assert torch.equal(torch.get_rng_state(), state)
    b = pretrain_autoencoder(x, cache=None, **{**SMALL, "epochs": 20}, lr=3e-3)
    for u, v in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(u, v)
    torch.manual_seed(0)
    untrained = Autoencoder(8, 3, (16, 12, 24))
    with torch.no_grad():
        before = F.mse_loss(untrained(x)[0], x)
        after = F.mse_loss(a(x)[0], x)
    assert after < 0.75 * before
    c = pretrain_autoencoder(x, cache=None, seed=1, **SMALL)
    assert not torch.equal(c.encoder.lins[0].weight, a.encoder.lins[0].weight)


def test_cache_hit_loads_instead_of_training(tmp_path, monkeypatch):
    x = features()
    first = pretrain_autoencoder(x, cache=tmp_path, **SMALL)
    path = autoencoder_cache_path(x, cache=tmp_path, **SMALL)
    assert path.parent == tmp_path and path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp left

    def boom(*args, **kwargs):
        raise AssertionError("trained although the cache holds the weights")

    monkeypatch.setattr(torch.optim, "Adam", boom)
    second = pretrain_autoencoder(x.clone(), cache=tmp_path, **SMALL)
    for u, v in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(u, v)
    blob = torch.load(path, weights_only=True)
    assert blob["config"]["epochs"] == 3
    assert "encoder.lins.0.weight" in blob["state_dict"]
    # Other data or other hyper-parameters: another file, trained.
    other = features(seed=1)
    for kw in ({"x": other}, {"x": x, "lr": 2e-3}, {"x": x, "seed": 4}):
        args = {**SMALL, **kw}
        assert autoencoder_cache_path(cache=tmp_path, **args) != path
        with pytest.raises(AssertionError, match="trained although"):
            pretrain_autoencoder(cache=tmp_path, **args)


def test_default_cache_dir_follows_gcl_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GCL_CACHE", str(tmp_path / "c"))
    x = features(n=20)
    path = autoencoder_cache_path(x, **SMALL)
    assert path.parent == tmp_path / "c" / "autoencoders"
    pretrain_autoencoder(x, **SMALL)
    assert path.is_file()
    pretrain_autoencoder(x, cache=None, **{**SMALL, "seed": 9})
    assert len(list(path.parent.iterdir())) == 1  # cache=None writes nothing
    with pytest.raises(ValueError, match="disabled"):
        autoencoder_cache_path(x, cache=None)


def test_broken_cache_file_is_retrained(tmp_path):
    x = features(n=20)
    path = autoencoder_cache_path(x, cache=tmp_path, **SMALL)
    path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="unreadable"):
        ae = pretrain_autoencoder(x, cache=tmp_path, **SMALL)
    blob = torch.load(path, weights_only=True)
    assert torch.equal(blob["state_dict"]["encoder.lins.0.weight"],
                       ae.encoder.lins[0].weight)


def test_sparse_features_train_like_dense(tmp_path):
    x = features()
    dense = pretrain_autoencoder(x, cache=None, **SMALL)
    sparse = pretrain_autoencoder(x.to_sparse(), cache=tmp_path, **SMALL)
    for u, v in zip(dense.state_dict().values(), sparse.state_dict().values()):
        assert torch.allclose(u, v, atol=1e-6)
    # The cache key holds the layout; a second sparse call hits the cache.
    assert autoencoder_cache_path(x.to_sparse(), cache=tmp_path, **SMALL).is_file()
    assert not autoencoder_cache_path(x, cache=tmp_path, **SMALL).is_file()
    z = sparse.encoder(x.to_sparse())
    assert torch.allclose(z, dense.encoder(x), atol=1e-5)


def test_validation():
    with pytest.raises(ValueError, match="NaN"):
        pretrain_autoencoder(torch.tensor([[1.0, float("nan")]]), cache=None)
    with pytest.raises(ValueError, match=r"\[N, F\]"):
        pretrain_autoencoder(torch.ones(3), cache=None)
    with pytest.raises(ValueError, match="floating"):
        pretrain_autoencoder(torch.ones(3, 2, dtype=torch.long), cache=None)
    with pytest.raises(ValueError, match="batch_size"):
        pretrain_autoencoder(torch.ones(3, 2), batch_size=0, cache=None)
