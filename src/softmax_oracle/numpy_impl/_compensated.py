"""float64 softmax, log_softmax and logsumexp whose error does not grow with |x_i - max|.

``d_i = fl(x_i - m)`` is off by ``e_i`` (recovered exactly with TwoSum), and
``exp(d_i)`` then has relative error ``|e_i|``, up to ~700 ULP at ``d_i = -700``.
Since ``exp(d + e) = exp(d) (1 + e) + O(e^2)``, the corrected terms are
``t_i + t_i e_i`` and:

    S   = sum_{j != argmax} (t_j + t_j e_j)
    lse = m + log1p(S)                       (Blanchard, Higham & Higham 2021, Alg. 4.1)
    log_softmax_i = d_i + (e_i - log1p(S))
    softmax_i     = q_i + q_i (e_i - T_lo / T_hi),   q_i = t_i / T_hi,  T_hi + T_lo = 1 + S

The rounding error of ``1 + S`` (``T_lo``, TwoSum again) is folded into the
same correction as ``e_i``, so softmax is one exp, one division and one
rounded correction away from the exact value.
"""

from __future__ import annotations

import numpy as np

from ..numerics.eft import extract_sum, two_sum, two_sum_error
from ..numerics.lse_refine import refine_cancelled
from ._rowmax import RowMax, row_max
from ..numerics.underflow import THRESHOLD
from ._tiny_rest import log_softmax_at_max, logsumexp_small

__all__ = ["CompensatedKernels"]

_QUIET = dict(invalid="ignore", over="ignore")  # non-finite rows are answered from their max


class CompensatedKernels:
    """The softmax family in float64 with ``x_i - max`` and ``1 + S`` compensated."""

    name = "compensated"

    def _parts(self, rows: np.ndarray) -> tuple[RowMax, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(rowmax, d, e, t, S_hi, S_lo)``; t = exp(d) with 0 at the argmax, S_hi + S_lo the corrected sum of t."""
        rm = row_max(rows)
        neg_shift = -rm.shift
        d = np.add(rows, neg_shift)
        e = two_sum_error(rows, neg_shift, d)
        t = np.exp(d)
        np.put_along_axis(t, rm.index, 0, axis=-1)
        te = t * e
        s, s_lo = extract_sum(t, np.sum(t, axis=-1, keepdims=True))  # the sum itself exact to ~2**-100
        corr = np.sum(te, axis=-1, keepdims=True) + s_lo
        lost = np.isnan(corr[:, 0]) & rm.finite
        if lost.any():
            # x_j = -inf (or x_j - m overflowing to -inf): t_j = 0 and e_j is NaN; the term is 0.
            e[lost] = np.where(np.isfinite(e[lost]), e[lost], 0)
            corr[lost] = np.sum(np.where(t[lost] == 0, 0, te[lost]), axis=-1, keepdims=True) + s_lo[lost]
        return rm, d, e, t, s, corr

    def logsumexp(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            rm, _, _, _, s, s_lo = self._parts(rows)
            out = rm.shift + (np.log1p(s) + s_lo / (1 + s))  # log1p(S_hi + S_lo), first order in S_lo
            refine_cancelled(out, rows, rm.shift)
            if not rm.all_finite:
                out = np.where(rm.finite[:, None], out, rm.value)
        small = np.flatnonzero(rm.finite & (s[:, 0] < THRESHOLD))
        if small.size:  # S of subnormal terms: summed again without underflow (see _tiny_rest)
            out[small, 0] = logsumexp_small(rows[small], rm.index[small])
        return out[:, 0]

    def log_softmax(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            rm, d, e, _, s, s_lo = self._parts(rows)
            e -= np.log1p(s) + s_lo / (1 + s)
            d += e
        small = np.flatnonzero(rm.finite & (s[:, 0] < THRESHOLD))
        if small.size:  # -S at the argmax, S of subnormal terms (see _tiny_rest)
            d[small, rm.index[small, 0]] = log_softmax_at_max(rows[small], rm.index[small])
        if not rm.all_finite:
            d[~rm.finite] = np.nan
        return d

    def softmax(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            rm, _, e, t, s, s_lo = self._parts(rows)
            np.put_along_axis(t, rm.index, 1, axis=-1)
            hi, lo = two_sum(np.ones_like(s), s)
            lo += s_lo
            e -= lo / hi
            t /= hi
            e *= t
            t += e
        if not rm.all_finite:
            t[~rm.finite] = np.nan
        return t
