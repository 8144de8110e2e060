"""Plots: loss curves and 2-D embedding scatters (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np
from torch import Tensor

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

__all__ = ["plot_comparison", "plot_embedding", "plot_loss", "project_2d"]


def _pyplot():
    import matplotlib

    if "inline" not in matplotlib.get_backend().lower():
        matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    return plt


def _finish(plt, fig, path):
    """Lays out ``fig`` and, with a ``path``, saves it there and closes it."""
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=130)
        plt.close(fig)
    return fig


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
    return _finish(plt, fig, path)


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
    return _finish(plt, fig, path)


def plot_comparison(results: Mapping[str, Mapping[str, Mapping[str, float]]],
                    path: Union[str, Path, None] = None,
                    metric: str = "accuracy (%)", title: Optional[str] = None,
                    show_paper: bool = True) -> matplotlib.figure.Figure:
    """Grouped bar chart comparing methods on datasets, with error bars.

    Args:
        results (Mapping): ``{method: {dataset: {"mean", "std"[, "paper",
            "paper_std"]}}}``, e.g. from :func:`gcl.app.bench.summarize`.
        path (str or Path, optional): Save the figure there.
        metric (str, optional): y-axis label.
        title (str, optional): Figure title.
        show_paper (bool, optional): Add a hatched bar for each published
            value present. (default: :obj:`True`)

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    plt = _pyplot()
    datasets = sorted({d for per in results.values() for d in per})
    series = []  # (label, means, stds, hatch)
    for method, per in results.items():
        series.append((method, [per.get(d, {}).get("mean", np.nan)
                                for d in datasets],
                       [per.get(d, {}).get("std", 0.0) or 0.0 for d in datasets],
                       None))
        if show_paper:
            paper = [per.get(d, {}).get("paper") for d in datasets]
            if any(p is not None for p in paper):
                series.append((f"{method} (paper)",
                               [np.nan if p is None else p for p in paper],
                               [per.get(d, {}).get("paper_std") or 0.0
                                for d in datasets], "//"))
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(datasets), 3.6))
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(datasets))
    for i, (label, means, stds, hatch) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, means, width,
               yerr=stds, capsize=2, label=label, hatch=hatch,
               alpha=0.6 if hatch else 0.9)
    ax.set_xticks(x, datasets)
    ax.set_ylabel(metric)
    finite = [m for _, ms, _, _ in series for m in ms if np.isfinite(m)]
    if finite:
        ax.set_ylim(max(0.0, min(finite) - 10), min(100.0, max(finite) + 5))
    ax.legend(fontsize=7, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    return _finish(plt, fig, path)
