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

It also holds :func:`sparse_mm`, the one sparse-dense product every layer
calls, so that PyTorch's deterministic mode makes gcl's GPU runs repeatable.

This module sits below every layer (``setup.cfg``'s import contract).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

__all__ = ["SPARSE_NOTICES", "as_csr", "csr_tensor", "quiet_sparse", "sparse_mm"]

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


def as_csr(a: Tensor, expects: str = "expected a sparse COO or CSR matrix"
           ) -> Tensor:
    """``a`` in CSR layout: itself when it is CSR; a COO ``a`` coalesced
    (rows sorted, duplicates summed) and converted. Any other layout raises
    a :class:`ValueError` that starts with ``expects``.
    """
    if a.layout == torch.sparse_csr:
        return a
    if a.layout != torch.sparse_coo:
        raise ValueError(f"{expects}, got layout {a.layout}")
    a = a.coalesce()  # a no-op when it already is
    row, col = a.indices()
    crow = torch._convert_indices_from_coo_to_csr(row, a.size(0))
    return csr_tensor(crow, col, a.values(), tuple(a.shape))


def sparse_mm(a: Tensor, x: Tensor) -> Tensor:
    r""":math:`A X` for a sparse (CSR or COO) ``a`` of shape ``[R, C]`` and a
    dense ``x`` of shape ``[C, F]``: :func:`torch.sparse.mm`, except on a GPU
    under :func:`torch.use_deterministic_algorithms`, where it is
    :func:`deterministic_sparse_mm`.

    cuSPARSE's sparse-dense product is not bit-for-bit repeatable, and
    PyTorch neither has a deterministic kernel for it nor reports it in
    deterministic mode: on an H200 on 2026-11-28 two calls on the same
    inputs differed by up to 1.8e-7 (``benchmarks/diagnostics/gpu_determinism.py``,
    record in ``benchmarks/gpu/logs/2026-11-28/``), and two GRACE runs on
    Photo parted at epoch 4. The CPU product repeats and is used as is.
    Not differentiable in ``a``; callers that need a gradient in ``x`` wrap
    it in an autograd function with ``a``'s kept transpose
    (:func:`gcl.nn.spmm`).
    """
    if _fixed_order(x):
        return deterministic_sparse_mm(a, x)
    with quiet_sparse():
        return torch.sparse.mm(a, x)


def _fixed_order(x: Tensor) -> bool:
    """Whether :func:`sparse_mm` sums in a fixed order for this ``x``: on
    a GPU in deterministic mode (a function, so tests can force the path on
    the CPU).
    """
    return x.is_cuda and torch.are_deterministic_algorithms_enabled()


def deterministic_sparse_mm(a: Tensor, x: Tensor) -> Tensor:
    r""":math:`A X` computed so that every output entry is one fixed-order
    sum, on any device: the rows :math:`x_j` of each non-zero
    :math:`(i, j)` are gathered and scaled by :math:`a_{ij}`, then each
    output row sums its own contiguous run of them (CSR order) with PyG's
    :func:`~torch_geometric.utils.segment`. It holds an ``[nnz(A), F]``
    intermediate that :func:`torch.sparse.mm` does not, which is the price
    of repeatability (Photo's propagation at width 512: about 0.5 GB).
    """
    from torch_geometric.utils import segment  # PyG import kept off the fast path

    a = as_csr(a, "sparse_mm expects a sparse CSR or COO matrix")
    crow, col, value = a.crow_indices(), a.col_indices(), a.values()
    if x.dim() != 2 or x.size(0) != a.size(1):
        raise ValueError(f"sparse_mm: cannot multiply a {tuple(a.shape)} "
                         f"matrix by a tensor of shape {tuple(x.shape)}")
    msg = x.index_select(0, col) * value.to(x.dtype).unsqueeze(-1)
    return segment(msg, crow, reduce="sum")
