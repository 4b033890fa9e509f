"""Throughput of the exhaustive float32 check, and its extrapolation to all 2**32 inputs.

Usage: python tools/bench_exhaustive32.py FUNCTION CHUNK_BITS CHUNKS [CANDIDATE ...]

Runs CHUNKS chunks of 2**CHUNK_BITS float32 bit patterns, spread evenly over
the whole range (positive, negative, NaN and subnormal patterns alike), for
the candidates (default: numpy-accurate), in one process, into a temporary
directory.  Prints the wall time, the inputs per second (all candidates of a
chunk share one oracle call), and the time all 2**32 inputs would take at that
rate on 1 and 2 worker processes.  Chunks take different times (NaN inputs
are cheap, inputs where exp underflows cost more): spreading them over the
range is what makes the extrapolation honest; the spread of per-chunk rates
is printed too.
"""

import statistics
import sys
import tempfile
import time

from softmax_oracle.report import run_exhaustive32

function, bits, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
candidates = tuple(sys.argv[4:]) or ("numpy-accurate",)
total_chunks = 1 << (32 - bits)
step = total_chunks // count
rates = []
with tempfile.TemporaryDirectory() as out:
    began, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        chunk = i * step + step // 2
        t = time.perf_counter()
        run_exhaustive32(function, False, candidates, out_dir=out, chunk_bits=bits, chunks=range(chunk, chunk + 1))
        rates.append((1 << bits) / (time.perf_counter() - t))
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
n = count << bits
rate = n / wall
print(f"{function} x {len(candidates)} candidate(s) {', '.join(candidates)}: {n:,} inputs in {wall:.1f} s "
      f"= {rate:,.0f} inputs/s (per-chunk rates: median {statistics.median(rates):,.0f}, "
      f"min {min(rates):,.0f}, max {max(rates):,.0f})")
print(f"CPU time {cpu:.1f} s = {n / cpu:,.0f} inputs per CPU-second (what an unloaded core would do); "
      f"one chunk of 2**24 inputs: {2**24 / (n / cpu) / 60:,.1f} CPU-minutes")
for workers in (1, 2):
    print(f"all 2**32 inputs on {workers} worker(s): {2**32 / (rate * workers) / 60:,.1f} min at the measured "
          f"wall rate, {2**32 / (n / cpu * workers) / 60:,.1f} min on unloaded cores")
