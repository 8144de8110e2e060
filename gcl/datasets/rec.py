r"""Recommendation data sets as :class:`~gcl.datasets.InteractionData`.

Three formats:

- LightGCN's text files (``kuandeng/LightGCN``, ``gusye1234/LightGCN-PyTorch``):
  ``train.txt`` and ``test.txt``, one line ``user item item ...`` per user,
  0-based ids; ``user_list.txt``/``item_list.txt`` (a header and one line per
  id) fix the counts when present. :func:`read_lightgcn`.
- LightGCL's pickles (``HKUDS/LightGCL`` ``data/<name>/``): ``trnMat.pkl`` and
  ``tstMat.pkl``, pickled ``scipy.sparse.coo_matrix`` users x items.
  :func:`read_lightgcl`.
- PyG's recommendation data sets (``AmazonBook``, ``MovieLens100K``, ...):
  :func:`load_interactions` with ``"pyg:<Class>"`` (online, PyG downloads).

:func:`load_interactions` knows the LightGCN splits by name
(:data:`REC_DATASETS`); it reads ``<root>/rec/<folder>/`` and, where the files
are missing and the network is allowed, downloads LightGCN-PyTorch's copy into
the writable cache (never into the data root).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from gcl.datasets.errors import DatasetNotFoundError
from gcl.datasets.interaction_data import InteractionData
from gcl.datasets.paths import cache_dir, data_root

__all__ = ["REC_DATASETS", "RecSpec", "load_interactions", "read_lightgcl",
           "read_lightgcn", "read_lightgcn_file"]

_LIGHTGCN_URL = ("https://raw.githubusercontent.com/gusye1234/LightGCN-PyTorch/"
                 "master/data/")


@dataclass(frozen=True)
class RecSpec:
    """A known recommendation split.

    Args:
        name (str): Canonical name.
        folder (str): Folder under ``<root>/rec/``.
        url (str): LightGCN-PyTorch's folder (downloads read ``train.txt``,
            ``test.txt``; LastFM's ``data1.txt``/``test1.txt``).
        num_users (int): Users.
        num_items (int): Items.
        num_train (int): Training interactions.
        num_test (int): Test interactions.
        source (str): Where the counts were checked.
    """

    name: str
    folder: str
    url: str
    num_users: int
    num_items: int
    num_train: int
    num_test: int
    source: str


#: The LightGCN-format splits that :func:`load_interactions` knows by name.
#: Gowalla and LastFM are checked against ``shared/data/README.md``; Yelp2018
#: and Amazon-book are the LightGCN paper's Table 1 (users, items,
#: interactions; train/test sizes of LightGCN's files).
REC_DATASETS: dict[str, RecSpec] = {
    "gowalla": RecSpec("Gowalla", "gowalla", _LIGHTGCN_URL + "gowalla", 29858,
                       40981, 810128, 217242,
                       "NGCF/LightGCN split (LightGCN paper Table 1)"),
    "lastfm": RecSpec("LastFM", "lastfm", _LIGHTGCN_URL + "lastfm", 1892, 4489,
                      42135, 10533,
                      "LightGCN-PyTorch's HetRec-2011 Last.fm split"),
    "yelp2018": RecSpec("Yelp2018", "yelp2018", _LIGHTGCN_URL + "yelp2018",
                        31668, 38048, 1237259, 324147,
                        "LightGCN paper Table 1 (1,561,406 interactions)"),
    "amazon-book": RecSpec("Amazon-book", "amazon-book",
                           _LIGHTGCN_URL + "amazon-book", 52643, 91599, 2380730,
                           603378, "LightGCN paper Table 1 (2,984,108 "
                           "interactions)"),
}

_ALIASES = {"amazonbook": "amazon-book", "amazon_book": "amazon-book",
            "yelp": "yelp2018", "last.fm": "lastfm", "last-fm": "lastfm"}


def read_lightgcn_file(path: Union[str, Path]) -> Tensor:
    """Parses one LightGCN text file (``user item item ...`` per line) into
    a ``[2, M]`` long tensor, in one vectorised pass (no loop over lines). A
    line with a user and no items adds nothing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no interaction file {path}")
    text = path.read_text()
    # A sentinel token marks line ends, so one vectorised parse keeps the lines.
    tokens = np.array(text.replace("\n", " -1 ").split(), dtype=np.int64)
    if (tokens < -1).any():
        raise ValueError(f"{path} contains negative ids")
    is_sep = tokens == -1
    is_first = ~is_sep & np.concatenate(([True], is_sep[:-1]))
    line = np.cumsum(is_first) - 1  # line index of every token (after its user)
    users = tokens[is_first]
    is_item = ~is_sep & ~is_first
    return torch.from_numpy(np.stack([users[line[is_item]], tokens[is_item]]))


def _list_count(path: Path) -> Optional[int]:
    """Ids in a LightGCN ``*_list.txt`` (header ``org_id remap_id``)."""
    if not path.is_file():
        return None
    with path.open() as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


def read_lightgcn(folder: Union[str, Path], name: str = "",
                  num_users: Optional[int] = None,
                  num_items: Optional[int] = None) -> InteractionData:
    """Reads ``train.txt`` and ``test.txt`` of a LightGCN-format folder.

    The counts are, in this order: the arguments, ``user_list.txt`` /
    ``item_list.txt`` when present, else 1 + the largest id in either file
    (LightGCN's ``Loader``).

    Args:
        folder (str or Path): e.g. ``shared/data/rec/gowalla``.
        name (str, optional): Name of the data set.
        num_users (int, optional): :math:`U`.
        num_items (int, optional): :math:`I`.
    """
    folder = Path(folder)
    train = read_lightgcn_file(folder / "train.txt")
    test = read_lightgcn_file(folder / "test.txt")
    both = torch.cat([train, test], dim=1)
    if both.numel() == 0:
        raise ValueError(f"no interactions in {folder}")
    num_users = num_users or _list_count(folder / "user_list.txt") \
        or int(both[0].max()) + 1
    num_items = num_items or _list_count(folder / "item_list.txt") \
        or int(both[1].max()) + 1
    return InteractionData(num_users, num_items, train, test, name=name)


def read_lightgcl(folder: Union[str, Path], name: str = "") -> InteractionData:
    """Reads LightGCL's ``trnMat.pkl`` and ``tstMat.pkl`` (pickled scipy
    sparse users x items matrices; a non-zero is an interaction).

    The pickles reference ``scipy.sparse.coo``, a module that newer SciPy
    versions warn about; they are read with :mod:`pickle` and converted at
    once. Only open pickles you trust: unpickling runs code.
    """
    import scipy.sparse as sp

    folder = Path(folder)
    mats = []
    for file in ("trnMat.pkl", "tstMat.pkl"):
        path = folder / file
        if not path.is_file():
            raise FileNotFoundError(f"no LightGCL matrix {path}")
        with path.open("rb") as f:
            mat = pickle.load(f)  # noqa: S301 - the format is a pickle
        if not sp.issparse(mat):
            raise ValueError(f"{path} holds {type(mat).__name__}, expected a "
                             f"scipy sparse matrix")
        coo = mat.tocoo()
        keep = coo.data != 0
        mats.append((coo.shape, torch.from_numpy(
            np.stack([coo.row[keep], coo.col[keep]]).astype(np.int64))))
    (shape, train), (shape_t, test) = mats
    if shape != shape_t:
        raise ValueError(f"trnMat is {shape} but tstMat is {shape_t}")
    return InteractionData(shape[0], shape[1], train, test, name=name)


def _download_lightgcn(spec: RecSpec, dest: Path) -> None:
    from torch_geometric.data import download_url

    dest.mkdir(parents=True, exist_ok=True)
    if spec.folder == "lastfm":  # LightGCN-PyTorch ships 1-based TSV rows
        for src, out in (("data1.txt", "train.txt"), ("test1.txt", "test.txt")):
            path = Path(download_url(f"{spec.url}/{src}", str(dest), log=False))
            rows = np.loadtxt(path, dtype=np.int64, ndmin=2)[:, :2] - 1
            lines = {}
            for u, i in rows.tolist():
                lines.setdefault(u, []).append(str(i))
            (dest / out).write_text("".join(
                f"{u} {' '.join(v)}\n" for u, v in sorted(lines.items())))
        return
    for file in ("train.txt", "test.txt", "user_list.txt", "item_list.txt"):
        download_url(f"{spec.url}/{file}", str(dest), log=False)


def load_interactions(name: Union[str, os.PathLike[str]],
                      root: Union[str, os.PathLike[str], None] = None,
                      val_fraction: float = 0.0, seed: int = 0,
                      download: Optional[bool] = None) -> InteractionData:
    r"""Loads a recommendation data set as :class:`InteractionData`.

    ``name`` is one of:

    - a known LightGCN split, case-insensitive (:data:`REC_DATASETS`:
      ``"Gowalla"``, ``"LastFM"``, ``"Yelp2018"``, ``"Amazon-book"``), read
      from ``<root>/rec/<folder>/`` (root: the argument, else ``$GCL_DATA``,
      else the user cache), or, when missing, from the cache, downloaded from
      LightGCN-PyTorch if the network is allowed (``download``; by default
      unless ``GCL_OFFLINE=1``);
    - ``"pyg:<Class>"`` for a PyG data set in :mod:`torch_geometric.datasets`
      (``"pyg:AmazonBook"``, ``"pyg:MovieLens100K"``), built in the cache;
    - a folder holding LightGCN's ``train.txt``/``test.txt`` or LightGCL's
      ``trnMat.pkl``/``tstMat.pkl``.

    Args:
        name (str or Path): What to load.
        root (str or Path, optional): The data root. (default: :obj:`None`)
        val_fraction (float, optional): Carve this fraction of each user's
            training interactions into ``val``
            (:meth:`InteractionData.split_validation`); 0 keeps the published
            split. (default: :obj:`0.0`)
        seed (int, optional): Seed of the validation split. (default: ``0``)
        download (bool, optional): Allow downloading. (default: :obj:`None`,
            unless ``GCL_OFFLINE=1``)

    Raises:
        DatasetNotFoundError: When the files are missing and cannot be
            downloaded (naming the folder and files).
        ValueError: For an unknown name.
    """
    data = _load(name, root, download)
    if val_fraction:
        data = data.split_validation(val_fraction, seed)
    return data


def _load(name, root, download) -> InteractionData:
    if download is None:
        download = os.environ.get("GCL_OFFLINE", "") not in ("1", "true", "True")
    text = str(name)
    if text.lower().startswith("pyg:"):
        import torch_geometric.datasets as pyg_datasets

        cls_name = text[4:]
        cls = getattr(pyg_datasets, cls_name, None)
        if cls is None:
            raise ValueError(f"torch_geometric.datasets has no {cls_name!r}")
        folder = cache_dir() / "rec" / "pyg" / cls_name
        return InteractionData.from_hetero(cls(str(folder))[0], name=cls_name)
    key = text.lower()
    key = _ALIASES.get(key, key)
    if key in REC_DATASETS:
        spec = REC_DATASETS[key]
        for folder in (data_root(root) / "rec" / spec.folder,
                       cache_dir() / "rec" / spec.folder):
            if (folder / "train.txt").is_file():
                return read_lightgcn(folder, spec.name)
        if download:
            try:
                _download_lightgcn(spec, folder)
                return read_lightgcn(folder, spec.name)
            except (OSError, ValueError) as e:
                reason = f"the download failed ({e})"
        else:
            reason = "downloads are off (GCL_OFFLINE=1)"
        where = data_root(root) / "rec" / spec.folder
        raise DatasetNotFoundError(
            f"{spec.name} not found: put LightGCN's train.txt and test.txt in "
            f"{where} (or set GCL_DATA to a root holding rec/{spec.folder}/); "
            f"{reason}", spec.name, str(where), ["train.txt", "test.txt"])
    path = Path(name)
    if path.is_dir():
        if (path / "train.txt").is_file():
            return read_lightgcn(path, path.name)
        if (path / "trnMat.pkl").is_file():
            return read_lightgcl(path, path.name)
        raise DatasetNotFoundError(
            f"{path} holds neither LightGCN's train.txt/test.txt nor LightGCL's "
            f"trnMat.pkl/tstMat.pkl", str(name), str(path),
            ["train.txt", "test.txt"])
    known = ", ".join(s.name for s in REC_DATASETS.values())
    raise ValueError(f"unknown recommendation data set {name!r}; known: {known}, "
                     f"'pyg:<Class>' or a folder")
