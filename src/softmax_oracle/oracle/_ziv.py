"""Terms and Ziv's rounding loop.

Every output element of the oracle is a :class:`Term`:

    value = exact + sum_i coeff_i * Y_i

where ``exact`` and every ``coeff_i`` are exact rationals (``gmpy2.mpq``) and
every ``Y_i`` is a transcendental quantity given by a function returning a
proven enclosure at a requested working precision, with its sign known
exactly (or ``None`` when it is not).  Special results (NaN, infinities) are
terms too.

:func:`decide` rounds a term to a format by Ziv's strategy: enclose the value
at a working precision, and accept when both ends of the enclosure round to
the same value of the format; otherwise double the precision.  The exact part
and the sign of the remainder settle what no precision can: when ``exact`` is a
rounding midpoint (``2**53 + 1``) and the remainder a positive quantity too
small to compute (``log1p(exp(-(2**53 + 1)))``), the value is known to lie
strictly above the midpoint, so it rounds up.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from gmpy2 import mpq

from ..formats import Format
from ..rounding import NAN, Rounded, round_dyadic, round_fraction
from ._interval import Interval, Precision, precision

__all__ = ["Term", "Part", "decide", "decide_enclosed", "Undecided", "MAX_BITS", "special", "exact"]

MAX_BITS = 1 << 15
"""Precision cap, in bits; :func:`decide` raises :class:`Undecided` past it."""

Enclosure = Callable[[Precision], Interval]
Part = tuple[mpq, Enclosure, "int | None"]  # (coefficient, enclosure, exact sign of the enclosed value)

_Q0 = mpq(0)


class Undecided(Exception):
    """Raised by :func:`decide` when the precision cap is reached (or the value leaves MPFR's range)."""

    def __init__(self, max_bits: int, reason: str = "it lies too close to a rounding boundary") -> None:
        self.max_bits = max_bits
        self.reason = reason
        super().__init__(max_bits, reason)


_MPFR_TINY_EXP = -(1 << 30) + (1 << 20)  # enclosures reaching below 2**this touch MPFR's underflow


class Term(NamedTuple):
    """``exact + sum(coeff * Y)`` or a special value (see the module docstring).

    A named tuple rather than a dataclass: the oracle builds one per output
    element, and tuple construction is several times cheaper.
    """

    exact: mpq = _Q0
    parts: tuple[Part, ...] = ()
    special: float | None = None

    def sign(self) -> int | None:
        """Structural sign of the remainder ``sum(coeff * Y)``: -1, 0, 1, or None if unknown."""
        return _combined_sign((c, s) for c, _, s in self.parts)


def _combined_sign(items) -> int | None:
    signs = set()
    for c, s in items:
        if c == 0 or s == 0:
            continue
        if s is None:
            return None
        signs.add(s if c > 0 else -s)
    if not signs:
        return 0
    return signs.pop() if len(signs) == 1 else None


_FOLD_EXP = 1 << 17  # point enclosures beyond 2**+-_FOLD_EXP are not folded into the exact part


def _evaluate(term: Term, p: Precision) -> tuple[mpq, Interval, int | None]:
    """``(exact', remainder enclosure, remainder sign)`` at precision ``p``.

    A part whose enclosure is a single point (``exp(0) = 1``, ``sigmoid(0) =
    1/2``, ``1/k`` for ``k`` tied maxima) is exact: it is folded into the exact
    part, so an exact result on a rounding midpoint is rounded as such instead
    of being straddled forever by inexact products.  An enclosure function may
    return ``(lo, hi, sign)`` to refine its part's sign at this precision (a
    product whose factor's sign is decided even where MPFR underflows).
    """
    d = term.exact
    scaled = []
    signs = []
    for c, f, s in term.parts:
        if c == 0 or s == 0:
            continue
        res = f(p)
        lo, hi = res[0], res[1]
        if len(res) == 3 and res[2] is not None:
            s = res[2]
        if lo == hi and lo.is_finite() and (lo == 0 or abs(lo.as_mantissa_exp()[1]) < _FOLD_EXP):
            d += c * mpq(lo)
            continue
        scaled.append(p.scale((lo, hi), c))
        signs.append((c, s))
    return d, p.fsum(scaled), _combined_sign(signs)


def special(value: float) -> Term:
    """A NaN or infinite (or signed-zero) result."""
    return Term(special=value)


def exact(value: mpq) -> Term:
    """A result that is the exact rational ``value``."""
    return Term(exact=mpq(value))


def _special_rounded(value: float) -> Rounded:
    if value != value:
        return NAN
    if value in (float("inf"), float("-inf")):
        return Rounded(value < 0, 0, 0, "inf")
    if value == 0:
        return Rounded(str(value).startswith("-"), 0, 0)
    raise ValueError(value)  # pragma: no cover - specials are NaN, inf or zero


def _round_bound(x, fmt: Format) -> Rounded:
    if not x.is_finite():
        return _special_rounded(float(x))
    mant, exp = x.as_mantissa_exp()
    return round_dyadic(int(mant), int(exp), fmt)


def _beyond_range(lo, hi) -> bool:
    """True when the enclosure is an MPFR underflow: no precision will narrow it."""
    return all(v == 0 or (v.is_finite() and v.as_mantissa_exp()[1] < _MPFR_TINY_EXP) for v in (lo, hi))


def _from_logarithm(term: Term, d: mpq, sign: int | None, fmt: Format, max_bits: int) -> Rounded | None:
    """An unbounded-format value ``c Y`` below MPFR's range, rounded from ``log Y``.

    Only for a term that is one part of known sign and no exact part, whose
    enclosure function carries ``.log`` (the enclosure of ``log |Y|``):
    ``|c Y| = 2**n exp(w - n log 2)`` with ``w = log |c| + log |Y|`` and the
    integer ``n = floor(w / log 2)``, so the mantissa ``exp(r)``, ``r`` in
    about ``[0, log 2)``, is in range and the exponent is a Python integer.
    Returns None when the term is not of that shape.
    """
    live = [(c, f) for c, f, s in term.parts if c != 0 and s != 0]
    if d != 0 or sign not in (1, -1) or len(live) != 1 or not hasattr(live[0][1], "log"):
        return None
    c, f = live[0]
    bits = start_bits(fmt)
    while bits <= max_bits:
        p = precision(bits)
        w = f.log(p)
        if w is None:
            return None
        w = p.add(w, p.log(p.rational(abs(c))))
        n = int(p.down.floor(p.down.div(w[0], p.down.const_log2())))  # not gmpy2.floor: global 53 bits
        # log 2 to enough bits that n log 2 is known to `bits` bits past the point
        q = precision(bits + max(n.bit_length(), 1) + 8)
        n_log2 = q.scale((q.down.const_log2(), q.up.const_log2()), mpq(n))
        r = q.add(w, q.neg(n_log2))
        m_lo, m_hi = q.exp(r)
        # |w| large against the precision leaves r wide (exp may even overflow): more bits
        if m_lo > 0 and m_hi.is_finite():
            bounds = [round_dyadic(sign * int(v.as_mantissa_exp()[0]), int(v.as_mantissa_exp()[1]) + n, fmt)
                      for v in (m_lo, m_hi)]
            if bounds[0] == bounds[1]:
                return bounds[0]
        bits *= 2
    raise Undecided(max_bits)


def start_bits(fmt: Format) -> int:
    """First working precision for a format."""
    return fmt.precision + 32


def decide(term: Term, fmt: Format, *, max_bits: int = MAX_BITS) -> Rounded:
    """The value of ``term`` correctly rounded to ``fmt``.

    Raises
    ------
    Undecided
        If ``max_bits`` bits of working precision do not decide the rounding.
    """
    return decide_enclosed(term, fmt, max_bits=max_bits)[0]


def decide_enclosed(term: Term, fmt: Format, *, max_bits: int = MAX_BITS
                    ) -> tuple[Rounded, tuple[Any, Any] | None]:
    """:func:`decide`, with the bounds of the exact value it rounded: ``(rounded, (lo, hi))``.

    ``lo <= value <= hi``: two ``mpfr`` (the enclosure at the precision that
    decided; it may straddle a rounding boundary where the exact part and the
    remainder's sign decided), or ``lo == hi`` for an exact value (an ``mpq``,
    or a Python float for the special results: NaN, infinities, signed zeros).
    ``None`` instead of the pair for a value rounded from its logarithm (below
    MPFR's range, unbounded formats only): nothing simpler is known about it.
    """
    if term.special is not None:
        return _special_rounded(term.special), (term.special, term.special)
    d = term.exact
    if term.sign() == 0:
        return round_fraction(int(d.numerator), int(d.denominator), fmt), (d, d)
    bits = start_bits(fmt)
    while bits <= max_bits:
        p = precision(bits)
        d, (r_lo, r_hi), sign = _evaluate(term, p)
        if sign == 0 or (r_lo == 0 and r_hi == 0):
            return round_fraction(int(d.numerator), int(d.denominator), fmt), (d, d)
        lo = p.down.add(r_lo, d)
        hi = p.up.add(r_hi, d)
        a, b = _round_bound(lo, fmt), _round_bound(hi, fmt)
        if a == b:
            return a, (lo, hi)
        # A remainder of known sign makes `exact` itself a strict bound; the
        # sign is known from the structure, or from a strictly signed enclosure.
        s = 1 if r_lo > 0 else -1 if r_hi < 0 else sign
        if s == 1 and lo <= d:
            a = round_fraction(int(d.numerator), int(d.denominator), fmt, sticky=1)
        elif s == -1 and hi >= d:
            b = round_fraction(int(d.numerator), int(d.denominator), fmt, sticky=-1)
        if a == b:
            return a, (lo, hi)
        if not fmt.bounded and _beyond_range(r_lo, r_hi):
            tiny = _from_logarithm(term, d, sign, fmt, max_bits)
            if tiny is not None:
                return tiny, None
            raise Undecided(bits, "its remainder is below MPFR's exponent range (2**-1073741823), "
                                  "which an unbounded format cannot round")
        bits *= 2
    raise Undecided(max_bits)
