import math

import pytest
import torch

from gcl.nn import ClusterHead


def head_with(centers, v=1.0):
    head = ClusterHead(centers.size(0), centers.size(1), v=v)
    with torch.no_grad():
        head.centers.copy_(centers)
    return head


def test_soft_assignment_target_and_kl_by_hand():
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    head = head_with(torch.tensor([[0.0, 0.0], [2.0, 0.0]])).double()
    q = head(z).detach()
    # Squared distances [[0, 4], [1, 1]]: q0 ∝ [1, 1/5], q1 ∝ [1/2, 1/2].
    expected_q = torch.tensor([[5 / 6, 1 / 6], [0.5, 0.5]], dtype=torch.float64)
    assert torch.allclose(q, expected_q, atol=1e-12)
    # f = [4/3, 2/3]; p0 ∝ [25/48, 2/48], p1 ∝ [3/16, 6/16].
    p = ClusterHead.target_distribution(q)
    expected_p = torch.tensor([[25 / 27, 2 / 27], [1 / 3, 2 / 3]],
                              dtype=torch.float64)
    assert torch.allclose(p, expected_p, atol=1e-12)
    kl = sum(float(p[i, k]) * math.log(float(p[i, k] / q[i, k]))
             for i in range(2) for k in range(2)) / 2
    assert math.isclose(float(ClusterHead.kl_loss(p, q)), kl, rel_tol=1e-12)


def test_degrees_of_freedom_and_brute_force():
    torch.manual_seed(0)
    z = torch.randn(30, 4, dtype=torch.float64)
    for v in (1.0, 2.0, 5.0):
        head = ClusterHead(6, 4, v=v).double()
        diff = z[:, None, :] - head.centers[None, :, :]
        kernel = (1 + diff.pow(2).sum(-1) / v).pow(-(v + 1) / 2)
        ref = kernel / kernel.sum(1, keepdim=True)
        q = head(z)
        assert torch.allclose(q, ref, atol=1e-12)
        assert torch.allclose(q.sum(1), torch.ones(30, dtype=torch.float64))
        g1 = torch.autograd.grad(q[:, 0].sum(), head.centers)[0]
        head2 = ClusterHead(6, 4, v=v).double()
        head2.load_state_dict(head.state_dict())
        diff = z[:, None, :] - head2.centers[None, :, :]
        kernel = (1 + diff.pow(2).sum(-1) / v).pow(-(v + 1) / 2)
        g2 = torch.autograd.grad((kernel / kernel.sum(1, keepdim=True))[:, 0].sum(),
                                 head2.centers)[0]
        assert torch.allclose(g1, g2, atol=1e-10)


def test_kl_matches_official_call_and_repr():
    torch.manual_seed(1)
    head = ClusterHead(3, 5)
    q = head(torch.randn(20, 5))
    p = ClusterHead.target_distribution(q.detach())
    ref = torch.nn.functional.kl_div(q.log(), p, reduction="batchmean")
    assert torch.equal(ClusterHead.kl_loss(p, q), ref)
    assert repr(head) == "ClusterHead(3, 5, v=1.0)"
    with pytest.raises(ValueError, match=r"\[N, 5\]"):
        head(torch.randn(4, 3))
    with pytest.raises(ValueError, match="v"):
        ClusterHead(3, 5, v=0.0)


def blobs(seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = torch.arange(60) % 3
    return means[labels] + 0.1 * torch.randn(60, 2, generator=g), labels, means


def test_init_centers_sklearn():
    z, labels, means = blobs()
    head = ClusterHead(3, 2)
    pred = head.init_centers(z, seed=0)
    assert pred.dtype == torch.long and pred.shape == (60,)
    # Each k-means centre is its blob's mean (up to the order of clusters).
    for k in range(3):
        members = z[pred == k]
        assert torch.allclose(head.centers[k], members.mean(0), atol=1e-4)
        assert torch.cdist(head.centers[k:k + 1], means).min() < 0.1
    assert len({tuple(labels[pred == k].tolist()) for k in range(3)}) == 3
    again = ClusterHead(3, 2)
    again.init_centers(z, seed=0)
    assert torch.equal(again.centers, head.centers)


def test_init_centers_pluggable_backend():
    z, labels, _ = blobs(1)
    head = ClusterHead(3, 2)
    calls = []

    def labels_only(x, k):
        calls.append((x.device.type, x.requires_grad, k))
        return labels.numpy()

    pred = head.init_centers(z.requires_grad_(), kmeans=labels_only)
    assert calls == [("cpu", False, 3)]
    assert torch.equal(pred, labels)
    for k in range(3):
        assert torch.allclose(head.centers[k], z[labels == k].mean(0), atol=1e-6)
    centers = torch.arange(6.0).reshape(3, 2)
    head.init_centers(z, kmeans=lambda x, k: (centers, labels))
    assert torch.equal(head.centers.detach(), centers)
    with pytest.raises(ValueError, match="centres"):
        head.init_centers(z, kmeans=lambda x, k: (centers[:2], labels))
    with pytest.raises(ValueError, match="outside"):
        head.init_centers(z, kmeans=lambda x, k: labels + 1)
    with pytest.raises(ValueError, match="at least"):
        ClusterHead(5, 2).init_centers(z[:4])
