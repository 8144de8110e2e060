r"""(user, positive item, negative item) triples for pairwise ranking losses."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from gcl.datasets.interaction_data import InteractionData

__all__ = ["BPRSampler", "SAMPLING_MODES", "sample_negatives"]

#: How :class:`BPRSampler` draws an epoch's triples.
SAMPLING_MODES = ("interaction", "user", "user_batch")


def sample_negatives(users: Tensor, train_keys: Tensor, num_items: int,
                     generator: Optional[torch.Generator] = None,
                     max_rounds: int = 1000, distinct: bool = False) -> Tensor:
    r"""One uniform negative item per entry of ``users``: an item the user
    has no training interaction with.

    Rejection sampling, vectorised: all entries draw an item uniformly,
    those that hit a training item draw again, until none does (every
    official code base draws this way, one entry at a time). With
    ``distinct``, the entries of one user also get distinct items: a
    uniform draw without replacement from the user's non-interacted items
    (LightGCL's old setting takes a prefix of their random permutation);
    a repeat draws again like a hit.

    Args:
        users (torch.Tensor): User ids ``[B]``.
        train_keys (torch.Tensor): Sorted, distinct keys ``user * num_items +
            item`` of the training interactions.
        num_items (int): :math:`I`.
        generator (torch.Generator, optional): RNG. (default: torch's global)
        max_rounds (int, optional): Give up after this many rounds.
        distinct (bool, optional): Distinct negatives within a user.
            (default: :obj:`False`)

    Raises:
        ValueError: If a user has interacted with every item (or, with
            ``distinct``, has fewer free items than entries).
    """
    neg = torch.randint(num_items, users.shape, generator=generator,
                        device=users.device)
    todo = torch.arange(users.numel(), device=users.device)
    for _ in range(max_rounds):
        if distinct:  # every entry again: a redraw may repeat another one
            todo = torch.arange(users.numel(), device=users.device)
        key = users[todo] * num_items + neg[todo]
        pos = torch.searchsorted(train_keys, key).clamp(max=train_keys.numel() - 1)
        hit = train_keys[pos] == key
        if distinct and key.numel() > 1:
            # later copies of a (user, item) key: all but the first (stable)
            srt, order = torch.sort(key, stable=True)
            repeat = torch.zeros_like(hit)
            repeat[order[1:]] = srt[1:] == srt[:-1]
            hit |= repeat
        todo = todo[hit]
        if todo.numel() == 0:
            return neg
        neg[todo] = torch.randint(num_items, (todo.numel(),), generator=generator,
                                  device=users.device)
    raise ValueError(f"could not draw negative items for users "
                     f"{users[todo].unique()[:5].tolist()} in {max_rounds} rounds: "
                     f"they interacted with (almost) every item"
                     + (" or have fewer free items than draws" if distinct else ""))


class BPRSampler:
    r"""Draws one epoch of mini-batches of (user, positive, negative) triples.

    Modes (each code base samples differently, and it matters):

    - ``"interaction"``: every training interaction :math:`(u, i^+)` once,
      shuffled, each with a fresh uniform negative :math:`i^- \notin R_u`;
      batches of ``batch_size`` interactions (LightGCL's current code,
      SimGCL/SELFRec's ``next_batch_pairwise``).
    - ``"user"``: :math:`|R|` users drawn uniformly with replacement among
      the users with a training item, each with one uniform positive and one
      negative (LightGCN's ``UniformSample_original``; users, not
      interactions, are uniform).
    - ``"user_batch"``: a random permutation of the users, the first
      ``num_users`` (LightGCL's old setting: 30,000), in batches of
      ``batch_size`` users (256); each user brings up to ``max_pairs`` (40)
      of its training items in random order, each paired with a uniform
      negative, distinct within the user (the official code takes them from
      a random permutation of the user's non-interacted items:
      ``sample_negatives(..., distinct=True)``). The batch's users include
      those without training items (they enter the contrastive term only).

    Negatives never hit a training item (:func:`sample_negatives`). Draws use
    torch's RNG (or ``generator``), so :func:`gcl.fit`'s seed repeats them.

    Args:
        mode (str, optional): One of :data:`SAMPLING_MODES`.
            (default: :obj:`"interaction"`)
        batch_size (int, optional): Triples per batch (users per batch in
            ``"user_batch"``). (default: :obj:`2048`)
        num_users (int, optional): ``"user_batch"`` only: users per epoch.
            (default: :obj:`30000`)
        max_pairs (int, optional): ``"user_batch"`` only: pairs per user.
            (default: :obj:`40`)
    """

    def __init__(self, mode: str = "interaction", batch_size: int = 2048,
                 num_users: int = 30000, max_pairs: int = 40):
        if mode not in SAMPLING_MODES:
            raise ValueError(f"sampling mode must be one of {SAMPLING_MODES}, "
                             f"got {mode!r}")
        for name, value in (("batch_size", batch_size), ("num_users", num_users),
                            ("max_pairs", max_pairs)):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.mode, self.batch_size = mode, int(batch_size)
        self.num_users, self.max_pairs = int(num_users), int(max_pairs)
        self._cache: Optional[tuple] = None

    def __repr__(self) -> str:
        return f"BPRSampler(mode={self.mode!r}, batch_size={self.batch_size})"

    def _keys(self, data: InteractionData) -> tuple[Tensor, Tensor, Tensor]:
        """Sorted training keys, CSR indptr and items; cached per training
        tensor (rebuilt after an in-place change of it).
        """
        train = data.train
        if (self._cache is None or self._cache[0] is not train
                or self._cache[1] != train._version):
            key = torch.unique(train[0] * data.num_items + train[1])
            indptr = torch.zeros(data.num_users + 1, dtype=torch.long,
                                 device=key.device)
            indptr[1:] = torch.cumsum(torch.bincount(
                key // data.num_items, minlength=data.num_users), 0)
            self._cache = (train, train._version, key, indptr)
        _, _, key, indptr = self._cache
        return key, indptr, key % data.num_items

    def __call__(self, data: InteractionData,
                 generator: Optional[torch.Generator] = None
                 ) -> list[tuple[Tensor, Tensor, Tensor]]:
        """The batches of one epoch: a list of ``(users, pos, neg)``, each
        ``[B]`` long tensors (in ``"user_batch"`` mode also the batch's
        users as a fourth entry).
        """
        key, indptr, items = self._keys(data)
        dev, n_items = key.device, data.num_items
        bs = self.batch_size
        if self.mode == "interaction":
            perm = torch.randperm(key.numel(), generator=generator, device=dev)
            users, pos = key[perm] // n_items, items[perm]
        elif self.mode == "user":
            deg = indptr[1:] - indptr[:-1]
            active = torch.nonzero(deg > 0).view(-1)
            pick = torch.randint(active.numel(), (key.numel(),),
                                 generator=generator, device=dev)
            users = active[pick]
            off = (torch.rand(users.shape, generator=generator, device=dev,
                              dtype=torch.float64) * deg[users]).long()
            pos = items[indptr[users] + off.clamp(max=deg[users] - 1)]
        else:
            return self._user_batches(data, key, indptr, items, generator)
        neg = sample_negatives(users, key, n_items, generator)
        return [(users[s:s + bs], pos[s:s + bs], neg[s:s + bs])
                for s in range(0, users.numel(), bs)]

    def _user_batches(self, data, key, indptr, items, generator):
        dev, n_items = key.device, data.num_items
        epoch_users = torch.randperm(data.num_users, generator=generator,
                                     device=dev)[:self.num_users]
        # a random order of each user's items: sort (user, random)
        rand = torch.rand(key.numel(), generator=generator, device=dev,
                          dtype=torch.float64)
        user_of = key // n_items
        order = torch.argsort(user_of.double() + rand)
        rank = torch.arange(key.numel(), device=dev) - indptr[user_of[order]]
        keep = order[rank < self.max_pairs]
        # pairs grouped by user in the order of epoch_users
        position = torch.full((data.num_users,), -1, dtype=torch.long, device=dev)
        position[epoch_users] = torch.arange(epoch_users.numel(), device=dev)
        kept_user = user_of[keep]
        pos_in_epoch = position[kept_user]
        keep, kept_user, pos_in_epoch = (t[pos_in_epoch >= 0] for t in
                                         (keep, kept_user, pos_in_epoch))
        by = torch.argsort(pos_in_epoch, stable=True)
        users, pos = kept_user[by], items[keep[by]]
        batch_of = pos_in_epoch[by] // self.batch_size
        neg = sample_negatives(users, key, n_items, generator, distinct=True)
        counts = torch.bincount(batch_of, minlength=-(-epoch_users.numel()
                                                      // self.batch_size))
        out = []
        for b, (u, p, n) in enumerate(zip(users.split(counts.tolist()),
                                          pos.split(counts.tolist()),
                                          neg.split(counts.tolist()))):
            out.append((u, p, n, epoch_users[b * self.batch_size:
                                             (b + 1) * self.batch_size]))
        return out
