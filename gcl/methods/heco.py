r"""HeCo: co-contrastive learning of a network-schema and a meta-path view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.nn import HeteroDictLinear

from gcl.datasets import heco_positives, sample_neighbors
from gcl.losses import HeCoLoss
from gcl.methods.hetero_two_view import HeteroTwoViewMethod, node_widths
from gcl.nn import (
    MetaPathEncoder,
    NetworkSchemaEncoder,
    ProjectionHead,
    meta_path_adjacency,
)

__all__ = ["HeCo"]


class HeCo(HeteroTwoViewMethod):
    r"""HeCo from `"Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_ (Wang, Liu,
    Yang and Shi, KDD 2021), as coded in ``liun-online/HeCo``.

    For every node type :math:`\phi` (the target type and its network-schema
    neighbour types), a type-specific projection
    :math:`h_i = \mathrm{ELU}(\mathrm{Dropout}(W_\phi x_i + b_\phi))`
    (Xavier-normal weights, gain 1.414). Then, each step:

    1. **Network-schema view**: every target node draws ``sample_rate[t]``
       neighbours of each type :math:`t` (:func:`gcl.datasets.sample_neighbors`,
       afresh every step) and aggregates them by node- and type-level
       attention, :math:`z^{sc} = \mathrm{NetworkSchemaEncoder}(h)`
       (:class:`~gcl.nn.NetworkSchemaEncoder`);
    2. **Meta-path view**: one GCN layer per meta-path on the normalised
       binary meta-path graph :math:`D^{-1/2} A^{\mathcal{P}_m} D^{-1/2}`,
       fused by semantic attention, :math:`z^{mp} =
       \mathrm{MetaPathEncoder}(h_{target})` (:class:`~gcl.nn.MetaPathEncoder`);
    3. **Co-contrast** through a shared projection :math:`g` (ELU MLP,
       Xavier gain 1.414) with the positive set :math:`\mathbb{P}_i` of node
       :math:`i` (its most meta-path-connected nodes, HeCo's ``pos.npz``):

    .. math::
        \mathcal{L} = \frac{1}{N} \sum_i \big[\lambda\, \mathcal{L}^{mp}_i
        + (1 - \lambda)\, \mathcal{L}^{sc}_i\big], \quad
        \mathcal{L}^{mp}_i = -\log \frac{\sum_{j \in \mathbb{P}_i}
        e^{\theta(g(z^{mp}_i), g(z^{sc}_j))/\tau}}{\sum_{k}
        e^{\theta(g(z^{mp}_i), g(z^{sc}_k))/\tau} + \epsilon}

    and :math:`\mathcal{L}^{sc}` likewise with the views swapped
    (:func:`gcl.losses.heco_loss`; :math:`\theta` the cosine). The official
    code adds :math:`\epsilon = 10^{-8}` to the denominators (``eps``;
    negligible next to a sum of :math:`N` exponentials, kept for
    fidelity). The evaluated embedding is the meta-path view
    :math:`z^{mp}` of the clean graph (no dropout), detached, as HeCo's
    ``get_embeds``.

    Training (``gcl.fit`` with the configs in ``gcl/configs/heco/``) stops
    early on the **training loss** with HeCo's patience and restores the
    weights of the lowest-loss step, as ``main.py`` does: a selection on the
    training objective, not on labels.

    The graph is a :class:`~torch_geometric.data.HeteroData` as
    :func:`gcl.datasets.load` returns for ``"ACM-HeCo"`` etc.: features
    ``x`` for the target and neighbour types, relation edges
    ``(target, "to", t)``, the meta-path graphs ``(target, name, target)``
    (only their support is used: HeCo's files are binary) and the positives
    ``data[target].positive_index`` (or ``pos_num`` to compute them with
    :func:`gcl.datasets.heco_positives`).

    Args:
        in_channels (Mapping[str, int] or int): Feature width per node type
            (``data.num_features``; the target and neighbour types need one),
            or one width for all.
        target (str): Target node type (ACM: ``"paper"``).
        metapaths (Sequence[str]): Meta-path graph names (``["pap", "psp"]``).
        neighbor_types (Sequence[str]): Network-schema neighbour types
            (``["author", "subject"]``).
        sample_rate (Sequence[int]): Neighbours sampled per type and step.
        hidden_channels (int, optional): Embedding size. (default: :obj:`64`)
        tau (float, optional): Temperature. (default: :obj:`0.8`)
        lam (float, optional): Weight :math:`\lambda` of the meta-path
            direction. (default: :obj:`0.5`)
        feat_drop (float, optional): Dropout after the type projections.
            (default: :obj:`0.3`)
        attn_drop (float, optional): Attention dropout of both encoders.
            (default: :obj:`0.5`)
        eps (float, optional): :math:`\epsilon` in the denominators
            (official: ``1e-8``; ``0`` is the paper's equation).
            (default: :obj:`1e-8`)
        pos_num (int, optional): Compute :math:`T_{pos}` positives per node
            from the meta-path graphs (:func:`gcl.datasets.heco_positives`)
            instead of reading ``positive_index``. (default: :obj:`None`)
        block_size (int, optional): Rows per block of the loss.
            (default: :obj:`None`)
    """

    def __init__(self, in_channels: Mapping[str, int], target: str,
                 metapaths: Sequence[str], neighbor_types: Sequence[str],
                 sample_rate: Sequence[int], hidden_channels: int = 64,
                 tau: float = 0.8, lam: float = 0.5, feat_drop: float = 0.3,
                 attn_drop: float = 0.5, eps: float = 1e-8,
                 pos_num: Optional[int] = None,
                 block_size: Optional[int] = None):
        neighbor_types = [str(t) for t in neighbor_types]
        sample_rate = [int(k) for k in sample_rate]
        if not neighbor_types or len(neighbor_types) != len(sample_rate):
            raise ValueError(f"need one sample rate per neighbour type, got "
                             f"{neighbor_types} and {sample_rate}")
        if any(k < 1 for k in sample_rate):
            raise ValueError(f"sample rates must be >= 1, got {sample_rate}")
        if not 0.0 <= feat_drop < 1.0:
            raise ValueError(f"feat_drop must be in [0, 1), got {feat_drop}")
        types = [target] + [t for t in neighbor_types if t != target]
        super().__init__(node_widths(in_channels, types), target, metapaths)
        self.neighbor_types = neighbor_types
        self.sample_rate = sample_rate
        self.hidden_channels = hidden_channels
        self.feat_drop = feat_drop
        self.pos_num = pos_num
        self.projections = HeteroDictLinear(self.in_channels, hidden_channels)
        self.mp = MetaPathEncoder(hidden_channels, len(self.metapaths), attn_drop)
        self.sc = NetworkSchemaEncoder(hidden_channels, len(neighbor_types),
                                       attn_drop)
        self.projector = ProjectionHead(hidden_channels, hidden_channels,
                                        xavier_gain=1.414)
        self.loss = HeCoLoss(tau, lam, eps, block_size)
        self.reset_parameters()

    @classmethod
    def from_config(cls, in_channels: Mapping[str, int], target: str,
                    metapaths: Sequence[str], neighbor_types: Sequence[str],
                    sample_rate: Sequence[int], hidden_channels: int = 64,
                    tau: float = 0.8, lam: float = 0.5, feat_drop: float = 0.3,
                    attn_drop: float = 0.5, eps: float = 1e-8,
                    pos_num: Optional[int] = None,
                    block_size: Optional[int] = None) -> HeCo:
        """Builds HeCo from the ``model`` section of its configs (the
        official ``code/utils/params.py`` values per data set).
        """
        return cls(in_channels, target, metapaths, neighbor_types, sample_rate,
                   hidden_channels, tau, lam, feat_drop, attn_drop, eps,
                   pos_num, block_size)

    def reset_parameters(self) -> None:
        """Resets all parameters (HeCo's initialisation) and the cache."""
        super().reset_parameters()
        for lin in self.projections.lins.values():
            torch.nn.init.xavier_normal_(lin.weight, gain=1.414)

    def build_graph(self, data: HeteroData) -> dict[str, Any]:
        """Normalised binary meta-path graphs, the neighbour relations and
        the positive pairs, computed once.
        """
        t, n = self.target, data[self.target].num_nodes
        adjs = [meta_path_adjacency(data[t, m, t].edge_index, None, n,
                                    dtype=self.dtype) for m in self.metapaths]
        neighbors = []
        for nt in self.neighbor_types:
            et = (t, "to", nt)
            if et not in data.edge_types:
                raise ValueError(f"HeCo: the graph has no relation {et} for the "
                                 f"network-schema view")
            neighbors.append(data[et].edge_index)
        if self.pos_num is not None:
            pos = heco_positives([data[t, m, t].edge_index for m in self.metapaths],
                                 n, self.pos_num)
        else:
            pos = data[t].get("positive_index")
            if pos is None:
                raise ValueError(
                    f"HeCo needs positive pairs: data[{t!r}].positive_index is "
                    f"missing (HeCo's pos.npz); pass pos_num to compute them "
                    f"from the meta-paths")
        return {"adjs": adjs, "neighbors": neighbors, "pos": pos}

    def _project(self, data: HeteroData) -> dict[str, Tensor]:
        r""":math:`\mathrm{ELU}(\mathrm{Dropout}(W_\phi x + b_\phi))` per type."""
        out = self.projections({k: data[k].x for k in self.in_channels})
        return {k: F.elu(F.dropout(h, self.feat_drop, self.training))
                for k, h in out.items()}

    def encode_views(self, data: HeteroData) -> tuple[Tensor, Tensor]:
        r"""The meta-path view :math:`z^{mp}` and the network-schema view
        :math:`z^{sc}`, with fresh neighbour samples.
        """
        g = self.graph(data)
        h = self._project(data)
        n = data[self.target].num_nodes
        z_mp = self.mp(h[self.target], g["adjs"])
        index = [sample_neighbors(ei, n, k)
                 for ei, k in zip(g["neighbors"], self.sample_rate)]
        z_sc = self.sc(h[self.target], [h[t] for t in self.neighbor_types], index)
        return z_mp, z_sc

    def objective(self, z1: Tensor, z2: Tensor, data: HeteroData) -> Tensor:
        """HeCo's cross-view loss of the projected views."""
        return self.loss(self.projector(z1), self.projector(z2),
                         self.graph(data)["pos"])

    def encode(self, data: HeteroData) -> Tensor:
        r"""The meta-path view :math:`z^{mp}` of the target nodes."""
        g = self.graph(data)
        h = self._project(data)
        return self.mp(h[self.target], g["adjs"])

    def _repr_args(self) -> str:
        return (f", neighbor_types={self.neighbor_types}, "
                f"sample_rate={self.sample_rate}, hidden={self.hidden_channels}, "
                f"loss={self.loss}")
