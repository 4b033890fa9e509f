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


def _rows(x: np.ndarray, axis: int) -> tuple[list[Row], np.ndarray]:
    moved = np.moveaxis(x, axis, -1) if x.ndim else x.reshape(1)
    n = moved.shape[-1] if moved.ndim else 1
    flat = moved.astype(np.float64).reshape(-1, n) if n else np.zeros((int(np.prod(moved.shape[:-1])), 0))
    return [Row(r) for r in flat.tolist()], moved


def row_terms(name: str, x: Any, axis: Any, grad_output: Any = None, *, grad: bool = False) -> tuple[Terms, Format]:
    """Terms of logsumexp / softmax / log_softmax (or their gradients) along ``axis``."""
    arr, fmt = float_array(x, "x")
    ax = normalize_axis(axis, arr.ndim)
    rows, moved = _rows(arr, ax)
    n = moved.shape[-1] if moved.ndim else 1
    reduced = name == "logsumexp"
    out_shape = tuple(s for i, s in enumerate(arr.shape) if i != ax) if reduced and arr.ndim else (arr.shape if not reduced else ())
    if grad:
        g = grad_output_array(grad_output, out_shape)
        g_rows = g.astype(np.float64).reshape(-1).tolist() if reduced else np.moveaxis(g, ax, -1).astype(np.float64).reshape(-1, n).tolist() if arr.ndim else [[float(g)]]
    terms: list = []
    for r, row in enumerate(rows):
        if name == "logsumexp" and not grad:
            terms.append(_family.logsumexp(row))
        elif name == "logsumexp":
            terms.extend(_family.grad_logsumexp(row, j, g_rows[r]) for j in range(n))
        elif not grad:
            f = _family.softmax if name == "softmax" else _family.log_softmax
            terms.extend(f(row, j) for j in range(n))
        else:
            f = _family.grad_softmax if name == "softmax" else _family.grad_log_softmax
            terms.extend(f(row, j, g_rows[r]) for j in range(n))
    if reduced and not grad:
        shape = out_shape
        describe = lambda i: f"x along axis {ax}, row {i}: {hexlist(rows[i].values)}"  # noqa: E731
        return Terms(name, terms, shape, describe), fmt
    # elementwise-shaped output: terms are in the moved layout; reorder to the input's layout
    moved_shape = moved.shape
    order = np.moveaxis(np.arange(len(terms)).reshape(moved_shape), -1, ax).reshape(-1) if arr.ndim else np.arange(len(terms))
    ordered = [terms[i] for i in order.tolist()]

    def describe(i: int) -> str:
        r = int(order[i]) // max(n, 1)
        extra = f", grad_output row {hexlist(g_rows[r]) if not reduced else float(g_rows[r]).hex()}" if grad else ""
        return f"x along axis {ax}, row {hexlist(rows[r].values)}, element {int(order[i]) % max(n, 1)}{extra}"

    return Terms(("grad." if grad else "") + name, ordered, arr.shape, describe), fmt


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
