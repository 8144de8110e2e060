"""examples/quickstart.ipynb runs from top to bottom without an error.

The notebook is executed with nbmake, exactly as

    python -m pytest --nbmake examples/quickstart.ipynb

does, in a child pytest whose kernel imports ``gcl`` from this checkout. Skipped
when the ``test`` extra's notebook tools (nbmake, ipykernel) are missing:
``pip install -e ".[test]"``.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("nbmake")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def _kernel_python() -> str:
    """The interpreter the notebook's ``python3`` kernel will run."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    exe = spec.argv[0]
    # jupyter_client starts a kernel whose command is a bare "python",
    # "python3" or "python3.X" with the current interpreter (sys.executable).
    major, minor = sys.version_info[:2]
    if exe in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable
    return exe


def test_kernel_is_this_interpreter():
    exe = _kernel_python()
    assert os.path.exists(exe) and os.path.samefile(exe, sys.executable), (
        f"the 'python3' Jupyter kernel runs {exe}, not {sys.executable}; "
        "a kernel spec elsewhere (see `jupyter kernelspec list`) shadows the one "
        "ipykernel installs in this environment")


def test_notebook_has_no_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert not cell.outputs and cell.execution_count is None, (
            f"cell {cell.get('id')} is stored with outputs; clear all outputs "
            "before committing (Jupyter: Edit > Clear Outputs of All Cells)")


@pytest.mark.slow
def test_quickstart_notebook_runs():
    env = dict(os.environ)
    # The kernel imports gcl from this checkout, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # The kernel shows plots as a user's would (inline), not through a
    # headless backend the test run may have set.
    env.pop("MPLBACKEND", None)
    if env.pop("PYTEST_XDIST_WORKER", None) is not None:
        # One torch thread per xdist worker, as tests/conftest.py does.
        env["OMP_NUM_THREADS"] = "1"
    env.pop("PYTEST_XDIST_WORKER_COUNT", None)
    # On shared cores, spinning OpenMP threads slow torch down many times over
    # (README, "Performance note").
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "--nbmake-timeout=600",
         "-p", "no:cacheprovider", "-q", str(NOTEBOOK)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, (
        f"{NOTEBOOK.name} failed (exit {proc.returncode}) after {seconds:.0f} s:\n"
        f"{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}")
    assert "1 passed" in proc.stdout, proc.stdout[-2000:]
