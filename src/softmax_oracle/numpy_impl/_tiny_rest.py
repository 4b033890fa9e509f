"""The row sum ``S = sum_{j != argmax} exp(x_j - max)`` where it is tiny, without subnormal terms.

When every other logit sits more than ~708 below the maximum, float64 ``exp(x_j - m)``
rounds each term to a subnormal: an absolute error of up to 2**-1075 per term.
Two results are then ``S`` itself: ``log_softmax`` at the argmax, ``-log1p(S) = -S``
(the ``S**2 / 2`` term is below 2**-1800), and ``logsumexp = m + S`` of a row whose
maximum is near 0; with 63 zeros and one 745.0, ``-S = -1.78e-322`` came out as
``-3.1e-322`` (27 subnormal ULPs).  Here the terms come from the double-double
exponential of the exact difference ``x_j - m`` (:func:`numerics.double_double.exp_scaled`:
a mantissa and a power of two, nothing underflows) lifted by ``2**LIFT`` into the
normal range, and their sum (Rump-Ogita-Oishi extraction) is rounded once to float64.

Decisions: the callers take this path only for rows whose plain sum is below
:data:`THRESHOLD` (2**-900: far below it a term's subnormal rounding is at most
``n 2**-175`` relative to S); terms below ``exp(-10000)`` count as 0 in the sum
(they are 2**-13000 below the sum's last digit) but not in the sign:
:func:`has_rest` tells whether the exact S is positive (some other logit is
finite), so that ``-S`` rounds to ``-0.0`` and an exact 0 stays ``+0.0``.  The
final rounding is correct except in the top subnormal binade, where the
round-to-odd of the double-double followed by the rounding to 52 bits can be
1 ULP off.

This operation (a scaled double-double row sum of exponentials) belongs in
``softmax_oracle.numerics`` once that layer settles; it is private here.
"""

from __future__ import annotations

import numpy as np

from ..numerics.double_double import exp_scaled, round_to_odd
from ..numerics.eft import extract_sum, two_sum

__all__ = ["THRESHOLD", "LIFT", "lifted_rest", "rounded_rest", "has_rest", "log_softmax_at_max", "logsumexp_small",
           "negative_zero_at_max"]

THRESHOLD = 2.0**-900
LIFT = 1100  # terms from 2**-2100 up to 2**-900 become normal numbers below 2**200
_TINY = 2.0**-1022


def lifted_rest(rows: np.ndarray, index: np.ndarray, lift: int = LIFT) -> tuple[np.ndarray, np.ndarray]:
    """``S 2**lift = hi + lo`` per row (shape ``(M,)`` each) for float64 rows with a finite maximum
    at column ``index[r]`` (shape ``(M, 1)``), to ~2**-100 relative; for ``S < 2**-900`` with the
    default ``lift``, for any ``S`` with ``lift=0`` (terms below 2**-2000 then count as 0)."""
    m = np.take_along_axis(rows, index, axis=-1)
    with np.errstate(invalid="ignore", over="ignore"):  # -inf - m: exp_scaled answers 0
        d_hi, d_lo = two_sum(rows, -m)
    d_lo = np.where(np.isfinite(d_hi), d_lo, 0.0)
    (mant_hi, mant_lo), k = exp_scaled((d_hi, d_lo))
    # Below 2**-2100 a term only loses digits far below the sum's; the maximum itself (k = 0) is dropped.
    scale = np.clip(k + lift, -2000, 300)
    hi = np.ldexp(mant_hi, scale)
    lo = np.ldexp(mant_lo, scale)
    np.put_along_axis(hi, index, 0.0, axis=-1)
    np.put_along_axis(lo, index, 0.0, axis=-1)
    s_hi, s_lo = extract_sum(hi, np.sum(hi, axis=-1, keepdims=True))
    s_lo += np.sum(lo, axis=-1, keepdims=True)
    total, err = two_sum(s_hi, s_lo)
    return total[:, 0], err[:, 0]


def rounded_rest(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``S`` rounded once to float64 (``S < 2**-900``), shape ``(M,)``."""
    hi, lo = lifted_rest(rows, index)
    out = np.ldexp(hi, -LIFT)
    tiny = np.abs(out) < _TINY
    if tiny.any():
        # A subnormal result: from the rounding to odd, so that the low part still breaks ties.
        out = np.where(tiny, np.ldexp(round_to_odd((hi, lo)), -LIFT), out)
    return out


def has_rest(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Whether the exact ``S`` is positive: a finite logit besides column ``index[r]``; shape ``(M,)``."""
    return np.count_nonzero(rows > -np.inf, axis=-1) > 1


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
