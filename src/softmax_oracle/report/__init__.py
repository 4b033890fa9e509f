"""The error report: sweeps of candidates x functions x dtypes x regimes against the oracle.

>>> from softmax_oracle.report import SweepConfig, run_sweep, write_report   # doctest: +SKIP
>>> report = run_sweep(SweepConfig.quick(), out_dir="out", workers=2)         # doctest: +SKIP
>>> write_report(report, "out")                                               # doctest: +SKIP

Layers: :class:`SweepConfig` and :func:`plan_units` say what to evaluate;
:func:`run_unit` evaluates one :class:`WorkUnit` (in any process);
:func:`run_sweep` runs them (serially, in a process pool or on a dask
cluster), journaling finished units so a killed run resumes; the renderers
(:func:`render_markdown`, :func:`render_json`, :func:`render_csv`,
:func:`plot_files`) turn a :class:`Report` into text and PNG bytes, and
:func:`write_report` writes them atomically.
"""

from __future__ import annotations

from ._condition import condition_number
from ._evaluate import argument_sets, run_unit, worst_arguments
from ._files import Journal, write_atomic, write_report
from ._plan import (
    EXHAUSTIVE_DTYPES,
    EXHAUSTIVE_FUNCTIONS,
    SweepConfig,
    WorkUnit,
    plan_units,
    scale_points,
)
from ._plots import heatmap_figure, plot_files, scale_figure
from ._records import EXHAUSTIVE, SAMPLED, SCHEMA_VERSION, Record, Report
from ._render import leaderboard, render_csv, render_json, render_markdown
from ._run import run_sweep

__all__ = [
    "SCHEMA_VERSION",
    "SAMPLED",
    "EXHAUSTIVE",
    "Record",
    "Report",
    "SweepConfig",
    "WorkUnit",
    "EXHAUSTIVE_FUNCTIONS",
    "EXHAUSTIVE_DTYPES",
    "plan_units",
    "scale_points",
    "argument_sets",
    "run_unit",
    "worst_arguments",
    "run_sweep",
    "condition_number",
    "Journal",
    "write_atomic",
    "write_report",
    "leaderboard",
    "render_markdown",
    "render_json",
    "render_csv",
    "plot_files",
    "scale_figure",
    "heatmap_figure",
]
