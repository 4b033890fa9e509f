"""Certified exponential kernels on float64 arrays, in two precisions.

Both kernels compute, for an argument ``x = xh + xl`` (a double-word, or a
double in the double tier) with ``|xh| <= X_MAX``,

    x = n ln2/256 + r,   n = rint(256 xh / ln 2),   n = 256 k + j  (0 <= j < 256)
    exp(x) = 2**k * T_j * (1 + q),   T_j = 2**(j/256),   q = expm1(r),   |r| < 2**-9.5

``ln2/256`` is split into 27-bit pieces ``C1 + C2 + C3`` (+ a rounded ``C4``):
``|n| < 2**26`` for ``|x| <= 1e5``, so every ``n * Ci`` is exact, and ``r`` is
accumulated with TwoSum.  The table ``T_j`` (double-words) and the pieces are
computed at import with MPFR at 300 bits (gmpy2), never with a libm.  ``q`` is
a Taylor polynomial; its truncation is bounded by the Lagrange remainder.

Each kernel returns the unnormalized mantissa ``m = T_j (1 + q)`` (in
``[1 - 2**-9, 2 + 2**-8]``) and ``k``, and separately ``q``, which is ``expm1(x)``
itself where ``n = 0``; the relative error of ``m`` (and of ``q`` where
``n = 0``) is at most :data:`EXP_REL_DD` / :data:`EXP_REL_DOUBLE`.  The proofs
(every rounding error of every step) are in ``docs/error-analysis.md``, section 3.
"""

from __future__ import annotations

import math
from fractions import Fraction

import gmpy2
import numpy as np

from . import double_double as dd
from .eft import split, two_sum

__all__ = ["X_MAX", "EXP_REL_DD", "EXP_REL_DOUBLE", "R_MAX", "exp_parts_dd", "exp_parts_double", "TABLE_REL"]

X_MAX = 1.0e5  # |n| <= 1e5 * 256 / ln 2 < 3.7e7 < 2**26: n * Ci exact for 27-bit Ci
R_MAX = 2.0**-9.5  # |r| <= ln2/512 (1 + 2**-20) + |xl| < 2**-9.5
_BITS = 8
_SIZE = 1 << _BITS


def _pieces() -> tuple[float, float, float, float, float]:
    """ln2/256 = C1 + C2 + C3 + C4 + O(2**-145): 27-bit C1..C3, a double C4; and C2d = RN(ln2/256 - C1)."""
    with gmpy2.context(precision=300):
        rest = gmpy2.log(2) / _SIZE
        out = []
        for bits in (27, 27, 27, 53):
            with gmpy2.context(precision=bits):
                c = +rest  # rounded to `bits` bits
            out.append(float(c))
            rest = rest - c
        c2d = float(gmpy2.log(2) / _SIZE - gmpy2.mpfr(out[0]))
    return out[0], out[1], out[2], out[3], c2d


_C1, _C2, _C3, _C4, _C2D = _pieces()
_INV = float(_SIZE / Fraction(math.log(2)))  # only chooses n: its accuracy does not matter


def _table() -> tuple[np.ndarray, np.ndarray, float]:
    """2**(j/256) as double-words, and the largest relative error of the pairs (rounded up)."""
    hi = np.empty(_SIZE)
    lo = np.empty(_SIZE)
    worst = gmpy2.mpfr(0)
    with gmpy2.context(precision=300):
        for j in range(_SIZE):
            t = gmpy2.exp2(gmpy2.mpfr(j) / _SIZE)
            hi[j] = float(t)  # gmpy2 -> float is correctly rounded (normal range)
            lo[j] = float(t - gmpy2.mpfr(hi[j]))
            err = abs(t - gmpy2.mpfr(hi[j]) - gmpy2.mpfr(lo[j])) / t
            worst = max(worst, err)
    return hi, lo, 2.0 * float(worst)  # doubled: covers the rounding of ``worst`` to a float


_T_HI, _T_LO, TABLE_REL = _table()
_T_SPLIT_HI, _T_SPLIT_LO = split(_T_HI)  # Veltkamp halves of the table, for Dekker's products
_T_HI_DOUBLE_REL = 2.0**-53  # |T_j - RN(T_j)| <= 2**-53 T_j


def _split_index(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``n = 256 k + j``, ``0 <= j < 256``, for integral float ``n`` (exact: scaling by 2**-8 and floor)."""
    ni = n.astype(np.int32)  # exact: |n| < 2**26 (X_MAX)
    return ni >> _BITS, (ni & (_SIZE - 1)).astype(np.intp)  # arithmetic shift: floor(n / 256)


def _inv_factorial_dd(k: int) -> tuple[float, float]:
    q = Fraction(1, math.factorial(k))
    hi = float(q)
    return hi, float(q - Fraction(hi))


_F = [_inv_factorial_dd(k) for k in range(12)]

# Relative error bounds (docs/error-analysis.md, section 3): the sum of the itemized
# bounds is 2**-102.4 (double-double) and 2**-51.8 (double); a factor 2.8 / 1.7 of margin.
EXP_REL_DD = 2.0**-101
EXP_REL_DOUBLE = 2.0**-51


def _times_rh(p: dd.DD, rh: np.ndarray, rs: tuple[np.ndarray, np.ndarray], ps=None) -> dd.DD:
    """``p rh`` as an unnormalized pair ``t + e``: Dekker's product with ``rh``'s split ``rs`` (and
    optionally ``p``'s, ``ps``) computed once; ``pl rh`` added to the error word."""
    ph, pl = p
    t = ph * rh
    ah, al = split(ph) if ps is None else ps
    e = ah * rs[0]
    e -= t
    e += ah * rs[1]
    e += al * rs[0]
    e += al * rs[1]
    e += pl * rh
    return t, e


def _step(p: dd.DD, rh: np.ndarray, rs, c: tuple[float, float]) -> dd.DD:
    """``c + rh p`` (``|rh p| < |c|``: Fast2Sum is exact)."""
    t, e = _times_rh(p, rh, rs)
    s, se = dd.fast_two_sum(c[0], t)
    se += e
    se += c[1]
    return dd.fast_two_sum(s, se)


def exp_parts_dd(xh: np.ndarray, xl: np.ndarray) -> tuple[dd.DD, np.ndarray, dd.DD, np.ndarray]:
    """``exp(xh + xl) = 2**k m (1 + theta)``, ``|theta| <= EXP_REL_DD``, for ``|xh| <= X_MAX``.

    Returns ``(m, k, q, n)``: the double-word mantissa ``m``, the integer ``k``
    (int64), the double-word ``q`` (``= expm1(xh + xl)`` to ``2**-94`` relative
    where ``n == 0``) and ``n`` (float).  The polynomial runs on ``rh`` alone
    (products with its split computed once); ``rl`` enters as
    ``exp(rh + rl) = exp(rh) (1 + rl) + O(rl**2)``, ``rl**2 < 2**-124``.
    """
    n = np.rint(xh * _INV)
    s, e1 = two_sum(xh, -(n * _C1))
    s, e2 = two_sum(s, -(n * _C2))
    s, e3 = two_sum(s, xl)
    s, e4 = two_sum(s, -(n * _C3))
    e1 += e2
    e1 += e3
    e1 += e4
    e1 -= n * _C4
    rh, rl = two_sum(s, e1)
    rs = split(rh)
    tau = _F[9][0] * rh
    for c in (8, 7, 6, 5):
        tau += _F[c][0]
        tau *= rh
    ph, pl = dd.fast_two_sum(_F[4][0], tau)
    p = (ph, pl + _F[4][1])
    for c in (3, 2):
        p = _step(p, rh, rs, _F[c])
    p = _step(p, rh, rs, (1.0, 0.0))
    qh, ql = _times_rh(p, rh, rs)  # expm1(rh)
    ql += rl * (1.0 + qh)  # expm1(rh + rl) = expm1(rh) + rl (1 + expm1(rh)) + O(rl**2)
    q = dd.fast_two_sum(qh, ql)
    k, j = _split_index(n)
    th, tl = np.take(_T_HI, j), np.take(_T_LO, j)
    t, e = _times_rh((th, tl), q[0], split(q[0]), (np.take(_T_SPLIT_HI, j), np.take(_T_SPLIT_LO, j)))
    e += th * q[1]
    m_hi, m_lo = dd.fast_two_sum(th, t)  # |T q| < T / 256
    m_lo += e
    m_lo += tl
    m = dd.fast_two_sum(m_hi, m_lo)
    return m, k, q, n


def exp_parts_double(xh: np.ndarray, xl: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``exp(xh + xl) = 2**k m (1 + theta)``, ``|theta| <= EXP_REL_DOUBLE``, for ``|xh| <= X_MAX``.

    ``|xl| <= 2**-37`` (a double-word's low part).  Returns ``(m, k, q, n)`` as
    :func:`exp_parts_dd`, with double ``m`` and ``q``.
    """
    # the operations of the analysis in its order; in place, in two scratch arrays (each fresh temporary
    # of a large block costs more than the operation itself: page faults)
    n = np.multiply(xh, _INV)
    np.rint(n, out=n)
    tmp = np.multiply(n, _C1)
    r = np.subtract(xh, tmp)  # exact (docs/error-analysis.md, 3.1)
    r -= np.multiply(n, _C2D, out=tmp)
    r += xl
    p = np.multiply(r, _F[5][0])
    for c in (4, 3, 2):
        p += _F[c][0]
        p *= r
    p += 1.0
    q = np.multiply(p, r, out=r)
    k, j = _split_index(n)
    th = np.take(_T_HI, j, out=tmp, mode="clip")  # 0 <= j < 256: "clip" only skips the buffered check
    m = np.multiply(th, q, out=p)
    m += np.take(_T_LO, j, mode="clip")
    m += th
    return m, k, q, n


def expm1_mid_dd(q: dd.DD, n: np.ndarray, k: np.ndarray, q_rel: float) -> tuple[dd.DD, np.ndarray]:
    """``expm1(x) = (2**k T_j - 1) + 2**k T_j q`` for ``k`` in ``{-1, 0}`` (``ln2/512 <= |x| < ln 2``).

    ``2**k T_hi - 1`` is exact (Sterbenz), so no absolute error of order
    ``2**-106`` is left uncancelled as in ``exp(x) - 1``.  Returns the centre and
    its error bound (absolute, before the final rounding-up), given the relative
    error ``q_rel`` of ``q``.
    """
    j = _split_index(n)[1]
    k = np.asarray(k, dtype=np.int32)
    th = np.ldexp(np.take(_T_HI, j), k)
    tl = np.ldexp(np.take(_T_LO, j), k)
    t = (th, tl)
    base = dd.fast_two_sum(th - 1.0, tl)
    tq = dd.mul(t, q)
    out = dd.add(base, tq)
    u2 = 2.0**-106
    err = np.abs(tq[0]) * (q_rel + 8 * u2) + th * TABLE_REL + 4 * u2 * np.abs(out[0])
    return out, err


def expm1_mid_double(q: np.ndarray, n: np.ndarray, k: np.ndarray, q_rel: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`expm1_mid_dd` in the double tier: ``(2**k T_hi - 1) + (2**k T_lo + 2**k T_hi q)``."""
    j = _split_index(n)[1]
    k = np.asarray(k, dtype=np.int32)
    th = np.ldexp(np.take(_T_HI, j), k)
    tq = th * q
    out = np.ldexp(np.take(_T_LO, j), k) + tq
    out += th - 1.0
    u = 2.0**-53
    err = np.abs(tq) * (q_rel + 2 * u) + th * TABLE_REL + 2 * u * np.abs(out)
    return out, err
