"""Benchmark the NumPy tiers against scipy.special (and torch CPU when installed).

Usage: python tools/bench_numpy.py [--repeat N] > table.md

Medians of ``timeit`` repeats, one thread for torch.  The candidates are timed
interleaved (each round times each candidate once, in an order that rotates from
round to round), and the ratios to SciPy are medians of the per-round ratios, so a
noisy shared machine slows both sides of a ratio alike.  Prints one Markdown row per function x dtype x shape (progress on
stderr, the table on stdout), times in milliseconds.
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


def _batch_size(fn) -> int:
    fn()  # warm up
    n = 1
    while timeit.timeit(fn, number=n) < 0.01 and n < 10_000:
        n *= 2
    return n


def interleaved_medians(cands: dict, repeat: int) -> tuple[dict, dict]:
    """Median seconds per call of each candidate, and the median over rounds of each one's ratio to
    SciPy: every round times every candidate once, so a noisy neighbour hits them alike."""
    sizes = {k: _batch_size(f) for k, f in cands.items()}
    times: dict = {k: [] for k in cands}
    ratios: dict = {k: [] for k in cands}
    keys = list(cands)
    for r in range(repeat):
        # The order rotates every round: a candidate timed right after another one inherits its memory
        # state (the allocator's free lists, the caches): float64 softmax (1000, 1000) measured 1.1x after
        # one candidate and 1.5x after another in one run.  Rotating spreads that over every candidate.
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        this = {k: timeit.timeit(cands[k], number=sizes[k]) / sizes[k] for k in order}
        for k, v in this.items():
            times[k].append(v)
            ratios[k].append(v / this["scipy"])
    return ({k: statistics.median(v) for k, v in times.items()},
            {k: statistics.median(v) for k, v in ratios.items()})


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
                times, ratios = interleaved_medians(cands, repeat)
                rows.append({"function": name, "dtype": np.dtype(dt).name, "shape": shape, **times,
                             "ratios": ratios})
                print(_line(rows[-1], _columns(rows[-1])), file=sys.stderr, flush=True)
    return rows


def _columns(row: dict) -> list[str]:
    return [c for c in ("scipy", "torch", "naive", "stable", "accurate") if c in row]


def _line(r: dict, cols: list[str]) -> str:
    cells = " | ".join(f"{r[c] * 1e3:.3f}" for c in cols)
    return (f"| {r['function']} | {r['dtype']} | {r['shape']} | {cells} | "
            f"{r['ratios']['stable']:.2f} | {r['ratios']['accurate']:.2f} |")


def markdown(rows: list[dict]) -> str:
    cols = _columns(rows[0])
    head = "| function | dtype | shape | " + " | ".join(f"{c} ms" for c in cols) + " | stable/scipy | accurate/scipy |"
    lines = [head, "|" + "---|" * (len(cols) + 5)]
    lines.extend(_line(r, cols) for r in rows)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(markdown(run(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
