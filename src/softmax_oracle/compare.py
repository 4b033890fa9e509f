"""Run an implementation against the oracle and record how far off it is (no printing).

:func:`compare` calls the candidate and the oracle on the same arguments and
returns a frozen :class:`Comparison`: ULP errors against the exact value
(:func:`softmax_oracle.ulp.ulp_error`, ``0.5`` = correctly rounded), ULP
distances and bits of error from the correctly rounded value, class
mismatches as their own list, and the worst element with the input that
produced it written as exact hex floats, ready to paste back.  A candidate
that raises or returns something other than an array of the oracle's shape
and dtype gives a record saying so, not an exception.
"""

from __future__ import annotations

import dataclasses

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from .candidates import Implementation, check_function, resolve
from .errors import PrecisionExhausted
from .formats import format_of
from .oracle._counts import decision_counts
from .oracle._evaluate import check_engine
from .ulp import Mismatch, class_mismatches, exact_nonzero, relative_error, ulp_distance, ulp_error

__all__ = ["Comparison", "ClassMismatch", "Reference", "compare", "compare_output", "reference", "exact_reference",
           "exact_elements", "check_output", "literal", "input_of", "EXACT_BITS", "STATUSES"]

EXACT_BITS = 200  # bits of the exact reference: far more than any format's 53
MISMATCH_INPUTS = 32  # class mismatches that keep their pasteable input (the others: "")
STATUSES = ("ok", "raised", "not-an-array", "wrong-shape", "wrong-dtype")

_ELEMENTWISE = {"sigmoid", "log_sigmoid", "softplus"}
_ROWWISE = {"softmax", "log_softmax", "logsumexp"}
_CLASS_LOSSES = {"cross_entropy", "nll_loss"}


@dataclass(frozen=True)
class ClassMismatch:
    """One output element of the wrong class (see :class:`softmax_oracle.ulp.Mismatch`)."""

    index: tuple[int, ...]
    kind: Mismatch
    got: float
    expected: float  # the correctly rounded value
    input: str  # the arguments that produced it, as exact hex floats ("" past the first MISMATCH_INPUTS)


@dataclass(frozen=True, eq=False)
class Comparison:
    """The record of one :func:`compare` call.

    Attributes
    ----------
    candidate, function : str
        ``Implementation.candidate`` and the oracle function name.
    grad : bool
        Whether gradients were compared.
    format : str
        Format of the oracle's result (the comparison's unit of ULP).
    status : str
        ``"ok"`` when the candidate returned an array of the oracle's shape
        and dtype; else ``"raised"``, ``"not-an-array"``, ``"wrong-shape"``
        or ``"wrong-dtype"`` and ``problem`` says what happened (the metrics
        are then NaN).
    problem, note : str
        What went wrong; how the candidate's adapter deviates (promotions,
        clamps).
    n : int
        Number of output elements.
    max_ulp_error, mean_ulp_error : float
        ``|got - exact| / ulp(exact)`` over the elements of the right class
        (``0.5`` = correctly rounded); ``0.0`` when there are none.
    max_ulp_distance : int
        Largest number of float steps from the correctly rounded value.
    max_bits_of_error, max_relative_error : float
        ``log2(1 + max_ulp_distance)``; largest ``|got - exact| / |exact|``.
    worst_index : tuple of int or None
        Output index of the largest ULP error.
    worst_input : str or None
        The row or element of the arguments that produced it, as a pasteable
        expression of exact hex floats (all arguments for a reduced loss).
    worst_got, worst_rounded : float or None
        The candidate's and the correctly rounded value there (exact in a
        Python float).
    worst_exact : mpmath.mpf or None
        The exact value there.
    mismatches : tuple of ClassMismatch
        Every element of the wrong class (NaN for a number, inf for a finite
        value, ...) and every zero of the wrong sign (kind
        ``Mismatch.ZERO_SIGN``, where the exact value fixes the sign);
        :attr:`wrong_class` and :attr:`zero_signs` split them.
    ulp_errors : numpy.ndarray
        Per-element ULP error, NaN at wrong-class elements.  A zero of the
        wrong sign equals the right zero numerically: its ULP error is
        measured like any other element's (``|0 - exact| / ulp(exact)``).
    got, rounded, exact : numpy.ndarray
        The candidate's result (``None`` unless an array), the oracle's, and
        the exact values (object array of ``mpmath.mpf``).
    phase1_decided : int
        How many of the ``n`` output elements the oracle's fast phase decided
        (the rest went to its MPFR engine; 0 with ``engine="mpfr"``).
    """

    candidate: str
    function: str
    grad: bool
    format: str
    status: str
    problem: str
    note: str
    n: int
    max_ulp_error: float
    mean_ulp_error: float
    max_ulp_distance: int
    max_bits_of_error: float
    max_relative_error: float
    worst_index: tuple[int, ...] | None
    worst_input: str | None
    worst_got: float | None
    worst_rounded: float | None
    worst_exact: Any
    mismatches: tuple[ClassMismatch, ...]
    ulp_errors: np.ndarray = field(repr=False)
    got: np.ndarray | None = field(repr=False)
    rounded: np.ndarray = field(repr=False)
    exact: np.ndarray = field(repr=False)
    phase1_decided: int = 0

    @property
    def wrong_class(self) -> tuple[ClassMismatch, ...]:
        """The class mismatches other than zero signs (NaN, infinities, finite for infinite)."""
        return tuple(m for m in self.mismatches if m.kind != Mismatch.ZERO_SIGN)

    @property
    def zero_signs(self) -> tuple[ClassMismatch, ...]:
        """The zeros of the wrong sign (``-0.0`` where ``+0.0`` is due, or the reverse)."""
        return tuple(m for m in self.mismatches if m.kind == Mismatch.ZERO_SIGN)

    @property
    def ok(self) -> bool:
        """The call worked and no element is of the wrong class (ULP errors and zero signs aside)."""
        return self.status == "ok" and not self.wrong_class

    def exceeding(self, max_ulp: float, *, signed_zeros: bool = False) -> np.ndarray:
        """Boolean mask of the elements off by more than ``max_ulp`` or of the wrong class.

        A zero of the wrong sign is in the mask only with ``signed_zeros=True``
        (by default ``-0.0 == 0.0``, as in :mod:`numpy.testing`).
        """
        mask = np.isnan(self.ulp_errors) | (self.ulp_errors > max_ulp)
        if signed_zeros:
            for m in self.zero_signs:
                mask[m.index] = True
        return mask


def literal(value: Any) -> str:
    """A Python expression rebuilding ``value`` exactly (floats as hex).

    >>> literal(np.array([10.0, -0.5], dtype=np.float32))
    "np.array(list(map(float.fromhex, ['0x1.4000000000000p+3', '-0x1.0000000000000p-1'])), dtype=np.float32)"
    """
    arr = np.asarray(value)
    if arr.dtype.kind in "iub":
        text = f"np.array({arr.tolist()!r})"
        return text if arr.dtype == np.int64 or arr.dtype.kind == "b" else text[:-1] + f", dtype=np.{arr.dtype})"
    try:
        fmt = format_of(arr.dtype)
    except ValueError:
        return repr(value)
    dtype = "ml_dtypes.bfloat16" if fmt.name == "bfloat16" else f"np.{fmt.name}"
    with np.errstate(invalid="ignore"):
        hexes = [float(v).hex() for v in arr.astype(np.float64).ravel()]
    if arr.ndim == 0:
        return f"{dtype}(float.fromhex({hexes[0]!r}))"
    text = f"np.array(list(map(float.fromhex, {hexes!r})), dtype={dtype})"
    return text if arr.ndim == 1 else f"{text}.reshape({arr.shape!r})"


def _oracle(function: str, grad: bool) -> tuple[Any, Any]:
    oracle = importlib.import_module(".oracle.grad" if grad else ".oracle", __package__)
    exact = importlib.import_module(".exact", __package__)
    return getattr(oracle, function), getattr(exact.grad if grad else exact, function)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], position: int, name: str, default: Any) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


def input_of(function: str, grad: bool, index: tuple[int, ...], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> str:
    """The arguments of ``function`` that produced output element ``index``, as a pasteable expression.

    Elementwise functions: the element; row functions: the row along
    ``axis``; per-sample losses: the sample's row and target; reduced losses:
    every argument.
    """
    x = np.asarray(args[0])
    if function in _ELEMENTWISE:
        return literal(x[index])
    if function in _ROWWISE:
        axis = _argument(args, kwargs, 1, "axis", -1) % max(x.ndim, 1)
        if x.ndim == 0:
            return literal(x)
        where: list[Any] = list(index)
        if function == "logsumexp" and not grad:
            where.insert(axis, slice(None))
        else:
            where[axis] = slice(None)
        return literal(x[tuple(where)])
    target = np.asarray(_argument(args, kwargs, 1, "target", None))
    reduced = kwargs.get("reduction", "mean") != "none"
    if function in _CLASS_LOSSES and x.ndim >= 2 and (grad or not reduced):
        sample = index[:1] + index[2:] if grad else index
        row = x[(sample[0], slice(None)) + tuple(sample[1:])]
        t = target[sample] if target.shape == x.shape[:1] + x.shape[2:] else target
        return f"{literal(row)}, {literal(t)}"
    if function not in _CLASS_LOSSES and (grad or not reduced) and target.shape == x.shape:
        return f"{literal(x[index])}, {literal(target[index])}"
    return ", ".join(literal(a) for a in args)


def _problem_record(impl: Implementation, function: str, grad: bool, fmt: str, status: str, problem: str,
                    ref: Reference, got: Any) -> Comparison:
    nan = float("nan")
    rounded = ref.rounded
    return Comparison(
        impl.candidate, function, grad, fmt, status, problem, impl.note, int(rounded.size), nan, nan, -1,
        nan, nan, None, None, None, None, None, (), np.full(rounded.shape, nan), got, rounded, ref.exact,
        ref.phase1_decided,
    )


def check_output(got: Any, rounded: np.ndarray) -> tuple[str, str]:
    """``(status, problem)`` of a candidate's output against the oracle's: ``("ok", "")`` or one of :data:`STATUSES`."""
    if not isinstance(got, (np.ndarray, np.generic)):
        return "not-an-array", f"returned {type(got).__module__}.{type(got).__qualname__}, not a NumPy array"
    got = np.asarray(got)
    if got.shape != rounded.shape:
        return "wrong-shape", f"returned shape {got.shape}; the oracle's is {rounded.shape}"
    if got.dtype != rounded.dtype:
        return "wrong-dtype", f"returned dtype {got.dtype}; the oracle's is {rounded.dtype}"
    return "ok", ""


_check_result = check_output  # the name report._exhaustive imports


def compare(candidate: Any, function: str, *args: Any, grad: bool = False, reference: Reference | None = None,
            engine: str = "auto", **kwargs: Any) -> Comparison:
    """Run ``candidate(*args, **kwargs)`` and the oracle's ``function`` on the same inputs.

    Parameters
    ----------
    candidate : str, callable, Candidate or Implementation
        A registry name (``"torch"``, ``"numpy-stable"``...), a
        ``"module:function"`` string or any callable computing ``function``
        (its gradient with ``grad=True``); see
        :func:`softmax_oracle.candidates.resolve`.
    function : str
        Oracle function name: ``softmax_oracle.oracle.<function>``, or
        ``softmax_oracle.oracle.grad.<function>`` with ``grad=True``.
    *args, **kwargs
        Arguments of ``function``, passed to both.
    grad : bool
        Compare gradients (``grad_output`` may be among ``kwargs``).
    reference : Reference, optional
        The oracle's answers computed beforehand with :func:`reference`
        (shared by many candidates: the oracle is not called again).
    engine : {"auto", "mpfr"}
        The oracle's engine (see :mod:`softmax_oracle.oracle`); not passed to
        the candidate.  Both give the same bits; ``"auto"`` is faster.

    Returns
    -------
    Comparison
        For element ``i`` with candidate value ``y_i``, exact value ``x_i``
        and correctly rounded value ``r_i``: ``ulp_errors[i] = |y_i - x_i| /
        ulp(x_i)`` and the distance ``|ord(y_i) - ord(r_i)|`` where the
        classes agree, a :class:`ClassMismatch` where they do not.

    Raises
    ------
    InvalidInput
        Unknown function or candidate name, or arguments the oracle refuses.
    CandidateUnavailable
        The candidate's package is missing or it lacks ``function``.
    """
    check_function(function)
    check_engine(engine)
    impl = resolve(candidate, function, grad=grad)
    ref = reference if reference is not None else globals()["reference"](function, *args, grad=grad, engine=engine,
                                                                          **kwargs)
    if ref.note:
        impl = dataclasses.replace(impl, note=(f"{impl.note} " if impl.note else "") + ref.note)
    try:
        got = impl(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - any failure of the candidate is a finding to record
        return _problem_record(impl, function, grad, format_of(ref.rounded.dtype).name, "raised",
                               f"raised {type(err).__name__}: {err}", ref, None)
    return compare_output(impl, function, got, *args, grad=grad, reference=ref, **kwargs)


def compare_output(candidate: Any, function: str, got: Any, *args: Any, grad: bool = False,
                   reference: Reference, **kwargs: Any) -> Comparison:
    """The :class:`Comparison` of an output ``got`` that ``candidate(*args, **kwargs)`` already returned.

    What :func:`compare` does after calling the candidate (the candidate is not
    called again): the same record for the same ``got`` and ``reference``,
    except that the reference's ``note`` is not added to the candidate's
    (:func:`compare` adds it).
    """
    impl = resolve(candidate, function, grad=grad)
    rounded, exact = reference.rounded, reference.exact
    fmt = format_of(rounded.dtype)
    status, problem = check_output(got, rounded)
    if status != "ok":
        kept = got if isinstance(got, np.ndarray) else None
        return _problem_record(impl, function, grad, fmt.name, status, problem, reference, kept)
    got = np.asarray(got)
    record = _measure(impl, function, grad, fmt.name, got, rounded, exact, args, kwargs)
    return dataclasses.replace(record, phase1_decided=reference.phase1_decided)


@dataclass(frozen=True, eq=False)
class Reference:
    """The oracle's answers for one call: correctly rounded values and exact values.

    Attributes
    ----------
    rounded : numpy.ndarray
        ``softmax_oracle.oracle.<function>`` (or ``.grad.<function>``).
    exact : numpy.ndarray
        Object array of ``mpmath.mpf``: ``softmax_oracle.exact`` at ``bits``
        bits, or, where those cannot be had, the correctly rounded values
        (see ``note``).
    note : str
        Empty, or why ``exact`` holds the rounded values.
    phase1_decided : int
        Elements of ``rounded`` decided by the oracle's fast phase.
    """

    rounded: np.ndarray
    exact: np.ndarray
    note: str = ""
    phase1_decided: int = 0


def reference(function: str, *args: Any, grad: bool = False, bits: int = EXACT_BITS, engine: str = "auto",
              **kwargs: Any) -> Reference:
    """The oracle's rounded and exact values of ``function`` at ``args``, computed once for many candidates.

    ``softmax_oracle.exact`` raises :class:`~softmax_oracle.errors.PrecisionExhausted`
    where an element's remainder lies below MPFR's exponent range
    (``2**-1073741823``) and is not a single term (the softmax gradient of
    ``[0, -1e10, -1e10]``; ``exp(-1e10)`` alone, as in ``softmax([0, -1e10])``,
    is exact), or at its precision cap, even though the correctly rounded float
    is known.  Then the exact values are replaced by the correctly rounded ones,
    which measures ULP errors exactly for the zeros those values round to (to
    within ``2**-1073741823`` ULP) and within 0.5 ULP elsewhere; ``note`` says so.
    ``engine`` is the oracle's (``softmax_oracle.exact`` is always MPFR).
    """
    check_function(function)
    check_engine(engine)
    oracle_fn, _ = _oracle(function, grad)
    with decision_counts() as counts:
        rounded = np.asarray(oracle_fn(*args, engine=engine, **kwargs))
    return exact_reference(function, rounded, *args, grad=grad, bits=bits, phase1_decided=counts.phase1_decided,
                           **kwargs)


def exact_reference(function: str, rounded: np.ndarray, *args: Any, grad: bool = False, bits: int = EXACT_BITS,
                    phase1_decided: int = 0, **kwargs: Any) -> Reference:
    """The :class:`Reference` of :func:`reference` for oracle values ``rounded`` computed beforehand.

    ``rounded`` must be the oracle's ``function`` at ``args`` (it is not
    checked); the exact values are computed as :func:`reference` does, with
    the same fallback to the rounded values.
    """
    _, exact_fn = _oracle(function, grad)
    exact_kwargs = {k: v for k, v in kwargs.items() if k != "dtype"}
    try:
        return Reference(rounded, np.asarray(exact_fn(*args, bits=bits, **exact_kwargs), dtype=object),
                         phase1_decided=phase1_decided)
    except PrecisionExhausted as err:
        values = np.empty(rounded.shape, dtype=object)
        values.reshape(-1)[:] = [mpmath.mpf(float(v)) for v in rounded.astype(np.float64).reshape(-1)]
        note = (f"exact values unavailable ({err.reason}; element {err.index}); "
                "ULP errors measured against the correctly rounded values")
        return Reference(rounded, values, note, phase1_decided)


def exact_elements(function: str, indices: Any, *args: Any, grad: bool = False, bits: int = EXACT_BITS,
                   **kwargs: Any) -> list[Any]:
    """The exact values at flat ``indices`` of the output: those of :func:`reference`'s ``exact``, and no others.

    Each element is evaluated alone, as ``softmax_oracle.exact`` evaluates
    every element (the same ``mpmath.mpf``, to ``bits`` bits), so one
    element costs one MPFR evaluation however large the output.  Raises
    :class:`~softmax_oracle.errors.PrecisionExhausted` where
    ``softmax_oracle.exact`` would for these elements (:func:`reference` then
    falls back to the rounded values for the whole output).
    """
    check_function(function)
    from .oracle._builders import BUILD  # the term builders the oracle and softmax_oracle.exact use
    from .formats import binary_format
    from .oracle._evaluate import _decide
    from .rounding import to_mpf

    exact_kwargs = {k: v for k, v in kwargs.items() if k != "dtype"}
    grad_output = exact_kwargs.pop("grad_output", None) if grad else None
    terms = BUILD[function](grad, grad_output, *args, **exact_kwargs)[0]
    return [to_mpf(v) for v in _decide(terms, binary_format(bits), [int(i) for i in indices])]


def _normal_mpf(value: Any) -> Any:
    """``value`` as an mpf, with mpmath's negative zeros (which cannot even be printed) made +0."""
    v = mpmath.mpf(value)
    return v if exact_nonzero([v])[0] else mpmath.mpf(0)


def _measure(impl: Implementation, function: str, grad: bool, fmt: str, got: np.ndarray, rounded: np.ndarray,
             exact: np.ndarray, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Comparison:
    codes = class_mismatches(got, rounded, zero_sign=exact_nonzero(exact))
    bad = codes != 0
    # a zero of the wrong sign is numerically right: it keeps its ULP error and distance (0 steps)
    wrong = bad & (codes != Mismatch.ZERO_SIGN)
    errors = np.asarray(ulp_error(got, exact), dtype=np.float64).reshape(got.shape)
    errors = np.where(wrong, np.nan, errors)
    good = ~wrong
    # distances are taken where the classes agree; mismatched elements are set equal first
    aligned = np.where(good, got, rounded).astype(got.dtype)
    distances = np.asarray(ulp_distance(aligned, rounded), dtype=np.uint64).reshape(got.shape)
    rel = np.where(wrong, np.nan, np.asarray(relative_error(got, exact), dtype=np.float64).reshape(got.shape))
    max_distance = int(distances.max()) if distances.size else 0
    finite = errors[good]
    worst = None
    if finite.size:
        worst = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(np.where(good, errors, -1.0))), got.shape))
    # the pasteable input is kept for the first MISMATCH_INPUTS mismatches of each group (wrong class,
    # zero sign) only: a whole row per element would make a 1e5-long row of mismatches cost O(n^2) memory
    kept = {True: 0, False: 0}
    listed = []
    for idx in np.argwhere(bad):
        where = tuple(int(i) for i in idx)
        zero = bool(codes[where] == Mismatch.ZERO_SIGN)
        text = input_of(function, grad, where, args, kwargs) if kept[zero] < MISMATCH_INPUTS else ""
        kept[zero] += 1
        listed.append(ClassMismatch(where, Mismatch(int(codes[where])), float(got[where]), float(rounded[where]),
                                    text))
    mismatches = tuple(listed)
    errors.setflags(write=False)
    return Comparison(
        candidate=impl.candidate, function=function, grad=grad, format=fmt, status="ok", problem="",
        note=impl.note, n=int(got.size),
        max_ulp_error=float(finite.max()) if finite.size else 0.0,
        mean_ulp_error=float(finite.mean()) if finite.size else 0.0,
        max_ulp_distance=max_distance,
        max_bits_of_error=math.log2(1 + max_distance),
        max_relative_error=float(np.nanmax(rel)) if np.any(good) else 0.0,
        worst_index=worst,
        worst_input=None if worst is None else input_of(function, grad, worst, args, kwargs),
        worst_got=None if worst is None else float(got[worst]),
        worst_rounded=None if worst is None else float(rounded[worst]),
        worst_exact=None if worst is None else _normal_mpf(exact[worst]),
        mismatches=mismatches, ulp_errors=errors, got=got, rounded=rounded, exact=exact,
    )
