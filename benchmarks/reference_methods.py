"""Official-style dense training steps of CSGCL, gCooL, GRACE+POT and GCA.

Speed and memory references for ``benchmarks/speed_methods.py``: each class
computes one training step the way the method's released code does, with
its dense matrices, written here from reading that code (not copied):

- :class:`CSGCLReference`: ``HanChen-HUST/CSGCL`` ``train.py`` and
  ``src/model.py``: ``ced`` / ``cav`` views, PyG's edge-list ``GCNConv``,
  ``team_up_loss``: the :math:`N \\times N` similarity matrices with the
  community-strength bias ``gamma * cs + gamma * cs[:, None]`` added to both,
  then ``exp``, row sums and the diagonal;
- :class:`GCOOLReference`: ``lblaoke/gCooL`` ``main.py`` and
  ``src/model.py``: ``drop_edge_weighted`` / ``drop_feature_weighted_2``
  views, the dense node InfoNCE (one ``exp(h1 h2^T / tau)`` matrix), DeCA with
  the dense adjacency ``A[n, n]`` and ``R^T A R``, ReSC with the community
  means from a loop over the K communities; every term every step (the code
  computes DeCA and ReSC also when their weight is 0);
- :class:`POTReference`: ``VoidHaruhi/POT-GCL`` ``GRACE/train.py``,
  ``model.py`` and ``my_utils.py``: ``dropout_adj`` views, GRACE's dense
  loss, and ``pot_loss`` per view: dense ``A_upper`` / ``A_lower``
  (``N x N`` float32 NumPy arrays, built once as the code builds them
  before it caches them in a file), indexed by the step's node permutation
  and turned into sparse tensors every step, interval bounds by sparse
  products, ``get_crown_weights``, the score through the view's normalised
  adjacency;
- :class:`GCAReference`: ``CRIPAC-DIG/GCA`` ``train.py``: adaptive edge
  views, the two uniform feature masks the code draws and overwrites, the
  adaptive feature views, GRACE's dense loss.

Each reference works on a built gcl method: it shares its parameters (so
both start from the same weights) and takes from its ``prepare`` the graph
statistics that the official code also computes once before training
(communities and strengths, centrality weights); what the official code
computes every step, it computes every step. Views are drawn in the
official order from torch's generator, so a reference and gcl started from
the same torch state draw the same views (``tests/benchmarks/
test_speed_references.py`` checks this and the losses in float64).

Interface: ``ref.prepare(data)``, ``ref.set_epoch(epoch)`` (gcl's 1-based
epoch), ``ref.views(data) -> (x1, ei1, x2, ei2)``, ``ref.loss(z1, z2, ei1,
ei2)`` (the objective on the encoder outputs of the views) and
``ref(data)`` (one step's loss).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.sparse import mm
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import (
    degree,
    to_dense_adj,
    to_scipy_sparse_matrix,
    to_undirected,
)

from gcl.nn import out_degree_norm

sys.path.insert(0, str(Path(__file__).parent))
from reference_grace import dense_grace_loss  # noqa: E402

__all__ = ["CSGCLReference", "GCAReference", "GCOOLReference", "POTReference",
           "REFERENCES", "build_reference"]


def _compose_stages(augmentor):
    return list(getattr(augmentor, "augmentors", [augmentor]))


class OfficialStep:
    """The parts every official code base shares: GRACE's encoder (PyG
    ``GCNConv`` on the edge list, activation after every layer) and
    projection head ``fc2(elu(fc1(z)))``.
    """

    def __init__(self, method):
        self.method = method
        self.encoder = method.encoder
        self.epoch = 1

    def prepare(self, data) -> None:
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def encode(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """The official ``Encoder.forward`` on the edge list. With
        ``degree="out"`` (configs of codes run on PyG <= 1.5, whose
        ``GCNConv`` normalised by source degree) the normalised weights are
        those of that ``GCNConv`` (:func:`gcl.nn.out_degree_norm`)."""
        weight = None
        if self.encoder.degree == "out":
            edge_index, weight = out_degree_norm(edge_index, None, x.size(0))
            weight = weight.to(x.dtype)
        for conv in self.encoder.convs:
            x = self.encoder.activation(conv(x, edge_index, weight))
        return x

    def project(self, z: Tensor, head=None) -> Tensor:
        head = head or self.method.projector
        return head.fc2(F.elu(head.fc1(z)))

    def views(self, data):
        raise NotImplementedError

    def loss(self, z1: Tensor, z2: Tensor, ei1: Tensor, ei2: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, data) -> Tensor:
        x1, ei1, x2, ei2 = self.views(data)
        return self.loss(self.encode(x1, ei1), self.encode(x2, ei2), ei1, ei2)


def _mask_columns(x: Tensor, drop: Tensor) -> Tensor:
    """``x = x.clone(); x[:, drop] = 0`` as every official code does."""
    x = x.clone()
    x[:, drop] = 0.0
    return x


class CSGCLReference(OfficialStep):
    """CSGCL's step as ``HanChen-HUST/CSGCL`` (``ced``, ``cav``,
    ``team_up_loss`` without batches)."""

    def prepare(self, data) -> None:
        from gcl.augment import CommunalAttributeVoting, CommunalEdgeDrop

        m = self.method
        m.prepare(data)  # Leiden and community strength, as before the loop
        ceds, cavs = [], []
        for aug in m.augmentors:
            for stage in _compose_stages(aug):
                if isinstance(stage, CommunalEdgeDrop):
                    ceds.append(stage)
                elif isinstance(stage, CommunalAttributeVoting):
                    cavs.append(stage)
        if len(ceds) != 2 or len(cavs) != 2:
            raise ValueError("CSGCLReference needs CED and CAV in both views")
        # get_edge_weight: per-edge weights, min-max normalised (float64)
        self.edge_weight = ceds[0].weight_
        self.ced = [(a.p, a.threshold) for a in ceds]
        self.cav = [(a.p, a.threshold, a.variant) for a in cavs]
        # community_strength's node_cs: float32 NumPy
        self.node_cs = m.node_strength_.detach().float()

    def _ced(self, edge_index, p, threshold):
        w = self.edge_weight / self.edge_weight.mean() * (1.0 - p)
        w = w.where(w > 1.0 - threshold, torch.ones_like(w) * (1.0 - threshold))
        w = w.where(w < 1, torch.ones_like(w))
        return edge_index[:, torch.bernoulli(w).to(torch.bool)]

    def _cav(self, x, p, threshold, variant):
        cs = self.node_cs.to(x.dtype)  # float32 in the official code
        w = x.abs().t() @ cs
        if variant == "sparse":  # cav(); cav_dense() (WikiCS) has no fix
            w[torch.nonzero(w == 0)] = w.max()
        w = w.log()
        w = (w.max() - w) / (w.max() - w.min())
        w = w / w.mean() * p
        w = w.where(w < threshold, threshold * torch.ones(1, dtype=w.dtype))
        if variant == "sparse":
            w = w.where(w > 0, torch.zeros(1, dtype=w.dtype))
        return _mask_columns(x, torch.bernoulli(w).to(torch.bool))

    def views(self, data):
        ei1 = self._ced(data.edge_index, *self.ced[0])
        ei2 = self._ced(data.edge_index, *self.ced[1])
        x1 = self._cav(data.x, *self.cav[0])
        x2 = self._cav(data.x, *self.cav[1])
        return x1, ei1, x2, ei2

    def loss(self, z1, z2, ei1=None, ei2=None):
        m = self.method
        gamma = min(max(0, (self.epoch - m.t0) / m.ramp), m.gamma_max)
        tau = m.loss.tau
        cs = self.node_cs

        def sim(a, b):
            return torch.mm(F.normalize(a), F.normalize(b).t())

        def team_up(a, b):
            refl = torch.exp((sim(a, a) + gamma * cs + gamma * cs.unsqueeze(1))
                             / tau)
            between = torch.exp((sim(a, b) + gamma * cs
                                 + gamma * cs.unsqueeze(1)) / tau)
            return -torch.log(between.diag() / (refl.sum(1) + between.sum(1)
                                                - refl.diag()))

        h1, h2 = self.project(z1), self.project(z2)
        return ((team_up(h1, h2) + team_up(h2, h1)) * 0.5).mean()


def _view_stages(method, name):
    """(edge droppers, feature maskers) of both views: adaptive (GCA's
    schemes) or uniform (``drop_scheme: uniform``)."""
    from gcl.augment import (
        AdaptiveEdgeDrop,
        AdaptiveFeatureMask,
        EdgeDrop,
        FeatureMask,
    )

    edges, feats = [], []
    for aug in method.augmentors:
        for stage in _compose_stages(aug):
            if isinstance(stage, (AdaptiveEdgeDrop, EdgeDrop)):
                edges.append(stage)
            elif isinstance(stage, (AdaptiveFeatureMask, FeatureMask)):
                feats.append(stage)
    if len(edges) != 2 or len(feats) != 2 or \
            len({type(a) for a in edges}) != 1 or \
            len({type(a) for a in feats}) != 1:
        raise ValueError(f"{name} needs an edge dropper and a feature mask "
                         f"of one kind in both views")
    return edges, feats


def _official_weights(weights: Tensor) -> Tensor:
    """The official feature weights: a column of weight 0 (``log 0``) turns
    every weight into NaN there, which drops every column with the cap."""
    if bool(torch.isfinite(weights).all()):
        return weights
    return torch.full_like(weights, float("nan"))


def _drop_edge_weighted(edge_index, weights, p, threshold):
    w = weights / weights.mean() * p
    w = w.where(w < threshold, torch.ones_like(w) * threshold)
    return edge_index[:, torch.bernoulli(1.0 - w).to(torch.bool)]


def _drop_feature_weighted_2(x, weights, p, threshold):
    w = weights / weights.mean() * p
    w = w.where(w < threshold, torch.ones_like(w) * threshold)
    return _mask_columns(x, torch.bernoulli(w).to(torch.bool))


class _AdaptiveViews(OfficialStep):
    """GCA's views as the official codes draw them: ``drop_edge_weighted``
    and ``drop_feature_weighted_2`` from the cached weights (adaptive
    schemes), or ``dropout_adj`` and ``drop_feature`` (``uniform``)."""

    def prepare(self, data) -> None:
        from gcl.augment import AdaptiveEdgeDrop

        self.method.prepare(data)  # centralities and weights, once
        edges, feats = _view_stages(self.method, type(self).__name__)
        self.adaptive = isinstance(edges[0], AdaptiveEdgeDrop)
        if self.adaptive:
            self.edge_weights = edges[0].weights_
            self.feature_weights = _official_weights(feats[0].weights_)
        self.edge_p = [(a.p, getattr(a, "threshold", 1.0)) for a in edges]
        self.feature_p = [(a.p, getattr(a, "threshold", 1.0)) for a in feats]

    def _edge_views(self, data):
        if not self.adaptive:  # dropout_adj: keep where rand >= p
            return [data.edge_index[:, torch.rand(data.edge_index.size(1)) >= p]
                    for p, _ in self.edge_p]
        return [_drop_edge_weighted(data.edge_index, self.edge_weights, p, t)
                for p, t in self.edge_p]

    def _feature_views(self, data):
        if not self.adaptive:
            return [_drop_feature(data.x, p) for p, _ in self.feature_p]
        return [_drop_feature_weighted_2(data.x, self.feature_weights, p, t)
                for p, t in self.feature_p]


def _drop_feature(x, p):
    """``drop_feature``: a uniform column mask."""
    drop = torch.empty((x.size(1),), dtype=torch.float32).uniform_(0, 1) < p
    return _mask_columns(x, drop)


class GCOOLReference(_AdaptiveViews):
    """gCooL's step as ``lblaoke/gCooL`` (``train_epoch`` and
    ``gCooL.fit``), cosine similarity."""

    def __init__(self, method):
        super().__init__(method)
        if method.similarity != "cos":
            raise NotImplementedError("the reference covers gCooL_c (cos), "
                                      "the released configs' similarity")

    def views(self, data):
        ei1, ei2 = self._edge_views(data)
        x1, x2 = self._feature_views(data)
        return x1, ei1, x2, ei2

    def project(self, z, head=None):
        return F.normalize(super().project(z, head))

    def _deca(self, r, edge_index):
        n = len(r)
        m = n * (n - 1)
        a = torch.zeros(n, n, dtype=r.dtype)  # float32 in the official code
        a[edge_index[0], edge_index[1]] = 1
        df = r.T @ a @ r
        lam = self.method.lam
        return ((lam * df.sum() - (n - 1 + lam) * df.trace()) / m
                + (r.T @ r).trace() / n / 2)

    def _community(self, h1, h2, r1, r2):
        k, tau = self.method.num_communities, self.method.tau
        i1, i2 = r1.detach().argmax(dim=1), r2.detach().argmax(dim=1)
        c1, c2 = [], []
        for i in range(k):  # the official loop over communities
            a, b = h1[i1 == i], h2[i2 == i]
            c1.append(a.sum(0) / a.shape[0] if a.shape[0] > 0
                      else torch.zeros(h1.shape[1], dtype=h1.dtype))
            c2.append(b.sum(0) / b.shape[0] if b.shape[0] > 0
                      else torch.zeros(h2.shape[1], dtype=h2.dtype))
        c1, c2 = torch.stack(c1), torch.stack(c2)
        s12 = torch.exp(h1 @ c2.detach().T / tau)
        s21 = torch.exp(h2 @ c1.detach().T / tau)
        self12 = s12.gather(1, i2.unsqueeze(-1)).squeeze(-1)
        self21 = s21.gather(1, i1.unsqueeze(-1)).squeeze(-1)
        l12 = -torch.log(self12) + torch.log(
            self12 + s12.sum(1) - s12.gather(1, i2.unsqueeze(-1)).squeeze(-1))
        l21 = -torch.log(self21) + torch.log(
            self21 + s21.sum(1) - s21.gather(1, i1.unsqueeze(-1)).squeeze(-1))
        return ((l12 + l21) / 2).mean()

    def loss(self, z1, z2, ei1, ei2):
        m = self.method
        h1, h2 = self.project(z1), self.project(z2)
        s12 = torch.exp(h1 @ h2.T / m.tau)  # node_contrast: s21 = s12
        l12 = -torch.log(s12.diag()) + torch.log(s12.sum(1))
        node = ((l12 + l12) / 2).mean()
        if m.symmetric_node_loss:  # gcl's option (not in the official code)
            l21 = -torch.log(s12.diag()) + torch.log(s12.sum(0))
            node = ((l12 + l21) / 2).mean()
        centers = F.normalize(m.centers)
        r1 = torch.softmax(h1.detach() @ centers.T / m.tau, dim=1)
        r2 = torch.softmax(h2.detach() @ centers.T / m.tau, dim=1)
        deca = (self._deca(r1, ei1) + self._deca(r2, ei2)) / 2
        community = self._community(h1, h2, r1, r2)
        t = self.epoch - 1  # the official loop counts from 0
        alpha = max(0, 1 - t / m.alpha_rate / m.stride)
        coef = math.exp(-t / m.stride)
        return node + alpha * (coef * deca + (1 - coef) * community)


class GCAReference(_AdaptiveViews):
    """GCA's step as ``CRIPAC-DIG/GCA`` ``train.py`` (without the
    Coauthor-Physics batches)."""

    def views(self, data):
        ei1, ei2 = self._edge_views(data)
        if self.adaptive:  # drop_feature(x, p) for both: drawn, overwritten
            for p, _ in self.feature_p:
                _drop_feature(data.x, p)
        x1, x2 = self._feature_views(data)
        return x1, ei1, x2, ei2

    def loss(self, z1, z2, ei1=None, ei2=None):
        return dense_grace_loss(self.project(z1), self.project(z2),
                                self.method.loss.tau)


def _get_batch(node_list, batch_size, epoch):
    n = len(node_list)
    i = epoch % ((n - 1) // batch_size + 1)
    return node_list[i * batch_size:(i + 1) * batch_size]


def _alpha_beta(lo, up, alpha):
    """``get_alpha_beta``: the linear relaxation of the activation."""
    a_l = torch.zeros(lo.shape, dtype=lo.dtype)
    a_u, b_l, b_u = a_l.clone(), a_l.clone(), a_l.clone()
    pos, neg = lo >= 0, up <= 0
    a_l[pos], a_u[pos] = 1, 1
    a_l[neg], a_u[neg] = alpha, alpha
    mid = ~(pos | neg)
    top = up[mid] - alpha * lo[mid]
    slope = top / (up[mid] - lo[mid])
    a_l[mid], a_u[mid] = slope, slope
    b_u[mid] = (alpha - 1) * up[mid] * lo[mid] / top
    return a_l, a_u, b_l, b_u


def _crown_weights(l1, u1, l2, u2, alpha, weights, wcl):
    """``get_crown_weights``: back-substitution through both layers."""
    a2l, a2u, b2l, b2u = _alpha_beta(l2, u2, alpha)
    a1l, a1u, b1l, b1u = _alpha_beta(l1, u1, alpha)
    w1, b1, w2, b2 = weights
    lam2 = torch.where(wcl >= 0, a2l, a2u) * wcl
    delta2 = torch.where(wcl >= 0, b2l, b2u)
    wt2 = lam2 @ w2.T
    bt2 = torch.diag(lam2 @ (delta2 + b2).T)
    lam1 = torch.where(wt2 >= 0, a1l, a1u) * wt2
    delta1 = torch.where(wt2 >= 0, b1l, b1u)
    wt1 = lam1 @ w1.T
    bt1 = torch.diag(lam1 @ (delta1 + b1).T)
    return wt1, bt1, wt2, bt2


class POTReference(OfficialStep):
    """GRACE+POT's step as ``VoidHaruhi/POT-GCL`` ``GRACE/train.py``
    (official score, ReLU or PReLU)."""

    def __init__(self, method):
        from gcl.augment import EdgeDrop, edge_droppers
        from gcl.methods import GRACE

        base = method.base
        if type(base) is not GRACE or method.mode != "official":
            raise NotImplementedError("the reference covers POT-GCL's GRACE "
                                      "code (mode='official')")
        super().__init__(base)
        if self.encoder.degree != "in":
            raise ValueError("POT-GCL ran on PyG 2.2 (in-degree GCNConv); "
                             "got degree='out'")
        self.pot = method
        drops = [edge_droppers(aug)[0] for aug in base.augmentors]
        if not all(type(d) is EdgeDrop for d in drops):
            raise ValueError("POT-GCL's GRACE code drops edges uniformly")
        self.rates = [d.p for d in drops]

    def prepare(self, data) -> None:
        """The dense bounds as ``pot_loss`` builds them on its first call
        (the code then stores them in a file and reloads them): N x N
        float32 NumPy arrays per view."""
        self.method.prepare(data)
        self.x, self.edge_index = data.x, data.edge_index
        n = data.num_nodes
        self.bounds = []
        for p in self.rates:
            deg = degree(to_undirected(data.edge_index)[1]).numpy()
            a = to_scipy_sparse_matrix(data.edge_index, num_nodes=n).tocsr()
            a_tilde = a + sp.eye(a.shape[0])
            degs_tilde = deg + 1
            max_delete = np.maximum(degs_tilde.astype("int") - 2, 0)
            max_delete = np.minimum(max_delete, np.round(p * deg))
            r = 1 / np.sqrt(degs_tilde - max_delete)
            upper = r * r[:, None]
            upper = np.float32(np.where(a_tilde.toarray() > 0, upper,
                                        np.zeros_like(upper)))
            ei, an = gcn_norm(data.edge_index, num_nodes=n)
            an = to_dense_adj(ei, edge_attr=an, max_num_nodes=n)[0].numpy()
            lower = np.zeros_like(an)
            lower[np.diag_indices_from(lower)] = np.diag(an)
            self.bounds.append((upper, np.float32(lower)))
            del a_tilde, an

    def views(self, data):
        # dropout_adj(edge_index, p): keep where rand >= p
        eis = [data.edge_index[:, torch.rand(data.edge_index.size(1)) >= p]
               for p in self.rates]
        return data.x, eis[0], data.x, eis[1]

    def _pot_loss(self, z2, edge_index_1, node_list, bounds):
        x, edge_index = self.x, self.edge_index
        dtype = z2.dtype
        # computed on every call of the official pot_loss
        degree(to_undirected(edge_index)[1]).numpy()
        a = to_scipy_sparse_matrix(edge_index, num_nodes=x.size(0)).tocsr()
        a = a + sp.eye(a.shape[0])
        n = a.shape[0]
        conv = self.encoder.convs
        w1, b1 = conv[0].lin.weight.t(), conv[0].bias
        w2, b2 = conv[1].lin.weight.t(), conv[1].bias
        upper, lower = bounds
        # float32 in the code; cast for float64 checks
        up = torch.tensor(upper[node_list][:, node_list], dtype=dtype).to_sparse()
        lo = torch.tensor(lower[node_list][:, node_list], dtype=dtype).to_sparse()
        num = len(node_list)
        xw = conv[0].lin(x)[node_list]
        h = self.encoder.activation(conv[0](x, edge_index))
        hw = conv[1].lin(h)[node_list]
        # as the code: the sparse sums and differences formed per product
        z1_u = mm((up + lo) / 2, xw) + mm((up - lo) / 2, torch.abs(xw)) + b1
        z1_l = mm((up + lo) / 2, xw) - mm((up - lo) / 2, torch.abs(xw)) + b1
        z2_u = mm((up + lo) / 2, hw) + mm((up - lo) / 2, torch.abs(hw)) + b2
        z2_l = mm((up + lo) / 2, hw) - mm((up - lo) / 2, torch.abs(hw)) + b2
        act = self.encoder.activation
        alpha = act.weight.item() if isinstance(act, torch.nn.PReLU) else 0
        z2n = F.normalize(z2)
        wcl = z2n * (num / (num - 1)) - z2n.sum(axis=0) / (num - 1)
        wt1, bt1, wt2, bt2 = _crown_weights(z1_l, z1_u, z2_l, z2_u, alpha,
                                            [w1, b1, w2, b2], wcl)
        xwt = (x[node_list, None, :] @ wt1[:, :, None]).view(-1, 1)
        # unit weights in the model's dtype (the code's default: float32)
        ei, an = gcn_norm(edge_index_1, torch.ones(edge_index_1.size(1),
                                                   dtype=dtype), num_nodes=n)
        idx = torch.as_tensor(node_list)
        an = torch.sparse_coo_tensor(ei, an, size=(n, n)
                                     ).index_select(0, idx).index_select(1, idx)
        score = (mm(an, mm(an, xwt) + bt1.view(-1, 1)) + bt2.view(-1, 1)).squeeze()
        return F.binary_cross_entropy_with_logits(score, torch.ones_like(score))

    def loss(self, z1, z2, ei1, ei2):
        pot = self.pot
        node_list = np.arange(z1.shape[0])
        np.random.shuffle(node_list)
        batch = None if pot.nce_batch is None else _get_batch(
            node_list, pot.nce_batch, self.epoch)
        if batch is None:
            nce = dense_grace_loss(self.project(z1), self.project(z2),
                                   self.method.loss.tau)
        else:
            nce = dense_grace_loss(self.project(z1[batch]),
                                   self.project(z2[batch]), self.method.loss.tau)
        pool = node_list if batch is None else batch
        tmp = pool if pot.pot_batch is None else _get_batch(
            pool, pot.pot_batch, self.epoch)
        z11, z22 = z1[tmp], z2[tmp]
        p1 = self._pot_loss(z22, ei1, tmp, self.bounds[0])
        p2 = self._pot_loss(z11, ei2, tmp, self.bounds[1])
        return (1 - pot.kappa) * nce + pot.kappa * (p1 + p2) / 2


REFERENCES = {"csgcl": CSGCLReference, "gcool": GCOOLReference,
              "pot": POTReference, "gca": GCAReference}


def build_reference(name: str, method) -> OfficialStep:
    """The reference of method ``name`` (a key of :data:`REFERENCES`) on
    the built gcl ``method``."""
    if name not in REFERENCES:
        raise ValueError(f"no dense reference for {name!r}; choose from "
                         f"{', '.join(REFERENCES)}")
    return REFERENCES[name](method)
