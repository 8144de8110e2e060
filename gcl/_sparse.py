"""Quiet construction of torch sparse tensors, for every layer of gcl.

torch warns that "Sparse CSR tensor support is in beta state" and that
"Sparse invariant checks are implicitly disabled" when gcl builds the CSR
matrices it propagates with. :func:`quiet_sparse` silences those two
messages and nothing else. A blanket ``warnings.simplefilter("ignore")``
would also swallow the alerts that PyTorch's deterministic mode raises as
``UserWarning`` under ``warn_only=True``, which
:func:`gcl.train.deterministic` collects to tell whether a run was
repeatable; until 2026-11-27 gcl's CSR construction and products did that,
so a GPU run could report no non-deterministic operation while running one.

This module sits below every layer (``setup.cfg``'s import contract).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

__all__ = ["SPARSE_NOTICES", "csr_tensor", "quiet_sparse"]

#: The messages :func:`quiet_sparse` silences (regular expressions matched
#: at the start of a warning's text).
SPARSE_NOTICES = (r"Sparse (CSR|CSC|BSR|BSC) tensor support is in beta",
                  r"Sparse invariant checks are implicitly disabled")


@contextmanager
def quiet_sparse() -> Iterator[None]:
    """Silences torch's sparse beta and invariant-check notices inside the
    block; every other warning passes through.
    """
    with warnings.catch_warnings():
        for message in SPARSE_NOTICES:
            warnings.filterwarnings("ignore", message=message,
                                    category=UserWarning)
        yield


def csr_tensor(crow: Tensor, col: Tensor, value: Tensor,
               shape: tuple[int, int]) -> Tensor:
    """A CSR tensor from trusted parts (no invariant check, no notice)."""
    with quiet_sparse():
        return torch.sparse_csr_tensor(crow, col, value, shape,
                                       check_invariants=False)
