"""Validation of a homogeneous graph before a model reads it."""

from __future__ import annotations

import torch
from torch_geometric.data import Data

__all__ = ["check_graph", "expected_input"]

# The Tensor method that converts to a dtype, for the hint in the error message.
_CAST = {torch.float16: "half", torch.bfloat16: "bfloat16", torch.float32: "float",
         torch.float64: "double"}


def _cast_hint(target: torch.dtype) -> str:
    name = _CAST.get(target)
    return f"{name}()" if name else f"to({target})"


def _all_finite(x: torch.Tensor, rows: int = 4096) -> bool:
    """Whether every entry of ``x`` is finite, in blocks of ``rows`` rows, so
    the check holds at most a block's mask (not one as large as ``x``).
    """
    return all(bool(torch.isfinite(block).all()) for block in x.split(rows))


def check_graph(data: Data, in_channels: int | None = None,
                dtype: torch.dtype | None = None) -> None:
    r"""Validates a homogeneous graph before training or embedding.

    Checks, in this order: ``data`` is a :class:`~torch_geometric.data.Data`;
    ``data.x`` is a non-empty floating-point ``[N, F]`` tensor (dense, or
    sparse COO with two sparse dimensions) with finite values, :math:`F`
    equal to ``in_channels`` and the dtype ``dtype`` when they are given;
    ``data.edge_index`` is a dense ``[2, E]`` long tensor of node ids in
    ``0..N-1``; an ``edge_weight`` is a dense, finite floating-point ``[E]``
    tensor (of dtype ``dtype`` when given).

    :func:`expected_input` derives ``in_channels`` and ``dtype`` from a
    model: ``check_graph(data, *expected_input(method))``.

    Args:
        data (torch_geometric.data.Data): The graph.
        in_channels (int, optional): The feature width :math:`F` the model
            expects. (default: :obj:`None`, not checked)
        dtype (torch.dtype, optional): The floating-point dtype of the
            model's parameters. (default: :obj:`None`, not checked)

    Raises:
        TypeError: If ``data`` is not a ``Data`` object.
        ValueError: Naming the problem: missing, empty, non-float or
            non-finite features, a feature width or dtype that does not
            match the model, a malformed or out-of-range ``edge_index``, or
            misaligned, non-float or non-finite edge weights.
    """
    if not isinstance(data, Data):
        raise TypeError(f"expected torch_geometric.data.Data, got "
                        f"{type(data).__name__}")
    x = data.x
    if x is None:
        raise ValueError("data.x is missing: the method needs node features")
    _check_tensor(x, "data.x")
    if x.layout not in (torch.strided, torch.sparse_coo):
        raise ValueError(f"a sparse data.x must be sparse COO, got {x.layout}; "
                         f"call data.x = data.x.to_sparse_coo()")
    if x.dim() != 2 or x.size(0) == 0:
        raise ValueError(f"data.x must be a non-empty [N, F] tensor, got shape "
                         f"{tuple(x.shape)} (an empty graph?)")
    if x.is_sparse and x.sparse_dim() != 2:
        raise ValueError(f"a sparse COO data.x must have 2 sparse dimensions, got "
                         f"{x.sparse_dim()} (a hybrid tensor); call "
                         f"data.x = data.x.to_dense().to_sparse()")
    if not x.is_floating_point():
        raise ValueError(f"data.x must be floating point, got {x.dtype}")
    if not _all_finite(x.coalesce().values() if x.is_sparse else x):
        raise ValueError("data.x contains NaN or inf values")
    if in_channels is not None and x.size(1) != in_channels:
        raise ValueError(f"data.x has {x.size(1)} features but the encoder "
                         f"expects {in_channels} input channels")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(
            f"data.x is {x.dtype} but the model's parameters are {dtype}; call "
            f"data.x = data.x.{_cast_hint(dtype)} or method.{_cast_hint(x.dtype)}")
    ei = data.edge_index
    if ei is None:
        raise ValueError("data.edge_index is missing")
    _check_tensor(ei, "data.edge_index")
    if ei.layout != torch.strided:
        raise ValueError(f"data.edge_index must be a dense [2, E] long tensor, got "
                         f"layout {ei.layout}")
    if ei.dim() != 2 or ei.size(0) != 2 or ei.dtype != torch.long:
        raise ValueError(f"data.edge_index must be a [2, E] long tensor, got "
                         f"shape {tuple(ei.shape)} and dtype {ei.dtype}")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= x.size(0)):
        raise ValueError(
            f"data.edge_index refers to node {int(ei.max())} (or "
            f"{int(ei.min())}) but there are {x.size(0)} nodes (0..{x.size(0)-1})")
    _check_edge_weight(data.get("edge_weight"), ei.size(1), dtype)


def _check_tensor(value: object, name: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got "
                         f"{type(value).__module__}.{type(value).__qualname__}; "
                         f"convert it with torch.as_tensor")


def _check_edge_weight(w: torch.Tensor | None, num_edges: int,
                       dtype: torch.dtype | None) -> None:
    if w is None:
        return
    _check_tensor(w, "data.edge_weight")
    if w.layout != torch.strided or w.shape != (num_edges,):
        raise ValueError(f"data.edge_weight must be a dense tensor of shape [E] = "
                         f"[{num_edges}], got shape {tuple(w.shape)} ({w.layout})")
    if not w.is_floating_point():
        raise ValueError(f"data.edge_weight must be floating point, got {w.dtype}")
    if dtype is not None and w.dtype != dtype:
        raise ValueError(
            f"data.edge_weight is {w.dtype} but the model's parameters are "
            f"{dtype}; call data.edge_weight = data.edge_weight.{_cast_hint(dtype)}")
    if not torch.isfinite(w).all():
        raise ValueError("data.edge_weight contains NaN or inf values")


def expected_input(model: torch.nn.Module) -> tuple[int | None, torch.dtype | None]:
    """The feature width and dtype that ``model`` expects of ``data.x``.

    For :func:`check_graph`: ``check_graph(data, *expected_input(method))``.

    Args:
        model (torch.nn.Module): A method (or any module).

    Returns:
        tuple[int | None, torch.dtype | None]: ``in_channels``, the
        ``in_channels`` attribute of ``model.encoder`` when it is a positive
        int (e.g. :class:`gcl.nn.GCNEncoder`), else :obj:`None`; and
        ``dtype``, the dtype of the model's first floating-point parameter,
        or :obj:`None` for a model without one.
    """
    encoder = getattr(model, "encoder", None)
    in_channels = getattr(encoder, "in_channels", None)
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) \
            or in_channels <= 0:  # lazy layers use -1
        in_channels = None
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()),
                 None)
    return in_channels, dtype
