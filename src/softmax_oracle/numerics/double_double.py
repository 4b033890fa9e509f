"""Double-double arithmetic on arrays: a value is an unevaluated sum ``hi + lo``, ``|lo| <= ulp(hi)/2``.

Each operation is accurate to about ``2**-104`` relative (Dekker 1971; Hida, Li &
Bailey's QD library): additions are the "IEEE" variant that also adds the low
parts with TwoSum, so a sum that cancels keeps its low-order digits.  The
exponential of a double-double argument ``d <= 0`` comes back as a mantissa and
a power of two, ``exp(d) = (hi + lo) 2**k`` (``1 <= hi + lo < 2``), so that
``exp(-700)`` keeps 106 bits instead of losing them to underflow:

    k = round(d / ln 2),  r = d - k ln 2          (ln 2 in three pieces, r exact to 2**-106)
    expm1(r) = ((expm1(r / 2**8) + 1)**2 - 1) ...  eight squarings of a degree-10 Taylor polynomial
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .eft import fast_two_sum, two_prod, two_sum

__all__ = ["DD", "add", "add_float", "mul", "mul_float", "div", "round_to_odd", "exp_scaled", "DEAD"]

DD = tuple  # (hi, lo) pair of float64 arrays

_LN2_HI = float.fromhex("0x1.62e42fefa0000p-1")  # 38 bits: k * _LN2_HI is exact for |k| < 2**15
_LN2_MID = float.fromhex("0x1.cf79abc9e3b3ap-40")
_LN2_LO = float.fromhex("-0x1.ff0342542fc33p-94")
_SCALE_BITS = 8
_TAYLOR_DEGREE = 10  # |r / 2**8| < 1.36e-3: the first omitted term is below 2**-107 relative
DEAD = 10000.0  # exp(-10000) = 2**-14427: below anything a product with a float can bring back


def _dd_constant(q: Fraction) -> tuple[float, float]:
    hi = float(q)
    return hi, float(q - Fraction(hi))


_INV_FACTORIALS = [_dd_constant(Fraction(1, math.factorial(j))) for j in range(_TAYLOR_DEGREE + 1)]


def add(a: DD, b: DD) -> DD:
    """``a + b``, with the low parts added exactly too (accurate under cancellation)."""
    s, e = two_sum(a[0], b[0])
    t, f = two_sum(a[1], b[1])
    e += t
    s, e = fast_two_sum(s, e)
    e += f
    return fast_two_sum(s, e)


def add_float(a: DD, b: np.ndarray) -> DD:
    """``a + b`` for a plain float ``b``."""
    s, e = two_sum(a[0], b)
    e += a[1]
    return fast_two_sum(s, e)


def mul(a: DD, b: DD) -> DD:
    """``a b``: the product of the high parts exactly, the cross terms rounded."""
    p, e = two_prod(a[0], b[0])
    e += a[0] * b[1] + a[1] * b[0]
    return fast_two_sum(p, e)


def mul_float(a: DD, b: np.ndarray) -> DD:
    """``a b`` for a plain float ``b``."""
    p, e = two_prod(a[0], b)
    e += a[1] * b
    return fast_two_sum(p, e)


def div(a: DD, b: DD) -> DD:
    """``a / b``: three quotient digits, each from the exact remainder of the previous ones."""
    q1 = a[0] / b[0]
    r = add(a, _neg(mul_float(b, q1)))
    q2 = r[0] / b[0]
    r = add(r, _neg(mul_float(b, q2)))
    q3 = r[0] / b[0]
    hi, lo = fast_two_sum(q1, q2)
    return add_float((hi, lo), q3)


def _neg(a: DD) -> DD:
    return -a[0], -a[1]


def round_to_odd(a: DD) -> np.ndarray:
    """``hi + lo`` rounded to float64 *to odd*: ``hi`` if exact or odd, else its neighbour toward ``lo``.

    Rounding the result again to any format of at most 51 bits is then one
    correct rounding of ``hi + lo`` (Boldo & Melquiond 2008).
    """
    hi, lo = a
    even = (hi.view(np.int64) & 1) == 0
    nudge = even & (lo != 0)
    if not nudge.any():
        return hi
    return np.where(nudge, np.nextafter(hi, np.copysign(np.inf, lo)), hi)


def exp_scaled(d: DD) -> tuple[DD, np.ndarray]:
    """``exp(d) = (hi + lo) 2**k`` for ``d <= 0``; 0 (with ``k = 0``) where ``d < -DEAD`` or ``d = -inf``."""
    dead = ~(d[0] >= -DEAD)
    dh = np.where(dead, 0.0, d[0])
    dl = np.where(dead, 0.0, d[1])
    k = np.rint(dh * (1 / math.log(2)))
    # r = d - k ln 2 exactly to ~2**-107: dh - k ln2_hi is exact (Sterbenz), the rest with TwoSum.
    r1 = dh - k * _LN2_HI
    s, e1 = two_sum(r1, dl)
    p, p_err = two_prod(k, np.full_like(k, _LN2_MID))
    s, e2 = two_sum(s, -p)
    r = fast_two_sum(s, e1 + e2 - p_err - k * _LN2_LO)
    r_full = r
    r = (np.ldexp(r[0], -_SCALE_BITS), np.ldexp(r[1], -_SCALE_BITS))
    poly = tuple(np.full_like(dh, c) for c in _INV_FACTORIALS[_TAYLOR_DEGREE])
    for j in range(_TAYLOR_DEGREE - 1, 0, -1):
        c = _INV_FACTORIALS[j]
        poly = add(mul(poly, r), (np.full_like(dh, c[0]), np.full_like(dh, c[1])))
    em1 = mul(poly, r)  # expm1(r / 2**8)
    two = np.full_like(dh, 2.0)
    for _ in range(_SCALE_BITS):
        em1 = mul(em1, add_float(em1, two))  # expm1(2 y) = expm1(y) (2 + expm1(y))
    # Below 2**-500, expm1(r) = r to far beyond 2**-106, and r / 2**8 may have lost subnormal digits.
    tiny = np.abs(r_full[0]) < 2.0**-500
    if tiny.any():
        em1 = (np.where(tiny, r_full[0], em1[0]), np.where(tiny, r_full[1], em1[1]))
    hi, lo = add_float((np.ones_like(dh), np.zeros_like(dh)), em1[0])
    hi, lo = fast_two_sum(hi, lo + em1[1])
    hi = np.where(dead, 0.0, hi)
    lo = np.where(dead, 0.0, lo)
    return (hi, lo), np.where(dead, 0, k).astype(np.int64)
