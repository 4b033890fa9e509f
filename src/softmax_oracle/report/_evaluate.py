"""Evaluate one work unit: sample the arguments, run the oracle once, compare every candidate.

:func:`run_unit` is a top-level function of picklable arguments, so a
process pool or a dask worker can run it; it has no side effects except the
exhaustive-table cache.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from ..candidates import CandidateUnavailable, Implementation, resolve
from ..compare import Comparison, _normal_mpf, input_of
from ..errors import OracleError
from ..formats import format_of
from ..regimes import sample_arguments
from ._condition import condition_number
from ._plan import WorkUnit
from ._records import EXHAUSTIVE, SAMPLED, Record
from ._reference import Reference, compare_to_reference, exhaustive_inputs, exhaustive_reference, reference

__all__ = ["run_unit", "argument_sets", "worst_arguments"]


# contracted with ones, the softmax Jacobian gives exactly 0 (and log_softmax's 1 - n softmax): a
# measure of cancellation only, so these gradients get a seeded random grad_output instead
_RANDOM_GRAD_OUTPUT = ("softmax", "log_softmax")


def argument_sets(unit: WorkUnit) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The unit's arguments: seeded samples of its regime, or every value of the format.

    Gradients of ``softmax`` and ``log_softmax`` are contracted with a seeded
    ``grad_output`` uniform in ``[-1, 1]`` (in the unit's dtype); the other
    gradients with ones (the derivative itself).
    """
    if unit.regime == "exhaustive":
        return [((exhaustive_inputs(unit.dtype),), {})]
    sets = sample_arguments(
        unit.function, unit.dtype, unit.sampler_regime, n=unit.samples, seed=unit.seed,
        row_length=unit.row_length, scale=unit.parameter if unit.regime == "scale" else None, batch=unit.batch,
    )
    if unit.grad and unit.function in _RANDOM_GRAD_OUTPUT:
        rng = np.random.default_rng(unit.seed)
        for args, kwargs in sets:
            x = np.asarray(args[0])
            kwargs["grad_output"] = rng.uniform(-1.0, 1.0, x.shape).astype(x.dtype)
    return sets


def worst_arguments(record: Record) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The argument set that produced ``record.worst_input`` (arguments of the oracle function).

    Raises
    ------
    ValueError
        The record has no worst element (nothing was measured).
    """
    if record.worst_sample is None:
        raise ValueError(f"record {record.candidate}:{record.label} {record.dtype} {record.regime} has no worst input")
    unit = WorkUnit((record.candidate,), record.function, record.grad, record.dtype, record.regime, record.parameter,
                    record.samples, record.batch, record.row_length, record.seed)  # the engine changes nothing here
    return argument_sets(unit)[record.worst_sample]


@dataclass
class _Worst:
    """The worst element of one range so far: its error, argument set, index and values."""

    error: float = -1.0
    sample: int | None = None
    index: tuple[int, ...] | None = None
    comparison: Comparison | None = None

    def offer(self, sample: int, c: Comparison, errors: np.ndarray) -> None:
        if not np.any(~np.isnan(errors)):
            return
        flat = int(np.nanargmax(errors))
        if errors.flat[flat] > self.error:
            self.error = float(errors.flat[flat])
            self.sample, self.comparison = sample, c
            self.index = tuple(int(i) for i in np.unravel_index(flat, errors.shape))


@dataclass
class _Tally:
    """Running statistics of one candidate over the unit's argument sets."""

    impl: Implementation
    errors: list[np.ndarray] = field(default_factory=list)
    n: int = 0
    distance: int = 0
    relative: float = -1.0
    kinds: Counter = field(default_factory=Counter)
    mismatch_input: str | None = None
    zero_sign_input: str | None = None
    status: str = "ok"
    problem: str = ""
    normal: _Worst = field(default_factory=_Worst)
    subnormal: _Worst = field(default_factory=_Worst)

    def add(self, sample: int, c: Comparison) -> None:
        self.n += c.n
        if c.status != "ok":
            if self.status == "ok":
                self.status, self.problem = c.status, c.problem
            return
        values = c.ulp_errors[~np.isnan(c.ulp_errors)]
        self.errors.append(values.ravel())
        self.distance = max(self.distance, c.max_ulp_distance)
        for m in c.mismatches:
            self.kinds[m.kind.name.lower()] += 1
        if c.wrong_class and self.mismatch_input is None:
            self.mismatch_input = c.wrong_class[0].input
        if c.zero_signs and self.zero_sign_input is None:
            self.zero_sign_input = c.zero_signs[0].input
        normal = normal_range(c.rounded)
        relative = normal_relative_errors(c.ulp_errors, c.rounded, normal)
        if relative.size:
            self.relative = max(self.relative, float(relative.max()))
        self.normal.offer(sample, c, np.where(normal, c.ulp_errors, np.nan))
        self.subnormal.offer(sample, c, np.where(normal, np.nan, c.ulp_errors))

    @property
    def worst(self) -> tuple[_Worst, str] | None:
        """The worst element by severity (see ``Record.worst_range``) and its range."""
        if self.normal.comparison is not None and (self.normal.error > 1 or self.subnormal.comparison is None
                                                   or self.normal.error >= self.subnormal.error):
            return self.normal, "normal"
        if self.subnormal.comparison is not None:
            return self.subnormal, "subnormal"
        return None


def normal_range(rounded: np.ndarray) -> np.ndarray:
    """Where a correctly rounded result is normal or infinite (not subnormal, not zero, not NaN)."""
    fmt = format_of(rounded.dtype)
    with np.errstate(invalid="ignore"):  # bfloat16 NaN payloads
        magnitude = np.abs(rounded.astype(np.float64))
    return magnitude >= 2.0**fmt.emin


def normal_relative_errors(ulp_errors: np.ndarray, rounded: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Relative errors of the normal-range results, from their ULP errors (3 significant digits, for plots).

    For a normal result ``r = m * 2**e`` (``0.5 <= m < 1``) of a ``p``-bit
    format, ``ulp = 2**(e - p)`` and the relative error is ``ulp_error * ulp
    / |r|`` (``|r|`` stands in for ``|exact|``: within half an ULP of it).
    Outside the normal range the relative error says nothing (it is 1 for
    every result that rounds to zero).
    """
    fmt = format_of(rounded.dtype)
    keep = normal & ~np.isnan(ulp_errors)
    with np.errstate(invalid="ignore", over="ignore"):  # bfloat16 NaN payloads; inf results drop below
        r = np.abs(rounded[keep].astype(np.float64))
    errors = ulp_errors[keep]
    finite = np.isfinite(r)
    mantissa, exponent = np.frexp(r[finite])
    return errors[finite] * np.ldexp(1.0, exponent - fmt.precision) / r[finite]


def _statistics(errors: list[np.ndarray]) -> tuple[float, float, float, float]:
    values = np.concatenate(errors) if errors else np.empty(0)
    if not values.size:
        nan = float("nan")
        return nan, nan, nan, nan
    return (float(values.max()), float(np.median(values)), float(np.percentile(values, 99)),
            float(values.mean()))


def _record(unit: WorkUnit, tally: _Tally, sets: list[Any], skipped: str,
            conditions: dict[Any, float | None], counts: tuple[int, int]) -> Record:
    high, median, p99, mean = _statistics(tally.errors)
    chosen = tally.worst
    worst, where = chosen if chosen is not None else (None, None)
    condition = None
    if worst is not None and not unit.grad:
        key = (worst.sample, worst.index)  # candidates often share their worst element
        if key not in conditions:
            args, kwargs = sets[worst.sample]
            conditions[key] = condition_number(unit.function, args, kwargs, worst.index)
        condition = conditions[key]
    c = None if worst is None else worst.comparison
    idx = None if worst is None else worst.index
    note = "; ".join(p for p in (tally.impl.note, skipped) if p)
    kinds = dict(tally.kinds)
    zero_signs = kinds.get("zero_sign", 0)
    nan = float("nan")
    return Record(
        candidate=tally.impl.candidate, function=unit.function, grad=unit.grad, dtype=unit.dtype,
        regime=unit.regime, parameter=unit.parameter,
        sampling=EXHAUSTIVE if unit.regime == "exhaustive" else SAMPLED, seed=unit.seed, samples=len(sets),
        batch=unit.batch, row_length=unit.row_length,
        n=tally.n, status=tally.status, problem=tally.problem, max_ulp_error=high, median_ulp_error=median,
        p99_ulp_error=p99, mean_ulp_error=mean, max_ulp_distance=tally.distance,
        mismatches=sum(kinds.values()) - zero_signs, mismatch_kinds=tuple(sorted(kinds.items())),
        mismatch_input=tally.mismatch_input,
        worst_input=None if c is None else input_of(unit.function, unit.grad, idx, *sets[worst.sample]),
        worst_sample=None if worst is None else worst.sample,
        worst_got=None if c is None else float(c.got[idx]),
        worst_rounded=None if c is None else float(c.rounded[idx]),
        worst_exact=None if c is None else mpmath.nstr(_normal_mpf(c.exact[idx]), 20),
        condition=condition, note=note, zero_signs=zero_signs, zero_sign_input=tally.zero_sign_input,
        max_relative_error=tally.relative if tally.relative >= 0 else nan,
        max_ulp_error_normal=tally.normal.error if tally.normal.comparison is not None else nan,
        max_ulp_error_subnormal=tally.subnormal.error if tally.subnormal.comparison is not None else nan,
        worst_range=where, oracle_elements=counts[0], phase1_decided=counts[1],
    )


def _implementations(unit: WorkUnit) -> list[Implementation]:
    impls = []
    for name in unit.candidates:
        try:
            impls.append(resolve(name, unit.function, grad=unit.grad))
        except CandidateUnavailable:
            continue  # the candidate lacks this function (scipy has no gradients): no record
    return impls


def run_unit(unit: WorkUnit, *, cache_dir: str | None = None) -> tuple[Record, ...]:
    """Evaluate ``unit`` for each of its candidates; one :class:`Record` per candidate that has the function.

    Parameters
    ----------
    unit : WorkUnit
    cache_dir : str, optional
        Directory of the exhaustive tables (see
        :func:`._reference.exhaustive_reference`); ``None`` computes them.
    """
    impls = _implementations(unit)
    if not impls:
        return ()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # overflow and invalid-value warnings are what the candidates are measured on: they are recorded
        warnings.simplefilter("ignore", RuntimeWarning)
        return _evaluate(unit, impls, cache_dir)


def _evaluate(unit: WorkUnit, impls: list[Implementation], cache_dir: str | None) -> tuple[Record, ...]:
    sets = argument_sets(unit)
    tallies = [_Tally(impl) for impl in impls]
    skipped: list[str] = []
    elements, decided = 0, 0
    for i, (args, kwargs) in enumerate(sets):
        try:
            ref: Reference
            if unit.regime == "exhaustive":
                ref = exhaustive_reference(unit.function, unit.grad, unit.dtype, cache_dir=cache_dir,
                                           engine=unit.engine)
            else:
                ref = reference(unit.function, unit.grad, args, kwargs, engine=unit.engine)
        except OracleError as err:  # PrecisionExhausted: the oracle never guesses, so the sample is left out
            skipped.append(f"sample {i}: {type(err).__name__}: {err}")
            continue
        elements += ref.rounded.size
        decided = -1 if decided < 0 or ref.phase1_decided < 0 else decided + ref.phase1_decided
        for tally in tallies:
            tally.add(i, compare_to_reference(tally.impl, unit.function, unit.grad, args, kwargs, ref))
    note = f"oracle skipped {len(skipped)} sample(s) ({skipped[0]})" if skipped else ""
    conditions: dict[Any, float | None] = {}
    return tuple(_record(unit, t, sets, note, conditions, (elements, decided)) for t in tallies)
