"""``softmax-oracle fuzz``: search for an implementation's worst input (a shell over :func:`fuzz.search`).

Prints the worst input as a Python script that reproduces it on stdout,
progress and a summary on stderr.  Exit status: 0 when the worst error is
within ``--max-ulp`` and nothing was of the wrong class, 1 when it is not,
2 for bad usage or input.
"""

from __future__ import annotations

import time

import click

from .candidates import FUNCTIONS
from .errors import OracleError
from .formats import FORMATS
from .fuzz import DEFAULT_DATABASE, FuzzProgress, FuzzResult, search, snippet
from .regimes import REGIMES

__all__ = ["fuzz"]


def _progress_printer(every: float = 1.0):
    last = [0.0]

    def show(p: FuzzProgress) -> None:
        if p.seconds - last[0] >= every:
            last[0] = p.seconds
            click.echo(
                f"  {p.examples_run} examples, {p.seconds:.1f} s, worst {p.max_ulp_error:.4g} ULP, "
                f"{p.mismatch_count} with class mismatches",
                err=True,
            )

    return show


def _summary(result: FuzzResult, max_ulp: float) -> str:
    lines = [
        f"{result.candidate} {'grad.' if result.grad else ''}{result.function} {result.format}: "
        f"worst {result.max_ulp_error:.6g} ULP (budget {max_ulp:g}) after {result.examples_run} examples "
        f"in {result.seconds:.1f} s ({result.examples_run / max(result.seconds, 1e-9):.0f}/s), "
        f"stopped: {result.stopped}",
    ]
    if result.worst_detail:
        lines.append(f"  worst {result.worst_detail}")
    if result.mismatch_count:
        first = result.mismatches[0]
        lines.append(f"  {result.mismatch_count} examples with class mismatches; first: {first.kind.description} "
                     f"at {first.index} (got {first.got!r}, due {first.expected!r})")
    for problem in result.problems[:3]:
        lines.append(f"  candidate problem: {problem}")
    if result.oracle_errors:
        lines.append(f"  {len(result.oracle_errors)} distinct oracle errors (examples skipped); first: "
                     f"{result.oracle_errors[0][:200]}")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("candidate")
@click.argument("function", type=click.Choice(FUNCTIONS), metavar="FUNCTION")
@click.option("--dtype", type=click.Choice([f.name for f in FORMATS]), default="float32", show_default=True)
@click.option("--max-examples", type=click.IntRange(min=1), default=500, show_default=True,
              help="Budget in examples.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Budget in seconds (whichever budget ends first).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed for a reproducible search.")
@click.option("--regime", type=click.Choice(REGIMES), default=None, help="Input regime (default: all mixed).")
@click.option("--grad", is_flag=True, help="Search the gradient instead of the value.")
@click.option("--max-ulp", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Exit 1 when the worst error exceeds this many ULP (or a class mismatch is seen).")
@click.option("--database", type=click.Path(file_okay=False), default=DEFAULT_DATABASE, show_default=True,
              help="Hypothesis example database kept between runs.")
@click.option("--no-database", is_flag=True, help="Keep nothing between runs.")
@click.option("--max-row-length", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--max-batch", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--engine", type=click.Choice(["auto", "mpfr"]), default="auto", show_default=True,
              help="The oracle's engine: certified fast phase + MPFR (auto), or MPFR only (same answers).")
def fuzz(candidate: str, function: str, dtype: str, max_examples: int, max_seconds: float | None,
         seed: int | None, regime: str | None, grad: bool, max_ulp: float, database: str, no_database: bool,
         max_row_length: int, max_batch: int, engine: str) -> None:
    """Search for the worst input of CANDIDATE's FUNCTION against the oracle.

    CANDIDATE is a registered name (numpy-naive, numpy-stable, numpy-accurate,
    scipy, torch, jax) or MODULE:FUNCTION, imported with the current folder
    first on sys.path (as python -m, pytest and uvicorn do); a file works too:
    path/to/kern.py:softmax.  The worst input is printed as a Python script
    that reproduces it.
    """
    click.echo(f"fuzzing {candidate} {function} ({dtype}), up to {max_examples} examples"
               + (f" or {max_seconds:g} s" if max_seconds else ""), err=True)
    start = time.perf_counter()
    try:
        result = search(
            candidate, function, dtype=dtype, max_examples=max_examples, seed=seed, regime=regime, grad=grad,
            max_seconds=max_seconds, database=None if no_database else database, max_batch=max_batch,
            max_row_length=max_row_length, on_progress=_progress_printer(), engine=engine,
        )
    except OracleError as err:  # bad candidate, unavailable package, refused arguments
        click.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    click.echo(snippet(result), nl=False)
    click.echo(_summary(result, max_ulp) + f"\n  total {time.perf_counter() - start:.1f} s", err=True)
    raise SystemExit(1 if result.exceeds(max_ulp) else 0)
