r"""Community strength: each community's term of Newman's modularity."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from gcl.community.detection import _graph_input, undirected_pairs

__all__ = ["community_strength"]


def community_strength(edge_index: Tensor, community: Tensor,
                       num_nodes: Optional[int] = None,
                       dtype: torch.dtype = torch.float32
                       ) -> tuple[Tensor, Tensor]:
    r"""Community strength and node strength from `"CSGCL:
    Community-Strength-Enhanced Graph Contrastive Learning"
    <https://arxiv.org/abs/2305.04658>`_ (Chen et al., IJCAI 2023).

    On the undirected simple graph of ``edge_index`` (see
    :func:`gcl.community.undirected_pairs`: :math:`(u, v)` and :math:`(v, u)`
    and repeated entries are one edge, a self-loop is kept once) with
    :math:`m` edges, the strength of community :math:`c` is its term of the
    modularity,

    .. math::
        S_c = \frac{I_c}{m} - \left(\frac{D_c}{2m}\right)^2,
        \qquad \sum_c S_c = Q,

    where :math:`I_c` counts the edges with both ends in :math:`c` (a
    self-loop counts once) and :math:`D_c = \sum_{i \in c} \deg(i)` with a
    self-loop adding 2 to its node's degree — networkx's conventions, so
    :math:`\sum_c S_c` equals
    ``networkx.algorithms.community.modularity`` of the same partition, and
    the official code's ``community_strength``. The node strength is
    :math:`S_i = S_{c(i)}`. :math:`S_c` can be negative (a singleton of
    positive degree, a badly connected community); an isolated node alone in
    its community has :math:`S_c = 0`.

    Computed with scatter sums in :math:`O(N + |E| \log |E|)` (the sort
    removes duplicate entries), without Python loops.

    Args:
        edge_index (torch.Tensor): Edge indices, ``[2, E]``.
        community (torch.Tensor): Community of every node, ``[N]``, integers
            in :math:`0..K-1` (e.g. from :func:`gcl.community.detect`).
            :math:`K` is ``community.max() + 1``; a label with no node gets
            strength 0.
        num_nodes (int, optional): Number of nodes :math:`N`.
            (default: :obj:`None`, ``community.numel()``)
        dtype (torch.dtype, optional): Output dtype; the sums are computed
            in float64. (default: :obj:`torch.float32`, as the official
            node strength)

    Returns:
        (torch.Tensor, torch.Tensor): :math:`S_c` per community, ``[K]``, and
        :math:`S_i` per node, ``[N]``.
    """
    if not isinstance(community, Tensor) or community.dim() != 1:
        raise ValueError(f"community must be a 1-D tensor of community "
                         f"indices, got {type(community).__name__} of shape "
                         f"{tuple(getattr(community, 'shape', ()))}")
    if community.is_floating_point() or community.dtype == torch.bool:
        raise ValueError(f"community must hold integer indices, got "
                         f"{community.dtype}")
    n = community.numel() if num_nodes is None else int(num_nodes)
    if community.numel() != n:
        raise ValueError(f"community has {community.numel()} entries but the "
                         f"graph has {n} nodes")
    edge_index, n = _graph_input(edge_index, n)
    if int(community.min()) < 0:
        raise ValueError(f"community indices must be >= 0, got "
                         f"{int(community.min())}")
    community = community.to(device=edge_index.device, dtype=torch.long)
    k = int(community.max()) + 1
    row, col = undirected_pairs(edge_index, n)
    m = row.numel()
    if m == 0:
        raise ValueError("the graph has no edges: community strength "
                         "(modularity) is undefined")
    one = torch.ones(m, dtype=torch.float64, device=edge_index.device)
    # Degree in the simple graph: a self-loop (row == col) adds 2.
    deg = scatter(one, row, 0, dim_size=n, reduce="sum") + \
        scatter(one, col, 0, dim_size=n, reduce="sum")
    d_c = scatter(deg, community, 0, dim_size=k, reduce="sum")
    cr = community[row]
    intra = cr == community[col]
    i_c = scatter(one[intra], cr[intra], 0, dim_size=k, reduce="sum")
    s_c = i_c / m - (d_c / (2 * m)) ** 2
    return s_c.to(dtype), s_c[community].to(dtype)
