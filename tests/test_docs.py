"""The documentation site builds with ``mkdocs build --strict``.

Skipped when the ``docs`` extra (mkdocs, mkdocs-material, mkdocstrings) is not
installed: ``pip install -e ".[docs]"``.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocstrings_handlers.python")

ROOT = Path(__file__).resolve().parent.parent
API_PAGES = ("datasets", "augment", "nn", "losses", "methods", "train", "eval",
             "app.config", "app.experiment", "app.record", "app.ranking", "viz")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    # Run from outside the repository: every path in mkdocs.yml must resolve
    # relative to the config file, not to the working directory.
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"mkdocs build --strict failed ({proc.returncode}):\n"
        f"{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    return out


def _html(site, page):
    path = site / page / "index.html"
    assert path.is_file(), f"{page} was not built"
    return path.read_text(encoding="utf-8")


def test_pages_built(site):
    for page in ("", "getting-started", "concepts", "evaluation", "methods/grace"):
        assert "</html>" in _html(site, page)


def test_api_reference_renders_exports(site):
    losses = _html(site, "api/losses")
    for name in ("info_nce", "info_nce_per_node", "InfoNCE"):
        assert f'id="gcl.losses.{name}"' in losses
    assert 'id="gcl.methods.GRACE"' in _html(site, "api/methods")
    assert 'id="gcl.train.fit"' in _html(site, "api/train")
    eval_page = _html(site, "api/eval")
    # The evaluators' modules are private, so each function renders under its
    # public path (a public module of the same name used to shadow it).
    for name in ("node_classification", "clustering", "ranking",
                 "labels_per_class", "link_prediction"):
        assert f'id="gcl.eval.{name}"' in eval_page
    assert 'id="gcl.eval.grace_protocol"' in eval_page
    for page in API_PAGES:
        html = _html(site, f"api/{page.replace('.', '/')}")
        assert f'id="gcl.{page}"' in html
        # reST from the docstrings was converted (docs/griffe_rst.py).
        for rst in (":math:`", ".. math::", ":class:`", ":func:`", ":obj:`", ">`_"):
            assert rst not in html, f"unconverted {rst!r} on api/{page}"


def test_math_is_rendered_for_mathjax(site):
    assert 'class="arithmatex"' in _html(site, "api/losses")
    assert 'class="arithmatex"' in _html(site, "methods/grace")


def test_grace_config_table_matches_configs(site):
    html = _html(site, "methods/grace")
    assert "gcl-configs:" not in html  # the marker was replaced by the hook
    configs = sorted((ROOT / "gcl" / "configs" / "grace").glob("*.yaml"))
    assert configs
    for path in configs:
        assert re.search(rf"<td>{re.escape(path.stem)}</td>", html), path.stem
    assert 'id="results"' in html


def test_rst_to_markdown():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location(
        "griffe_rst", ROOT / "docs" / "griffe_rst.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = (
        "From `\"A Paper\"\n    <https://arxiv.org/abs/1>`_ with :math:`x^2`,\n"
        ":class:`~gcl.nn.GCNEncoder` and :obj:`None`:\n\n"
        ".. math::\n    a = b\n\nThe layout is::\n\n    key: value\n\nEnd.")
    out = mod.rst_to_markdown(text)
    assert "[\"A Paper\"](https://arxiv.org/abs/1)" in out
    assert "$x^2$" in out and "`GCNEncoder`" in out and "`None`" in out
    assert "$$\na = b\n$$" in out
    assert "The layout is:\n\n```text\nkey: value\n```" in out
    assert mod.rst_to_markdown(out) == out  # idempotent
