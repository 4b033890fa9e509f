"""Text renderers of a :class:`Report`: Markdown leaderboard, JSON, CSV (pure functions returning ``str``)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, fields
from typing import Any, Iterable

from ._records import EXHAUSTIVE, Record, Report

__all__ = ["Cell", "BreakRow", "break_rows", "zero_sign_mark", "leaderboard", "render_markdown", "render_json", "render_csv", "CSV_COLUMNS"]

CSV_COLUMNS = tuple(f.name for f in fields(Record))
_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}


@dataclass(frozen=True)
class Cell:
    """Summary of several records: the largest ULP error, the wrong-class results, the zero signs, the first problem."""

    max_ulp_error: float
    mismatches: int
    status: str
    n: int
    zero_signs: int = 0

    @classmethod
    def of(cls, records: Iterable[Record]) -> Cell:
        records = list(records)
        errors = [r.max_ulp_error for r in records if not math.isnan(r.max_ulp_error)]
        problems = [r.status for r in records if r.status != "ok"]
        return cls(max(errors) if errors else math.nan, sum(r.mismatches for r in records),
                   problems[0] if problems else "ok", sum(r.n for r in records),
                   sum(r.zero_signs for r in records))


def leaderboard(report: Report, *, grad: bool) -> dict[tuple[str, str], dict[str, Cell]]:
    """``{(candidate, function label): {dtype: Cell}}`` over every regime, sweep and exhaustive run."""
    groups: dict[tuple[str, str], dict[str, list[Record]]] = {}
    for r in report.records:
        if r.grad == grad:
            groups.setdefault((r.candidate, r.label), {}).setdefault(r.dtype, []).append(r)
    return {key: {dtype: Cell.of(rs) for dtype, rs in by_dtype.items()} for key, by_dtype in groups.items()}


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.0f}" if value < 1e4 else f"{value:.1e}"


def _count(n: int) -> str:
    return str(n) if n < 10_000 else f"{n / 1000:.0f}k"


def zero_sign_mark(count: int, *, signed_zeros: bool) -> str:
    """``±0:N`` (bold when zero signs are failures), or ``""`` for none."""
    if not count:
        return ""
    return f"**±0:{_count(count)}**" if signed_zeros else f"±0:{_count(count)}"


def _cell_text(cell: Cell | None, *, signed_zeros: bool = False) -> str:
    if cell is None:
        return "·"
    if cell.status != "ok" and math.isnan(cell.max_ulp_error):
        return cell.status
    text = _number(cell.max_ulp_error)
    if cell.mismatches:
        text += f" **✗{_count(cell.mismatches)}**"
    if cell.zero_signs:
        text += " " + zero_sign_mark(cell.zero_signs, signed_zeros=signed_zeros)
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _leaderboard_lines(report: Report, *, grad: bool) -> list[str]:
    board = leaderboard(report, grad=grad)
    labels = report.labels(grad=grad)
    if not labels:
        return []
    dtypes = report.dtypes
    rows = []
    for candidate in report.candidates:
        row = [f"`{candidate}`"]
        for label in labels:
            cells = board.get((candidate, label))
            strict = bool(report.config.get("signed_zeros", False))
            row.append("—" if cells is None else " / ".join(_cell_text(cells.get(d), signed_zeros=strict)
                                                           for d in dtypes))
        rows.append(row)
    title = "Gradients" if grad else "Values"
    order = " / ".join(_SHORT.get(d, d) for d in dtypes)
    return [f"## Leaderboard: {title.lower()}", "", f"Cells: max ULP error per dtype ({order}).", "",
            *_table(["candidate", *labels], rows), ""]


def _exhaustive_lines(report: Report) -> list[str]:
    records = [r for r in report.records if r.sampling == EXHAUSTIVE]
    if not records:
        return []
    rows = [[f"`{r.candidate}`", r.label, r.dtype, _number(r.max_ulp_error), _number(r.median_ulp_error),
             _number(r.p99_ulp_error), _count(r.mismatches), _count(r.zero_signs), f"{r.n:,}"] for r in records]
    return ["## Exhaustive 16-bit checks", "",
            "**Exhaustive, not sampled**: every one of the 65,536 float16 and 65,536 bfloat16 values "
            "(NaNs, infinities and subnormals included) is an input.", "",
            *_table(["candidate", "function", "dtype", "max", "median", "p99", "✗ wrong class", "±0", "inputs"], rows), ""]


def _short(text: str | None, limit: int = 110) -> str:
    if not text:
        return ""
    return f"`{text}`" if len(text) <= limit else f"`{text[:limit]}…`"


def _nan_low(value: float) -> float:
    return -1.0 if math.isnan(value) else value


@dataclass(frozen=True)
class BreakRow:
    """One row of "Where they break": a candidate's function, its most severe tier and the record showing it.

    ``tier`` 0: wrong-class results (and zeros of the wrong sign with
    ``signed_zeros``); 1: more than 1 ULP among normal-range results; 2: more
    than 1 ULP among subnormal-range results only.  ``severity`` orders rows
    within a tier (wrong-class count, then ULP error).
    """

    tier: int
    severity: tuple[float, ...]
    record: Record
    mismatches: int
    zero_signs: int
    normal: float
    subnormal: float


def break_rows(report: Report, *, signed_zeros: bool = False) -> list[BreakRow]:
    """Per candidate and function label, its most severe failure, most severe first."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in report.records:
        groups.setdefault((r.candidate, r.label), []).append(r)
    rows = []
    for records in groups.values():
        mismatches = sum(r.mismatches for r in records)
        zeros = sum(r.zero_signs for r in records)
        normal = max((_nan_low(r.max_ulp_error_normal) for r in records), default=-1.0)
        subnormal = max((_nan_low(r.max_ulp_error_subnormal) for r in records), default=-1.0)
        wrong = mismatches + (zeros if signed_zeros else 0)
        if wrong:
            shown = max(records, key=lambda r: (r.mismatches + (r.zero_signs if signed_zeros else 0),
                                                _nan_low(r.max_ulp_error)))
            row = BreakRow(0, (wrong, normal), shown, mismatches, zeros, normal, subnormal)
        elif normal > 1:
            shown = max(records, key=lambda r: _nan_low(r.max_ulp_error_normal))
            row = BreakRow(1, (normal,), shown, mismatches, zeros, normal, subnormal)
        elif subnormal > 1:
            shown = max(records, key=lambda r: _nan_low(r.max_ulp_error_subnormal))
            row = BreakRow(2, (subnormal,), shown, mismatches, zeros, normal, subnormal)
        else:
            continue
        rows.append(row)
    rows.sort(key=lambda b: (b.tier, tuple(-v for v in b.severity)))
    return rows


_TIERS = ("wrong class", "normal range", "subnormal range")


_TIER_ROWS = (20, 25, 10)  # rows shown per tier: the normal-range losses must not be crowded out by NaNs


def _worst_lines(report: Report) -> list[str]:
    from ._diagnosis import diagnosis

    strict = bool(report.config.get("signed_zeros", False))
    rows = []
    shown_rows = [b for tier, limit in enumerate(_TIER_ROWS)
                  for b in [b for b in break_rows(report, signed_zeros=strict) if b.tier == tier][:limit]]
    for b in shown_rows:
        r = b.record
        where = r.regime if r.parameter is None else f"{r.regime}={r.parameter:g}"
        shown = r.mismatch_input if b.tier == 0 and r.mismatches else r.worst_input
        if b.tier == 0 and not r.mismatches:
            shown = r.zero_sign_input
        rows.append([_TIERS[b.tier], f"`{r.candidate}`", r.label, r.dtype, where, _count(b.mismatches),
                     _count(b.zero_signs), _number(b.normal if b.normal >= 0 else None),
                     _number(b.subnormal if b.subnormal >= 0 else None),
                     _number(r.condition) if r.condition is not None else "", diagnosis(r, signed_zeros=strict),
                     _short(shown)])
    if not rows:
        return []
    return ["## Where they break", "",
            "Per candidate and function, its most severe failure, most severe first (at most "
            f"{' / '.join(str(n) for n in _TIER_ROWS)} rows per tier): wrong-class results "
            "(✗: NaN, infinity; zeros of the wrong sign only with `--signed-zeros`), then the largest ULP error "
            "among normal-range results, then among subnormal-range results (correctly rounded value subnormal "
            "or zero).  Counts and maxima are over all the function's records; dtype, regime, `cond` and input "
            "are the record showing the failure.  `cond` is the relative condition number at the worst input: an "
            "error of the order of `cond` ULP is the problem's, not the implementation's.  Full inputs (exact hex "
            "floats; long ones in `inputs/`) and seeds are in `report.json`.", "",
            *_table(["severity", "candidate", "function", "dtype", "regime", "✗", "±0", "max ULP normal",
                     "max ULP subnormal", "cond", "diagnosis", "input"], rows),
            ""]


def _header_lines(report: Report) -> list[str]:
    env = report.environment
    versions = ", ".join(f"{k} {env[k]}" for k in ("softmax_oracle", "python", "numpy", "scipy", "torch", "jax")
                         if k in env)
    config = report.config
    lines = [
        "# Softmax-family accuracy report", "",
        *([f"Regenerate with `{env['command']}`.", ""] if env.get("command") else []),
        f"Machine: {env.get('platform', '?')} ({env.get('cpus', '?')} CPUs); {versions}.  ",
        f"Created {report.created}; schema version {report.schema_version}.  ",
        f"Sampled regimes: {', '.join(config.get('regimes', ()))} "
        f"({config.get('samples', '?')} argument sets of {config.get('batch', '?')} rows each, seed "
        f"{config.get('seed', '?')}); scale sweep: rows drawn in `[-s, s]` for logit magnitudes `s` at "
        f"{config.get('scale_points', '?')} points per decade from 1e-3 to ten times the format's exp-overflow "
        "point `log(max)` (709.78, 88.72, 11.09, 88.72; the point itself included), then at most "
        f"{config.get('scale_sparse', '?')} points to the format's max (float64: max/2, the widest "
        "`uniform(-s, s)` float64 can draw); row-length sweep "
        f"{', '.join(str(n) for n in config.get('row_lengths', ()))}.", "",
        "ULP error is `|got - exact| / ulp(exact)` against the exact value: **0.5 = correctly rounded**.  "
        "**✗N** flags N output elements of the wrong class (NaN, infinity, finite for infinite), counted apart "
        "and never folded into the ULP figure.  **±0:N** counts zeros of the wrong sign (`-0.0` where the exact "
        "value is positive and rounds to `+0.0`, or the reverse): "
        + ("failures in this run (`--signed-zeros`)." if config.get("signed_zeros") else
           "shown, not failures (as `numpy.testing` treats `-0.0 == 0.0`; `--signed-zeros` makes them fail).")
        + "  `·` = dtype not run, `—` = the candidate has no such function.", "",
    ]
    if report.unavailable:
        lines += ["Unavailable candidates: " + "; ".join(f"`{n}` ({why})" for n, why in report.unavailable), ""]
    return lines


def render_markdown(report: Report, *, plots_dir: str | None = "plots", exhaustive32: Iterable[Any] = ()) -> str:
    """The Markdown report: leaderboards (values, gradients), exhaustive checks, worst inputs, plots.

    ``exhaustive32``: :class:`~softmax_oracle.report.Exhaustive32Result` objects
    rendered as the "Exhaustive float32 checks" section.
    """
    from ._render_exhaustive import exhaustive32_lines

    lines = _header_lines(report)
    lines += _leaderboard_lines(report, grad=False)
    lines += _leaderboard_lines(report, grad=True)
    lines += _exhaustive_lines(report)
    lines += exhaustive32_lines(exhaustive32)
    lines += _worst_lines(report)
    if plots_dir is not None:
        from ._plots import plot_names

        names = plot_names(report)
        lines += ["## Plots", ""]
        lines += [f"![{name}]({plots_dir}/{name})" for name in names if name.startswith("heatmap")]
        lines += [""] + [f"- [{name}]({plots_dir}/{name})" for name in names if not name.startswith("heatmap")]
        lines.append("")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    """``report.json``: :meth:`Report.to_dict` with its schema version, one record (a list of values) per line."""
    data = report.to_dict()
    records = data.pop("records")
    head = json.dumps(data, indent=1, allow_nan=False)
    lines = ",\n".join(json.dumps(r, allow_nan=False, separators=(",", ":")) for r in records)
    return head[:-2] + ',\n "records": [\n' + lines + "\n ]\n}\n"


def render_csv(report: Report) -> str:
    """``report.csv``: one row per record, columns :data:`CSV_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in report.records:
        row = r.to_dict()
        row["mismatch_kinds"] = ";".join(f"{k}={v}" for k, v in r.mismatch_kinds)
        writer.writerow(row)
    return buffer.getvalue()
