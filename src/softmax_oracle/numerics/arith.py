"""Arithmetic on enclosures with proven bounds, in two tiers behind one interface.

:func:`arith_for` picks the tier from the target format: :data:`DOUBLE`
(relative error ~2**-50 per operation, a few NumPy passes each) for float32,
float16 and bfloat16 targets; :data:`DOUBLE_DOUBLE` (~2**-100 per operation)
for float64.  Code written against an :class:`Arith` runs in either::

    A = arith_for(fmt)
    d = A.exact_difference(x, m)          # x - m exactly
    e = A.exp(d)
    s = A.sum(e, axis=-1, keepdims=True)  # row sums of exp(x - m), with a bound
    y = A.div(e, s)                       # softmax
    values, decided = round_enclosure(y, fmt, sign=1)

Every result is an :class:`~softmax_oracle.numerics.enclosure.Enclosure`,
normalized (``0.5 <= |hi| < 1`` or ``hi = 0``); every operation's radius is
an upper bound of the distance from the computed centre to *every* result of
the exact operation on values inside the operands' intervals
(``docs/error-analysis.md``, sections 1-2).  Elements whose operands are unknown
(``rad = inf``) stay unknown; NumPy's invalid/overflow flags raised while
propagating them are expected and silenced locally.
"""

from __future__ import annotations

import numpy as np

from ..formats import Format
from . import double_double as dd
from . import enclosure as en
from .enclosure import Enclosure

__all__ = ["Arith", "DOUBLE", "DOUBLE_DOUBLE", "arith_for"]

U = 2.0**-53
UP = 1.0 + 2.0**-49  # covers the roundings of a radius formula of at most 8 operations
TINY = 2.0**-1000  # covers underflow in a radius formula and in the scaling of operands
_SHIFT_MIN = -2000  # 2**-2000 m is below every float64 after a mantissa product


class Arith:
    """The operations of one tier; see the module docstring.  Subclasses: the two tiers."""

    name = ""
    exp_rel = 0.0  # relative error bound of the exponential kernel

    # -- construction -----------------------------------------------------------------------
    def from_float(self, x: np.ndarray) -> Enclosure:
        """``x`` exactly (non-finite elements unknown)."""
        return en.from_float(x)

    def exact_difference(self, x: np.ndarray, m: np.ndarray) -> Enclosure:
        """``x - m`` for finite float64 arrays: exact in the double-double tier (TwoSum); in the
        double tier the rounded difference with radius ``|err|`` (TwoSum's exact error)."""
        return en.normalized(en.exact_difference(x, m))

    def constant(self, value: float, shape: tuple[int, ...] = ()) -> Enclosure:
        """An exact float constant, broadcast to ``shape``."""
        return self.from_float(np.full(shape, value))

    # -- operations shared by the tiers ------------------------------------------------------
    def neg(self, a: Enclosure) -> Enclosure:
        """``-a`` (exact)."""
        return Enclosure(-a.hi, -a.lo, a.rad, a.exp)

    def sub(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a - b``."""
        return self.add(a, self.neg(b))

    def scale(self, a: Enclosure, k: np.ndarray | int) -> Enclosure:
        """``a * 2**k`` (exact: only the exponent changes)."""
        return Enclosure(a.hi, a.lo, a.rad, np.add(a.exp, k, dtype=np.int64))

    def mul_float(self, a: Enclosure, c: np.ndarray | float) -> Enclosure:
        """``a * c`` for exact floats ``c``."""
        return self.mul(a, self.from_float(np.broadcast_to(np.asarray(c, dtype=np.float64), np.shape(a.hi))))

    def to_float(self, a: Enclosure) -> np.ndarray:
        """The centre ``2**exp (hi + lo)`` rounded to float64 (for choosing branches, not for results)."""
        with np.errstate(over="ignore"):  # a huge centre: inf is the approximation
            return np.ldexp(a.hi + a.lo, np.clip(a.exp, -4000, 4000).astype(np.int32))

    # -- tier-specific (the subclasses) -------------------------------------------------------
    def add(self, a: Enclosure, b: Enclosure) -> Enclosure:  # pragma: no cover - abstract
        raise NotImplementedError

    def mul(self, a: Enclosure, b: Enclosure) -> Enclosure:  # pragma: no cover - abstract
        raise NotImplementedError

    def div(self, a: Enclosure, b: Enclosure) -> Enclosure:  # pragma: no cover - abstract
        raise NotImplementedError

    def sum(self, a: Enclosure, axis: int | None = -1, keepdims: bool = False) -> Enclosure:  # pragma: no cover
        raise NotImplementedError

    def _exp_kernel(self, xh, xl):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- elementary functions (transcendental.py) ---------------------------------------------
    def exp(self, a: Enclosure) -> Enclosure:
        """``exp(a)``; below ``-1e5`` the enclosure ``[0, 2**-144000]``; above ``1e5`` unknown."""
        from .transcendental import exp_expm1

        return exp_expm1(self, a, want_expm1=False)[0]

    def expm1(self, a: Enclosure) -> Enclosure:
        """``exp(a) - 1``, relatively accurate near 0 (``a`` itself below ``2**-500``)."""
        from .transcendental import exp_expm1

        return exp_expm1(self, a, want_exp=False)[1]

    def log(self, a: Enclosure) -> Enclosure:
        """``log(a)`` for ``a > 0`` (unknown where the interval reaches 0)."""
        from .transcendental import log

        return log(self, a)

    def log1p(self, a: Enclosure) -> Enclosure:
        """``log(1 + a)`` for ``a > -1``, relatively accurate near 0."""
        from .transcendental import log1p

        return log1p(self, a)

    # -- helpers -------------------------------------------------------------------------------
    def _prepare(self, a: Enclosure) -> Enclosure:
        """``a`` in this tier's centre format (the double tier folds a low word into the radius)."""
        return a

    def _aligned(self, a: Enclosure, exp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``a``'s fields in units of ``2**exp`` (``exp >= a.exp``); the bits lost below ``2**-1074``
        are covered by the ``TINY`` every operation adds to its radius."""
        shift = np.subtract(a.exp, exp)
        if not np.any(shift):
            return a.hi, a.lo, a.rad
        shift = np.clip(shift, _SHIFT_MIN, -_SHIFT_MIN).astype(np.int32)  # ldexp is slow with int64
        lo = a.lo if type(a.lo) is float else np.ldexp(a.lo, shift)
        with np.errstate(over="ignore"):  # a zero's radius scaled up past 2**1024: unknown, as it should
            return np.ldexp(a.hi, shift), lo, np.ldexp(a.rad, shift)

    def _finish(self, hi: np.ndarray, lo: np.ndarray, rad: np.ndarray, exp) -> Enclosure:
        """Normalize ``(hi, lo)`` and round the radius formula ``rad`` (in units of ``2**exp``) up.

        ``lo`` is a Python ``0.0`` in the double tier (tested with ``type(lo) is float``:
        a NumPy float64 scalar is a ``float`` too, and its low word must be scaled).

        Where the radius exceeds the centre (an interval much wider than its
        midpoint, e.g. after a cancellation), the scale follows the radius
        instead, ``1/2 <= rad < 1``, so that products of such enclosures cannot
        overflow; the bits of ``hi`` and ``lo`` shifted below ``2**-1074`` then
        (less than ``2**-1073``) are covered by ``TINY``.
        """
        mant, k = np.frexp(hi)
        with np.errstate(invalid="ignore", over="ignore"):  # unknown elements (rad inf/nan) stay unknown
            wide = (rad > np.abs(hi)) & np.isfinite(rad)
            if wide.any():
                k = np.where(wide, np.maximum(k, np.frexp(rad)[1]), k)
                mant = np.where(wide, np.ldexp(hi, -k), mant)
            shift = -k
            rad = np.ldexp(rad, shift)
            rad *= UP
            rad += TINY
        lo = lo if type(lo) is float else np.ldexp(lo, shift)
        return Enclosure(mant, lo, rad, np.add(exp, k, dtype=np.int64))


class _DoubleDouble(Arith):
    """Double-word centres; each operation's own error is a few ``u**2`` of the result."""

    name = "double-double"
    # Joldes, Muller & Popescu (2017), ACM TOMS 44(2): AccurateDWPlusDW <= 3u^2,
    # DWTimesDW1 <= 7u^2, DWDivDW2 <= 15u^2 + 56u^3 (relative, of the exact result).
    ERR_ADD = 4 * U * U
    ERR_MUL = 8 * U * U
    ERR_DIV = 32 * U * U  # twice the theorem's bound: our DWTimesFP step is a variant of theirs

    @property
    def exp_rel(self) -> float:
        from .exp_kernel import EXP_REL_DD

        return EXP_REL_DD

    def _exp_kernel(self, xh, xl):
        from .exp_kernel import exp_parts_dd

        return exp_parts_dd(xh, xl)

    def add(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a + b``: both aligned to the larger exponent, AccurateDWPlusDW."""
        exp = _common_exp(a, b)
        ah, al, ar = self._aligned(a, exp)
        bh, bl, br = self._aligned(b, exp)
        s, t = dd.add((ah, al), (bh, bl))
        with np.errstate(invalid="ignore", over="ignore"):  # unknown elements stay unknown
            rad = ar + br
            rad += self.ERR_ADD * np.abs(s)
        return self._finish(s, t, rad, exp)

    def mul(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a b``: DWTimesDW1; the operands' radii propagate as ``|a| rb + |b| ra + ra rb``."""
        p, e = dd.mul((a.hi, a.lo), (b.hi, b.lo))
        with np.errstate(invalid="ignore", over="ignore"):  # unknown elements stay unknown
            rad = np.abs(a.hi) * b.rad
            rad += np.abs(b.hi) * a.rad
            rad += a.rad * b.rad
            rad += self.ERR_MUL * np.abs(p)
        return self._finish(p, e, rad, np.add(a.exp, b.exp, dtype=np.int64))

    def div(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a / b``: DWDivDW2; radius ``(ra + |q| rb) / (|b| - rb)``, unknown where ``b``'s interval
        reaches 0."""
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # b's interval at 0: unknown
            th = a.hi / b.hi
            rh, rl = dd.mul_float((b.hi, b.lo), th)
            delta = (a.hi - rh) + (a.lo - rl)
            tl = delta / b.hi
            qh, ql = dd.fast_two_sum(th, tl)
            rad = _quotient_radius(np.abs(qh), a.rad, b.hi, b.rad) + self.ERR_DIV * np.abs(qh)
            bad = ~np.isfinite(qh)
            if bad.any():
                qh, ql, rad = np.where(bad, 0.0, qh), np.where(bad, 0.0, ql), np.where(bad, np.inf, rad)
        return self._finish(qh, ql, rad, np.subtract(a.exp, b.exp, dtype=np.int64))

    def sum(self, a: Enclosure, axis: int | None = -1, keepdims: bool = False) -> Enclosure:
        """Sum along ``axis`` (all elements for None): exact extraction (three levels), see sums.py."""
        from .sums import enclosure_sum

        return enclosure_sum(self, a, axis, keepdims, levels=3, keep_lo=True)


class _Double(Arith):
    """Double centres (``lo = 0``); each operation's own error is ``u`` of the result."""

    name = "double"

    @property
    def exp_rel(self) -> float:
        from .exp_kernel import EXP_REL_DOUBLE

        return EXP_REL_DOUBLE

    def _exp_kernel(self, xh, xl):
        from .exp_kernel import exp_parts_double

        return exp_parts_double(xh, xl)

    def _prepare(self, a: Enclosure) -> Enclosure:
        return _fold(a)

    def exact_difference(self, x: np.ndarray, m: np.ndarray) -> Enclosure:
        """``x - m`` exactly as a double-word: the exponential takes its low word; every other
        operation of this tier folds ``|lo|`` into the radius first."""
        return en.normalized(en.exact_difference(x, m))

    def from_float(self, x: np.ndarray) -> Enclosure:
        return _fold(en.from_float(x))

    def add(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a + b`` rounded: radius ``ra + rb + u |s|``."""
        a, b = _fold(a), _fold(b)
        exp = _common_exp(a, b)
        ah, _, ar = self._aligned(a, exp)
        bh, _, br = self._aligned(b, exp)
        s = ah + bh
        with np.errstate(invalid="ignore", over="ignore"):  # unknown elements stay unknown
            rad = ar + br
            rad += U * np.abs(s)
        return self._finish(s, 0.0, rad, exp)

    def mul(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a b`` rounded: radius ``|a| rb + |b| ra + ra rb + u |p|``."""
        a, b = _fold(a), _fold(b)
        p = a.hi * b.hi
        with np.errstate(invalid="ignore", over="ignore"):  # unknown elements stay unknown
            rad = np.abs(a.hi) * b.rad
            rad += np.abs(b.hi) * a.rad
            rad += a.rad * b.rad
            rad += U * np.abs(p)
        return self._finish(p, 0.0, rad, np.add(a.exp, b.exp, dtype=np.int64))

    def div(self, a: Enclosure, b: Enclosure) -> Enclosure:
        """``a / b`` rounded: radius ``(ra + |q| rb) / (|b| - rb) + u |q|``."""
        a, b = _fold(a), _fold(b)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # b's interval at 0: unknown
            q = a.hi / b.hi
            rad = _quotient_radius(np.abs(q), a.rad, b.hi, b.rad) + U * np.abs(q)
            bad = ~np.isfinite(q)
            if bad.any():
                q, rad = np.where(bad, 0.0, q), np.where(bad, np.inf, rad)
        return self._finish(q, 0.0, rad, np.subtract(a.exp, b.exp, dtype=np.int64))

    def sum(self, a: Enclosure, axis: int | None = -1, keepdims: bool = False) -> Enclosure:
        """Sum along ``axis``: exact extraction (one level), see sums.py."""
        from .sums import enclosure_sum

        return enclosure_sum(self, _fold(a), axis, keepdims, levels=1, keep_lo=False)


def _common_exp(a: Enclosure, b: Enclosure) -> np.ndarray:
    """The larger exponent, ignoring zero centres (their exponent says nothing about the scale: aligning
    ``2**-5000`` to ``0 * 2**0`` would flush it to zero)."""
    return np.where(a.hi == 0, b.exp, np.where(b.hi == 0, a.exp, np.maximum(a.exp, b.exp)))


def _fold(a: Enclosure) -> Enclosure:
    """A double-word enclosure as a double one: ``hi`` keeps, ``|lo|`` joins the radius (exactly
    representable sums are not needed: ``rad + |lo|`` is rounded up by ``UP``)."""
    if type(a.lo) is float or not np.any(a.lo):
        return Enclosure(a.hi, 0.0, a.rad, a.exp)
    with np.errstate(invalid="ignore"):  # unknown elements stay unknown
        rad = (a.rad + np.abs(a.lo)) * UP
    return Enclosure(a.hi, 0.0, rad, a.exp)


def _quotient_radius(q: np.ndarray, ra: np.ndarray, bh: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """``(ra + |q| rb) / d`` with ``d`` a computed lower bound of ``|b| - rb``; inf where ``d <= 0``."""
    d = np.abs(bh) * (1.0 - 2.0**-50)
    d -= rb
    d *= 1.0 - 2.0**-50
    num = q * rb
    num += ra
    out = num / d
    return np.where(d > 0, out, np.inf)


DOUBLE: Arith = _Double()
DOUBLE_DOUBLE: Arith = _DoubleDouble()


def arith_for(fmt: Format) -> Arith:
    """The tier for a target format: double-double for float64 (and wider), double otherwise."""
    return DOUBLE_DOUBLE if fmt.precision > 24 else DOUBLE
