"""SDCN's autoencoder and its pre-training, with an on-disk cache."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.datasets.paths import cache_dir
from gcl.nn.mlp_encoder import MLPEncoder

__all__ = ["Autoencoder", "autoencoder_cache_path", "pretrain_autoencoder"]

# Bump when the training procedure changes, so that old cache files are not
# mistaken for new ones.
_CACHE_FORMAT = 1
_CACHE_SUBDIR = "autoencoders"


class Autoencoder(torch.nn.Module):
    r"""The fully connected autoencoder of SDCN.

    From `"Structural Deep Clustering Network"
    <https://arxiv.org/abs/2002.01633>`_ (Bo et al., WWW 2020; ``AE`` in
    ``data/pretrain.py`` of ``bdy9527/SDCN``). The encoder is an
    :class:`~gcl.nn.MLPEncoder` :math:`F \to 500 \to 500 \to 2000 \to 10`
    and the decoder mirrors it, :math:`10 \to 2000 \to 500 \to 500 \to F`;
    both have ReLU on their hidden layers and a linear output (neither
    :math:`z` nor :math:`\hat{x}` is activated). The layers are created in
    SDCN's order (encoder, then decoder).

    Args:
        in_channels (int): Input feature size :math:`F`.
        out_channels (int, optional): Embedding size. (default: :obj:`10`)
        hidden_channels (Sequence[int], optional): Encoder hidden widths; the
            decoder uses them reversed. (default: :obj:`(500, 500, 2000)`)

    Shapes:
        - **input:** features :math:`(N, F)`
        - **output:** ``(x_bar, z)``, :math:`(N, F)` and
          :math:`(N, \text{out\_channels})`
    """

    def __init__(self, in_channels: int, out_channels: int = 10,
                 hidden_channels: Sequence[int] = (500, 500, 2000)):
        super().__init__()
        hidden = tuple(int(h) for h in hidden_channels)
        self.encoder = MLPEncoder(in_channels, out_channels, hidden)
        self.decoder = MLPEncoder(out_channels, in_channels, hidden[::-1])
        self.in_channels = self.encoder.in_channels
        self.out_channels = self.encoder.out_channels

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Returns the reconstruction and the embeddings, ``(x_bar, z)``."""
        z = self.encoder(x)
        return self.decoder(z), z

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.out_channels}, "
                f"hidden_channels={list(self.encoder.hidden_channels)})")


def _data_digest(x: Tensor) -> str:
    """SHA-256 of ``x``'s layout, dtype, shape and content."""
    h = hashlib.sha256()
    x = x.detach().cpu()
    h.update(f"{x.layout}|{x.dtype}|{tuple(x.shape)}|".encode())
    if x.layout != torch.strided:
        x = x.to_sparse_coo().coalesce()
        h.update(np.ascontiguousarray(x.indices().numpy()).tobytes())
        h.update(np.ascontiguousarray(x.values().numpy()).tobytes())
    else:
        h.update(np.ascontiguousarray(x.numpy()).tobytes())
    return h.hexdigest()


def _config(in_channels: int, hidden_channels: Sequence[int], out_channels: int,
            epochs: int, lr: float, batch_size: int, seed: int) -> dict:
    return {"format": _CACHE_FORMAT, "in_channels": int(in_channels),
            "hidden_channels": [int(c) for c in hidden_channels],
            "out_channels": int(out_channels), "epochs": int(epochs),
            "lr": float(lr), "batch_size": int(batch_size), "seed": int(seed)}


def _cache_root(cache: Union[bool, str, os.PathLike, None]) -> Optional[Path]:
    if cache is None or cache is False:
        return None
    if cache is True:
        return cache_dir() / _CACHE_SUBDIR
    return Path(cache).expanduser().absolute()


def autoencoder_cache_path(
    x: Tensor,
    hidden_channels: Sequence[int] = (500, 500, 2000),
    out_channels: int = 10,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 256,
    seed: int = 0,
    cache: Union[bool, str, os.PathLike] = True,
) -> Path:
    """The file that :func:`pretrain_autoencoder` caches these weights in.

    Arguments as in :func:`pretrain_autoencoder`. The name is a SHA-256 of
    the data (shape, dtype, layout and content) and the hyper-parameters.

    Returns:
        Path: ``<cache>/ae-<hash>.pt``.
    """
    root = _cache_root(cache)
    if root is None:
        raise ValueError("cache is disabled (None or False): there is no file")
    cfg = _config(x.size(1), hidden_channels, out_channels, epochs, lr,
                  batch_size, seed)
    key = hashlib.sha256(
        (_data_digest(x) + json.dumps(cfg, sort_keys=True)).encode()).hexdigest()
    return root / f"ae-{key[:32]}.pt"


def _load(path: Path, cfg: dict) -> Optional[dict]:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a broken cache file is retrained
        warnings.warn(f"ignoring unreadable autoencoder cache {path}: {e}",
                      stacklevel=3)
        return None
    if not isinstance(blob, dict) or blob.get("config") != cfg:
        warnings.warn(f"ignoring autoencoder cache {path}: it holds another "
                      f"configuration", stacklevel=3)
        return None
    return blob["state_dict"]


def _save(path: Path, blob: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp",
                               dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: the file is complete or absent
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pretrain_autoencoder(
    x: Tensor,
    hidden_channels: Sequence[int] = (500, 500, 2000),
    out_channels: int = 10,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 256,
    seed: int = 0,
    cache: Union[bool, str, os.PathLike, None] = True,
    device: Union[str, torch.device, None] = None,
    progress: bool = False,
) -> Autoencoder:
    r"""Pre-trains SDCN's autoencoder on the features, or loads it from cache.

    The pre-training of `"Structural Deep Clustering Network"
    <https://arxiv.org/abs/2002.01633>`_ (Bo et al., WWW 2020;
    ``data/pretrain.py`` of ``bdy9527/SDCN``), whose weights SDCN, SCGC and
    PamC start from (PamC keeps the encoder only). It minimises the
    reconstruction error

    .. math::
        \mathcal{L} = \frac{1}{B F} \sum_{i \in \text{batch}}
        \lVert x_i - \hat{x}_i \rVert^2

    of the :class:`Autoencoder` (``F.mse_loss``, mean reduction) with Adam
    (:math:`\text{lr} = 10^{-3}`, no weight decay, no learning-rate decay:
    SDCN's ``adjust_learning_rate`` is commented out) over shuffled
    mini-batches of 256 rows (the last one smaller, like a ``DataLoader``
    with ``shuffle=True``) for 30 epochs, in float32 from PyTorch's default
    initialisation. Followed as in SDCN: the architecture (ReLU on every
    hidden layer, linear :math:`z` and :math:`\hat{x}`), the loss, optimiser,
    learning rate, batch size, shuffling and epochs. Different: SDCN sets no
    seed (here ``seed`` fixes the initialisation and the shuffling, without
    touching the global RNG), and its per-epoch k-means evaluation, which
    does not affect training, is left out. The weights therefore differ from
    SDCN's released ``data/{name}.pkl`` (those load with
    :func:`~gcl.nn.sdcn_encoder_state_dict`), and so does the starting
    point of the methods; PamC's README reports its USPS run starting from
    k-means accuracy 0.7098 on SDCN's weights.

    **Cache.** With ``cache`` enabled, the trained state is stored in a file
    named by a SHA-256 of the data (shape, dtype, layout, content) and of the
    hyper-parameters (:func:`autoencoder_cache_path`), written atomically
    (temporary file, then rename), and a later call with the same data and
    hyper-parameters loads it (``torch.load(..., weights_only=True)``)
    instead of training. The default directory is ``autoencoders/`` in the
    gcl cache directory (``$GCL_CACHE``, else ``$XDG_CACHE_HOME/gcl``, else
    ``~/.cache/gcl``), never the data root. The device is not part of the
    key: weights trained on a GPU serve a CPU call and the other way round.
    An unreadable or mismatching file is retrained (with a warning) and
    replaced.

    Args:
        x (torch.Tensor): Node features ``[N, F]``, dense or sparse, finite.
        hidden_channels (Sequence[int], optional): Encoder hidden widths.
            (default: :obj:`(500, 500, 2000)`)
        out_channels (int, optional): Embedding size. (default: :obj:`10`)
        epochs (int, optional): Passes over the data. (default: :obj:`30`)
        lr (float, optional): Adam learning rate. (default: :obj:`1e-3`)
        batch_size (int, optional): Rows per mini-batch.
            (default: :obj:`256`)
        seed (int, optional): Seed of the initialisation and the shuffling.
            (default: :obj:`0`)
        cache (bool or str or PathLike, optional): :obj:`True` for the gcl
            cache directory, a directory path, or :obj:`None`/:obj:`False`
            to neither read nor write a cache. (default: :obj:`True`)
        device (str or torch.device, optional): Where to train.
            (default: :obj:`None`, the device of ``x``)
        progress (bool, optional): Show a tqdm bar over the epochs.
            (default: :obj:`False`)

    Returns:
        Autoencoder: The trained autoencoder, on ``device``, in evaluation
        mode; ``.encoder`` is the :class:`~gcl.nn.MLPEncoder` that PamC
        fine-tunes.
    """
    if x.dim() != 2 or x.size(0) < 1 or x.size(1) < 1:
        raise ValueError(f"x must be a non-empty [N, F] feature matrix, got "
                         f"{tuple(x.shape)}")
    sparse = x.layout != torch.strided
    values = x.detach().coalesce().values() if x.layout == torch.sparse_coo \
        else (x.detach().values() if sparse else x.detach())
    if not values.is_floating_point():
        raise ValueError(f"x must hold floating-point features, got {x.dtype}")
    if not bool(torch.isfinite(values).all()):
        raise ValueError("x holds NaN or infinite features")
    if epochs < 0 or batch_size < 1 or not lr > 0:
        raise ValueError(f"need epochs >= 0, batch_size >= 1 and lr > 0, got "
                         f"{epochs}, {batch_size} and {lr}")
    hidden = tuple(int(h) for h in hidden_channels)
    device = torch.device(device) if device is not None else x.device
    cfg = _config(x.size(1), hidden, out_channels, epochs, lr, batch_size, seed)
    path = None
    if _cache_root(cache) is not None:
        path = autoencoder_cache_path(x, hidden, out_channels, epochs, lr,
                                      batch_size, seed, cache)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ae = Autoencoder(x.size(1), out_channels, hidden)
    if path is not None and path.is_file():
        state = _load(path, cfg)
        if state is not None:
            ae.load_state_dict(state)
            return ae.to(device).eval()

    ae = ae.to(device).train()
    data = x.detach().to(device)
    if sparse:
        data = data.to_sparse_coo().coalesce()
    data = data.to(torch.float32)
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(ae.parameters(), lr=lr)
    n = data.size(0)
    try:  # tqdm.auto warns in Jupyter without ipywidgets: use the text bar then
        import ipywidgets  # noqa: F401
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    for _ in tqdm(range(epochs), disable=not progress, leave=False,
                  desc="autoencoder"):
        perm = torch.randperm(n, generator=gen).to(device)
        for s in range(0, n, batch_size):
            xb = data.index_select(0, perm[s:s + batch_size])
            # sparse rows enter the encoder as they are (gcl.nn.sparse_linear)
            x_bar, _ = ae(xb)
            loss = F.mse_loss(x_bar, xb.to_dense() if sparse else xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    ae.eval()
    if path is not None:
        state = {k: v.detach().cpu() for k, v in ae.state_dict().items()}
        _save(path, {"config": cfg, "state_dict": state})
    return ae
