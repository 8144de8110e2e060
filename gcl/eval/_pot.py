r"""POT's evaluation protocol, with and without its val/test mask swap.

From the official code of `"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_ (POT, Yu et al., NeurIPS 2023;
``VoidHaruhi/POT-GCL``, ``GRACE/train.py`` and ``GRACE/eval.py``):

- **Cora, CiteSeer, PubMed:** the public Planetoid split (20 labels per
  class, 500 validation, 1000 test nodes). The code packs the masks as
  ``(train, val, test)`` but the evaluator unpacks them as ``(train, test,
  val)``. In effect the probe's epoch is selected on the **1000 public test
  nodes** and the reported "test" Micro/Macro-F1 is measured on the **500
  public validation nodes**. Protocol ``"pot"`` reproduces that (it is how the
  published numbers were produced); ``"pot_fixed"`` uses the split as
  intended (select on validation, score on test). Neither ever scores the
  nodes it selects on.
- **Every other graph** (Amazon, WikiCS, BlogCatalog, Flickr): one random
  10 %/10 %/80 % train/val/test split per run (WikiCS's public splits are not
  used). The mask swap does not matter there, so both names agree.
- **Probe:** a torch logistic regression, Adam (lr 0.01, no weight decay),
  3000 full-batch epochs, evaluated every 20; the test Micro-F1 and
  Macro-F1 at the best validation Micro-F1 (first on ties) are reported.
- **Runs:** the code probes each trained model once, so ``runs`` defaults to
  1; repeat training over seeds for a mean and standard deviation.

Both are calls into the shared protocols, with micro-F1 selection and one
run: the public split is :func:`~gcl.eval.public_protocol` on the masks
``(train, test, val)`` (``"pot"``) or ``(train, val, test)``
(``"pot_fixed"``), a random split is :func:`~gcl.eval.linear_probe_protocol`
on 10/10/80.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from gcl.eval._node_classification import linear_probe_protocol, public_protocol
from gcl.eval._result import EvalResult
from gcl.eval._splits import get_masks
from gcl.eval._validation import check_inputs, check_runs

__all__ = ["PLANETOID", "pot_fixed_protocol", "pot_protocol"]

#: Graphs POT evaluates on their public split (names compared case-insensitively).
PLANETOID = ("Cora", "CiteSeer", "PubMed")

_SPLITS = ("auto", "public", "random")


def _is_planetoid(data: Any) -> bool:
    name = str(getattr(data, "name", "") or "").lower()
    return name in {p.lower() for p in PLANETOID}


# The details of a POT result, in order (after "split").
_DETAILS = ("train_size", "val_size", "test_size", "num_classes", "best_epoch",
            "best_val", "epochs", "lr", "weight_decay", "eval_every", "selection",
            "seed")


def _pot(z: Tensor, y: Tensor, *, name: str, swap: bool, runs: int | None,
         seed: int, data: Any, split: str, **probe: Any) -> EvalResult:
    """POT's protocol as a call into the public-split or the random-split one.

    The public split with the val and test masks swapped (``swap``) is
    :func:`~gcl.eval.public_protocol` on ``masks=(train, test, val)``; the
    random split is :func:`~gcl.eval.linear_probe_protocol` on 10/10/80.
    Both select the probe's epoch on validation micro-F1 and default to one
    run.
    """
    z, y, _ = check_inputs(z, y)
    runs = check_runs(runs, 1)
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    if split == "auto":
        split = "public" if _is_planetoid(data) else "random"
    if split == "public":
        if data is None:
            raise ValueError(f"protocol {name!r} with the public split needs "
                             f"data= (a Planetoid graph with its masks)")
        train, val, test = get_masks(data)
        if any(torch.as_tensor(m).dim() != 1 for m in (train, val, test)):
            raise ValueError("the public split needs 1-D train/val/test masks "
                             "(Planetoid); use split='random' for other graphs")
        # Swapped: select on the public test nodes, score the public val nodes.
        masks = (train, test, val) if swap else (train, val, test)
        res = public_protocol(z, y, runs=runs, seed=seed, masks=masks,
                              select="micro_f1", **probe)
        desc = ("public Planetoid, val/test swapped as in the official code "
                "(selected on the 1000 test nodes, scored on the 500 val nodes)"
                if swap else "public Planetoid (selected on val, scored on test)")
    else:
        res = linear_probe_protocol(z, y, runs=runs, seed=seed, train=0.1, val=0.1,
                                    select="micro_f1", **probe)
        desc = "random 10/10/80 per run"
    details = {"split": desc, **{k: res.details[k] for k in _DETAILS}}
    return replace(res, protocol=name, details=details)


def pot_protocol(
    z: Tensor,
    y: Tensor,
    *,
    runs: int | None = None,
    seed: int = 0,
    data: Any = None,
    split: str = "auto",
    epochs: int = 3000,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    eval_every: int = 20,
    device: torch.device | str = "cpu",
    num_threads: int | None = 1,
) -> EvalResult:
    r"""POT's evaluator as coded, **with** its Planetoid val/test swap.

    See the module docstring: on Cora, CiteSeer and PubMed the epoch is
    selected on the 1000 public *test* nodes and Micro/Macro-F1 are reported
    on the 500 public *validation* nodes, which is how the published numbers
    were produced; elsewhere one random 10/10/80 split per run. Use
    :func:`pot_fixed_protocol` for the split as intended.

    Args:
        z (torch.Tensor): Embeddings ``[N, d]``.
        y (torch.Tensor): Labels ``[N]``.
        runs (int, optional): Probe runs (random splits, or initialisations on
            the fixed public split). (default: ``1``, as the official code)
        seed (int, optional): Seed of the splits and initial weights.
            (default: ``0``)
        data (torch_geometric.data.Data, optional): The graph: its ``name``
            picks the split (public for Cora, CiteSeer, PubMed) and it holds
            the public masks. (default: :obj:`None`, random split)
        split (str, optional): ``"auto"``, ``"public"`` or ``"random"``.
            (default: ``"auto"``)
        epochs (int, optional): Probe epochs. (default: ``3000``)
        lr (float, optional): Adam learning rate. (default: ``0.01``)
        weight_decay (float, optional): Adam weight decay. (default: ``0.0``)
        eval_every (int, optional): Evaluation period. (default: ``20``)
        device (torch.device or str, optional): Probe device.
            (default: ``"cpu"``)
        num_threads (int, optional): CPU threads of the probe.
            (default: ``1``)

    Returns:
        EvalResult: ``accuracy``, ``micro_f1`` and ``macro_f1`` per run, under
        the protocol name ``"pot"``.
    """
    return _pot(z, y, name="pot", swap=True, runs=runs, seed=seed, data=data,
                split=split, epochs=epochs, lr=lr, weight_decay=weight_decay,
                eval_every=eval_every, device=device, num_threads=num_threads)


def pot_fixed_protocol(
    z: Tensor,
    y: Tensor,
    *,
    runs: int | None = None,
    seed: int = 0,
    data: Any = None,
    split: str = "auto",
    epochs: int = 3000,
    lr: float = 0.01,
    weight_decay: float = 0.0,
    eval_every: int = 20,
    device: torch.device | str = "cpu",
    num_threads: int | None = 1,
) -> EvalResult:
    r"""POT's evaluator with the public split **as intended**.

    Identical to :func:`pot_protocol` except on Cora, CiteSeer and PubMed,
    where the epoch is selected on the 500 public validation nodes and the
    scores are measured on the 1000 public test nodes. Arguments as in
    :func:`pot_protocol`; results are named ``"pot_fixed"``.
    """
    return _pot(z, y, name="pot_fixed", swap=False, runs=runs, seed=seed,
                data=data, split=split, epochs=epochs, lr=lr,
                weight_decay=weight_decay, eval_every=eval_every, device=device,
                num_threads=num_threads)
