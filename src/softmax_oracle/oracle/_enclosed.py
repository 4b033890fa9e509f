"""Correctly rounded values together with enclosures of the exact ones (private).

:func:`rounded_and_enclosed` serves :func:`softmax_oracle.fuzz.search`'s
screen: with an enclosure ``|x - 2**exp (hi + lo)| <= 2**exp rad`` of every
exact value, the ULP error of a candidate is bounded without a second oracle
call in float64 (:mod:`softmax_oracle._fuzz_screen`).  The rounded values are
those of the public functions, bit for bit: both ways below round every
element correctly, and raise what the public function raises.

* **Small calls** (at most :func:`small_call` output elements; every
  function, forward and gradient, every option): the MPFR/Ziv engine rounds
  each element (:func:`._ziv.decide_enclosed`) and the interval that decided
  it is the enclosure (:func:`_enclosure`).  On the fuzzer's arrays (at
  most 16 elements) this is cheaper than the fast phase, whose cost is about
  that of its NumPy calls whatever the size, and its enclosures are
  narrower (``fmt.precision + 32`` bits, then more).
* **Larger calls**: the fast phase's own enclosures, where it keeps them: the
  forward row functions (logsumexp, softmax, log_softmax: a
  :class:`._fast_rows.RowPhase`) and the gradient of cross_entropy, class or
  probability targets, with or without label smoothing (a
  :class:`._fast_rows.GradientPhase`); then :func:`._evaluate.round_terms` for
  what the fast phase leaves.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import gmpy2
import numpy as np
from gmpy2 import mpfr, mpq

from ..arguments import output_format
from ..errors import InvalidInput
from ..formats import Format
from ..numerics.enclosure import UNKNOWN, Enclosure
from ..rounding import to_bits
from ._builders import BUILD
from ._counts import record
from ._evaluate import Terms, _decide, check_engine, round_terms
from ._fast_rows import GradientPhase, RowPhase

__all__ = ["ENCLOSED", "SMALL_CALL", "small_call", "rounded_and_enclosed"]

ENCLOSED = {False: ("logsumexp", "softmax", "log_softmax"), True: ("cross_entropy",)}
"""The functions (by ``grad``) whose fast phase keeps enclosures (for calls above :func:`small_call`)."""

SMALL_CALL = 32
"""Calls with at most this many output elements are rounded by MPFR, element by element, with its
enclosures (12 for the forward row functions in float32, float16 and bfloat16: :func:`small_call`)."""

_SMALL_NARROW_ROWS = 12


def small_call(function: str, grad: bool, fmt: Format) -> int:
    """The most output elements for which MPFR's rounding is the cheaper way to enclosures.

    Measured by ``python tools/bench_enclosed.py`` (the fuzzer's own calls replayed; mean ms per call,
    MPFR against the fast phase's enclosures): MPFR costs about 0.05 ms plus 0.015 ms an element
    (0.06 to 0.12 at 1-4 elements, 0.24 to 0.37 at 13-16); the fast phase about 0.23 ms whatever the
    size for the forward row functions in the double tier (float32, bfloat16), 0.4 to 0.5 in the
    double-double tier (float64), 0.5 to 0.85 for cross_entropy's gradient.  They meet near 12
    elements, 25 and 30 to 50.
    """
    if not grad and function in ENCLOSED[False] and fmt.precision <= 24:
        return _SMALL_NARROW_ROWS
    return SMALL_CALL


def rounded_and_enclosed(function: str, *args: Any, grad: bool = False, limit: int | None = None,
                         kept: tuple[dict, Sequence[Any]] | None = None, dtype: Any = None, engine: Any = "auto",
                         grad_output: Any = None, **kwargs: Any) -> tuple[np.ndarray, Enclosure] | None:
    """``oracle[.grad].<function>(*args, **kwargs)`` and enclosures of the exact values, or None.

    Takes the arguments of the public function (``grad_output`` only with
    ``grad=True``).  Returns ``(rounded, enclosure)``: the fields of the
    :class:`~softmax_oracle.numerics.enclosure.Enclosure` have the result's
    shape, ``rad`` is ``inf`` where nothing is stated (an element the fast
    phase leaves, see :meth:`._fast_rows.RowPhase.enclosed`; a value MPFR
    rounds from its logarithm).  None where the call has none
    (``engine="mpfr"``, an empty call, a call above :func:`small_call`
    elements of a function outside :data:`ENCLOSED` or without a fast
    phase): the caller asks the public function instead.  Raises what the
    public function raises.  ``limit`` overrides :func:`small_call` (0: the
    fast phase's enclosures at every size, as the tests of those enclosures
    ask).  ``kept = (store, keys)``: on a small call, element ``i`` whose
    ``keys[i]`` (a key of everything its exact value depends on, in this
    output format, e.g. :func:`softmax_oracle._fuzz_screen.element_keys`)
    is in ``store`` takes the rounding and bounds kept there, and the others
    are kept in it.
    """
    if check_engine(engine) != "auto":
        return None
    if function not in BUILD:
        raise InvalidInput(f"function must be one of {', '.join(map(repr, BUILD))}; got function={function!r}")
    if grad_output is not None and not grad:
        raise TypeError(f"{function}() got an unexpected keyword argument 'grad_output'")
    terms, fmt = BUILD[function](grad, grad_output, *args, **kwargs)
    out = output_format(dtype, fmt)
    if terms.size == 0:
        return None
    if terms.size <= (small_call(function, grad, out) if limit is None else limit):
        return _small(terms, out, kept)
    phase = terms.fast
    if function not in ENCLOSED[grad] or not isinstance(phase, (RowPhase, GradientPhase)):
        return None
    first = phase.enclosed(out)
    if first is None:
        return None
    values, decided, enclosure = first
    return round_terms(terms, out, first=(values, decided)), enclosure


def _small(terms: Terms, fmt: Format, kept: tuple[dict, Sequence[Any]] | None = None
           ) -> tuple[np.ndarray, Enclosure]:
    """Every element rounded by MPFR, with the enclosure that decided it (see :func:`rounded_and_enclosed`).

    Each element becomes ``(bits, hi, lo, rad, exp)``: its rounding's bit pattern in ``fmt`` and its
    enclosure (:func:`_enclosure`); the store of ``kept`` holds these.
    """
    if kept is None:
        items = [_item(pair, fmt) for pair in _decide(terms, fmt, range(terms.size), enclosed=True)]
    else:
        store, keys = kept
        items = [store.get(key) for key in keys]
        todo = [i for i, item in enumerate(items) if item is None]
        for i, pair in zip(todo, _decide(terms, fmt, todo, enclosed=True)):
            items[i] = store[keys[i]] = _item(pair, fmt)
    record(terms.size, 0)
    bits, hi, lo, rad, exp = zip(*items) if items else ((),) * 5
    shape = terms.shape
    values = np.array(bits, dtype=fmt.uint_dtype).view(fmt.dtype).reshape(shape)
    fields = (np.array(v, dtype=t).reshape(shape) for v, t in zip((hi, lo, rad, exp), (np.float64,) * 3 + (np.int64,)))
    return values, Enclosure(*fields)


def _item(pair: tuple[Any, Any], fmt: Format) -> tuple[int, float, float, float, int]:
    rounded, bounds = pair
    return (to_bits(rounded, fmt), *_enclosure(bounds))


_CENTRE = gmpy2.context(precision=106)  # the double-word centre: exact in hi + lo
_NEAR = gmpy2.context(precision=53)
_UP = gmpy2.context(precision=53, round=gmpy2.RoundUp)
_ZERO = mpfr(0)


def _enclosure(bounds: tuple[Any, Any] | None) -> tuple[float, float, float, int]:
    """:func:`._ziv.decide_enclosed`'s bounds as the fields ``(hi, lo, rad, exp)`` of an :class:`Enclosure`.

    For an MPFR interval ``lo < x < hi`` (Ziv's; an infinite end is unknown):
    the centre ``c = lo`` and ``rad >= hi - lo`` (rounded up).  Where
    ``2**-900 <= |c| < 2**1000`` (about every value), ``exp = 0``,
    ``hi = RN_53(c)`` and ``lo = RN_53(c - hi)``, within
    ``2**-53 |c - hi| + 2**-1075 <= 2**-106 |c| + 2**-1075`` of ``c``; the
    radius adds ``2**-104 |hi| + 2**-1072`` for that (and for its own
    float64 rounding, ``1 + 2**-50``).  Elsewhere, and for exact values
    (an ``mpq`` or a point), the centre ``c = RN_106((lo + hi) / 2)`` and
    ``rad >= max(hi - c, c - lo)`` (an exact rational's ``|x - c|`` formed
    exactly), scaled by ``2**-e`` (``e`` the exponent of ``c``:
    ``0.5 <= |c 2**-e| < 1``, exact): ``hi = RN_53(c 2**-e)`` and
    ``lo = c 2**-e - hi`` are exact (``c`` has 106 bits), and ``rad 2**-e``
    is converted to float64 rounding up.  Special values (a float pair) are
    exact: ``hi`` is the value, ``rad = 0``; ``None`` is unknown
    (``rad = inf``).
    """
    if bounds is None:
        return 0.0, 0.0, UNKNOWN, 0
    low, high = bounds
    if isinstance(low, float):  # NaN, an infinity or a signed zero, exactly
        return low, 0.0, 0.0, 0
    if isinstance(low, mpfr) and not (low.is_finite() and high.is_finite()):  # an MPFR overflow
        return 0.0, 0.0, UNKNOWN, 0
    if low != high and low != 0 and -900 < gmpy2.get_exp(low) <= 1000:
        h = float(_NEAR.plus(low))
        r = _UP.sub(high, low)
        radius = float(r)
        if radius < r:
            radius = math.nextafter(radius, math.inf)
        return h, float(_NEAR.sub(low, h)), (radius + 2.0**-104 * abs(h) + 2.0**-1072) * (1 + 2.0**-50), 0
    if low == high:  # an exact rational (mpq) or a point
        if low == 0:
            return 0.0, 0.0, 0.0, 0
        c = _CENTRE.add(_ZERO, low)  # an mpfr (mpq + mpq would stay an mpq)
        # exactly, then rounded up by an addition (gmpy2's sub with an mpq rounds it first, see
        # _interval.Precision.scale)
        r = _UP.add(_ZERO, abs(mpq(low) - mpq(c)))
    else:
        c = _CENTRE.div_2exp(_CENTRE.add(low, high), 1)
        r = max(_UP.sub(high, c), _UP.sub(c, low), _ZERO)
    e = 0
    if c != 0:
        mant, ex = c.as_mantissa_exp()
        e = int(ex) + int(mant).bit_length()
        c = _CENTRE.mul_2exp(c, -e)
    r = _UP.mul_2exp(r, -e)
    h = float(_NEAR.plus(c))
    radius = float(r)
    return h, float(_NEAR.sub(c, h)), radius if radius >= r else math.nextafter(radius, math.inf), e
