"""Throughput of the certified numerics kernels and phase-1 pointwise/binary functions (elements/s).

Usage: python tools/bench_numerics.py [REPEATS]

One process, one core; each figure is the median of REPEATS runs (default 7)
on the same input: N(0, 10) logits of shape (100, 1000) and (8, 32000), the
exp of ``x - max`` (exact differences), the row sum, the quotient, the rounding
test, log1p, and a whole certified softmax built from them (exp, row sum,
quotient, rounding), next to ``numpy_impl.accurate.softmax`` on the same array
in the target format.  Then sigmoid/softplus and BCE-with-logits (phase 1) on
10^5 elements.  Prints a Markdown table.
"""
import sys
import time

import numpy as np

from softmax_oracle.formats import FLOAT32, FLOAT64
from softmax_oracle.numerics.arith import arith_for
from softmax_oracle.numerics.enclosure import round_enclosure
from softmax_oracle.numpy_impl import accurate
from softmax_oracle.oracle import _fast_binary, _fast_pointwise

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
KEYS = ("x - max", "exp", "row sum", "divide", "round", "log1p", "softmax (all)")


def median_seconds(f) -> float:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def _softmax(A, x, fmt):
    e = A.exp(A.exact_difference(x, x.max(axis=1, keepdims=True)))
    return round_enclosure(A.div(e, A.sum(e, axis=-1, keepdims=True)), fmt, sign=1)


def softmax_row_kernels(x, fmt):
    A = arith_for(fmt)
    m = x.max(axis=1, keepdims=True)
    d = A.exact_difference(x, m)
    e = A.exp(d)
    s = A.sum(e, axis=-1, keepdims=True)
    y = A.div(e, s)
    xa = x.astype(fmt.dtype)
    parts = {
        "exp": lambda: A.exp(d),
        "row sum": lambda: A.sum(e, axis=-1, keepdims=True),
        "divide": lambda: A.div(e, s),
        "round": lambda: round_enclosure(y, fmt, sign=1),
        "log1p": lambda: A.log1p(A.from_float(x / 100)),
        "x - max": lambda: A.exact_difference(x, m),
        "softmax (all)": lambda: _softmax(A, x, fmt),
    }
    out = {k: x.size / median_seconds(f) for k, f in parts.items()}
    out["ratio to accurate"] = (x.size / out["softmax (all)"]) / median_seconds(lambda: accurate.softmax(xa))
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    print("| shape | target | tier | " + " | ".join(KEYS)
          + " | softmax time / accurate |")
    print("|---" * (len(KEYS) + 4) + "|")
    for shape in ((100, 1000), (8, 32000)):
        x = rng.normal(0, 10, shape)
        for fmt in (FLOAT64, FLOAT32):
            r = softmax_row_kernels(x, fmt)
            cells = " | ".join(f"{r[k]:.3g}" for k in KEYS)
            print(f"| {shape} | {fmt.name} | {arith_for(fmt).name} | {cells} | {r['ratio to accurate']:.0f}x |")
    x = rng.normal(0, 10, 100_000)
    y, w, pw = rng.uniform(0, 1, x.size), np.ones(x.size), np.ones(x.size)
    print()
    print("| phase 1 (10^5 elements) | float64 | float32 |")
    print("|---|---|---|")
    for label, f in (
        ("sigmoid", lambda fmt: _fast_pointwise.pointwise("sigmoid", x, None, fmt)),
        ("softplus", lambda fmt: _fast_pointwise.pointwise("softplus", x, None, fmt)),
        ("grad sigmoid", lambda fmt: _fast_pointwise.pointwise("sigmoid", x, x, fmt)),
        ("bce_with_logits none", lambda fmt: _fast_binary.bce_with_logits(x, y, w, pw, "none", fmt)),
        ("bce_with_logits mean", lambda fmt: _fast_binary.bce_with_logits(x, y, w, pw, "mean", fmt)),
    ):
        rates = [x.size / median_seconds(lambda: f(fmt)) for fmt in (FLOAT64, FLOAT32)]
        print(f"| {label} | {rates[0]:.3g}/s | {rates[1]:.3g}/s |")


if __name__ == "__main__":
    main()
