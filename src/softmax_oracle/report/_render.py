"""Text renderers of a :class:`Report`: Markdown leaderboard, JSON, CSV (pure functions returning ``str``)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, fields
from typing import Iterable

from ._records import EXHAUSTIVE, Record, Report

__all__ = ["Cell", "leaderboard", "render_markdown", "render_json", "render_csv", "CSV_COLUMNS"]

CSV_COLUMNS = tuple(f.name for f in fields(Record))
_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}


@dataclass(frozen=True)
class Cell:
    """Summary of several records: the largest ULP error, the class mismatches, the first problem."""

    max_ulp_error: float
    mismatches: int
    status: str
    n: int

    @classmethod
    def of(cls, records: Iterable[Record]) -> Cell:
        records = list(records)
        errors = [r.max_ulp_error for r in records if not math.isnan(r.max_ulp_error)]
        problems = [r.status for r in records if r.status != "ok"]
        return cls(max(errors) if errors else math.nan, sum(r.mismatches for r in records),
                   problems[0] if problems else "ok", sum(r.n for r in records))


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


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return "·"
    if cell.status != "ok" and math.isnan(cell.max_ulp_error):
        return cell.status
    text = _number(cell.max_ulp_error)
    if cell.mismatches:
        text += f" **✗{_count(cell.mismatches)}**"
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
            row.append("—" if cells is None else " / ".join(_cell_text(cells.get(d)) for d in dtypes))
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
             _number(r.p99_ulp_error), _count(r.mismatches), f"{r.n:,}"] for r in records]
    return ["## Exhaustive 16-bit checks", "",
            "**Exhaustive, not sampled**: every one of the 65,536 float16 and 65,536 bfloat16 values "
            "(NaNs, infinities and subnormals included) is an input.", "",
            *_table(["candidate", "function", "dtype", "max", "median", "p99", "mismatches", "inputs"], rows), ""]


def _short(text: str | None, limit: int = 110) -> str:
    if not text:
        return ""
    return f"`{text}`" if len(text) <= limit else f"`{text[:limit]}…`"


def _worst_lines(report: Report, *, limit: int = 25) -> list[str]:
    best: dict[tuple[str, str], Record] = {}
    for r in report.records:
        key = (r.candidate, r.label)
        score = (r.mismatches > 0, -1.0 if math.isnan(r.max_ulp_error) else r.max_ulp_error)
        old = best.get(key)
        if old is None or score > (old.mismatches > 0, -1.0 if math.isnan(old.max_ulp_error) else old.max_ulp_error):
            best[key] = r
    bad = [r for r in best.values() if r.max_ulp_error > 1 or r.mismatches]
    bad.sort(key=lambda r: (-r.mismatches, -(r.max_ulp_error if not math.isnan(r.max_ulp_error) else 0)))
    if not bad:
        return []
    rows = []
    for r in bad[:limit]:
        where = r.regime if r.parameter is None else f"{r.regime}={r.parameter:g}"
        shown = r.worst_input if r.max_ulp_error > 1 or not r.mismatch_input else r.mismatch_input
        rows.append([f"`{r.candidate}`", r.label, r.dtype, where, _number(r.max_ulp_error), _count(r.mismatches),
                     _number(r.condition) if r.condition is not None else "", _short(shown)])
    return ["## Where they break", "",
            "Per candidate and function, the worst record (class mismatches first, then the largest ULP error). "
            "`cond` is the relative condition number at the worst input: an error of the order of `cond` ULP "
            "is the problem's, not the implementation's.  Full inputs (exact hex floats) and seeds are in "
            "`report.json`.", "",
            *_table(["candidate", "function", "dtype", "regime", "max ULP", "mismatches", "cond", "input"], rows),
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
        f"{config.get('seed', '?')}); scale sweep 1e-3 to each format's max (float64: to max/2, because "
        "`regimes.sample_arguments` draws `uniform(-s, s)` in float64, whose width overflows beyond that); "
        "row-length sweep "
        f"{', '.join(str(n) for n in config.get('row_lengths', ()))}.", "",
        "ULP error is `|got - exact| / ulp(exact)` against the exact value: **0.5 = correctly rounded**.  "
        "**✗N** flags N output elements of the wrong class (NaN, infinity, or the sign of a zero where the "
        "exact value fixes it); they are counted apart, never folded into the ULP figure.  `·` = dtype not run, "
        "`—` = the candidate has no such function.", "",
    ]
    if report.unavailable:
        lines += ["Unavailable candidates: " + "; ".join(f"`{n}` ({why})" for n, why in report.unavailable), ""]
    return lines


def render_markdown(report: Report, *, plots_dir: str | None = "plots") -> str:
    """The Markdown report: leaderboards (values, gradients), exhaustive checks, worst inputs, plots."""
    lines = _header_lines(report)
    lines += _leaderboard_lines(report, grad=False)
    lines += _leaderboard_lines(report, grad=True)
    lines += _exhaustive_lines(report)
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
    """``report.json``: :meth:`Report.to_dict` with its schema version."""
    return json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n"


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
