r"""ProtoNCE with PCL's concentration estimate, as MEOW uses it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import scatter

from gcl.losses._blockwise import _block, _check_tau, _rows_checkpointed, _shape

__all__ = ["ProtoNCE", "Prototypes", "kmeans_prototypes", "pcl_density", "proto_nce"]

_METRICS = ("ip", "l2")


class Prototypes(NamedTuple):
    """Clusterings for :func:`proto_nce`: one entry per clustering."""

    #: Cluster of every node, ``[N]`` each.
    labels: list[Tensor]
    #: L2-normalised centroids, ``[K_k, d]`` each.
    centroids: list[Tensor]
    #: Concentration :math:`\phi` of every cluster, ``[K_k]`` each.
    density: list[Tensor]


def pcl_density(
    x: Tensor,
    labels: Tensor,
    centroids: Tensor,
    tau: float,
    alpha: float = 5.0,
    metric: str = "ip",
) -> Tensor:
    r"""PCL's concentration :math:`\phi` of every cluster.

    From `"Prototypical Contrastive Learning of Unsupervised
    Representations" <https://arxiv.org/abs/2005.04966>`_ (Li et al., ICLR
    2021), in the variant of MEOW's ``run_kmeans``
    (``code_meow/module/cluster.py``). With :math:`D_i` the score of node
    :math:`i` against its centroid and :math:`n_k` the size of cluster
    :math:`k`:

    .. math::
        \phi_k = \frac{\frac{1}{n_k} \sum_{i \in k} \sqrt{D_i}}
        {\log(n_k + \alpha)} \quad (n_k > 1),

    a cluster with at most one node gets the largest :math:`\phi` of the
    others, then :math:`\phi` is clipped to its 10th-90th percentile range
    (linear interpolation, as ``numpy.percentile``) and rescaled so that its
    mean is :math:`\tau`.

    MEOW searches an inner-product index, so :math:`D_i = x_i^\top c_k` is
    a *similarity* (``metric="ip"``, :math:`\alpha = 5`); PCL searches an L2
    index, :math:`D_i = \lVert x_i - c_k \rVert^2` (``metric="l2"``,
    :math:`\alpha = 10`). Negative inner products are clipped to 0 before
    the square root (the official code would turn them into NaN). The
    centroids are the raw k-means centroids, before any normalisation.

    Args:
        x (torch.Tensor): Clustered points, ``[N, d]``.
        labels (torch.Tensor): Cluster of every point, ``[N]``.
        centroids (torch.Tensor): Centroids, ``[K, d]``.
        tau (float): Mean of the returned :math:`\phi` (MEOW and PCL: the
            InfoNCE temperature).
        alpha (float, optional): Smoothing :math:`\alpha`. (default:
            :obj:`5.0`, MEOW; PCL uses 10)
        metric (str, optional): ``"ip"`` or ``"l2"``. (default: :obj:`"ip"`)

    Returns:
        torch.Tensor: :math:`\phi`, ``[K]``, in the dtype of ``x``.
    """
    _check_tau(tau)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    if not alpha > -1.0:
        raise ValueError(f"alpha must be > -1 (log(n_k + alpha) > 0 for n_k >= 2), "
                         f"got {alpha}")
    if x.dim() != 2 or centroids.dim() != 2 or x.size(1) != centroids.size(1):
        raise ValueError(
            f"x [N, d] and centroids [K, d] must share d, got {tuple(x.shape)} "
            f"and {tuple(centroids.shape)}")
    k = centroids.size(0)
    labels = _check_labels(labels, x.size(0), k)
    xd = x.detach().double()
    c = centroids.detach().double().to(x.device)[labels]
    if metric == "ip":
        dist = (xd * c).sum(dim=1).clamp_min(0.0)
    else:
        dist = (xd - c).pow(2).sum(dim=1)
    count = torch.bincount(labels, minlength=k).double()
    total = scatter(dist.sqrt(), labels, 0, dim_size=k, reduce="sum")
    mean = total / count.clamp_min(1)
    phi = torch.where(count > 1, mean / torch.log(count + alpha),
                      torch.zeros_like(mean))
    phi = torch.where(count > 1, phi, phi.max())
    lo, hi = torch.quantile(phi, torch.tensor([0.1, 0.9], dtype=phi.dtype,
                                              device=phi.device))
    phi = phi.clamp(lo, hi)
    if not phi.mean() > 0:
        raise ValueError(
            "every cluster has concentration 0 (all points on their centroid, or "
            "no cluster with two points): the density cannot be scaled to tau")
    return (tau * phi / phi.mean()).to(x.dtype)


def _check_labels(labels: Tensor, n: int, k: int) -> Tensor:
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.numel() != n:
        raise ValueError(
            f"cluster labels must have shape [N] = [{n}], got {_shape(labels)}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"cluster labels must be integers, got {labels.dtype}")
    labels = labels.long()
    if n and (int(labels.min()) < 0 or int(labels.max()) >= k):
        raise ValueError(
            f"cluster label out of range [0, {k}): min {int(labels.min())}, "
            f"max {int(labels.max())}")
    return labels


def _as_list(x, what: str) -> list:
    if isinstance(x, Tensor):
        return [x]
    items = list(x)
    if not items:
        raise ValueError(f"{what} must hold at least one clustering")
    return items


def proto_nce(
    z: Tensor,
    labels: Union[Tensor, Sequence[Tensor]],
    centroids: Union[Tensor, Sequence[Tensor]],
    density: Union[Tensor, Sequence[Tensor]],
    block_size: Optional[int] = None,
) -> Tensor:
    r"""ProtoNCE: contrast every node with the prototypes of its clusters.

    From `"Prototypical Contrastive Learning of Unsupervised
    Representations" <https://arxiv.org/abs/2005.04966>`_ (PCL, Li et al.,
    ICLR 2021), as MEOW uses it (``ProtoNCE`` in
    ``code_meow/module/contrast.py``, on the coarse view with the clusters of
    the fine-grained view). With :math:`M` clusterings, node :math:`i` in
    cluster :math:`c_m(i)`, prototypes :math:`\mu^m_l` and concentrations
    :math:`\phi^m_l` (:func:`pcl_density`):

    .. math::
        \mathcal{L} = \frac{1}{M} \sum_{m=1}^{M} -\frac{1}{N} \sum_i \log
        \frac{e^{z_i^\top \mu^m_{c_m(i)} / \phi^m_{c_m(i)}}}
        {\sum_{l} e^{z_i^\top \mu^m_l / \phi^m_l}}.

    The own prototype stays in the denominator. MEOW's code writes the
    denominator as the mean over the :math:`K_m` prototypes times :math:`N`,
    which adds the constant :math:`\log(N / K_m)` to its value (not to the
    gradients); this function returns PCL's value without it. :math:`z` is
    L2-normalised here (MEOW passes normalised embeddings); the prototypes
    are used as given: pass them L2-normalised, as PCL and MEOW do after
    k-means (:func:`kmeans_prototypes` returns them so). PCL's loss adds the instance
    InfoNCE term; MEOW's total is :math:`\mathcal{L}_{info} +
    \lambda_{proto} \mathcal{L}`, composed by the method. Computed in row
    blocks under gradient checkpointing: memory :math:`O(K \cdot
    \text{block})`.

    Args:
        z (torch.Tensor): Embeddings, ``[N, d]``.
        labels (torch.Tensor or sequence): Cluster of every node, ``[N]``
            per clustering.
        centroids (torch.Tensor or sequence): Prototypes :math:`\mu^m`,
            ``[K_m, d]`` per clustering, used as given (normally
            L2-normalised). Not differentiated.
        density (torch.Tensor or sequence): Positive :math:`\phi^m`,
            ``[K_m]`` per clustering. Not differentiated.
        block_size (int, optional): Rows per block. (default: :obj:`None`,
            256 rows)

    Returns:
        torch.Tensor: The scalar loss.
    """
    if not isinstance(z, Tensor) or z.dim() != 2 or z.size(0) < 1:
        shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise ValueError(f"proto_nce expects embeddings [N, d], got {shape}")
    labels_l = _as_list(labels, "labels")
    cent_l = _as_list(centroids, "centroids")
    dens_l = _as_list(density, "density")
    if not len(labels_l) == len(cent_l) == len(dens_l):
        raise ValueError(
            f"labels, centroids and density must hold the same number of "
            f"clusterings, got {len(labels_l)}, {len(cent_l)} and {len(dens_l)}")
    n = z.size(0)
    block = _block(n, block_size)
    u = F.normalize(z, dim=1)
    total = z.new_zeros(())
    for lab, cen, phi in zip(labels_l, cent_l, dens_l):
        if not isinstance(cen, Tensor) or cen.dim() != 2 or cen.size(1) != z.size(1):
            raise ValueError(
                f"centroids must be [K, {z.size(1)}], got "
                f"{_shape(cen)}")
        k = cen.size(0)
        lab = _check_labels(lab, n, k).to(z.device)
        if not isinstance(phi, Tensor) or phi.shape != (k,):
            raise ValueError(
                f"density must have shape [K] = [{k}], got {_shape(phi)}")
        if not (torch.isfinite(phi).all() and (phi > 0).all()):
            raise ValueError("density must be finite and positive")
        mu = cen.detach().to(z.device, z.dtype)
        phi = phi.detach().to(z.device, z.dtype)

        def rows_lse(s: int, e: int, mu=mu, phi=phi) -> Tensor:
            return torch.logsumexp((u[s:e] @ mu.t()) / phi, dim=1)

        lse = _rows_checkpointed(rows_lse, n, block)
        pos = (u * mu[lab]).sum(dim=1) / phi[lab]
        total = total + (lse - pos).mean()
    return total / len(labels_l)


def kmeans_prototypes(
    x: Tensor,
    num_clusters: Sequence[int],
    tau: float,
    seed: int = 0,
    niter: int = 20,
    nredo: int = 5,
    max_points_per_centroid: int = 4000,
    min_points_per_centroid: int = 5,
    alpha: float = 5.0,
) -> Prototypes:
    r"""MEOW's repeated k-means with prototypes and PCL densities.

    MEOW's ``run_kmeans`` (``code_meow/module/cluster.py``), on faiss-cpu:
    for the :math:`m`-th entry :math:`K_m` of ``num_clusters``, a
    ``faiss.Clustering`` (``niter``, ``nredo``, seed ``seed + m``, the
    point-per-centroid bounds) trained with an inner-product index
    (``IndexFlatIP``; the official code uses its GPU twin), then every
    point is assigned to its highest-scoring centroid by a search of that
    index. The densities come from :func:`pcl_density` (``metric="ip"``)
    on the raw centroids, which are L2-normalised afterwards. The official
    seeds are :math:`0, 1, \dots` in every epoch (``seed=0``).

    Needs faiss (``pip install faiss-cpu``), imported lazily.

    Args:
        x (torch.Tensor): Points to cluster (MEOW: the projected fine view,
            detached), ``[N, d]``.
        num_clusters (sequence of int): :math:`K_m` of every clustering.
        tau (float): Mean density (the temperature).
        seed (int, optional): Seed of the first clustering. (default:
            :obj:`0`)
        niter (int, optional): Lloyd iterations. (default: :obj:`20`)
        nredo (int, optional): Restarts, best objective kept. (default:
            :obj:`5`)
        max_points_per_centroid (int, optional): faiss's sampling bound.
            (default: :obj:`4000`)
        min_points_per_centroid (int, optional): faiss's warning bound.
            (default: :obj:`5`)
        alpha (float, optional): Density smoothing. (default: :obj:`5.0`)

    Returns:
        Prototypes: labels, normalised centroids and densities, on the
        device of ``x`` (centroids and densities in its dtype).
    """
    try:
        import faiss
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "kmeans_prototypes needs faiss: pip install faiss-cpu") from err
    if not isinstance(x, Tensor) or x.dim() != 2:
        raise ValueError("kmeans_prototypes expects points [N, d]")
    n, d = x.shape
    ks = [int(k) for k in num_clusters]
    if not ks or any(k < 1 or k > n for k in ks):
        raise ValueError(f"each number of clusters must be in [1, N={n}], got {ks}")
    if not torch.isfinite(x).all():
        raise ValueError("kmeans_prototypes got NaN or infinite points")
    pts = np.ascontiguousarray(x.detach().cpu().float().numpy())
    out = Prototypes([], [], [])
    for m, k in enumerate(ks):
        clus = faiss.Clustering(d, k)
        clus.verbose = False
        clus.niter = niter
        clus.nredo = nredo
        clus.seed = seed + m
        clus.max_points_per_centroid = max_points_per_centroid
        clus.min_points_per_centroid = min_points_per_centroid
        index = faiss.IndexFlatIP(d)
        clus.train(pts, index)
        _, assign = index.search(pts, 1)
        cent = torch.from_numpy(faiss.vector_to_array(clus.centroids).reshape(k, d))
        labels = torch.from_numpy(assign[:, 0].astype(np.int64)).to(x.device)
        cent = cent.to(x.device, x.dtype)
        # The search's scores are x . c of the float32 points (as in faiss).
        density = pcl_density(x.detach().float(), labels, cent.float(), tau, alpha,
                              "ip").to(x.dtype)
        out.labels.append(labels)
        out.centroids.append(F.normalize(cent, dim=1))
        out.density.append(density)
    return out


class ProtoNCE(torch.nn.Module):
    r"""Module form of :func:`proto_nce` (PCL's ProtoNCE as in MEOW).

    Args:
        block_size (int, optional): Rows per block. (default: :obj:`None`)
    """

    def __init__(self, block_size: Optional[int] = None):
        super().__init__()
        self.block_size = block_size

    def forward(self, z: Tensor, labels, centroids, density) -> Tensor:
        """Returns the ProtoNCE loss of ``z`` for the given clusterings."""
        return proto_nce(z, labels, centroids, density, self.block_size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"

