"""Public shells of the softmax family and the elementwise functions, shared by the tiers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arguments import float_array, normalize_axis, output_format
from ._rounding import round_to_format
from ._fast_rows import fast_call
from ._select import Selector

__all__ = ["FamilyFunctions"]

_BLOCK = 1 << 15  # elements per block of rows (256 KiB of float64)


def as_rows(arr: np.ndarray, axis: int, dtype: np.dtype) -> np.ndarray:
    """``arr`` with ``axis`` last, flattened to 2-D rows, in ``dtype`` (0-d -> one row of one)."""
    moved = arr.reshape(1, 1) if arr.ndim == 0 else (arr if axis == arr.ndim - 1 else np.moveaxis(arr, axis, -1))
    n_rows = int(np.prod(moved.shape[:-1]))
    with np.errstate(invalid="ignore"):  # NaN inputs with payloads warn when widened; they stay NaN
        return moved.reshape(n_rows, moved.shape[-1]).astype(dtype, copy=False)


def from_rows(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Inverse of :func:`as_rows` for an array of the input's shape."""
    if len(shape) == 0:
        return rows.reshape(())
    if axis == len(shape) - 1:
        return rows.reshape(shape)
    moved = tuple(s for i, s in enumerate(shape) if i != axis) + (shape[axis],)
    return np.moveaxis(rows.reshape(moved), -1, axis)


class FamilyFunctions:
    """logsumexp, softmax, log_softmax, sigmoid, log_sigmoid, softplus for one tier."""

    def __init__(self, select: Selector, tier: str) -> None:
        self._select = select
        self.tier = tier

    def _rows_call(self, method: str, x: Any, axis: Any, dtype: Any) -> np.ndarray:
        fast = fast_call(self.tier, method, x, axis, dtype)
        if fast is not None:
            return fast
        arr, fin = float_array(x, "x")
        ax = normalize_axis(axis, arr.ndim)
        fout = output_format(dtype, fin)
        kernels, work = self._select(fin, fout, True)
        if method == "logsumexp":
            rows = as_rows(arr, ax, work)
            if rows.shape[1] == 0:
                out = np.full(rows.shape[0], -np.inf, dtype=work)  # empty sum: log 0
            else:
                out = kernels.logsumexp(rows)
            shape = tuple(s for i, s in enumerate(arr.shape) if i != ax)
            return round_to_format(out.reshape(shape), fout)
        rows = as_rows(arr, ax, arr.dtype)
        if not rows.size:
            return round_to_format(from_rows(rows.copy(), arr.shape, ax), fout)
        kernel = getattr(kernels, method)
        # Cache-sized blocks of rows, converted and rounded block by block: fresh
        # multi-megabyte temporaries cost more in page faults than the arithmetic.
        step = max(1, _BLOCK // rows.shape[1])
        if step >= rows.shape[0]:
            with np.errstate(invalid="ignore"):  # NaN payloads warn when widened; they stay NaN
                widened = rows.astype(work, copy=False)
            out = round_to_format(kernel(widened), fout)
        else:
            out = np.empty(rows.shape, dtype=fout.dtype)
            for start in range(0, rows.shape[0], step):
                with np.errstate(invalid="ignore"):  # NaN payloads warn when widened; they stay NaN
                    block = rows[start:start + step].astype(work, copy=False)
                out[start:start + step] = round_to_format(kernel(block), fout)
        return from_rows(out, arr.shape, ax)

    def _pointwise_call(self, method: str, x: Any, dtype: Any) -> np.ndarray:
        arr, fin = float_array(x, "x")
        fout = output_format(dtype, fin)
        kernels, work = self._select(fin, fout, False)
        with np.errstate(invalid="ignore"):  # NaN inputs with payloads warn when widened; they stay NaN
            widened = arr.astype(work, copy=False)
        return round_to_format(np.asarray(getattr(kernels, method)(widened)), fout)

    def logsumexp(self, x: Any, axis: Any = -1, *, dtype: Any = None) -> np.ndarray:
        """log(sum(exp(x))) along ``axis``: ``-inf`` for an empty axis or an all ``-inf`` row,
        ``+inf`` if the row holds ``+inf``, NaN if it holds NaN."""
        return self._rows_call("logsumexp", x, axis, dtype)

    def softmax(self, x: Any, axis: Any = -1, *, dtype: Any = None) -> np.ndarray:
        """exp(x_i) / sum_j exp(x_j) along ``axis``; ``-inf`` logits give 0; rows with NaN,
        ``+inf`` or only ``-inf`` give NaN."""
        return self._rows_call("softmax", x, axis, dtype)

    def log_softmax(self, x: Any, axis: Any = -1, *, dtype: Any = None) -> np.ndarray:
        """x_i - logsumexp(x) along ``axis``; ``-inf`` logits give ``-inf``; rows with NaN,
        ``+inf`` or only ``-inf`` give NaN."""
        return self._rows_call("log_softmax", x, axis, dtype)

    def sigmoid(self, x: Any, *, dtype: Any = None) -> np.ndarray:
        """1 / (1 + exp(-x)); sigmoid(+inf) = 1, sigmoid(-inf) = 0."""
        return self._pointwise_call("sigmoid", x, dtype)

    def log_sigmoid(self, x: Any, *, dtype: Any = None) -> np.ndarray:
        """-log(1 + exp(-x)); log_sigmoid(+inf) = -0.0, log_sigmoid(-inf) = -inf."""
        return self._pointwise_call("log_sigmoid", x, dtype)

    def softplus(self, x: Any, *, dtype: Any = None) -> np.ndarray:
        """log(1 + exp(x)); softplus(+inf) = inf, softplus(-inf) = 0."""
        return self._pointwise_call("softplus", x, dtype)
