"""Targeted search for the worst input of an implementation.

:func:`search` draws complete argument sets from
:func:`softmax_oracle.strategies.arguments`, runs the candidate against the
oracle, and hands a score of each example's largest ULP error to
:func:`hypothesis.target`, so Hypothesis climbs towards the inputs where the
candidate is worst.  Class mismatches (NaN for a number, inf for a finite
value...) and candidate failures are collected on the way; a zero of the
wrong sign is not one (as in the report and ``assert_matches_oracle`` by
default: ``-0.0 == 0.0``), its ULP error counts.  Nothing fails inside
Hypothesis: the search never shrinks, it reports the worst input as seen,
exactly (hex floats).

Every example is scored cheaply from the oracle's answers
(:mod:`softmax_oracle._fuzz_screen`: for logsumexp, softmax, log_softmax and
cross_entropy's gradient, the enclosures of the exact values that the
oracle's fast phase rounded, within about ``2**-21`` ULP in the narrow
formats and ``2**-47`` in float64, where the score stays the integer
distance below; otherwise, for float32, float16 and
bfloat16 the float64 correct rounding measures the ULP error within
``2**-30`` ULP, and for float64 the score is the integer ULP distance, which
with half an ULP bounds the error), with a proven upper bound on the error
that ``compare`` would report.  Elements whose bound is above the worst error so far are evaluated
exactly one by one (:func:`softmax_oracle.compare.exact_elements`, the
200-bit values ``compare`` uses); the example gets ``compare``'s full record
(the exact reference, exact ULP errors, pasteable inputs) only when that does
not show it is no worse than the worst so far, or while fewer than 20 class
mismatches are kept.  So the reported maximum ULP error, worst input and
detail, mismatch count, the mismatches and their first input are exactly
what comparing every example exactly would report for the same examples
(``tests/test_fuzz_screen.py`` runs both); only the target scores differ
(by the enclosure's or the float64 rounding's width, or integers).  An example whose exact
reference fails where the oracle did not is skipped when it is compared
exactly, and counted when its bound made that unnecessary.  The oracle's
answers are kept by argument bytes, and the candidate gets copies of the
arrays, so a candidate that writes to its inputs cannot change the reference
computed after it runs.

Hypothesis draws the same arguments again (8% to 38% of the examples of
``tools/bench_fuzz.py``'s 1000-example searches, mostly in the target
phase): such an example is not run again.  It counts as the first did (its score to
``hypothesis.target``, its class mismatches), so the result is the one
running it again would give for a candidate that is a function of its
arguments, which a search assumes as Hypothesis assumes of any test.  A
candidate whose answers vary from call to call on the same input (a race, an
uninitialized buffer) is measured on its first answer for each input.

The worst input (and the first with a class mismatch) of each search is kept
in a Hypothesis example database, by default under ``.softmax-oracle/fuzz-db``
in the working directory, keyed by candidate, function, gradient, format and
regime, as exact bit patterns next to Hypothesis's own Pareto front of target
scores; a re-run replays them first (as explicit examples) and climbs on
from there.  A Ctrl-C (``KeyboardInterrupt``) ends the search and returns
what was found so far.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from .candidates import Implementation, resolve
from ._fuzz_screen import (ELEMENTWISE, bit_patterns, call_key, copies, element_keys, fallback_possible,
                           oracle_enclosed, oracle_rounded, oracle_table, oracle_values, scores_and_bounds, wrong_class)
from .compare import (ClassMismatch, Comparison, check_output, compare_output, exact_elements, exact_reference,
                      literal)
from .errors import InvalidInput, OracleError
from .formats import Format, format_of
from .oracle._evaluate import check_engine
from .regimes import check_count, check_regime, from_ordered
from .strategies import arguments
from .ulp import ordered, ulp_error

__all__ = ["FuzzResult", "FuzzProgress", "search", "call_arguments", "snippet", "DEFAULT_DATABASE", "STOP_REASONS",
           "search_settings"]

DEFAULT_DATABASE = os.path.join(".softmax-oracle", "fuzz-db")
STOP_REASONS = ("max_examples", "max_seconds", "interrupted")
_KEPT = 20  # class mismatches and problems kept in a result
_CACHED = 4096  # oracle answers kept per search, by arguments
_PARTIAL = 8  # elements evaluated one by one before the whole example is compared exactly instead
_MISMATCH_SCORE = 1e300  # the target score of an example with a class mismatch: above any ULP error


@dataclass(frozen=True)
class FuzzProgress:
    """What a search has seen so far (passed to ``on_progress``)."""

    examples_run: int
    seconds: float
    max_ulp_error: float
    mismatch_count: int


@dataclass(frozen=True)
class FuzzResult:
    """The outcome of a :func:`search`.

    Attributes
    ----------
    candidate, function, format : str
        The implementation's name, the oracle function and the format.
    grad : bool
        Whether gradients were searched.
    regime : str or None
        The regime searched (``None``: all mixed).
    max_ulp_error : float
        Largest ``|got - exact| / ulp(exact)`` over the elements of the right
        class in all examples (``0.5`` = correctly rounded).
    worst_input : str or None
        The complete arguments of the example with that error, as a Python
        argument list of exact hex floats (``np.array(...), reduction='sum'``);
        ``None`` when no example ran.
    worst_detail : str
        The worst element: its index, the candidate's, correctly rounded and
        exact values.
    examples_run : int
        Examples compared with the oracle.
    seconds : float
        Wall time of the search.
    mismatch_count : int
        Examples with at least one class mismatch.
    mismatches : tuple of ClassMismatch
        The first ones seen (at most 20), each with the row that produced it.
    mismatch_input : str or None
        The complete arguments of the first example with a class mismatch.
    problems : tuple of str
        Distinct failures of the candidate (raised, wrong shape or dtype...).
    oracle_errors : tuple of str
        Distinct errors of the oracle on drawn inputs (such examples are
        skipped).
    stopped : str
        ``"max_examples"``, ``"max_seconds"`` or ``"interrupted"`` (Ctrl-C).
    seed : int or None
        The seed of the search.
    """

    candidate: str
    function: str
    format: str
    grad: bool
    regime: str | None
    max_ulp_error: float
    worst_input: str | None
    worst_detail: str
    examples_run: int
    seconds: float
    mismatch_count: int
    mismatches: tuple[ClassMismatch, ...]
    mismatch_input: str | None
    problems: tuple[str, ...]
    oracle_errors: tuple[str, ...]
    stopped: str
    seed: int | None

    def exceeds(self, max_ulp: float) -> bool:
        """True when the worst error is above ``max_ulp`` or anything was of the wrong class or failed."""
        return self.max_ulp_error > max_ulp or self.mismatch_count > 0 or bool(self.problems)


def call_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``args`` and ``kwargs`` as a Python argument list (arrays as exact hex floats)."""
    parts = [literal(a) for a in args]
    parts += [f"{k}={literal(v) if hasattr(v, 'dtype') else repr(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


class _BudgetSpent(KeyboardInterrupt):
    """Raised inside the search when ``max_seconds`` is spent: Hypothesis stops without saving it as a failure."""


class _Seen(NamedTuple):
    """What an example did to the search's result, to do again when Hypothesis draws its arguments again:
    the score given to ``hypothesis.target`` (None for a candidate's failure: no score), whether it counted
    as a class mismatch, and the mismatches its exact record listed (empty where it had none)."""

    score: float | None
    counted: bool
    mismatches: tuple[ClassMismatch, ...]


class _Tracker:
    """The mutable state of one search; :meth:`result` freezes it."""

    def __init__(self, impl: Implementation, function: str, grad: bool, fmt: Format, max_seconds: float | None,
                 on_progress: Callable[[FuzzProgress], None] | None, engine: str = "auto") -> None:
        self.impl, self.function, self.grad, self.fmt, self.engine = impl, function, grad, fmt, engine
        self.max_seconds, self.on_progress = max_seconds, on_progress
        self.start = time.perf_counter()
        self.examples = 0
        self.best = -math.inf
        self.worst_input: str | None = None
        self.worst_detail = ""
        self.mismatch_count = 0
        self.mismatches: list[ClassMismatch] = []
        self.mismatch_input: str | None = None
        self.calls: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}  # "worst"/"mismatch" -> arguments
        self.problems: list[str] = []
        self.oracle_errors: list[str] = []
        # arguments -> (rounded, r64, whether r64 was asked for: False on the cheap path)
        self.oracle_cache: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray | None, bool]] = {}
        self.table: tuple[np.ndarray, np.ndarray] | tuple[()] | None = None  # () once found unavailable
        # element's key -> (rounding, MPFR bounds) of the small calls' elements (_fuzz_screen.element_keys)
        self.element_store: dict[Any, Any] = {}
        # (element's key, candidate's value bits) -> exact ULP error, of the elements _no_worse evaluated
        # (_fuzz_screen.element_keys; (arguments, flat index) where there are none)
        self.exact_errors: dict[tuple[Any, ...], float] = {}
        # arguments -> what their example did (Hypothesis draws the same arguments again)
        self.seen: dict[tuple[Any, ...], _Seen] = {}

    def run(self, call: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        if self.max_seconds is not None and time.perf_counter() - self.start > self.max_seconds:
            raise _BudgetSpent
        args, kwargs = call
        key = call_key(args, kwargs)
        seen = self.seen.get(key)
        if seen is None:
            seen = self._first(args, kwargs, key)
            if seen is None:  # no reference: nothing measured, nothing kept
                return
            if len(self.seen) >= _CACHED:
                self.seen.clear()
            self.seen[key] = seen
        else:  # drawn again: what running it again would do to the result, without running it
            if seen.counted:
                self.mismatch_count += 1
                self.mismatches.extend(seen.mismatches[: _KEPT - len(self.mismatches)])
            if seen.score is not None:
                target(seen.score, label="ulp_error")
        self.examples += 1
        if self.on_progress is not None:
            self.on_progress(FuzzProgress(self.examples, time.perf_counter() - self.start,
                                          max(self.best, 0.0), self.mismatch_count))

    def _first(self, args: tuple[Any, ...], kwargs: dict[str, Any], key: tuple[Any, ...]) -> _Seen | None:
        """Run and measure an example first drawn (``key``: its :func:`call_key`); what it did (None if the
        oracle or the exact reference failed)."""
        # a narrow format's examples skip the float64 rounding while the candidate is shown not correctly
        # rounded (see _fuzz_screen: the integer distance then proves most examples no worse)
        precise = self.fmt.precision > 24 or self.best < 1.0
        try:
            rounded, r64, precise = self._oracle(args, kwargs, key, precise)
        except OracleError as err:  # e.g. PrecisionExhausted: no reference, so nothing to measure
            _keep(self.oracle_errors, f"{type(err).__name__}: {err}")
            return None
        try:
            with np.errstate(all="ignore"):  # a candidate's overflow is a finding, not a warning
                got = self.impl(*copies(args), **dict(zip(kwargs, copies(tuple(kwargs.values())))))
            status, problem = check_output(got, rounded)
        except Exception as err:  # noqa: BLE001 - any failure of the candidate is a finding to record
            status, problem = "raised", f"raised {type(err).__name__}: {err}"
        if status != "ok":
            _keep(self.problems, f"{status}: {problem}")
            return _Seen(None, False, ())
        return self._measure(np.asarray(got), rounded, r64, precise, args, kwargs, key)

    def _oracle(self, args: tuple[Any, ...], kwargs: dict[str, Any], key: tuple[Any, ...], precise: bool = True
                ) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """The oracle's answers ``(rounded, r64, precise)``: from the table of a 16-bit elementwise function,
        kept ones, or a call.  ``precise=False`` asks for ``rounded`` alone (``r64`` None, ``precise`` False)
        where nothing better is at hand."""
        if self.table is None and self.engine == "auto" and self.fmt.bits == 16 and self.function in ELEMENTWISE:
            self.table = oracle_table(self.function, self.grad, self.fmt, self.engine) or ()
        x = args[0] if len(args) == 1 else None
        if self.table and not kwargs and isinstance(x, np.ndarray) and x.dtype == self.fmt.dtype:
            bits = x.view(self.fmt.uint_dtype)
            return self.table[0][bits], self.table[1][bits], True
        kept = self.oracle_cache.get(key)  # Hypothesis draws the same arguments again and again
        if kept is None or (precise and not kept[2]):
            if len(self.oracle_cache) >= _CACHED:
                self.oracle_cache.clear()
            if len(self.element_store) >= _CACHED * 16:
                self.element_store.clear()
            enclosed = oracle_enclosed(self.function, self.grad, args, kwargs, self.engine, self.element_store)
            if enclosed is not None:  # precise in every format, at the cost of the format's own rounding
                kept = (*enclosed, True)
            elif precise:
                kept = (*oracle_values(self.function, self.grad, self.fmt, args, kwargs, self.engine), True)
            else:
                kept = (oracle_rounded(self.function, self.grad, args, kwargs, self.engine), None, False)
            self.oracle_cache[key] = kept
        return kept

    def _measure(self, got: np.ndarray, rounded: np.ndarray, r64: np.ndarray | None, precise: bool,
                 args: tuple[Any, ...], kwargs: dict[str, Any], key: tuple[Any, ...]) -> _Seen | None:
        """Score the example, compare it exactly if it can change the result; what it did to the result
        (None if the exact reference failed)."""
        wrong = wrong_class(got, rounded)
        possible = fallback_possible(args, kwargs)  # compare may measure against the rounded values
        screen = None
        if not precise:  # the cheap screen: the integer distance; the float64 rounding where it proves nothing
            screen = scores_and_bounds(got, rounded, None, wrong, self.fmt, fallback=possible)
            if np.any(_with_fallback(screen) > self.best):
                rounded, r64, precise = self._oracle(args, kwargs, key, True)  # the same rounded values
                screen = None
        screened = r64 is not None or self.fmt.precision > 24 or not precise
        score = 0.0
        exact = not screened or (wrong.any() and len(self.mismatches) < _KEPT)
        if screened:
            if screen is None:
                screen = scores_and_bounds(got, rounded, r64, wrong, self.fmt, fallback=possible)
            scores, _, fallback = screen
            score = float(scores.max()) if scores.size else 0.0
            exact = exact or not self._no_worse(got, _with_fallback(screen), fallback, args, kwargs, key)
        if exact:
            try:
                ref = exact_reference(self.function, rounded, *args, grad=self.grad, **kwargs)
            except OracleError as err:  # as compare's reference would have raised: the example is skipped
                _keep(self.oracle_errors, f"{type(err).__name__}: {err}")
                return None
            record = compare_output(self.impl, self.function, got, *args, grad=self.grad, reference=ref, **kwargs)
            if not screened:
                score = record.max_ulp_error if math.isfinite(record.max_ulp_error) else _MISMATCH_SCORE
            self._record(record, args, kwargs)
            counted, mismatches = bool(record.wrong_class), tuple(record.wrong_class)
        else:
            counted, mismatches = bool(wrong.any()), ()
            self.mismatch_count += counted
        score = _MISMATCH_SCORE if wrong.any() else score
        target(score, label="ulp_error")
        return _Seen(score, counted, mismatches)

    def _no_worse(self, got: np.ndarray, bounds: np.ndarray, fallback: np.ndarray | None, args: tuple[Any, ...],
                  kwargs: dict[str, Any], key: tuple[Any, ...]) -> bool:
        """Whether the example's reported ULP error is proven ``<= self.best`` (it cannot change the result).

        The elements whose bound does not show it are evaluated exactly one by
        one (:func:`~softmax_oracle.compare.exact_elements`, the values
        ``compare`` would use); where ``compare``'s reference would fall back to
        the rounded values, their error is bounded by ``fallback``.
        """
        over = np.flatnonzero(bounds > self.best)
        if over.size == 0:
            return True
        if over.size > _PARTIAL or (fallback is not None and np.any(fallback.reshape(-1)[over] > self.best)):
            return False
        # the worst element comes back again and again (Hypothesis mutates the rest of the example), at the
        # best error found (its bound: that error plus the enclosure's radius): kept by element, or by example
        flat = got.reshape(-1)
        bits = bit_patterns(flat).tolist()
        elements = element_keys(self.function, self.grad, args, kwargs)
        whole = key if elements is None else None
        keys = {i: (elements[i] if whole is None else (whole, i), bits[i]) for i in over.tolist()}
        known = {i: self.exact_errors.get(key) for i, key in keys.items()}
        todo = [i for i, error in known.items() if error is None]
        if todo:
            try:
                values = exact_elements(self.function, todo, *args, grad=self.grad, **kwargs)
            except OracleError:  # e.g. beyond MPFR's range: compare decides, with its fallback
                return False
            errors = np.asarray(ulp_error(flat[todo], np.array(values, dtype=object)), dtype=np.float64).reshape(-1)
            if len(self.exact_errors) >= _CACHED:
                self.exact_errors.clear()
            for i, error in zip(todo, errors.tolist()):
                known[i] = self.exact_errors[keys[i]] = error
        return all(error <= self.best for error in known.values())

    def _record(self, record: Comparison, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if record.wrong_class:
            self.mismatch_count += 1
            self.mismatches.extend(record.wrong_class[: _KEPT - len(self.mismatches)])
            if self.mismatch_input is None:
                self.mismatch_input = call_arguments(args, kwargs)
                self.calls["mismatch"] = (args, kwargs)
        if record.worst_index is not None and record.max_ulp_error > self.best:
            self.best = record.max_ulp_error
            self.worst_input = call_arguments(args, kwargs)
            self.calls["worst"] = (args, kwargs)
            self.worst_detail = (
                f"element {record.worst_index}: got {record.worst_got!r} ({float(record.worst_got).hex()}), "
                f"correctly rounded {record.worst_rounded!r}, exact {record.worst_exact}"
            )

    def result(self, *, fmt: str, regime: str | None, stopped: str, seed: int | None) -> FuzzResult:
        return FuzzResult(
            candidate=self.impl.candidate, function=self.function, format=fmt, grad=self.grad, regime=regime,
            max_ulp_error=max(self.best, 0.0), worst_input=self.worst_input, worst_detail=self.worst_detail,
            examples_run=self.examples, seconds=time.perf_counter() - self.start,
            mismatch_count=self.mismatch_count, mismatches=tuple(self.mismatches),
            mismatch_input=self.mismatch_input, problems=tuple(self.problems),
            oracle_errors=tuple(self.oracle_errors), stopped=stopped, seed=seed,
        )


def _with_fallback(screen: tuple[np.ndarray, np.ndarray, np.ndarray | None]) -> np.ndarray:
    """The bounds of :func:`scores_and_bounds`' ``(scores, bounds, fallback)``, raised to ``fallback`` where given."""
    _, bounds, fallback = screen
    return bounds if fallback is None else np.maximum(bounds, fallback)


def _keep(kept: list[str], message: str) -> None:
    if message not in kept and len(kept) < _KEPT:
        kept.append(message)


def _encode(value: Any) -> Any:
    """A JSON form of an argument: arrays by dtype, shape and exact bit patterns."""
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        arr = np.asarray(value)
        if arr.dtype.kind in "iub":
            return {"dtype": arr.dtype.name, "shape": list(arr.shape), "values": arr.ravel().tolist()}
        return {"dtype": arr.dtype.name, "shape": list(arr.shape), "ordered": ordered(arr).ravel().tolist()}
    return {"value": value}


def _decode(item: dict[str, Any]) -> Any:
    if "value" in item:
        return item["value"]
    shape = tuple(item["shape"])
    if "values" in item:
        return np.array(item["values"], dtype=item["dtype"]).reshape(shape)
    return from_ordered(np.array(item["ordered"], dtype=np.int64), format_of(item["dtype"])).reshape(shape)


def _stored_calls(db: ExampleDatabase | None, key: bytes) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The worst inputs a previous search with this key kept (unreadable entries are dropped)."""
    calls = []
    for blob in [] if db is None else db.fetch(key + b".worst-inputs"):
        try:
            data = json.loads(blob)
            calls.append((tuple(_decode(a) for a in data["args"]), {k: _decode(v) for k, v in data["kwargs"].items()}))
        except (ValueError, KeyError, TypeError):
            db.delete(key + b".worst-inputs", blob)
    return calls


def _store_calls(db: ExampleDatabase | None, key: bytes, calls: dict[str, tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
    """Replace the kept worst inputs of ``key`` by this search's (when it found any)."""
    if db is None or not calls:
        return
    for blob in list(db.fetch(key + b".worst-inputs")):
        db.delete(key + b".worst-inputs", blob)
    for args, kwargs in calls.values():
        data = {"args": [_encode(a) for a in args], "kwargs": {k: _encode(v) for k, v in kwargs.items()}}
        db.save(key + b".worst-inputs", json.dumps(data).encode())


def _database(database: Any) -> ExampleDatabase | None:
    if database is None or isinstance(database, ExampleDatabase):
        return database
    if isinstance(database, (str, os.PathLike)):
        return DirectoryBasedExampleDatabase(os.fspath(database))
    raise InvalidInput(f"database must be a path, a hypothesis ExampleDatabase or None; got database={database!r}")


def _check_budget(max_examples: Any, max_seconds: Any) -> tuple[int, float | None]:
    examples = check_count(max_examples, "max_examples", low=1)
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float))
                                    or not 0 < max_seconds < math.inf):
        raise InvalidInput(f"max_seconds must be a positive number or None; got max_seconds={max_seconds!r}")
    return examples, None if max_seconds is None else float(max_seconds)


def search_settings(max_examples: int, database: ExampleDatabase | None) -> settings:
    """The Hypothesis settings of :func:`search` (``tools/bench_fuzz.py`` times the strategies alone with them)."""
    return settings(
        max_examples=max_examples, deadline=None, database=database, derandomize=False, verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target), report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck), print_blob=False,
    )


def search(
    candidate: Any,
    function: str,
    *,
    dtype: Any,
    max_examples: int = 500,
    seed: int | None = None,
    regime: str | None = None,
    grad: bool = False,
    max_seconds: float | None = None,
    database: Any = DEFAULT_DATABASE,
    max_batch: int = 2,
    max_row_length: int = 8,
    scale: float | None = None,
    on_progress: Callable[[FuzzProgress], None] | None = None,
    engine: str = "auto",
) -> FuzzResult:
    """Search for the input where ``candidate`` is furthest from the oracle.

    Each example ``a`` is scored ``s(a) = max_i |got_i - exact_i| / ulp(exact_i)``
    over its output elements (``1e300`` when an element is of the wrong
    class) and ``s`` is maximized with :func:`hypothesis.target`.  The score
    is measured against the float64 correct rounding of ``exact_i`` (within
    ``2**-30``) for float32, float16 and bfloat16, and is the integer ULP
    distance from the correctly rounded value for float64; the reported
    figures are exact (see the module's docstring).

    Parameters
    ----------
    candidate : str or callable
        A registered name (``"numpy-naive"``, ``"torch"``...), a
        ``"module:function"`` string or a callable with the oracle's signature.
    function : str
        Oracle function name.
    dtype : dtype-like
        float64, float32, float16 or ``ml_dtypes.bfloat16``.
    max_examples : int
        Budget in examples (>= 1); Hypothesis may stop earlier when it has
        exhausted a small search space.
    seed : int, optional
        Seed (>= 0): with ``database=None`` the same seed gives the same
        search.  With a database, stored inputs are replayed first.
    regime : str, optional
        One of :data:`softmax_oracle.regimes.REGIMES`; default all mixed.
    grad : bool
        Search the gradient (:mod:`softmax_oracle.oracle.grad`).
    max_seconds : float, optional
        Budget in seconds; the search stops at whichever budget ends first.
    database : path, ExampleDatabase or None
        Where Hypothesis keeps the best inputs (default
        ``.softmax-oracle/fuzz-db``); ``None`` keeps nothing.
    max_batch, max_row_length : int
        Largest number of rows and row length drawn (the oracle costs about
        15 us per element: keep rows short).
    scale : float, optional
        Logit magnitude (see :mod:`softmax_oracle.regimes`).
    on_progress : callable, optional
        Called with a :class:`FuzzProgress` after every example.
    engine : {"auto", "mpfr"}
        The oracle's engine (:mod:`softmax_oracle.oracle`): same answers,
        ``"auto"`` faster.

    Returns
    -------
    FuzzResult
        The worst input found (also after a Ctrl-C, with ``stopped =
        "interrupted"``).

    Raises
    ------
    InvalidInput
        A bad argument (named in the message).
    CandidateUnavailable
        The candidate's package is missing or it lacks ``function``.
    """
    fmt = format_of(dtype)
    check_engine(engine)
    check_regime(regime, allow_none=True)
    max_examples, max_seconds = _check_budget(max_examples, max_seconds)
    if seed is not None:
        seed = check_count(seed, "seed", low=0)
    if not isinstance(grad, bool):
        raise InvalidInput(f"grad must be True or False; got grad={grad!r}")
    db = _database(database)
    impl = resolve(candidate, function, grad=grad)
    strategy = arguments(function, fmt, regime=regime, max_batch=max_batch, max_row_length=max_row_length,
                         scale=scale)
    tracker = _Tracker(impl, function, grad, fmt, max_seconds, on_progress, engine)
    key = hashlib.sha256(f"{impl.label}|{fmt.name}|{regime}|{max_batch}|{max_row_length}|{scale}".encode()).digest()
    def run(call: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        tracker.run(call)

    for call in _stored_calls(db, key):  # the previous run's worst inputs are replayed first
        run = example(call)(run)
    test = search_settings(max_examples, db)(given(strategy)(run))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    test._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
    stopped = "max_examples"
    try:
        test()
    except _BudgetSpent:
        stopped = "max_seconds"
    except KeyboardInterrupt:
        stopped = "interrupted"
    _store_calls(db, key, tracker.calls)
    return tracker.result(fmt=fmt.name, regime=regime, stopped=stopped, seed=seed)


def snippet(result: FuzzResult, *, candidate: str | None = None) -> str:
    """A Python script that reproduces the worst input of ``result`` (and its first class mismatch).

    ``candidate`` is the expression of the candidate in the script (default
    ``repr(result.candidate)``, right for registered names and
    ``"module:function"`` strings).
    """
    who = candidate if candidate is not None else repr(result.candidate)
    lines = [
        f"# worst input of {result.candidate} {'grad.' if result.grad else ''}{result.function} ({result.format}): "
        f"{result.max_ulp_error:.4g} ULP after {result.examples_run} examples",
        "import ml_dtypes",
        "import numpy as np",
        "from softmax_oracle.compare import compare",
        "",
    ]
    for name, call in (("worst", result.worst_input), ("mismatch", result.mismatch_input)):
        if call is not None:
            lines.append(f"{name} = compare({who}, {result.function!r}, {call}, grad={result.grad})")
            lines.append(f"print({name}.max_ulp_error, {name}.worst_input, {name}.mismatches[:3])")
    return "\n".join(lines) + "\n"
