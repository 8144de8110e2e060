"""The Student-t cluster head of DEC, SDCN, SCGC and PamC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["ClusterHead"]

KMeansFn = Callable[[Tensor, int], Union[Tensor, tuple[Tensor, Tensor]]]


class ClusterHead(torch.nn.Module):
    r"""Learnable cluster centres and the Student-t soft assignment.

    From `"Unsupervised Deep Embedding for Clustering Analysis"
    <https://arxiv.org/abs/1511.06335>`_ (DEC, Xie et al., ICML 2016), as
    used by `"Structural Deep Clustering Network"
    <https://arxiv.org/abs/2002.01633>`_ (SDCN), SCGC and PamC. With centres
    :math:`\mu_k` and :math:`\nu` degrees of freedom:

    .. math::
        q_{ik} = \frac{(1 + \lVert z_i - \mu_k \rVert^2 / \nu)^{-\frac{\nu +
        1}{2}}}{\sum_{k'} (1 + \lVert z_i - \mu_{k'} \rVert^2 /
        \nu)^{-\frac{\nu + 1}{2}}}, \qquad
        p_{ik} = \frac{q_{ik}^2 / f_k}{\sum_{k'} q_{ik'}^2 / f_{k'}}, \quad
        f_k = \sum_i q_{ik},

    and the self-training loss :math:`\mathrm{KL}(P \,\Vert\, Q) =
    \frac{1}{N} \sum_{i,k} p_{ik} \log (p_{ik} / q_{ik})`
    (:meth:`kl_loss`). SDCN and PamC recompute :math:`P` (detached) every
    epoch from a separate forward pass. The squared distances are expanded
    as :math:`\lVert z \rVert^2 + \lVert \mu \rVert^2 - 2 z^\top \mu`, so
    memory is :math:`O(N K)`.

    Args:
        num_clusters (int): Number of clusters :math:`K`.
        in_channels (int): Embedding size :math:`d`.
        v (float, optional): Degrees of freedom :math:`\nu`.
            (default: :obj:`1.0`)

    Shapes:
        - **input:** embeddings :math:`(N, d)`
        - **output:** soft assignments :math:`(N, K)`, rows summing to 1
    """

    def __init__(self, num_clusters: int, in_channels: int, v: float = 1.0):
        super().__init__()
        if num_clusters < 1 or in_channels < 1:
            raise ValueError(f"num_clusters and in_channels must be positive, "
                             f"got {num_clusters} and {in_channels}")
        if not v > 0:
            raise ValueError(f"degrees of freedom v must be positive, got {v}")
        self.num_clusters = int(num_clusters)
        self.in_channels = int(in_channels)
        self.v = float(v)
        self.centers = torch.nn.Parameter(torch.empty(num_clusters, in_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draws the centres with Xavier-normal initialisation (SDCN's,
        before :meth:`init_centers` overwrites them).
        """
        torch.nn.init.xavier_normal_(self.centers)

    def forward(self, z: Tensor) -> Tensor:
        """Returns the soft assignments :math:`Q`, ``[N, K]``."""
        if z.dim() != 2 or z.size(1) != self.in_channels:
            raise ValueError(f"z must have shape [N, {self.in_channels}], got "
                             f"{tuple(z.shape)}")
        mu = self.centers
        d2 = ((z * z).sum(1, keepdim=True) + (mu * mu).sum(1)[None, :]
              - 2.0 * z @ mu.t()).clamp_min(0.0)
        q = (1.0 + d2 / self.v).pow(-(self.v + 1.0) / 2.0)
        return q / q.sum(dim=1, keepdim=True)

    @staticmethod
    def target_distribution(q: Tensor) -> Tensor:
        r"""DEC's target :math:`p_{ik} \propto q_{ik}^2 / f_k`, rows
        normalised; computed from ``q`` as given (detach it first, as SDCN
        does by using ``q.data``).

        Args:
            q (torch.Tensor): Soft assignments ``[N, K]``.

        Returns:
            torch.Tensor: :math:`P`, ``[N, K]``.
        """
        w = q.pow(2) / q.sum(dim=0)
        return w / w.sum(dim=1, keepdim=True)

    @staticmethod
    def kl_loss(p: Tensor, q: Tensor) -> Tensor:
        r""":math:`\mathrm{KL}(P \,\Vert\, Q)` averaged over the rows, as
        ``F.kl_div(q.log(), p, reduction='batchmean')`` in SDCN and PamC.

        Args:
            p (torch.Tensor): Target distribution ``[N, K]``.
            q (torch.Tensor): Soft assignments ``[N, K]``.

        Returns:
            torch.Tensor: The scalar loss.
        """
        return F.kl_div(q.log(), p, reduction="batchmean")

    @torch.no_grad()
    def init_centers(self, z: Tensor, kmeans: Optional[KMeansFn] = None,
                     n_init: int = 20, seed: Optional[int] = None) -> Tensor:
        r"""Sets the centres by k-means on ``z`` and returns its clusters.

        By default ``sklearn.cluster.KMeans(n_clusters=K, n_init=20)`` on the
        float32 embeddings, as SDCN and PamC (which take its
        ``cluster_centers_``).

        Args:
            z (torch.Tensor): Embeddings ``[N, d]`` (e.g. of the pre-trained
                autoencoder), :math:`N \geq K`.
            kmeans (callable, optional): Another k-means backend (e.g. faiss):
                called as ``kmeans(z, K)`` with ``z`` detached on the CPU,
                returning the labels ``[N]`` (the centres are then the
                cluster means) or ``(centers [K, d], labels [N])``.
                (default: :obj:`None`, scikit-learn)
            n_init (int, optional): scikit-learn restarts.
                (default: :obj:`20`)
            seed (int, optional): scikit-learn ``random_state``.
                (default: :obj:`None`)

        Returns:
            torch.Tensor: The k-means cluster of every node, ``[N]`` (long).
        """
        if z.dim() != 2 or z.size(1) != self.in_channels:
            raise ValueError(f"z must have shape [N, {self.in_channels}], got "
                             f"{tuple(z.shape)}")
        k = self.num_clusters
        if z.size(0) < k:
            raise ValueError(f"k-means needs at least K = {k} nodes, got "
                             f"{z.size(0)}")
        x = z.detach().cpu()
        if kmeans is None:
            from sklearn.cluster import KMeans

            km = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
            labels = torch.from_numpy(
                km.fit_predict(x.float().numpy()).astype(np.int64))
            centers = torch.from_numpy(km.cluster_centers_)
        else:
            out = kmeans(x, k)
            if isinstance(out, tuple):
                centers, labels = out
                centers = torch.as_tensor(centers)
                labels = torch.as_tensor(labels).long()
            else:
                labels = torch.as_tensor(out).long()
                centers = None
            if labels.shape != (x.size(0),):
                raise ValueError(f"kmeans returned labels of shape "
                                 f"{tuple(labels.shape)}, expected [{x.size(0)}]")
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= k):
                raise ValueError(f"kmeans returned clusters outside 0..{k - 1}")
            if centers is None:
                sums = torch.zeros(k, x.size(1), dtype=torch.float64)
                sums.index_add_(0, labels, x.double())
                counts = torch.bincount(labels, minlength=k).clamp_min(1)
                centers = sums / counts[:, None]
        if centers.shape != (k, self.in_channels):
            raise ValueError(f"kmeans returned centres of shape "
                             f"{tuple(centers.shape)}, expected "
                             f"[{k}, {self.in_channels}]")
        self.centers.copy_(centers.to(self.centers))
        return labels.to(z.device)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.num_clusters}, "
                f"{self.in_channels}, v={self.v})")
