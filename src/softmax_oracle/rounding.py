"""One rounding from an exact value to the nearest value of a format.

Exact values come in two shapes: a fraction ``num / den`` of Python integers
(the exact rational parts of the oracle's results) and a dyadic
``mant * 2**exp`` (the bounds of an MPFR enclosure).  Both are rounded with
integer arithmetic only, once, straight to the target format: round to
nearest, ties to even, gradual underflow to subnormals and signed zero,
overflow to infinity.  Nothing goes through a Python ``float`` on the way, so
there is no double rounding (``float(mpf)`` rounds twice below ``2**-1022``;
``np.float32(float(x))`` rounds twice everywhere).

``sticky`` stands for an infinitesimal: the value to round is
``x + sticky * eps`` for an ``eps > 0`` smaller than anything that matters.
The oracle uses it for results known to lie strictly above (or below) an exact
value ``x`` by an amount too small to compute, e.g. ``2**53 + 1 + 1e-3900000``.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

import mpmath
import numpy as np
from mpmath import libmp

from .formats import Format

__all__ = [
    "Rounded",
    "round_fraction",
    "round_dyadic",
    "to_bits",
    "to_array",
    "to_mpf",
    "NAN",
]


class Rounded(NamedTuple):
    """A value of a format: ``(-1)**negative * significand * 2**exponent``, or an infinity or NaN.

    The representation is unique for each value of a format (zeros have
    ``exponent == 0``), so two ``Rounded`` compare equal exactly when they are
    the same floating-point datum, signed zeros told apart.
    """

    negative: bool
    significand: int
    exponent: int
    special: str = ""  # "", "inf" or "nan"


NAN = Rounded(False, 0, 0, "nan")
_POS_ZERO = Rounded(False, 0, 0)
_NEG_ZERO = Rounded(True, 0, 0)


def _zero(negative: bool) -> Rounded:
    return _NEG_ZERO if negative else _POS_ZERO


def _finish(negative: bool, n: int, q: int, up: bool, fmt: Format) -> Rounded:
    p = fmt.precision
    if up:
        n += 1
        if n == 1 << p:
            n >>= 1
            q += 1
    if n == 0:
        return _zero(negative)
    if fmt.bounded and q > fmt.emax - p + 1:
        return Rounded(negative, 0, 0, "inf")
    return Rounded(negative, n, q)


def _quantum(e: int, fmt: Format) -> int:
    """Exponent of the unit in the last place for a value in [2**e, 2**(e+1))."""
    q = e - fmt.precision + 1
    if fmt.bounded:
        q = max(q, fmt.emin - fmt.precision + 1)
    return q


def _round_up(n: int, twice_r_minus_d: int, sticky: int) -> bool:
    if twice_r_minus_d > 0:
        return True
    if twice_r_minus_d < 0:
        return False
    # exactly halfway: the infinitesimal decides, else ties to even
    return sticky > 0 or (sticky == 0 and bool(n & 1))


def round_fraction(num: int, den: int, fmt: Format, *, sticky: int = 0) -> Rounded:
    """Round ``num / den (+ sticky * eps)`` to ``fmt``, once.

    Parameters
    ----------
    num, den : int
        The exact value ``num / den``; ``den > 0``.
    fmt : Format
        Target format.
    sticky : {-1, 0, 1}
        Sign of an infinitesimal added to the value. ``0 + eps`` rounds to
        ``+0.0`` and ``0 - eps`` to ``-0.0``; an exact zero is ``+0.0``.

    Returns
    -------
    Rounded
        The nearest value of ``fmt`` (ties to even).
    """
    if num == 0:
        return _zero(sticky < 0)
    negative = num < 0
    a = -num if negative else num
    s = -sticky if negative else sticky  # sticky, seen on the magnitude
    e = a.bit_length() - den.bit_length()
    if (a < den << e) if e >= 0 else (a << -e < den):
        e -= 1
    q = _quantum(e, fmt)
    if q >= 0:
        n, r = divmod(a, den << q)
        d = den << q
    else:
        n, r = divmod(a << -q, den)
        d = den
    up = r != 0 and _round_up(n, 2 * r - d, s)
    return _finish(negative, n, q, up, fmt)


def round_dyadic(mant: int, exp: int, fmt: Format, *, sticky: int = 0) -> Rounded:
    """Round ``mant * 2**exp (+ sticky * eps)`` to ``fmt``, once (see :func:`round_fraction`)."""
    if mant == 0:
        return _zero(sticky < 0)
    negative = mant < 0
    a = -mant if negative else mant
    s = -sticky if negative else sticky
    q = _quantum(a.bit_length() - 1 + exp, fmt)
    shift = q - exp
    if shift <= 0:
        return _finish(negative, a << -shift, q, False, fmt)
    if a.bit_length() < shift - 1:
        # below a quarter of the smallest subnormal (e.g. an MPFR underflow bound
        # of 2**-1073741824): rounds to zero without forming 2**shift
        return _finish(negative, 0, q, False, fmt)
    n = a >> shift
    r = a & ((1 << shift) - 1)
    up = r != 0 and _round_up(n, r - (1 << (shift - 1)), s)
    return _finish(negative, n, q, up, fmt)


def to_bits(value: Rounded, fmt: Format) -> int:
    """The IEEE-754 bit pattern of ``value`` in ``fmt`` (a canonical quiet NaN for NaN)."""
    p = fmt.precision
    sign = (1 << (fmt.bits - 1)) if value.negative else 0
    all_ones = ((1 << fmt.exponent_bits) - 1) << (p - 1)
    if value.special == "nan":
        return all_ones | (1 << (p - 2))
    if value.special == "inf":
        return sign | all_ones
    n, q = value.significand, value.exponent
    if n == 0:
        return sign
    if n < 1 << (p - 1):  # subnormal: q is the minimum quantum
        return sign | n
    biased = q + p - 1 + fmt.bias
    return sign | (biased << (p - 1)) | (n - (1 << (p - 1)))


def to_array(values: Iterable[Rounded], fmt: Format, shape: tuple[int, ...]) -> np.ndarray:
    """An array of ``fmt``'s dtype holding ``values`` (in C order) with the given shape."""
    bits = np.fromiter((to_bits(v, fmt) for v in values), dtype=fmt.uint_dtype)
    return bits.view(fmt.dtype).reshape(shape)


def to_mpf(value: Rounded) -> mpmath.mpf:
    """The exact ``mpmath.mpf`` of a value (any precision: no rounding happens)."""
    if value.special == "nan":
        return mpmath.mpf("nan")
    if value.special == "inf":
        return mpmath.mpf("-inf") if value.negative else mpmath.mpf("inf")
    if value.significand == 0:
        return mpmath.mp.make_mpf(libmp.fzero)  # mpmath has no signed zero
    man = -value.significand if value.negative else value.significand
    return mpmath.mp.make_mpf(libmp.from_man_exp(man, value.exponent))
