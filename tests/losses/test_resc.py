import math

import pytest
import torch
import torch.nn.functional as F

from gcl.losses import ReSC, community_centers, info_nce, resc_loss, resc_loss_per_node


def loop_resc(h1, h2, r1, r2, tau, similarity, gamma):
    """gCooL's community_contrast, one node and one community at a time."""
    n, k = r1.shape
    idx1, idx2 = r1.argmax(1).tolist(), r2.argmax(1).tolist()

    def centres(h, idx):
        out = []
        for c in range(k):
            members = [h[i] for i in range(n) if idx[i] == c]
            out.append(sum(members) / len(members) if members
                       else torch.zeros(h.size(1), dtype=h.dtype))
        return [c.detach() for c in out]

    def s(a, c):
        if similarity == "cos":
            return torch.exp(a @ c / tau)
        return torch.exp(-((a - c) ** 2).sum() / tau ** 2)

    def w(cs, a, b):
        if similarity == "cos":
            return 1.0
        return math.exp(-gamma * float(((cs[a] - cs[b]) ** 2).sum()))

    c1, c2 = centres(h1, idx1), centres(h2, idx2)
    total = 0.0
    for i in range(n):
        for h, cs, idx in ((h1, c2, idx2), (h2, c1, idx1)):
            pos = s(h[i], cs[idx[i]])
            den = pos + sum(w(cs, idx[i], c) * s(h[i], cs[c])
                            for c in range(k) if c != idx[i])
            total = total + 0.5 * (-torch.log(pos) + torch.log(den))
    return total / n


def case(n=25, d=6, k=4, seed=0, empty=False):
    g = torch.Generator().manual_seed(seed)
    h1 = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    h2 = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    r1 = torch.softmax(torch.randn(n, k, generator=g, dtype=torch.float64), 1)
    r2 = torch.softmax(torch.randn(n, k, generator=g, dtype=torch.float64), 1)
    if empty:  # nobody in community k - 1 of view 2
        r2[:, -1] = 0
    return h1, h2, r1, r2


@pytest.mark.parametrize("similarity,gamma", [("cos", 0.0), ("rbf", 8e-5),
                                              ("rbf", 0.7)])
@pytest.mark.parametrize("empty", [False, True])
def test_matches_loop_reference_value_and_gradient(similarity, gamma, empty):
    for seed in range(2):
        h1, h2, r1, r2 = case(seed=seed, empty=empty)
        a1, a2 = h1.clone().requires_grad_(), h2.clone().requires_grad_()
        ours = resc_loss(a1, a2, r1, r2, 0.4, similarity, gamma)
        ours.backward()
        b1, b2 = h1.clone().requires_grad_(), h2.clone().requires_grad_()
        ref = loop_resc(b1, b2, r1, r2, 0.4, similarity, gamma)
        ref.backward()
        assert ours.item() == pytest.approx(ref.item(), rel=1e-10)
        assert torch.allclose(a1.grad, b1.grad, rtol=1e-8, atol=1e-12)
        assert torch.allclose(a2.grad, b2.grad, rtol=1e-8, atol=1e-12)


def test_hard_assignments_centres_and_module():
    h1, h2, r1, r2 = case(seed=3)
    k1, k2 = r1.argmax(1), r2.argmax(1)
    ref = resc_loss(h1, h2, r1, r2, 0.5)
    assert torch.allclose(resc_loss(h1, h2, k1, k2, 0.5, num_communities=4), ref)
    l12, l21 = resc_loss_per_node(h1, h2, r1, r2, 0.5)
    assert torch.allclose(0.5 * (l12 + l21).mean(), ref)
    c = community_centers(h1, torch.tensor([0] * 10 + [2] * 15), 3)
    assert torch.allclose(c[0], h1[:10].mean(0)) and torch.all(c[1] == 0)
    m = ReSC(tau=0.5, similarity="RBF", gamma=1e-3)
    assert torch.allclose(m(h1, h2, r1, r2),
                          resc_loss(h1, h2, r1, r2, 0.5, "rbf", 1e-3))
    assert "rbf" in repr(m)


def test_errors():
    h1, h2, r1, r2 = case()
    with pytest.raises(ValueError, match="similarity"):
        resc_loss(h1, h2, r1, r2, similarity="dot")
    with pytest.raises(ValueError, match="num_communities"):
        resc_loss(h1, h2, r1.argmax(1), r2.argmax(1))
    with pytest.raises(ValueError, match="same shape"):
        resc_loss(h1, h2[:3], r1, r2)
    with pytest.raises(ValueError, match="rows"):
        resc_loss(h1, h2, r1[:3], r2)
    with pytest.raises(ValueError, match="outside"):
        resc_loss(h1, h2, r1.argmax(1) + 10, r2.argmax(1), num_communities=4)
    for bad in (0, float("inf")):
        with pytest.raises(ValueError, match="tau must be a positive number"):
            resc_loss(h1, h2, r1, r2, tau=bad)


def official_node_contrast(h1, h2, tau):
    # gCooL.node_contrast: s21 = s12 (not transposed), so both halves agree.
    s12 = torch.exp(h1 @ h2.t() / tau)
    s21 = s12
    loss12 = -torch.log(s12.diag()) + torch.log(s12.sum(1))
    loss21 = -torch.log(s21.diag()) + torch.log(s21.sum(1))
    return ((loss12 + loss21) / 2).mean()


def test_gcool_node_term_is_info_nce_inter_view():
    # gCooL's projection ends with F.normalize; info_nce normalises again,
    # which changes neither the value nor the gradient w.r.t. the raw output.
    h1, h2, _, _ = case(n=40, seed=5)
    raw1, raw2 = 2.0 * h1, 3.0 * h2 + 0.1
    a1, a2 = raw1.clone().requires_grad_(), raw2.clone().requires_grad_()
    ours = info_nce(F.normalize(a1), F.normalize(a2), 0.3, intra_view=False,
                    symmetric=False, block_size=7)
    ours.backward()
    b1, b2 = raw1.clone().requires_grad_(), raw2.clone().requires_grad_()
    ref = official_node_contrast(F.normalize(b1), F.normalize(b2), 0.3)
    ref.backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-10)
    assert torch.allclose(a1.grad, b1.grad, atol=1e-10)
    assert torch.allclose(a2.grad, b2.grad, atol=1e-10)
    # The symmetric fix transposes for the view-2 anchors.
    s = torch.exp(h1 @ h2.t() / 0.3)
    l21 = -torch.log(s.diag()) + torch.log(s.t().sum(1))
    l12 = -torch.log(s.diag()) + torch.log(s.sum(1))
    sym = info_nce(h1, h2, 0.3, intra_view=False, symmetric=True)
    assert sym.item() == pytest.approx(0.5 * (l12.mean() + l21.mean()).item(),
                                       rel=1e-10)
