"""Throughput of ``softmax_oracle.fuzz.search``: examples per second with the oracle in the loop.

Each example draws an argument set (rows of at most ``--max-row-length``
entries, at most ``--max-batch`` rows), runs the candidate, the correctly
rounded oracle and the 200-bit exact reference (``compare``), and reports the
ULP error to ``hypothesis.target``.  Also reports after how many examples the
planted 4-ULP defect of the test suite is first seen.

Usage::

    python tools/bench_fuzz.py [--examples 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from softmax_oracle.fuzz import FuzzProgress, search
from softmax_oracle.numpy_impl import accurate

CASES = [
    ("numpy-accurate", "softmax", "float32"),
    ("numpy-accurate", "softmax", "float64"),
    ("numpy-naive", "softmax", "float32"),
    ("scipy", "log_softmax", "float32"),
    ("numpy-stable", "cross_entropy", "float32"),
    ("numpy-stable", "sigmoid", "float16"),
    ("numpy-accurate", "softmax", "bfloat16"),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-row-length", type=int, default=8)
    parser.add_argument("--max-batch", type=int, default=2)
    opts = parser.parse_args(argv)
    print("| candidate | function | dtype | examples | seconds | examples/s | worst ULP | mismatching |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for candidate, function, dtype in CASES:
        r = search(candidate, function, dtype=dtype, max_examples=opts.examples, seed=opts.seed, database=None,
                   max_row_length=opts.max_row_length, max_batch=opts.max_batch)
        print(f"| {candidate} | {function} | {dtype} | {r.examples_run} | {r.seconds:.2f} | "
              f"{r.examples_run / r.seconds:.0f} | {r.max_ulp_error:.4g} | {r.mismatch_count} |")
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
