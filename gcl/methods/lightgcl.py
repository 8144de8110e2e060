r"""LightGCL: graph contrastive learning with an SVD-reconstructed view."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from gcl.augment import SVDView
from gcl.datasets import BPRSampler, InteractionData
from gcl.losses import (
    LIGHTGCL_SETTINGS,
    bpr_loss,
    hinge_rank_loss,
    l2_reg_full,
    lightgcl_code_loss,
    lightgcl_paper_loss,
)
from gcl.methods.recommender import Recommender
from gcl.nn import LightGCNPropagation

__all__ = ["LightGCL"]

#: The defaults of each setting (``parser.py`` of the current code and of
#: ``old_setting/``; README per-dataset flags go in the configs).
SETTING_DEFAULTS = {
    "code": dict(embedding_dim=64, num_layers=2, q=5, lambda1=0.2, lambda2=1e-7,
                 tau=0.2, edge_dropout=0.0, batch_size=4096, lr_decay=1.0),
    "paper": dict(embedding_dim=32, num_layers=2, q=5, lambda1=1e-7, lambda2=0.0,
                  tau=0.5, edge_dropout=0.25, batch_size=256, lr_decay=0.98),
}


class LightGCL(Recommender):
    r"""LightGCL from `"LightGCL: Simple Yet Effective Graph Contrastive
    Learning for Recommendation" <https://arxiv.org/abs/2302.08191>`_ (Cai
    et al., ICLR 2023), following ``HKUDS/LightGCL`` in both of its
    settings.

    A local graph view and a global SVD view of the user-item graph,
    layer by layer (:class:`~gcl.nn.LightGCNPropagation`,
    :class:`~gcl.augment.SVDView` with :math:`\hat A = U_q S_q V_q^\top`
    computed once in :meth:`prepare`):

    .. math::
        Z_u^{(l)} = \sigma\big(\mathrm{drop}(\tilde R) E_i^{(l-1)}\big), \quad
        G_u^{(l)} = \sigma\big(U_q S_q V_q^\top E_i^{(l-1)}\big), \quad
        E^{(l)} = Z^{(l)} + \rho E^{(l-1)}

    (items alike with the transposes), :math:`E = \sum_{l=0}^{L} E^{(l)}`
    and :math:`G = E^{(0)} + \sum_{l \geq 1} G^{(l)}`; scores
    :math:`e_u^\top e_i`. :math:`\mathcal{L} = \mathcal{L}_r + \lambda_1
    \mathcal{L}_s + \lambda_2 \lVert\Theta\rVert^2`.

    ``setting="code"`` (current ``main.py``/``model.py``; users report it
    beats the paper): :math:`\hat A` from the normalised :math:`\tilde R`,
    :math:`\sigma` the identity and :math:`\rho = 0`, :math:`\mathcal{L}_r`
    BPR on shuffled interactions (4096 per batch) with uniform negatives,
    :math:`\mathcal{L}_s` the InfoNCE of :math:`G` against :math:`E` over
    all users/items with the positive clamped
    (:func:`gcl.losses.lightgcl_code_loss`), :math:`\lambda_2` on the full
    tables (:func:`gcl.losses.l2_reg_full`).

    ``setting="paper"`` (``old_setting/``, which produced the paper's
    tables): :math:`\hat A` from the raw binary :math:`R`, LeakyReLU(0.5)
    and :math:`\rho = 1`, edge dropout 0.25, per-layer cosine InfoNCE of
    :math:`Z^{(l)}` against :math:`G^{(l)} W_l` with in-batch negatives and
    half the terms masked (:func:`gcl.losses.lightgcl_paper_loss`; the
    :math:`W_l` are parameters here), :math:`\mathcal{L}_r` the hinge
    summed over up to 40 pairs per user over the 256 batch users
    (:class:`~gcl.datasets.BPRSampler` ``"user_batch"``, 30,000 users per
    epoch), :math:`\lambda_2` (1e-4) as Adam's ``weight_decay`` (pass it to
    :func:`gcl.fit`), d = 32, :math:`\lambda_1 = 10^{-7}`, :math:`\tau =
    0.5`, and the official learning-rate decay: before every epoch
    :math:`t = 1, 2, \dots` the rate is multiplied by 0.98 unless that
    would take it to 5e-4 or below (``learning_rate_decay`` of
    ``old_setting/main.py``, which also decays before the first epoch), so
    from 1e-3 it settles at :math:`10^{-3} \cdot 0.98^{34} \approx
    5.04 \cdot 10^{-4}` (:meth:`learning_rate`, the hook :func:`gcl.fit`
    applies). Negatives are drawn without replacement within a user, as
    there (:class:`~gcl.datasets.BPRSampler` ``"user_batch"``).

    Args:
        num_users (int): :math:`U`.
        num_items (int): :math:`I`.
        setting (str, optional): ``"code"`` or ``"paper"``.
            (default: :obj:`"code"`)
        embedding_dim (int, optional): :math:`d` (code 64, paper 32).
        num_layers (int, optional): :math:`L` (2).
        q (int, optional): SVD rank (5).
        lambda1 (float, optional): Weight of :math:`\mathcal{L}_s` (code
            0.2, paper 1e-7).
        lambda2 (float, optional): Weight of the full-table L2 in the loss
            (code 1e-7; Gowalla's README command sets 0; paper 0, its L2 is
            the optimiser's weight decay).
        tau (float, optional): Temperature (code 0.2, paper 0.5).
        edge_dropout (float, optional): (code 0, paper 0.25).
        batch_size (int, optional): Interactions per batch (code 4096) or
            users per batch (paper 256).
        svd_adjacency (str, optional): Override which matrix the SVD
            factorises (``"normalized"`` or ``"raw"``).
            (default: :obj:`None`, the setting's)
        init (str, optional): (default: :obj:`"xavier"`, as the official code)
        lr_decay (float, optional): Per-epoch learning-rate factor
            (paper 0.98, code 1: none). (default: :obj:`None`, the
            setting's)
        lr_floor (float, optional): The decay stops before the rate would
            reach this value. (default: :obj:`5e-4`)
        cache_mb (float, optional): MiB of exponentiated logits the
            contrastive loss may keep per side for its backward pass instead
            of recomputing them (:func:`gcl.losses.cross_logsumexp`); the
            loss is the same. (default: :obj:`1024.0`)
    """

    def __init__(self, num_users: int, num_items: int, setting: str = "code",
                 embedding_dim: Optional[int] = None,
                 num_layers: Optional[int] = None, q: Optional[int] = None,
                 lambda1: Optional[float] = None, lambda2: Optional[float] = None,
                 tau: Optional[float] = None, edge_dropout: Optional[float] = None,
                 batch_size: Optional[int] = None,
                 svd_adjacency: Optional[str] = None, init: str = "xavier",
                 lr_decay: Optional[float] = None, lr_floor: float = 5e-4,
                 cache_mb: float = 1024.0):
        if setting not in LIGHTGCL_SETTINGS:
            raise ValueError(f"setting must be one of {LIGHTGCL_SETTINGS}, got "
                             f"{setting!r}")
        given = dict(embedding_dim=embedding_dim, num_layers=num_layers, q=q,
                     lambda1=lambda1, lambda2=lambda2, tau=tau,
                     edge_dropout=edge_dropout, batch_size=batch_size,
                     lr_decay=lr_decay)
        hp = {k: (v if v is not None else SETTING_DEFAULTS[setting][k])
              for k, v in given.items()}
        paper = setting == "paper"
        sampler = (BPRSampler("user_batch", hp["batch_size"]) if paper
                   else BPRSampler("interaction", hp["batch_size"]))
        super().__init__(num_users, num_items, hp["embedding_dim"], sampler, init)
        self.setting = setting
        self.lambda1, self.lambda2 = float(hp["lambda1"]), float(hp["lambda2"])
        self.tau, self.cache_mb = float(hp["tau"]), float(cache_mb)
        if not 0.0 < float(hp["lr_decay"]) <= 1.0 or not float(lr_floor) >= 0.0:
            raise ValueError(f"lr_decay must be in (0, 1] and lr_floor >= 0, got "
                             f"{hp['lr_decay']} and {lr_floor}")
        self.lr_decay, self.lr_floor = float(hp["lr_decay"]), float(lr_floor)
        self.propagation = LightGCNPropagation(
            hp["num_layers"], "sum", activation="leaky_relu" if paper else None,
            negative_slope=0.5, residual=paper, edge_dropout=hp["edge_dropout"])
        self.act = self.propagation.act
        self.svd = SVDView(hp["q"], svd_adjacency or
                           ("raw" if paper else "normalized"))
        d, n_layers = hp["embedding_dim"], hp["num_layers"]
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.empty(d, d)) for _ in range(n_layers)]
            if paper else [])
        self._init_weights()

    def _init_weights(self) -> None:
        for w in self.weights:
            torch.nn.init.xavier_uniform_(w)

    @classmethod
    def from_config(cls, in_channels: Optional[int] = None, *, num_users: int,
                    num_items: int, setting: str = "code",
                    embedding_dim: Optional[int] = None,
                    num_layers: Optional[int] = None, q: Optional[int] = None,
                    lambda1: Optional[float] = None,
                    lambda2: Optional[float] = None, tau: Optional[float] = None,
                    edge_dropout: Optional[float] = None,
                    batch_size: Optional[int] = None,
                    svd_adjacency: Optional[str] = None,
                    init: str = "xavier", lr_decay: Optional[float] = None,
                    lr_floor: float = 5e-4, cache_mb: float = 1024.0) -> LightGCL:
        """Builds LightGCL from its config (``in_channels`` is unused)."""
        return cls(num_users, num_items, setting, embedding_dim, num_layers, q,
                   lambda1, lambda2, tau, edge_dropout, batch_size, svd_adjacency,
                   init, lr_decay, lr_floor, cache_mb)

    def reset_parameters(self) -> None:
        """Re-draws the tables and :math:`W_l`, forgets the graph and SVD."""
        super().reset_parameters()
        self._init_weights()
        self.svd.reset_parameters()

    def learning_rate(self, epoch: int, base_lr: float) -> Optional[float]:
        r"""The official decay: ``base_lr`` times ``lr_decay`` once per
        epoch up to ``epoch``, each step taken only while the result stays
        above ``lr_floor`` (the same repeated products as the official
        ``param_group['lr'] * 0.98``); :obj:`None` without decay.
        """
        if self.lr_decay == 1.0:
            return None
        lr = float(base_lr)
        for _ in range(int(epoch)):
            nxt = lr * self.lr_decay
            if not nxt > self.lr_floor:
                break
            lr = nxt
        return lr

    def prepare(self, data: InteractionData) -> None:
        """The normalised adjacency and the rank-:math:`q` SVD, once (the
        SVD's seconds are kept in ``svd.svd_seconds_``).
        """
        super().prepare(data)
        self.svd.fit(data.to(self.user_emb.device))

    def views(self, data: InteractionData):
        """Per-layer graph view, SVD view and the layer sums
        ``(layers, g_users, g_items, E_u, E_i, G_u, G_i)``.
        """
        if not self.svd.fitted:
            self.prepare(data)
        out = self.propagation.layers(self.user_emb, self.item_emb,
                                      self._adj(data))
        gu = [self.act(self.svd.propagate_users(e)) for e in out.items[:-1]]
        gi = [self.act(self.svd.propagate_items(e)) for e in out.users[:-1]]
        eu, ei = self.propagation.combine_layers(out)
        g_u = out.users[0] + torch.stack(gu).sum(0) if gu else out.users[0]
        g_i = out.items[0] + torch.stack(gi).sum(0) if gi else out.items[0]
        return out, gu, gi, eu, ei, g_u, g_i

    def propagate(self, data: InteractionData) -> tuple[Tensor, Tensor]:
        r""":math:`E_u, E_i` (the graph view's layer sums)."""
        return self.propagation(self.user_emb, self.item_emb, self._adj(data))

    def forward(self, data: InteractionData, batch: tuple) -> Tensor:
        r""":math:`\mathcal{L}_r + \lambda_1 \mathcal{L}_s + \lambda_2
        \lVert\Theta\rVert^2` of one batch, in the method's setting.
        """
        users, pos, neg = batch[:3]
        out, gu, gi, eu, ei, g_u, g_i = self.views(data)
        if self.setting == "code":
            loss_r = bpr_loss(eu[users], ei[pos], ei[neg])
            loss_s = lightgcl_code_loss(g_u, eu, g_i, ei, users,
                                        torch.cat([pos, neg]), tau=self.tau,
                                        cache_mb=self.cache_mb)
        else:
            batch_users = batch[3] if len(batch) > 3 else torch.unique(users)
            loss_r = hinge_rank_loss(eu[users], ei[pos], ei[neg],
                                     normalizer=self.sampler.batch_size)
            loss_s = lightgcl_paper_loss(
                out.conv_users, gu, out.conv_items, gi, batch_users,
                torch.unique(torch.cat([pos, neg])), tau=self.tau,
                weights=list(self.weights), cache_mb=self.cache_mb)
        loss = loss_r + self.lambda1 * loss_s
        if self.lambda2:
            loss = loss + self.lambda2 * l2_reg_full(self.parameters())
        return loss
