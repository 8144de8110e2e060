import os

import torch

# pytest-xdist runs one process per core: one torch thread each avoids the
# OpenMP oversubscription that slows every worker down many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
