import matplotlib
import pytest
import torch

from gcl.viz import plot_comparison, plot_embedding, plot_loss, project_2d

matplotlib.use("Agg")


def test_plot_loss_and_embedding_write_pngs(tmp_path):
    plot_loss([3.0, 2.0, 1.5], tmp_path / "loss.png", title="t")
    z = torch.randn(60, 8)
    y = torch.arange(60) % 3
    fig = plot_embedding(z, y, tmp_path / "tsne.png", method="pca")
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert (tmp_path / "tsne.png").stat().st_size > 1000
    assert fig is not None


def test_project_2d_sampling_and_errors():
    z = torch.randn(50, 4)
    pts, idx = project_2d(z, "pca", max_points=20)
    assert pts.shape == (20, 2) and len(set(idx.tolist())) == 20
    with pytest.raises(ValueError, match="tsne"):
        project_2d(z, "umap")


def test_plot_comparison_bars(tmp_path):
    res = {"grace": {"Cora": {"mean": 82.7, "std": 0.5, "paper": 83.3,
                              "paper_std": 0.4},
                     "CiteSeer": {"mean": 71.8, "std": 0.3, "paper": 72.1}}}
    fig = plot_comparison(res, tmp_path / "bars.png")
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 1) for p in ax.patches)
    assert heights == [71.8, 72.1, 82.7, 83.3]
    assert (tmp_path / "bars.png").exists()
