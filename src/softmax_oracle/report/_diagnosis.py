"""One-line diagnoses of a record's worst result, where the oracle's data can tell the cause.

:func:`diagnosis` reads only a :class:`Record`'s fields (the classes of the
wrong results, the worst element's candidate value, correctly rounded value
and range, the condition number), so it is a pure function of the record:

* a wrong class names the failure (an overflow to infinity where a finite
  value is due, a NaN from an ``inf - inf`` after such an overflow, ...);
* ``0`` where a subnormal is due is a flush to zero; ``0`` or a subnormal
  where a normal value is due is an underflow of an intermediate;
* a normal-range error far above the condition number ``c`` (an error of
  ``k`` ULP with ``k > 4 c + 1`` and ``k > 16``) is digits lost inside the
  implementation (cancellation in its formula); an error of the order of
  ``c`` or below (``c >= 2``) is what perturbing the input by half an ULP
  does: an ill-conditioned problem; otherwise up to 16 ULP are a few roundings;
* without a condition number (gradients, losses) a normal-range error is only
  called an accuracy loss.
"""

from __future__ import annotations

import math

from ..formats import format_of
from ._records import Record

__all__ = ["diagnosis", "WRONG_CLASS_CAUSES"]

WRONG_CLASS_CAUSES: dict[str, str] = {
    "inf_for_finite": "overflow: ±inf where a finite value is due (an intermediate such as exp(x) overflowed)",
    "nan_for_number": "NaN where a number is due (inf - inf or inf / inf after an overflowing intermediate)",
    "finite_for_inf": "a finite value where ±inf is due (the result saturated instead of overflowing)",
    "number_for_nan": "a number where NaN is due (a NaN input was lost)",
    "wrong_infinity": "the infinity of the wrong sign",
}

_EXPLAINED = 4.0  # an error up to about this many times the condition number (+1 ULP) is the problem's
_FEW_ULP = 16.0  # up to this, several correctly rounded operations in a row explain an error


def _short(value: float | None) -> str:
    return "?" if value is None else f"{value:.6g}"


def _range_cause(record: Record) -> str | None:
    got, due = record.worst_got, record.worst_rounded
    if got is None or due is None or math.isnan(due) or math.isinf(due) or due == 0:
        return None
    tiny = 2.0 ** format_of(record.dtype).emin
    if record.worst_range == "subnormal":
        if got == 0:
            return f"flush to zero: 0 where the subnormal {_short(due)} is due"
        return "subnormal result: bits lost below the normal range (gradual underflow of an intermediate)"
    if got == 0:
        return (f"0 where the normal value {_short(due)} is due: a term lost to underflow or absorbed "
                "(x - lse rounded to 0, 1 - s where s rounds to 1)")
    if abs(got) < tiny:
        return f"underflow: the subnormal {_short(got)} where the normal value {_short(due)} is due"
    return None


def diagnosis(record: Record, *, signed_zeros: bool = False) -> str:
    """A one-line cause of ``record``'s worst result, or ``""`` when nothing is wrong or nothing can be told.

    Parameters
    ----------
    record : Record
    signed_zeros : bool
        Whether zeros of the wrong sign count as failures (they are named only
        when nothing else is wrong).
    """
    if record.status != "ok":
        return record.problem
    kinds = {k: v for k, v in record.mismatch_kinds if k != "zero_sign" and v}
    if kinds:
        kind = max(kinds, key=lambda k: kinds[k])
        return WRONG_CLASS_CAUSES.get(kind, kind)
    error = record.max_ulp_error
    if math.isnan(error) or error <= 1:
        if record.zero_signs:
            return "zero of the wrong sign" + ("" if signed_zeros else " (not a failure by default)")
        return ""
    cause = _range_cause(record)
    if cause is not None:
        return cause
    worst = record.max_ulp_error_normal if record.worst_range == "normal" else error
    if record.condition is None or math.isnan(record.condition) or math.isnan(worst):
        return f"normal-range accuracy loss: {_short(worst)} ULP (no condition number for this function)"
    if math.isinf(record.condition) or (record.condition >= 2 and worst <= _EXPLAINED * record.condition + 1):
        return (f"ill-conditioned: cond {_short(record.condition)} explains about that many ULP "
                "(the problem's sensitivity, not the implementation)")
    if worst <= _FEW_ULP:
        return (f"{_short(worst)} ULP: rounding errors of a few operations (cond {_short(record.condition)}, "
                "no cancellation)")
    return (f"cancellation: {_short(worst)} ULP lost where the problem is well-conditioned "
            f"(cond {_short(record.condition)}): the formula subtracts nearly equal terms")
