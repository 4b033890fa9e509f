"""Exhaustive float32 checks: chunk statistics against a direct comparison, exact merging, resuming, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import softmax_oracle.oracle as oracle
from softmax_oracle.cli import main
from softmax_oracle.compare import compare
from softmax_oracle.errors import InvalidInput
from softmax_oracle.report import ChunkTask, merge_chunks, plan_chunks, run_chunk, run_exhaustive32
from softmax_oracle.report._exhaustive import (HISTOGRAM_EDGES, ChunkStats, _block_errors, _block_reference,
                                                _block_stats, chunk_path, parse_chunk_range)

BITS = 8  # 256 inputs per chunk: small enough for the MPFR oracle in a test
ONE = 0x3F800000 >> BITS  # the chunk starting at 1.0f: sigmoid values near 0.73, a few ULP off for some


def _measured(result) -> dict:
    """A result's fields except its compute time."""
    return {k: v for k, v in result.to_dict().items() if k != "seconds"}


def _inputs(chunks: range) -> np.ndarray:
    start, stop = chunks.start << BITS, chunks.stop << BITS
    return np.arange(start, stop, dtype=np.uint64).astype(np.uint32).view(np.float32)


def _nan_below_minus_100(x):
    """sigmoid, but NaN for one x < -100 in 16 (a wrong class) and -0.0 where it rounds to 0 (a wrong zero sign)."""
    r = oracle.sigmoid(x)
    with np.errstate(invalid="ignore"):
        r = np.where(r == 0, -0.0, r).astype(np.float32)
        return np.where((x < -100) & (x.view(np.uint32) % 16 == 0), np.float32(np.nan), r).astype(np.float32)


@pytest.mark.parametrize("candidate, chunks", [
    ("numpy-naive", range(ONE, ONE + 2)),
    ("scipy", range(ONE, ONE + 1)),
    ("tests.test_report_exhaustive32:_nan_below_minus_100", range(0xC2D20000 >> BITS, (0xC2D20000 >> BITS) + 2)),
], ids=["naive near 1", "scipy near 1", "NaN and -0 near -105"])
def test_chunk_statistics_match_a_direct_comparison(tmp_path: Path, candidate: str, chunks: range) -> None:
    (result,) = run_exhaustive32("sigmoid", False, (candidate,), out_dir=tmp_path, chunk_bits=BITS, chunks=chunks)
    x = _inputs(chunks)
    with np.errstate(all="ignore"):
        c = compare(candidate, "sigmoid", x)
    errors = c.ulp_errors[~np.isnan(c.ulp_errors)]
    assert result.n == x.size == (len(chunks) << BITS) and result.chunks_done == len(chunks)
    # the float64 reference is within 2**-30 ULP of the exact value (plus one rounding of the difference)
    assert abs(result.max_ulp_error - float(errors.max())) <= 2**-30 + 2**-52 * float(errors.max())
    assert result.wrong_class == len(c.wrong_class) and result.zero_signs == len(c.zero_signs)
    differs = (c.got.view(np.uint32) != c.rounded.view(np.uint32)) & ~(np.isnan(c.got) & np.isnan(c.rounded))
    assert result.not_correctly_rounded == int(differs.sum()) - len(c.zero_signs)
    # quantiles: the upper edge of the bin holding the exact quantile
    for q, shown in ((0.5, result.median_ulp_error), (0.99, result.p99_ulp_error)):
        exact = float(np.sort(errors)[max(1, math.ceil(q * errors.size)) - 1])
        width = 2**-12 if exact < 1 else exact * (2 ** (1 / 64) - 1)  # bins: 2**-12 ULP, then 1/64 octave
        assert exact - 2**-29 <= shown <= exact + width + 2**-29 or shown == result.max_ulp_error
    top = result.worst[0]
    assert top.ulp_error == (math.inf if c.wrong_class else result.max_ulp_error)
    assert len(result.worst) == 20 and all(a.ulp_error >= b.ulp_error for a, b in zip(result.worst, result.worst[1:]))
    assert eval(top.input, {"np": np}).view(np.uint32) == top.bits  # the input reproduces its bit pattern


def test_nan_and_zero_sign_candidate_is_counted_by_kind(tmp_path: Path) -> None:
    chunks = range(0xC2D20000 >> BITS, (0xC2D20000 >> BITS) + 2)  # x from -105 down: sigmoid rounds to +0
    (result,) = run_exhaustive32("sigmoid", False, ("tests.test_report_exhaustive32:_nan_below_minus_100",),
                                 out_dir=tmp_path, chunk_bits=BITS, chunks=chunks)
    assert result.wrong_class > 0 and result.zero_signs > 0
    assert result.worst[0].kind == "nan_for_number" and result.worst[0].ulp_error == math.inf


def test_chunks_merge_exactly(tmp_path: Path) -> None:
    small = run_exhaustive32("sigmoid", False, ("numpy-naive",), out_dir=tmp_path / "small", chunk_bits=BITS,
                             chunks=range(2 * (ONE // 2), 2 * (ONE // 2) + 2))[0]
    big = run_exhaustive32("sigmoid", False, ("numpy-naive",), out_dir=tmp_path / "big", chunk_bits=BITS + 1,
                           chunks=range(ONE // 2, ONE // 2 + 1))[0]
    folder = tmp_path / "small" / "exhaustive-float32" / "sigmoid" / "numpy-naive"
    merged = ChunkStats()
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as data:
            merged.merge(ChunkStats.from_npz(data))
    with np.load(next((tmp_path / "big").rglob("*.npz"))) as data:
        whole = ChunkStats.from_npz(data)
    assert np.array_equal(merged.histogram, whole.histogram) and merged.histogram.sum() == 2 << BITS
    assert (small.n, small.max_ulp_error, small.median_ulp_error, small.p99_ulp_error,
            small.not_correctly_rounded) == (big.n, big.max_ulp_error, big.median_ulp_error, big.p99_ulp_error,
                                             big.not_correctly_rounded)
    assert [w.bits for w in small.worst] == [w.bits for w in big.worst]


def test_a_killed_run_resumes_and_skips_finished_chunks(tmp_path: Path) -> None:
    chunks = range(ONE, ONE + 3)
    whole = run_exhaustive32("sigmoid", False, ("numpy-naive", "numpy-accurate"), out_dir=tmp_path,
                             chunk_bits=BITS, chunks=chunks)
    # simulate a kill during chunk ONE + 1: its files are missing, a temporary file of the atomic write is left
    for candidate in ("numpy-naive", "numpy-accurate"):
        path = chunk_path(tmp_path, "sigmoid", candidate, ONE + 1, BITS)
        path.unlink()
        (path.parent / f".{path.name}.x1y2.tmp").write_bytes(b"torn")
    chunk_path(tmp_path, "sigmoid", "numpy-accurate", ONE + 2, BITS).unlink()  # killed between two candidates
    todo = plan_chunks("sigmoid", False, ("numpy-naive", "numpy-accurate"), out_dir=tmp_path, chunk_bits=BITS,
                       chunks=chunks)
    assert [(t.chunk, t.candidates) for t in todo] == [(ONE + 1, ("numpy-naive", "numpy-accurate")),
                                                      (ONE + 2, ("numpy-accurate",))]
    seen: list[tuple[int, int, object]] = []
    again = run_exhaustive32("sigmoid", False, ("numpy-naive", "numpy-accurate"), out_dir=tmp_path,
                             chunk_bits=BITS, chunks=chunks, progress=lambda d, t, task: seen.append((d, t, task)))
    assert seen[0] == (1, 3, None) and [d for d, _, _ in seen[1:]] == [2, 3]
    assert [_measured(r) for r in again] == [_measured(r) for r in whole]


def test_worker_processes_give_the_serial_result(tmp_path: Path) -> None:
    chunks = range(ONE, ONE + 2)
    serial = run_exhaustive32("softplus", True, ("numpy-stable",), out_dir=tmp_path / "a", chunk_bits=BITS,
                              chunks=chunks)
    pooled = run_exhaustive32("softplus", True, ("numpy-stable",), out_dir=tmp_path / "b", chunk_bits=BITS,
                              chunks=chunks, workers=2)
    assert [_measured(r) for r in serial] == [_measured(r) for r in pooled]
    assert serial[0].label == "grad.softplus"


def test_run_chunk_writes_one_file_per_candidate(tmp_path: Path) -> None:
    task = ChunkTask("log_sigmoid", False, ("numpy-stable", "numpy-accurate"), ONE, BITS, str(tmp_path))
    _, stats = run_chunk(task)
    assert set(stats) == {"numpy-stable", "numpy-accurate"}
    assert all(chunk_path(tmp_path, "log_sigmoid", c, ONE, BITS).exists() for c in stats)
    assert merge_chunks(tmp_path, "log_sigmoid", False, "numpy-accurate", chunk_bits=BITS).n == 1 << BITS


def test_histogram_edges_cover_every_float32_ulp_error() -> None:
    assert HISTOGRAM_EDGES[0] == 0 and HISTOGRAM_EDGES[4096] == 1.0 and np.all(np.diff(HISTOGRAM_EDGES) > 0)
    assert HISTOGRAM_EDGES[-1] >= 2.0**277  # |max float32| / smallest subnormal


@pytest.mark.parametrize("text, message", [
    ("5", "START:STOP"), ("3:2", "0 <= START < STOP <= 256"), ("0:300", "STOP <= 256")])
def test_bad_chunk_ranges_name_the_argument(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_chunk_range(text, 256)
    assert parse_chunk_range(":2", 256) == range(0, 2) and parse_chunk_range("250:", 256) == range(250, 256)


def test_only_univariate_functions_are_exhaustive(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="function must be one of sigmoid, log_sigmoid, softplus"):
        plan_chunks("softmax", False, ("numpy-naive",), out_dir=tmp_path)


def test_cli_exhaustive_writes_tables_and_updates_report_md(tmp_path: Path) -> None:
    from softmax_oracle.report import Report, render_json, write_atomic

    write_atomic(tmp_path / "report.json", render_json(Report(records=())))
    args = ["report", "--exhaustive", "float32", "--function", "sigmoid", "--candidate", "numpy-naive",
            "--chunk-bits", str(BITS), "--chunks", f"{ONE}:{ONE + 1}", "--out", str(tmp_path), "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "| `numpy-naive` | sigmoid | 256 (5.96e-06 %, 1/16777216 chunks) |" in result.output
    data = json.loads((tmp_path / "exhaustive-float32.json").read_text())
    assert data["results"][0]["n"] == 256 and len(data["results"][0]["worst"]) == 20
    assert "## Exhaustive float32 checks" in (tmp_path / "report.md").read_text()
    bad = CliRunner().invoke(main, [a if a != f"{ONE}:{ONE + 1}" else "9:3" for a in args])
    assert bad.exit_code == 2 and "chunks must satisfy" in bad.output
    bad = CliRunner().invoke(main, ["report", "--exhaustive", "float32", "--function", "softmax", "--out",
                                    str(tmp_path), "--no-progress", "--chunks", "0:1"])
    assert bad.exit_code == 2 and "function must be one of" in bad.output


def test_far_inputs_have_exact_values_and_a_fallback_is_counted(tmp_path: Path) -> None:
    import mpmath

    from softmax_oracle.candidates import resolve
    from softmax_oracle.report import render_exhaustive32_markdown

    far = 0xCE6E6B28 >> BITS  # x near -1e9: sigmoid(x) = e**x, below MPFR's range, exact from its logarithm
    (result,) = run_exhaustive32("sigmoid", False, ("numpy-stable",), out_dir=tmp_path, chunk_bits=BITS,
                                 chunks=range(far, far + 1))
    assert result.fallback_inputs == 0 and result.not_correctly_rounded == 0 and result.zero_signs == 0
    assert "e-4342" in result.worst[0].exact  # e**-1e9 = 10**-434294481.9: exact, not a fallback
    # where compare.reference had to fall back to the rounded values (its note), the block is counted
    x = np.array([1.0, 2.0], dtype=np.float32)
    ref = _block_reference("sigmoid", False, x)
    ref = dataclasses.replace(ref, exact_at=np.arange(2), exact=np.array([mpmath.mpf(float(v)) for v in ref.rounded],
                                                                         dtype=object), fallback=2)
    stats = _block_stats(resolve("numpy-stable", "sigmoid"), x, ref)
    assert stats.fallback_inputs == 2
    merged = result.__class__(**{**result.__dict__, "fallback_inputs": 2})
    assert "`numpy-stable` sigmoid: 2 inputs" in render_exhaustive32_markdown([merged])


def _around(start: int, n: int = 1 << 11) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.uint64).astype(np.uint32).view(np.float32)


@pytest.mark.parametrize("function, grad, x", [
    ("sigmoid", False, _around(0x3F800000)),  # near 1: normal results
    ("sigmoid", False, _around(0xC2BE0000)),  # x near -95: float32 subnormal results
    ("sigmoid", False, _around(0xC4400000)),  # x near -768: the exact value is below float64's range
    ("sigmoid", False, _around(0x42200000)),  # x near 40: float64 rounds to 1.0, the exact value is below 1
    ("sigmoid", True, _around(0x32000000)),  # |x| near 7e-9: float64 rounds to 1/4, the exact value is below
    ("log_sigmoid", False, np.array([-64.0, -2.0**20, -1.0, -0.5, 2.0**-30], dtype=np.float32)),  # float64 = x
    ("softplus", False, np.array([64.0, 2.0**100, 1.0, -np.inf, np.inf, np.nan, 0.0], dtype=np.float32)),
    ("log_sigmoid", True, _around(0xC2200000)),  # 1 - sigmoid(x) near x = -40: float64 rounds to 1.0
    ("sigmoid", False, _around(0xB2000000)),  # x near -7e-9: float64 rounds to 1/2, the exact value is below
    ("log_sigmoid", True, _around(0x32000000)),  # 1 - sigmoid(x) near x = 7e-9: below 1/2 as well
], ids=["near 1", "subnormal", "below float64", "sup 1", "grad sup 1/4", "powers of two", "softplus specials",
        "grad.log_sigmoid sup 1", "1/2 from below", "grad 1/2 from below"])
@pytest.mark.parametrize("candidate", ["numpy-naive", "numpy-stable"])
def test_float64_reference_gives_the_exact_ulp_errors_within_the_bound(function: str, grad: bool, x: np.ndarray,
                                                                      candidate: str) -> None:
    from softmax_oracle.candidates import resolve

    impl = resolve(candidate, function, grad=grad)
    with np.errstate(all="ignore"):
        exact = compare(impl, function, x, grad=grad)  # MPFR at 64 bits
        codes, errors = _block_errors(impl(x), _block_reference(function, grad, x))
    assert np.array_equal(np.isnan(errors), np.isnan(exact.ulp_errors))
    known = ~np.isnan(errors)
    assert np.all(np.abs(errors[known] - exact.ulp_errors[known]) <= 2**-30 + 2**-52 * exact.ulp_errors[known])
    assert np.count_nonzero(codes) == len(exact.mismatches)


def test_the_binade_below_the_float64_reference_is_used() -> None:
    x = np.array([40.0, np.inf], dtype=np.float32)  # sigmoid(40) = 1 - 4.2e-18: float64 gives 1.0
    ref = _block_reference("sigmoid", False, x)
    assert list(ref.float64) == [1.0, 1.0] and list(ref.below) == [True, False] and ref.exact_at.size == 0
    _, errors = _block_errors(np.array([1 - 2**-24, 1 - 2**-24], dtype=np.float32), ref)
    assert list(errors) == [1.0, 0.5]  # 1 ULP below 1 (minus 7e-11, lost in float64), half an ULP of [1, 2) at inf
    # a power of two that no supremum explains goes to the exact values
    ref = _block_reference("log_sigmoid", False, np.array([-64.0, -3.0], dtype=np.float32))
    assert list(ref.exact_at) == [0] and not ref.below.any()


def test_float32_midpoints_of_the_float64_reference_are_found() -> None:
    from softmax_oracle.report._exhaustive import _float32_midpoint, _float32_rounding

    r = np.array([1 + 2**-24, -(1 + 2**-24), 3 * 2**-150, (2 - 2**-24) * 2**127, 1 + 2**-25, 1 + 2**-24 + 2**-52,
                  0.5, 2**-149, 0.0, np.inf, np.nan, 3e38])
    assert list(_float32_midpoint(r, _float32_rounding(r))) == [True] * 4 + [False] * 8
    # away from the midpoints, the one IEEE conversion is the oracle's float32 answer
    x = _around(0x3F800000, 1 << 12)
    assert np.array_equal(_float32_rounding(oracle.sigmoid(x, dtype=np.float64)), oracle.sigmoid(x))
