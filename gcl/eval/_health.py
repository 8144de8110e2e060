r"""Has an embedding collapsed? Spread and effective rank of frozen embeddings.

Contrastive training can end with every node at (nearly) one point, *complete
collapse* (for example when a large step leaves every ReLU unit of the
encoder dead, after which no gradient flows), or with the points spread over
a few directions only, *dimensional collapse* (Jing et al., "Understanding
Dimensional Collapse in Contrastive Self-supervised Learning", ICLR 2022).
Neither raises an error: a probe on such embeddings scores near the majority
class, and the number looks like a bad method rather than a failed run.
:func:`embedding_health` measures both, so that a run record can say which
it was.

For embeddings :math:`\mathbf{Z} \in \mathbb{R}^{N \times d}` with mean row
:math:`\boldsymbol{\mu}` and centred rows
:math:`\bar{\mathbf{z}}_i = \mathbf{z}_i - \boldsymbol{\mu}`:

.. math::
    \mathrm{spread} = \frac{\lVert \bar{\mathbf{Z}} \rVert_F}
    {\lVert \mathbf{Z} \rVert_F}, \qquad
    \mathrm{erank} = \exp\Big(-\sum_k p_k \log p_k\Big), \quad
    p_k = \frac{\sigma_k}{\sum_l \sigma_l},

where :math:`\sigma_k` are the singular values of :math:`\bar{\mathbf{Z}}`
(the effective rank of Roy and Vetterli, EUSIPCO 2007: between 1, one
direction, and :math:`d`, all directions equally used). The spread is 0
when all rows are equal and 1 when the mean row is 0.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from gcl.eval._validation import check_embeddings

__all__ = ["embedding_health"]


def embedding_health(z: Tensor, *, collapse_spread: float = 1e-3,
                     block_size: int = 65536) -> dict[str, Any]:
    r"""Spread, effective rank and dead dimensions of embeddings ``z``.

    Computed in float64 in row blocks of ``block_size`` (two passes: the
    mean, then the centred sums), so an ``N x d`` float32 matrix is never
    copied whole and the centring does not cancel digits when the rows
    nearly agree.

    .. code-block:: python

        health = embedding_health(model.embed(data))
        if health["collapsed"]:
            ...  # every node has (nearly) the same embedding

    Args:
        z (torch.Tensor): Embeddings ``[N, d]`` (``N >= 2``), any device.
        collapse_spread (float, optional): ``collapsed`` is :obj:`True` when
            the spread is below this (or ``z`` is all zero). (default:
            :obj:`1e-3`)
        block_size (int, optional): Rows per block. (default: :obj:`65536`)

    Returns:
        dict: ``spread`` (float), ``effective_rank`` (float; 0 when all rows
        are equal), ``dead_dims`` (int, columns with one value over all
        rows), ``dims`` (int, ``d``) and ``collapsed`` (bool).

    Raises:
        ValueError: For fewer than 2 rows, NaN or inf entries, or a
            ``collapse_spread`` outside (0, 1) or ``block_size < 1``.
    """
    z = check_embeddings(z)
    if z.size(0) < 2:
        raise ValueError(f"embedding_health needs at least 2 rows, got {z.size(0)}")
    if not 0.0 < collapse_spread < 1.0:
        raise ValueError(f"collapse_spread must be in (0, 1), got {collapse_spread}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    n, d = z.shape
    blocks = z.split(block_size)
    total = sum(b.double().sum(0) for b in blocks)
    mean = total / n
    sq = z.new_zeros((), dtype=torch.float64)
    centred_sq = z.new_zeros((), dtype=torch.float64)
    gram = z.new_zeros(d, d, dtype=torch.float64)
    low = torch.stack([b.min(0).values for b in blocks]).min(0).values
    high = torch.stack([b.max(0).values for b in blocks]).max(0).values
    for b in blocks:
        b = b.double()
        c = b - mean
        sq += b.square().sum()
        centred_sq += c.square().sum()
        gram += c.T @ c
    norm = math.sqrt(float(sq))
    spread = math.sqrt(float(centred_sq)) / norm if norm > 0 else 0.0
    # singular values of the centred Z from the eigenvalues of its Gram matrix
    sigma = torch.linalg.eigvalsh(gram).clamp_min(0.0).sqrt()
    if float(sigma.sum()) > 0:
        p = sigma / sigma.sum()
        p = p[p > 0]
        erank = math.exp(float(-(p * p.log()).sum()))
    else:
        erank = 0.0
    return {"spread": spread, "effective_rank": erank,
            "dead_dims": int((low == high).sum()), "dims": d,
            "collapsed": spread < collapse_spread}
