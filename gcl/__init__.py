"""gcl: graph contrastive learning on PyTorch Geometric.

Data flows one way: ``datasets -> augment -> nn -> losses -> methods -> train ->
eval``. The top level re-exports the subpackages and the training loop
:func:`gcl.fit`.
"""

__version__ = "0.1.0"

from gcl import augment, datasets, eval, losses, methods, nn  # noqa: E402
from gcl.train import History, NonFiniteLossError, fit  # noqa: E402

__all__ = [
    "__version__",
    "augment",
    "datasets",
    "eval",
    "fit",
    "History",
    "losses",
    "methods",
    "nn",
    "NonFiniteLossError",
]
