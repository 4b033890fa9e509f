"""The accurate tier's answers where ``S = sum_{j != argmax} exp(x_j - max)`` is tiny.

``log_softmax`` at the argmax is ``-log1p(S) = -S`` (the ``S**2 / 2`` term is below
2**-1800) and ``logsumexp = m + S`` for a row whose maximum is near 0; with 63 zeros and one
745.0, ``-S = -1.78e-322`` came out as ``-3.1e-322`` (27 subnormal ULPs) from float64 terms.
``S`` comes from :func:`softmax_oracle.numerics.underflow.rounded_rest` (the callers take
this path only below its ``THRESHOLD``, 2**-900); a row whose exact S is positive but
rounds to 0 gives ``-0.0`` at the argmax, an exact 0 gives ``+0.0``.
"""

from __future__ import annotations

import numpy as np

from ..numerics.underflow import has_rest, rounded_rest

__all__ = ["log_softmax_at_max", "logsumexp_small", "negative_zero_at_max"]


def log_softmax_at_max(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``log_softmax`` at the argmax, ``-log1p(S) = -S`` rounded once (``S < 2**-900``): ``-0.0`` where
    the exact S is positive but rounds to 0, ``+0.0`` where it is 0; shape ``(M,)``."""
    return np.where(has_rest(rows, index), -rounded_rest(rows, index), 0.0)


def logsumexp_small(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``m + log1p(S) = m + S`` (``S < 2**-900``): exact S rounded once, then the sum rounded
    (one rounding when ``m = 0``); shape ``(M,)``."""
    return np.take_along_axis(rows, index, axis=-1)[:, 0] + rounded_rest(rows, index)


def negative_zero_at_max(out: np.ndarray, rows: np.ndarray, index: np.ndarray, rest: np.ndarray) -> None:
    """Where a row's plain sum ``rest`` (a column) underflowed to 0 but a logit besides the maximum
    is finite, log_softmax at the argmax is ``-log1p(S)`` with ``S > 0``: ``-0.0``, not ``0 - 0 = +0.0``.
    ``out`` (log_softmax rows, any float dtype) is changed in place."""
    zero = rest[:, 0] == 0
    if not zero.any():
        return
    rr = np.flatnonzero(zero)
    idx = index[rr]
    neg = has_rest(rows[rr], idx)
    if neg.any():
        out[rr[neg], idx[neg, 0]] = -0.0
