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
from ..compare import Comparison
from ..errors import OracleError
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
class _Tally:
    """Running statistics of one candidate over the unit's argument sets."""

    impl: Implementation
    errors: list[np.ndarray] = field(default_factory=list)
    n: int = 0
    distance: int = 0
    kinds: Counter = field(default_factory=Counter)
    mismatch_input: str | None = None
    status: str = "ok"
    problem: str = ""
    worst: Comparison | None = None
    worst_sample: int | None = None

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
        if c.mismatches and self.mismatch_input is None:
            self.mismatch_input = c.mismatches[0].input
        if c.worst_index is not None and (self.worst is None or c.max_ulp_error > self.worst.max_ulp_error):
            self.worst, self.worst_sample = c, sample


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
    worst = tally.worst
    condition = None
    if worst is not None and not unit.grad and tally.worst_sample is not None:
        key = (tally.worst_sample, worst.worst_index)  # candidates often share their worst element
        if key not in conditions:
            args, kwargs = sets[tally.worst_sample]
            conditions[key] = condition_number(unit.function, args, kwargs, worst.worst_index)
        condition = conditions[key]
    note = "; ".join(p for p in (tally.impl.note, skipped) if p)
    return Record(
        candidate=tally.impl.candidate, function=unit.function, grad=unit.grad, dtype=unit.dtype,
        regime=unit.regime, parameter=unit.parameter,
        sampling=EXHAUSTIVE if unit.regime == "exhaustive" else SAMPLED, seed=unit.seed, samples=len(sets),
        batch=unit.batch, row_length=unit.row_length,
        n=tally.n, status=tally.status, problem=tally.problem, max_ulp_error=high, median_ulp_error=median,
        p99_ulp_error=p99, mean_ulp_error=mean, max_ulp_distance=tally.distance,
        mismatches=sum(tally.kinds.values()), mismatch_kinds=tuple(sorted(tally.kinds.items())),
        mismatch_input=tally.mismatch_input,
        worst_input=None if worst is None else worst.worst_input, worst_sample=tally.worst_sample,
        worst_got=None if worst is None else worst.worst_got,
        worst_rounded=None if worst is None else worst.worst_rounded,
        worst_exact=None if worst is None else mpmath.nstr(worst.worst_exact, 20),
        condition=condition, note=note, oracle_elements=counts[0], phase1_decided=counts[1],
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
