"""Markdown and JSON of the exhaustive float32 results (pure functions returning ``str``)."""

from __future__ import annotations

import json
import math
from typing import Iterable

from ._exhaustive import Exhaustive32Result

__all__ = ["exhaustive32_lines", "render_exhaustive32_markdown", "render_exhaustive32_json"]


def _ulp(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}" if value < 1e4 else f"{value:.2e}"


def _coverage(r: Exhaustive32Result) -> str:
    share = r.n / 2**32
    return f"all 2^32 ({r.n:,})" if r.complete else f"{r.n:,} ({100 * share:.3g} %, {r.chunks_done}/{r.chunks_total} chunks)"


def exhaustive32_lines(results: Iterable[Exhaustive32Result], *, worst: int = 20) -> list[str]:
    """The "Exhaustive float32 checks" section: one summary row per result, then each one's worst inputs."""
    results = list(results)
    if not results:
        return []
    rows = []
    for r in results:
        rows.append(f"| `{r.candidate}` | {r.label} | {_coverage(r)} | {_ulp(r.max_ulp_error)} | "
                    f"≤ {_ulp(r.median_ulp_error)} | ≤ {_ulp(r.p99_ulp_error)} | {r.not_correctly_rounded:,} | "
                    f"{r.wrong_class:,} | {r.zero_signs:,} | {r.seconds:,.0f} s |")
    lines = ["## Exhaustive float32 checks", "",
             "Every float32 bit pattern is an input (NaNs, infinities and subnormals included), in chunks of "
             "consecutive patterns; a partial run says how many chunks it covers.  Median and p99 are read off a "
             "histogram merged exactly over the chunks (the upper edge of their bin: 2^-12 ULP wide below 1 ULP, "
             "1.1 % above).  *not CR*: results other than the correctly rounded value (wrong classes included, "
             "zero signs apart).  Time: compute seconds summed over chunks (the oracle's share split among the "
             "candidates).  Regenerate with `softmax-oracle report --exhaustive float32 --function F [--grad] "
             "--candidate C --workers 2 --out DIR`.", "",
             "| candidate | function | inputs | max ULP | median | p99 | not CR | ✗ | ±0 | time |",
             "|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
    fallback = [r for r in results if r.fallback_inputs]
    if fallback:
        lines += ["Blocks of inputs where MPFR cannot hold an exact value are measured against the correctly "
                  "rounded values (ULP errors then within 0.5 ULP of the truth; exact where the result rounds "
                  "to zero): "
                  + "; ".join(f"`{r.candidate}` {r.label}: {r.fallback_inputs:,} inputs" for r in fallback) + ".", ""]
    for r in results:
        shown = [w for w in r.worst[:worst] if w.ulp_error > 0.5 or w.kind]
        if not shown:
            continue
        lines += [f"<details><summary>{r.candidate} {r.label}: the {len(shown)} worst inputs</summary>", "",
                  "| input | got | correctly rounded | exact | ULP error |", "|---|---|---|---|---|"]
        lines += [f"| `{w.input}` | {w.got!r} | {w.rounded!r} | {w.exact} | "
                  f"{w.kind.replace('_', ' ') if w.kind else _ulp(w.ulp_error)} |" for w in shown]
        lines += ["", "</details>", ""]
    return lines


def render_exhaustive32_markdown(results: Iterable[Exhaustive32Result]) -> str:
    return "\n".join(exhaustive32_lines(results)) + "\n"


def render_exhaustive32_json(results: Iterable[Exhaustive32Result]) -> str:
    return json.dumps({"results": [r.to_dict() for r in results]}, indent=1, allow_nan=False) + "\n"
