"""The registry of node-classification datasets that :func:`gcl.datasets.load` knows.

Each entry is a :class:`DatasetSpec`: the canonical name, its family (``"pyg"``:
built by a PyG dataset class; ``"sdcn"``: read from SDCN's text files by
:mod:`gcl.datasets.sdcn`; ``"heco"``: HeCo-format heterogeneous files read by
:func:`gcl.datasets.load_heco_hetero`), the PyG dataset class and its
constructor arguments,
the folder that holds the raw files, their names, and the dataset's size for the
docs.

On-disk layout of a data root (the same as ``shared/data``)::

    <root>/pyg/Cora/raw/ind.cora.{x,tx,allx,y,ty,ally,graph,test.index}
    <root>/pyg/CiteSeer/raw/ind.citeseer.{...}
    <root>/pyg/PubMed/raw/ind.pubmed.{...}
    <root>/pyg/Photo/raw/amazon_electronics_photo.npz
    <root>/pyg/Computers/raw/amazon_electronics_computers.npz
    <root>/pyg/CS/raw/ms_academic_cs.npz
    <root>/pyg/Physics/raw/ms_academic_phy.npz
    <root>/pyg/WikiCS/raw/data.json
    <root>/pyg/DBLP/raw/dblp.npz
    <root>/sdcn/acm/{acm.txt.gz,acm_graph.txt,acm_label.txt}
    <root>/sdcn/cite/{cite.txt.gz,cite_graph.txt,cite_label.txt}
    <root>/heco/{acm,dblp,aminer,freebase,imdb}/{labels.npy,pa.txt,...}

(SDCN's own uncompressed ``acm.txt`` / ``cite.txt`` are accepted in place of the
``.txt.gz`` files.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DATASETS", "FAMILIES", "DatasetSpec", "get_spec", "known_names"]

#: Dataset families: how the raw files are laid out and read.
FAMILIES = ("pyg", "sdcn", "heco")

_PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


@dataclass(frozen=True)
class DatasetSpec:
    """How to find, build and describe one dataset.

    Args:
        name (str): Canonical name, e.g. ``"Cora"``; set as ``data.name``.
        pyg_class (str): Name of the class in :mod:`torch_geometric.datasets`
            (empty for other families).
        kwargs (Mapping[str, Any]): Constructor arguments besides ``root`` and
            ``transform``, e.g. ``{"name": "Cora"}``.
        folder (str): Folder under ``<root>/<family>/`` with the raw files:
            ``<root>/pyg/<folder>/raw`` for PyG sets, ``<root>/sdcn/<folder>``
            for SDCN's.
        pyg_dir (str): Folder, relative to the root handed to PyG, in which the PyG
            class expects ``raw/`` and writes ``processed/`` (PyG's own naming, e.g.
            ``"dblp"`` for ``CitationFull``; empty for other families).
        root_is_dataset_dir (bool): ``True`` for classes such as ``WikiCS`` whose
            ``root`` argument is the dataset folder itself (``<root>/raw``).
        raw_files (tuple[str, ...]): File names expected in the raw folder.
        url (str): Where PyG downloads the raw files from (for a family that
            cannot download: where the files come from).
        num_nodes (int): Number of nodes.
        num_edges (int, optional): Number of directed edges in ``edge_index`` as
            PyG returns it (``None`` where not verified).
        num_features (int): Feature dimension.
        num_classes (int): Number of classes.
        aliases (tuple[str, ...]): Extra accepted names (matched case-insensitively,
            ignoring ``-``, ``_`` and spaces).
        bundled (bool): Whether the raw files ship inside the package.
        description (str): One line for docs and the CLI.
        family (str): ``"pyg"``, ``"sdcn"`` or ``"heco"`` (HeCo-format
            heterogeneous files read by :func:`gcl.datasets.load_heco_hetero`;
            see :data:`FAMILIES`). (default: ``"pyg"``)
        alt_files (Mapping[str, tuple[str, ...]]): Accepted stand-ins for a raw
            file, e.g. SDCN's uncompressed ``acm.txt`` for ``acm.txt.gz``.
            (default: none)
        target (str): For a heterogeneous graph (``HeteroData``), the labelled
            node type that ``num_nodes``, ``num_features`` and ``num_classes``
            describe; empty for homogeneous graphs. (default: ``""``)
    """

    name: str
    pyg_class: str
    kwargs: Mapping[str, Any]
    folder: str
    pyg_dir: str
    raw_files: tuple[str, ...]
    url: str
    num_nodes: int
    num_edges: int | None
    num_features: int
    num_classes: int
    aliases: tuple[str, ...] = ()
    root_is_dataset_dir: bool = False
    bundled: bool = False
    description: str = ""
    family: str = "pyg"
    alt_files: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    target: str = ""

    @property
    def hetero(self) -> bool:
        """Whether :func:`gcl.datasets.load` returns a ``HeteroData``."""
        return bool(self.target)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")

    @property
    def downloadable(self) -> bool:
        """Whether :func:`gcl.datasets.load` can download the raw files."""
        return self.family == "pyg"

    @property
    def loader(self) -> str:
        """What reads the raw files, for listings: the PyG class or the family."""
        return self.pyg_class if self.family == "pyg" else self.family.upper()

    def raw_dir(self, root: str | Path) -> Path:
        """Directory under a data root where this dataset's raw files live.

        Args:
            root (str | Path): A data root (the folder that contains ``pyg/``,
                ``sdcn/``, ...).

        Returns:
            Path: ``<root>/pyg/<folder>/raw`` (PyG family),
            ``<root>/sdcn/<folder>`` (SDCN family) or ``<root>/heco/<folder>``
            (HeCo family).
        """
        if self.family == "pyg":
            return Path(root) / "pyg" / self.folder / "raw"
        return Path(root) / self.family / self.folder

    def find_file(self, raw_dir: str | Path, name: str) -> Path | None:
        """The path of raw file ``name`` (or of a stand-in from ``alt_files``).

        Args:
            raw_dir (str | Path): Directory to look in.
            name (str): One of :attr:`raw_files`.

        Returns:
            Path, optional: The first of ``name`` and its stand-ins that exists,
            else :obj:`None`.
        """
        for candidate in (name, *self.alt_files.get(name, ())):
            path = Path(raw_dir) / candidate
            if path.is_file():
                return path
        return None

    def pyg_raw_dir(self, base: str | Path) -> Path:
        """Directory where the PyG class looks for raw files, given a PyG root.

        Args:
            base (str | Path): The folder whose layout PyG will manage.

        Returns:
            Path: ``<base>/<pyg_dir>/raw``.
        """
        return Path(base) / self.pyg_dir / "raw"

    def missing_files(self, raw_dir: str | Path) -> list[str]:
        """Names of the expected raw files that are absent from ``raw_dir``.

        Args:
            raw_dir (str | Path): Directory to check.

        Returns:
            list[str]: Missing file names, empty when the dataset is complete.
        """
        return [f for f in self.raw_files if self.find_file(raw_dir, f) is None]

    def build(self, base: str | Path, transform: Any = None) -> Any:
        """Instantiate the PyG dataset on a PyG root (downloads/processes as PyG does).

        Args:
            base (str | Path): The folder that PyG manages (it writes ``processed/``
                below it, so it must be writable).
            transform (callable, optional): Passed to the PyG dataset.
                (default: :obj:`None`)

        Returns:
            torch_geometric.data.InMemoryDataset: The dataset.

        Raises:
            TypeError: For a dataset that is not of the PyG family.
        """
        if self.family != "pyg":
            raise TypeError(f"{self.name} is read by gcl.datasets.{self.family}, "
                            "not built by a PyG dataset class")
        import torch_geometric.datasets as pyg_datasets

        cls = getattr(pyg_datasets, self.pyg_class)
        root = Path(base) / self.pyg_dir if self.root_is_dataset_dir else Path(base)
        return cls(root=str(root), transform=transform, **dict(self.kwargs))


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def _planetoid(name: str, **kw: Any) -> DatasetSpec:
    files = tuple(f"ind.{name.lower()}.{s}" for s in _PLANETOID_SUFFIXES)
    return DatasetSpec(
        name=name,
        pyg_class="Planetoid",
        kwargs={"name": name, "split": "public"},
        folder=name,
        pyg_dir=name,
        raw_files=files,
        url="https://github.com/kimiyoung/planetoid/raw/master/data",
        **kw,
    )


def _heco(name: str, folder: str, **kw: Any) -> DatasetSpec:
    from gcl.datasets.heco_hetero import HECO_SCHEMAS

    schema = HECO_SCHEMAS[name]
    return DatasetSpec(
        name=name,
        pyg_class="",
        kwargs={},
        folder=folder,
        pyg_dir="",
        raw_files=schema.raw_files(),
        url=("https://github.com/jianxiangyu/MEOW" if folder == "imdb"
             else "https://github.com/liun-online/HeCo"),
        num_nodes=schema.num_nodes[schema.target],
        num_edges=None,
        num_classes=schema.num_classes,
        family="heco",
        target=schema.target,
        description=schema.description,
        **kw,
    )


def _pyg_hetero(name: str, cls: str, target: str, **kw: Any) -> DatasetSpec:
    return DatasetSpec(name=name, pyg_class=cls, num_edges=None, target=target,
                       **kw)


_HGB_FILES = ("info.dat", "node.dat", "link.dat", "label.dat", "label.dat.test")


def _hgb(name: str, target: str, **kw: Any) -> DatasetSpec:
    """A set of PyG's ``HGBDataset``; sizes not verified offline (0 = unknown)."""
    return _pyg_hetero(
        f"HGB-{name}", "HGBDataset", target,
        kwargs={"name": name},
        folder=f"HGB-{name}",
        pyg_dir=name.lower(),
        raw_files=tuple(f"{name}/{f}" for f in _HGB_FILES),
        url="https://drive.google.com (PyG's HGBDataset file ids)",
        num_nodes=0, num_features=0, num_classes=0,
        description=f"HGB benchmark {name} (PyG HGBDataset; test labels are "
        "hidden by HGB), heterogeneous; online only",
        **kw)


def _sdcn(name: str, stem: str, **kw: Any) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        pyg_class="",
        kwargs={},
        folder=stem,
        pyg_dir="",
        raw_files=(f"{stem}.txt.gz", f"{stem}_graph.txt", f"{stem}_label.txt"),
        alt_files={f"{stem}.txt.gz": (f"{stem}.txt",)},
        url="https://github.com/bdy9527/SDCN",
        family="sdcn",
        **kw,
    )


_GNN_BENCHMARK = "https://github.com/shchur/gnn-benchmark/raw/master/data/npz"


def _gnn_benchmark(name: str, pyg_class: str, npz: str, **kw: Any) -> DatasetSpec:
    """An ``Amazon`` or ``Coauthor`` set: one ``<npz>.npz`` of gnn-benchmark."""
    return DatasetSpec(
        name=name,
        pyg_class=pyg_class,
        kwargs={"name": name},
        folder=name,
        pyg_dir=name,
        raw_files=(f"{npz}.npz",),
        url=_GNN_BENCHMARK,
        **kw,
    )


_SPECS: tuple[DatasetSpec, ...] = (
    _planetoid(
        "Cora",
        num_nodes=2708,
        num_edges=10556,
        num_features=1433,
        num_classes=7,
        bundled=True,
        description="Planetoid citation graph, bag-of-words, public split "
        "140/500/1000 (bundled)",
    ),
    _planetoid(
        "CiteSeer",
        num_nodes=3327,
        num_edges=9104,
        num_features=3703,
        num_classes=6,
        description="Planetoid citation graph, bag-of-words, public split 120/500/1000",
    ),
    _planetoid(
        "PubMed",
        num_nodes=19717,
        num_edges=88648,
        num_features=500,
        num_classes=3,
        description="Planetoid citation graph, TF-IDF, public split 60/500/1000",
    ),
    _gnn_benchmark(
        "Photo", "Amazon", "amazon_electronics_photo",
        num_nodes=7650,
        num_edges=238162,
        num_features=745,
        num_classes=8,
        aliases=("Amazon-Photo", "AmazonPhoto"),
        description="Amazon co-purchase graph (photo), bag-of-words reviews",
    ),
    _gnn_benchmark(
        "Computers", "Amazon", "amazon_electronics_computers",
        num_nodes=13752,
        num_edges=491722,
        num_features=767,
        num_classes=10,
        aliases=("Amazon-Computers", "AmazonComputers", "Computer"),
        description="Amazon co-purchase graph (computers), bag-of-words reviews",
    ),
    _gnn_benchmark(
        "CS", "Coauthor", "ms_academic_cs",
        num_nodes=18333,
        num_edges=163788,
        num_features=6805,
        num_classes=15,
        aliases=("Coauthor-CS", "CoauthorCS"),
        description="Microsoft Academic co-author graph (CS), keyword features",
    ),
    _gnn_benchmark(
        "Physics", "Coauthor", "ms_academic_phy",
        num_nodes=34493,
        num_edges=495924,
        num_features=8415,
        num_classes=5,
        aliases=("Coauthor-Physics", "CoauthorPhysics", "Phy"),
        description="Microsoft Academic co-author graph (physics), keyword features",
    ),
    DatasetSpec(
        name="WikiCS",
        pyg_class="WikiCS",
        kwargs={"is_undirected": True},
        folder="WikiCS",
        pyg_dir="WikiCS",
        root_is_dataset_dir=True,
        raw_files=("data.json",),
        url="https://github.com/pmernyei/wiki-cs-dataset/raw/master/dataset",
        num_nodes=11701,
        num_edges=None,  # 216,123 undirected edges (paper); not verified offline
        num_features=300,
        num_classes=10,
        aliases=("Wiki-CS",),
        description="Wikipedia CS articles, GloVe features (can be negative), "
        "20 public train/val splits",
    ),
    DatasetSpec(
        name="DBLP",
        pyg_class="CitationFull",
        kwargs={"name": "DBLP"},
        folder="DBLP",
        pyg_dir="dblp",
        raw_files=("dblp.npz",),
        url="https://github.com/abojchevski/graph2gauss/raw/master/data",
        num_nodes=17716,
        num_edges=105734,
        num_features=1639,
        num_classes=4,
        aliases=("CitationFull-DBLP",),
        description="DBLP citation graph (CitationFull), bag-of-words",
    ),
    _sdcn(
        "ACM-SDCN",
        "acm",
        num_nodes=3025,
        num_edges=26256,
        num_features=1870,
        num_classes=3,
        aliases=("SDCN-ACM",),
        description="SDCN's ACM paper graph (co-author edges), binary keyword "
        "features; deep-clustering benchmark (not HeCo's ACM)",
    ),
    _sdcn(
        "Citeseer-SDCN",
        "cite",
        num_nodes=3327,
        num_edges=9104,
        num_features=3703,
        num_classes=6,
        aliases=("SDCN-Citeseer", "Cite-SDCN", "SDCN-Cite"),
        description="SDCN's Citeseer: PyG CiteSeer's graph, features and node "
        "order; labels 1..6 in the file, 0..5 here",
    ),
    # Heterogeneous sets (HeteroData); sizes describe the target node type.
    _heco("ACM-HeCo", "acm", num_features=1902, aliases=("HeCo-ACM",)),
    _heco("DBLP-HeCo", "dblp", num_features=334, aliases=("HeCo-DBLP",)),
    _heco("AMiner-HeCo", "aminer", num_features=6564,
          aliases=("HeCo-AMiner",)),
    _heco("Freebase-HeCo", "freebase", num_features=3492,
          aliases=("HeCo-Freebase",)),
    _heco("IMDB-MEOW", "imdb", num_features=5927, aliases=("MEOW-IMDB",)),
    _pyg_hetero(
        "DBLP-MAGNN", "DBLP", "author",
        kwargs={},
        folder="DBLP-MAGNN",
        pyg_dir="DBLP-MAGNN",
        root_is_dataset_dir=True,
        raw_files=("adjM.npz", "features_0.npz", "features_1.npz",
                   "features_2.npy", "labels.npy", "node_types.npy",
                   "train_val_test_idx.npz"),
        url="https://www.dropbox.com/s/yh4grpeks87ugr2/DBLP_processed.zip",
        num_nodes=4057, num_features=334, num_classes=4,  # PyG's DBLP docs
        aliases=("PyG-DBLP-Hetero", "MAGNN-DBLP"),
        description="PyG's heterogeneous DBLP (MAGNN's split): authors, "
        "papers, terms, conferences; online only"),
    _pyg_hetero(
        "IMDB-MAGNN", "IMDB", "movie",
        kwargs={},
        folder="IMDB-MAGNN",
        pyg_dir="IMDB-MAGNN",
        root_is_dataset_dir=True,
        raw_files=("adjM.npz", "features_0.npz", "features_1.npz",
                   "features_2.npz", "labels.npy", "train_val_test_idx.npz"),
        url="https://www.dropbox.com/s/g0btk9ctr1es39x/IMDB_processed.zip",
        num_nodes=0, num_features=0, num_classes=3,  # sizes not verified offline
        aliases=("PyG-IMDB-Hetero", "MAGNN-IMDB"),
        description="PyG's heterogeneous IMDB (MAGNN's split): movies, "
        "directors, actors; online only"),
    _hgb("ACM", "paper"),
    _hgb("DBLP", "author"),
    _hgb("IMDB", "movie"),
    _hgb("Freebase", "book"),
)

#: Canonical name -> :class:`DatasetSpec`, in documentation order.
DATASETS: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}

_LOOKUP: dict[str, DatasetSpec] = {}
for _spec in _SPECS:
    for _alias in (_spec.name, *_spec.aliases):
        _LOOKUP[_key(_alias)] = _spec


def known_names() -> list[str]:
    """Canonical names of all registered datasets.

    Returns:
        list[str]: E.g. ``["Cora", "CiteSeer", ...]``.
    """
    return list(DATASETS)


def get_spec(name: str) -> DatasetSpec:
    """Look a dataset up by name or alias (case-insensitive).

    Args:
        name (str): E.g. ``"cora"``, ``"amazon-photo"``, ``"coauthor-cs"``.

    Returns:
        DatasetSpec: The registry entry.

    Raises:
        ValueError: If the name is unknown; the message lists the known names.
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    spec = _LOOKUP.get(_key(name))
    if spec is None:
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)} "
            "(case-insensitive; aliases such as 'amazon-photo', 'coauthor-cs', "
            "'wiki-cs', 'sdcn-acm' are accepted)."
        )
    return spec
