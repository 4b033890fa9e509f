"""Where MPFR's rounding is the cheaper way to the fuzz screen's enclosures: the fuzzer's own calls, replayed.

For each case of ``tools/bench_fuzz.py`` a seeded search records its calls;
each call is then replayed through
``softmax_oracle.oracle._enclosed.rounded_and_enclosed`` both ways, MPFR
element by element (``limit`` above the size) and the fast phase's
enclosures (``limit=0``), and the table gives the mean milliseconds per call
(best of 2, CPU time) by number of output elements, for the functions whose
fast phase has enclosures.  This is what ``_enclosed.small_call``'s
thresholds rest on.

Usage::

    python tools/bench_enclosed.py [--examples 600] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from softmax_oracle import fuzz
from softmax_oracle.errors import OracleError
from softmax_oracle.oracle._enclosed import ENCLOSED, rounded_and_enclosed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fuzz import CASES  # noqa: E402  (the same cases)

BUCKETS = ((1, 4), (5, 8), (9, 12), (13, 16))


def calls_of(candidate: str, function: str, dtype: str, grad: bool, *, examples: int, seed: int) -> list:
    """The ``(args, kwargs)`` of a seeded search's examples, in order."""
    calls: list = []
    run = fuzz._Tracker.run

    def recorded(tracker, call):
        calls.append(call)
        return run(tracker, call)

    fuzz._Tracker.run = recorded
    try:
        fuzz.search(candidate, function, dtype=dtype, grad=grad, max_examples=examples, seed=seed, database=None)
    finally:
        fuzz._Tracker.run = run
    return calls


def best_of_two(function: str, grad: bool, args, kwargs, limit: int) -> float | None:
    """Seconds of the faster of two replays (after a first, untimed one); None where the oracle refuses."""
    def once() -> None:
        rounded_and_enclosed(function, *args, grad=grad, limit=limit, **kwargs)

    try:
        once()
        times = []
        for _ in range(2):
            start = time.process_time()
            once()
            times.append(time.process_time() - start)
    except OracleError:
        return None
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args(argv)
    print("| candidate | function | dtype | " + " | ".join(f"{a}-{b} elements: calls, MPFR ms, fast ms"
                                                          for a, b in BUCKETS) + " |")
    print("|---|---|---|" + "---|" * len(BUCKETS))
    for candidate, function, dtype, grad in CASES:
        if function not in ENCLOSED[grad]:  # no fast-phase enclosures to compare with
            continue
        times: dict[tuple[int, int], list[list[float]]] = defaultdict(lambda: [[], []])
        for args, kwargs in calls_of(candidate, function, dtype, grad, examples=opts.examples, seed=opts.seed):
            try:
                size = rounded_and_enclosed(function, *args, grad=grad, limit=10**9, **kwargs)[0].size
            except OracleError:
                continue
            bucket = next((b for b in BUCKETS if b[0] <= size <= b[1]), None)
            pair = [best_of_two(function, grad, args, kwargs, limit) for limit in (10**9, 0)]
            if bucket is None or None in pair:
                continue
            for slot, seconds in enumerate(pair):
                times[bucket][slot].append(seconds * 1e3)
        cells = []
        for bucket in BUCKETS:
            mpfr, fast = times[bucket]
            cells.append(f"{len(mpfr)}, {np.mean(mpfr):.2f}, {np.mean(fast):.2f}" if mpfr else "-")
        print(f"| {candidate} | {'grad.' if grad else ''}{function} | {dtype} | " + " | ".join(cells) + " |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
