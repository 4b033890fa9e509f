"""Speed of the oracle: correctly rounded elements per second on one core.

Usage::

    python tools/bench_oracle.py [--rows 100] [--cols 1000] [--repeat 3] [--dtype float64]

Default: softmax of a (100, 1000) array of N(0, 10) logits, float64, the
median of ``--repeat`` runs.  Also times log_softmax, logsumexp and the
cross-entropy gradient on the same array.  This is a measurement, never a
test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import softmax_oracle as so


def measure(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dtype", default="float64")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 10.0, (args.rows, args.cols)).astype(args.dtype)
    t = rng.integers(0, args.cols, args.rows)
    n = x.size
    cases = {
        "softmax": lambda: so.oracle.softmax(x),
        "log_softmax": lambda: so.oracle.log_softmax(x),
        "logsumexp (per row)": lambda: so.oracle.logsumexp(x),
        "grad.cross_entropy": lambda: so.oracle.grad.cross_entropy(x, t, reduction="sum"),
    }
    print(f"oracle, {args.rows}x{args.cols} N(0, 10) logits, {args.dtype}, median of {args.repeat}")
    for name, fn in cases.items():
        dt = measure(fn, args.repeat)
        count = args.rows if name.startswith("logsumexp") else n
        print(f"  {name:22s} {dt:8.3f} s  {count / dt:12,.0f} correctly rounded elements/s")


if __name__ == "__main__":
    main()
