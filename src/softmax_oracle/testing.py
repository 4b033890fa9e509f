"""Assertions for test suites: is an implementation within a ULP budget of the oracle?

>>> import numpy as np
>>> from softmax_oracle.testing import assert_matches_oracle
>>> assert_matches_oracle("numpy-accurate", "softmax", np.array([1.0, 2.0, 3.0]))  # doctest: +SKIP

A failure reads like :mod:`numpy.testing`'s::

    AssertionError:
    Not within 1.0 ULP of the correctly rounded log_softmax (float32): scipy.special...log_softmax
    Mismatched elements: 3 / 3 (100%)
    Max ULP error: 4604.07 at index (0,) (budget 1.0)
    ...
    Worst input: log_softmax(np.array(list(map(float.fromhex, [...])), dtype=np.float32))
     got:               -4.5417709770845249e-05 (-0x1.7cf...p-15)
     correctly rounded: -4.5400960516417399e-05 (-0x1.7cd...p-15)
     exact:             -4.5400960276912979e-5

The ULP error is ``|got - exact| / ulp(exact)`` (:func:`softmax_oracle.ulp.ulp_error`):
``0.5`` is correct rounding, so ``max_ulp=0.5`` demands it and the default
``1.0`` allows faithful rounding.  Class mismatches (NaN for a number, inf for
a finite value) always fail.  A zero of the wrong sign (``-0.0`` where the
exact value is a positive number that rounds to ``+0.0``, or the reverse) fails
only with ``signed_zeros=True``: by default ``-0.0 == 0.0``, as in
:mod:`numpy.testing`, and the message of a failure for another reason counts
them apart.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np

from .compare import Comparison, compare
from .errors import InvalidInput

__all__ = ["assert_matches_oracle", "failure_message"]

_SHOWN_MISMATCHES = 5


def _check_budget(max_ulp: Any) -> float:
    if isinstance(max_ulp, bool) or not isinstance(max_ulp, (int, float, np.integer, np.floating)):
        raise InvalidInput(f"max_ulp must be a number >= 0; got max_ulp={max_ulp!r}")
    if not max_ulp >= 0:
        raise InvalidInput(f"max_ulp must be a number >= 0; got max_ulp={max_ulp!r}")
    return float(max_ulp)


def _float_text(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value) or math.isinf(value):
        return repr(value)
    return f"{value!r} ({value.hex()})"


def _options(kwargs: dict[str, Any]) -> str:
    """Keyword arguments that are not arrays, for the reproducing call."""
    shown = [f"{k}={v!r}" for k, v in kwargs.items() if not isinstance(v, np.ndarray)]
    return "".join(f", {s}" for s in shown)


def _mismatch_lines(title: str, mismatches: tuple[Any, ...], call: str, kwargs: dict[str, Any]) -> list[str]:
    if not mismatches:
        return []
    lines = [f"{title}: {len(mismatches)}"]
    previous = None
    for m in mismatches[:_SHOWN_MISMATCHES]:
        source = "the same" if m.input == previous else f"{call}({m.input}{_options(kwargs)})"
        previous = m.input
        lines.append(f" index {m.index}: {m.kind.description}: got {m.got!r}, correctly rounded "
                     f"{m.expected!r}; input: {source}")
    if len(mismatches) > _SHOWN_MISMATCHES:
        lines.append(f" ... and {len(mismatches) - _SHOWN_MISMATCHES} more")
    return lines


def failure_message(comparison: Comparison, *, max_ulp: float, signed_zeros: bool = False,
                    kwargs: dict[str, Any] | None = None) -> str:
    """The text of a failed :func:`assert_matches_oracle` (empty when the comparison passes).

    Parameters
    ----------
    comparison : Comparison
        A record from :func:`softmax_oracle.compare.compare`.
    max_ulp : float
        ULP budget.
    signed_zeros : bool
        Count zeros of the wrong sign as failures.
    kwargs : dict, optional
        The call's keyword arguments; the non-array ones are shown in the
        reproducing call.
    """
    c = comparison
    kwargs = kwargs or {}
    what = f"{'gradient of ' if c.grad else ''}{c.function}"
    call = f"{'grad.' if c.grad else ''}{c.function}"
    head = f"\nNot within {max_ulp} ULP of the correctly rounded {what} ({c.format}): {c.candidate}"
    if c.status != "ok":
        lines = [head, f"The candidate {c.problem} (status {c.status!r})."]
        return "\n".join(lines + ([f"Note: {c.note}"] if c.note else []))
    over = c.exceeding(max_ulp, signed_zeros=signed_zeros)
    count = int(over.sum())
    if count == 0:
        return ""
    lines = [head, f"Mismatched elements: {count} / {c.n} ({100 * count / c.n:.3g}%)"]
    if c.worst_index is not None:
        lines.append(f"Max ULP error: {c.max_ulp_error:.6g} at index {c.worst_index} (budget {max_ulp})")
        lines.append(f"Max ULP distance from the correctly rounded value: {c.max_ulp_distance} "
                     f"({c.max_bits_of_error:.3g} bits of error)")
        lines.append(f"Max relative error: {c.max_relative_error:.6g}")
    lines += _mismatch_lines("Class mismatches", c.wrong_class, call, kwargs)
    if signed_zeros:
        lines += _mismatch_lines("Zeros of the wrong sign", c.zero_signs, call, kwargs)
    elif c.zero_signs:
        lines.append(f"Zeros of the wrong sign: {len(c.zero_signs)} (not failed; signed_zeros=True fails them)")
    if c.worst_index is not None and c.max_ulp_error > max_ulp:
        exact = mpmath.nstr(c.worst_exact, 17) if c.worst_exact is not None else "-"
        lines += [
            f"Worst input: {call}({c.worst_input}{_options(kwargs)})",
            f" got:               {_float_text(c.worst_got)}",
            f" correctly rounded: {_float_text(c.worst_rounded)}",
            f" exact:             {exact}",
            f" ULP error:         {c.max_ulp_error:.6g} (budget {max_ulp})",
        ]
    if c.note:
        lines.append(f"Note: {c.note}")
    return "\n".join(lines)


def assert_matches_oracle(candidate: Any, function: str, *args: Any, max_ulp: float = 1.0, grad: bool = False,
                          signed_zeros: bool = False, engine: str = "auto", **kwargs: Any) -> Comparison:
    """Fail unless ``candidate`` is within ``max_ulp`` ULP of the exact ``function`` everywhere.

    Parameters
    ----------
    candidate : str or callable
        A registry name (``"torch"``, ``"numpy-stable"``...), a
        ``"module:function"`` string or a callable with the oracle's signature.
    function : str
        Oracle function name (``"softmax"``, ``"cross_entropy"``...).
    *args, **kwargs
        Arguments of ``function``, passed to the candidate and to the oracle.
    max_ulp : float
        Budget for ``|got - exact| / ulp(exact)`` at every element (``0.5``:
        correctly rounded; ``1.0``: faithful).
    grad : bool
        Check the gradient instead (``grad_output`` may be in ``kwargs``).
    signed_zeros : bool
        Fail on a zero of the wrong sign too (``-0.0`` where the exact value
        is positive and rounds to ``+0.0``, or the reverse).  Default
        ``False``: ``-0.0 == 0.0``, as in :mod:`numpy.testing`; where the
        exact value is zero either sign is right anyway.
    engine : {"auto", "mpfr"}
        The oracle's engine (:mod:`softmax_oracle.oracle`): the same answers,
        ``"auto"`` faster.

    Returns
    -------
    Comparison
        The record, when the assertion passes.

    Raises
    ------
    AssertionError
        An element is off by more than ``max_ulp``, of the wrong class (or a
        zero of the wrong sign, with ``signed_zeros=True``), or the
        candidate raised / returned the wrong type, shape or dtype; the
        message gives the mismatched count, the worst input as exact hex
        floats, got vs correctly rounded vs exact, and the budget.
    InvalidInput
        Unknown function or candidate, bad ``max_ulp`` or ``engine``, or
        arguments the oracle refuses.
    """
    budget = _check_budget(max_ulp)
    if not isinstance(signed_zeros, (bool, np.bool_)):
        raise InvalidInput(f"signed_zeros must be True or False; got signed_zeros={signed_zeros!r}")
    comparison = compare(candidate, function, *args, grad=grad, engine=engine, **kwargs)
    message = failure_message(comparison, max_ulp=budget, signed_zeros=bool(signed_zeros), kwargs=kwargs)
    if message:
        raise AssertionError(message)
    return comparison
