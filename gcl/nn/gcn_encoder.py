"""The k-layer GCN encoder of GRACE, GCA, CSGCL, gCooL and POT."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn import GCNConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import add_remaining_self_loops, scatter, to_torch_csr_tensor

from gcl._sparse import csr_tensor, quiet_sparse
from gcl.nn.activation import activation_resolver
from gcl.nn.sparse_linear import SparseInputLinear
from gcl.nn.spmm import keep_transpose, spmm

__all__ = ["GCNEncoder", "out_degree_norm"]


def out_degree_norm(edge_index: Tensor, edge_weight: Optional[Tensor],
                    num_nodes: int) -> tuple[Tensor, Tensor]:
    r"""GCN normalisation as PyG <= 1.5 computed it: by *source* degree.

    Adds the remaining self-loops (weight 1) and returns the weights
    :math:`w_{ji} / \sqrt{d_j d_i}` with :math:`d` summed over the source
    index ``edge_index[0]`` (out-degree). Current PyG sums over the target
    (in-degree); both agree on undirected graphs and differ on the directed
    views that per-entry edge dropping makes.
    """
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), device=edge_index.device)
    edge_index, edge_weight = add_remaining_self_loops(
        edge_index, edge_weight, 1.0, num_nodes)
    row, col = edge_index
    deg = scatter(edge_weight, row, 0, dim_size=num_nodes, reduce="sum")
    dinv = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
    return edge_index, dinv[row] * edge_weight * dinv[col]


def _source_major(edge_index: Tensor, edge_weight: Tensor,
                  num_nodes: int) -> Optional[Tensor]:
    r"""The CSR matrix ``[source, target]`` of a normalised edge list
    without a sort, or :obj:`None` where the list is not in the layout this
    needs.

    :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` (and
    :func:`out_degree_norm`) return the input's edges without their
    self-loops, in input order, followed by one loop per node in node order.
    Where those edges are sorted by (source, target) and hold no duplicate
    (a coalesced graph and every edge-dropped view of one), the loops merge
    into that order in :math:`O(E)`: an edge :math:`(s, t)` follows the
    :math:`s + [t > s]` loops before it, the loop :math:`(i, i)` follows the
    edges with a smaller key. The result is entry for entry the matrix that
    transposing the target-major adjacency and sorting gives, which the
    backward pass of :func:`~gcl.nn.spmm.spmm` needs, without the sort of
    all :math:`E` entries that costs as much as building the adjacency
    itself (a third of a second for each edge-dropped view of HeCo's DBLP
    meta-path graphs, on one thread).
    """
    n = num_nodes
    e = edge_index.size(1) - n
    if e < 0:
        return None
    loops = torch.arange(n, device=edge_index.device)
    if not torch.equal(edge_index[:, e:], loops.expand(2, n)):
        return None
    row, col = edge_index[0, :e].long(), edge_index[1, :e].long()
    key = row * n + col  # int64: no overflow below 3e9 nodes
    if e > 1 and not bool((key[1:] > key[:-1]).all()):
        return None
    edge_pos = torch.arange(e, device=row.device) + row + (col > row).long()
    loop_pos = loops + torch.searchsorted(key, loops * (n + 1))
    cols = torch.empty(e + n, dtype=torch.long, device=row.device)
    vals = edge_weight.new_empty(e + n)
    cols[edge_pos], cols[loop_pos] = col, loops
    vals[edge_pos], vals[loop_pos] = edge_weight[:e], edge_weight[e:]
    crow = torch.zeros(n + 1, dtype=torch.long, device=row.device)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=n) + 1, 0)
    return csr_tensor(crow, cols, vals, (n, n))


class _GCNConv(GCNConv):
    """PyG's ``GCNConv`` whose sparse propagation reuses the matrix's kept
    transpose in the backward pass (:func:`gcl.nn.spmm.spmm`); same
    parameters, same values.
    """

    def forward(self, x: Tensor, edge_index, edge_weight: Optional[Tensor] = None,
                normalized: bool = False) -> Tensor:
        """``GCNConv.forward``; with ``normalized=True`` the adjacency is
        taken as already normalised (by the encoder, once for all its
        layers; :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm`).
        """
        if not normalized:
            return super().forward(x, edge_index, edge_weight)
        out = self.propagate(edge_index, x=self.lin(x), edge_weight=edge_weight)
        return out if self.bias is None else out + self.bias

    def message_and_aggregate(self, adj_t, x: Tensor) -> Tensor:
        if isinstance(adj_t, Tensor) and adj_t.layout != torch.strided \
                and not adj_t.requires_grad:
            return spmm(adj_t, x)
        return super().message_and_aggregate(adj_t, x)


class GCNEncoder(torch.nn.Module):
    r"""A stack of GCN layers with an activation after *every* layer.

    The encoder of `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (GRACE) and the code bases built on
    it (GCA, CSGCL, gCooL, POT):

    .. math::
        H^{(l)} = \sigma\big(\hat{A} H^{(l-1)} W^{(l)} + b^{(l)}\big), \qquad
        \hat{A} = \tilde{D}^{-1/2} (A + I) \tilde{D}^{-1/2}

    for :math:`l = 1..k`, the last layer included. Widths follow GRACE:
    :math:`F \to 2h \to \dots \to 2h \to h` (``hidden_channels`` overrides
    :math:`2h`, e.g. gCooL's explicit first-layer width). As in the official
    code a single activation module is shared by all layers, so ``prelu`` has
    one learnable slope overall. On a directed view, ``GCNConv`` normalises
    by in-degree (target index), like the official code.

    Args:
        in_channels (int): Input feature size :math:`F`.
        out_channels (int): Embedding size :math:`h`.
        num_layers (int, optional): Number of GCN layers :math:`k \geq 1`.
            (default: :obj:`2`)
        hidden_channels (int, optional): Width of the hidden layers.
            (default: :obj:`2 * out_channels`)
        activation (str or torch.nn.Module, optional): ``relu``, ``prelu``,
            ``rrelu``, ``rrelu_fixed``, ``elu`` or ``leaky_relu``.
            (default: :obj:`"relu"`)
        cached (bool, optional): Cache the normalised adjacency of the last
            edge list, built again when handed another edge tensor (its
            storage, length or device differ) or features of another dtype
            or device (on the ``sparse_propagation`` path; PyG's layers
            otherwise cache as ``GCNConv`` does, trusting the caller);
            :meth:`reset_cache` forgets it. For fixed graphs.
            (default: :obj:`False`)
        degree (str, optional): Which degree normalises a directed graph:
            ``"in"`` (target in-degree, PyG >= 1.6 and every current code
            base) or ``"out"`` (source out-degree, as PyG <= 1.5 computed it;
            GRACE's official code ran on PyG 1.4/1.5). Identical on
            undirected graphs. (default: :obj:`"in"`)
        sparse_propagation (bool, optional): Aggregate with one sparse-dense
            matrix product per layer (the transposed adjacency as a CSR
            tensor) instead of PyG's gather/scatter over an
            :math:`E \times C` message matrix. Same values and gradients,
            about twice as fast on the Amazon graphs. The edge list is
            normalised once per call (once while ``cached``) as
            :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` normalises
            an edge list, which is what ``GCNConv`` does on the edge-list
            path and in the official codes (an existing self-loop becomes
            one loop of weight 1 when the graph is unweighted), and one CSR
            matrix serves every layer. (default: :obj:`True`)

    Shapes:
        - **input:** node features :math:`(N, F)` (dense, or sparse COO or
          CSR for bag-of-words features: the first layer's :math:`X W` then
          runs as :func:`gcl.nn.sparse_linear`), edge indices
          :math:`(2, E)`, optional edge weights :math:`(E)`
        - **output:** node embeddings :math:`(N, h)`
    """

    def __init__(self, in_channels: int, out_channels: int, num_layers: int = 2,
                 hidden_channels: Optional[int] = None,
                 activation: str | torch.nn.Module = "relu",
                 cached: bool = False, sparse_propagation: bool = True,
                 degree: str = "in"):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_layers = num_layers
        self.hidden_channels = hidden_channels or 2 * out_channels
        self.sparse_propagation = sparse_propagation
        if degree not in ("in", "out"):
            raise ValueError(f"degree must be 'in' or 'out', got {degree!r}")
        self.degree = degree
        widths = ([in_channels] + [self.hidden_channels] * (num_layers - 1)
                  + [out_channels])
        self.convs = torch.nn.ModuleList(
            _GCNConv(a, b, cached=cached, normalize=degree == "in")
            for a, b in zip(widths[:-1], widths[1:]))
        # Sparse bag-of-words features: X W through CSR products
        self.convs[0].lin = SparseInputLinear.replacing(self.convs[0].lin)
        self.activation = activation_resolver(activation)
        self.cached = bool(cached)
        self._cached_adj_t: Optional[Tensor] = None
        self._cached_key: Optional[tuple] = None
        self.reset_parameters()

    def reset_cache(self) -> None:
        """Forgets the cached adjacency (``cached=True``)."""
        self._cached_adj_t = self._cached_key = None
        for conv in self.convs:
            conv._cached_edge_index = None
            conv._cached_adj_t = None

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module (and the cached
        adjacency, as PyG's ``GCNConv`` does).
        """
        self._cached_adj_t = self._cached_key = None
        for conv in self.convs:
            conv.reset_parameters()
        if isinstance(self.activation, torch.nn.PReLU):
            torch.nn.init.constant_(self.activation.weight, 0.25)

    def forward(self, x: Tensor, edge_index: Tensor,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        """Returns the node embeddings :math:`(N, h)`."""
        edge_list = edge_index.dim() == 2 and not (
            edge_index.is_sparse or edge_index.layout != torch.strided)
        if self.sparse_propagation and edge_list:
            adj_t = self._adjacency(x, edge_index, edge_weight)
            for conv in self.convs:
                x = self.activation(conv(x, adj_t, normalized=True))
            return x
        if self.degree == "out" and edge_list:
            edge_index, edge_weight = out_degree_norm(edge_index, edge_weight,
                                                      x.size(0))
            edge_weight = edge_weight.to(x.dtype)  # float64 models too
        for conv in self.convs:
            x = self.activation(conv(x, edge_index, edge_weight))
        return x

    def _adjacency(self, x: Tensor, edge_index: Tensor,
                   edge_weight: Optional[Tensor]) -> Tensor:
        """The normalised adjacency as a CSR ``adj_t[target, source]``,
        built once per call, or once per graph while ``cached``.
        """
        key = (edge_index.data_ptr(), edge_index.size(1), x.size(0), x.dtype,
               x.device)
        if self._cached_adj_t is not None and self._cached_key == key:
            return self._cached_adj_t
        n = x.size(0)
        if self.degree == "in":
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, n,
                                               dtype=x.dtype)
        else:
            edge_index, edge_weight = out_degree_norm(edge_index, edge_weight, n)
        edge_weight = edge_weight.to(x.dtype)
        with quiet_sparse():
            # Duplicate edges add up, as their messages do on the edge list.
            adj_t = to_torch_csr_tensor(edge_index.flip(0), edge_weight,
                                        size=(n, n))
        # The backward pass's transpose, without a sort; only a pass that
        # records gradients multiplies with it (spmm builds none otherwise).
        adj = _source_major(edge_index, edge_weight, n) \
            if torch.is_grad_enabled() else None
        if adj is not None:
            keep_transpose(adj_t, adj)
        if self.cached:
            self._cached_adj_t, self._cached_key = adj_t, key
        return adj_t

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.out_channels}, num_layers={self.num_layers}, "
                f"hidden_channels={self.hidden_channels}, "
                f"activation={self.activation}"
                f"{', degree=out' if self.degree == 'out' else ''})")
