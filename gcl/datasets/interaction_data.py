r"""User-item interaction data for recommendation: :class:`InteractionData`."""

from __future__ import annotations

import copy
from typing import Any, Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from gcl._sparse import csr_tensor

__all__ = ["InteractionData"]

#: Edge type of the training interactions in :meth:`InteractionData.to_hetero`,
#: as PyG's recommendation data sets name it (``('user', 'rates', 'book')``
#: in ``AmazonBook``).
USER, ITEM, RATES, RATED_BY = "user", "item", "rates", "rated_by"


def _check_pairs(pairs: Any, name: str, num_users: int, num_items: int) -> Tensor:
    """``pairs`` as a ``[2, M]`` long tensor of in-range ids, else ValueError."""
    if pairs is None:
        return torch.zeros(2, 0, dtype=torch.long)
    if not isinstance(pairs, Tensor):
        pairs = torch.as_tensor(pairs)
    if pairs.dim() != 2 or pairs.size(0) != 2:
        raise ValueError(f"{name} must be a [2, M] (user, item) tensor, got shape "
                         f"{tuple(pairs.shape)}")
    if pairs.is_floating_point() or pairs.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer ids, got dtype {pairs.dtype}")
    pairs = pairs.long()
    if pairs.numel():
        u, i = pairs
        if int(u.min()) < 0 or int(u.max()) >= num_users:
            raise ValueError(f"{name} has user ids in [{int(u.min())}, "
                             f"{int(u.max())}], outside 0..{num_users - 1}")
        if int(i.min()) < 0 or int(i.max()) >= num_items:
            raise ValueError(f"{name} has item ids in [{int(i.min())}, "
                             f"{int(i.max())}], outside 0..{num_items - 1}")
    return pairs


class InteractionData:
    r"""Implicit-feedback interactions of users with items, split into
    training, validation and test interactions.

    The data of graph recommenders (NGCF, LightGCN, SimGCL, LightGCL): a
    bipartite graph of :math:`U` users and :math:`I` items whose edges are
    the training interactions :math:`R \in \{0, 1\}^{U \times I}`. Each
    split is a ``[2, M]`` long tensor of (user, item) pairs, 0-based; users
    and items are numbered separately (item ``0`` is not user ``0``).

    :meth:`split_validation` carves a validation split out of the training
    interactions with a seed (for early stopping and model selection; the
    LightGCN and LightGCL splits ship train and test only).
    :meth:`to_hetero` gives PyG's bipartite
    :class:`~torch_geometric.data.HeteroData` and :meth:`edge_index` the
    homogeneous undirected graph on :math:`U + I` nodes (items shifted by
    :math:`U`), as PyG's :class:`~torch_geometric.nn.models.LightGCN` takes
    it. :meth:`biadjacency` is the (normalised) sparse :math:`U \times I`
    matrix that propagation multiplies with.

    Args:
        num_users (int): :math:`U`.
        num_items (int): :math:`I`.
        train (torch.Tensor): Training interactions ``[2, M]``.
        test (torch.Tensor, optional): Test interactions ``[2, M_test]``.
            (default: :obj:`None`, none)
        val (torch.Tensor, optional): Validation interactions.
            (default: :obj:`None`, none)
        name (str, optional): Name of the data set. (default: :obj:`""`)

    Raises:
        ValueError: For malformed pairs or ids out of range.
    """

    def __init__(self, num_users: int, num_items: int, train: Tensor,
                 test: Optional[Tensor] = None, val: Optional[Tensor] = None,
                 name: str = ""):
        num_users, num_items = int(num_users), int(num_items)
        if num_users < 1 or num_items < 1:
            raise ValueError(f"need at least one user and one item, got "
                             f"{num_users} users and {num_items} items")
        self.num_users, self.num_items = num_users, num_items
        self.train = _check_pairs(train, "train", num_users, num_items)
        if self.train.size(1) == 0:
            raise ValueError("train holds no interaction")
        self.test = _check_pairs(test, "test", num_users, num_items)
        self.val = _check_pairs(val, "val", num_users, num_items)
        self.name = str(name)

    # ------------------------------------------------------------------ basics
    @property
    def num_nodes(self) -> int:
        """:math:`U + I`."""
        return self.num_users + self.num_items

    @property
    def device(self) -> torch.device:
        """The device of the splits."""
        return self.train.device

    def to(self, device: Union[str, torch.device]) -> InteractionData:
        """A copy with every split on ``device`` (this one when already
        there), as :meth:`torch_geometric.data.Data.to`.
        """
        out = copy.copy(self)
        out.train, out.val, out.test = (t.to(device) for t in
                                        (self.train, self.val, self.test))
        return out

    def __repr__(self) -> str:
        name = f"{self.name}, " if self.name else ""
        return (f"InteractionData({name}users={self.num_users}, "
                f"items={self.num_items}, train={self.train.size(1)}, "
                f"val={self.val.size(1)}, test={self.test.size(1)})")

    def split(self, name: str) -> Tensor:
        """The interactions of split ``name`` (``"train"``, ``"val"``,
        ``"test"``).
        """
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)

    def validate(self) -> None:
        """Checks the splits again (after they were changed by hand).

        Raises:
            ValueError: For malformed pairs, ids out of range or an empty
                training split.
        """
        InteractionData(self.num_users, self.num_items, self.train, self.test,
                        self.val, self.name)

    # --------------------------------------------------------------- validation
    def split_validation(self, fraction: float = 0.1,
                         seed: int = 0) -> InteractionData:
        r"""Moves a random ``fraction`` of each user's training
        interactions to the validation split.

        User :math:`u` with :math:`n_u` distinct training items gives
        :math:`\min(\lfloor f n_u + 1/2 \rfloor, n_u - 1)` of them, so every
        user keeps at least one training item and users with few items give
        none. The draw uses its own generator seeded with ``seed`` (torch's
        global RNG is not touched), so the split repeats. Duplicated pairs are
        merged first. Vectorised: no loop over users.

        Args:
            fraction (float, optional): :math:`f`, in ``[0, 1)``.
                (default: :obj:`0.1`)
            seed (int, optional): Seed of the draw. (default: :obj:`0`)

        Returns:
            InteractionData: A new object; ``test`` is shared, the old
            ``val`` (if any) is merged back into ``train`` first.
        """
        if not 0.0 <= float(fraction) < 1.0:
            raise ValueError(f"the validation fraction (val_fraction) must be in "
                             f"[0, 1), got {fraction}")
        pairs = torch.cat([self.train, self.val], dim=1).cpu()
        key = torch.unique(pairs[0] * self.num_items + pairs[1])  # user-sorted
        user = key // self.num_items
        gen = torch.Generator().manual_seed(int(seed))
        # a random order inside each user: sort by (user, random value)
        rand = torch.rand(key.numel(), generator=gen, dtype=torch.float64)
        order = torch.argsort(user.double() + rand)
        key, user = key[order], user[order]
        deg = torch.bincount(user, minlength=self.num_users)
        start = torch.cumsum(deg, 0) - deg
        rank = torch.arange(key.numel()) - start[user]  # position inside user
        n_val = torch.minimum(torch.floor(fraction * deg.double() + 0.5).long(),
                              (deg - 1).clamp(min=0))
        is_val = rank < n_val[user]

        def back(k: Tensor) -> Tensor:
            k = k.sort().values
            return torch.stack([k // self.num_items, k % self.num_items]).to(
                self.device)

        return InteractionData(self.num_users, self.num_items, back(key[~is_val]),
                               self.test, back(key[is_val]), self.name)

    # ----------------------------------------------------------- conversions
    def to_hetero(self) -> HeteroData:
        """PyG's bipartite :class:`~torch_geometric.data.HeteroData`.

        Node types ``"user"`` and ``"item"`` (``num_nodes`` only; no
        features), edge type ``("user", "rates", "item")`` with the training
        interactions in ``edge_index``, the test interactions in
        ``edge_label_index`` (PyG's ``AmazonBook`` convention) and the
        validation interactions in ``val_edge_label_index``, plus the reverse
        type ``("item", "rated_by", "user")``.
        """
        data = HeteroData()
        data[USER].num_nodes = self.num_users
        data[ITEM].num_nodes = self.num_items
        store = data[USER, RATES, ITEM]
        store.edge_index = self.train
        store.edge_label_index = self.test
        store.val_edge_label_index = self.val
        data[ITEM, RATED_BY, USER].edge_index = self.train.flip(0)
        return data

    @classmethod
    def from_hetero(cls, data: HeteroData, edge_type: Optional[tuple] = None,
                    name: str = "") -> InteractionData:
        """Reads a bipartite :class:`~torch_geometric.data.HeteroData` as
        PyG's recommendation data sets store them.

        The training interactions are ``edge_index`` of ``edge_type``, the
        test interactions its ``edge_label_index`` (PyG's ``AmazonBook``,
        ``MovieLens``), the validation ones ``val_edge_label_index`` if
        present (:meth:`to_hetero`'s layout).

        Args:
            data (HeteroData): The graph.
            edge_type (tuple, optional): ``(src, rel, dst)``; the source type
                holds the users. (default: :obj:`None`, the only edge type
                whose reverse is not also present, e.g.
                ``("user", "rates", "book")``)
            name (str, optional): Name of the data set.
        """
        if edge_type is None:
            types = [t for t in data.edge_types
                     if "edge_label_index" in data[t] or len(data.edge_types) == 1]
            if len(types) != 1:
                types = [t for t in data.edge_types if not t[1].startswith("rev_")
                         and t[1] != RATED_BY]
            if len(types) != 1:
                raise ValueError(f"cannot tell the user-item edge type among "
                                 f"{data.edge_types}; pass edge_type")
            edge_type = types[0]
        src, _, dst = edge_type
        store = data[edge_type]
        return cls(data[src].num_nodes, data[dst].num_nodes, store.edge_index,
                   store.get("edge_label_index"), store.get("val_edge_label_index"),
                   name)

    def edge_index(self, split: str = "train") -> Tensor:
        """The interactions of ``split`` as an undirected homogeneous
        ``[2, 2M]`` edge index on :math:`U + I` nodes (users ``0..U-1``,
        items ``U..U+I-1``), the input of PyG's ``LightGCN``/``LGConv``.
        """
        u, i = self.split(split)
        i = i + self.num_users
        return torch.stack([torch.cat([u, i]), torch.cat([i, u])])

    def biadjacency(self, normalization: Optional[str] = "sym",
                    split: str = "train") -> Tensor:
        r"""The user-item matrix of ``split`` as a sparse CSR
        :math:`U \times I` tensor (duplicates merged, values 1).

        With ``normalization="sym"`` its entries are :math:`\tilde R_{ui} =
        1 / \sqrt{d_u d_i}`, :math:`d` the degrees in this matrix: the
        off-diagonal block of :math:`D^{-1/2} A D^{-1/2}` for the bipartite
        adjacency :math:`A = [[0, R], [R^\top, 0]]` of LightGCN (no
        self-loops). ``None`` gives the raw binary :math:`R`.

        Args:
            normalization (str, optional): ``"sym"`` or :obj:`None`.
                (default: :obj:`"sym"`)
            split (str, optional): Which interactions. (default: ``"train"``)
        """
        if normalization not in ("sym", None):
            raise ValueError(f"normalization must be 'sym' or None, got "
                             f"{normalization!r}")
        pairs = self.split(split)
        key = torch.unique(pairs[0] * self.num_items + pairs[1])
        row, col = key // self.num_items, key % self.num_items
        value = torch.ones(key.numel(), dtype=torch.get_default_dtype(),
                           device=key.device)
        if normalization == "sym":
            du = torch.bincount(row, minlength=self.num_users).to(value.dtype)
            di = torch.bincount(col, minlength=self.num_items).to(value.dtype)
            value = (du[row] * di[col]).rsqrt()
        crow = torch.zeros(self.num_users + 1, dtype=torch.long, device=key.device)
        crow[1:] = torch.cumsum(torch.bincount(row, minlength=self.num_users), 0)
        return csr_tensor(crow, col, value, (self.num_users, self.num_items))

    def items_per_user(self, split: str = "train") -> tuple[Tensor, Tensor]:
        """CSR ``(indptr [U + 1], items)`` of the distinct items of each user
        in ``split``, items sorted within a user.
        """
        pairs = self.split(split)
        key = torch.unique(pairs[0] * self.num_items + pairs[1])
        indptr = torch.zeros(self.num_users + 1, dtype=torch.long, device=key.device)
        indptr[1:] = torch.cumsum(
            torch.bincount(key // self.num_items, minlength=self.num_users), 0)
        return indptr, key % self.num_items
