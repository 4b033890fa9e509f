"""The common case without the general machinery: float32/float64 rows along the last axis.

A C-level loop per row is not available in pure NumPy, so speed comes from doing
as little as possible: no validation beyond the dtype check, no moved or copied
axes, no ``errstate`` (with a finite row maximum nothing overflows or is
invalid), one output array written in place block by block, and blocks of rows
small enough (``_BLOCK`` elements) that the exp, sum and scale passes over a
block hit the cache.  Each kernel returns ``None`` when a row needs the general
path (a NaN or an infinite maximum, or a ``-inf`` logit in the compensated
kernels), and the caller then takes it.

Same formulas as the tiers' kernels: the stable tier in the input's dtype with
``logsumexp = m + log1p(sum_{j != argmax} exp(x_j - m))`` (Blanchard, Higham &
Higham 2021, Algorithm 4.1); the accurate tier in float64 (rounded once to
float32), for float64 in :mod:`._fast_compensated` (the TwoSum corrections of
:mod:`._compensated` in fewer passes).  Short rows (at most ``SHORT_ROW``
logits) take their maxima over columns and their sums with ``einsum``:
``max(axis=1)`` and ``sum(axis=1)`` cost a call per row.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from ._direct_softmax import softmax32, softmax32_row
from ._fast_compensated import SHORT_ROW, compensated, row_max
from ._tiny_rest import negative_zero_at_max

__all__ = ["FAST", "fast_call"]

_BLOCK = 1 << 17  # elements per block (1 MiB of float64): blocks and temporaries stay in L2 (measured best)

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Optional[bool]]


def _blocks(n_rows: int, n_cols: int):
    step = max(1, _BLOCK // n_cols)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _max_and_argmax(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Row maxima (a column) and the flat index of each row's first maximum; None if one is not finite."""
    idx = x.argmax(axis=1)  # stops at the first NaN
    m = x[np.arange(x.shape[0]), idx][:, None]
    if not np.isfinite(m).all():
        return None
    return m, idx


def _work_block(out: np.ndarray, b: slice, work: np.dtype, buf: np.ndarray | None) -> np.ndarray:
    """Where block ``b`` is computed: ``out[b]`` itself, or a float64 buffer for a float32 output."""
    if out.dtype == work or out.ndim == 1:
        return out[b]
    rows = b.stop - b.start
    return buf[:rows * out.shape[1]].reshape(rows, out.shape[1])


def _row_sums(a: np.ndarray, short: bool) -> np.ndarray:
    """Row sums as a column: ``sum(axis=1)`` costs a call per row, 5x ``einsum`` on rows of 10."""
    return np.einsum("ij->i", a)[:, None] if short else a.sum(axis=1, keepdims=True)


def _shifted(x: np.ndarray, m: np.ndarray, out: np.ndarray) -> None:
    """``out = x - m`` in ``out``'s dtype; float32 into float64 by a plain cast first (exact), then the
    subtraction (exact too): 1.5x faster than one ufunc casting as it goes."""
    if x.dtype == out.dtype:
        np.subtract(x, m, out=out)
    else:
        np.copyto(out, x)
        np.subtract(out, m.astype(out.dtype), out=out)


def _block_buffer(x: np.ndarray, work: np.dtype) -> np.ndarray:
    return np.empty(min(x.shape[0], max(1, _BLOCK // x.shape[1])) * x.shape[1], dtype=work)


def _stable_softmax(x: np.ndarray, out: np.ndarray, work: np.dtype) -> bool | None:
    if x.shape[0] == 1:
        return _stable_softmax_row(x, out, work)
    m = row_max(x)
    if not np.isfinite(m).all():
        return None
    buf = _block_buffer(x, work) if work != out.dtype else None
    short = x.shape[1] <= SHORT_ROW
    for b in _blocks(*x.shape):
        wb = _work_block(out, b, work, buf)
        _shifted(x[b], m[b], wb)
        np.exp(wb, out=wb)
        # times the reciprocal: one more rounding in the working dtype, a faster pass than division
        np.multiply(wb, 1 / _row_sums(wb, short), out=out[b], casting="same_kind")
    return True


def _stable_softmax_row(x: np.ndarray, out: np.ndarray, work: np.dtype) -> bool | None:
    """One row: scalars instead of ``(1, 1)`` arrays, five NumPy calls in all."""
    m = x.max()
    if not math.isfinite(m):
        return None
    wb = out if work == out.dtype else np.empty(x.shape, dtype=work)
    np.subtract(x, m, out=wb, dtype=work)
    np.exp(wb, out=wb)
    np.multiply(wb, 1 / wb.sum(), out=out, casting="same_kind")
    return True


def _log1p_rest(x: np.ndarray, name: str, out: np.ndarray, work: np.dtype) -> bool | None:
    """log_softmax (``name = "log_softmax"``) or logsumexp, computed in ``work``."""
    if x.shape[0] == 1:
        return _log1p_rest_row(x[0], name, out, work)
    found = _max_and_argmax(x)
    if found is None:
        return None
    m, idx = found
    n = x.shape[1]
    short = n <= SHORT_ROW
    t_buf = _block_buffer(x, work)
    d_buf = _block_buffer(x, work) if work != out.dtype or name == "logsumexp" else None
    for b in _blocks(*x.shape):
        rows = b.stop - b.start
        d = _work_block(out, b, work, d_buf) if name == "log_softmax" else d_buf[:rows * n].reshape(rows, n)
        _shifted(x[b], m[b], d)
        t = t_buf[:rows * n].reshape(rows, n)
        np.exp(d, out=t)
        t_buf[np.arange(rows) * n + idx[b]] = 0  # the maximum's own term (exactly 1) goes outside log1p
        rest = _row_sums(t, short)
        s = np.log1p(rest)
        if name == "log_softmax":
            np.subtract(d, s, out=out[b], casting="same_kind")  # float64 -> float32: the one rounding
            negative_zero_at_max(out[b], x[b], idx[b][:, None], rest)
        else:
            out[b] = (m[b] + s)[:, 0]
    return True


def _log1p_rest_row(x: np.ndarray, name: str, out: np.ndarray, work: np.dtype) -> bool | None:
    """One row of :func:`_log1p_rest` with Python scalars for the maximum and the sum (six NumPy calls)."""
    i = int(x.argmax())
    m = x[i]
    if not math.isfinite(m):
        return None
    d = np.subtract(x, m, dtype=work)
    t = np.exp(d)
    t[i] = 0
    rest = float(t.sum())
    s = math.log1p(rest)
    if name == "logsumexp":
        out[0] = float(m) + s
        return True
    np.subtract(d, s, out=out[0], casting="same_kind")
    if rest == 0 and np.count_nonzero(x > -np.inf) > 1:
        out[0, i] = -0.0  # -log1p(S) with S > 0 underflowed: a negative zero
    return True


def _stable(name: str):
    def run(x: np.ndarray, out: np.ndarray) -> bool | None:
        with np.errstate(over="ignore"):  # x - m overflowing to -inf: exp gives 0, the answer
            if name == "softmax":
                return _stable_softmax(x, out, x.dtype)
            return _log1p_rest(x, name, out, x.dtype)
    return run


def _softmax32(x: np.ndarray, out: np.ndarray) -> bool | None:
    """float32 softmax without the shift (:mod:`._direct_softmax`), the rows it leaves shifted."""
    if x.shape[0] == 1:
        left = np.zeros(0 if softmax32_row(x[0], out[0]) else 1, dtype=np.intp)
    else:
        left = softmax32(x, out)
    if left.size:
        rows = np.empty((left.size, x.shape[1]), dtype=out.dtype)
        with np.errstate(over="ignore"):  # x - m overflowing to -inf: exp gives 0, the answer
            if not _stable_softmax(x[left], rows, np.dtype(np.float64)):
                return None
        out[left] = rows
    return True


def _accurate(name: str):
    def run(x: np.ndarray, out: np.ndarray) -> bool | None:
        if x.dtype == np.float64:
            return compensated(x, name, out)
        # float32: float64 inside, one rounding at the end (NumPy's float32 exp is off by 2 ULP).
        if name == "softmax":
            return _softmax32(x, out)
        with np.errstate(over="ignore"):  # log_softmax below -3.4e38: the cast to float32 rounds to -inf
            return _log1p_rest(x, name, out, np.dtype(np.float64))
    return run


FAST = {
    "stable": {name: _stable(name) for name in ("softmax", "log_softmax", "logsumexp")},
    "accurate": {name: _accurate(name) for name in ("softmax", "log_softmax", "logsumexp")},
}


def fast_call(tier: str, name: str, x: object, axis: object, dtype: object) -> np.ndarray | None:
    """The result for a plain float32/float64 ndarray along its last axis, or None (take the general path)."""
    if dtype is not None or type(x) is not np.ndarray or x.dtype.char not in "fd" or not x.size:
        return None
    kernels = FAST.get(tier)
    if kernels is None or x.ndim not in (1, 2) or (axis != -1 and axis != x.ndim - 1) or isinstance(axis, bool):
        return None
    rows = x.reshape(1, -1) if x.ndim == 1 else x
    out = np.empty(rows.shape[0] if name == "logsumexp" else rows.shape, dtype=x.dtype)
    if not kernels[name](rows, out):
        return None
    if name == "logsumexp":
        return out.reshape(()) if x.ndim == 1 else out
    return out.reshape(x.shape)
