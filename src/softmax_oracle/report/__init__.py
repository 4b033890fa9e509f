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
:func:`write_report` writes them atomically.  :func:`run_exhaustive32` checks
a univariate function on all 2**32 float32 inputs in resumable chunks.
"""

from __future__ import annotations

from ._condition import condition_number
from ._evaluate import argument_sets, run_unit, worst_arguments
from ._exhaustive import (
    EXHAUSTIVE32_FUNCTIONS,
    ChunkTask,
    Exhaustive32Result,
    load_exhaustive32,
    merge_chunks,
    plan_chunks,
    run_chunk,
    run_exhaustive32,
)
from ._files import LONG_INPUT, Journal, externalize_inputs, read_input, write_atomic, write_report
from ._plan import (
    EXHAUSTIVE_DTYPES,
    EXHAUSTIVE_FUNCTIONS,
    SweepConfig,
    WorkUnit,
    overflow_point,
    plan_units,
    scale_points,
)
from ._plots import heatmap_figure, plot_files, scale_figure
from ._records import EXHAUSTIVE, RECORD_FIELDS, SAMPLED, SCHEMA_VERSION, Record, Report, record_dicts
from ._diagnosis import diagnosis
from ._render import break_rows, leaderboard, render_csv, render_json, render_markdown
from ._render_exhaustive import render_exhaustive32_json, render_exhaustive32_markdown
from ._run import fan_out, run_sweep

__all__ = [
    "SCHEMA_VERSION",
    "SAMPLED",
    "EXHAUSTIVE",
    "Record",
    "Report",
    "RECORD_FIELDS",
    "record_dicts",
    "SweepConfig",
    "WorkUnit",
    "EXHAUSTIVE_FUNCTIONS",
    "EXHAUSTIVE_DTYPES",
    "plan_units",
    "scale_points",
    "overflow_point",
    "argument_sets",
    "run_unit",
    "worst_arguments",
    "run_sweep",
    "fan_out",
    "EXHAUSTIVE32_FUNCTIONS",
    "ChunkTask",
    "Exhaustive32Result",
    "plan_chunks",
    "run_chunk",
    "run_exhaustive32",
    "merge_chunks",
    "load_exhaustive32",
    "render_exhaustive32_markdown",
    "render_exhaustive32_json",
    "condition_number",
    "Journal",
    "LONG_INPUT",
    "externalize_inputs",
    "read_input",
    "write_atomic",
    "write_report",
    "leaderboard",
    "break_rows",
    "diagnosis",
    "render_markdown",
    "render_json",
    "render_csv",
    "plot_files",
    "scale_figure",
    "heatmap_figure",
]
