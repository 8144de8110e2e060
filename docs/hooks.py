"""MkDocs hooks: tables generated from ``gcl/configs`` at build time.

A page that contains the marker ``<!-- gcl-configs: METHOD -->`` gets, in its
place, a table of the hyper-parameters of every
``gcl/configs/METHOD/*.yaml`` and the list of their sources, so the docs never
drift from the shipped configs.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml

_MARKER = re.compile(r"<!--\s*gcl-configs:\s*([\w-]+)\s*-->")
_CONFIGS = Path(__file__).resolve().parent.parent / "gcl" / "configs"
# Table order: the registry's (gcl.datasets.DATASETS); others follow by name.
_ORDER = ("cora", "citeseer", "pubmed", "photo", "computers", "cs", "physics",
          "wikics", "dblp")


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " / ".join(_fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def _source(path: Path) -> str:
    lines = [ln[1:].strip() for ln in path.read_text().splitlines()
             if ln.startswith("#")]
    text = " ".join(lines)
    return text.split("Source:", 1)[1].strip() if "Source:" in text else text


def config_table(method: str) -> str:
    """Markdown table of ``gcl/configs/<method>/*.yaml`` with numbered sources."""
    folder = _CONFIGS / method
    paths = sorted(folder.glob("*.yaml"), key=lambda p: (
        _ORDER.index(p.stem.lower()) if p.stem.lower() in _ORDER else len(_ORDER),
        p.stem.lower()))
    if not paths:
        raise ValueError(f"no configs in {folder}")
    header = ("| Dataset | seed | epochs | lr | weight decay | $h$ (layer 1: $2h$) "
              "| proj. | activation | $p_e$ (view 1 / 2) | $p_f$ (view 1 / 2) "
              "| $\\tau$ | features | protocol | paper (acc. %) | source |")
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    sources: list[str] = []
    for path in paths:
        cfg = yaml.safe_load(path.read_text())
        model, train = cfg.get("model", {}), cfg.get("train", {})
        paper = cfg.get("paper") or {}
        published = ""
        if "value" in paper:
            published = _fmt(paper["value"])
            if paper.get("std") is not None:
                published += f" ± {_fmt(paper['std'])}"
            if paper.get("metric", "accuracy") != "accuracy":
                published += f" ({paper['metric']})"
        src = _source(path)
        if src not in sources:
            sources.append(src)
        cells = [
            path.stem,
            _fmt(cfg.get("seed")),
            _fmt(train.get("epochs")),
            _fmt(train.get("lr")),
            _fmt(train.get("weight_decay")),
            _fmt(model.get("hidden_channels")),
            _fmt(model.get("proj_channels")),
            f"`{_fmt(model.get('activation'))}`",
            _fmt(model.get("drop_edge")),
            _fmt(model.get("drop_feature")),
            _fmt(model.get("tau")),
            _fmt(cfg.get("data", {}).get("normalize")),
            f"`{_fmt(cfg.get('eval', {}).get('protocol'))}`",
            published,
            f"[{sources.index(src) + 1}]",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    notes = [f"{i}. {html.escape(s, quote=False)}" for i, s in enumerate(sources, 1)]
    return "\n".join(rows) + "\n\nSources:\n\n" + "\n".join(notes) + "\n"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replaces every ``<!-- gcl-configs: METHOD -->`` marker with its table."""
    return _MARKER.sub(lambda m: config_table(m.group(1)), markdown)
