import os
import subprocess
import sys

import numpy as np
import pytest
import torch

# pytest-xdist runs one process per core: one torch thread each avoids the
# OpenMP oversubscription that slows every worker down many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def portable_argsort(tmp_path_factory):
    """``np.argsort(x, axis=1)`` of a float64 matrix in numpy's portable
    introsort order, the order of numpy before 1.25 on every CPU (MEOW's
    authors ran 1.23.5): computed in a child process with all of numpy's
    SIMD dispatch targets disabled (``NPY_DISABLE_CPU_FEATURES``), since
    numpy 1.25 and later sort float64 with AVX2 / AVX-512 kernels whose
    order among ties differs between machines."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(__cpu_dispatch__))
    folder = tmp_path_factory.mktemp("argsort")
    code = ("import sys, numpy as np; np.save(sys.argv[2], "
            "np.argsort(np.load(sys.argv[1]), axis=1))")

    def argsort(x):
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        np.save(folder / "x.npy", x)
        subprocess.run([sys.executable, "-c", code, str(folder / "x.npy"),
                        str(folder / "out.npy")], env=env, check=True)
        return np.load(folder / "out.npy")

    return argsort
