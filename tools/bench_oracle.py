"""Speed of the oracle's two engines, as ratios measured in one run (one core, torch-free).

Usage::

    python tools/bench_oracle.py [--repeat 5] [--mpfr-elements 4000] [--quick]

For softmax, log_softmax, logsumexp, cross_entropy (``reduction="mean"``;
class-index targets, and also ``label_smoothing=0.1`` (``ls=0.1``) and
probability targets (``probs``: uniform draws normalized per row, in the
logits' dtype)) and its gradient, float64 and float32 targets, shapes
(100, 1000), (64, 1000) and (8, 32000), and logits N(0, 5), N(0, 10),
N(0, 50) and ``huge_gap`` (:mod:`softmax_oracle.regimes`), prints a Markdown
table of

* ``auto``: logits per second of ``engine="auto"`` (the median of
  ``--repeat`` runs; every function processes every logit, so logits/s is
  comparable across them; for softmax it is output elements/s);
* ``mpfr``: logits per second of ``engine="mpfr"``, measured once on the
  first rows of the array (at least ``--mpfr-elements`` logits, whole rows):
  the MPFR engine's cost is linear in the rows, and the full arrays would
  take minutes;
* ``auto / accurate``: the median over the rounds of the time ratio to
  ``softmax_oracle.numpy_impl.accurate`` on the same array (each round runs
  both, so the machine's load affects them alike);
* ``decided``: the fraction of output elements the fast phase decided
  (``softmax_oracle.oracle.decision_counts``).

A measurement, never a test: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import softmax_oracle as so
from softmax_oracle.numpy_impl import accurate
from softmax_oracle.regimes import NumpySource, logit_rows

SHAPES = ((100, 1000), (64, 1000), (8, 32000))
DTYPES = ("float64", "float32")
LOGITS = ("N(0, 5)", "N(0, 10)", "N(0, 50)", "huge_gap")
FUNCTIONS = ("softmax", "log_softmax", "logsumexp", "cross_entropy", "grad.cross_entropy",
             "cross_entropy(ls=0.1)", "grad.cross_entropy(ls=0.1)", "cross_entropy(probs)",
             "grad.cross_entropy(probs)")


def _logits(kind: str, shape: tuple[int, int], dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "huge_gap":
        return logit_rows(NumpySource(rng), dtype, "huge_gap", rows=shape[0], length=shape[1])
    sigma = float(kind[len("N(0, "):-1])
    return rng.normal(0.0, sigma, shape).astype(dtype)


def _targets(function: str, x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    if function.endswith("(probs)"):
        y = rng.random(x.shape)
        return (y / y.sum(axis=1, keepdims=True)).astype(x.dtype)
    return rng.integers(0, x.shape[1], x.shape[0])


def _call(function: str, impl, x: np.ndarray, t: np.ndarray, **kw):
    if function.endswith("(ls=0.1)"):
        kw["label_smoothing"] = 0.1
    function = function.split("(")[0]
    if function == "grad.cross_entropy":
        return impl.grad.cross_entropy(x, t, **kw)
    if function == "cross_entropy":
        return impl.cross_entropy(x, t, **kw)
    return getattr(impl, function)(x, **kw)


def _row(function: str, dtype: str, shape, kind: str, repeat: int, mpfr_elements: int, seed: int) -> str:
    x = _logits(kind, shape, dtype, seed)
    t = _targets(function, x, seed)
    auto_times, ratios = [], []
    with np.errstate(all="ignore"):  # the accurate tier's overflow on huge logits is not measured here
        for _ in range(repeat):
            t0 = time.perf_counter()
            _call(function, accurate, x, t)
            t1 = time.perf_counter()
            with so.oracle.decision_counts() as counts:
                _call(function, so.oracle, x, t)
            t2 = time.perf_counter()
            auto_times.append(t2 - t1)
            ratios.append((t2 - t1) / (t1 - t0))
    rows = max(1, min(shape[0], -(-mpfr_elements // shape[1])))
    t0 = time.perf_counter()
    _call(function, so.oracle, x[:rows], t[:rows], engine="mpfr")
    mpfr_rate = rows * shape[1] / (time.perf_counter() - t0)
    auto_rate = x.size / statistics.median(auto_times)
    return (f"| {dtype} | {shape[0]}x{shape[1]} | {kind} | {function} | {auto_rate:,.0f} | {mpfr_rate:,.0f} "
            f"({rows} row{'s' if rows > 1 else ''}) | {auto_rate / mpfr_rate:,.0f}x | "
            f"{statistics.median(ratios):.1f}x | {counts.rate:.5f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mpfr-elements", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="N(0, 10) only, 3 repeats")
    parser.add_argument("--functions", nargs="+", choices=FUNCTIONS, default=FUNCTIONS, metavar="F",
                        help=f"a subset of {', '.join(FUNCTIONS)}")
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=DTYPES)
    parser.add_argument("--shapes", nargs="+", default=None, metavar="MxN", help="e.g. 64x1000 (default: all)")
    opts = parser.parse_args(argv)
    kinds = ("N(0, 10)",) if opts.quick else LOGITS
    repeat = 3 if opts.quick else opts.repeat
    print(f"median of {repeat} rounds; mpfr on the first rows (>= {opts.mpfr_elements} logits)\n")
    print("| target | shape | logits | function | auto logits/s | mpfr logits/s | auto / mpfr | "
          "auto / accurate (time) | phase 1 decided |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    shapes = SHAPES if opts.shapes is None else tuple(tuple(int(v) for v in s.split("x")) for s in opts.shapes)
    for dtype in opts.dtypes:
        for shape in shapes:
            for kind in kinds:
                for function in opts.functions:
                    print(_row(function, dtype, shape, kind, repeat, opts.mpfr_elements, opts.seed))
                    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
