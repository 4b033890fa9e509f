"""Exponential terms below the float64 range: their row sums and their signs.

Two operations of the accurate NumPy tier (moved here from ``numpy_impl._tiny_rest`` and
``numpy_impl._precise_gradients``, issue 12; pure math on float64 arrays, no accuracy claim
of the certified kind):

* :func:`lifted_rest`: ``S = sum_{j != argmax} exp(x_j - max)`` where every term is subnormal
  in float64 (every other logit ~708 below the maximum).  float64 ``exp(x_j - m)`` would
  round each term to a subnormal before the sum (up to 2**-1075 absolute per term: 27 ULP
  with 63 terms).  Here the terms come from the double-double exponential of the exact
  difference ``x_j - m`` (:func:`.double_double.exp_scaled`: a mantissa and a power of two,
  nothing underflows) lifted by ``2**LIFT`` into the normal range, and their sum
  (Rump-Ogita-Oishi extraction) is rounded once (:func:`rounded_rest`; the rounding is
  correct except in the top subnormal binade, where the round-to-odd of the double-double
  followed by the rounding to 52 bits can be 1 ULP off).  Terms below ``exp(-10000)`` count
  as 0 in the sum (2**-13000 below its last digit) but not in the sign: :func:`has_rest`
  tells whether the exact S is positive.
* :func:`exp_or_sign`: the double-double exponential with a stand-in power of two where it
  gave 0 for a term that is not (below ``exp(-10000)``), so that a result that rounds to
  zero keeps the exact value's sign.
"""

from __future__ import annotations

import numpy as np

from .double_double import exp_scaled, round_to_odd
from .eft import extract_sum, two_sum

__all__ = ["THRESHOLD", "LIFT", "lifted_rest", "rounded_rest", "has_rest", "exp_or_sign"]

THRESHOLD = 2.0**-900  # callers sum again below this S: far below it a term's subnormal rounding is n 2**-175 of S
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


_FAR = -(1 << 36)  # lowest exponent of a stand-in: products of three stay above sc.ZERO_EXP = -2**40


def exp_or_sign(d: tuple[np.ndarray, np.ndarray], positive: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """``exp_scaled(d)``, except that where ``positive`` (the exact value is not 0: a finite logit) and
    ``exp_scaled`` gave 0 (``d < -10000``, or ``x - m`` overflowed to ``-inf``), the result is
    ``2**k``, ``k = floor(d / ln 2)`` clipped to ``-2**36``.

    Such a term is below ``2**-14000``: every result it reaches rounds to a zero, whose sign is
    all that is left to get right.  A 0 in its place loses that sign (``g t_i / T`` with
    ``g < 0`` gave ``+0.0``); the stand-in keeps it, and its size orders it with the other
    tiny terms (to a factor of 2), which decides the sign of a sum of them.
    """
    (hi, lo), k = exp_scaled(d)
    far = positive & (hi == 0)
    if far.any():
        with np.errstate(invalid="ignore", over="ignore"):  # d = -inf: the clip decides
            exponent = np.floor(np.nan_to_num(d[0], neginf=-np.inf) * (1 / np.log(2.0)))
        exponent = np.maximum(np.where(np.isfinite(exponent), exponent, _FAR), _FAR).astype(np.int64)
        hi = np.where(far, 1.0, hi)
        k = np.where(far, exponent, k)
    return (hi, lo), k
