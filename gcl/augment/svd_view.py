r"""LightGCL's global view: propagation through a truncated SVD of the
user-item matrix.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from gcl._sparse import quiet_sparse

__all__ = ["SVD_ADJACENCIES", "SVDView"]

#: Which matrix :class:`SVDView` factorises: LightGCL's current code
#: decomposes the normalised :math:`\tilde R`, its old setting (the paper's
#: tables) the raw binary :math:`R`.
SVD_ADJACENCIES = ("normalized", "raw")


class SVDView(torch.nn.Module):
    r"""The SVD-reconstructed graph view of `"LightGCL: Simple Yet Effective
    Graph Contrastive Learning for Recommendation"
    <https://arxiv.org/abs/2302.08191>`_ (Cai et al., ICLR 2023).

    Once (:meth:`fit`), a rank-:math:`q` randomised SVD (Halko et al.;
    :func:`torch.svd_lowrank`) of the user-item matrix :math:`A`,

    .. math::
        A \approx \hat A = U_q S_q V_q^\top,

    with :math:`A = \tilde R = D_u^{-1/2} R D_i^{-1/2}` (``"normalized"``,
    LightGCL's current ``main.py``) or the binary :math:`R` (``"raw"``,
    ``old_setting/main.py``, which produced the paper's tables). The factors
    are cached as buffers (they follow the module to a device and are
    computed again only by another :meth:`fit`). The view propagates
    embeddings through :math:`\hat A` without forming it:

    .. math::
        G_u = U_q S_q (V_q^\top E_i), \qquad G_i = V_q S_q (U_q^\top E_u),

    :math:`O(q (U + I) d)` per product instead of :math:`O(U I d)`.

    Unlike the ``Data -> Data`` augmentors, this view acts on embeddings (a
    propagation operator): LightGCL contrasts :math:`G^{(l)} = \hat A
    E^{(l-1)}` with the graph view layer by layer.

    The SVD draws its random start from torch's RNG (``niter`` power
    iterations), so a seeded run repeats it; the official code sets no seed.

    Args:
        q (int, optional): Rank :math:`q`. (default: :obj:`5`)
        adjacency (str, optional): ``"normalized"`` or ``"raw"``.
            (default: :obj:`"normalized"`)
        niter (int, optional): Power iterations of
            :func:`torch.svd_lowrank` (its default). (default: :obj:`2`)
    """

    def __init__(self, q: int = 5, adjacency: str = "normalized", niter: int = 2):
        super().__init__()
        if int(q) < 1:
            raise ValueError(f"SVD rank q must be >= 1, got {q}")
        if adjacency not in SVD_ADJACENCIES:
            raise ValueError(f"adjacency must be one of {SVD_ADJACENCIES}, got "
                             f"{adjacency!r}")
        self.q, self.adjacency, self.niter = int(q), adjacency, int(niter)
        for name in ("u_", "s_", "v_"):
            self.register_buffer(name, None, persistent=False)
        self.svd_seconds_: Optional[float] = None

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(q={self.q}, "
                f"adjacency={self.adjacency!r})")

    def reset_parameters(self) -> None:
        """Forgets the factors."""
        self.u_ = self.s_ = self.v_ = None

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` has run."""
        return self.u_ is not None

    def fit(self, data_or_matrix: Union[Tensor, object]) -> SVDView:
        r"""Computes and caches :math:`U_q, S_q, V_q`.

        Args:
            data_or_matrix: A :class:`~gcl.datasets.InteractionData` (its
                training interactions, normalised as ``adjacency`` says) or
                a sparse/dense ``[U, I]`` matrix used as it is.
        """
        import time

        if isinstance(data_or_matrix, Tensor):
            mat = data_or_matrix
        elif hasattr(data_or_matrix, "biadjacency"):
            norm = "sym" if self.adjacency == "normalized" else None
            mat = data_or_matrix.biadjacency(norm)
        else:
            raise ValueError(f"SVDView.fit takes InteractionData or a [U, I] "
                             f"matrix, got {type(data_or_matrix).__name__}")
        if mat.dim() != 2:
            raise ValueError(f"expected a [U, I] matrix, got shape {tuple(mat.shape)}")
        if mat.layout == torch.sparse_csr:
            mat = mat.to_sparse_coo()
        if mat.is_sparse:
            mat = mat.coalesce()
        if self.q > min(mat.shape):
            raise ValueError(f"SVD rank q={self.q} exceeds min(U, I) = "
                             f"{min(mat.shape)}")
        t0 = time.perf_counter()
        with quiet_sparse():
            u, s, v = torch.svd_lowrank(mat, q=self.q, niter=self.niter)
        self.svd_seconds_ = time.perf_counter() - t0
        self.u_, self.s_, self.v_ = u, s, v
        return self

    def _factors(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        if self.u_ is None:
            raise RuntimeError("SVDView needs fit(data) before propagating")
        return self.u_.to(dtype), self.s_.to(dtype), self.v_.to(dtype)

    def propagate_users(self, item_emb: Tensor) -> Tensor:
        r""":math:`U_q S_q (V_q^\top E_i)`, ``[U, d]``."""
        u, s, v = self._factors(item_emb.dtype)
        return (u * s) @ (v.t() @ item_emb)

    def propagate_items(self, user_emb: Tensor) -> Tensor:
        r""":math:`V_q S_q (U_q^\top E_u)`, ``[I, d]``."""
        u, s, v = self._factors(user_emb.dtype)
        return (v * s) @ (u.t() @ user_emb)

    def forward(self, user_emb: Tensor, item_emb: Tensor) -> tuple[Tensor, Tensor]:
        r"""One propagation of both sides: :math:`(\hat A E_i, \hat A^\top
        E_u)`.
        """
        return self.propagate_users(item_emb), self.propagate_items(user_emb)
