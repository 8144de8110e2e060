"""The graph-free MLP encoder of SDCN's autoencoder, SCGC and PamC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import torch
from torch import Tensor

from gcl.nn.activation import activation_resolver
from gcl.nn.sparse_linear import sparse_linear

__all__ = ["MLPEncoder", "sdcn_encoder_state_dict"]


def _is_sparse(x: Tensor) -> bool:
    return x.layout != torch.strided


class MLPEncoder(torch.nn.Module):
    r"""A stack of linear layers, activation on the hidden layers only.

    The encoder of SDCN's pre-trained autoencoder, from `"Structural Deep
    Clustering Network" <https://arxiv.org/abs/2002.01633>`_ (Bo et al., WWW
    2020), which SCGC and PamC (`"Efficient block contrastive learning via
    parameter-free meta-node approximation"
    <https://arxiv.org/abs/2209.14067>`_, Kulatilleke et al., 2022) train
    without message passing (the graph enters through their losses only):

    .. math::
        h^{(0)} = x, \qquad h^{(l)} = \sigma\big(W^{(l)} h^{(l-1)} +
        b^{(l)}\big) \; (l = 1..L), \qquad z = W^{(L+1)} h^{(L)} + b^{(L+1)}.

    The default widths are SDCN's :math:`F \to 500 \to 500 \to 2000 \to 10`
    with ReLU. ``forward`` takes (and ignores) ``edge_index`` and
    ``edge_weight`` so that the module fits the encoder interface. Sparse
    (COO or CSR) features go through :func:`gcl.nn.sparse_linear` in the
    first layer. SDCN's released autoencoder weights load with
    :func:`sdcn_encoder_state_dict`.

    Args:
        in_channels (int): Input feature size :math:`F`.
        out_channels (int, optional): Embedding size. (default: :obj:`10`)
        hidden_channels (Sequence[int], optional): Widths of the hidden
            layers, possibly empty (a single linear map).
            (default: :obj:`(500, 500, 2000)`)
        activation (str or torch.nn.Module, optional): Activation of the
            hidden layers (see :func:`~gcl.nn.activation_resolver`).
            (default: :obj:`"relu"`)

    Shapes:
        - **input:** node features :math:`(N, F)`, dense or sparse
        - **output:** embeddings :math:`(N, \text{out\_channels})`
    """

    def __init__(self, in_channels: int, out_channels: int = 10,
                 hidden_channels: Sequence[int] = (500, 500, 2000),
                 activation: str | torch.nn.Module = "relu"):
        super().__init__()
        widths = [int(in_channels), *(int(h) for h in hidden_channels),
                  int(out_channels)]
        if min(widths) < 1:
            raise ValueError(f"layer widths must be positive, got {widths}")
        self.in_channels = widths[0]
        self.out_channels = widths[-1]
        self.hidden_channels = tuple(widths[1:-1])
        self.lins = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.activation = activation_resolver(activation)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module (PyTorch's default
        :class:`~torch.nn.Linear` initialisation, as SDCN).
        """
        for lin in self.lins:
            lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        """Returns the embeddings ``[N, out_channels]``; the
        graph arguments are ignored.
        """
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f"x must have shape [N, {self.in_channels}], got "
                             f"{tuple(x.shape)}")
        first = self.lins[0]
        if _is_sparse(x):
            x = sparse_linear(x, first.weight, first.bias)
        else:
            x = first(x)
        for lin in self.lins[1:]:
            x = lin(self.activation(x))
        return x

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.out_channels}, hidden_channels={list(self.hidden_channels)})")


def sdcn_encoder_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Maps the encoder keys of an SDCN autoencoder state dict to
    :class:`MLPEncoder`'s.

    SDCN's ``AE`` (``data/pretrain.py``, whose weights ``data/{name}.pkl``
    SDCN, SCGC and PamC load) names its encoder layers ``enc_1``, ``enc_2``,
    ``enc_3`` and ``z_layer``; the decoder keys (``dec_*``, ``x_bar_layer``)
    are dropped, as PamC's ``SCGC_TRIM`` does. A prefix such as ``ae.`` is
    allowed.

    Args:
        state_dict (Mapping[str, torch.Tensor]): The autoencoder's state.

    Returns:
        dict: A state dict for ``MLPEncoder(F, 10, (500, 500, 2000))``
        (``lins.0`` .. ``lins.3``).
    """
    names = ("enc_1", "enc_2", "enc_3", "z_layer")
    out = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[-2] in names:
            out[f"lins.{names.index(parts[-2])}.{parts[-1]}"] = value
    if len(out) != 2 * len(names):
        raise KeyError(f"not an SDCN autoencoder state dict: expected "
                       f"{', '.join(names)} weights and biases, found "
                       f"{sorted(out)}")
    return out
