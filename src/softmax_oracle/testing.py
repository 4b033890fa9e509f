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

Run-wide settings and observers (what the pytest plugin uses)
------------------------------------------------------------
:func:`run_defaults` sets, for the code it wraps, the budget that applies
where a call gives no ``max_ulp=`` and how it meets an explicit one (see
:func:`effective_budget`), and the oracle engine to use.  :func:`observing`
registers a callable that receives a :class:`Check` for every
:func:`assert_matches_oracle`, passing or failing.  Both live in context
variables, not module globals: they apply to the current thread (and to
asyncio tasks started from it), so two runs in two threads do not see each
other's settings; a thread started inside does not inherit them.
"""

from __future__ import annotations

import contextlib
import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import mpmath
import numpy as np

from .compare import Comparison, compare
from .errors import InvalidInput
from .oracle._evaluate import ENGINES, check_engine

__all__ = ["assert_matches_oracle", "failure_message", "Check", "RunDefaults", "run_defaults", "observing",
           "effective_budget", "current_defaults", "DEFAULT_MAX_ULP", "ENGINES"]

_SHOWN_MISMATCHES = 5
DEFAULT_MAX_ULP = 1.0


@dataclass(frozen=True)
class RunDefaults:
    """Settings for a whole run (a pytest session): ``None`` leaves the library's default.

    Attributes
    ----------
    max_ulp : float or None
        The run's budget (``--oracle-max-ulp``); see :func:`effective_budget`.
    engine : str or None
        The oracle engine for the run (``--oracle-engine``: ``"auto"`` or ``"mpfr"``).
    """

    max_ulp: float | None = None
    engine: str | None = None


@dataclass(frozen=True)
class Check:
    """One :func:`assert_matches_oracle` call, as observers receive it.

    Attributes
    ----------
    comparison : Comparison
        The measurement (see :func:`softmax_oracle.compare.compare`).
    max_ulp : float
        The budget that applied.
    passed : bool
        Whether the assertion passed.
    repro : str or None
        The worst element's call with its input as exact hex floats (``None``
        when no element had a ULP error, e.g. the candidate raised).
    """

    comparison: Comparison
    max_ulp: float
    passed: bool
    repro: str | None


_DEFAULTS: ContextVar[RunDefaults] = ContextVar("softmax_oracle_run_defaults", default=RunDefaults())
_OBSERVERS: ContextVar[tuple[Callable[[Check], None], ...]] = ContextVar("softmax_oracle_observers", default=())


def current_defaults() -> RunDefaults:
    """The :class:`RunDefaults` in force here (all ``None`` outside :func:`run_defaults`)."""
    return _DEFAULTS.get()


@contextlib.contextmanager
def run_defaults(*, max_ulp: float | None = None, engine: str | None = None) -> Iterator[RunDefaults]:
    """Set the run's budget and engine for the code inside the ``with`` block.

    Raises
    ------
    InvalidInput
        ``max_ulp`` is not a number >= 0, or ``engine`` is not ``"auto"`` or ``"mpfr"``.
    """
    if max_ulp is not None:
        max_ulp = _check_budget(max_ulp)
    if engine is not None:
        check_engine(engine)
    defaults = RunDefaults(max_ulp, engine)
    token = _DEFAULTS.set(defaults)
    try:
        yield defaults
    finally:
        _DEFAULTS.reset(token)


@contextlib.contextmanager
def observing(observer: Callable[[Check], None]) -> Iterator[None]:
    """Call ``observer(check)`` for every :func:`assert_matches_oracle` inside the ``with`` block.

    Observers nest (an inner one adds to the outer ones).  An exception from
    an observer propagates: an observer must not raise.
    """
    token = _OBSERVERS.set(_OBSERVERS.get() + (observer,))
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


def effective_budget(max_ulp: float | None, run_max_ulp: float | None) -> float:
    """The budget of one call: its explicit ``max_ulp`` against the run's.

    A call without ``max_ulp=`` takes the run's budget (``--oracle-max-ulp``)
    or, without one, ``1.0``.  An explicit ``max_ulp=`` wins, unless the run's
    budget is stricter: a run can tighten every test at once (``--oracle-max-ulp
    0.5``: is everything correctly rounded?) but never loosen a budget that a
    test wrote down.  ``effective = min(explicit, run)``.
    """
    if max_ulp is None:
        return DEFAULT_MAX_ULP if run_max_ulp is None else run_max_ulp
    explicit = _check_budget(max_ulp)
    return explicit if run_max_ulp is None else min(explicit, run_max_ulp)


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


def assert_matches_oracle(candidate: Any, function: str, *args: Any, max_ulp: float | None = None,
                          grad: bool = False, signed_zeros: bool = False, engine: str | None = None,
                          **kwargs: Any) -> Comparison:
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
    max_ulp : float, optional
        Budget for ``|got - exact| / ulp(exact)`` at every element (``0.5``:
        correctly rounded; ``1.0``: faithful).  Default ``1.0``, or the run's
        budget (pytest's ``--oracle-max-ulp``); an explicit value meets the
        run's as :func:`effective_budget` says (the stricter wins).
    grad : bool
        Check the gradient instead (``grad_output`` may be in ``kwargs``).
    signed_zeros : bool
        Fail on a zero of the wrong sign too (``-0.0`` where the exact value
        is positive and rounds to ``+0.0``, or the reverse).  Default
        ``False``: ``-0.0 == 0.0``, as in :mod:`numpy.testing`; where the
        exact value is zero either sign is right anyway.
    engine : {"auto", "mpfr"}, optional
        The oracle's engine (:mod:`softmax_oracle.oracle`): the same answers,
        ``"auto"`` faster.  Default: the run's engine (pytest's
        ``--oracle-engine``), else ``"auto"``.

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
    defaults = _DEFAULTS.get()
    budget = effective_budget(max_ulp, defaults.max_ulp)
    if not isinstance(signed_zeros, (bool, np.bool_)):
        raise InvalidInput(f"signed_zeros must be True or False; got signed_zeros={signed_zeros!r}")
    engine = engine if engine is not None else defaults.engine or "auto"
    comparison = compare(candidate, function, *args, grad=grad, engine=engine, **kwargs)
    message = failure_message(comparison, max_ulp=budget, signed_zeros=bool(signed_zeros), kwargs=kwargs)
    observers = _OBSERVERS.get()
    if observers:
        check = Check(comparison, budget, not message, _repro(comparison, kwargs))
        for observer in observers:
            observer(check)
    if message:
        raise AssertionError(message)
    return comparison


def _repro(c: Comparison, kwargs: dict[str, Any]) -> str | None:
    """``softmax_oracle.oracle[.grad].<function>(<worst input>, <options>)``: pasteable, exact."""
    if c.worst_input is None:
        return None
    return f"{'grad.' if c.grad else ''}{c.function}({c.worst_input}{_options(kwargs)})"
