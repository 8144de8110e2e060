r"""Meta-path adjacency normalisation and MEOW's shared two-layer GCN."""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import scatter, to_torch_csr_tensor

from gcl._sparse import quiet_sparse
from gcl.nn.spmm import spmm

__all__ = ["MetaPathGCN", "meta_path_adjacency"]

#: A meta-path graph as a forward accepts it: a sparse propagation matrix
#: (used as it is), an edge index ``[2, E]``, or ``(edge_index, edge_weight)``.
MetaPathAdj = Union[Tensor, tuple[Tensor, Optional[Tensor]]]


def meta_path_adjacency(
    edge_index: Tensor,
    edge_weight: Optional[Tensor] = None,
    num_nodes: Optional[int] = None,
    degree: str = "out",
    dtype: Optional[torch.dtype] = None,
) -> Tensor:
    r"""The normalised propagation matrix of a meta-path graph.

    HeCo's and MEOW's ``normalize_adj`` (``utils/load_data.py`` of
    ``liun-online/HeCo``, ``module/preprocess.py`` of ``jianxiangyu/MEOW``):
    for the (possibly asymmetric, e.g. PathSim top-:math:`k`) meta-path
    matrix :math:`A` with :math:`A_{ij}` the weight of edge ``(i, j)``
    (``edge_index[0] = i``, ``edge_index[1] = j``),

    .. math::
        \hat{A} = D^{-1/2} A^\top D^{-1/2}, \qquad D_{ii} = \sum_j A_{ij},

    so a node receives :math:`\sum_j A_{ji}\, x_j / \sqrt{d_i d_j}` from its
    in-neighbours (PyG's source-to-target flow), both ends scaled by their
    *row* sums (out-degrees). No self-loops are added (the meta-path
    matrices hold their diagonal); a zero degree gives weight 0, as in the
    official code. On a symmetric :math:`A` this is the usual
    :math:`D^{-1/2} A D^{-1/2}`; ``degree="in"`` uses the column sums
    instead, as PyG's ``gcn_norm`` does.

    Args:
        edge_index (torch.Tensor): Edges ``[2, E]`` (duplicates add up).
        edge_weight (torch.Tensor, optional): Weights ``[E]`` (path counts
            or PathSim-selected counts). (default: :obj:`None`, all 1)
        num_nodes (int, optional): :math:`N`. (default: :obj:`None`, one
            more than the largest index)
        degree (str, optional): ``"out"`` (official) or ``"in"``.
            (default: :obj:`"out"`)
        dtype (torch.dtype, optional): Dtype of the values. (default: that
            of ``edge_weight``, else the default dtype)

    Returns:
        torch.Tensor: A sparse CSR ``[N, N]`` matrix :math:`\hat{A}` with
        rows indexed by target node, for ``spmm(adj, x)``.
    """
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 \
            or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must be [2, E], got "
                         f"{getattr(edge_index, 'shape', type(edge_index).__name__)}")
    if edge_index.is_floating_point():
        raise ValueError(f"edge_index must be integer, got {edge_index.dtype}")
    if degree not in ("out", "in"):
        raise ValueError(f"degree must be 'out' or 'in', got {degree!r}")
    edge_index = edge_index.long()
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    if edge_index.numel() and (int(edge_index.min()) < 0
                               or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge index out of range [0, {num_nodes})")
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), device=edge_index.device,
                                 dtype=dtype or torch.get_default_dtype())
    elif edge_weight.shape != (edge_index.size(1),):
        raise ValueError(f"edge_weight must be [E] = [{edge_index.size(1)}], got "
                         f"{tuple(edge_weight.shape)}")
    elif not torch.isfinite(edge_weight).all() or (edge_weight < 0).any():
        raise ValueError("edge_weight must be finite and non-negative")
    w = edge_weight.to(dtype or (edge_weight.dtype if edge_weight.is_floating_point()
                                 else torch.get_default_dtype()))
    src, dst = edge_index
    deg = scatter(w, src if degree == "out" else dst, 0, dim_size=num_nodes,
                  reduce="sum")
    dinv = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
    with quiet_sparse():
        return to_torch_csr_tensor(torch.stack([dst, src]), dinv[src] * w * dinv[dst],
                                   size=(num_nodes, num_nodes))


def _propagation(adj: MetaPathAdj, num_nodes: int, dtype: torch.dtype) -> Tensor:
    """A sparse propagation matrix from any accepted form of ``adj``."""
    if isinstance(adj, Tensor) and adj.layout != torch.strided:
        if tuple(adj.shape) != (num_nodes, num_nodes):
            raise ValueError(f"adjacency must be [N, N] = [{num_nodes}, {num_nodes}], "
                             f"got {tuple(adj.shape)}")
        return adj if adj.dtype == dtype else adj.to(dtype)
    if isinstance(adj, (tuple, list)):
        if len(adj) != 2:
            raise ValueError(
                "a meta-path graph tuple must be (edge_index, edge_weight)")
        return meta_path_adjacency(adj[0], adj[1], num_nodes, dtype=dtype)
    if isinstance(adj, Tensor):
        return meta_path_adjacency(adj, None, num_nodes, dtype=dtype)
    raise ValueError(f"a meta-path graph must be a sparse matrix, an edge index or "
                     f"(edge_index, edge_weight), got {type(adj).__name__}")


def _propagate(adj: Tensor, x: Tensor) -> Tensor:
    """``adj @ x``; the backward pass reuses ``adj``'s kept transpose."""
    return spmm(adj, x)


class MetaPathGCN(torch.nn.Module):
    r"""MEOW's two-layer GCN, shared by every meta-path view.

    From `"Heterogeneous Graph Contrastive Learning with Meta-path Contexts
    and Weighted Negative Samples" <https://arxiv.org/abs/2212.13847>`_
    (MEOW, SDM 2023; also AdaMEOW), as coded in ``jianxiangyu/MEOW``
    (``GCN`` in ``module/encoder.py``):

    .. math::
        H = \mathrm{PReLU}\big(\hat{A}\, \mathrm{Dropout}(X W_1)\big),
        \qquad Z = \hat{A}\, \mathrm{Dropout}(H W_2),

    .. math::
        \mathrm{out} = \frac{Z - \mathrm{mean}(Z)}
        {\sqrt{\mathrm{var}(Z) + 10^{-5}}},

    where the final LayerNorm normalises the *whole* :math:`N \times d`
    tensor at once (``nn.LayerNorm(Z.size(), elementwise_affine=False)``),
    not each row. No biases; the weights are drawn from
    :math:`U(-1/\sqrt{d_{out}}, 1/\sqrt{d_{out}})` as in the official code.
    The same module (same weights) encodes every meta-path graph: pass
    each one in turn.

    Args:
        in_channels (int): Input size.
        hidden_channels (int): Hidden size.
        out_channels (int): Output size.
        dropout (float, optional): Dropout on :math:`X W` of both layers.
            (default: :obj:`0.2`)
        layer_norm (bool, optional): Apply the whole-tensor LayerNorm.
            (default: :obj:`True`)

    Shapes:
        - **input:** node features :math:`(N, F)`; a meta-path graph as a
          sparse normalised propagation matrix (:func:`meta_path_adjacency`,
          used as it is) or as ``edge_index`` :math:`(2, E)` with optional
          ``edge_weight`` :math:`(E)` (normalised here on every call)
        - **output:** :math:`(N, d_{out})`
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int,
                 dropout: float = 0.2, layer_norm: bool = True):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.dropout = dropout
        self.layer_norm = layer_norm
        self.lin1 = torch.nn.Linear(in_channels, hidden_channels, bias=False)
        self.lin2 = torch.nn.Linear(hidden_channels, out_channels, bias=False)
        self.act = torch.nn.PReLU()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        for lin in (self.lin1, self.lin2):
            bound = 1.0 / math.sqrt(lin.out_features)
            torch.nn.init.uniform_(lin.weight, -bound, bound)
        torch.nn.init.constant_(self.act.weight, 0.25)

    def forward(self, x: Tensor, edge_index: MetaPathAdj,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        """Returns the embeddings :math:`(N, d_{out})` of one meta-path graph."""
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f"x must be [N, {self.in_channels}], got {tuple(x.shape)}")
        adj = _propagation(edge_index if edge_weight is None
                           else (edge_index, edge_weight), x.size(0), x.dtype)
        h = F.dropout(self.lin1(x), self.dropout, self.training)
        h = self.act(_propagate(adj, h))
        z = _propagate(adj, F.dropout(self.lin2(h), self.dropout, self.training))
        if self.layer_norm:
            z = F.layer_norm(z, z.shape, eps=1e-5)
        return z

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.hidden_channels}, {self.out_channels}, "
                f"dropout={self.dropout})")

