"""Where sigmoid, softplus and log_sigmoid round to a value known in advance (proven, no evaluation).

Three regimes cover about three quarters of all float32 (and float64) inputs,
and in each the correctly rounded value follows from a bound on the function
alone.  ``p`` is the target format's precision, ``s = emin - p + 1`` the
exponent of its smallest subnormal (``2**s``), RN rounding to nearest even:

**Saturation.**  ``sigmoid(x) = 1 - d`` with ``0 < d = sigmoid(-x) < e**-x``.
For ``x >= T = (p + 1) ln 2 + 1``, ``d < 2**-(p+1) / e < 2**-(p+1)``, half the
spacing of the format just below 1, so ``RN(1 - d) = 1``.  ``softplus(x) = x
+ d`` with ``0 < d = log1p(e**-x) < e**-x``; where ``x >= max(T, 2)`` is a
number of the format, its spacing above ``x`` is at least ``2**(2-p)``, and
``d < 2**-(p+1) < 2**(1-p)`` (half of it): ``RN(x + d) = x``.
``log_sigmoid(x) = -softplus(-x)``: ``x`` itself for ``x <= -T`` (a number
of the format).  Inputs that are not numbers of the target format (a float64
input rounded to float32) are left to the evaluation.

**Underflow.**  ``0 < sigmoid(x) < e**x`` and ``0 < softplus(x) = log1p(e**x)
< e**x``.  For ``x <= U = (s - 1) ln 2 - 1`` (computed in float64: the margin
of 1 dwarfs its rounding error), ``e**x < 2**(s-1)``, below half the smallest
subnormal: both round to ``+0``; ``log_sigmoid(x) = -softplus(-x)`` to
``-0`` for ``x >= -U``.

**Near zero.**  ``|sigmoid(x) - 1/2| < |x| / 4`` (its slope is at most 1/4).
Above 1/2 the spacing is ``2**-p``, below it ``2**-(p+1)``, so for ``|x| <
2**-p`` the value is less than ``2**-(p+2)`` from 1/2, under half the spacing
on either side: ``RN = 1/2``.
``|softplus(x) - ln 2| < |x|`` (its slope, sigmoid, is below 1): for ``|x|``
below the distance ``D_p`` from ``ln 2`` to the nearest rounding boundary of
the format (computed once per precision with MPFR at 256 bits; half of it is
used, so the float64 rounding of ``D_p`` cannot matter), ``RN(softplus(x)) =
RN(ln 2)``; ``log_sigmoid(x) = -softplus(-x)`` gives ``-RN(ln 2)``.

The elements outside these regimes, and every non-finite input, are left to
the enclosures of :mod:`._fast_pointwise` (which would decide the regimes
above too, only more slowly: they agree by construction, and the tests check
it against the MPFR engine on all 65,536 inputs of the 16-bit formats and on
both sides of each threshold in float32 and float64).
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np

from ..formats import Format

__all__ = ["saturated", "FUNCTIONS"]

FUNCTIONS = ("sigmoid", "softplus", "log_sigmoid")


@lru_cache(maxsize=None)
def _ln2_rounding(precision: int) -> tuple[float, float]:
    """``(RN(ln 2), half the distance from ln 2 to the nearest rounding boundary)`` at ``precision`` bits."""
    with mpmath.workprec(256):
        ln2 = mpmath.log(2)
        scaled = ln2 * mpmath.mpf(2) ** precision  # ln 2 is in [1/2, 1): the spacing there is 2**-precision
        k = int(mpmath.nint(scaled))
        gap = mpmath.mpf(0.5) - abs(scaled - k)  # distance to the nearest midpoint, in spacings
        return math.ldexp(k, -precision), float(gap * mpmath.mpf(2) ** (-precision - 1))


def _thresholds(fmt: Format) -> tuple[float, float]:
    """``(T, U)`` of the module docstring for ``fmt``."""
    p = fmt.precision
    s = fmt.emin - p + 1
    return (p + 1) * math.log(2) + 1, (s - 1) * math.log(2) - 1


def _representable(x: np.ndarray, fmt: Format) -> np.ndarray:
    with np.errstate(over="ignore"):  # beyond the format's range: not representable, which is the answer
        return x.astype(fmt.dtype).astype(np.float64) == x


def saturated(name: str, x: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """``(known, values)``: where the correctly rounded ``name(x)`` in ``fmt`` is known, and those values.

    Parameters
    ----------
    name : {"sigmoid", "softplus", "log_sigmoid"}
        The function (values, not gradients).
    x : numpy.ndarray
        Flat float64 inputs; non-finite ones are never ``known``.
    fmt : Format
        A bounded target format (float64, float32, float16, bfloat16).

    Returns
    -------
    known : numpy.ndarray of bool
        The elements in one of the regimes of the module docstring.
    values : numpy.ndarray of ``fmt.dtype``
        Their correctly rounded values (signed zeros included); meaningless
        where not ``known``.
    """
    big, tiny_exp = _thresholds(fmt)
    ax = np.abs(x)
    values = np.zeros(x.shape, dtype=fmt.dtype)
    if name == "sigmoid":
        one = x >= big
        zero = x <= tiny_exp
        half = ax < 2.0 ** -fmt.precision
        values[one] = 1.0
        values[half] = 0.5
        return (one | zero | half) & np.isfinite(x), values
    sign = 1.0 if name == "softplus" else -1.0
    y = sign * x  # log_sigmoid(x) = -softplus(-x): the same regimes in y = -x
    itself = (y >= max(big, 2.0)) & _representable(x, fmt)
    zero = y <= tiny_exp
    ln2, reach = _ln2_rounding(fmt.precision)
    near = ax < reach
    values[itself] = x[itself].astype(fmt.dtype)
    values[zero] = sign * 0.0
    values[near] = sign * ln2
    return (itself | zero | near) & np.isfinite(x), values
