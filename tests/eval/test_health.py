import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gcl.eval import embedding_health


def brute(z):
    """Spread and effective rank written out in numpy from the definitions."""
    z = np.asarray(z, dtype=np.float64)
    c = z - z.mean(0)
    spread = np.linalg.norm(c) / np.linalg.norm(z)
    s = np.linalg.svd(c, compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return spread, float(np.exp(-(p * np.log(p)).sum()))


def test_matches_numpy_on_random_embeddings():
    z = torch.randn(200, 16, generator=torch.Generator().manual_seed(0)) + 3.0
    h = embedding_health(z)
    spread, erank = brute(z)
    assert h["spread"] == pytest.approx(spread, rel=1e-12)
    assert h["effective_rank"] == pytest.approx(erank, rel=1e-9)
    assert h["dims"] == 16 and h["dead_dims"] == 0 and not h["collapsed"]


def test_equal_rows_and_zeros_are_collapsed():
    h = embedding_health(torch.ones(50, 8) * 0.7)
    assert h == {"spread": 0.0, "effective_rank": 0.0, "dead_dims": 8, "dims": 8,
                 "collapsed": True}
    h = embedding_health(torch.zeros(10, 4))
    assert h["spread"] == 0.0 and h["collapsed"] and h["dead_dims"] == 4


def test_two_orthogonal_directions_of_equal_weight_have_rank_two():
    # rows +-e1, +-e2: mean 0, singular values of the centred matrix equal
    z = torch.tensor([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])
    h = embedding_health(z)
    assert h["effective_rank"] == pytest.approx(2.0, rel=1e-12)
    assert h["spread"] == pytest.approx(1.0) and h["dead_dims"] == 1


def test_near_collapse_is_measured_without_cancellation():
    # float32 rows 1e4 apart from zero and 1e-2 apart from each other
    g = torch.Generator().manual_seed(1)
    z = (1e4 + 1e-2 * torch.randn(300, 6, generator=g, dtype=torch.float64)).float()
    h = embedding_health(z, block_size=7)
    spread, erank = brute(z.numpy())
    assert h["spread"] == pytest.approx(spread, rel=1e-9)
    assert spread < 1e-5 and h["collapsed"]
    assert h["effective_rank"] == pytest.approx(erank, rel=1e-6)


def test_block_size_does_not_change_the_result():
    z = torch.randn(101, 5, generator=torch.Generator().manual_seed(2))
    a, b = embedding_health(z), embedding_health(z, block_size=3)
    assert a["spread"] == pytest.approx(b["spread"], rel=1e-13)
    assert a["effective_rank"] == pytest.approx(b["effective_rank"], rel=1e-12)


def test_threshold_decides_collapsed():
    z = torch.randn(100, 4, generator=torch.Generator().manual_seed(3)) + 10.0
    spread = embedding_health(z)["spread"]
    assert embedding_health(z, collapse_spread=spread * 1.01)["collapsed"]
    assert not embedding_health(z, collapse_spread=spread * 0.99)["collapsed"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(1e-3, 1e3))
def test_effective_rank_ignores_scale_and_rotation(seed, scale):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(40, 6, generator=g, dtype=torch.float64) \
        * torch.tensor([5.0, 3, 1, 0.5, 0.1, 0.01], dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    base = embedding_health(z)["effective_rank"]
    assert 1.0 <= base <= 6.0
    for moved in (z * scale, z @ q):
        assert embedding_health(moved)["effective_rank"] == pytest.approx(base,
                                                                          rel=1e-9)


@pytest.mark.parametrize("z, kw, match", [
    (torch.ones(1, 3), {}, "at least 2 rows"),
    (torch.tensor([[1.0, math.nan], [0.0, 1.0]]), {}, "NaN or inf"),
    (torch.ones(3, 2), {"collapse_spread": 0.0}, "collapse_spread"),
    (torch.ones(3, 2), {"block_size": 0}, "block_size"),
])
def test_bad_input_gets_one_clear_error(z, kw, match):
    with pytest.raises(ValueError, match=match):
        embedding_health(z, **kw)
