"""Time ``import softmax_oracle`` in fresh interpreters: medians, and ratios measured in one run.

    python tools/bench_import.py [--runs N] [SRC ...]

Each ``SRC`` is a ``src`` folder put first on ``PYTHONPATH`` (e.g. an exported
older commit: ``git archive REV src | tar -x -C /tmp/old``); without one, the
installed package is timed.  Runs alternate between the trees so that the
machine's load affects them alike; the first tree is the base of the ratios.
Wall time of ``python -c "import softmax_oracle"`` minus that of ``python -c
"pass"``, and the package's cumulative time from ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _run(src: str | None, code: str, *flags: str) -> tuple[float, str]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stderr


def _importtime_us(stderr: str) -> int:
    for line in stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "softmax_oracle":
            return int(parts[1])
    raise RuntimeError("softmax_oracle not in -X importtime output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="*", help="src folders to compare (default: the installed package)")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    trees = args.src or [None]
    wall: dict[str | None, list[float]] = {t: [] for t in trees}
    cumulative: dict[str | None, list[int]] = {t: [] for t in trees}
    empty: list[float] = []
    for _ in range(args.runs):
        empty.append(_run(None, "pass")[0])
        for tree in trees:
            wall[tree].append(_run(tree, "import softmax_oracle")[0])
            cumulative[tree].append(_importtime_us(_run(tree, "import softmax_oracle", "-X", "importtime")[1]))
    base = None
    print(f"{args.runs} runs each; python -c pass: {statistics.median(empty) * 1e3:.1f} ms (median)")
    print("| tree | wall ms (median, minus python -c pass) | -X importtime cumulative ms (median) | ratio to first |")
    print("|---|---|---|---|")
    for tree in trees:
        w = (statistics.median(wall[tree]) - statistics.median(empty)) * 1e3
        c = statistics.median(cumulative[tree]) / 1e3
        base = base or (w, c)
        print(f"| {tree or 'installed'} | {w:.1f} | {c:.1f} | {w / base[0]:.3f} / {c / base[1]:.3f} |")


if __name__ == "__main__":
    main()
