"""Legacy row normalisation of node features (PyG <= 2.0 ``NormalizeFeatures``)."""

from __future__ import annotations

from torch_geometric.data import Data, HeteroData
from torch_geometric.transforms import BaseTransform

__all__ = ["RowNormalizeFeatures"]


class RowNormalizeFeatures(BaseTransform):
    r"""Row-normalises features to sum to one, as PyG <= 2.0 did.

    This is the ``NormalizeFeatures`` that GRACE, GCA, CSGCL and gCooL ran with:

    .. math::
        \mathbf{x}_i \leftarrow \frac{\mathbf{x}_i}{\max(1, \sum_j x_{ij})}

    Current PyG (:class:`torch_geometric.transforms.NormalizeFeatures`) first
    subtracts the global minimum, :math:`\mathbf{x} \leftarrow \mathbf{x} -
    \min(\mathbf{x})`, and then applies the same division. The two agree whenever
    the smallest feature value is 0, which is the case for every bag-of-words / TF-IDF
    set here (Cora, CiteSeer, PubMed, Amazon, Coauthor, DBLP). They differ on WikiCS,
    whose GloVe features can be negative; a row whose sum is below 1 (including a
    negative sum) is left unscaled here.

    Like every :class:`~torch_geometric.transforms.BaseTransform`, the input is not
    mutated: a shallow copy with new feature tensors is returned.

    Args:
        attrs (list[str], optional): Names of the attributes to normalise.
            (default: :obj:`["x"]`)
    """

    def __init__(self, attrs: list[str] | None = None) -> None:
        self.attrs = list(attrs) if attrs is not None else ["x"]

    def forward(self, data: Data | HeteroData) -> Data | HeteroData:
        """Normalise ``data``'s feature rows.

        Args:
            data (Data | HeteroData): Graph whose attributes in ``attrs``, shape
                ``[N, F]``, are normalised row-wise.

        Returns:
            Data | HeteroData: The graph with normalised attributes.
        """
        for store in data.stores:
            for key, value in store.items(*self.attrs):
                if value.numel() > 0:
                    value = value.float() if not value.is_floating_point() else value
                    store[key] = value / value.sum(dim=-1, keepdim=True).clamp(min=1.0)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(attrs={self.attrs})"
