"""softmax-oracle report: the quick report's files and content, resuming, atomic writes, dask, check."""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from softmax_oracle.cli import main
from softmax_oracle.errors import InvalidInput
from softmax_oracle.report import (
    SCHEMA_VERSION,
    Journal,
    Record,
    Report,
    SweepConfig,
    condition_number,
    plan_units,
    render_csv,
    render_json,
    render_markdown,
    run_sweep,
    scale_points,
    worst_arguments,
    write_atomic,
)

REQUIRED = ("candidate", "function", "dtype", "regime", "max_ulp_error", "median_ulp_error", "p99_ulp_error",
            "mismatches", "worst_input", "n")


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("quick")
    result = CliRunner().invoke(main, ["report", "--quick", "--out", str(out), "--workers", "2", "--format", "json",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def quick_json(quick_dir: Path) -> dict:
    return json.loads((quick_dir / "report.json").read_text())


def test_quick_report_writes_every_file(quick_dir: Path) -> None:
    for name in ("report.md", "report.json", "report.csv", "plots/heatmap.png", "plots/heatmap-grad.png",
                 "plots/scale-softmax.png", "plots/scale-grad-softmax.png"):
        assert (quick_dir / name).stat().st_size > 0, name
    assert not list(quick_dir.rglob("*.tmp")), "temporary files left behind"


def test_pngs_are_valid_images_of_a_sane_size(quick_dir: Path) -> None:
    pngs = sorted((quick_dir / "plots").glob("*.png"))
    assert len(pngs) >= 4
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", png.name
        assert data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert 300 <= width <= 4000 and 200 <= height <= 4000, (png.name, width, height)


def test_json_records_carry_the_schema(quick_json: dict) -> None:
    assert quick_json["schema_version"] == SCHEMA_VERSION
    records = quick_json["records"]
    assert records
    for record in records:
        assert set(REQUIRED) <= set(record)
    report = Report.from_dict(quick_json)
    assert report.records[0] == Record.from_dict(records[0])


def test_default_report_includes_the_numpy_tiers_scipy_and_torch(quick_json: dict) -> None:
    candidates = {r["candidate"] for r in quick_json["records"]}
    assert {"numpy-naive", "numpy-stable", "numpy-accurate", "scipy"} <= candidates
    if _torch_available():
        assert "torch" in candidates
    assert "jax" in candidates or "jax" in quick_json["unavailable"]


def _select(data: dict, **criteria: object) -> list[dict]:
    return [r for r in data["records"] if all(r[k] == v for k, v in criteria.items())]


def test_naive_softmax_breaks_at_huge_logits(quick_json: dict) -> None:
    naive = _select(quick_json, candidate="numpy-naive", function="softmax", grad=False, regime="overflow_edge")
    assert sum(r["mismatches"] for r in naive) > 0
    stable = _select(quick_json, candidate="numpy-stable", function="softmax", grad=False, regime="overflow_edge")
    assert sum(r["mismatches"] for r in stable) == 0


def test_accurate_float32_softmax_is_within_half_an_ulp(quick_json: dict) -> None:
    records = _select(quick_json, candidate="numpy-accurate", function="softmax", grad=False, dtype="float32")
    measured = [float(r["max_ulp_error"]) for r in records if r["n"]]
    assert measured and max(measured) <= 0.51
    assert all(r["mismatches"] == 0 for r in records)


def test_exhaustive_records_cover_every_16_bit_input(quick_json: dict, quick_dir: Path) -> None:
    exhaustive = _select(quick_json, sampling="exhaustive")
    assert exhaustive
    assert {r["n"] for r in exhaustive} == {65536}
    assert {r["function"] for r in exhaustive} <= {"sigmoid", "log_sigmoid", "softplus"}
    assert "Exhaustive, not sampled" in (quick_dir / "report.md").read_text()
    assert list((quick_dir / "cache").glob("exhaustive-*.npz"))


def test_markdown_leaderboard_flags_mismatches(quick_dir: Path) -> None:
    text = (quick_dir / "report.md").read_text()
    naive_row = next(line for line in text.splitlines() if line.startswith("| `numpy-naive`"))
    assert "✗" in naive_row
    assert "## Leaderboard: values" in text and "## Leaderboard: gradients" in text


def test_worst_input_is_reproducible(quick_json: dict) -> None:
    from softmax_oracle.compare import compare

    record = next(Record.from_dict(r) for r in quick_json["records"]
                  if r["candidate"] == "numpy-stable" and r["function"] == "softmax" and r["regime"] == "moderate"
                  and not r["grad"] and r["dtype"] == "float32")
    args, kwargs = worst_arguments(record)
    again = compare("numpy-stable", "softmax", *args, **kwargs)
    assert again.worst_input == record.worst_input
    assert again.max_ulp_error == pytest.approx(record.max_ulp_error)


# --- resuming, atomic writes, executors ------------------------------------------------------------------

_SMALL = SweepConfig.quick(candidates=("numpy-naive", "numpy-stable"), functions=("softmax", "sigmoid"),
                           dtypes=("float32",), regimes=("moderate", "overflow_edge"), scale_points=2,
                           row_lengths=(4,), exhaustive_functions=())


def _stable_fields(report: Report) -> list[dict]:
    return [r.to_dict() for r in report.records]


def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    reference = run_sweep(_SMALL, out_dir=tmp_path / "whole")
    journal = tmp_path / "killed" / "journal.jsonl"
    run_sweep(_SMALL, out_dir=tmp_path / "killed")
    lines = journal.read_text().splitlines(keepends=True)
    kept = len(lines) // 2
    journal.write_text("".join(lines[:kept]) + lines[kept][:40])  # killed in the middle of a write
    starts: list[int] = []
    resumed = run_sweep(_SMALL, out_dir=tmp_path / "killed",
                        progress=lambda done, total, unit: starts.append(done) if unit is None else None)
    assert starts == [kept]
    assert _stable_fields(resumed) == _stable_fields(reference)
    assert len(Journal(journal).load()) == len(plan_units(replace(_SMALL, candidates=("numpy-naive", "numpy-stable"))))


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    target = write_atomic(tmp_path / "report.json", "old")

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_process_pool_gives_the_serial_records(tmp_path: Path) -> None:
    serial = run_sweep(_SMALL, out_dir=tmp_path / "serial")
    pooled = run_sweep(_SMALL, out_dir=tmp_path / "pooled", workers=2)
    assert _stable_fields(pooled) == _stable_fields(serial)


def test_dask_local_cluster_gives_the_serial_records(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    config = replace(_SMALL, functions=("sigmoid",))
    serial = run_sweep(config, out_dir=tmp_path / "serial")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_sweep(config, out_dir=tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert _stable_fields(remote) == _stable_fields(serial)


# --- pieces -----------------------------------------------------------------------------------------------

def test_scale_points_run_in_decades_to_the_format_max() -> None:
    points = scale_points("float16", limit=100)
    assert points[0] == 1e-3 and points[-1] == 65504.0
    assert points[1:-1] == tuple(10.0**e for e in range(-2, 5))
    thinned = scale_points("float64", limit=10)
    assert len(thinned) == 10 and thinned[0] == 1e-3 and all(math.isfinite(2 * p) for p in thinned)


@pytest.mark.parametrize("changes, field", [
    ({"functions": ("softmaxx",)}, "functions"),
    ({"dtypes": ("float8",)}, "dtypes"),
    ({"samples": 0}, "samples"),
    ({"exhaustive_dtypes": ("float32",)}, "exhaustive_dtypes"),
    ({"row_lengths": (0,)}, "row_lengths"),
], ids=lambda v: str(v))
def test_bad_config_names_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        SweepConfig.quick(**changes)


def test_condition_numbers_match_the_formulas() -> None:
    x = np.array([[1.0, 3.0]])
    s = np.exp(x[0]) / np.exp(x[0]).sum()
    assert condition_number("softmax", (x,), {}, (0, 0)) == pytest.approx(1.0 * (1 - s[0]) + 3.0 * s[1])
    lse = np.log(np.exp(x[0]).sum())
    assert condition_number("logsumexp", (x,), {}, (0,)) == pytest.approx((1 * s[0] + 3 * s[1]) / lse)
    assert condition_number("log_softmax", (x,), {}, (0, 1)) == pytest.approx(
        (1.0 * s[0] + 3.0 * (1 - s[1])) / abs(3.0 - lse))
    assert condition_number("sigmoid", (np.array([2.0]),), {}, (0,)) == pytest.approx(2 / (1 + np.exp(2.0)))
    assert condition_number("log_sigmoid", (np.array([800.0]),), {}, (0,)) == pytest.approx(800.0)
    assert condition_number("cross_entropy", (x, np.array([0])), {}, ()) is None


def test_renderers_work_on_plain_records() -> None:
    common = dict(grad=False, dtype="float32", parameter=None, sampling="sampled", seed=1, samples=1, batch=1,
                  row_length=None, n=8, status="ok", problem="", median_ulp_error=0.2, p99_ulp_error=0.4,
                  mean_ulp_error=0.2, max_ulp_distance=0)
    records = (
        Record(candidate="a", function="softmax", regime="moderate", max_ulp_error=0.5, mismatches=0, **common),
        Record(candidate="b", function="softmax", regime="moderate", max_ulp_error=float("nan"), mismatches=8,
               mismatch_kinds=(("nan_for_number", 8),), **common),
    )
    report = Report(records=records, config={"regimes": ["moderate"]})
    md = render_markdown(report, plots_dir=None)
    assert "| `a` | 0.50 |" in md and "| `b` | n/a **✗8** |" in md
    assert [r.to_dict() for r in Report.from_dict(json.loads(render_json(report))).records] == \
        [r.to_dict() for r in records]  # NaN != NaN: compare the JSON forms
    csv_lines = render_csv(report).splitlines()
    assert csv_lines[0].startswith("candidate,function,grad,dtype,regime") and "nan_for_number=8" in csv_lines[2]


# --- CLI --------------------------------------------------------------------------------------------------

def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args, "--samples", "2"])
    return result.exit_code, result.output


def test_check_passes_an_accurate_implementation() -> None:
    code, output = _check("softmax_oracle.numpy_impl.accurate:softmax", "--function", "softmax", "--format", "json")
    assert code == 0, output
    assert json.loads(output[:output.rindex("}") + 1])["records"]


def test_check_fails_the_naive_implementation_with_exit_1() -> None:
    code, output = _check("softmax_oracle.numpy_impl.naive:softmax", "--function", "softmax", "--max-ulp", "1")
    assert code == 1, output
    assert "FAIL" in output


@pytest.mark.parametrize("args", [
    ("no_such_module:softmax", "--function", "softmax"),
    ("softmax_oracle.numpy_impl.naive:softmax", "--function", "softmaxx"),
    ("not-a-spec", "--function", "softmax"),
], ids=["missing module", "unknown function", "no colon"])
def test_check_bad_input_exits_2(args: tuple[str, ...]) -> None:
    code, _ = _check(*args)
    assert code == 2


def test_report_unknown_candidate_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--quick", "--out", str(tmp_path), "--candidate", "nope",
                                       "--no-progress"])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_exhaustive_cache_encoding_rounds_exact_values_wider_than_it_keeps():
    import mpmath
    import numpy as np

    from softmax_oracle.report._reference import CACHED_EXACT_BITS, _decode, _encode

    with mpmath.workprec(300):
        wide = mpmath.mpf(1) / 3  # a 300-bit mantissa: more than two uint64 words
    exact = np.array([wide, mpmath.mpf(0), mpmath.mpf(-2) ** 70], dtype=object)
    back = _decode(_encode(exact), exact.shape)
    with mpmath.workprec(CACHED_EXACT_BITS):
        assert back[0] == +wide and back[0] != wide
    assert back[1] == 0 and back[2] == exact[2]
