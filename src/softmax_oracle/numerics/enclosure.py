"""Enclosures: float64 arrays of values with a proven error radius and a scaled exponent.

An :class:`Enclosure` ``(hi, lo, rad, exp)`` stands for, elementwise, every real
``v`` with

    |v - 2**exp * (hi + lo)|  <=  2**exp * rad

where ``hi``, ``lo``, ``rad`` are float64 arrays and ``exp`` an int64 array (or
the int 0; every field broadcasts against the others).  ``rad >= 0``; a
non-finite ``rad`` (or ``hi``) means *nothing is known* about that element: it
is never decided and phase 2 computes it.

Conventions kept by every operation of :mod:`softmax_oracle.numerics.arith`:

* ``hi + lo`` is a double-word (``|lo| <= ulp(hi)/2``) in the double-double
  tier; in the double tier ``lo`` is the Python float ``0.0`` (tested with
  ``type(lo) is float``: a NumPy float64 scalar is a ``float`` too, and a
  0-d low word must not be mistaken for it).
* After a product, quotient, exponential or logarithm the *mantissa* is
  normalized, ``0.5 <= |hi| < 1`` (or ``hi = 0``), and ``exp`` carries the
  binary exponent: ``exp(-1e5) = 2**-144270 * 0.6...`` keeps its relative
  accuracy although it is far below float64's range, and products of such
  values never under- or overflow.  Sums align their operands to the larger
  exponent first (a term more than ``2**1074`` times smaller than the other
  only contributes to ``rad``).
* ``rad`` is an *upper* bound computed in round-to-nearest: every formula for
  it is a short sum of products of non-negative numbers, multiplied by
  ``1 + 2**-49`` and increased by ``2**-1000`` (see ``docs/error-analysis.md``
  section 1), which covers its own rounding errors and any underflow in it.
  Exact values keep ``rad = 0`` (``from_float``, an exact difference
  ``x - m``, negation, scaling by a power of two); every other operation
  returns a positive radius, so an exactly zero result is never decided
  without a known sign (the callers decide structural zeros themselves).

:func:`round_enclosure` is the rounding test of the fast phase: the element is
*decided* when both ends of its interval round to the same value of the target
format (same class, same sign of zero); since rounding to nearest is monotonic,
every value in between, the true one included, then rounds there too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..formats import Format
from .cast import round_to_format
from .double_double import round_to_odd
from .eft import two_sum

__all__ = ["Enclosure", "from_float", "exact_difference", "normalized", "round_enclosure", "UNKNOWN"]

UNKNOWN = np.inf  # the radius of an element about which nothing is known
_EXP_CLIP = 4000  # 2**exp * m with |exp| > 4000 under- or overflows every format for any m used here


class Enclosure(NamedTuple):
    """``|v - 2**exp (hi + lo)| <= 2**exp rad``, elementwise (see the module docstring)."""

    hi: np.ndarray
    lo: np.ndarray
    rad: np.ndarray
    exp: np.ndarray | int


def from_float(x: np.ndarray) -> Enclosure:
    """A float64 array as exact enclosures (``rad = 0``); NaN and infinities become unknown (``rad = inf``).

    The result is normalized (``0.5 <= |hi| < 1``).
    """
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    if finite.all():
        return normalized(Enclosure(x, np.zeros_like(x), np.zeros_like(x), 0))
    hi = np.where(finite, x, 0.0)
    return normalized(Enclosure(hi, np.zeros_like(hi), np.where(finite, 0.0, UNKNOWN), 0))


def exact_difference(x: np.ndarray, m: np.ndarray) -> Enclosure:
    """``x - m`` exactly, as the double-word ``s + err`` of TwoSum (``rad = 0``, ``exp = 0``, not normalized).

    ``x`` and ``m`` must be finite (no overflow: ``|x - m| < 2**1024``).
    """
    s, err = two_sum(np.asarray(x, dtype=np.float64), -np.asarray(m, dtype=np.float64))
    return Enclosure(s, err, np.zeros_like(s), 0)


def normalized(a: Enclosure) -> Enclosure:
    """The same enclosure with ``0.5 <= |hi| < 1`` (``hi = 0`` keeps its exponent).

    Scaling by a power of two is exact except where ``lo`` or ``rad`` land below
    ``2**-1022``; the less than ``2**-1074`` lost in each is added to ``rad``.
    """
    mant, k = np.frexp(a.hi)
    shift = -k
    lo = np.ldexp(a.lo, shift)
    lost = np.ldexp(lo, k) != a.lo
    if np.any(a.rad):
        rad = np.ldexp(a.rad, shift)
        lost |= (rad < 2.0**-1022) & (a.rad > 0)
    else:  # exact input (the common case: x - m): the radius stays 0 unless lo lost bits
        rad = a.rad
    if lost.any():
        rad = np.where(lost, rad + 2.0**-1073, rad)
    return Enclosure(mant, lo, rad, np.add(a.exp, k, dtype=np.int64))


def round_enclosure(enc: Enclosure, fmt: Format, *, sign: np.ndarray | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Round both ends of each interval once to ``fmt``; decided where they agree bit for bit.

    Parameters
    ----------
    enc : Enclosure
        The values to round (any shape; the fields broadcast).
    fmt : Format
        A bounded target format (float64, float32, float16, bfloat16).
    sign : array of +1/-1, scalar, or None
        A structurally known sign of the true value: where ``+1`` the lower end
        is taken as ``max(lower, +0)``, where ``-1`` the upper end as
        ``min(upper, -0)``, so that an interval that reaches zero still rounds
        to a signed zero.  ``0`` (or None) states nothing.

    Returns
    -------
    values : ndarray of ``fmt.dtype``
        The common rounding of both ends where ``decided`` (meaningless elsewhere).
    decided : ndarray of bool
        True where both ends round to the same datum of ``fmt`` (class and sign
        of zero included).  Unknown elements (non-finite ``rad`` or ``hi``) are
        never decided.

    Notes
    -----
    The ends are first written exactly as double-words: ``lo - rad`` is
    rounded to nearest and then stepped down by more than an ulp (``_below``), which
    gives a lower bound; TwoSum with ``hi`` is exact.  Each double-word times
    ``2**exp`` is then rounded once to ``fmt``: for float64 the TwoSum result
    ``s`` *is* the rounding of the double-word, except below ``2**-1022``,
    where the subnormal grid is rounded to with ``rint`` and the sign of the
    low word breaks ties; for the narrower formats the double-word is first
    rounded to float64 *to odd* (Boldo & Melquiond), which a second rounding
    to at most 51 bits turns into one correct rounding.
    """
    shape = np.broadcast_shapes(*(np.shape(f) for f in enc))
    if sign is not None:
        sign = np.broadcast_to(np.asarray(sign), shape).reshape(-1)
    flat = (max(1, int(np.prod(shape))),) if shape == () else (int(np.prod(shape)),)
    hi, lo, rad = (np.broadcast_to(np.asarray(f, dtype=np.float64), shape).reshape(flat) for f in enc[:3])
    exp = np.clip(np.broadcast_to(np.asarray(enc.exp, dtype=np.int64), shape).reshape(flat), -_EXP_CLIP, _EXP_CLIP
                  ).astype(np.int32)  # ldexp is 17x slower with int64 exponents
    known = np.isfinite(rad) & np.isfinite(hi)
    if not type(enc.lo) is float:
        known &= np.isfinite(lo)
    if not known.all():
        hi, lo, rad = (np.where(known, f, 0.0) for f in (hi, lo, rad))
    exact = rad == 0
    if fmt.precision <= 51 and not exact.any():  # exact values (ties included) take the exact path
        lower, upper = _narrow_ends(hi, lo, rad, exp, fmt, no_lo=type(enc.lo) is float and enc.lo == 0)
    else:
        # a radius near 2**1024 has no finite upper end: inf is an upper bound (inf - inf: NaN, undecided)
        with np.errstate(over="ignore", invalid="ignore"):
            low = np.where(exact, lo, _below(lo - rad))
            high = np.where(exact, lo, _above(lo + rad))
        lower = _round_double_word(*two_sum(hi, low), exp, fmt)
        upper = _round_double_word(*two_sum(hi, high), exp, fmt)
    zero = exact & (hi == 0) & (lo == 0)
    if zero.any():  # an exact zero keeps its sign (TwoSum would make -0 + 0 = +0)
        signed = np.copysign(0.0, hi).astype(fmt.dtype)
        lower = np.where(zero, signed, lower)
        upper = np.where(zero, signed, upper)
    if sign is not None:
        lower = np.where((sign > 0) & ~(lower > 0), np.asarray(0.0, dtype=fmt.dtype), lower)
        upper = np.where((sign < 0) & ~(upper < 0), np.asarray(-0.0, dtype=fmt.dtype), upper)
    uint = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[np.dtype(fmt.dtype).itemsize]
    decided = known & (lower.view(uint) == upper.view(uint)) & ~np.isnan(lower)
    return lower.reshape(shape), decided.reshape(shape)


def _below(r: np.ndarray) -> np.ndarray:
    """A lower bound of any ``t`` with ``r = fl(t)``: ``r - (|r| 2**-51 + 2**-1074)`` (rounded), which is
    below ``r - u |r| - 2**-1075`` (a cheaper ``nextafter``: NumPy's is 35 times slower than a subtraction)."""
    step = np.abs(r)
    step *= 2.0**-51
    step += 2.0**-1074
    return r - step


def _above(r: np.ndarray) -> np.ndarray:
    """An upper bound of any ``t`` with ``r = fl(t)`` (see :func:`_below`)."""
    step = np.abs(r)
    step *= 2.0**-51
    step += 2.0**-1074
    return r + step


def _narrow_ends(hi, lo, rad, exp, fmt: Format, *, no_lo: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both ends rounded to a format of at most 51 bits, from float64 bounds of the ends.

    ``_below``/``_above`` after each rounded float64 operation make a true lower
    (upper) bound of ``hi + lo -/+ rad``; rounding is monotonic, so the
    rounding of those bounds brackets the rounding of every value inside.
    Scaled by ``2**exp`` (exact, or below ``2**-1022`` where every narrow format
    rounds to a signed zero), each bound is rounded once to ``fmt``.
    """
    # overflow to inf / underflow to 0 is the answer; an infinite end stepped the wrong way is NaN: undecided
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if no_lo:
            low, high = hi - rad, hi + rad
        else:
            low = hi + _below(lo - rad)
            high = hi + _above(lo + rad)
        low = np.ldexp(_below(low), exp)
        high = np.ldexp(_above(high), exp)
        return round_to_format(low, fmt), round_to_format(high, fmt)


def _round_double_word(s: np.ndarray, t: np.ndarray, exp: np.ndarray, fmt: Format) -> np.ndarray:
    """``2**exp (s + t)`` rounded once to ``fmt``; ``s = fl(s + t)`` (a TwoSum pair)."""
    with np.errstate(over="ignore", under="ignore"):  # overflow to inf / underflow to 0 is the answer
        if fmt.name != "float64":
            return round_to_format(np.ldexp(round_to_odd((s, t)), exp), fmt)
        out = np.ldexp(s, exp)
        _, k = np.frexp(s)
        sub = (k + exp <= -1022) & (s != 0)
        if sub.any():
            out[sub] = _round_subnormal(s[sub], t[sub], exp[sub])
    return out


def _round_subnormal(s: np.ndarray, t: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """``2**exp (s + t)`` for ``|2**exp s| < 2**-1022`` on float64's subnormal grid (ties to even)."""
    w = np.ldexp(s, exp + 1074)  # exact: |w| < 2**52, or below 2**-1022 where the result is 0 anyway
    n = np.rint(w)
    fl = np.floor(w)
    tie = (w - fl) == 0.5
    n = np.where(tie & (t > 0), fl + 1.0, np.where(tie & (t < 0), fl, n))
    return np.copysign(np.ldexp(n, -1074), s)
