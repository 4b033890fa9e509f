"""``softmax-oracle findings``: list the findings corpus, or recheck it against the installed libraries.

A thin shell over :mod:`softmax_oracle.findings`.  Output (stdout) is a
Markdown table or JSON (``{"schema": "softmax-oracle/findings",
"schema_version": 1, ...}``); with ``--recheck`` each finding's repro is rerun
and reported as ``present``, ``fixed``, ``absent`` (library not installed) or
``error`` (the repro raised); the summary line goes to stderr with Markdown.

Exit status: 0 when every repro ran (whatever it showed: a fixed defect or an
absent library is information, not a failure); 1 when a repro raised or
printed no result (the corpus needs attention); 2 for bad usage.
"""

from __future__ import annotations

import click

__all__ = ["findings"]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--recheck", is_flag=True, help="Rerun every repro against the installed libraries.")
@click.option("--format", "format_", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="Markdown table or JSON with a schema version.")
def findings(recheck: bool, format_: str) -> None:
    """List the defects the oracle found in other libraries (and recheck them with --recheck)."""
    from .findings import FINDINGS, findings_json, findings_table, recheck_all, recheck_table
    from .findings._render import recheck_summary

    if not recheck:
        click.echo(findings_json(FINDINGS) if format_ == "json" else findings_table(FINDINGS), nl=False)
        return
    results = recheck_all(FINDINGS)
    if format_ == "json":
        click.echo(findings_json(FINDINGS, results), nl=False)
    else:
        click.echo(recheck_table(results, FINDINGS), nl=False)
    click.echo(recheck_summary(results), err=True)
    if any(r.status == "error" for r in results):
        raise click.exceptions.Exit(1)
