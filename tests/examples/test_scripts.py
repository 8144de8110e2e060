"""Every script in examples/ runs to the end, as a user starts it.

Each script is started in its own process with two epochs (and one
evaluation run where it takes ``--runs``), writing into a temporary folder,
and must exit 0 and print its evaluation. Scripts on data outside the
package (``$GCL_DATA``: ACM of HeCo and SDCN, Amazon Photo, LastFM) are skipped when
that data is not there; Cora ships with the package.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = os.environ.get("GCL_DATA")

# script, arguments, the data folder under $GCL_DATA (None: bundled), and a
# piece of what it prints once its evaluation has run
SCRIPTS = {
    "cora_grace": (["--epochs", "2", "--out", "{out}"], None, "accuracy"),
    "cora_grace_pot": (["--epochs", "2", "--out", "{out}"], None, "micro_f1"),
    "acm_heco": (["--epochs", "2"], "heco/acm", "macro_f1@20"),
    "acm_heco-meow": (["--method", "meow", "--epochs", "2"], "heco/acm",
                      "macro_f1@20"),
    "acm_heco-adameow": (["--method", "adameow", "--epochs", "2"], "heco/acm",
                         "macro_f1@20"),
    "acm_pamc": (["--epochs", "2", "--out", "{out}"], "sdcn", "max_over_epochs"),
    "photo_csgcl": (["--epochs", "2", "--runs", "1", "--out", "{out}"],
                    "pyg/Photo", "accuracy"),
    "photo_gcool": (["--epochs", "2", "--runs", "1", "--out", "{out}"],
                    "pyg/Photo", "micro_f1"),
    "gowalla_lightgcl": (["--dataset", "LastFM", "--epochs", "2", "--every", "1"],
                         "rec/lastfm", "recall@20"),
}


def test_every_example_is_listed():
    scripts = {p.stem for p in (ROOT / "examples").glob("*.py")}
    assert scripts == {name.split("-")[0] for name in SCRIPTS}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_example_runs(name, tmp_path):
    args, folder, printed = SCRIPTS[name]
    if folder is not None and not (DATA and (Path(DATA) / folder).is_dir()):
        pytest.skip(f"needs {folder} under $GCL_DATA")
    script = ROOT / "examples" / f"{name.split('-')[0]}.py"
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script), *(a.format(out=tmp_path) for a in args)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert printed in proc.stdout, proc.stdout[-2000:]
