"""Benchmark the NumPy tiers against scipy.special (and torch CPU when installed).

Usage: python tools/bench_numpy.py [--repeat N] [--markdown]

Medians of ``timeit`` repeats, one thread for torch.  Prints one row per
function x dtype x shape, times in milliseconds, and each tier's ratio to SciPy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
import warnings

import numpy as np
import scipy.special

from softmax_oracle.numpy_impl import accurate, naive, stable

SHAPES = [(1, 1000), (1000, 1000), (100, 100000), (10000, 10)]
DTYPES = [np.float32, np.float64]
FUNCTIONS = ["softmax", "log_softmax", "logsumexp"]


def _torch_functions():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch, {
        "softmax": lambda t: torch.softmax(t, dim=-1),
        "log_softmax": lambda t: torch.log_softmax(t, dim=-1),
        "logsumexp": lambda t: torch.logsumexp(t, dim=-1),
    }


def median_seconds(fn, repeat: int) -> float:
    fn()  # warm up
    n = 1
    while timeit.timeit(fn, number=n) < 0.02 and n < 10_000:
        n *= 2
    return statistics.median(t / n for t in timeit.repeat(fn, number=n, repeat=repeat))


def run(repeat: int) -> list[dict]:
    rng = np.random.default_rng(0)
    torch_part = _torch_functions()
    rows = []
    for name in FUNCTIONS:
        for dt in DTYPES:
            for shape in SHAPES:
                x = (rng.standard_normal(shape) * 10).astype(dt)
                cands = {
                    "scipy": lambda x=x: getattr(scipy.special, name)(x, axis=-1),
                    "naive": lambda x=x: getattr(naive, name)(x),
                    "stable": lambda x=x: getattr(stable, name)(x),
                    "accurate": lambda x=x: getattr(accurate, name)(x),
                }
                if torch_part is not None:
                    torch, fns = torch_part
                    tx = torch.from_numpy(x)
                    cands["torch"] = lambda tx=tx: fns[name](tx)
                times = {k: median_seconds(f, repeat) for k, f in cands.items()}
                rows.append({"function": name, "dtype": np.dtype(dt).name, "shape": shape, **times})
    return rows


def markdown(rows: list[dict]) -> str:
    cols = [c for c in ("scipy", "torch", "naive", "stable", "accurate") if c in rows[0]]
    head = "| function | dtype | shape | " + " | ".join(f"{c} ms" for c in cols) + " | stable/scipy | accurate/scipy |"
    lines = [head, "|" + "---|" * (len(cols) + 5)]
    for r in rows:
        cells = " | ".join(f"{r[c] * 1e3:.3f}" for c in cols)
        lines.append(f"| {r['function']} | {r['dtype']} | {r['shape']} | {cells} | "
                     f"{r['stable'] / r['scipy']:.2f} | {r['accurate'] / r['scipy']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(markdown(run(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
