r"""AdaMEOW: MEOW's views with negative weights learned by an MLP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from torch import Tensor
from torch_geometric.data import HeteroData

from gcl.losses import AdaMEOWLoss
from gcl.methods.meow import MEOWViews, Rates

__all__ = ["AdaMEOW"]


class AdaMEOW(MEOWViews):
    r"""AdaMEOW from `"Heterogeneous Graph Contrastive Learning with Meta-path
    Contexts and Adaptively Weighted Negative Samples"
    <https://arxiv.org/abs/2212.13847>`_ (Yu, Ge, Li and Zhou, TKDE 2024), as
    coded in ``jianxiangyu/MEOW`` (``code_adameow``).

    The views are MEOW's (:class:`~gcl.methods.MEOWViews`: coarse
    :math:`z^c`, fused fine :math:`z^f`, projections :math:`p^c, p^f`), with
    one edge-mask rate for all meta-paths in the official settings. There is
    no clustering and no ProtoNCE: each pair's weight is learned, and the
    **fine** view is the anchor,

    .. math::
        w_{ij} = \sigma\big(\mathrm{MLP}(p^f_i + p^c_j)\big), \qquad
        \mathcal{L} = -\frac{1}{N} \sum_i \log
        \frac{e^{p^f_i \cdot p^c_i / \tau}}{\sum_j w_{ij}\,
        e^{p^f_i \cdot p^c_j / \tau}}

    (:func:`gcl.losses.adameow_loss`: ``Linear(d, 16) -> tanh -> Linear(16,
    1) -> sigmoid``, evaluated block-wise instead of on all :math:`N^2`
    pairs at once; :math:`j = i` stays in the denominator). The weights are
    trained by the same loss, which alone would push them towards 0; the
    official code does nothing against it and neither does this one.

    The official code trains a fixed number of epochs (its patience is
    computed but unused) and logs *test* metrics every 100 epochs after
    ``start_eval``, the only choice of epoch it offers. The configs in
    ``gcl/configs/adameow/`` train the fixed number of epochs and score the
    same epochs (``eval.every: 100``, ``eval.start``: the official
    ``start_eval``); the main result is the model after the last epoch,
    and the run also records the scored epoch of best validation score
    (``val_selected``) and each metric's best test score over the scored
    epochs (``max_over_epochs``, the official logs' rule, which selects on
    test); see :func:`gcl.eval.report_over_epochs`.

    Args:
        in_channels (Mapping[str, int]): Feature width per node type.
        target (str): Target node type.
        metapaths (Mapping[str, Sequence[str]]): Meta-path name -> node types.
        nei_max (Sequence[int]): PathSim top-:math:`k` per meta-path.
        tau (float, optional): Temperature. (default: :obj:`0.9`)
        weight_hidden (int, optional): Hidden units of the weight MLP.
            (default: :obj:`16`)
        block_size (int, optional): Rows per block of the loss.
            (default: :obj:`None`)
        **kwargs: The views' arguments (:class:`~gcl.methods.MEOWViews`;
            ``proj_channels`` is 16 on AMiner).
    """

    def __init__(self, in_channels: Mapping[str, int], target: str,
                 metapaths: Mapping[str, Sequence[str]], nei_max: Sequence[int],
                 tau: float = 0.9, weight_hidden: int = 16,
                 block_size: Optional[int] = None, **kwargs: Any):
        super().__init__(in_channels, target, metapaths, nei_max, **kwargs)
        self.loss = AdaMEOWLoss(self.projector.out_channels, weight_hidden, tau,
                                block_size)

    @classmethod
    def from_config(cls, in_channels: Mapping[str, int], target: str,
                    metapaths: Mapping[str, Sequence[str]],
                    nei_max: Sequence[int], hidden_channels: int = 64,
                    embed_channels: int = 64,
                    proj_channels: Optional[int] = None, tau: float = 0.9,
                    dropout: float = 0.2, feat_mask: float = 0.3,
                    adj_mask: Rates = 0.2, binary_metapaths: bool = False,
                    metapath_target_projections: bool = False,
                    mask_dropout: bool = True, weight_hidden: int = 16,
                    ties: str = "low",
                    block_size: Optional[int] = None) -> AdaMEOW:
        """Builds AdaMEOW from the ``model`` section of its configs (the
        official ``code_adameow/utils/params.py`` values per data set).
        """
        return cls(in_channels, target, metapaths, nei_max, tau, weight_hidden,
                   block_size, hidden_channels=hidden_channels,
                   embed_channels=embed_channels, proj_channels=proj_channels,
                   dropout=dropout, feat_mask=feat_mask, adj_mask=adj_mask,
                   binary_metapaths=binary_metapaths,
                   metapath_target_projections=metapath_target_projections,
                   mask_dropout=mask_dropout, ties=ties)

    def objective(self, z1: Tensor, z2: Tensor, data: HeteroData) -> Tensor:
        """The learned-weight InfoNCE, anchored on the fine view ``z2``."""
        return self.loss(self.projector(z2), self.projector(z1))

    def _repr_args(self) -> str:
        return f", nei_max={self.nei_max}, loss={self.loss}"
