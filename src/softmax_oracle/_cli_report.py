"""``softmax-oracle report`` and ``softmax-oracle check``: thin shells over :mod:`softmax_oracle.report`.

Exit codes: 0 ok, 1 a tolerance exceeded (``check``), 2 bad usage or input.
The chosen ``--format`` goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from .candidates import FUNCTIONS
from .errors import InvalidInput
from .formats import FORMATS
from .oracle._evaluate import ENGINES

__all__ = ["report", "check"]

_DTYPES = tuple(f.name for f in FORMATS)


class _RichProgress:
    """A rich progress bar on stderr, driven by ``run_sweep``'s ``progress(done, total, unit)``."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _RichProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[unit]}"),
                                console=Console(stderr=True), transient=False)
            self.bar.__enter__()
        return self

    def __call__(self, done: int, total: int, unit: Any) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task("work units", total=total, completed=done, unit="")
        label = "" if unit is None else (f"{'grad.' if unit.grad else ''}{unit.function} "
                                          f"{getattr(unit, 'dtype', 'float32')} "
                                          f"{getattr(unit, 'regime', '')}{getattr(unit, 'chunk', '')}")
        self.bar.update(self.task, completed=done, unit=label)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _fail(message: str) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(2)


def _emit(report_obj: Any, output: str, out_dir: Path | None) -> None:
    from .report import render_csv, render_json, render_markdown

    if output == "none":
        return
    if output == "md":
        click.echo(render_markdown(report_obj, plots_dir=None if out_dir is None else "plots"), nl=False)
    elif output == "json":
        click.echo(render_json(report_obj), nl=False)
    else:
        click.echo(render_csv(report_obj), nl=False)


@click.command("report")
@click.option("--quick", is_flag=True, help="Smoke-sized sweep (well under a minute on two cores).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("report"),
              show_default=True, help="Output directory (report.md/json/csv, plots/, journal, cache).")
@click.option("--candidate", "candidates", multiple=True, metavar="NAME",
              help="Candidate: a registry name or MODULE:FUNCTION (imported with the current folder first on "
                   "sys.path; a file works too: path/to/kern.py:softmax); repeatable. Default: all available.")
@click.option("--function", "functions", multiple=True, type=click.Choice(FUNCTIONS), help="Repeatable.")
@click.option("--dtype", "dtypes", multiple=True, type=click.Choice(_DTYPES), help="Repeatable.")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Argument sets per regime.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--no-gradients", is_flag=True, help="Values only.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
@click.option("--dask-scheduler", "scheduler", metavar="ADDRESS", default=None,
              help="Fan the work units out to a dask.distributed scheduler (extra [dask]).")
@click.option("--format", "output", type=click.Choice(["md", "json", "csv", "none"]), default="md",
              show_default=True, help="What to print on stdout (all files are written anyway).")
@click.option("--signed-zeros", is_flag=True,
              help="Count zeros of the wrong sign as failures (default: shown apart as ±0:N, not failed).")
@click.option("--fresh", is_flag=True, help="Ignore the journal of a previous run in --out.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@click.option("--exhaustive", type=click.Choice(["float32"]), default=None,
              help="Instead of the sweep: check --function (sigmoid, log_sigmoid, softplus; default all three) "
                   "on every float32 input, in resumable chunks.")
@click.option("--grad", is_flag=True, help="With --exhaustive: check the derivative instead of the value.")
@click.option("--chunks", "chunk_range", metavar="START:STOP", default=None,
              help="With --exhaustive: run only these chunk indices (default: all 2**(32 - chunk bits)).")
@click.option("--chunk-bits", type=click.IntRange(8, 32), default=24, show_default=True,
              help="With --exhaustive: chunks of 2**BITS consecutive bit patterns.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="The oracle's engine: certified fast phase + MPFR (auto), or MPFR only (same answers).")
def report(quick: bool, out_dir: Path, candidates: tuple[str, ...], functions: tuple[str, ...],
           dtypes: tuple[str, ...], samples: int | None, seed: int, no_gradients: bool, workers: int,
           scheduler: str | None, output: str, signed_zeros: bool, fresh: bool, no_progress: bool,
           exhaustive: str | None, grad: bool, chunk_range: str | None, chunk_bits: int, engine: str) -> None:
    """Sweep candidates x functions x dtypes x regimes against the oracle; write tables and plots.

    A killed run continues where it stopped when rerun with the same --out.
    With --exhaustive float32, check univariate functions on all 2**32 inputs instead
    (chunk files under --out/exhaustive-float32/; a rerun skips the finished chunks).
    """
    if exhaustive is not None:
        _exhaustive32(out_dir, candidates, functions or ("sigmoid", "log_sigmoid", "softplus"), grad=grad,
                      chunk_range=chunk_range, chunk_bits=chunk_bits, workers=workers, scheduler=scheduler,
                      output=output, no_progress=no_progress)
        return
    from .report import SweepConfig, run_sweep, write_report

    changes: dict[str, Any] = {"seed": seed, "gradients": not no_gradients, "signed_zeros": signed_zeros,
                              "engine": engine}
    for name, value in (("candidates", candidates), ("functions", functions), ("dtypes", dtypes)):
        if value:
            changes[name] = tuple(value)
    if samples is not None:
        changes["samples"] = samples
    try:
        config = (SweepConfig.quick if quick else SweepConfig.full)(**changes)
        with _RichProgress(enabled=not no_progress) as progress:
            result = run_sweep(config, out_dir=out_dir, workers=workers, scheduler=scheduler, progress=progress,
                               resume=not fresh)
        result.environment["command"] = _command_line(quick=quick, fresh=fresh, out_dir=out_dir, workers=workers,
                                                      changes=changes)
        written = write_report(result, out_dir)
    except InvalidInput as err:
        raise _fail(str(err)) from None
    for name, reason in result.unavailable:
        click.echo(f"note: {reason}", err=True)
    click.echo(f"wrote {len(written)} files to {out_dir}", err=True)
    _emit(result, output, out_dir)


def _exhaustive32(out_dir: Path, candidates: tuple[str, ...], functions: tuple[str, ...], *, grad: bool,
                  chunk_range: str | None, chunk_bits: int, workers: int, scheduler: str | None, output: str,
                  no_progress: bool) -> None:
    """``report --exhaustive float32``: run the chunks, write exhaustive-float32.md/json, refresh report.md."""
    import json

    from .candidates import CANDIDATES
    from .report import (Report, load_exhaustive32, render_exhaustive32_json, render_exhaustive32_markdown,
                         render_markdown, run_exhaustive32, write_atomic)
    from .report._exhaustive import parse_chunk_range

    try:
        chunks = parse_chunk_range(chunk_range, 1 << (32 - chunk_bits))
        for function in functions:
            with _RichProgress(enabled=not no_progress) as progress:
                run_exhaustive32(function, grad, candidates or tuple(CANDIDATES), out_dir=out_dir,
                                 chunk_bits=chunk_bits, chunks=chunks, workers=workers, scheduler=scheduler,
                                 progress=progress)
    except InvalidInput as err:
        raise _fail(str(err)) from None
    results = load_exhaustive32(out_dir)
    write_atomic(out_dir / "exhaustive-float32.json", render_exhaustive32_json(results))
    write_atomic(out_dir / "exhaustive-float32.md", render_exhaustive32_markdown(results))
    if (out_dir / "report.json").exists():  # the sweep's report.md gets the float32 table too
        sweep = Report.from_dict(json.loads((out_dir / "report.json").read_text()))
        has_plots = (out_dir / "plots").is_dir()
        write_atomic(out_dir / "report.md", render_markdown(sweep, plots_dir="plots" if has_plots else None,
                                                            exhaustive32=results))
    click.echo(f"wrote exhaustive-float32.md/json ({len(results)} results) to {out_dir}", err=True)
    if output == "json":
        click.echo(render_exhaustive32_json(results), nl=False)
    elif output != "none":
        click.echo(render_exhaustive32_markdown(results), nl=False)


def _command_line(*, quick: bool, fresh: bool, out_dir: Path, workers: int, changes: dict[str, Any]) -> str:
    """The ``softmax-oracle report`` command that reproduces this run (shown at the top of report.md)."""
    # JAX computes float64 only in x64 mode, which it reads from the environment at import
    prefix = "JAX_ENABLE_X64=1 " if os.environ.get("JAX_ENABLE_X64", "").lower() in ("1", "true") else ""
    words = ["softmax-oracle", "report"] + (["--quick"] if quick else []) + (["--fresh"] if fresh else [])
    words += ["--out", str(out_dir)]
    if workers > 1:
        words += ["--workers", str(workers)]
    for option, key in (("--candidate", "candidates"), ("--function", "functions"), ("--dtype", "dtypes")):
        for value in changes.get(key, ()):
            words += [option, value]
    if "samples" in changes:
        words += ["--samples", str(changes["samples"])]
    if changes.get("seed"):
        words += ["--seed", str(changes["seed"])]
    if not changes.get("gradients", True):
        words.append("--no-gradients")
    if changes.get("signed_zeros"):
        words.append("--signed-zeros")
    if changes.get("engine", "auto") != "auto":
        words += ["--engine", changes["engine"]]
    return prefix + shlex.join(words)


def _violations(records: Any, max_ulp: float, *, signed_zeros: bool = False) -> list[Any]:
    return [r for r in records if r.status != "ok" or r.mismatches or (signed_zeros and r.zero_signs) or
            (not math.isnan(r.max_ulp_error) and r.max_ulp_error > max_ulp)]


@click.command("check")
@click.argument("implementation", metavar="MODULE:FUNCTION")
@click.option("--function", required=True, type=click.Choice(FUNCTIONS), help="Oracle function it computes.")
@click.option("--dtype", "dtypes", multiple=True, type=click.Choice(_DTYPES), default=("float32",),
              show_default=True, help="Repeatable.")
@click.option("--max-ulp", type=click.FloatRange(min=0.5), default=1.0, show_default=True,
              help="ULP budget; exceeding it (or any wrong-class result) exits with 1.")
@click.option("--grad", is_flag=True, help="The callable computes the gradient (oracle.grad signature).")
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--signed-zeros", is_flag=True,
              help="A zero of the wrong sign fails too (default: counted apart as ±0:N, not failed).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the report files here.")
@click.option("--format", "output", type=click.Choice(["md", "json", "csv"]), default="md", show_default=True)
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="The oracle's engine: certified fast phase + MPFR (auto), or MPFR only (same answers).")
def check(implementation: str, function: str, dtypes: tuple[str, ...], max_ulp: float, grad: bool, samples: int,
          seed: int, signed_zeros: bool, out_dir: Path | None, output: str, engine: str) -> None:
    """Check your own MODULE:FUNCTION against the oracle over every regime (exhaustively for 16-bit sigmoid & co).

    MODULE is imported with the current folder first on sys.path, as python -m,
    pytest and uvicorn do: in a folder holding mykern.py, run
    `softmax-oracle check mykern:softmax --function softmax`.  A file works too:
    path/to/kern.py:softmax.

    Exit status 1 when an element is off by more than --max-ulp or of the wrong class (a zero of the wrong
    sign only with --signed-zeros).
    """
    import tempfile

    from .report import SweepConfig, run_sweep, write_report

    if ":" not in implementation:
        raise _fail(f"expected MODULE:FUNCTION, got {implementation!r}")
    config = replace(SweepConfig.full(), candidates=(implementation,), functions=(function,), dtypes=tuple(dtypes),
                     samples=samples, seed=seed, gradients=grad, scale_points=2, scale_sparse=6, row_lengths=(1, 100, 1000),
                     row_elements=2000, signed_zeros=signed_zeros, engine=engine)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            result = run_sweep(config, out_dir=out_dir or scratch, workers=1, resume=False)
        records = [r for r in result.records if r.grad == grad]
        result = replace(result, records=tuple(records))
        if out_dir is not None:
            write_report(result, out_dir)
    except InvalidInput as err:
        raise _fail(str(err)) from None
    _emit(result, output, out_dir)
    bad = _violations(records, max_ulp, signed_zeros=signed_zeros)
    if not records:
        raise _fail(f"nothing was compared for {implementation} ({function})")
    if bad:
        worst = max(bad, key=lambda r: (r.mismatches > 0, 0.0 if math.isnan(r.max_ulp_error) else r.max_ulp_error))
        click.echo(f"FAIL: {len(bad)} of {len(records)} records exceed {max_ulp} ULP or have class mismatches; "
                   f"worst: {worst.dtype} {worst.regime} max {worst.max_ulp_error:.4g} ULP, "
                   f"{worst.mismatches} wrong-class, {worst.zero_signs} zero signs, "
                   f"input {worst.worst_input or worst.mismatch_input or worst.zero_sign_input}", err=True)
        raise click.exceptions.Exit(1)
    zeros = sum(r.zero_signs for r in records)
    click.echo(f"ok: {len(records)} records within {max_ulp} ULP, no wrong-class results"
               + (f" ({zeros} zeros of the wrong sign, not failed without --signed-zeros)" if zeros else ""),
               err=True)
