import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gcl.datasets import (
    HECO_METAPATHS,
    DatasetNotFoundError,
    heco_dir,
    load_heco_multiplex,
)


def write_toy(root, with_features=True):
    folder = Path(root) / "heco" / "acm"
    folder.mkdir(parents=True)
    np.save(folder / "labels.npy", np.array([1.0, 1.0, 2.0, 3.0]))  # shifted to 0..2
    if with_features:
        feat = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0], [3, 0, 1]])
        sp.save_npz(folder / "p_feat.npz", sp.csr_matrix(feat))
    pap = sp.coo_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0],
                                  [0, 0, 0, 1]], dtype=bool))
    psp = sp.coo_matrix(np.array([[1, 0, 1, 1], [0, 1, 0, 0], [1, 0, 1, 0],
                                  [1, 0, 0, 1]], dtype=bool))
    sp.save_npz(folder / "pap.npz", pap)
    sp.save_npz(folder / "psp.npz", psp)
    return folder


def test_toy_files(tmp_path):
    write_toy(tmp_path)
    d = load_heco_multiplex("ACM", root=tmp_path)
    assert d.name == "ACM" and d.metapaths == ["pap", "psp"]
    assert d.y.tolist() == [0, 0, 1, 2] and d.y.dtype == torch.long
    # HeCo's preprocess_features: rows divided by their sum, zero rows kept.
    ref = torch.tensor([[0.5, 0.5, 0], [0, 1, 0], [0, 0, 0], [0.75, 0, 0.25]])
    assert torch.allclose(d.x, ref)
    assert sorted(map(tuple, d.relations["pap"].t().tolist())) == [(0, 1), (1, 0)]
    assert sorted(map(tuple, d.relations["psp"].t().tolist())) == [
        (0, 2), (0, 3), (2, 0), (3, 0)]
    assert d.edge_index.size(1) == 6  # union, no self-loops
    loops = load_heco_multiplex("acm", root=tmp_path, self_loops=True,
                                metapaths=["pap"])
    assert loops.relations["pap"].size(1) == 6 and list(loops.relations) == ["pap"]
    assert load_heco_multiplex("acm", root=tmp_path, sparse_features=True).x.is_sparse


def test_identity_features_and_errors(tmp_path):
    write_toy(tmp_path, with_features=False)
    d = load_heco_multiplex("acm", root=tmp_path)
    assert d.x.is_sparse and torch.equal(d.x.to_dense(), torch.eye(4))
    with pytest.raises(ValueError, match="meta-paths"):
        load_heco_multiplex("acm", root=tmp_path, metapaths=["pcp"])
    with pytest.raises(ValueError, match="unknown HeCo"):
        heco_dir("cora", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="dblp"):
        heco_dir("dblp", tmp_path)


@pytest.mark.parametrize("name,n,counts", [("acm", 4019, [1993, 965, 1061])])
def test_real_heco(name, n, counts):
    root = os.environ.get("GCL_DATA")
    if not root or not (Path(root) / "heco" / name).is_dir():
        pytest.skip("set GCL_DATA to shared/data to run the real-data check")
    # The sparsest meta-path only: the others have millions of edges.
    first = HECO_METAPATHS[name][0]
    d = load_heco_multiplex(name, root=root, metapaths=[first])
    assert d.num_nodes == n and torch.bincount(d.y).tolist() == counts
    ei = d.relations[first]
    assert not (ei[0] == ei[1]).any()  # symmetric, no self-loops
    assert torch.equal(torch.sort(ei[0] * n + ei[1]).values,
                       torch.sort(ei[1] * n + ei[0]).values)
    # HeCo's files include the diagonal: nonzeros = edges + n.
    assert d.relations["pap"].size(1) == 57853 - n
