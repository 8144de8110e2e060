"""Plots: loss curves and 2-D embedding scatters (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np
from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

__all__ = ["plot_embedding", "plot_loss", "project_2d"]


def _pyplot():
    import matplotlib

    if "inline" not in matplotlib.get_backend().lower():
        matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    return plt


def plot_loss(history, path: Union[str, Path, None] = None,
              title: Optional[str] = None) -> matplotlib.figure.Figure:
    """Plots the training loss per epoch.

    Args:
        history (History or Sequence[float]): A :class:`gcl.History` or the
            losses.
        path (str or Path, optional): Save the figure there (PNG by suffix).
        title (str, optional): Figure title.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    plt = _pyplot()
    losses = history.loss if hasattr(history, "loss") else list(history)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, len(losses) + 1), losses, lw=1.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=130)
        plt.close(fig)
    return fig


def project_2d(z: Tensor, method: str = "tsne", seed: int = 0,
               max_points: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Projects embeddings to 2-D with scikit-learn's t-SNE (or PCA).

    Returns the 2-D points and the indices of the rows used (a seeded sample
    when ``max_points`` is smaller than :math:`N`).
    """
    z = z.detach().cpu().float().numpy() if isinstance(z, Tensor) else np.asarray(z)
    idx = np.arange(len(z))
    if max_points is not None and len(z) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(len(z), max_points,
                                                         replace=False))
    if method == "tsne":
        from sklearn.manifold import TSNE

        pts = TSNE(n_components=2, init="pca", random_state=seed,
                   perplexity=min(30.0, (len(idx) - 1) / 3)).fit_transform(z[idx])
    elif method == "pca":
        from sklearn.decomposition import PCA

        pts = PCA(n_components=2, random_state=seed).fit_transform(z[idx])
    else:
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    return pts, idx


def plot_embedding(z: Tensor, y: Optional[Tensor] = None,
                   path: Union[str, Path, None] = None, method: str = "tsne",
                   title: Optional[str] = None, seed: int = 0,
                   max_points: Optional[int] = 5000,
                   class_names: Optional[Sequence[str]] = None,
                   ) -> matplotlib.figure.Figure:
    """Scatter of a 2-D projection of ``z`` coloured by label ``y``.

    Args:
        z (torch.Tensor): Embeddings :math:`(N, d)`.
        y (torch.Tensor, optional): Labels :math:`(N)`.
        path (str or Path, optional): Save the figure there.
        method (str, optional): ``"tsne"`` or ``"pca"``. (default: ``"tsne"``)
        title (str, optional): Figure title.
        seed (int, optional): Seed of the projection and sampling.
        max_points (int, optional): Plot a seeded sample of at most this
            many nodes. (default: :obj:`5000`)
        class_names (Sequence[str], optional): Legend labels per class.

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    plt = _pyplot()
    pts, idx = project_2d(z, method, seed, max_points)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if y is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.7)
    else:
        labels = (y.cpu().numpy() if isinstance(y, Tensor) else np.asarray(y))[idx]
        cmap = plt.get_cmap("tab10" if labels.max() < 10 else "tab20")
        for c in np.unique(labels):
            sel = labels == c
            name = class_names[c] if class_names is not None else str(c)
            ax.scatter(pts[sel, 0], pts[sel, 1], s=4, alpha=0.75,
                       color=cmap(int(c) % cmap.N), label=name)
        ax.legend(markerscale=3, fontsize=7, loc="best", frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{method.upper()} of the embeddings")
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=130)
        plt.close(fig)
    return fig
