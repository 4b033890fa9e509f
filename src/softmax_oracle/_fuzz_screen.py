"""Cheap, proven bounds on an example's ULP errors, from the oracle's correctly rounded values alone.

:func:`softmax_oracle.fuzz.search` scores every example with these and builds
the full :func:`softmax_oracle.compare.compare` record (200-bit exact
reference, exact ULP errors, pasteable inputs) only where the example can
change what the search reports.  For an output element of the right class,
with candidate value ``y``, exact value ``x`` and ``e = ulp_error(y, x)``:

* **Enclosures** (:func:`oracle_enclosed`: every function on small calls,
  at most 12 to 32 elements, where MPFR rounds each element and its deciding
  interval is the enclosure; on larger calls logsumexp, softmax, log_softmax
  and cross_entropy's gradient, from the fast phase).  One oracle call in the
  target format also returns the interval it rounded,
  ``|x - 2**exp (hi + lo)| <= 2**exp rad``; the score is ``|y - x|`` from the
  centre (for float64 the integer distance, as below, so that the search
  climbs as it did without enclosures), the bound adds the radius over the
  least ULP of the interval (:func:`_enclosure_errors`).  Elements the fast phase states nothing about
  (``rad = inf``) get an infinite bound, so they are evaluated exactly
  (once: the search keeps the exact errors it measured by
  :func:`element_keys`).

* **float32, float16, bfloat16 targets.**  The oracle is called once with
  ``dtype=float64``, giving ``r = RN64(x)``.  The target's correctly rounded
  value is ``r`` rounded once to the target
  (:func:`softmax_oracle.numerics.cast.round_to_format`) wherever ``r`` is not
  a midpoint of the target (nor its overflow threshold): midpoints are float64
  numbers and rounding is monotone, so ``x`` and ``r`` lie on the same side
  of every other midpoint.  Where some element's ``r`` is one, the oracle is
  called again in the target format for the whole example.  The score is
  :func:`softmax_oracle.ulp.ulp_error_float64` ``(y, r)``, within
  ``2**-30 + 2**-53 e`` of ``e`` where ``r`` fixes the binade of ``x``; the
  bound takes the smaller unit where it does not
  (:func:`softmax_oracle.ulp.binade_ambiguous`) and adds ``2**-50 e + 2**-29``.
* **float64 targets** (and narrower ones scored without the float64
  rounding, below).  The score is the integer distance ``d`` from the
  correctly rounded ``r`` (:func:`softmax_oracle.ulp.ulp_distance`, in the
  target format).  With ``M = max(|y|, |r|)``, every float step between ``y``
  and ``r`` is at most ``S``, the spacing of the format in ``M``'s binade
  (``>= M - pred(M)``), so ``|y - r| <= d S``; ``|r - x| <= ulp(x) / 2`` and
  ``ulp(x) >= u``, the gap below ``|r|`` (the least subnormal at ``r = 0``), so
  ``e <= d S / u + 1/2`` (``S / u`` is a power of two), inflated by
  ``2**-50`` for the float64 rounding of ``d`` and of the product.  ``d = 0``
  gives ``e <= 1/2``.

For a narrow format, :func:`softmax_oracle.fuzz.search` takes the cheaper
second way once its worst error found is at least one ULP (the candidate is
not correctly rounded, and most examples are then proven no worse by ``d``
alone): the oracle is called in the target format only, and with
``dtype=float64`` only for the examples the integer bound leaves open.

Where an exact value lies below MPFR's exponent range (``2**-1073741823``,
about ``e**-7.4e8``, as a remainder that is not a single term),
:func:`softmax_oracle.compare.reference` measures against the correctly
rounded values ``r`` instead, for the whole output; the reported error is then
``|y - r| / ulp(r)``, which ``fallback`` bounds (``<= d S / ulp(r)`` for
float64; formed with one rounding for the narrow formats).
:func:`fallback_possible` tells when the search must allow for it: only an
exponential of a logit gap, or a product of a few, gets that small, and
examples whose finite inputs all lie below ``2**26`` in magnitude have gaps
below ``2**27``, so a product of five exponentials stays above
``e**-6.8e8`` (infinities and NaNs are exact special cases of the terms).

The module also gets the search its oracle answers: :func:`oracle_values`,
:func:`oracle_table` (every input of a 16-bit format, for the elementwise
functions), :func:`call_key` (equal arguments, equal key: the search keeps
answers by it) and :func:`copies` (the candidate's own copies of the arrays).

Elements of the wrong class (:func:`softmax_oracle.ulp.class_mismatches`
against the correctly rounded values) get neither: the search counts them
apart, as :func:`~softmax_oracle.compare.compare` does.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from .errors import OracleError
from .formats import Format
from .numerics.cast import round_to_format
from .numerics.eft import two_sum
from .numerics.enclosure import Enclosure
from .ulp import ulp_distance

__all__ = ["oracle_values", "oracle_rounded", "oracle_enclosed", "oracle_table", "call_key", "element_keys",
           "bit_patterns", "copies", "narrow_midpoints", "wrong_class", "scores_and_bounds", "fallback_possible"]

_SLACK = 1 + 2.0**-50  # relative slack of the float64 bounds
_SAFE_MAGNITUDE = 2.0**26  # finite inputs below this keep every exact value within MPFR's exponent range


def oracle_values(function: str, grad: bool, fmt: Format, args: tuple[Any, ...], kwargs: dict[str, Any],
                  engine: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The oracle's correctly rounded values in ``fmt`` and, for a narrower ``fmt``, in float64.

    ``(rounded, r64)``: ``rounded`` equals ``oracle.<function>(*args, **kwargs)``
    bit for bit (NaN payloads aside); ``r64`` is ``None`` for float64, or when
    the float64 call raised an :class:`~softmax_oracle.errors.OracleError`
    (the target-format call then decides, and raises what it raises).
    """
    module = importlib.import_module(".oracle.grad" if grad else ".oracle", __package__)
    oracle_fn = getattr(module, function)
    if fmt.precision > 24:
        return np.asarray(oracle_fn(*args, engine=engine, **kwargs)), None
    try:
        r64 = np.asarray(oracle_fn(*args, dtype=np.float64, engine=engine, **kwargs))
    except OracleError:
        return np.asarray(oracle_fn(*args, engine=engine, **kwargs)), None
    if narrow_midpoints(r64, fmt).any():
        return np.asarray(oracle_fn(*args, engine=engine, **kwargs)), r64
    return np.asarray(round_to_format(r64, fmt)), r64


def oracle_enclosed(function: str, grad: bool, args: tuple[Any, ...], kwargs: dict[str, Any], engine: str,
                    store: dict | None = None) -> tuple[np.ndarray, Enclosure] | None:
    """The oracle's correctly rounded values and enclosures of the exact ones, in one call.

    ``None`` where there are none (see
    :func:`softmax_oracle.oracle._enclosed.rounded_and_enclosed`: every
    function on small calls (12 to 32 elements at most), from MPFR; above,
    the fast phase's, for the row functions and cross_entropy's gradient;
    ``engine="auto"`` only).  ``rounded`` equals
    ``oracle[.grad].<function>(*args, **kwargs)`` bit for bit.  ``store``
    (one per search: one function, ``grad`` and format) keeps the rounding
    of every element with an :func:`element_keys` key, for the next calls.
    """
    from .oracle._enclosed import rounded_and_enclosed

    if engine != "auto":
        return None
    keys = element_keys(function, grad, args, kwargs) if store is not None else None
    found = rounded_and_enclosed(function, *args, grad=grad, kept=None if keys is None else (store, keys), **kwargs)
    if found is None:
        return None
    rounded, enclosure = found
    return np.asarray(rounded), enclosure


def oracle_rounded(function: str, grad: bool, args: tuple[Any, ...], kwargs: dict[str, Any], engine: str) -> np.ndarray:
    """``oracle.<function>(*args, **kwargs)``: the correctly rounded values alone (the cheaper screen's)."""
    module = importlib.import_module(".oracle.grad" if grad else ".oracle", __package__)
    return np.asarray(getattr(module, function)(*args, engine=engine, **kwargs))


ELEMENTWISE = ("sigmoid", "log_sigmoid", "softplus")


def oracle_table(function: str, grad: bool, fmt: Format, engine: str) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`oracle_values` at every value of a 16-bit format, indexed by bit pattern, for an elementwise function.

    An elementwise function's output element depends on its input element
    alone, so the table holds the answers of every call with one argument
    (and ``grad_output`` left at ones).  ``None`` where there is no such table
    (another function or format) or the oracle refuses some value.
    """
    if function not in ELEMENTWISE or fmt.bits != 16:
        return None
    try:
        rounded, r64 = oracle_values(function, grad, fmt, (np.arange(1 << 16, dtype=np.uint16).view(fmt.dtype),),
                                     {}, engine)
    except OracleError:
        return None
    return None if r64 is None else (rounded, r64)


_ROWS = ("logsumexp", "softmax", "log_softmax")


def element_keys(function: str, grad: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    """Per flat output element, a key of the inputs its exact value depends on; None where not known.

    Elementwise functions: the element's own input (and upstream gradient);
    the row functions along the last axis: the element's row (and its row of
    ``grad_output``) and its place in it; cross_entropy's gradient: see
    :func:`_cross_entropy_grad_keys`.  Equal keys, equal exact values (in
    one search: one function, ``grad`` and format), so the search keeps the
    exact ULP errors it has measured by ``(key, candidate's value)``: a
    Hypothesis mutation that leaves the worst element alone is not measured
    again.  Other calls (the other losses, another axis) are None.
    """
    try:  # arguments the oracle will refuse (a grad_output that does not broadcast...) have no keys
        return _element_keys(function, grad, args, kwargs)
    except (ValueError, TypeError):
        return None


def _element_keys(function: str, grad: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    if function == "cross_entropy" and grad:
        return _cross_entropy_grad_keys(args, kwargs)
    if not args or not isinstance(args[0], np.ndarray) or args[0].ndim == 0 or len(args) > 1:
        return None
    x = args[0]
    if set(kwargs) - {"grad_output", "axis"} or kwargs.get("axis", -1) not in (-1, x.ndim - 1):
        return None
    g = np.asarray(kwargs["grad_output"]) if grad and kwargs.get("grad_output") is not None else None
    dtypes = (x.dtype.str, None if g is None else g.dtype.str)
    if function in ELEMENTWISE:
        xs = bit_patterns(x).tolist()
        gs = [None] * len(xs) if g is None else bit_patterns(np.broadcast_to(g, x.shape)).tolist()
        return [(dtypes, xi, gi) for xi, gi in zip(xs, gs)]
    if function not in _ROWS:
        return None
    n = x.shape[-1]
    rows = [r.tobytes() for r in np.ascontiguousarray(x).reshape(-1, n)]
    reduced = function == "logsumexp"
    if g is None:
        g_rows = [None] * len(rows)
    elif reduced:
        g_rows = bit_patterns(np.broadcast_to(g, x.shape[:-1])).tolist()
    else:
        g_rows = [r.tobytes() for r in np.ascontiguousarray(np.broadcast_to(g, x.shape)).reshape(-1, n)]
    if reduced and not grad:
        return [(dtypes, row) for row in rows]
    return [(dtypes, row, g_row, j) for row, g_row in zip(rows, g_rows) for j in range(n)]


_CE_OPTIONS = {"weight", "ignore_index", "reduction", "label_smoothing", "grad_output"}


def _cross_entropy_grad_keys(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    """Keys of cross_entropy's gradient: element ``(n, j)`` depends on row ``n`` of the logits, its
    target, the options (weight, ignore_index, label_smoothing, reduction), the upstream gradient of its
    loss, and, for ``"mean"``, on every target (the weighted count divides) and the batch size."""
    if len(args) != 2 or set(kwargs) - _CE_OPTIONS:
        return None
    x, target = (np.asarray(a) for a in args)
    if x.ndim != 2 or target.ndim not in (1, 2) or target.shape[0] != x.shape[0]:
        return None  # (rows, classes) only: other layouts are keyed by the whole call
    reduction = kwargs.get("reduction", "mean")
    weight = kwargs.get("weight")
    options = (x.dtype.str, target.dtype.str, x.shape, reduction, repr(kwargs.get("ignore_index", -100)),
               repr(kwargs.get("label_smoothing", 0.0)),
               None if weight is None else (np.asarray(weight).dtype.str, np.asarray(weight).tobytes()),
               target.tobytes() if reduction == "mean" else None)
    g = kwargs.get("grad_output")
    if g is None:
        g_rows = [None] * x.shape[0]
    else:
        g = np.asarray(g)
        per_loss = bit_patterns(np.broadcast_to(g, (x.shape[0],) if reduction == "none" else ())).tolist()
        g_rows = [(g.dtype.str, v) for v in per_loss] * (1 if reduction == "none" else x.shape[0])
    rows = [r.tobytes() for r in np.ascontiguousarray(x)]
    targets = [t.tobytes() for t in np.ascontiguousarray(target).reshape(x.shape[0], -1)]
    return [(options, row, t, g_row, j) for row, t, g_row in zip(rows, targets, g_rows) for j in range(x.shape[1])]


def bit_patterns(a: np.ndarray) -> np.ndarray:
    """The bit patterns of a float array, flat (equal bits, equal value: -0.0 and 0.0 told apart)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.dtype(f"u{a.dtype.itemsize}"))


def call_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """A key equal for equal arguments (arrays by dtype, shape and bytes; other values by ``repr``)."""
    def one(value: Any) -> Any:
        if isinstance(value, (np.ndarray, np.generic)):
            arr = np.ascontiguousarray(value)
            return arr.dtype.str, arr.dtype.name, arr.shape, arr.tobytes()
        return type(value).__name__, repr(value)

    return tuple(one(a) for a in args), tuple((k, one(v)) for k, v in sorted(kwargs.items()))


def copies(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The arrays among ``values`` copied: a candidate that writes to its inputs cannot change the reference."""
    return tuple(v.copy() if isinstance(v, np.ndarray) else v for v in values)


def narrow_midpoints(r64: np.ndarray, fmt: Format) -> np.ndarray:
    """Where float64 values are midpoints between two consecutive values of ``fmt`` (its overflow threshold included).

    ``t = 2 |r| / ulp_fmt(r)`` is formed exactly (a power-of-two scaling);
    ``r`` is a midpoint when ``t`` is an odd integer.  Values past the overflow
    threshold round to infinity whatever they are: they are not midpoints.
    """
    a = np.abs(r64.astype(np.float64))
    threshold = (2 - 2.0**-fmt.precision) * 2.0**fmt.emax
    live = np.isfinite(a) & (a != 0) & (a <= threshold)
    a = np.where(live, a, 1.0)
    _, exponent = np.frexp(a)
    quantum = np.maximum(exponent.astype(np.int64) - 1, fmt.emin) - fmt.precision + 1
    t = np.ldexp(a, 1 - quantum)
    return live & (np.fmod(t, 2.0) == 1.0)


def wrong_class(got: np.ndarray, rounded: np.ndarray) -> np.ndarray:
    """Where ``got`` is of another class than ``rounded``: what :func:`~softmax_oracle.ulp.class_mismatches` flags, zero signs aside.

    NaN against a number (either way), an infinity against a finite value
    (either way) or against the other infinity.
    """
    with np.errstate(invalid="ignore"):  # bfloat16 NaN payloads warn when widened
        g, r = got.astype(np.float64), rounded.astype(np.float64)
    return (np.isnan(g) != np.isnan(r)) | ((np.isinf(g) | np.isinf(r)) & (g != r))


def _narrow_errors(g: np.ndarray, r: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~softmax_oracle.ulp.ulp_error_float64` ``(g, r)`` at the elements of the right class, and where ``r`` leaves the binade open.

    Both float64 arrays; the right class of ``(g, r)`` is that of ``g`` against
    the format's rounding of ``r``: the same NaN or infinity scores 0, an
    infinity for a finite ``r`` (past the overflow threshold) 0.5.
    """
    a = np.abs(r)
    mantissa, exponent = np.frexp(a)
    e = exponent.astype(np.int64) - 1
    e = np.where(a == 0, fmt.emin, e)
    with np.errstate(invalid="ignore"):  # inf - inf: a special value, set below
        error = np.ldexp(np.abs(g - r), fmt.precision - 1 - np.maximum(e, fmt.emin))
    special = ~np.isfinite(g)
    if special.any():
        error = np.where(special, np.where(np.isfinite(r), 0.5, 0.0), error)
    threshold = (2 - 2.0**-fmt.precision) * 2.0**fmt.emax
    open_binade = ((mantissa == 0.5) & (e > fmt.emin) & np.isfinite(a)) | (a == threshold)
    return error, open_binade


def _spacing(a: np.ndarray, fmt: Format) -> np.ndarray:
    """``2**(max(E, emin) - p + 1)`` for float64 values ``a >= 0`` of ``fmt`` (``E`` the binade of ``a``, ``emin``
    at 0): the step above ``a``, at least the step below it; exact (powers of two); NaN and inf give NaN/inf."""
    return np.where(np.isfinite(a), np.ldexp(1.0, _exponent(a, 0, fmt)), a)


def _enclosure_errors(g: np.ndarray, enc: Enclosure, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """``(score, bound)`` of float64 candidates ``g`` (of ``fmt``) against enclosed exact values (the right class).

    Everything is first scaled by ``2**-exp`` (``g`` exactly: ``exp <= 0``).
    With ``(s, t) = TwoSum(g, -hi)``, ``a = fl(t - lo)``, ``b = fl(s + a)``:
    ``|g - (hi + lo) - b| <= u (|a| + |b|)`` (``u = 2**-53``), so
    ``|g - x| <= |b| + u (|a| + |b|) + rad``.  Every ``x`` of the interval has
    ``|x| >= m = |hi| - |lo| - rad`` (formed rounding down), and the unit in
    the last place only grows with the magnitude, so ``ulp(x) >= 2**q``, the
    spacing of ``fmt`` at ``2**exp m`` (the least subnormal at ``m <= 0``).  Scaled by
    ``2**-q`` (exact but for values below ``2**-1022`` after the scaling,
    covered by ``2**-140``) and inflated by ``1 + 2**-48`` for the roundings
    of the sum: ``e <= bound``.  The ``2**-140`` also covers what
    :func:`~softmax_oracle.compare.compare` measures against: ``x`` rounded
    to 200 bits, within ``2**-200 |x| < 2**(p - 200) ulp(x)`` of it.  The
    score is ``|b| / 2**q`` (twice the error at most, where the interval
    reaches below a power of two; within ``2**-50 e`` plus the radius in
    ULPs elsewhere).  An infinity ``g`` scores 0 against an infinite ``x``
    and 0.5 against a finite one (past the overflow threshold); NaN against
    NaN 0.  A non-finite ``hi`` is such an exact value only where ``rad = 0``;
    elsewhere it states nothing (the bound is infinite).
    """
    hi, lo, rad, k = (f if np.shape(f) == g.shape else np.broadcast_to(f, g.shape) for f in enc)
    live = np.isfinite(g) & np.isfinite(hi) & np.isfinite(lo)
    every = bool(live.all())
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf where not live (set below)
        y, c_hi, c_lo = (g, hi, lo) if every else (np.where(live, f, 0.0) for f in (g, hi, lo))
        if k.any():
            y = np.ldexp(y, -k)
        s, t = two_sum(y, -c_hi)
        a = t - c_lo
        b = s + a
        m = (np.abs(c_hi) - (np.abs(c_lo) + rad) * (1 + 2.0**-50)) * (1 - 2.0**-50)
        q = _exponent(np.where(m > 0, m, 0.0), k, fmt)
        scaled_a, scaled_b, scaled_rad = (np.ldexp(np.abs(v), -q) for v in (a, b, rad))
        bound = (scaled_b + 2.0**-53 * (scaled_a + scaled_b) + scaled_rad) * (1 + 2.0**-48) + 2.0**-140
        bound = np.where(np.isnan(bound), np.inf, bound)  # (0-d results are scalars here)
    if every:
        return scaled_b, bound  # the score: |b| in the unit at m (twice the exact unit at a binade's edge)
    special = np.where(np.isinf(g) & np.isfinite(hi), 0.5, 0.0)  # g is NaN or inf here (the right class)
    # a non-finite centre is an exact NaN or infinity only with rad = 0 (a structural answer); with a
    # positive radius it states nothing (an overflowed bound: x - m beyond the float range, say)
    unknown = np.isfinite(g) | (~np.isfinite(hi) & (rad != 0))
    bound = np.where(live, bound, np.where(unknown, np.inf, special))
    return np.where(live, scaled_b, special), bound


def _exponent(a: np.ndarray, k: np.ndarray, fmt: Format) -> np.ndarray:
    """``q - k`` with ``2**q`` the spacing of ``fmt`` at ``2**k a`` (``a >= 0``; see :func:`_spacing`): the
    spacing in the units of ``a``; that of ``2**k`` where ``a`` is not finite."""
    _, exponent = np.frexp(np.where(np.isfinite(a), a, 0.0))
    e = np.where(a == 0, fmt.emin, exponent.astype(np.int64) - 1 + k)
    return np.maximum(e, fmt.emin) - fmt.precision + 1 - k


def scores_and_bounds(got: np.ndarray, rounded: np.ndarray, r64: np.ndarray | Enclosure | None, wrong: np.ndarray,
                      fmt: Format, *, fallback: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per element: the search's target score, an upper bound on the exact ULP error, and on the fallback one.

    ``(score, bound, fallback)``.  ``fallback`` bounds ``|y - r| / ulp(r)``, the
    error :func:`~softmax_oracle.compare.compare` reports when its exact
    reference falls back to the correctly rounded values ``r`` (see
    :func:`~softmax_oracle.compare.reference`); ``None`` unless asked for.
    ``wrong`` marks the elements of the wrong class (score 0, bounds
    ``-inf``); a NaN bound is ``inf``.  With ``r64`` (a format narrower than
    float64) the score is the error against ``r64``; without it (any
    format) the integer ULP distance ``d`` from ``rounded`` and the bound
    ``d S / u + 1/2`` of the module docstring, ``S`` and ``u`` in ``fmt``.
    """
    with np.errstate(invalid="ignore"):  # bfloat16 NaN payloads warn when widened
        g, r = got.astype(np.float64), rounded.astype(np.float64)
    last = None
    if isinstance(r64, Enclosure):
        score, true_bound = _enclosure_errors(g, r64, fmt)
        # float64 scores stay the integer distance (the search climbs as without enclosures: towards
        # elements off by more steps, not towards rounding midpoints); a scaled candidate that overflowed
        # is far off and scored by its distance too
        odd = ~np.isfinite(score)
        if fallback or odd.any():  # and the fallback bound against the rounded values, as without an enclosure
            distance, by_distance, last = scores_and_bounds(got, rounded, None, wrong, fmt, fallback=fallback)
            score = np.where(odd | (fmt.precision > 24), distance, score)
            true_bound = np.minimum(true_bound, by_distance)  # both are bounds
        elif fmt.precision > 24:
            same = np.where(wrong, rounded, got)  # mismatched elements set equal, as compare does
            score = np.asarray(ulp_distance(same, rounded), dtype=np.float64).reshape(got.shape)
    elif r64 is not None and fmt.precision <= 24:
        score, open_binade = _narrow_errors(g, r64, fmt)
        true_bound = np.where(open_binade, 2 * score, score) * _SLACK + 2.0**-29
        if fallback:
            last = _narrow_errors(g, r, fmt)[0] * _SLACK
    else:  # the integer distance from the correctly rounded value (any format)
        same = np.where(wrong, rounded, got)  # mismatched elements set equal, as compare does
        distance = np.asarray(ulp_distance(same, rounded), dtype=np.uint64).reshape(got.shape)
        score = distance.astype(np.float64)
        with np.errstate(invalid="ignore"):  # bfloat16 NaN payloads warn when widened
            g = np.abs(same.astype(np.float64))
        r = np.abs(r)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, inf / inf where d = 0 (then e <= 1/2)
            step = _spacing(np.maximum(g, r), fmt)  # >= M - pred(M)
            unit = _spacing(r, fmt)  # ulp(r); ulp(0) the least subnormal
            mantissa, exponent = np.frexp(r)
            power = (r != 0) & (mantissa == 0.5) & (exponent.astype(np.int64) - 1 > fmt.emin)
            gap = np.where(power, 0.5 * unit, unit)  # r - pred(r) (the least subnormal at 0)
            true_bound = np.where(distance == 0, 0.5, score * (step / gap) * _SLACK + 0.5)
            if fallback:
                last = np.where(distance == 0, 0.0, score * (step / unit) * _SLACK)
    bound, last = (None if b is None else np.where(wrong, -np.inf, np.where(np.isnan(b), np.inf, b))
                   for b in (true_bound, last))
    return np.where(wrong, 0.0, score), bound, last


def fallback_possible(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether some finite float input is at least ``2**26`` in magnitude (see the module's docstring)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind not in "iub":
            with np.errstate(invalid="ignore"):  # bfloat16 NaN payloads warn when widened
                a = np.abs(np.asarray(value, dtype=np.float64))
            if np.any(np.isfinite(a) & (a >= _SAFE_MAGNITUDE)):
                return True
        elif isinstance(value, float) and math.isfinite(value) and abs(value) >= _SAFE_MAGNITUDE:
            return True
    return False
