"""Per-method, per-dataset hyper-parameters in ``gcl/configs``.

Each ``gcl/configs/<method>/<Dataset>.yaml`` holds a paper's published
hyper-parameters and names its source in a comment. The layout is::

    method: grace          # a method name of gcl.methods (gcl.methods.resolve)
    dataset: Cora          # gcl.datasets name
    seed: 39788
    model: {...}           # keyword arguments of Method.from_config
    train: {epochs, lr, weight_decay}
    data: {normalize}      # gcl.datasets.load options
    eval: {protocol, ...}  # gcl.eval.node_classification options, and how
                           # to report them (rule, every, start)

Any value can be overridden with dotted ``key=value`` strings
(``"train.epochs=50"``, ``"model.drop_edge=[0.1, 0.2]"``), parsed as YAML.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

import yaml

__all__ = ["CONFIG_DIR", "REPORTING_KEYS", "apply_overrides", "config_family",
           "config_path", "list_configs", "load_config", "protocol_options"]

#: Keys of a config's ``eval`` section that say how to report the protocol
#: rather than how it runs (see :mod:`gcl.app.experiment`).
REPORTING_KEYS = ("protocol", "rule", "every", "start")

CONFIG_DIR = Path(__file__).parent.parent / "configs"


def config_family(method: str) -> str:
    """The config folder that ``method`` names (lower case, aliases resolved).

    A folder of that name is taken as it is: besides the methods, some
    folders hold variants (``pot_base``: GRACE with POT's settings and
    ``kappa = 0``; ``pot_csgcl``). Any other name goes through the method
    registry (:func:`gcl.methods.resolve`), so an alias such as
    ``grace_pot`` reads the folder of its method (``pot``).
    """
    name = method.lower()
    if (CONFIG_DIR / name).is_dir():
        return name  # no need to import the methods (and torch)
    from gcl.methods import resolve

    try:
        return resolve(name)
    except ValueError:  # config_path and list_configs name the folders
        return name


def list_configs(method: Optional[str] = None) -> dict[str, list[str]]:
    """Returns ``{method: [dataset, ...]}`` of the shipped configs."""
    out = {}
    family = None if method is None else config_family(method)
    for d in sorted(p for p in CONFIG_DIR.iterdir() if p.is_dir()):
        if family is None or d.name == family:
            out[d.name] = sorted(p.stem for p in d.glob("*.yaml"))
    return out


def config_path(method: str, dataset: str) -> Path:
    """Path of the config of ``method`` on ``dataset`` (case-insensitive)."""
    folder = CONFIG_DIR / config_family(method)
    if not folder.is_dir():
        raise ValueError(f"no configs for method {method!r}; known: "
                         f"{', '.join(list_configs())}")
    for p in folder.glob("*.yaml"):
        if p.stem.lower() == dataset.lower():
            return p
    raise ValueError(f"no {method} config for dataset {dataset!r}; known: "
                     f"{', '.join(list_configs(method)[folder.name])}")


def apply_overrides(cfg: dict, overrides: Iterable[str]) -> dict:
    """Returns a copy of ``cfg`` with dotted ``key=value`` overrides applied.

    Values are parsed as YAML, so ``0.5``, ``true``, ``[0.1, 0.2]`` and
    ``null`` get their types. Unknown top-level sections are refused, since a
    typo would otherwise be ignored silently.
    """
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if parts[0] not in cfg and len(parts) > 1:
            raise ValueError(f"override {item!r}: unknown section {parts[0]!r}; "
                             f"sections: {', '.join(cfg)}")
        node = cfg
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {p!r} is not a section")
        node[parts[-1]] = yaml.safe_load(raw)
    return cfg


def load_config(method: str, dataset: str,
                overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Loads ``gcl/configs/<method>/<dataset>.yaml`` with overrides applied."""
    path = config_path(method, dataset)
    with open(path) as f:
        cfg = yaml.safe_load(f)
    cfg.setdefault("model", {})
    cfg.setdefault("train", {})
    cfg.setdefault("data", {})
    cfg.setdefault("eval", {})
    cfg["source"] = _source_comment(path)
    return apply_overrides(cfg, overrides)


def protocol_options(eval_cfg: dict) -> dict:
    """The protocol's own keyword arguments in a config's ``eval`` section:
    everything but :data:`REPORTING_KEYS` (the protocol's name, the
    reporting rule and the epochs scored during training), e.g. for
    ``node_classification(z, y, cfg["eval"]["protocol"],
    **protocol_options(cfg["eval"]))``.
    """
    return {k: v for k, v in eval_cfg.items() if k not in REPORTING_KEYS}


def _source_comment(path: Path) -> str:
    lines = [line[1:].strip() for line in path.read_text().splitlines()
             if line.startswith("#")]
    text = " ".join(lines)
    return text.split("Source:", 1)[1].strip() if "Source:" in text else text
