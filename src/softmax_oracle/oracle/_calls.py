"""Argument checking and term building for the softmax family and the elementwise functions.

Each ``*_terms`` function checks its arguments (through
:mod:`softmax_oracle.arguments`) and returns ``(Terms, input_format)``: a
builder of each output element's term and the call's fast phase.  Nothing
per element is built up front: a row's :class:`~._rows.Row` (and, for the
softmax and log_softmax gradients, the row's shared sums) is made the first
time one of its elements needs a term, so ``engine="auto"`` pays for the
elements the fast phase left undecided only.  The public modules
``oracle``, ``oracle.grad`` and ``exact`` only choose how to round them.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..arguments import float_array, grad_output_array, normalize_axis
from ..formats import Format
from . import _family, _fast_pointwise, _fast_rows, _pointwise
from ._evaluate import Terms
from ._rows import Row
from ._ziv import Term

__all__ = [
    "row_terms",
    "pointwise_terms",
    "hexlist",
    "RowLayout",
]


def hexlist(values) -> str:
    return "[" + ", ".join(float(v).hex() for v in values) + "]"


class RowLayout:
    """The rows of an array along ``axis``, as a float64 ``(rows, n)`` array, and the way back.

    Row ``r`` is the ``r``-th index (C order) of the other axes; :meth:`locate`
    maps a flat index of the input's layout to ``(r, j)`` and :meth:`restore`
    puts an ``(rows, n)`` array back in the input's layout.
    """

    def __init__(self, arr: np.ndarray, axis: int) -> None:
        self.shape = arr.shape
        self.axis = axis
        if not arr.ndim:
            moved = arr.reshape(1)
        else:
            moved = arr if axis == arr.ndim - 1 else np.moveaxis(arr, axis, -1)
        self.moved_shape = moved.shape
        self.n = moved.shape[-1]
        self.n_rows = math.prod(moved.shape[:-1])
        with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
            self.flat = np.ascontiguousarray(moved, dtype=np.float64).reshape(self.n_rows, self.n)

    def locate(self, i: int) -> tuple[int, int]:
        """``(row, position in the row)`` of flat element ``i`` in the input's layout."""
        if not self.shape:
            return 0, 0
        if self.axis == len(self.shape) - 1:  # rows are the C-order runs of the last axis
            return divmod(int(i), self.n)
        idx = np.unravel_index(i, self.shape)
        others = idx[: self.axis] + idx[self.axis + 1:]
        r = int(np.ravel_multi_index(others, self.moved_shape[:-1])) if others else 0
        return r, int(idx[self.axis])

    def restore(self, rows: np.ndarray) -> np.ndarray:
        """An ``(rows, n)`` array in the input's layout (shape ``self.shape``)."""
        if not self.shape:
            return rows.reshape(())
        rows = rows.reshape(self.moved_shape)
        return rows if self.axis == len(self.shape) - 1 else np.moveaxis(rows, -1, self.axis)

    def reduced(self, values: np.ndarray) -> np.ndarray:
        """A per-row array in the shape of the input without ``axis``."""
        return values.reshape(self.moved_shape[:-1])


class _Rows:
    """:class:`~._rows.Row` objects of a layout, each built on first use and kept."""

    def __init__(self, layout: RowLayout) -> None:
        self.layout = layout
        self._rows: dict[int, Row] = {}

    def __getitem__(self, r: int) -> Row:
        row = self._rows.get(r)
        if row is None:
            row = self._rows[r] = Row(self.layout.flat[r].tolist())
        return row


def _grad_rows(grad_output: Any, layout: RowLayout, reduced: bool) -> np.ndarray:
    """``grad_output`` per row: shape ``(rows,)`` (logsumexp) or ``(rows, n)``."""
    out_shape = tuple(s for i, s in enumerate(layout.shape) if i != layout.axis) if reduced else layout.shape
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        g = grad_output_array(grad_output, out_shape).astype(np.float64)
    if reduced:
        return g.reshape(layout.n_rows)
    moved = np.moveaxis(g, layout.axis, -1) if g.ndim else g.reshape(1)
    return np.ascontiguousarray(moved).reshape(layout.n_rows, layout.n)


_ROW_FORWARD = {"softmax": _family.softmax, "log_softmax": _family.log_softmax}
_ROW_GRAD = {"softmax": _family.grad_softmax, "log_softmax": _family.grad_log_softmax}


def _fast_rows_phase(name: str, layout: RowLayout, g: np.ndarray | None, grad: bool):
    """The fast phase of a row function (:mod:`._fast_rows`)."""
    return _fast_rows.phase(name, layout, g, grad=grad)


def row_terms(name: str, x: Any, axis: Any, grad_output: Any = None, *, grad: bool = False) -> tuple[Terms, Format]:
    """Terms of logsumexp / softmax / log_softmax (or their gradients) along ``axis``."""
    arr, fmt = float_array(x, "x")
    layout = RowLayout(arr, normalize_axis(axis, arr.ndim))
    rows = _Rows(layout)
    ax = layout.axis
    label = ("grad." if grad else "") + name
    if name == "logsumexp" and not grad:
        fast = _fast_rows_phase(name, layout, None, False)
        return Terms(label, lambda i: _family.logsumexp(rows[i]), layout.moved_shape[:-1],
                     lambda i: f"x along axis {ax}, row {hexlist(layout.flat[i])}", fast), fmt
    g_rows = _grad_rows(grad_output, layout, name == "logsumexp") if grad else None
    if grad and name == "logsumexp":
        def term(i: int) -> Term:
            r, j = layout.locate(i)
            return _family.grad_logsumexp(rows[r], j, float(g_rows[r]))
    elif grad:  # per row: the row's shared sums are formed once, with every element's term
        row_grads: dict[int, list[Term]] = {}

        def term(i: int) -> Term:
            r, j = layout.locate(i)
            if r not in row_grads:
                row_grads[r] = _ROW_GRAD[name](rows[r], g_rows[r].tolist())
            return row_grads[r][j]
    else:
        def term(i: int) -> Term:
            r, j = layout.locate(i)
            return _ROW_FORWARD[name](rows[r], j)

    def describe(i: int) -> str:
        r, j = layout.locate(i)
        extra = f", grad_output {g_rows[r].tolist()!r}" if grad else ""
        return f"x along axis {ax}, row {hexlist(layout.flat[r])}, element {j}{extra}"

    return Terms(label, term, arr.shape, describe, _fast_rows_phase(name, layout, g_rows, grad)), fmt


_POINTWISE: dict[str, Callable] = {
    "sigmoid": _pointwise.sigmoid,
    "log_sigmoid": _pointwise.log_sigmoid,
    "softplus": _pointwise.softplus,
}
_POINTWISE_GRAD: dict[str, Callable] = {
    "sigmoid": _pointwise.grad_sigmoid,
    "log_sigmoid": _pointwise.grad_log_sigmoid,
    "softplus": _pointwise.grad_softplus,
}


def _fast_pointwise_phase(name: str, values: np.ndarray, g: np.ndarray | None, shape: tuple[int, ...]):
    """The fast phase of an elementwise function (:mod:`._fast_pointwise`)."""
    return _fast_pointwise.phase(name, values, g, shape)


def pointwise_terms(name: str, x: Any, grad_output: Any = None, *, grad: bool = False) -> tuple[Terms, Format]:
    """Terms of sigmoid / log_sigmoid / softplus (or their gradients), elementwise."""
    arr, fmt = float_array(x, "x")
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        values = arr.astype(np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        g = grad_output_array(grad_output, arr.shape).astype(np.float64).reshape(-1) if grad else None
    if grad:
        term = lambda i: _POINTWISE_GRAD[name](float(values[i]), float(g[i]))  # noqa: E731
        describe = lambda i: f"x = {float(values[i]).hex()}, grad_output = {float(g[i]).hex()}"  # noqa: E731
    else:
        term = lambda i: _POINTWISE[name](float(values[i]))  # noqa: E731
        describe = lambda i: f"x = {float(values[i]).hex()}"  # noqa: E731
    fast = _fast_pointwise_phase(name, values, g, arr.shape)
    return Terms(("grad." if grad else "") + name, term, arr.shape, describe, fast), fmt
