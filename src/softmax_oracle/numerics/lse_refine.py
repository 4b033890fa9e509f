"""float64 logsumexp where ``m + log S`` cancels: ``S`` and ``log S`` to double-double precision.

(The accurate NumPy tier's refinement, moved here from ``numpy_impl._lse_cancel``, issue 12.)

``logsumexp = m + L`` with ``L = log S >= 0``.  When ``m < 0`` is close to
``-L`` (logits near ``-log n``, e.g. a near-tie row around ``-2.48`` of
length 8) the sum cancels, and any relative error of ``L`` (NumPy's ``exp``
of each term, 0.65 ULP; its ``log1p``) becomes many ULPs of the small result:
5.25 ULP was measured on such a row, 5e7 ULP where the result is 1e-7.  For
those rows (``m < 0`` and ``|m + L| < 2 L``: an error of a few ULPs of ``L``
would be more than an ULP of the result) the row is recomputed in
double-double:

    S   = 1 + T                            (T: .underflow.lifted_rest with no lift: exact
                                            differences, double-double exponentials, ExtractVector)
    L0  = log(S_hi)                        (NumPy: only a first guess)
    r   = S exp(-L0) - 1                   (double-double; |r| about 2**-52)
    L   = L0 + r - r**2 / 2                (log1p(r): the omitted r**3/3 is below 2**-150)

and ``m + L`` is formed with TwoSum, the low parts added after, so the result
is rounded once from a value accurate to about ``n 2**-100 L``.  The accurate
tier makes no certified claim; this keeps its float64 budget (2 ULP) where
the plain sum cancels, down to results about ``2**-40`` of ``|m|``.
"""

from __future__ import annotations

import numpy as np

from . import double_double as dd
from .eft import two_sum
from .underflow import lifted_rest

__all__ = ["refine_cancelled"]

CANCELLING = 2.0  # refined where |m + L| < CANCELLING * L: L's rounding errors are ULPs of the result


def _log_sum_dd(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(L0, correction)``: ``log(sum_j exp(rows_j - max))`` = ``L0 + correction`` to ~2**-100 relative."""
    index = np.argmax(rows, axis=1)[:, None]
    t_hi, t_lo = lifted_rest(rows, index, lift=0)  # T = S - 1, the other terms in double-double
    s_hi, s_lo = two_sum(np.ones_like(t_hi), t_hi)
    s_lo += t_lo
    l0 = np.log(s_hi)
    (xh, xl), kx = dd.exp_scaled((-l0, np.zeros_like(l0)))  # exp(-L0) = (xh + xl) 2**kx
    ph, pl = dd.mul((s_hi, s_lo), (xh, xl))
    rh, rl = dd.add_float((np.ldexp(ph, kx), np.ldexp(pl, kx)), np.full_like(ph, -1.0))
    return l0, rh + (rl - 0.5 * rh * rh)


def refine_cancelled(out: np.ndarray, rows: np.ndarray, m: np.ndarray) -> None:
    """Recompute, in place, the elements of ``out = logsumexp(rows)`` (one per row) whose sum cancels.

    ``rows`` is 2-D (float64) and ``m`` its row maxima (any shape with one
    value per row).  Rows with a non-finite maximum or result are left alone.
    """
    flat_out = out.reshape(-1)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):  # NaN rows: not selected
        pick = np.flatnonzero(np.isfinite(flat_out) & np.isfinite(m) & (m < 0)
                              & (np.abs(flat_out) < CANCELLING * (flat_out - m)))
    if not pick.size:
        return
    l0, correction = _log_sum_dd(np.asarray(rows, dtype=np.float64)[pick])
    h, e = two_sum(m[pick], l0)
    flat_out[pick] = h + (e + correction)
