import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gcl.losses import ProtoNCE, kmeans_prototypes, pcl_density, proto_nce


def proto_dense(z, labels, centroids, density):
    """MEOW's ProtoNCE (code_meow/module/contrast.py) written densely.

    The official denominator is the mean over the K prototypes times N (not
    K), which adds the constant log(N / K) per clustering; it is taken off
    here, leaving PCL's softmax over prototypes (same gradients).
    """
    z = F.normalize(z, dim=1)
    n = z.size(0)
    loss = 0.0
    for lab, cen, phi in zip(labels, centroids, density):
        pos = torch.exp((z * cen[lab]).sum(1) / phi[lab])
        neg = torch.exp(z @ cen.t() / phi).mean(1) * n
        loss = loss + (-torch.log(pos / neg)).mean() - np.log(n / cen.size(0))
    return loss / len(labels)


def density_reference(x, labels, centroids, tau, alpha=5.0, metric="ip"):
    """MEOW's run_kmeans density, node by node, with numpy."""
    x, c = x.double().numpy(), centroids.double().numpy()
    k = c.shape[0]
    dcluster = [[] for _ in range(k)]
    for i, lab in enumerate(labels.tolist()):
        if metric == "ip":
            dist = max(float(x[i] @ c[lab]), 0.0)
        else:
            dist = float(((x[i] - c[lab]) ** 2).sum())
        dcluster[lab].append(dist)
    density = np.zeros(k)
    for i, dist in enumerate(dcluster):
        if len(dist) > 1:
            density[i] = (np.asarray(dist) ** 0.5).mean() / np.log(len(dist) + alpha)
    dmax = density.max()
    for i, dist in enumerate(dcluster):
        if len(dist) <= 1:
            density[i] = dmax
    density = density.clip(np.percentile(density, 10), np.percentile(density, 90))
    return torch.from_numpy(tau * density / density.mean())


def make(n=31, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    labels, cents, dens = [], [], []
    for k in (3, 8):
        lab = torch.randint(0, k, (n,), generator=g)
        labels.append(lab)
        # Prototypes are used as given: not normalised here on purpose.
        cents.append(torch.randn(k, d, generator=g, dtype=torch.float64))
        dens.append(0.2 + torch.rand(k, generator=g, dtype=torch.float64))
    return z, labels, cents, dens


@pytest.mark.parametrize("block", [1, 3, 31, None])
def test_matches_dense_value_and_gradient(block):
    z, labels, cents, dens = make()
    ref = proto_dense(z, labels, cents, dens)
    out = proto_nce(z, labels, cents, dens, block_size=block)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0)
    ga = torch.autograd.grad(out, z)[0]
    gb = torch.autograd.grad(ref, z)[0]
    assert torch.allclose(ga, gb, atol=1e-12, rtol=0)


def test_single_clustering_tensors_and_gradcheck():
    z, labels, cents, dens = make(n=7, d=3, seed=1)
    out = proto_nce(z, labels[0], cents[0], dens[0])
    ref = proto_dense(z, labels[:1], cents[:1], dens[:1])
    assert torch.allclose(out, ref, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda a: proto_nce(a, labels, cents, dens, block_size=2), (z,))


@pytest.mark.parametrize("metric,alpha", [("ip", 5.0), ("l2", 10.0)])
def test_density_matches_meow_loop(metric, alpha):
    g = torch.Generator().manual_seed(2)
    x = F.normalize(torch.randn(60, 4, generator=g, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 12, (60,), generator=g)
    labels[labels == 11] = 10  # cluster 11 empty
    labels[0] = 11  # ... then a singleton
    centroids = torch.randn(12, 4, generator=g, dtype=torch.float64)
    for k in range(12):  # mean centroids, as k-means leaves them
        if (labels == k).any():
            centroids[k] = x[labels == k].mean(0)
    out = pcl_density(x, labels, centroids, 0.4, alpha, metric)
    ref = density_reference(x, labels, centroids, 0.4, alpha, metric)
    assert torch.allclose(out, ref, atol=1e-12)
    assert abs(out.mean().item() - 0.4) < 1e-12


def test_kmeans_prototypes_meow_style():
    pytest.importorskip("faiss")
    g = torch.Generator().manual_seed(3)
    centers = F.normalize(torch.randn(4, 8, generator=g), dim=1)
    x = F.normalize(centers.repeat_interleave(25, 0)
                    + 0.1 * torch.randn(100, 8, generator=g), dim=1)
    res = kmeans_prototypes(x, [4, 10], tau=0.5, min_points_per_centroid=1)
    again = kmeans_prototypes(x, [4, 10], tau=0.5, min_points_per_centroid=1)
    assert [c.shape for c in res.centroids] == [(4, 8), (10, 8)]
    for lab, cen, dens, lab2 in zip(res.labels, res.centroids, res.density,
                                    again.labels):
        assert torch.equal(lab, lab2)  # seeded
        assert torch.allclose(cen.norm(dim=1), torch.ones(len(cen)))
        # Labels are the highest inner product with the (raw) centroids, and
        # the normalised centroids keep their directions.
        assert torch.equal(lab, (x @ cen.t()).argmax(1))
        assert abs(dens.mean().item() - 0.5) < 1e-5
    # The 4-cluster run recovers the planted clusters.
    first = res.labels[0].view(4, 25)
    assert all(len(set(row.tolist())) == 1 for row in first)
    loss = proto_nce(x, res.labels, res.centroids, res.density)
    assert torch.isfinite(loss)


def test_module():
    z, labels, cents, dens = make(seed=4)
    mod = ProtoNCE(block_size=4)
    ref = proto_dense(z, labels, cents, dens)
    assert torch.allclose(mod(z, labels, cents, dens), ref)
    assert repr(mod) == "ProtoNCE()"


def test_invalid_input():
    z, labels, cents, dens = make(n=6, seed=5)
    with pytest.raises(ValueError, match="same number"):
        proto_nce(z, labels, cents[:1], dens)
    with pytest.raises(ValueError, match="out of range"):
        proto_nce(z, [labels[0] + 5], cents[:1], dens[:1])
    with pytest.raises(ValueError, match=r"shape \[N\]"):
        proto_nce(z, [labels[0][:3]], cents[:1], dens[:1])
    with pytest.raises(ValueError, match="positive"):
        proto_nce(z, labels[:1], cents[:1], [-dens[0]])
    with pytest.raises(ValueError, match=r"shape \[K\]"):
        proto_nce(z, labels[:1], cents[:1], [dens[1]])
    with pytest.raises(ValueError, match="centroids"):
        proto_nce(z, labels[:1], [cents[0][:, :2]], dens[:1])
    with pytest.raises(ValueError, match="at least one"):
        proto_nce(z, [], [], [])
    with pytest.raises(ValueError, match="metric"):
        pcl_density(z, labels[0], cents[0], 0.5, metric="cos")
    with pytest.raises(ValueError, match="concentration 0"):
        pcl_density(torch.ones(4, 2), torch.tensor([0, 0, 1, 1]), torch.ones(2, 2),
                    0.5, metric="l2")
    pytest.importorskip("faiss")
    with pytest.raises(ValueError, match="clusters"):
        kmeans_prototypes(z, [7], 0.5)
