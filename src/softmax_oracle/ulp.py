"""Error metrics in units of the last place (ULP), exact and format-aware.

Floats of one format are mapped to ordered integers with the sign-magnitude
trick: a float with bit pattern ``b`` (``w`` bits wide) maps to

.. math::

    \\operatorname{ord}(x) = \\begin{cases}
        b & \\text{sign bit clear} \\\\
        -(b \\mathbin{\\&} (2^{w-1} - 1)) & \\text{sign bit set}
    \\end{cases}

so that consecutive floats map to consecutive integers, ``+0`` and ``-0``
both map to ``0`` and ``+inf`` to one above the largest finite value.  The
ULP distance of two floats is ``|ord(a) - ord(b)|``, computed without
overflow (``numpy.testing``'s ``nulp_diff`` works in int64 and is wrong for
opposite signs: ``3e38`` and ``-3e38`` in float32 are about ``4.3e9`` steps
apart, not ``2e7``).  bfloat16 goes through its ``uint16`` bits, since
``numpy.finfo`` does not know it.

The fractional ULP error of a float ``y`` against an exact value ``x`` is

.. math::

    \\operatorname{err}(y, x) = \\frac{|y - x|}{\\operatorname{ulp}(x)},
    \\qquad
    \\operatorname{ulp}(x) = 2^{\\max(e,\\, e_{\\min}) - p + 1}
    \\text{ for } 2^e \\le |x| < 2^{e+1},

with ``p`` the precision and ``e_min`` the smallest normal exponent of the
format (``ulp(0)`` is the smallest subnormal).  This is the Goldberg/Muller
``ulp``: at a power of two it is the spacing *above* ``2**e``; beyond the
largest finite value the formula goes on as if the exponent range were
unbounded.  With it, ``err <= 0.5`` exactly when ``y`` is a correctly
rounded value of ``x``.

A *class mismatch* (NaN where a number is due, a number where NaN is due, an
infinity where a finite value is due or the reverse, the wrong infinity, the
wrong sign of zero where the mathematics fixes it) is a category of its own,
reported by :func:`class_mismatches`; :func:`ulp_error` gives NaN there,
never a big number.
"""

from __future__ import annotations

import enum
import math
import weakref
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from mpmath import libmp

from .errors import InvalidInput
from .formats import Format, format_of

__all__ = [
    "Mismatch",
    "ordered",
    "ulp_distance",
    "ulp",
    "ulp_error",
    "ulp_error_float64",
    "binade_ambiguous",
    "relative_error",
    "bits_of_error",
    "class_mismatches",
    "overflow_threshold",
    "exact_nonzero",
]


class Mismatch(enum.IntEnum):
    """Kinds of class mismatch between a result and the value that is due."""

    NONE = 0
    NAN_FOR_NUMBER = 1  # got NaN, a number (finite or infinite) is due
    NUMBER_FOR_NAN = 2  # got a number, NaN is due
    INF_FOR_FINITE = 3  # got +-inf, a finite value is due
    FINITE_FOR_INF = 4  # got a finite value, +-inf is due
    WRONG_INFINITY = 5  # got -inf for +inf or the reverse
    ZERO_SIGN = 6  # got -0 for +0 or the reverse, where the exact value fixes the sign

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Mismatch.NONE: "same class",
    Mismatch.NAN_FOR_NUMBER: "NaN where a number is due",
    Mismatch.NUMBER_FOR_NAN: "a number where NaN is due",
    Mismatch.INF_FOR_FINITE: "an infinity where a finite value is due",
    Mismatch.FINITE_FOR_INF: "a finite value where an infinity is due",
    Mismatch.WRONG_INFINITY: "the infinity of the wrong sign",
    Mismatch.ZERO_SIGN: "a zero of the wrong sign",
}


def _float_array(x: Any, name: str) -> tuple[np.ndarray, Format]:
    arr = np.asarray(x)
    return arr, format_of(arr.dtype, argument=f"{name}.dtype")


def _same_format(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray, Format]:
    a_arr, fa = _float_array(a, "a")
    b_arr, fb = _float_array(b, "b")
    if fa != fb:
        raise InvalidInput(f"a and b must have the same format; got a of {fa.name} and b of {fb.name}")
    try:
        a_arr, b_arr = np.broadcast_arrays(a_arr, b_arr)
    except ValueError:
        raise InvalidInput(f"a and b must broadcast; got shapes {a_arr.shape} and {b_arr.shape}") from None
    return a_arr, b_arr, fa


def ordered(x: Any) -> np.ndarray:
    """The ordered integers of the floats in ``x`` (int64, same shape).

    ``ord(x) = b`` for a clear sign bit and ``-(b & (2**(w-1) - 1))`` for a set
    one, ``b`` the ``w``-bit pattern: consecutive floats map to consecutive
    integers and ``+-0`` to ``0``.  NaNs map beyond ``+-inf`` (``|ord| >
    ord(inf)``) and must be masked by the caller.

    Examples
    --------
    >>> int(ordered(np.float32(1.0)) - ordered(np.nextafter(np.float32(1.0), np.float32(0))))
    1
    """
    arr, fmt = _float_array(x, "x")
    return _ordered_bits(arr, fmt)[0]


def _ordered_bits(arr: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ordered` of ``arr`` (of ``fmt``) and its NaN mask, read from the bit patterns alone."""
    w = fmt.bits
    bits = np.ascontiguousarray(arr).view(fmt.uint_dtype).astype(np.int64).reshape(arr.shape)
    magnitude = bits & ((1 << (w - 1)) - 1)
    nan = magnitude > ((1 << (w - fmt.precision)) - 1) << (fmt.precision - 1)  # above the bits of +inf
    return np.where(bits >> (w - 1) != 0, -magnitude, magnitude), nan


def ulp_distance(a: Any, b: Any) -> Any:
    """Number of floats steps from ``a`` to ``b``: ``|ord(a) - ord(b)|``, exactly.

    Parameters
    ----------
    a, b : array_like
        Floats of one format (float64, float32, float16 or bfloat16).

    Returns
    -------
    int or numpy.ndarray
        A Python ``int`` for scalar inputs, else a ``uint64`` array: every
        distance between two non-NaN values of a format of at most 64 bits is
        below ``2**64``, so the array is exact.  ``+0`` and ``-0`` are ``0``
        apart; ``inf`` is one step above the largest finite value; two NaNs
        are ``0`` apart.

    Raises
    ------
    InvalidInput
        If the formats differ, or a NaN faces a number (a class mismatch:
        see :func:`class_mismatches`).

    Examples
    --------
    >>> ulp_distance(np.float32(3e38), np.float32(-3e38))
    4274217932
    """
    a_arr, b_arr, fmt = _same_format(a, b)
    oa, a_nan = _ordered_bits(a_arr, fmt)
    ob, b_nan = _ordered_bits(b_arr, fmt)
    if np.any(a_nan != b_nan):
        index = tuple(int(i) for i in np.argwhere(a_nan != b_nan)[0])
        raise InvalidInput(
            f"ulp distance is undefined between NaN and a number (a class mismatch); first at index {index}"
        )
    if a_nan.any():
        oa, ob = np.where(a_nan, 0, oa), np.where(b_nan, 0, ob)
    ua, ub = oa.astype(np.uint64), ob.astype(np.uint64)
    # modular uint64 subtraction is exact because the true difference is in [0, 2**64)
    dist = np.where(oa >= ob, ua - ub, ub - ua)
    return int(dist) if dist.ndim == 0 else dist


def bits_of_error(got: Any, expected: Any) -> Any:
    """Bits of error (Herbie): ``log2(1 + ulp_distance(got, expected))``.

    ``0`` for an exact match; ``expected`` is normally the correctly rounded
    value.  A float for scalar inputs, else a float64 array.
    """
    dist = ulp_distance(got, expected)
    if isinstance(dist, int):
        return math.log2(1 + dist)
    return np.log2(1.0 + dist.astype(np.float64))


def overflow_threshold(fmt: Format) -> mpmath.mpf:
    """The least magnitude that rounds to infinity: ``(2 - 2**-p) * 2**emax``."""
    return mpmath.mpf(libmp.from_man_exp((1 << (fmt.precision + 1)) - 1, fmt.emax - fmt.precision))


def _as_exact(value: Any) -> Any:
    """An exact value as an mpmath tuple or a Fraction (kept exact)."""
    if isinstance(value, mpmath.mpf):
        return value._mpf_
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return libmp.from_int(int(value))
    if isinstance(value, (float, np.floating)) or type(value).__name__ == "bfloat16":
        return libmp.from_float(float(value))  # exact: every format here fits in a double
    raise InvalidInput(f"exact values must be mpmath.mpf, Fraction, int or float; got {value!r}")


def _quantum(e: int, fmt: Format) -> int:
    q = e - fmt.precision + 1
    return max(q, fmt.emin - fmt.precision + 1) if fmt.bounded else q


def _exponent(x: Any) -> int | None:
    """``e`` with ``2**e <= |x| < 2**(e+1)``; ``None`` for zero."""
    if isinstance(x, Fraction):
        if x == 0:
            return None
        a = abs(x)
        e = a.numerator.bit_length() - a.denominator.bit_length()
        return e - 1 if a < Fraction(2) ** e else e
    if x[1] == 0:  # +0 or mpmath's -0 (specials never get here)
        return None
    _, man, exp, bc = x
    return exp + bc - 1


def ulp(x: Any, fmt: Any) -> Fraction:
    """``ulp(x)`` in ``fmt``: ``2**(max(e, emin) - p + 1)`` for ``2**e <= |x| < 2**(e+1)``.

    ``ulp(0)`` is the smallest subnormal; beyond the largest finite value the
    exponent is not capped (see the module docstring).  Returned exactly.
    """
    fmt = format_of(fmt, argument="fmt")
    ex = _as_exact(x)
    if not isinstance(ex, Fraction) and ex in (libmp.finf, libmp.fninf, libmp.fnan):
        raise InvalidInput(f"ulp is defined for finite values only; got x={x!r}")
    e = _exponent(ex)
    q = _quantum(fmt.emin if e is None else e, fmt)
    return Fraction(2) ** q


def _special(x: Any) -> str:
    if isinstance(x, Fraction):
        return ""
    return {libmp.finf: "+inf", libmp.fninf: "-inf", libmp.fnan: "nan"}.get(x, "")


def _error_one(y: float, x: Any, fmt: Format, threshold: Any, relative: bool) -> float:
    ys = "nan" if math.isnan(y) else ("+inf" if y == math.inf else ("-inf" if y == -math.inf else ""))
    xs = _special(x)
    if xs or ys:
        if xs == ys:
            return 0.0
        if ys in ("+inf", "-inf") and not xs:
            # an infinity that is the correct rounding of a finite value beyond the range
            big = libmp.mpf_ge(libmp.mpf_abs(_mpf(x)), threshold)
            if big and (ys == "+inf") == (_sign(x) > 0):
                return 0.0 if relative else 0.5
        return math.nan
    if isinstance(x, Fraction):
        diff = abs(Fraction(y) - x)
        if relative:
            return (math.inf if diff else 0.0) if x == 0 else float(diff / abs(x))
        e = _exponent(x)
        return float(diff / Fraction(2) ** _quantum(fmt.emin if e is None else e, fmt))
    diff = libmp.mpf_abs(libmp.mpf_sub(libmp.from_float(y), x, 53, libmp.round_nearest))
    if relative:
        if x[1] == 0:
            return math.inf if diff[1] != 0 else 0.0
        return libmp.to_float(libmp.mpf_div(diff, libmp.mpf_abs(x), 53, libmp.round_nearest))
    e = _exponent(x)
    q = _quantum(fmt.emin if e is None else e, fmt)
    return libmp.to_float(libmp.mpf_shift(diff, -q))


def _mpf(x: Any) -> Any:
    if isinstance(x, Fraction):
        return libmp.from_rational(x.numerator, x.denominator, 128, libmp.round_nearest)
    return x


def _sign(x: Any) -> int:
    if isinstance(x, Fraction):
        return (x > 0) - (x < 0)
    return libmp.mpf_sign(x)


def _errors(got: Any, exact: Any, fmt: Any, relative: bool) -> Any:
    g_arr, gfmt = _float_array(got, "got")
    fmt = gfmt if fmt is None else format_of(fmt, argument="fmt")
    x_arr = np.asarray(exact, dtype=object)
    try:
        shape = np.broadcast_shapes(g_arr.shape, x_arr.shape)
    except ValueError:
        raise InvalidInput(f"got and exact must broadcast; got shapes {g_arr.shape} and {x_arr.shape}") from None
    with np.errstate(invalid="ignore"):  # exact widening; bfloat16 NaN payloads warn
        g64 = np.broadcast_to(g_arr.astype(np.float64), shape)
    out, slow = _fast_errors(g64, _scaled_exact(x_arr, fmt), shape, relative)
    if slow.any():
        threshold = overflow_threshold(fmt)._mpf_
        xs = np.broadcast_to(x_arr, shape)
        out[slow] = [_error_one(float(y), _as_exact(x), fmt, threshold, relative)
                     for y, x in zip(g64[slow], xs[slow])]
    return float(out) if out.ndim == 0 else out


# -- the vectorized path ---------------------------------------------------------------------------
# Each exact value x is scaled by its ulp, X = x / 2**q, and split into float64 terms
# X = hi + lo + tail (|tail| <= tail_bound).  The error |Y - X| (Y = y / 2**q) is then summed with
# error-free transformations and accepted only where the residual is provably inside the rounding
# interval of the result, so it is the same float64 as the mpmath path; the rest (ties, specials,
# extreme exponents) goes to :func:`_error_one`.

_BIG = 2.0**900
_TINY = 2.0**-900
_EPS = 2.0**-52


@dataclass(frozen=True)
class _Scaled:
    q: np.ndarray  # int64 exponent of ulp(x)
    hi: np.ndarray
    lo: np.ndarray
    lo2: np.ndarray
    tail: np.ndarray  # bound on |X - hi - lo - lo2|
    fast: np.ndarray  # bool: usable by the vectorized path


_SCALED_CACHE: dict[int, tuple[Any, list[Any], Format, _Scaled]] = {}


def _scaled_exact(x_arr: np.ndarray, fmt: Format) -> _Scaled:
    """The scaled split of every exact value, cached per array: one reference serves many candidates."""
    items = list(x_arr.flat)
    hit = _SCALED_CACHE.get(id(x_arr))
    # the identity check of every element makes a mutated or recycled array a miss, never a wrong hit
    if hit is not None and hit[0]() is x_arr and hit[2] == fmt and hit[1] == items:
        return hit[3]
    rows = [_scale_one(v, fmt) for v in items]
    cols = list(zip(*rows)) if rows else [()] * 6
    scaled = _Scaled(*(np.array(c, dtype=t).reshape(x_arr.shape)
                       for c, t in zip(cols, (np.int64, np.float64, np.float64, np.float64, np.float64, bool))))
    if len(_SCALED_CACHE) >= 8:
        _SCALED_CACHE.pop(next(iter(_SCALED_CACHE)))
    _SCALED_CACHE[id(x_arr)] = (weakref.ref(x_arr), items, fmt, scaled)
    return scaled


_SLOW_ROW = (0, 0.0, 0.0, 0.0, 0.0, False)


def _scale_one(value: Any, fmt: Format) -> tuple[int, float, float, float, float, bool]:
    x = _as_exact(value)
    if isinstance(x, Fraction) or _special(x):
        return _SLOW_ROW
    sign, man, exp, bc = x
    if man == 0:
        return _quantum(fmt.emin, fmt), 0.0, 0.0, 0.0, 0.0, True
    q = _quantum(exp + bc - 1, fmt)
    if not -700 < exp - q + bc < 700:
        return _SLOW_ROW
    if bc > 1000:  # float(int) would overflow
        return _SLOW_ROW
    rest = -man if sign else man
    terms = []
    for _ in range(3):  # X = (hi + lo + lo2 + tail) * 2**(exp - q), each term the rounding of what is left
        term = float(rest)  # int -> float rounds to nearest, ties to even
        rest -= int(term)
        term = math.ldexp(term, exp - q)
        if term != 0 and abs(term) < _TINY:
            return _SLOW_ROW
        terms.append(term)
    hi, lo, lo2 = terms
    return q, hi, lo, lo2, 0.0 if rest == 0 else abs(lo2) * _EPS, True


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = a * b

    def split(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = 134217729.0 * v  # Veltkamp: 2**27 + 1
        h = c - (c - v)
        return h, v - h

    ah, al = split(a)
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _inside(value: np.ndarray, residual: np.ndarray, margin: np.ndarray, scale: Any = 1.0) -> np.ndarray:
    """Whether ``value + residual`` (|error| <= margin) rounds to ``value > 0``: strictly inside half a step."""
    up = (np.nextafter(value, np.inf) - value) / 2 * scale
    down = (value - np.nextafter(value, 0.0)) / 2 * scale
    limit = np.where(residual > 0, up, down)
    return (np.abs(residual) + margin) * (1 + 2.0**-40) < limit


def _fast_errors(y: np.ndarray, sc: _Scaled, shape: tuple[int, ...], relative: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Errors where the vectorized path is exact, and the mask of the elements it leaves to the slow one."""
    q, hi, lo, lo2, tail, fast = (np.broadcast_to(a, shape) for a in (sc.q, sc.hi, sc.lo, sc.lo2, sc.tail, sc.fast))
    out = np.full(shape, np.nan)
    with np.errstate(all="ignore"):  # overflow or underflow only where the masks reject the element
        scaled_y = np.ldexp(y, np.clip(-q, -4000, 4000))
        ay = np.abs(scaled_y)
        ok = fast & np.isfinite(y) & ((y == 0) | ((ay >= _TINY) & (ay <= _BIG)))
        s1, e1 = _two_sum(scaled_y, -hi)
        t, e2 = _two_sum(e1, -lo)
        s, e3 = _two_sum(s1, t)
        e23 = e3 + e2
        rc = e23 - lo2  # |y - x| / ulp = |s + rc - tail|, rc rounded twice
        a = np.abs(s)
        exact_zero = ok & (s == 0) & (rc == 0) & (tail == 0)
        good = ok & (a >= _TINY) & (a <= _BIG)
        good &= _inside(a, rc * np.sign(s), (np.abs(e23) + np.abs(rc)) * _EPS + tail)
        good |= exact_zero
        if not relative:
            out[good] = a[good]
            return out, ~good
        xh, xl, xl2 = np.abs(hi), lo * np.sign(hi), lo2 * np.sign(hi)  # |X| = xh + xl + xl2 (+ tail)
        quotient = _quotient(a, xh, xl, xl2, tail)
        done = good & (hi != 0) & ((a == 0) | ~np.isnan(quotient))
        out[done] = np.where(a == 0, 0.0, quotient)[done]
        at_zero = good & (hi == 0)
        out[at_zero] = np.where(a[at_zero] == 0, 0.0, np.inf)
        done |= at_zero
    return out, ~done


def _quotient(a: np.ndarray, xh: np.ndarray, xl: np.ndarray, xl2: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """``a / (xh + xl + xl2 + tail)`` correctly rounded where provable, else NaN."""

    def residual(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, pe = _two_prod(c, xh)
        u2 = (a - p) - pe  # a - p is exact (Sterbenz): p is within a few ulps of a
        u3 = c * xl + c * xl2
        r = u2 - u3
        return r, (np.abs(u2) + 2 * np.abs(u3) + np.abs(r)) * _EPS + c * tail * (1 + _EPS)

    c = a / xh
    r, _ = residual(c)
    c = c + r / xh  # one Newton step: the first quotient ignores xl
    r, bound = residual(c)
    sane = (a >= _TINY) & (a <= _BIG) & (c >= _TINY) & (c <= _BIG) & (xh >= _TINY) & (xh <= _BIG)
    ok = sane & _inside(c, r, bound, scale=xh * (1 - 2.0**-50))
    return np.where(ok, c, np.nan)


def ulp_error(got: Any, exact: Any, *, fmt: Any = None) -> Any:
    """Fractional ULP error ``|got - exact| / ulp(exact)``; ``0.5`` means correctly rounded.

    Parameters
    ----------
    got : array_like
        Floats of one of the four formats.
    exact : array_like
        Exact values (``mpmath.mpf`` of any precision, ``Fraction``, ``int``
        or ``float``), broadcast against ``got``.
    fmt : Format or dtype-like, optional
        Format whose ``ulp`` is the unit; default ``got``'s.

    Returns
    -------
    float or numpy.ndarray
        The error, rounded once to float64.  Special values: ``0`` where
        ``got`` is the same NaN or infinity as ``exact``; ``0.5`` where
        ``got`` is the infinity that a finite ``exact`` rounds to (beyond the
        overflow threshold ``(2 - 2**-p) * 2**emax``, no float is closer);
        ``NaN`` for every other class mismatch (see :func:`class_mismatches`).

    Examples
    --------
    >>> ulp_error(np.float32(1.0), mpmath.mpf(1) + mpmath.mpf(2) ** -24)
    0.5
    """
    return _errors(got, exact, fmt, relative=False)


def _narrow(got: Any, reference: Any) -> tuple[np.ndarray, np.ndarray, Format]:
    g_arr, fmt = _float_array(got, "got")
    r_arr = np.asarray(reference)
    if r_arr.dtype != np.float64:
        raise InvalidInput(f"reference must be a float64 array; got reference.dtype={r_arr.dtype}")
    if fmt.precision > 24:
        raise InvalidInput(f"got must have at most 24 significand bits (float64 cannot stand for the exact value of "
                           f"a wider format); got got.dtype={g_arr.dtype}")
    with np.errstate(invalid="ignore"):  # exact widening; NaN payloads of bfloat16 warn
        return g_arr.astype(np.float64), r_arr, fmt


def binade_ambiguous(reference: Any, fmt: Any) -> np.ndarray:
    """Where a float64 reference does not fix the binade of the exact value in ``fmt``.

    ``|reference| = 2**e`` with ``e > emin`` (the exact value may lie just
    below ``2**e``, where ``ulp`` is half as large), or ``|reference|`` equal
    to the overflow threshold (the exact value may lie below it).
    """
    fmt = format_of(fmt, argument="fmt")
    r = np.abs(np.asarray(reference, dtype=np.float64))
    mantissa, exponent = np.frexp(r)
    power = (mantissa == 0.5) & (exponent - 1 > fmt.emin) & np.isfinite(r)
    return power | (r == (2 - 2.0**-fmt.precision) * 2.0**fmt.emax)  # the overflow threshold, exact in float64


def ulp_error_float64(got: Any, reference: Any, *, below: Any = False) -> np.ndarray:
    """ULP error of ``got`` against ``reference``, the float64 correct rounding of the exact value.

    For a format of precision ``p <= 24`` (float32, float16, bfloat16) and an
    exact value ``x`` with ``2**e <= |x| < 2**(e+1)``, ``r = RN64(x)`` is within
    ``2**(e-53)``, i.e. ``2**(p-54) <= 2**-30`` ULP, of ``x`` (``e >= -1022``);
    below float64's normal range it is within ``2**-1075``, i.e. ``2**-926``
    float32 ULP.  The error ``|y - r| / ulp(r)`` is formed with one rounding
    (the subtraction), so it is within ``2**(p-54) + 2**-53 * err`` of
    :func:`ulp_error` ``(y, x)`` wherever the binade of ``r`` is that of ``x``.
    It is not where :func:`binade_ambiguous` says so: pass ``below`` (true where
    ``|x| < |r|``, known from the mathematics) or use exact values there.

    Parameters
    ----------
    got : array_like
        Floats of at most 24 significand bits.
    reference : numpy.ndarray
        float64 correct roundings of the exact values, broadcast against ``got``.
    below : bool or array_like of bool
        Where ``|x|`` lies below ``|r| = 2**e``: the unit is then ``ulp(2**(e-1))``.

    Returns
    -------
    numpy.ndarray
        float64 errors, with :func:`ulp_error`'s conventions: ``0`` for the
        same NaN or infinity, ``0.5`` for the infinity a value at or beyond
        the overflow threshold rounds to, NaN for other class mismatches.
    """
    y, r, fmt = _narrow(got, reference)
    y, r = np.broadcast_arrays(y, r)
    _, exponent = np.frexp(r)
    e = exponent.astype(np.int64) - 1 - np.asarray(below, dtype=np.int64)
    q = np.maximum(np.where(r == 0, fmt.emin, e), fmt.emin) - fmt.precision + 1  # ulp(0): smallest subnormal
    with np.errstate(invalid="ignore"):  # inf - inf: a class mismatch or the same infinity, set below
        out = np.ldexp(np.abs(y - r), -q)
    same = (np.isnan(y) & np.isnan(r)) | (np.isinf(y) & (y == r))
    beyond = np.isinf(y) & np.isfinite(r) & (np.abs(r) >= (2 - 2.0**-fmt.precision) * 2.0**fmt.emax)
    out = np.where(np.isnan(y) | np.isnan(r) | np.isinf(y) | np.isinf(r), np.nan, out)
    out = np.where(beyond & (np.sign(y) == np.sign(r)), 0.5, out)
    return np.where(same, 0.0, out)


def relative_error(got: Any, exact: Any, *, fmt: Any = None) -> Any:
    """Relative error ``|got - exact| / |exact|`` (``inf`` for a nonzero ``got`` at an exact zero).

    Same conventions as :func:`ulp_error` for NaN and infinities, except that an
    infinity that is the correct rounding of a finite value scores ``0``.
    """
    return _errors(got, exact, fmt, relative=True)


def exact_nonzero(exact: Any) -> np.ndarray:
    """Boolean array: which exact values are not zero (NaN and infinities count as nonzero).

    Unlike ``mpf != 0``, this treats mpmath's internal negative zero
    ``(1, 0, 0, 0)``, which compares unequal to ``0``, as zero.
    """
    arr = np.asarray(exact, dtype=object)
    flags = [(lambda e: e != 0 if isinstance(e, Fraction) else (e[1] != 0 or bool(_special(e))))(_as_exact(v))
             for v in arr.flat]
    return np.array(flags, dtype=bool).reshape(arr.shape)


def _decode(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NaN, infinity, zero and sign-bit masks of a float array of any format."""
    with np.errstate(invalid="ignore"):  # casting bfloat16 NaN payloads warns
        as64 = arr.astype(np.float64)
    return np.isnan(as64), np.isinf(as64), as64 == 0, np.signbit(as64)


def class_mismatches(got: Any, expected: Any, *, zero_sign: Any = True) -> np.ndarray:
    """The :class:`Mismatch` of each element of ``got`` against the ``expected`` float.

    Parameters
    ----------
    got, expected : array_like
        Floats (any of the four formats, not necessarily the same);
        ``expected`` is normally the correctly rounded value.
    zero_sign : bool or array_like of bool
        Where true, a zero of the wrong sign is a mismatch.  Pass
        ``exact != 0``: the sign of a rounded zero matters when the exact value
        underflowed (its sign is fixed), not when the exact value is zero.

    Returns
    -------
    numpy.ndarray
        ``int8`` codes of :class:`Mismatch` (``0`` = same class), broadcast
        shape of the inputs.
    """
    g, e = np.broadcast_arrays(np.asarray(got), np.asarray(expected))
    g_nan, g_inf, g_zero, g_neg = _decode(g)
    e_nan, e_inf, e_zero, e_neg = _decode(e)
    code = np.zeros(g.shape, dtype=np.int8)
    conditions = [
        (g_nan & ~e_nan, Mismatch.NAN_FOR_NUMBER),
        (~g_nan & e_nan, Mismatch.NUMBER_FOR_NAN),
        (g_inf & ~e_inf & ~e_nan, Mismatch.INF_FOR_FINITE),
        (~g_inf & ~g_nan & e_inf, Mismatch.FINITE_FOR_INF),
        (g_inf & e_inf & (g_neg != e_neg), Mismatch.WRONG_INFINITY),
        (g_zero & e_zero & (g_neg != e_neg) & np.asarray(zero_sign, dtype=bool), Mismatch.ZERO_SIGN),
    ]
    for mask, kind in conditions:
        code[mask] = kind
    return code
