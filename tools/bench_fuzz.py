"""Throughput of ``softmax_oracle.fuzz.search`` against the strategies alone, as ratios measured in one run.

Each search example draws an argument set (rows of at most
``--max-row-length`` entries, at most ``--max-batch`` rows), runs the
candidate and the correctly rounded oracle, scores the ULP error for
``hypothesis.target`` and compares it exactly (the 200-bit reference of
``compare``) where it can change the result.  The strategies alone are the
same Hypothesis test (same strategy, settings and seed) with an empty body,
measured two ways:

* **same examples**: the body replays the scores the search gave
  ``hypothesis.target``, in order, so Hypothesis makes the same choices and
  draws the same examples, its target phase included (checked: the table
  says where a replay drew other arguments).  The difference in time is
  then exactly the search's own work: oracle, candidate, screen, records.
* **empty body**: no scores, so no target phase to climb: Hypothesis draws
  other examples (the generate phase's, cheaper to draw than the target
  phase's mutations of high-scoring ones); the measure of earlier runs.

Times are the process's CPU time (``time.process_time``: this machine is
shared, and wall time counts the other tenants too).  Round ``r`` runs every
case with seed ``--seed + r``: the search, then the strategies alone both
ways, so each ratio compares one seed's runs; the table gives medians over
the rounds, so over different examples (a search's examples depend on its
seed and, through the constants Hypothesis draws from the project's source,
on every source change).  A ``ratio`` is the median of the per-round ratios
``strategies examples/s / search examples/s`` (1.0: the search costs nothing
beyond drawing its examples); ``without the candidate`` is the same-examples
ratio with the time spent in the candidate taken out of the search's (what
the search itself costs).  ``oracle`` and ``candidate`` are the median
milliseconds per search example spent getting the oracle's answers
(``fuzz._Tracker._oracle``: calls, kept answers, 16-bit tables) and in the
candidate; ``drawn again`` is the median share of a search's examples whose
arguments an earlier example of the same search had (the search does not
run them again: ``softmax_oracle.fuzz``'s docstring); ``exact records``
counts the examples of the last round compared exactly (``compare``'s
200-bit record).  ``every example exact`` is the
empty-body ratio with the screen off (``--every-example`` adds it): every
example gets ``compare``'s record, as before the screen.  Also reports after
how many examples the planted 4-ULP defect of the test suite is first seen.

Hypothesis draws constants found in the source of the project's own modules
(``hypothesis.internal.conjecture.providers._get_local_constants``), so the
constants of this script would change the examples drawn (by up to 6x more
draws in the target phase, measured): :func:`main` hides the script from that
scan, so the examples are those of ``softmax-oracle fuzz``.

Usage::

    python tools/bench_fuzz.py [--examples 1000] [--rounds 5] [--seed 0] [--every-example]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time

import numpy as np
from hypothesis import given, target
from hypothesis import seed as hypothesis_seed

from softmax_oracle import fuzz
from softmax_oracle.candidates import resolve
from softmax_oracle.compare import exact_reference
from softmax_oracle.formats import format_of
from softmax_oracle._fuzz_screen import call_key
from softmax_oracle.fuzz import FuzzProgress, FuzzResult, search, search_settings
from softmax_oracle.numpy_impl import accurate
from softmax_oracle.strategies import arguments

CASES = [  # candidate, function, dtype, grad
    ("numpy-accurate", "softmax", "float32", False),
    ("numpy-accurate", "softmax", "float64", False),
    ("numpy-naive", "softmax", "float32", False),
    ("scipy", "log_softmax", "float32", False),
    ("numpy-stable", "cross_entropy", "float32", False),
    ("numpy-stable", "sigmoid", "float16", False),
    ("numpy-accurate", "softmax", "bfloat16", False),
    ("numpy-accurate", "cross_entropy", "float32", True),
    ("numpy-accurate", "cross_entropy", "float64", True),
]


def planted_softmax(x, axis=-1):
    """The accurate softmax, wrong by 4 ULP where the row's max - min exceeds 60."""
    y = accurate.softmax(x, axis=axis)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        wrong = np.broadcast_to(np.ptp(x64, axis=axis, keepdims=True) > 60, y.shape)
    bumped = y
    for _ in range(4):
        bumped = np.nextafter(bumped, np.float32(np.inf))
    return np.where(wrong, bumped, y).astype(y.dtype)


def strategies_alone(function: str, dtype: str, *, examples: int, seed: int, max_row_length: int,
                     max_batch: int, targets: list | None = None) -> tuple[list, float]:
    """(calls drawn, CPU seconds): ``fuzz.search``'s Hypothesis test with an empty body.

    With ``targets`` (the ``(score, label)`` the search gave ``hypothesis.target`` on each of its
    examples, in order, or None where it gave none) the body replays them: Hypothesis then makes the
    same choices as in the search, so the same examples are drawn (target phase included) and the
    difference in time is the search's own work.  Without, no example is scored and Hypothesis's
    target phase has nothing to climb: other examples.
    """
    strategy = arguments(function, format_of(dtype), max_batch=max_batch, max_row_length=max_row_length)
    drawn: list = []

    def body(call):
        drawn.append(call)
        if targets is not None and len(drawn) <= len(targets) and targets[len(drawn) - 1] is not None:
            score, label = targets[len(drawn) - 1]
            target(score, label=label)

    test = hypothesis_seed(seed)(search_settings(examples, None)(given(strategy)(body)))
    start = time.process_time()
    test()
    return drawn, time.process_time() - start


class Split:
    """Seconds spent in the oracle and in the candidate, and exact records built, during one search."""

    def __init__(self) -> None:
        self.oracle = self.candidate = 0.0
        self.records = 0
        self.calls: list = []  # the examples, in order
        self.targets: list = []  # what each gave hypothesis.target, or None

    def search(self, candidate: str, function: str, dtype: str, grad: bool, *, every: bool = False,
               **kw) -> FuzzResult:
        impl = resolve(candidate, function, grad=grad)

        def timed(fn, slot):
            def call(*args, **kwargs):
                start = time.process_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    setattr(self, slot, getattr(self, slot) + time.process_time() - start)
            return call

        def counted(*args, **kwargs):
            self.records += 1
            return exact_reference(*args, **kwargs)

        run, scored = fuzz._Tracker.run, fuzz.target

        def recorded_run(tracker, call):
            self.calls.append(call)
            self.targets.append(None)
            return run(tracker, call)

        def recorded_target(*args, **kwargs):
            self.targets[-1] = (args[0], kwargs.get("label", ""))
            return scored(*args, **kwargs)

        saved = fuzz._Tracker._oracle, fuzz.exact_reference, fuzz._Tracker._no_worse
        fuzz._Tracker._oracle, fuzz.exact_reference = timed(fuzz._Tracker._oracle, "oracle"), counted
        fuzz._Tracker.run, fuzz.target = recorded_run, recorded_target
        if every:  # no screen: every example gets compare's exact record, as before issue 9's screen
            fuzz._Tracker._no_worse = lambda *args, **kwargs: False
        try:
            return search(dataclasses.replace(impl, call=timed(impl.call, "candidate")), function, dtype=dtype,
                          grad=grad, **kw)
        finally:
            fuzz._Tracker._oracle, fuzz.exact_reference, fuzz._Tracker._no_worse = saved
            fuzz._Tracker.run, fuzz.target = run, scored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-row-length", type=int, default=8)
    parser.add_argument("--max-batch", type=int, default=2)
    parser.add_argument("--every-example", action=argparse.BooleanOptionalAction, default=False,
                        help="also time the search with the screen off (every example compared exactly)")
    opts = parser.parse_args(argv)
    sys.modules[__name__].__file__ = None  # type: ignore[assignment]  # see the module docstring
    sizes = dict(max_row_length=opts.max_row_length, max_batch=opts.max_batch)
    rates: dict[int, list[tuple[float, ...]]] = {i: [] for i in range(len(CASES))}
    results: dict[int, tuple[FuzzResult, int]] = {}
    for candidate, function, dtype, grad in CASES:  # warm-up: imports, first calls
        search(candidate, function, dtype=dtype, grad=grad, max_examples=20, seed=opts.seed + 10**6, database=None,
               **sizes)
        strategies_alone(function, dtype, examples=20, seed=opts.seed + 10**6, **sizes)
    diverged: dict[int, int] = {i: 0 for i in range(len(CASES))}
    for round_ in range(opts.rounds):
        seed = opts.seed + round_
        for i, (candidate, function, dtype, grad) in enumerate(CASES):
            split = Split()
            start = time.process_time()
            r = split.search(candidate, function, dtype, grad, max_examples=opts.examples, seed=seed,
                             database=None, **sizes)
            cpu = time.process_time() - start
            same, same_seconds = strategies_alone(function, dtype, examples=opts.examples, seed=seed,
                                                  targets=split.targets, **sizes)
            empty, empty_seconds = strategies_alone(function, dtype, examples=opts.examples, seed=seed, **sizes)
            if len(same) != len(split.calls) or any(call_key(*a) != call_key(*b) for a, b in zip(same, split.calls)):
                diverged[i] += 1  # the replay drew other examples: its ratio is not the same examples'
            every_rate = math.nan
            if opts.every_example:
                start = time.process_time()
                every = Split().search(candidate, function, dtype, grad, every=True, max_examples=opts.examples,
                                       seed=seed, database=None, **sizes)
                every_rate = every.examples_run / (time.process_time() - start)
            n = len(split.calls)  # examples drawn (examples_run leaves out those the oracle refused)
            per = 1e3 / n
            again = n - len({call_key(*call) for call in split.calls})  # not run again (fuzz's module docstring)
            rates[i].append((n / cpu, len(same) / same_seconds, split.oracle * per, split.candidate * per,
                             every_rate, n / (cpu - split.candidate), len(empty) / empty_seconds, again / n))
            results[i] = r, split.records
    print("| candidate | function | dtype | search examples/s | strategies alone, same examples: examples/s "
          "| ratio | without the candidate | strategies alone, empty body: examples/s | ratio "
          "| every example exact: ratio | oracle ms/example | candidate ms/example | drawn again | exact records "
          "| worst ULP | mismatching |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, (candidate, function, dtype, grad) in enumerate(CASES):
        r, records = results[i]
        med = [statistics.median(row[k] for row in rates[i]) for k in range(8)]
        ratio = statistics.median(row[1] / row[0] for row in rates[i])
        bare = statistics.median(row[1] / row[5] for row in rates[i])
        empty = statistics.median(row[6] / row[0] for row in rates[i])
        before = f"{statistics.median(row[6] / row[4] for row in rates[i]):.2f}x" if opts.every_example else "-"
        note = f" (replay diverged in {diverged[i]} of {opts.rounds} rounds)" if diverged[i] else ""
        print(f"| {candidate} | {'grad.' if grad else ''}{function} | {dtype} | {med[0]:.0f} | {med[1]:.0f} "
              f"| {ratio:.2f}x{note} | {bare:.2f}x | {med[6]:.0f} | {empty:.2f}x | {before} | {med[2]:.2f} "
              f"| {med[3]:.2f} | {med[7]:.0%} | {records} | {r.max_ulp_error:.4g} | {r.mismatch_count} |")
    sys.stdout.flush()
    first: list[int] = []

    def watch(p: FuzzProgress) -> None:
        if not first and p.max_ulp_error >= 3.5:
            first.append(p.examples_run)

    for seed in range(5):
        first.clear()
        search(planted_softmax, "softmax", dtype="float32", max_examples=2000, seed=seed, database=None,
               on_progress=watch)
        print(f"planted 4-ULP defect, seed {seed}: first seen at example {first[0] if first else 'never'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
