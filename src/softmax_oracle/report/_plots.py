"""PNG renderers of a :class:`Report` (matplotlib object API on the Agg canvas; no pyplot state).

* ``scale-<function>.png``: max ULP error (top row) and max relative error
  (bottom row) against logit magnitude, log scales, one line per candidate,
  one column per dtype, the overflow point ``log(max)`` marked (wrong-class
  results as crosses along the top edge);
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
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from ..formats import format_of
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


_ULP_FLOOR = 1e-2  # errors below this (0 included) are drawn at the floor of the log axis
_REL_FLOOR = 1e-20
_STYLES = (("o", 2.6), ("s", 2.2), ("^", 1.8), ("v", 1.4), ("D", 1.0), ("x", 0.7))
_SPARSE_SHARE = 0.3  # share of the x axis given to the sparse part of the sweep (beyond 10x the overflow point)


def _compressed_log_axis(ax: Axes, knee: float, top: float) -> None:
    """Log x axis, linear in ``log10`` up to ``knee``, then compressed so the sparse tail takes a fixed share."""
    low = -3.0
    k = math.log10(knee)
    tail = max(math.log10(top) - k, 1e-9)
    factor = _SPARSE_SHARE / (1 - _SPARSE_SHARE) * (k - low) / tail if top > knee else 1.0

    def forward(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # matplotlib probes x <= 0 while laying out
            v = np.log10(np.asarray(x, dtype=float))
        return np.where(v <= k, v, k + (v - k) * factor)

    def inverse(y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        with np.errstate(over="ignore"):  # beyond 1e308: inf, off the axis anyway
            return np.where(y <= k, 10.0**y, 10.0 ** (k + (y - k) / factor))

    ax.set_xscale("function", functions=(forward, inverse))
    ticks = [10.0**e for e in range(-3, math.floor(k) + 1)]
    if top > knee:
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100) if s >= tail / 4)
        ticks += [10.0**e for e in range(step * (math.floor(k / step) + 1), math.floor(math.log10(top)) + 1, step)]
    ax.set_xticks(ticks, [f"1e{round(math.log10(t))}" for t in ticks], fontsize="x-small", rotation=45)
    ax.set_xlim(10.0**low / 1.5, top * 1.5 if top < 1e300 else top)


def _panel(ax: Axes, records: list, dtype: str, colors: dict[str, str], *, relative: bool) -> None:
    from ._plan import overflow_point

    floor = _REL_FLOOR if relative else _ULP_FLOOR
    top_edge = blended_transform_factory(ax.transData, ax.transAxes)
    for candidate, color in colors.items():
        points = sorted((r.parameter, r.max_relative_error if relative else r.max_ulp_error, r.mismatches)
                        for r in records if r.dtype == dtype and r.candidate == candidate)
        if not points:
            continue
        x = np.array([p[0] for p in points], dtype=float)
        y = np.clip(np.array([p[1] for p in points], dtype=float), floor, None)
        marker, width = _STYLES[list(colors).index(candidate) % len(_STYLES)]
        # candidates often share a curve (scipy, torch and jax compute alike): markers and widths tell them apart
        ax.plot(x, y, marker=marker, markersize=3.5, linewidth=width, color=color, label=candidate,
                markerfacecolor="none")
        bad = np.array([p[2] > 0 for p in points])
        if bad.any():
            ax.plot(x[bad], np.full(bad.sum(), 0.97), linestyle="none", marker="x", markersize=6, color=color,
                    transform=top_edge)
    fmt = format_of(dtype)
    edge = overflow_point(dtype)
    top = fmt.max_value / 2 if fmt.max_value * 2 == math.inf else fmt.max_value
    _compressed_log_axis(ax, 10 * edge, top)
    ax.set_yscale("log")
    ax.axvline(edge, color="crimson", linewidth=1.0, linestyle=":")
    ax.text(edge, 0.02, f" exp overflows\n at {edge:.2f}", color="crimson", fontsize="x-small",
            transform=top_edge, va="bottom")
    if relative:
        ax.axhline(2.0 ** -fmt.precision, color="0.5", linewidth=0.8, linestyle="--")
        ax.set_ylabel("max relative error")
    else:
        ax.axhline(0.5, color="0.5", linewidth=0.8, linestyle="--")
        ax.set_ylabel("max ULP error (0.5 = correctly rounded)")
        ax.set_title(dtype)
    ax.set_ylim(bottom=floor / 2)
    ax.set_xlabel("logit magnitude s (rows drawn in [-s, s]; shaded: sparse tail)", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    if top > 10 * edge:
        ax.axvspan(10 * edge, top, color="0.93", zorder=0)  # after the limits: an empty axis cannot invert


def scale_figure(report: Report, label: str) -> Figure:
    """ULP and relative error against logit magnitude for ``label`` (``"softmax"``, ``"grad.softmax"``).

    One column per dtype, ULP error above and relative error below, both on
    log scales (errors below the floor, 0 included, drawn on it); the
    overflow point ``log(max)`` is marked; the x axis is logarithmic and
    compressed beyond ten times the overflow point, where the sweep is sparse.
    """
    records = [r for r in report.records if r.regime == "scale" and r.label == label]
    dtypes = list(dict.fromkeys(r.dtype for r in records)) or ["float64"]
    fig = Figure(figsize=(4.6 * len(dtypes), 7.4), dpi=_DPI)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.12, top=0.88, wspace=0.28, hspace=0.45)
    fig.suptitle(f"{label}: max error vs logit magnitude (× = wrong-class results; gaps: oracle undecided; "
                 "dashed: 0.5 ULP / unit roundoff)")
    axes = fig.subplots(2, len(dtypes), squeeze=False)
    candidates = list(dict.fromkeys(r.candidate for r in records))
    colors = {c: f"C{i % 10}" for i, c in enumerate(candidates)}
    for column, dtype in enumerate(dtypes):
        _panel(axes[0, column], records, dtype, colors, relative=False)
        _panel(axes[1, column], records, dtype, colors, relative=True)
    if candidates:
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=len(candidates),
                   fontsize="small", bbox_to_anchor=(0.5, 0.955), frameon=False)
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
            ("\n✗" + str(cell.mismatches) if cell.mismatches else "") + \
            ("\n±0:" + str(cell.zero_signs) if cell.zero_signs else "")
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
    ax.set_title(f"max ULP error over dtypes and regimes ({'gradients' if grad else 'values'}; "
                 "✗ = wrong-class results, ±0 = zeros of the wrong sign)")
    fig.colorbar(image, ax=ax, label="log10 max ULP error (0.5 = correctly rounded: -0.3)")
    return fig


def _merge(cells: Iterable[Cell]) -> Cell:
    cells = list(cells)
    errors = [c.max_ulp_error for c in cells if not math.isnan(c.max_ulp_error)]
    problems = [c.status for c in cells if c.status != "ok"]
    return Cell(max(errors) if errors else math.nan, sum(c.mismatches for c in cells),
                problems[0] if problems else "ok", sum(c.n for c in cells), sum(c.zero_signs for c in cells))


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
