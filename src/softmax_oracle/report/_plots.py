"""PNG renderers of a :class:`Report` (matplotlib object API on the Agg canvas; no pyplot state).

* ``scale-<function>.png``: max ULP error against logit magnitude, one line
  per candidate, one panel per dtype (class mismatches as crosses along the
  top edge);
* ``heatmap.png`` / ``heatmap-grad.png``: candidates x functions, colour =
  max ULP error over dtypes and regimes (log scale), ``✗`` = class mismatches.
"""

from __future__ import annotations

import io
import math
from typing import Iterable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from ._records import Report
from ._render import Cell, leaderboard

__all__ = ["plot_names", "plot_files", "scale_figure", "heatmap_figure", "png_bytes"]

_DPI = 100


def png_bytes(figure: Figure) -> bytes:
    """``figure`` rendered as PNG by the Agg canvas."""
    buffer = io.BytesIO()
    with np.errstate(over="ignore"):  # symlog tick search overflows harmlessly near 1e308 ULP
        FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _file_label(label: str) -> str:
    return label.replace(".", "-")


def plot_names(report: Report) -> list[str]:
    """File names :func:`plot_files` produces for ``report``."""
    names = []
    for grad in (False, True):
        if report.labels(grad=grad):
            names.append("heatmap-grad.png" if grad else "heatmap.png")
    labels = dict.fromkeys(r.label for r in report.records if r.regime == "scale")
    names += [f"scale-{_file_label(label)}.png" for label in labels]
    return names


def scale_figure(report: Report, label: str) -> Figure:
    """Max ULP error against logit magnitude for ``label`` (``"softmax"``, ``"grad.softmax"``)."""
    records = [r for r in report.records if r.regime == "scale" and r.label == label]
    dtypes = list(dict.fromkeys(r.dtype for r in records))
    columns = 2 if len(dtypes) > 1 else 1
    rows = math.ceil(len(dtypes) / columns) or 1
    fig = Figure(figsize=(6.0 * columns, 3.6 * rows + 0.6), dpi=_DPI)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.9, wspace=0.22, hspace=0.38)
    fig.suptitle(f"{label}: max ULP error vs logit magnitude (× = class mismatches; gaps: oracle undecided)")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    candidates = list(dict.fromkeys(r.candidate for r in records))
    colors = {c: f"C{i % 10}" for i, c in enumerate(candidates)}
    for ax, dtype in zip(axes, dtypes):
        top_edge = blended_transform_factory(ax.transData, ax.transAxes)
        for candidate in candidates:
            points = sorted((r.parameter, r.max_ulp_error, r.mismatches) for r in records
                            if r.dtype == dtype and r.candidate == candidate)
            if not points:
                continue
            x = np.array([p[0] for p in points], dtype=float)
            y = np.array([p[1] for p in points], dtype=float)
            ax.plot(x, y, marker="o", markersize=3, color=colors[candidate], label=candidate)
            bad = np.array([p[2] > 0 for p in points])
            if bad.any():
                ax.plot(x[bad], np.full(bad.sum(), 0.96), linestyle="none", marker="x", markersize=7,
                        color=colors[candidate], transform=top_edge)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0.0, top=max(2.0, ax.get_ylim()[1]))
        ax.axhline(0.5, color="0.6", linewidth=0.8, linestyle="--")
        ax.set_title(dtype)
        ax.set_xlabel("logit magnitude (scale)")
        ax.set_ylabel("max ULP error")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes[len(dtypes):]:
        ax.set_visible(False)
    if candidates:
        axes[0].legend(fontsize="small", loc="upper left")
    return fig


def heatmap_figure(report: Report, *, grad: bool) -> Figure:
    """Candidates x functions, coloured by the max ULP error over dtypes and regimes."""
    board = leaderboard(report, grad=grad)
    labels = list(report.labels(grad=grad))
    candidates = list(report.candidates)
    values = np.full((len(candidates), len(labels)), np.nan)
    text = [["" for _ in labels] for _ in candidates]
    for (candidate, label), cells in board.items():
        i, j = candidates.index(candidate), labels.index(label)
        cell = _merge(cells.values())
        values[i, j] = cell.max_ulp_error
        text[i][j] = ("n/a" if math.isnan(cell.max_ulp_error) else f"{cell.max_ulp_error:.3g}") + \
            ("\n✗" + str(cell.mismatches) if cell.mismatches else "")
    fig = Figure(figsize=(1.3 * len(labels) + 3.0, 0.6 * len(candidates) + 2.2), dpi=_DPI, layout="constrained")
    ax = fig.subplots()
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN cells stay NaN (masked, grey)
        shades = np.log10(np.clip(values, 0.25, 1e300))
    finite = shades[np.isfinite(shades)]
    high = max(float(finite.max()) if finite.size else 0.0, 0.0)
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(shades), cmap=cmap, aspect="auto",
                      norm=Normalize(vmin=math.log10(0.25), vmax=max(high, 1.0)))
    for i in range(len(candidates)):
        for j in range(len(labels)):
            if text[i][j]:
                shade = shades[i, j]
                dark = math.isnan(shade) or shade < (math.log10(0.25) + max(high, 1.0)) / 2
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(candidates)), candidates)
    ax.set_title(f"max ULP error over dtypes and regimes ({'gradients' if grad else 'values'}; ✗ = class mismatches)")
    fig.colorbar(image, ax=ax, label="log10 max ULP error (0.5 = correctly rounded: -0.3)")
    return fig


def _merge(cells: Iterable[Cell]) -> Cell:
    cells = list(cells)
    errors = [c.max_ulp_error for c in cells if not math.isnan(c.max_ulp_error)]
    problems = [c.status for c in cells if c.status != "ok"]
    return Cell(max(errors) if errors else math.nan, sum(c.mismatches for c in cells),
                problems[0] if problems else "ok", sum(c.n for c in cells))


def plot_files(report: Report) -> dict[str, bytes]:
    """``{file name: PNG bytes}`` for every plot of ``report``."""
    files: dict[str, bytes] = {}
    with np.errstate(over="ignore"):  # symlog ticks near 1e308 ULP overflow harmlessly while laying out
        for name in plot_names(report):
            files[name] = png_bytes(_figure(report, name))
    return files


def _figure(report: Report, name: str) -> Figure:
    if name.startswith("heatmap"):
        return heatmap_figure(report, grad=name == "heatmap-grad.png")
    label = name[len("scale-"):-len(".png")]
    return scale_figure(report, "grad." + label[len("grad-"):] if label.startswith("grad-") else label)
