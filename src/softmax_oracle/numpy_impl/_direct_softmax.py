"""softmax without the shift: ``t_i = exp(x_i)`` for the rows whose sum ``T`` is at least 1 (and no overflow).

``x_i - max`` in float64 is rounded (by up to ``ulp(x_i - max) / 2``, 700 ULP of
``exp`` at ``x_i - max = -700``), and recovering that error (TwoSum, the
correction ``t e``) was most of the accurate tier's cost: ~17 passes over each
block against SciPy's 5.  The subtraction is only there to keep ``exp`` from
overflowing; where it does not, ``exp(x_i)`` itself has the exponential's own
error (NumPy's float64 ``exp``: 0.64 ULP measured over ``[-745, 709.78]``) at any
``|x_i - max|``.  float64 (10 passes: argmax, exp, five for the extraction, three
for the scaling):

    t_i = exp(x_i)                        (no shift, nothing to correct)
    T   = Q + R + (E - t_m)               (Q = sum q, q = (t + sigma) - sigma exact; R = sum (t - q))
    softmax_i = q_i + q_i c,  q_i = fl(t_i r),  1 / T = r (1 + c)
    softmax_m = E / T                     (at the first maximum)

with ``sigma = 2**k >= 2 n exp(max) >= 2 T`` per row (from the maximum: no pass
finds it), so that ``Q`` is exact and ``R`` (remainders below ``ulp(sigma) / 2``
each) adds with a relative error of ``~log2(n) n**2 2**-103`` of ``T``.  ``E`` is
``exp(max)`` in long double (x87, ``2**-63``): without it the largest term's own exp error (in the shifted
kernel it is ``exp(0) = 1``, exact) entered ``T`` whole, and softmax reached
2.5 ULP on rows of normal logits; with it, and no rounded divisor (``r`` and
``c`` from the long double ``T``), the errors are those of the shifted kernel
(:mod:`._fast_compensated`): measured max 1.83 ULP against its 1.77 on the same
random rows.  Where long double is float64, the shifted kernel answers.

Which rows (decisions where the design is silent): ``T >= 1`` and
``sigma <= 2**1021`` (a maximum below ``~(1019 - log2 n) ln 2``, 705.6 for
``n = 3``, 695 for ``n = 10**5``).  Below 1, a term that ``exp`` rounded to a
subnormal (its error up to ``2**-1075`` absolute) would be divided by a small
``T`` and grow past a subnormal ULP of the result; with ``T >= 1`` it stays
below one.  Above that maximum ``sigma`` would overflow (and above ~709.78
``exp``); a NaN or ``+inf`` makes ``T`` NaN or infinite.  Those rows are
answered by the shifted kernels (the caller's fallback), and so are blocks of
rows of at most ``SHORT_ROW`` logits, where the long double ``exp`` of each
row's maximum (~50 ns) costs more than the shift saves.  One row is taken up to
a maximum of 600 (nothing can overflow, so no ``errstate``: 2 us of a 15 us call).
``-inf`` logits give ``t = 0``: softmax 0, as it should be.

float32 rows (computed in float64 and rounded once): ``T`` from the plain sum
(its ``~log2(n) 2**-53`` relative error is ``2**-25`` of a float32 half-ULP), for
rows with ``2**-900 <= T < inf``: a subnormal float64 term's error is then below
``2**-175``, far below float32's smallest subnormal.  5 passes: cast, exp, sum,
scale and round, against SciPy's max, subtract, exp, sum, divide in float32.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["WIDE_ENOUGH", "softmax64", "softmax64_row", "softmax32", "softmax32_row"]

_BLOCK = 1 << 17  # elements per block (1 MiB of float64): the block and its buffer stay in L2
_SHORT_ROW = 32  # rows up to this length: sums by einsum (sum(axis=1) costs a call per row)
_LOW = 1.0  # float64 rows with T >= _LOW and a maximum below ~690 are answered here
_TOP = 1021  # the largest sigma exponent (t + sigma stays finite): a row maximum up to ~(1019 - log2 n) ln 2
_LOG2E = 1.4426950408889634
_LOW32 = 2.0**-900  # float32 rows: T in [_LOW32, inf)
_ROW_MAX = 600.0  # one row: a maximum up to this, so that nothing overflows (sigma < 2**1021 for n < 2**150)
_WIDE = np.longdouble  # x87 extended (64 bits) where the platform has it: exp(max) to 2**-63
WIDE_ENOUGH = np.finfo(np.longdouble).nmant >= 63


def _row_sums(a: np.ndarray, short: bool) -> np.ndarray:
    """Row sums of a 2-D block (shape ``(M,)``): ``einsum`` is one C loop over the block, where
    ``sum(axis=1)`` costs a call per row (5x slower on rows of 10)."""
    return np.einsum("ij->i", a) if short else a.sum(axis=1)


def _blocks(n_rows: int, n_cols: int):
    step = max(1, _BLOCK // n_cols)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _sigma_exponent(m: np.ndarray | float, n: int) -> np.ndarray | float:
    """``k`` with ``2**k >= 2 n exp(m) >= 2 T`` (``m`` the row maximum): no pass over the row finds the
    scale.  At ``2 n`` times ``T`` rather than 2 times, the remainders ``t - q`` reach ``n 2**-51 T``;
    their pairwise sum errs by ``~log2(n) n**2 2**-103`` of ``T`` (``2**-67`` at ``n = 10**5``)."""
    return np.floor(m * _LOG2E) + (n.bit_length() + 2)


def _extracted_sum(t: np.ndarray, sigma: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Q, R)`` per row: ``Q = sum q`` exact, ``R = sum (t - q)`` (``|t - q| <= ulp(sigma) / 2``); ``w`` scratch."""
    np.add(t, sigma, out=w)
    w -= sigma  # the multiples of ulp(sigma) in t: their sum is exact
    q_sum = w.sum(axis=1)
    np.subtract(t, w, out=w)  # the remainders, exactly
    return q_sum, w.sum(axis=1)


def _scale(t: np.ndarray, total: np.ndarray, w: np.ndarray) -> None:
    """``t /= total`` as ``q = fl(t r)``, ``r = fl(1 / total)``, then ``q + q c`` with ``1 / total = r (1 + c)``
    (``c`` from the long double ``total``): the rounding of ``q`` and the last one, no rounded divisor
    (dividing by ``fl(total)`` measured 1.93 ULP where this measured 1.83); two multiplications and an
    addition cost about what one division does."""
    recip = (1 / total).astype(np.float64)
    c = (1 / (recip.astype(_WIDE) * total) - 1).astype(np.float64)
    if t.ndim == 2:
        recip, c = recip[:, None], c[:, None]
    t *= recip
    np.multiply(t, c, out=w)
    t += w


def softmax64(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """softmax of float64 rows (2-D, longer than ``SHORT_ROW``) into ``out``; returns the indices of the
    rows left to the caller (``T`` below 1 or NaN, a maximum too large for ``sigma``: their ``out`` rows
    hold garbage)."""
    n_rows, n = x.shape
    buf = np.empty(min(n_rows, max(1, _BLOCK // n)) * n)
    left = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # rows left to the caller
        for b in _blocks(n_rows, n):
            xb, t = x[b], out[b]
            rows = np.arange(t.shape[0])
            idx = xb.argmax(axis=1)
            big = np.exp(xb[rows, idx].astype(_WIDE))  # exp(max) to 2**-63
            np.exp(xb, out=t)
            k = _sigma_exponent(xb[rows, idx], n)
            fits = k <= _TOP  # NaN: False
            sigma = np.ldexp(1.0, np.clip(np.where(fits, k, 0), -1000, _TOP).astype(np.int64))[:, None]
            fix = (big - t[rows, idx]).astype(np.float64)  # the maximum's own exp error, exactly enough
            q_sum, r_sum = _extracted_sum(t, sigma, buf[:t.size].reshape(t.shape))
            total = q_sum.astype(_WIDE) + (r_sum + fix)
            ok = fits & (total >= _LOW)  # T NaN: False
            _scale(t, total, buf[:t.size].reshape(t.shape))
            t[rows, idx] = (big / total).astype(np.float64)
            if not ok.all():
                left.append(b.start + np.flatnonzero(~ok))
    return np.concatenate(left) if left else np.empty(0, dtype=np.intp)


def softmax64_row(row: np.ndarray, out: np.ndarray) -> bool:
    """One float64 row (1-D) into ``out`` with scalars for the per-row values; False (``out`` then holds
    garbage) if the maximum is above ``_ROW_MAX``, NaN or ``-inf``, or ``T`` below 1.  Below ``_ROW_MAX`` nothing
    overflows, so no ``errstate`` (2 us, a tenth of the call)."""
    i = int(row.argmax())
    big = _WIDE(row[i])
    if not -np.inf < big <= _ROW_MAX:  # NaN, or only -inf logits: False
        return False
    sigma = math.ldexp(1.0, max(-1000, int(_sigma_exponent(float(big), row.shape[0]))))
    np.exp(row, out=out)
    big = np.exp(big)  # exp(max) to 2**-63
    fix = float(big - _WIDE(out[i]))
    w = out + sigma
    w -= sigma
    q_sum = float(w.sum())
    np.subtract(out, w, out=w)
    total = _WIDE(q_sum) + (float(w.sum()) + fix)
    if not total >= _LOW:
        return False
    recip = float(1 / total)
    out *= recip
    np.multiply(out, float(1 / (_WIDE(recip) * total) - 1), out=w)
    out += w
    out[i] = float(big / total)
    return True


def softmax32_row(row: np.ndarray, out: np.ndarray) -> bool:
    """One float32 row (1-D) into the float32 ``out``; False if the maximum is above ``_ROW_MAX`` or NaN,
    or ``T`` below ``2**-900`` (no ``errstate``: nothing overflows below ``_ROW_MAX``)."""
    if not row.max() <= _ROW_MAX:
        return False
    t = row.astype(np.float64)
    np.exp(t, out=t)
    total = float(t.sum())
    if not total >= _LOW32:
        return False
    np.multiply(t, 1 / total, out=out, casting="same_kind")
    return True


def softmax32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """softmax of float32 rows (2-D) into the float32 ``out``, in float64 and rounded once; returns the
    indices of the rows left to the caller (``T`` below ``2**-900``, NaN or infinite)."""
    n_rows, n = x.shape
    short = n <= _SHORT_ROW
    buf = np.empty(min(n_rows, max(1, _BLOCK // n)) * n)
    left = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # rows left to the caller
        for b in _blocks(n_rows, n):
            rows = b.stop - b.start
            t = buf[:rows * n].reshape(rows, n)
            np.copyto(t, x[b])  # exact; 1.5x faster than a ufunc that casts as it goes
            np.exp(t, out=t)
            total = _row_sums(t, short)
            ok = (total >= _LOW32) & (total < np.inf)
            # times the reciprocal: two float64 roundings (2**-52), then the one rounding to float32
            np.multiply(t, (1 / total)[:, None], out=out[b], casting="same_kind")
            if not ok.all():
                left.append(b.start + np.flatnonzero(~ok))
    return np.concatenate(left) if left else np.empty(0, dtype=np.intp)
