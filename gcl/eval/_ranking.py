r"""Full-ranking evaluation of recommendation embeddings: Recall@K and NDCG@K.

The protocol of NGCF, LightGCN, SGL, SimGCL, XSimGCL, LightGCL, ... on the
LightGCN splits (Gowalla, Yelp2018, Amazon-book): every user ranks *all*
items by the inner product of the embeddings, the user's training items are
excluded from the ranking, and the top-:math:`K` list is scored against the
user's test items. Interaction data load with
:func:`gcl.datasets.load_interactions`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gcl.datasets.interaction_data import InteractionData
from gcl.eval._result import EvalResult
from gcl.eval._validation import as_tensor, check_embeddings, check_positive_int

__all__ = ["MASKINGS", "ranking", "ranking_split"]

#: How :func:`ranking` masks the known items of a user.
MASKINGS = ("remove", "zero")


def _to_csr(inter: Any, num_users: int, num_items: int, name: str,
            device: torch.device) -> tuple[Tensor, Tensor]:
    """``(indptr [U + 1], indices)`` of the deduplicated user x item matrix."""
    import scipy.sparse as sp

    if sp.issparse(inter):
        if inter.shape != (num_users, num_items):
            raise ValueError(
                f"{name} is a {inter.shape[0]} x {inter.shape[1]} sparse matrix, "
                f"expected num_users x num_items = {num_users} x {num_items}")
        coo = inter.tocoo()
        keep = coo.data != 0
        pairs = torch.from_numpy(np.stack([coo.row[keep], coo.col[keep]]).astype(
            np.int64))
    else:
        pairs = as_tensor(inter, name)
        if pairs.dim() != 2 or pairs.size(0) != 2:
            raise ValueError(
                f"{name} must be a [2, M] (user, item) tensor or a scipy sparse "
                f"user x item matrix, got shape {tuple(pairs.shape)}")
        if pairs.is_floating_point() or pairs.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer ids, got dtype {pairs.dtype}")
        pairs = pairs.long()
    pairs = pairs.to(device)
    if pairs.numel():
        u, i = pairs
        if u.min() < 0 or u.max() >= num_users:
            raise ValueError(
                f"{name} has user ids in [{int(u.min())}, {int(u.max())}], outside "
                f"0..{num_users - 1} (user_emb has {num_users} rows)")
        if i.min() < 0 or i.max() >= num_items:
            raise ValueError(
                f"{name} has item ids in [{int(i.min())}, {int(i.max())}], outside "
                f"0..{num_items - 1} (item_emb has {num_items} rows)")
    key = torch.unique(pairs[0] * num_items + pairs[1])  # sorted, deduplicated
    indptr = torch.zeros(num_users + 1, dtype=torch.long, device=device)
    indptr[1:] = torch.cumsum(torch.bincount(key // num_items, minlength=num_users), 0)
    return indptr, key % num_items


def _gather_rows(indptr: Tensor, indices: Tensor,
                 users: Tensor) -> tuple[Tensor, Tensor]:
    """(row in batch, column) of the CSR entries of ``users``, vectorised."""
    start, count = indptr[users], indptr[users + 1] - indptr[users]
    row = torch.repeat_interleave(torch.arange(users.numel(), device=users.device),
                                  count)
    offset = torch.cumsum(count, 0) - count  # first position of each row
    pos = start[row] + torch.arange(row.numel(), device=users.device) - offset[row]
    return row, indices[pos]


@torch.no_grad()
def ranking(
    user_emb: Tensor,
    item_emb: Tensor,
    train: Any,
    test: Any,
    ks: tuple[int, ...] = (20, 40),
    batch_size: int = 1024,
    exclude: Any = None,
    masking: str = "remove",
) -> EvalResult:
    r"""Full-ranking Recall@K and NDCG@K with the training items masked out.

    The evaluator of NGCF (Wang et al., SIGIR 2019) and LightGCN (He et al.,
    SIGIR 2020, https://arxiv.org/abs/2002.02126), used by SGL, SimGCL,
    XSimGCL, LightGCL and the other graph contrastive recommenders. For each
    user :math:`u` with at least one test item:

    1. score every item, :math:`s_{ui} = \mathbf{e}_u^\top \mathbf{e}_i`;
    2. set the scores of :math:`u`'s training items to :math:`-\infty`;
    3. take the top-:math:`K` items :math:`(i_1, \dots, i_K)` by
       ``torch.topk``; with :math:`T_u` the test items of :math:`u` and
       :math:`h_r = \mathbb{1}[i_r \in T_u]`,

    .. math::
        \mathrm{Recall@}K = \frac{\sum_{r=1}^K h_r}{|T_u|}, \qquad
        \mathrm{NDCG@}K = \frac{\sum_{r=1}^K h_r / \log_2(r + 1)}
        {\sum_{r=1}^{\min(K, |T_u|)} 1 / \log_2(r + 1)}.

    Both are averaged over the users with at least one test item (their number
    is ``details["num_eval_users"]``). As in LightGCN, the recall denominator
    is :math:`|T_u|` even when it exceeds :math:`K`.

    Memory stays bounded: users are processed in batches of ``batch_size``,
    and only one ``[batch_size, num_items]`` score block (plus a boolean block
    of the same shape marking the test items) exists at a time; the masks are
    built from the CSR ``indptr``/``indices`` of the interactions, never from
    a dense user x item matrix. Computation runs on ``user_emb``'s device.

    ``std`` holds the population standard deviation **across users** (one
    evaluation, so not a run-to-run spread); ``per_split`` has the single
    evaluation's means.

    Args:
        user_emb (torch.Tensor): User embeddings ``[U, d]``.
        item_emb (torch.Tensor): Item embeddings ``[I, d]``.
        train (torch.Tensor or scipy.sparse matrix): Training interactions, a
            ``[2, M]`` int tensor of (user, item) pairs or a ``U x I`` sparse
            matrix (non-zeros are interactions). Duplicates are ignored.
        test (torch.Tensor or scipy.sparse matrix): Test interactions, same
            formats. A test item that is also a training item is masked and
            therefore never hit (the LightGCN splits have no overlap;
            ``details["num_train_test_overlap"]`` counts it).
        ks (tuple[int, ...], optional): Cut-offs :math:`K`, each in
            ``1..I``. (default: ``(20, 40)``)
        batch_size (int, optional): Users per score block. (default: ``1024``)
        exclude (torch.Tensor or scipy.sparse matrix, optional): More
            interactions masked like the training ones, e.g. the validation
            interactions when scoring the test split (they are known to the
            model's user). (default: :obj:`None`)
        masking (str, optional): ``"remove"``: the masked items are scored
            :math:`-\infty` and never ranked (LightGCN, SimGCL, LightGCL's
            current code, whose ``- 1e8 * mask`` does the same);
            ``"zero"``: their scores are set to 0 and they stay in the
            ranking as misses, as LightGCL's ``old_setting/model.py``
            (``preds * (1 - mask)``, the paper's tables) does; with
            negative scores about, a zeroed training item can take a top-K
            place, so ``"zero"`` never scores higher. (default:
            ``"remove"``)

    Returns:
        EvalResult: Protocol ``"full_ranking"`` with ``recall@K`` and
        ``ndcg@K`` for every ``K`` (in the order of ``ks``).

    Raises:
        ValueError: For malformed or non-finite embeddings, mismatched
            dimensions, ids out of range, bad ``ks``/``batch_size`` or no user
            with a test item.
    """
    user_emb = check_embeddings(user_emb, "user_emb")
    item_emb = check_embeddings(item_emb, "item_emb")
    if user_emb.size(1) != item_emb.size(1):
        raise ValueError(f"user_emb and item_emb must have the same dimension, got "
                         f"{user_emb.size(1)} and {item_emb.size(1)}")
    device = user_emb.device
    item_emb = item_emb.to(device=device, dtype=user_emb.dtype)
    num_users, num_items = user_emb.size(0), item_emb.size(0)
    if isinstance(ks, (int, np.integer)):
        ks = (int(ks),)
    ks = tuple(int(k) for k in ks)
    if len(ks) == 0 or any(k < 1 or k > num_items for k in ks):
        raise ValueError(f"ks must be non-empty with every K in 1..{num_items} "
                         f"(the number of items), got {ks}")
    batch_size = check_positive_int(batch_size, "batch_size")
    if masking not in MASKINGS:
        raise ValueError(f"masking must be one of {MASKINGS}, got {masking!r}")
    fill = float("-inf") if masking == "remove" else 0.0

    tr_ptr, tr_idx = _to_csr(train, num_users, num_items, "train", device)
    ex = (None if exclude is None else
          _to_csr(exclude, num_users, num_items, "exclude", device))
    te_ptr, te_idx = _to_csr(test, num_users, num_items, "test", device)
    n_test = te_ptr[1:] - te_ptr[:-1]
    eval_users = torch.nonzero(n_test > 0).view(-1)
    if eval_users.numel() == 0:
        raise ValueError("no user has a test item; nothing to evaluate")

    k_max = max(ks)
    discount = 1.0 / torch.log2(torch.arange(2, k_max + 2, device=device,
                                             dtype=torch.float64))
    idcg_table = torch.cumsum(discount, 0)  # idcg_table[m - 1]: m relevant items
    sums = {f"{m}@{k}": torch.zeros((), dtype=torch.float64, device=device)
            for k in ks for m in ("recall", "ndcg")}
    sq_sums = {key: torch.zeros_like(v) for key, v in sums.items()}
    overlap = 0
    neg_inf = float("-inf")
    for lo in range(0, eval_users.numel(), batch_size):
        users = eval_users[lo:lo + batch_size]
        b = users.numel()
        scores = user_emb[users] @ item_emb.t()  # [b, I]
        row, col = _gather_rows(tr_ptr, tr_idx, users)
        scores[row, col] = fill
        if ex is not None:
            e_row, e_col = _gather_rows(*ex, users)
            scores[e_row, e_col] = fill
        top_scores, top = torch.topk(scores, k_max, dim=1)
        del scores
        is_test = torch.zeros(b, num_items, dtype=torch.bool, device=device)
        t_row, t_col = _gather_rows(te_ptr, te_idx, users)
        is_test[t_row, t_col] = True
        overlap += int(is_test[row, col].sum())
        hits = is_test.gather(1, top) & (top_scores > neg_inf)  # [b, k_max]
        del is_test
        hits = hits.to(torch.float64)
        n_rel = n_test[users]
        cum_hits = torch.cumsum(hits, 1)
        cum_dcg = torch.cumsum(hits * discount, 1)
        for k in ks:
            recall = cum_hits[:, k - 1] / n_rel
            ndcg = cum_dcg[:, k - 1] / idcg_table[n_rel.clamp(max=k) - 1]
            for name, val in (("recall", recall), ("ndcg", ndcg)):
                sums[f"{name}@{k}"] += val.sum()
                sq_sums[f"{name}@{k}"] += val.square().sum()

    n = eval_users.numel()
    metrics, std = {}, {}
    for key in sums:
        mean = float(sums[key]) / n
        metrics[key] = mean
        std[key] = math.sqrt(max(float(sq_sums[key]) / n - mean * mean, 0.0))
    details = {
        "num_users": num_users,
        "num_items": num_items,
        "num_eval_users": n,
        "num_users_without_test": num_users - n,
        "num_train": int(tr_idx.numel()),
        "num_test": int(te_idx.numel()),
        "num_train_test_overlap": overlap,
        "num_excluded": 0 if ex is None else int(ex[1].numel()),
        "ks": list(ks),
        "batch_size": int(batch_size),
        "std": "population std across evaluated users",
        "masking": ("training items scored -inf" if masking == "remove" else
                    "training items scored 0 (LightGCL old_setting)"),
    }
    return EvalResult("full_ranking", metrics, std, [dict(metrics)], details)


def ranking_split(user_emb: Tensor, item_emb: Tensor, data: InteractionData,
                  split: str = "val", ks: tuple[int, ...] = (20, 40),
                  batch_size: int = 1024, masking: str = "remove") -> EvalResult:
    r""":func:`ranking` of one split of :class:`~gcl.datasets.InteractionData`.

    ``split="val"`` scores the validation interactions with the training
    ones masked; ``split="test"`` scores the test interactions with the
    training *and* validation ones masked (all interactions the model's user
    is known to have had). Model selection reads ``"val"``, never
    ``"test"``.

    Args:
        user_emb (torch.Tensor): ``[U, d]``.
        item_emb (torch.Tensor): ``[I, d]``.
        data (InteractionData): The interactions.
        split (str, optional): ``"val"`` or ``"test"``. (default: ``"val"``)
        ks (tuple[int, ...], optional): Cut-offs. (default: ``(20, 40)``)
        batch_size (int, optional): Users per block. (default: ``1024``)
        masking (str, optional): ``"remove"`` or ``"zero"`` (see
            :func:`ranking`). (default: ``"remove"``)
    """
    if split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    if not isinstance(data, InteractionData):
        raise ValueError(f"data must be an InteractionData, got "
                         f"{type(data).__name__}")
    target = data.split(split)
    if target.size(1) == 0:
        raise ValueError(f"{data!r} has no {split} interactions"
                         + ("; carve some with data.split_validation(...)"
                            if split == "val" else ""))
    exclude = data.val if split == "test" and data.val.numel() else None
    res = ranking(user_emb, item_emb, data.train, target, ks, batch_size, exclude,
                  masking)
    res.details["split"] = split
    return res
