"""Renderers of the findings corpus: Markdown tables, JSON (with a schema version), the docs page.

Pure functions from records to text; nothing here prints or reads files.
``docs/findings.md`` is :func:`docs_page` of the corpus and README's "What the
oracle found" section is :func:`readme_section`; a test keeps both in step.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Sequence

from ._recheck import STATUSES, Recheck, summary_counts
from ._record import KINDS, Finding

__all__ = ["SCHEMA", "SCHEMA_VERSION", "findings_table", "findings_json", "recheck_table", "recheck_summary",
           "docs_page", "readme_section", "error_cell"]

SCHEMA = "softmax-oracle/findings"
SCHEMA_VERSION = 1
NORMAL_KIND = KINDS[0]


def _number(value: float | None, spec: str = ".4g") -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    return format(value, spec)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)  # JSON has no NaN; infinities as strings
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def error_cell(f: Finding) -> str:
    """The ULP error, or for a class or zero-sign finding what was returned for what is due."""
    if f.kind in (KINDS[2], KINDS[3]):
        return f"{float.fromhex(f.got)!r} for {float.fromhex(f.rounded)!r}"
    return _number(f.ulp_error)


def _error_text(f: Finding) -> str:
    return f"{error_cell(f)} ULP" if f.kind in (KINDS[0], KINDS[1]) else error_cell(f)


def _row(f: Finding) -> str:
    return (f"| [`{f.id}`](#{f.id}) | {f.library} {f.version_measured} | {f.function} | {f.dtype} | {f.kind} | "
            f"{error_cell(f)} | {_number(f.relative_error, '.3g')} | {_number(f.condition, '.3g')} |")


def findings_table(findings: Sequence[Finding]) -> str:
    """A Markdown table: one row per finding (id, library, function, dtype, kind, errors, condition)."""
    lines = ["| id | library | function | dtype | kind | ULP error | rel. error | cond |",
             "|---|---|---|---|---|---|---|---|"]
    return "\n".join(lines + [_row(f) for f in findings]) + "\n"


def findings_json(findings: Sequence[Finding], rechecks: Sequence[Recheck] | None = None) -> str:
    """JSON: ``{"schema", "schema_version", "findings": [...], "rechecks": [...]}`` (rechecks if given).

    NaN becomes ``null``; tuples become lists.
    """
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "findings": [{k: _json_value(v) for k, v in dataclasses.asdict(f).items()} for f in findings],
    }
    if rechecks is not None:
        doc["rechecks"] = [{k: _json_value(v) for k, v in dataclasses.asdict(r).items()} for r in rechecks]
        doc["summary"] = summary_counts(rechecks)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def recheck_summary(rechecks: Sequence[Recheck]) -> str:
    """One line: ``20 findings rechecked: 20 present, 0 fixed, 0 absent, 0 error``."""
    counts = summary_counts(rechecks)
    return f"{len(rechecks)} findings rechecked: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)


def recheck_table(rechecks: Sequence[Recheck], findings: Sequence[Finding]) -> str:
    """A Markdown table of :class:`Recheck` results, then the summary line."""
    by_id = {f.id: f for f in findings}
    lines = ["| id | library | installed | status | ULP now | same result | detail |",
             "|---|---|---|---|---|---|---|"]
    for r in rechecks:
        f = by_id[r.id]
        same = "yes" if r.same_result else ("—" if r.got is None else "no")
        lines.append(f"| `{r.id}` | {f.library} | {r.version or 'absent'} | {r.status} | {_number(r.ulp_error)} | "
                     f"{same} | {r.detail.replace('|', '/')} |")
    return "\n".join(lines) + "\n\n" + recheck_summary(rechecks) + "\n"


def _counts_sentence(findings: Sequence[Finding]) -> str:
    libraries = sorted({f.library for f in findings})
    per_library = ", ".join(f"{sum(f.library == lib for f in findings)} in {lib}" for lib in libraries)
    per_kind = ", ".join(f"{sum(f.kind == k for f in findings)} {k}" for k in KINDS if any(f.kind == k for f in findings))
    return f"{len(findings)} findings ({per_library}): {per_kind}."


def _section(f: Finding) -> str:
    cond = _number(f.condition, ".3g")
    return "\n".join([
        f"### {f.id}",
        "",
        f"- **{f.library} {f.version_measured}**, `{f.function}`, {f.dtype}; kind: **{f.kind}**",
        f"- oracle call: `{f.function}({f.input})`, element `{f.element}`",
        f"- library result `{f.got}`; correctly rounded `{f.rounded}`; exact `{f.exact}`",
        f"- error: **{_error_text(f)}**, relative {_number(f.relative_error, '.3g')}; condition number {cond}",
        "",
        "```python",
        f.repro.rstrip("\n"),
        "```",
        "",
        f"**Cause.** {f.cause}",
        "",
        f"**Fix.** {f.fix}",
        "",
    ])


def docs_page(findings: Sequence[Finding]) -> str:
    """The whole of ``docs/findings.md``."""
    return "\n".join([
        "# What the oracle found",
        "",
        "<!-- generated from softmax_oracle.findings by tools/make_findings.py; do not edit -->",
        "",
        _counts_sentence(findings),
        "Each finding is a minimal input (exact hex floats), a repro you can paste into Python, the",
        "library's result next to the correctly rounded and the exact value, and the cause and the fix.",
        "`softmax-oracle findings --recheck` reruns every repro against the installed libraries and",
        "says whether each defect is still present, fixed, or the library is absent.",
        "",
        "ULP error is `|got - exact| / ulp(exact)` (0.5 = correctly rounded; NaN for a result of the",
        "wrong class). `cond` is the relative condition number at the input (— where it is not",
        "defined): an error of the order of `cond` ULP is the problem's, far above it the formula's.",
        "Kinds: " + "; ".join(f"*{k}*" for k in KINDS) + ".",
        "",
        findings_table(findings),
        "## The findings",
        "",
        "\n".join(_section(f) for f in findings),
    ])


def readme_section(findings: Sequence[Finding]) -> str:
    """README's "What the oracle found" section (heading included)."""
    normal = sum(f.kind == NORMAL_KIND for f in findings)
    worst = sorted((f for f in findings if f.kind == NORMAL_KIND), key=lambda f: -f.ulp_error)
    lines = [
        "## What the oracle found",
        "",
        "<!-- generated from softmax_oracle.findings by tools/make_findings.py; do not edit -->",
        "",
        f"{_counts_sentence(findings)} {normal} of them lose digits on normal-range results, where the "
        "problem is well conditioned and a stable formula exists. Every finding is a record in "
        "`softmax_oracle.findings.FINDINGS` with a minimal hex-float input and a pasteable repro; "
        "`softmax-oracle findings --recheck` reruns them against the installed libraries. Details, "
        "causes and fixes: [docs/findings.md](docs/findings.md).",
        "",
        "| id | library | kind | ULP error |",
        "|---|---|---|---|",
    ]
    lines += [f"| [`{f.id}`](docs/findings.md#{f.id}) | {f.library} {f.version_measured} | {f.kind} | "
              f"{error_cell(f)} |" for f in findings]
    if worst:
        lines += ["", f"Largest normal-range loss: `{worst[0].id}`, {_number(worst[0].ulp_error)} ULP."]
    return "\n".join(lines) + "\n"

