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
    """report.json with its columnar records turned into mappings."""
    from softmax_oracle.report import record_dicts

    data = json.loads((quick_dir / "report.json").read_text())
    assert data["record_fields"][:3] == ["candidate", "function", "grad"] and isinstance(data["records"][0], list)
    return {**{k: v for k, v in data.items() if k != "record_fields"}, "records": record_dicts(data)}


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
    assert report.records[0].to_dict() == Record.from_dict(records[0]).to_dict()  # NaN != NaN: JSON forms


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
    import gzip

    journal = tmp_path / "killed" / "journal.jsonl"
    run_sweep(_SMALL, out_dir=tmp_path / "killed")
    assert not journal.exists()  # a finished run's journal is compacted into journal.jsonl.gz
    archive = journal.with_name("journal.jsonl.gz")
    lines = gzip.decompress(archive.read_bytes()).decode().splitlines(keepends=True)
    archive.unlink()
    kept = len(lines) // 2
    journal.write_text("".join(lines[:kept]) + lines[kept][:40])  # killed in the middle of a write
    starts: list[int] = []
    resumed = run_sweep(_SMALL, out_dir=tmp_path / "killed",
                        progress=lambda done, total, unit: starts.append(done) if unit is None else None)
    assert starts == [kept]
    assert _stable_fields(resumed) == _stable_fields(reference)
    assert len(Journal(journal).load()) == len(plan_units(replace(_SMALL, candidates=("numpy-naive", "numpy-stable"))))
    assert archive.exists() and not journal.exists()


def test_a_killed_run_after_a_compacted_one_reads_both_journal_files(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    first = (_rec("a", "softmax", 0.5),)
    second = (_rec("b", "softmax", 0.7),)
    journal.append("unit-1", first)
    journal.compact()
    journal.append("unit-2", second)  # a later run adds to the plain file, then is killed
    loaded = journal.load()
    assert [r.to_dict() for r in loaded["unit-1"]] == [r.to_dict() for r in first]
    assert [r.to_dict() for r in loaded["unit-2"]] == [r.to_dict() for r in second]
    journal.clear()
    assert journal.load() == {}


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

@pytest.mark.parametrize("dtype, edge", [("float64", 709.78), ("float32", 88.72), ("float16", 11.09),
                                         ("bfloat16", 88.72)])
def test_scale_points_are_dense_up_to_ten_times_the_overflow_point(dtype: str, edge: float) -> None:
    from softmax_oracle.formats import format_of

    points = scale_points(dtype)
    assert list(points) == sorted(points) and len(set(points)) == len(points)
    assert points[0] == pytest.approx(1e-3)
    assert any(abs(p - edge) < 0.01 for p in points)  # the overflow point itself is measured
    for decade in range(-3, math.floor(math.log10(10 * edge))):  # every full decade up to 10x the edge
        inside = [p for p in points if 10.0**decade <= p * (1 + 1e-12) and p < 10.0 ** (decade + 1) * (1 - 1e-12)]
        assert len(inside) >= 3, (decade, inside)
    top = format_of(dtype).max_value
    assert points[-1] == (top / 2 if dtype == "float64" else top)
    from softmax_oracle.report import overflow_point

    tail = [p for p in points if p > 10 * overflow_point(dtype)]
    assert 1 <= len(tail) <= 12
    assert all(math.isfinite(2 * p) for p in points)


def test_float64_scale_sweep_has_three_points_per_decade_between_1_and_1000() -> None:
    points = scale_points("float64")
    for decade in range(3):
        assert sum(10.0**decade <= p < 10.0 ** (decade + 1) for p in points) >= 3
    assert scale_points("float64", per_decade=0) == ()


@pytest.mark.parametrize("changes, field", [
    ({"functions": ("softmaxx",)}, "functions"),
    ({"dtypes": ("float8",)}, "dtypes"),
    ({"samples": 0}, "samples"),
    ({"exhaustive_dtypes": ("float32",)}, "exhaustive_dtypes"),
    ({"row_lengths": (0,)}, "row_lengths"),
    ({"scale_sparse": -1}, "scale_sparse"),
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


def test_condition_of_a_dominant_logit_keeps_its_tiny_terms() -> None:
    # log_softmax_0 of [600, -200]: sum_j |x_j||delta_0j - s_j| = 600 (1 - s_0) + 200 s_1 = 800 e**-800 and
    # |x_0 - lse| = log1p(e**-800): cond = 800; 1 - s_0 formed as 1 - (1 - e**-800) would give 0
    x = np.array([600.0, -200.0])
    assert condition_number("log_softmax", (x,), {}, (0,)) == pytest.approx(800.0, rel=1e-12)
    assert condition_number("log_softmax", (x,), {}, (1,)) == pytest.approx(1.0, rel=1e-12)
    assert condition_number("logsumexp", (np.array([[0.0, -800.0]]),), {}, (0,)) == pytest.approx(800.0, rel=1e-12)


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


_COMMON = dict(grad=False, dtype="float32", parameter=None, sampling="sampled", seed=1, samples=1, batch=1,
               row_length=None, n=8, status="ok", problem="", median_ulp_error=0.2, p99_ulp_error=0.4,
               mean_ulp_error=0.2, max_ulp_distance=0)


def _rec(candidate: str, function: str, error: float, **fields: object) -> Record:
    values = {**_COMMON, "regime": "moderate", "mismatches": 0, "max_ulp_error_normal": error, **fields}
    return Record(candidate=candidate, function=function, max_ulp_error=error, **values)


def _break_report(**config: object) -> Report:
    return Report(records=(
        # the example: 0.53 ULP and 9 zero signs must not open the table
        _rec("torch", "log_sigmoid", 0.53, zero_signs=9, mismatch_kinds=(("zero_sign", 9),),
             zero_sign_input="np.float32(float.fromhex('0x1p+7'))"),
        _rec("scipy", "log_softmax", 1.2e7, worst_range="normal", worst_got=-1.0, worst_rounded=-1.5,
             condition=2.0, worst_input="np.array([1.0])"),
        _rec("numpy-naive", "softmax", 3.0, mismatches=4, mismatch_kinds=(("nan_for_number", 4),),
             mismatch_input="np.array([1000.0])"),
        _rec("torch", "sigmoid", 2.0e6, max_ulp_error_normal=0.5, max_ulp_error_subnormal=2.0e6,
             worst_range="subnormal", worst_got=0.0, worst_rounded=1e-40),
        _rec("jax", "softplus", 40.0, worst_range="normal", worst_got=1.0, worst_rounded=1.0, condition=30.0),
    ), config=dict(config))


def test_where_they_break_is_ordered_by_severity_not_by_count() -> None:
    from softmax_oracle.report import break_rows

    rows = break_rows(_break_report())
    assert [(b.tier, b.record.candidate, b.record.function) for b in rows] == [
        (0, "numpy-naive", "softmax"), (1, "scipy", "log_softmax"), (1, "jax", "softplus"), (2, "torch", "sigmoid")]
    strict = break_rows(_break_report(), signed_zeros=True)
    assert [(b.tier, b.record.function) for b in strict[:2]] == [(0, "log_sigmoid"), (0, "softmax")]  # 9 > 4


def test_where_they_break_rows_carry_a_diagnosis() -> None:
    md = render_markdown(_break_report(), plots_dir=None)
    table = md[md.index("## Where they break"):]
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert lines[0].startswith("| wrong class | `numpy-naive` | softmax |") and "NaN where a number is due" in lines[0]
    assert "cancellation: 1.2e+07 ULP lost where the problem is well-conditioned (cond 2)" in lines[1]
    assert "ill-conditioned: cond 30" in lines[2]
    assert lines[3].startswith("| subnormal range | `torch` | sigmoid |") and "flush to zero" in lines[3]
    assert "log_sigmoid" not in table


def test_where_they_break_keeps_room_for_every_tier() -> None:
    wrong = tuple(_rec(f"c{i}", "softmax", 1.0, mismatches=i + 1, mismatch_kinds=(("nan_for_number", i + 1),))
                  for i in range(30))
    lossy = _rec("scipy", "log_softmax", 50.0, worst_range="normal", worst_got=1.0, worst_rounded=1.0)
    md = render_markdown(Report(records=(*wrong, lossy)), plots_dir=None)
    rows = [line for line in md[md.index("## Where they break"):].splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 21 and rows[0].startswith("| wrong class | `c29` |") and rows[-1].startswith(
        "| normal range | `scipy` | log_softmax |")


def test_diagnosis_tells_overflow_underflow_and_flush_to_zero() -> None:
    from softmax_oracle.report import diagnosis

    overflow = _rec("a", "softmax", float("nan"), mismatches=2, mismatch_kinds=(("inf_for_finite", 2),))
    assert diagnosis(overflow).startswith("overflow: ±inf where a finite value is due")
    absorbed = _rec("a", "log_softmax", 1e16, worst_range="normal", worst_got=0.0, worst_rounded=-1e-30)
    assert diagnosis(absorbed).startswith("0 where the normal value -1e-30 is due")
    premature = _rec("a", "sigmoid", 1e3, worst_range="normal", worst_got=1e-40, worst_rounded=2e-38)
    assert diagnosis(premature).startswith("underflow: the subnormal 1e-40 where the normal value 2e-38 is due")
    flushed = _rec("a", "sigmoid", 1e6, worst_range="subnormal", worst_got=0.0, worst_rounded=1e-40)
    assert diagnosis(flushed) == "flush to zero: 0 where the subnormal 1e-40 is due"
    few = _rec("a", "softmax", 3.0, worst_range="normal", worst_got=1.0, worst_rounded=1.0, condition=0.1)
    assert diagnosis(few).startswith("3 ULP: rounding errors of a few operations")
    small_cond = _rec("a", "sigmoid", 1.9, worst_range="normal", worst_got=1.0, worst_rounded=1.0, condition=0.83)
    assert diagnosis(small_cond).startswith("1.9 ULP: rounding errors of a few operations")
    no_cond = _rec("a", "kl_div", 50.0, worst_range="normal", worst_got=1.0, worst_rounded=1.0)
    assert "no condition number" in diagnosis(no_cond)
    assert diagnosis(_rec("a", "softmax", 0.5)) == ""


def test_zero_signs_get_their_own_mark_not_the_cross() -> None:
    records = (_rec("numpy-accurate", "log_softmax", 0.5, zero_signs=40, mismatch_kinds=(("zero_sign", 40),)),)
    md = render_markdown(Report(records=records), plots_dir=None)
    row = next(line for line in md.splitlines() if line.startswith("| `numpy-accurate`"))
    assert row == "| `numpy-accurate` | 0.50 ±0:40 |" and "✗" not in row
    strict = render_markdown(Report(records=records, config={"signed_zeros": True}), plots_dir=None)
    assert "| `numpy-accurate` | 0.50 **±0:40** |" in strict
    assert "failures in this run (`--signed-zeros`)" in strict


def test_long_inputs_go_to_a_compressed_side_file(tmp_path: Path) -> None:
    import gzip

    from softmax_oracle.report import LONG_INPUT, externalize_inputs, read_input

    long_text = "np.array([" + ", ".join(["1.5"] * 5000) + "])"
    assert len(long_text) > LONG_INPUT
    records = (_rec("a", "softmax", 1.0, worst_input=long_text, mismatch_input="np.array([2.0])"),
               _rec("b", "softmax", 1.0, worst_input=long_text))
    kept = externalize_inputs(records, tmp_path)
    assert kept[0].worst_input.startswith("file:inputs/") and kept[0].worst_input == kept[1].worst_input
    assert kept[0].mismatch_input == "np.array([2.0])"  # short inputs stay in the record
    files = list((tmp_path / "inputs").iterdir())
    assert len(files) == 1 and files[0].stat().st_size < len(long_text) / 20
    assert gzip.decompress(files[0].read_bytes()).decode() == long_text
    assert read_input(kept[0].worst_input, tmp_path) == long_text
    assert externalize_inputs(kept, tmp_path) == kept  # idempotent


def test_a_long_row_sweep_keeps_the_journal_small_and_the_input_reproducible(tmp_path: Path) -> None:
    from softmax_oracle.report import read_input

    config = SweepConfig.quick(candidates=("numpy-naive", "numpy-stable"), functions=("logsumexp",),
                               dtypes=("float64",), regimes=("moderate",), scale_points=0, row_lengths=(3000,),
                               row_elements=3000, exhaustive_functions=(), gradients=False)
    report = run_sweep(config, out_dir=tmp_path)
    long = next(r for r in report.records if r.regime == "row_length" and r.candidate == "numpy-naive")
    assert long.worst_input.startswith("file:inputs/")
    assert (tmp_path / "journal.jsonl.gz").stat().st_size < 5_000  # 3000 hex floats inline would be ~75 kB each
    row = eval(read_input(long.worst_input, tmp_path), {"np": np})
    args, _ = worst_arguments(long)
    assert np.array_equal(row, np.asarray(args[0]).reshape(-1))


def test_quick_output_folder_stays_small(quick_dir: Path) -> None:
    size = sum(f.stat().st_size for f in quick_dir.rglob("*") if f.is_file())
    assert size < 15 * 2**20, size


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


def test_check_signed_zeros_fails_only_with_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zero_sign_sigmoid.py").write_text(
        "import numpy as np\nimport softmax_oracle.oracle as oracle\n\n"
        "def sigmoid(x):\n    r = oracle.sigmoid(x)\n    return np.where(r == 0, -r, r).astype(r.dtype)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ("zero_sign_sigmoid:sigmoid", "--function", "sigmoid", "--dtype", "float32", "--max-ulp", "0.5")
    code, output = _check(*args, "--format", "json")
    assert code == 0, output
    assert "zeros of the wrong sign, not failed without --signed-zeros" in output
    code, output = _check(*args, "--signed-zeros", "--format", "json")
    assert code == 1 and "FAIL" in output and "0 wrong-class" in output


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
