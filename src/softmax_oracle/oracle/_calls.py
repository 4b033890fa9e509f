"""Argument checking and term building for the softmax family and the elementwise functions.

Each ``*_terms`` function checks its arguments (through
:mod:`softmax_oracle.arguments`), builds one term per output element and
returns ``(Terms, input_format)``.  The public modules ``oracle``,
``oracle.grad`` and ``exact`` only choose how to round them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..arguments import float_array, grad_output_array, normalize_axis
from ..formats import Format
from . import _family, _pointwise
from ._evaluate import Terms
from ._rows import Row

__all__ = [
    "row_terms",
    "pointwise_terms",
    "hexlist",
]


def hexlist(values) -> str:
    return "[" + ", ".join(float(v).hex() for v in values) + "]"


def _rows(arr: np.ndarray, axis: int) -> tuple[list[Row], tuple[int, ...]]:
    """The rows along ``axis`` (C order of the other axes) and the moved shape ``(..., n)``."""
    moved = np.moveaxis(arr, axis, -1) if arr.ndim else arr.reshape(1)
    n_rows = int(np.prod(moved.shape[:-1]))
    flat = moved.astype(np.float64).reshape(n_rows, moved.shape[-1])
    return [Row(r) for r in flat.tolist()], moved.shape


def _grad_rows(grad_output: Any, out_shape: tuple[int, ...], axis: int, reduced: bool, n: int) -> list:
    """``grad_output`` per row: one float per row (logsumexp) or one list per row."""
    g = grad_output_array(grad_output, out_shape).astype(np.float64)
    if reduced:
        return g.reshape(-1).tolist()
    moved = np.moveaxis(g, axis, -1) if g.ndim else g.reshape(1)
    return moved.reshape(int(np.prod(moved.shape[:-1])), n).tolist()


_ROW_FORWARD = {"softmax": _family.softmax, "log_softmax": _family.log_softmax}
_ROW_GRAD = {"softmax": _family.grad_softmax, "log_softmax": _family.grad_log_softmax}


def row_terms(name: str, x: Any, axis: Any, grad_output: Any = None, *, grad: bool = False) -> tuple[Terms, Format]:
    """Terms of logsumexp / softmax / log_softmax (or their gradients) along ``axis``."""
    arr, fmt = float_array(x, "x")
    ax = normalize_axis(axis, arr.ndim)
    rows, moved_shape = _rows(arr, ax)
    n = moved_shape[-1]
    label = ("grad." if grad else "") + name
    if name == "logsumexp" and not grad:
        terms = [_family.logsumexp(row) for row in rows]
        return Terms(label, terms, moved_shape[:-1], lambda i: f"x along axis {ax}, row {hexlist(rows[i].values)}"), fmt
    if grad:
        out_shape = tuple(s for i, s in enumerate(arr.shape) if i != ax) if name == "logsumexp" else arr.shape
        g_rows = _grad_rows(grad_output, out_shape, ax, name == "logsumexp", n)
        if name == "logsumexp":
            terms = [_family.grad_logsumexp(row, j, g_rows[r]) for r, row in enumerate(rows) for j in range(n)]
        else:  # per row: the row's shared sums are formed once, not once per element
            f = _ROW_GRAD[name]
            terms = [t for r, row in enumerate(rows) for t in f(row, g_rows[r])]
    else:
        f = _ROW_FORWARD[name]
        terms = [f(row, j) for row in rows for j in range(n)]
    # terms are in the moved layout (rows last); put them back in the input's layout
    order = np.moveaxis(np.arange(len(terms)).reshape(moved_shape), -1, ax).reshape(-1).tolist() if arr.ndim else [0]

    def describe(i: int) -> str:
        r, j = divmod(order[i], max(n, 1))
        extra = f", grad_output {g_rows[r]!r}" if grad else ""
        return f"x along axis {ax}, row {hexlist(rows[r].values)}, element {j}{extra}"

    return Terms(label, [terms[i] for i in order], arr.shape, describe), fmt


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


def pointwise_terms(name: str, x: Any, grad_output: Any = None, *, grad: bool = False) -> tuple[Terms, Format]:
    """Terms of sigmoid / log_sigmoid / softplus (or their gradients), elementwise."""
    arr, fmt = float_array(x, "x")
    values = arr.astype(np.float64).reshape(-1).tolist()
    if grad:
        g = grad_output_array(grad_output, arr.shape).astype(np.float64).reshape(-1).tolist()
        terms = [_POINTWISE_GRAD[name](v, gv) for v, gv in zip(values, g)]
        describe = lambda i: f"x = {values[i].hex()}, grad_output = {g[i].hex()}"  # noqa: E731
    else:
        terms = [_POINTWISE[name](v) for v in values]
        describe = lambda i: f"x = {values[i].hex()}"  # noqa: E731
    return Terms(("grad." if grad else "") + name, terms, arr.shape, describe), fmt
