"""Defects the oracle found in other libraries, kept as data and rechecked against the installed versions.

>>> from softmax_oracle.findings import FINDINGS
>>> sorted({f.library for f in FINDINGS})
['jax', 'scipy', 'torch']

Each :class:`Finding` carries a minimal input in exact hex floats, a
standalone repro, the library's result next to the correctly rounded and the
exact value, the ULP and relative error, the condition number, a kind (one of
:data:`KINDS`) and a paragraph on the cause and the fix.  :func:`recheck_all`
reruns the repros (``softmax-oracle findings --recheck``); the renderers turn
records into Markdown and JSON.

Layout: ``_record`` (the record type), ``_corpus`` (the records, written by
``tools/make_findings.py``), ``_measure`` (the oracle's side of a record),
``_recheck`` (rerunning repros), ``_render`` (Markdown, JSON, the docs page).
"""

from __future__ import annotations

from ._corpus import FINDINGS
from ._measure import Measured, measure, measured_of
from ._recheck import FIXED_MAX_ULP, STATUSES, Recheck, recheck, recheck_all, run_repro, summary_counts
from ._record import KINDS, LIBRARIES, Finding
from ._render import SCHEMA, SCHEMA_VERSION, docs_page, findings_json, findings_table, readme_section, recheck_table

__all__ = [
    "FINDINGS",
    "Finding",
    "KINDS",
    "LIBRARIES",
    "Measured",
    "measure",
    "measured_of",
    "Recheck",
    "STATUSES",
    "FIXED_MAX_ULP",
    "recheck",
    "recheck_all",
    "run_repro",
    "summary_counts",
    "SCHEMA",
    "SCHEMA_VERSION",
    "findings_table",
    "findings_json",
    "recheck_table",
    "docs_page",
    "readme_section",
]
