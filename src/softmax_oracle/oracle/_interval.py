"""Interval arithmetic with MPFR's directed rounding (gmpy2).

An interval is a pair ``(lo, hi)`` of ``gmpy2.mpfr`` with ``lo <= x <= hi``
for the exact value ``x``.  Every bound is computed with one MPFR operation
rounded towards -inf (lower bounds) or +inf (upper bounds); MPFR rounds each
elementary function correctly in the requested direction, so the enclosures
are proven, not estimated.  Nothing here touches global state: each
:class:`Precision` owns its two gmpy2 contexts.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import gmpy2
from gmpy2 import mpfr, mpq

__all__ = ["Precision", "precision", "Interval", "ZERO_I"]

Interval = tuple[mpfr, mpfr]
_ZERO = mpfr(0)
ZERO_I: Interval = (_ZERO, _ZERO)


class Precision:
    """A working precision: a pair of gmpy2 contexts rounding down and up."""

    __slots__ = ("bits", "down", "up")

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.down = gmpy2.context(precision=bits, round=gmpy2.RoundDown)
        self.up = gmpy2.context(precision=bits, round=gmpy2.RoundUp)

    # conversions -------------------------------------------------------
    def rational(self, q: mpq) -> Interval:
        """The tightest enclosure of the exact rational ``q``."""
        return self.down.add(_ZERO, q), self.up.add(_ZERO, q)

    # arithmetic --------------------------------------------------------
    def add(self, a: Interval, b: Interval) -> Interval:
        return self.down.add(a[0], b[0]), self.up.add(a[1], b[1])

    def add_q(self, a: Interval, q: mpq) -> Interval:
        return self.down.add(a[0], q), self.up.add(a[1], q)

    def fsum(self, items: Iterable[Interval]) -> Interval:
        """Sum of intervals; each bound is one correctly rounded sum (MPFR ``mpfr_sum``)."""
        los, his = [], []
        for lo, hi in items:
            los.append(lo)
            his.append(hi)
        if not los:
            return ZERO_I
        return self.down.fsum(los), self.up.fsum(his)

    def scale(self, a: Interval, c: mpq) -> Interval:
        """``c * a`` for an exact rational ``c = num / den``: ``(a num) / den``, both rounded outwards.

        Not ``ctx.mul(a, c)``: gmpy2 2.3 (MPFR 4.2.2) rounds an ``mpq``
        operand of ``mul``, ``div`` and ``sub`` to the context first, in the
        context's direction, which moves the product the wrong way when
        ``a < 0`` (``mul(-1.2345, 7/3)`` rounded down at 10 bits gives
        -2.8789, above the exact -2.8805).  Products and quotients by
        integers (``mpz``) are single correct roundings, and an outward
        rounding of an outward rounding (``den > 0``) still encloses.
        """
        num, den = c.numerator, c.denominator
        lo, hi = (a[0], a[1]) if num >= 0 else (a[1], a[0])
        lo, hi = self.down.mul(lo, num), self.up.mul(hi, num)
        if den == 1:
            return lo, hi
        return self.down.div(lo, den), self.up.div(hi, den)

    def mul(self, a: Interval, b: Interval) -> Interval:
        d, u = self.down, self.up
        if a[0] >= 0 and b[0] >= 0:
            return d.mul(a[0], b[0]), u.mul(a[1], b[1])
        lo = min(d.mul(a[0], b[0]), d.mul(a[0], b[1]), d.mul(a[1], b[0]), d.mul(a[1], b[1]))
        hi = max(u.mul(a[0], b[0]), u.mul(a[0], b[1]), u.mul(a[1], b[0]), u.mul(a[1], b[1]))
        return lo, hi

    def div_pos(self, a: Interval, b: Interval) -> Interval:
        """``a / b`` for ``b`` with a positive lower bound."""
        d, u = self.down, self.up
        lo = d.div(a[0], b[1]) if a[0] >= 0 else d.div(a[0], b[0])
        hi = u.div(a[1], b[0]) if a[1] >= 0 else u.div(a[1], b[1])
        return lo, hi

    def neg(self, a: Interval) -> Interval:
        # not the unary minus operator: it rounds to gmpy2's *global* context precision
        return self.down.minus(a[1]), self.up.minus(a[0])

    # increasing functions ------------------------------------------------
    def exp(self, a: Interval) -> Interval:
        return self.down.exp(a[0]), self.up.exp(a[1])

    def log(self, a: Interval) -> Interval:
        return self.down.log(a[0]), self.up.log(a[1])

    def log1p(self, a: Interval) -> Interval:
        return self.down.log1p(a[0]), self.up.log1p(a[1])


@lru_cache(maxsize=64)
def precision(bits: int) -> Precision:
    """The (cached) :class:`Precision` of ``bits`` bits."""
    return Precision(bits)

