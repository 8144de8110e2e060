r"""The GCA-family linear probe: a torch logistic regression on frozen embeddings.

Used, with small differences, by GCA, CSGCL, gCooL and POT (see
:func:`train_linear_probe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gcl.eval._metrics import batched_classification_metrics
from gcl.eval._validation import check_embeddings, check_labels

__all__ = ["LinearProbe", "ProbeResult", "train_linear_probe"]

_SELECT = ("accuracy", "micro_f1", "macro_f1")


class LinearProbe(nn.Module):
    r"""A bank of :math:`R` independent logistic-regression classifiers.

    Model :math:`r` computes :math:`\mathrm{logits}_r = X_r W_r^\top + b_r`, the
    ``LogReg`` module of the GCA code base (one ``nn.Linear``, Xavier-uniform
    weight, zero bias). Stacking :math:`R` of them lets one full-batch step
    train the classifiers of all runs at once; since the runs' losses are
    summed and Adam acts element-wise, each classifier follows exactly the
    trajectory it would follow alone.

    Args:
        in_channels (int): Embedding size :math:`d`.
        num_classes (int): Number of classes :math:`C`.
        num_models (int, optional): Number of classifiers :math:`R`.
            (default: ``1``)
        generator (torch.Generator, optional): Generator for the initial
            weights. (default: torch's global generator)

    Shapes:
        - **input:** ``[n, d]`` (shared by all models) or ``[R, n, d]``
        - **output:** ``[R, n, C]``
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        num_models: int = 1,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_models = num_models
        self.weight = nn.Parameter(torch.empty(num_models, num_classes, in_channels))
        self.bias = nn.Parameter(torch.empty(num_models, num_classes))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Xavier-uniform weights (drawn model by model) and zero biases.

        Args:
            generator (torch.Generator, optional): Random generator.
                (default: torch's global generator)
        """
        with torch.no_grad():
            for r in range(self.num_models):
                nn.init.xavier_uniform_(self.weight[r], generator=generator)
            self.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        """Logits of every model, ``[R, n, C]``."""
        if x.dim() == 2:
            return torch.matmul(x, self.weight.transpose(1, 2)) + self.bias.unsqueeze(1)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.num_classes}, num_models={self.num_models})")


@dataclass
class ProbeResult:
    """Output of :func:`train_linear_probe`, one entry per split.

    Attributes:
        metrics (list[dict[str, float]]): Test accuracy, micro-F1 and macro-F1
            at the selected epoch.
        best_epoch (list[int]): The selected (1-based) epoch.
        best_val (list[float]): The validation score at that epoch.
        probe (LinearProbe, optional): The classifiers after the last epoch
            (not the selected one), model ``r`` for split ``r``.
    """

    metrics: list[dict[str, float]] = field(default_factory=list)
    best_epoch: list[int] = field(default_factory=list)
    best_val: list[float] = field(default_factory=list)
    probe: LinearProbe | None = None


def train_linear_probe(
    z: Tensor,
    y: Tensor,
    splits: Sequence[tuple[Tensor, Tensor, Tensor]],
    *,
    num_classes: int | None = None,
    epochs: int = 3000,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    eval_every: int = 20,
    select: str = "accuracy",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    num_threads: int | None = 1,
) -> ProbeResult:
    r"""Trains one linear probe per split and scores it at its best validation epoch.

    The evaluator of GCA (``log_regression``), inherited by CSGCL and, with
    the differences noted below, by gCooL and POT: a ``Linear(d, C)`` classifier
    (Xavier init) trained full-batch on the training nodes with Adam
    (``lr=0.01``) and cross-entropy for ``epochs`` epochs. Every
    ``eval_every`` epochs (and after the last one) it is scored on the
    validation and test nodes; the test scores reported are those of the
    first evaluation with the highest validation score (strict improvement,
    so ties keep the earlier epoch). The test nodes are never used to select.

    Code-base differences: GCA/CSGCL/POT use ``weight_decay=0``, 3000 epochs
    and ``eval_every=20`` (GCA/CSGCL select on validation accuracy, POT on
    validation micro-F1, which is the same thing); gCooL uses
    ``weight_decay=1e-5``, 5000 epochs and reports the maximum *test* score
    over epochs, which is test-set selection and is deliberately not offered
    here.

    All splits are trained at once as one batched :class:`LinearProbe`; each
    split still has its own training nodes, its own initial weights (drawn
    from ``generator`` in split order) and its own optimiser state. The
    cross-entropy gradient is computed in closed form,
    :math:`\partial \ell / \partial \mathrm{logits} = (\mathrm{softmax} -
    \mathrm{onehot}) / n_{\mathrm{train}}`, instead of by autograd; it is the
    same gradient, about twice as fast.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]``, used as given.
        y (torch.Tensor): Labels ``[N]`` in ``0..C-1``.
        splits (Sequence[tuple[Tensor, Tensor, Tensor]]): ``(train_idx,
            val_idx, test_idx)`` per run; sizes may differ between runs.
        num_classes (int, optional): :math:`C`. (default: ``y.max() + 1``)
        epochs (int, optional): Training epochs. (default: ``3000``)
        lr (float, optional): Adam learning rate. (default: ``0.01``)
        weight_decay (float, optional): Adam weight decay. (default: ``0.0``)
        eval_every (int, optional): Evaluation period in epochs.
            (default: ``20``)
        select (str, optional): Validation metric used for selection,
            ``"accuracy"``, ``"micro_f1"`` or ``"macro_f1"``.
            (default: ``"accuracy"``)
        generator (torch.Generator, optional): Generator for the initial
            weights. (default: torch's global generator)
        device (torch.device or str, optional): Where to train.
            (default: ``"cpu"``)
        num_threads (int, optional): torch intra-op CPU threads while the
            probe trains, restored afterwards; :obj:`None` keeps torch's
            setting. The probe runs thousands of small operations, where
            thread synchronisation costs more than it saves, and on a busy
            machine waiting for a descheduled thread can make it 50x slower;
            hence 1. (default: ``1``)

    Returns:
        ProbeResult: Test metrics, selected epoch and validation score per
        split.

    Raises:
        ValueError: For malformed or non-finite ``z``, labels that do not fit
            ``z`` or ``num_classes``, or empty, overlapping or out-of-range
            splits.
    """
    if num_threads is None or _on_cuda(device):
        return _train(z, y, splits, num_classes, epochs, lr, weight_decay,
                      eval_every, select, generator, device)
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1 or None, got {num_threads}")
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _train(z, y, splits, num_classes, epochs, lr, weight_decay,
                      eval_every, select, generator, device)
    finally:
        torch.set_num_threads(previous)


def _on_cuda(device: torch.device | str) -> bool:
    return torch.device(device).type == "cuda"


def _train(z, y, splits, num_classes, epochs, lr, weight_decay, eval_every,
           select, generator, device) -> ProbeResult:
    if select not in _SELECT:
        raise ValueError(f"select must be one of {_SELECT}, got {select!r}")
    if epochs < 1 or eval_every < 1:
        raise ValueError(
            f"epochs and eval_every must be >= 1, got {epochs} and {eval_every}")
    if len(splits) == 0:
        raise ValueError("train_linear_probe needs at least one split")
    z = check_embeddings(z).to(device=device, dtype=torch.float32).clone()
    y = check_labels(y, z.size(0), min_classes=1).to(device)
    n, d = z.shape
    c = int(num_classes) if num_classes is not None else int(y.max()) + 1
    if int(y.min()) < 0 or int(y.max()) >= c:
        raise ValueError(f"labels must lie in 0..{c - 1}, got {int(y.min())}.."
                         f"{int(y.max())}")
    r = len(splits)

    sizes = [int(tr.numel()) for tr, _, _ in splits]
    tr_idx = torch.zeros(r, max(sizes), dtype=torch.long, device=device)
    tr_w = torch.zeros(r, max(sizes), device=device)
    val_mask = torch.zeros(r, n, dtype=torch.bool, device=device)
    test_mask = torch.zeros(r, n, dtype=torch.bool, device=device)
    for i, (tr, va, te) in enumerate(splits):
        tr, va, te = (torch.as_tensor(t, device=device).long().view(-1)
                      for t in (tr, va, te))
        if tr.numel() == 0 or va.numel() == 0 or te.numel() == 0:
            raise ValueError(
                f"split {i} has an empty part (train {tr.numel()}, val "
                f"{va.numel()}, test {te.numel()}); the probe needs all three")
        for part in (tr, va, te):
            if int(part.min()) < 0 or int(part.max()) >= n:
                raise ValueError(f"split {i} has node indices outside 0..{n - 1}")
        tr_mask = torch.zeros(n, dtype=torch.bool, device=device)
        tr_mask[tr] = True
        if tr_mask[te].any() or tr_mask[va].any():
            raise ValueError(
                f"split {i}: training nodes also appear in its val/test part")
        tr_idx[i, :tr.numel()] = tr
        tr_w[i, :tr.numel()] = 1.0 / tr.numel()  # per-run mean cross-entropy
        val_mask[i, va] = True
        test_mask[i, te] = True
    # Layouts chosen for speed: logits are [R, C, L] (classes x training nodes).
    x_train = z[tr_idx]  # [R, L, d]
    x_train_t = x_train.transpose(1, 2).contiguous()  # [R, d, L]
    target = F.one_hot(y[tr_idx], c).transpose(1, 2).to(z.dtype)  # [R, C, L]
    scale = tr_w.unsqueeze(1)  # [R, 1, L]: 1/n_r on real entries, 0 on padding

    probe = LinearProbe(d, c, num_models=r, generator=generator).to(device)
    weight, bias = probe.weight, probe.bias
    opt = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)

    best_val = torch.full((r,), float("-inf"), dtype=torch.float64, device=device)
    best_epoch = torch.zeros(r, dtype=torch.long, device=device)
    best_pred = torch.zeros(r, n, dtype=torch.long, device=device)
    with torch.no_grad():
        for epoch in range(1, epochs + 1):
            # Gradient of each run's mean cross-entropy, in closed form:
            # d/dlogits = (softmax - onehot) / n_r.
            logits = torch.baddbmm(bias.unsqueeze(2), weight, x_train_t)
            g = (torch.softmax(logits, dim=1) - target).mul_(scale)
            weight.grad = torch.bmm(g, x_train)
            bias.grad = g.sum(2)
            opt.step()
            if epoch % eval_every and epoch != epochs:
                continue
            # One [N, d] x [d, R*C] product scores every node for every run.
            pred = (z @ weight.reshape(r * c, d).t()).add_(bias.reshape(-1))
            pred = pred.view(n, r, c).argmax(-1).t()  # [R, N]
            val = batched_classification_metrics(y, pred, val_mask, c)[select]
            better = val > best_val
            best_val = torch.where(better, val, best_val)
            best_epoch[better] = epoch
            best_pred[better] = pred[better]
    test = batched_classification_metrics(y, best_pred, test_mask, c)
    return ProbeResult(
        metrics=[{k: float(v[i]) for k, v in test.items()} for i in range(r)],
        best_epoch=best_epoch.tolist(),
        best_val=best_val.tolist(),
        probe=probe,
    )
