"""gcl/_sparse.py: the sparse notices are silenced, nothing else is."""

import warnings

import pytest
import torch
from torch_geometric.utils import to_torch_csr_tensor

from gcl._sparse import SPARSE_NOTICES, csr_tensor, quiet_sparse


def test_quiet_sparse_silences_the_two_notices_and_nothing_else():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_sparse():
            for text in ("Sparse CSR tensor support is in beta state. ...",
                         "Sparse invariant checks are implicitly disabled. ..."):
                warnings.warn(text, UserWarning, stacklevel=1)
            to_torch_csr_tensor(torch.tensor([[0, 1], [1, 0]]), size=(2, 2))
            warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["something else"]
    assert len(SPARSE_NOTICES) == 2


def test_csr_tensor_builds_the_matrix_it_is_given():
    crow, col = torch.tensor([0, 2, 3]), torch.tensor([0, 2, 1])
    value = torch.tensor([1.0, 2.0, 3.0])
    a = csr_tensor(crow, col, value, (2, 3))
    assert a.layout == torch.sparse_csr
    assert torch.equal(a.to_dense(), torch.tensor([[1.0, 0, 2], [0, 3, 0]]))


@pytest.mark.parametrize("category", [RuntimeWarning, DeprecationWarning])
def test_other_categories_with_the_same_text_pass(category):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_sparse():
            warnings.warn("Sparse CSR tensor support is in beta", category,
                          stacklevel=1)
    assert len(seen) == 1
