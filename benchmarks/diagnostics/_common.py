"""What the lockstep diagnostics in this folder share.

A lockstep script runs gcl's implementation of a method next to the
authors' official code: both start from the same weights, draw (or are
handed) the same views from the same random numbers, and every step the
script prints how far the losses, drop probabilities, views and weights of
the two have moved apart. The official code is never part of this
repository: each script takes the path of a checkout (``--official``) and
imports its files, patched in memory where today's torch / PyG need it.

Each script keeps what belongs to its method (the official training step,
re-typed; what it compares; its table). This module holds the rest:

- the command line: :func:`lockstep_parser`;
- importing official files: :func:`patch_source`, :func:`read_official`,
  :func:`load_patched`, :func:`official_function`, :func:`stub_module`,
  :func:`skip_jittable`, :func:`log_patches`, and MEOW's k-means on faiss-cpu
  (:data:`MEOW_KMEANS_CPU_PATCHES`);
- the same start on both sides: :func:`seed_all`, :func:`load_dense`,
  :func:`official_activation`, :func:`copy_gcn_weights`,
  :func:`copy_grace_weights`, :func:`adam_pair`;
- the same views: :class:`BernoulliCapture`, :func:`from_same_rng`,
  :func:`replay_views`, :func:`swapped_augmentors`, :func:`patched` (a
  function replaced inside a ``with`` block, e.g. by one that hands both
  sides the same random draws);
- the per-step differences: :func:`max_abs_diff`, :func:`max_weight_diff`
  and :class:`Worst`.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

Patches = Sequence[tuple[str, str]]

#: Text patches that run MEOW's ``run_kmeans`` (``code_meow/module/cluster.py``
#: of ``jianxiangyu/MEOW``) on faiss-cpu: ``.cuda()`` removed and the GPU index
#: (``StandardGpuResources``, ``GpuIndexFlatConfig``, ``GpuIndexFlatIP``)
#: replaced by the CPU ``faiss.IndexFlatIP(d)``; ``clus.gpu = True`` is left
#: (an inert attribute on faiss-cpu).
MEOW_KMEANS_CPU_PATCHES: Patches = (
    (".cuda()", ""),
    ("res = faiss.StandardGpuResources()", "pass"),
    ("cfg = faiss.GpuIndexFlatConfig()", "pass"),
    ("cfg.useFloat16 = False", "pass"),
    ("cfg.device = 0", "pass"),
    ("index = faiss.GpuIndexFlatIP(res, d, cfg)", "index = faiss.IndexFlatIP(d)"),
)


# ---------------------------------------------------------------- command line
def lockstep_parser(doc: str, official_help: str = "official checkout",
                    *, seed: int | None = 0,
                    dtype: str | None = None,
                    dtype_help: str | None = None) -> argparse.ArgumentParser:
    """The command line every lockstep script starts from.

    Args:
        doc (str): The script's docstring; its first paragraph becomes the
            description.
        official_help (str, optional): Help text of ``--official`` (required,
            the path of the official checkout). (default: ``"official
            checkout"``)
        seed (int, optional): Default of ``--seed``; :obj:`None` leaves the
            option out. (default: ``0``)
        dtype (str, optional): Default of ``--dtype`` (``"float32"`` or
            ``"float64"``); :obj:`None` leaves the option out.
            (default: :obj:`None`)
        dtype_help (str, optional): Help text of ``--dtype``.
            (default: :obj:`None`)
    """
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--official", required=True, help=official_help)
    if seed is not None:
        p.add_argument("--seed", type=int, default=seed)
    if dtype is not None:
        p.add_argument("--dtype", choices=["float32", "float64"], default=dtype,
                       help=dtype_help)
    return p


# ------------------------------------------------------- importing official code
def patch_source(text: str, patches: Patches, where: str,
                 once: bool = False) -> str:
    """Applies text patches ``(old, new)`` to a source file's text.

    Every ``old`` must occur (exactly once with ``once=True``); all its
    occurrences are replaced, in the order given.

    Args:
        text (str): The source text.
        patches (Sequence[tuple[str, str]]): The replacements.
        where (str): The file's name, for the error message.
        once (bool, optional): Require exactly one occurrence.
            (default: :obj:`False`)

    Raises:
        RuntimeError: A patch target is missing (or not unique).
    """
    for old, new in patches:
        count = text.count(old)
        if count == 0 or (once and count != 1):
            raise RuntimeError(f"{where}: patch target found {count} times, "
                               f"expected {'one' if once else 'some'}: {old!r}")
        text = text.replace(old, new)
    return text


def read_official(root: str, rel: str, patches: Patches = ()) -> str:
    """The text of the official file ``root/rel`` with ``\\r`` dropped and
    the text patches applied (:func:`patch_source`, errors named by ``rel``).
    """
    with open(os.path.join(root, rel)) as f:
        return patch_source(f.read().replace("\r", ""), patches, rel)


def load_patched(path: str, name: str, patches: Patches = (),
                 attrs: dict[str, Any] | None = None) -> types.ModuleType:
    """Executes an official source file, patched in memory, as module
    ``name`` (registered in ``sys.modules``, so that later official files
    can import it by that name). The file on disk is not changed.

    Args:
        path (str): The file.
        name (str): The module name.
        patches (Sequence[tuple[str, str]], optional): Text patches
            (:func:`patch_source`). (default: none)
        attrs (dict, optional): Names set in the module before it runs,
            e.g. lists that patched code appends captures to.
            (default: :obj:`None`)
    """
    with open(path) as f:
        text = patch_source(f.read(), patches, path)
    module = types.ModuleType(name)
    module.__file__ = path
    module.__dict__.update(attrs or {})
    sys.modules[name] = module
    exec(compile(text, path, "exec"), module.__dict__)
    return module


def official_function(path: str, name: str,
                      namespace: dict[str, Any] | None = None) -> Callable:
    """A top-level function of an official script that cannot be imported
    (it trains when run), compiled from the file's own text alone: the rest
    of the script does not run. Names the function uses from the script's
    globals go in ``namespace``.
    """
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = [node for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name == name]
    if len(found) != 1:
        raise RuntimeError(f"{path}: {len(found)} top-level functions {name!r}")
    scope = dict(namespace or {})
    exec(compile(ast.Module(body=found, type_ignores=[]), path, "exec"), scope)
    return scope[name]


def stub_module(name: str, **attrs: Any) -> types.ModuleType:
    """Registers a stand-in for an uninstalled module the official code
    imports (e.g. ``torch_scatter``), unless one of that name is already
    imported, and returns what ``import name`` now gives."""
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return sys.modules.setdefault(name, module)


def log_patches(patches: Mapping[str, Patches],
                log: Callable[[str], Any] = print) -> None:
    """Logs every text patch as ``patch <file>: <old> -> <new>``, by file,
    in order."""
    for rel, pairs in patches.items():
        for old, new in pairs:
            log(f"patch {rel}: {old!r} -> {new!r}")


def skip_jittable() -> None:
    """``GCNConv(...).jittable()`` returns the layer itself, without PyG's
    deprecation warning (a no-op since PyG 2.5, removed later)."""
    from torch_geometric.nn import GCNConv

    GCNConv.jittable = lambda self, *args, **kwargs: self


# ------------------------------------------------------------------ same start
def seed_all(seed: int) -> None:
    """Seeds torch's and NumPy's global generators (official code draws
    from both)."""
    torch.manual_seed(seed)
    np.random.seed(seed)


def load_dense(name: str, cfg: dict, dtype: torch.dtype | None = None):
    """Loads data set ``name`` with the data options of a gcl config, with
    dense features (the official functions index and multiply dense ``x``),
    cast to ``dtype`` if given."""
    from gcl.datasets import load

    data = load(name, **{k: v for k, v in cfg["data"].items()
                         if k != "sparse_features"})
    if dtype is not None:
        data.x = data.x.to(dtype)
    return data


def official_activation(name: str) -> Callable:
    """The activation the official GRACE-family encoders take for a gcl
    config's ``activation`` (a fresh ``PReLU`` module for ``"prelu"``)."""
    return {"relu": F.relu, "prelu": torch.nn.PReLU(),
            "rrelu_fixed": F.rrelu}[name]


def copy_gcn_weights(official_convs: Iterable, gcl_convs: Iterable) -> None:
    """Copies the weights and biases of official ``GCNConv`` layers into
    gcl's, layer by layer."""
    with torch.no_grad():
        for co, cg in zip(official_convs, gcl_convs):
            cg.lin.weight.copy_(co.lin.weight)
            cg.bias.copy_(co.bias)


def copy_grace_weights(official, encoder, projector) -> None:
    """Loads an official GRACE-style model (``encoder.conv``, ``fc1``,
    ``fc2``) into gcl's encoder (``convs``) and projection head (``fc1``,
    ``fc2``)."""
    copy_gcn_weights(official.encoder.conv, encoder.convs)
    with torch.no_grad():
        for name in ("fc1", "fc2"):
            getattr(projector, name).load_state_dict(
                getattr(official, name).state_dict())


def adam_pair(official: torch.nn.Module, ours: torch.nn.Module, lr: float,
              weight_decay: float = 0.0):
    """One Adam per side, same settings: ``(official's, gcl's)``."""
    return tuple(torch.optim.Adam(m.parameters(), lr=lr,
                                  weight_decay=weight_decay)
                 for m in (official, ours))


# ------------------------------------------------------------------- same views
class BernoulliCapture:
    """Records the probabilities handed to ``torch.bernoulli`` inside the
    ``with`` block (in :attr:`probs`), draws unchanged."""

    def __init__(self):
        self.probs, self._orig = [], torch.bernoulli

    def __enter__(self):
        def spy(p, *a, **k):
            self.probs.append(p.detach().clone())
            return self._orig(p, *a, **k)
        torch.bernoulli = spy
        return self

    def __exit__(self, *exc):
        torch.bernoulli = self._orig


def from_same_rng(official: Callable[[], Any], ours: Callable[[], Any]):
    """Runs ``official()``, then ``ours()`` from the torch RNG state
    ``official()`` started from.

    Returns:
        tuple: ``(official's result, gcl's result, same)``, ``same`` whether
        both left the RNG in the same state (they drew the same numbers).
    """
    state = torch.get_rng_state()
    out_o = official()
    after = torch.get_rng_state()
    torch.set_rng_state(state)
    out_g = ours()
    return out_o, out_g, torch.equal(torch.get_rng_state(), after)


def replay_views(views: Iterable) -> list:
    """Two augmentors that return ``views`` in turn, instead of drawing
    (for gcl's two-view methods to train on the official views)."""
    it = iter(views)
    return [lambda _: next(it)] * 2


@contextmanager
def swapped_augmentors(method, augmentors: list) -> Iterator[None]:
    """Sets ``method.augmentors`` inside the ``with`` block, then restores
    the method's own."""
    own = method.augmentors
    method.augmentors = augmentors
    try:
        yield
    finally:
        method.augmentors = own


@contextmanager
def patched(owner: Any, name: str, value: Any) -> Iterator[Any]:
    """Sets ``owner.name = value`` inside the ``with`` block (a module's
    function, a method's helper), then restores the original, which the
    block receives (``with patched(torch, "rand", fake) as rand:``)."""
    orig = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield orig
    finally:
        setattr(owner, name, orig)


# ------------------------------------------------------------ the differences
def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """:math:`\\max |a - b|` as a Python float."""
    return (a - b).abs().max().item()


def max_weight_diff(official_convs: Iterable, gcl_convs: Iterable) -> float:
    """The largest weight difference over paired ``GCNConv`` layers."""
    return max(max_abs_diff(co.lin.weight, cg.lin.weight)
               for co, cg in zip(official_convs, gcl_convs))


class Worst(dict):
    """The worst per-step differences of a run so far, by name.

    ``Worst(dl=0.0, views=0)`` starts them; :meth:`max` keeps the largest
    value seen, :meth:`count` adds up (e.g. the steps with equal views).
    """

    def max(self, **values: float | Sequence[float]) -> None:
        """Keeps, per name, the largest of the value so far and the given
        value(s), compared in that order (as Python's ``max``)."""
        for key, value in values.items():
            more = value if isinstance(value, (list, tuple)) else [value]
            self[key] = max([self[key], *more])

    def count(self, **hits: int) -> None:
        """Adds ``hits`` (a bool counts 0 or 1) to the named counts."""
        for key, hit in hits.items():
            self[key] = self[key] + hit
