"""The accurate tier's float64 fast path: the compensated softmax family in few array passes.

Same mathematics as :mod:`._compensated` (``d_i = fl(x_i - m)`` with its rounding
error ``e_i`` from TwoSum, ``exp(d + e) ~ exp(d)(1 + e)``), arranged for speed
(measured: the row reductions, not the arithmetic, dominated short rows).  softmax
takes it only for the rows that :mod:`._direct_softmax` (``exp(x_i)`` itself, no
shift to correct) leaves: ``sum exp(x)`` below 1, a maximum above ~700, and blocks
of short rows (at most ``SHORT_ROW`` logits).

* no argmax: the maximum's own term ``exp(0) = 1`` stays in the sum.  The sum is
  extracted (``sigma = 2**k >= 2 n >= 2 T``, ``q = (t + sigma) - sigma``), so ``Q = sum q``
  is exact and contains that 1 exactly: ``S = Q - 1`` is exact too, and
  ``log1p(S)`` keeps its digits without leaving the maximum out;
* row sums of short rows by ``einsum("ij->i")``: one C loop over the block, where
  ``sum(axis=1)`` costs a call per row (5x slower on rows of 10).  No BLAS for
  blocks: a multithreaded BLAS call on this shared machine took 7x longer on one
  row of 1e5 (the one-row path uses ``dot`` only below 4096 elements, where
  OpenBLAS stays on one thread);
  The order of additions is the library's; ``Q`` is exact in any order and the
  other sums are corrections;
* row maxima of short rows by ``np.maximum`` over columns (``max(axis=1)`` is a
  call per row);
* softmax multiplies by ``r = fl(1 / Q)`` and folds the exact residual
  ``1 - r Q`` (Dekker's TwoProduct) into the per-element correction, so no division
  pass;
* at most four preallocated block buffers (two for softmax, whose output block
  holds ``t``; three for log_softmax, whose output block holds ``d``), every
  ufunc writes in place: fresh scratch pages cost more than a pass over them
  when other work has just freed memory.

Per element: ``out_i = q_i + q_i (e_i + rho - T_lo / Q)``, ``q_i = fl(t_i r)``,
``1 / Q = r (1 + rho)``, ``T = Q + T_lo`` (softmax); ``d_i + (e_i - L)`` with
``L = log1p(S) + T_lo / Q`` (log_softmax; ``m + L`` for logsumexp).  The
remainders ``t - q`` are only accurate relative to ``T``: a row whose ``S`` is so
small that ``-log1p(S)`` (log_softmax at the maximum, logsumexp near 0) would
feel them is recomputed by the general kernels (:mod:`._compensated`: the
maximum left out, the sum extracted at the scale of ``S``, and
:mod:`._tiny_rest` below 2**-900).  A row with a
``-inf`` logit makes ``e`` NaN there: the kernel then returns None and the
caller takes the general path.
"""

from __future__ import annotations

import math

import numpy as np

from ..numerics.eft import two_prod
from ._compensated import CompensatedKernels
from ._direct_softmax import WIDE_ENOUGH, softmax64, softmax64_row
from ..numerics.lse_refine import refine_cancelled

__all__ = ["SHORT_ROW", "compensated", "row_max"]

_BLOCK = 1 << 17  # elements per block (1 MiB of float64): the buffers stay in L2
_GENERAL = CompensatedKernels()
_SCRATCH = {"softmax": 2, "log_softmax": 3, "logsumexp": 4}  # block buffers besides the output
SHORT_ROW = 32  # rows up to this length: maxima by np.maximum over columns


def row_max(x: np.ndarray) -> np.ndarray:
    """Row maxima of a 2-D array as a column (NaN propagates)."""
    if x.shape[1] > SHORT_ROW or x.shape[0] < 64:
        return x.max(axis=1, keepdims=True)
    m = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        np.maximum(m, x[:, j], out=m)
    return m[:, None]


def _row_sum(a: np.ndarray, short: bool) -> np.ndarray:
    """Row sums of a 2-D block: ``einsum`` (one C loop over the block) for short rows, else ``sum``."""
    return np.einsum("ij->i", a) if short else a.sum(axis=1)


def _two_sum_error(x: np.ndarray, neg: np.ndarray, d: np.ndarray, e: np.ndarray, w: np.ndarray) -> None:
    """``e`` = the rounding error of ``d = fl(x + neg)`` (Knuth's TwoSum, no ordering needed); ``w`` scratch."""
    np.subtract(d, x, out=w)  # bb = s - a
    np.subtract(d, w, out=e)  # s - bb
    np.subtract(x, e, out=e)  # a - (s - bb)
    np.subtract(neg, w, out=w)  # b - bb
    e += w


def _sigma(n: int) -> float:
    """``2**k >= 2 n >= 2 T``: every term is at most 1, so no pass finds the scale (a scalar, not a column).
    The remainders ``t - q`` then reach ``n 2**-52``; their pairwise sum errs by ``~log2(n) n**2 2**-105``
    (``2**-67`` of ``T >= 1`` at ``n = 10**5``)."""
    return math.ldexp(1.0, n.bit_length() + 1)


def _sums(t: np.ndarray, e: np.ndarray, w: np.ndarray, short: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """``(Q, T_lo)``: ``sum t (1 + e) = Q + T_lo`` with ``Q`` exact (columns); None if ``e`` holds NaN."""
    np.multiply(t, e, out=w)
    corr = _row_sum(w, short)
    if not np.isfinite(corr).all():
        return None  # a -inf logit: e is NaN there; the general path masks it
    sigma = _sigma(t.shape[1])
    np.add(t, sigma, out=w)
    w -= sigma  # the multiples of ulp(sigma) in t: their sum is exact
    q_sum = _row_sum(w, short)
    np.subtract(t, w, out=w)
    return q_sum[:, None], (_row_sum(w, short) + corr)[:, None]


def _small_rest(n: int) -> float:
    """Below this ``S``, the remainders ``t - q`` (up to ``n 2**-52`` each, summed with a relative error of
    ``~log2(n) 2**-53``) may cost ``S`` more than ``2**-60`` of itself: such rows are recomputed."""
    return 4.0 * n * n * max(1, n.bit_length()) * 2.0**-46


def _log_total(q_sum: np.ndarray, t_lo: np.ndarray) -> np.ndarray:
    """``log(Q + T_lo) = log1p(S) + T_lo / Q`` with ``S = Q - 1`` exact."""
    return np.log1p(q_sum - 1) + t_lo / q_sum


def _finish(name: str, x: np.ndarray, m: np.ndarray, d: np.ndarray, e: np.ndarray, t: np.ndarray,
            sums: tuple[np.ndarray, np.ndarray], out: np.ndarray) -> None:
    q_sum, t_lo = sums
    if name == "softmax":
        r = 1 / q_sum
        p, p_err = two_prod(r, q_sum)  # r Q = p + p_err exactly: 1 / Q = r (1 + rho)
        rho = ((1 - p) - p_err) / p
        e += rho - t_lo / q_sum
        t *= r
        e *= t
        np.add(t, e, out=out)
        return
    log_total = _log_total(q_sum, t_lo)
    if name == "logsumexp":
        np.add(m, log_total, out=out[:, None])
        refine_cancelled(out, x, m)
    else:
        e -= log_total
        np.add(d, e, out=out)
    small = np.flatnonzero(q_sum[:, 0] - 1 + t_lo[:, 0] < _small_rest(x.shape[1]))
    if small.size:  # -log1p(S) at the maximum needs S to its own precision: the general kernels
        out[small] = getattr(_GENERAL, name)(x[small])


def compensated(x: np.ndarray, name: str, out: np.ndarray) -> bool | None:
    """softmax / log_softmax / logsumexp of float64 rows into ``out``; None: take the general path.

    softmax first without the shift (:mod:`._direct_softmax`); the rows it leaves (``sum exp(x)``
    below 1, a maximum above ~700, NaN, infinities, blocks of short rows) take the shifted kernel here."""
    if name == "softmax":
        return _softmax(x, out)
    return _shifted(x, name, out)


def _softmax(x: np.ndarray, out: np.ndarray) -> bool | None:
    if not WIDE_ENOUGH:
        return _shifted(x, "softmax", out)
    if x.shape[0] == 1:
        return True if softmax64_row(x[0], out[0]) else _one_row(x, "softmax", out)
    if x.shape[1] <= SHORT_ROW:  # exp(max) in long double per row (~50 ns) would cost more than the shift
        return _shifted(x, "softmax", out)
    left = softmax64(x, out)
    if left.size:
        rows = np.empty((left.size, x.shape[1]))
        if not _shifted(x[left], "softmax", rows):
            return None
        out[left] = rows
    return True


def _shifted(x: np.ndarray, name: str, out: np.ndarray) -> bool | None:
    """The shifted kernel: ``d = x - max`` with its TwoSum error ``e``."""
    if x.shape[0] == 1:
        return _one_row(x, name, out)
    m = row_max(x)
    if not np.isfinite(m).all():
        return None
    n_rows, n = x.shape
    step = max(1, _BLOCK // n)
    # Scratch beside ``out`` itself, which holds d (log_softmax) or t (softmax): fewer fresh pages to fault in.
    bufs = np.empty((_SCRATCH[name], min(n_rows, step) * n))
    short = n <= SHORT_ROW
    neg = -m
    # -inf logits (or x - m overflowing to -inf) make e NaN; the row is then handed back.
    with np.errstate(invalid="ignore", over="ignore"):
        for start in range(0, n_rows, step):
            b = slice(start, min(start + step, n_rows))
            size = (b.stop - b.start) * n
            views = [v[:size].reshape(-1, n) for v in bufs]
            if name == "softmax":
                d = t = out[b]
                e, w = views
            elif name == "log_softmax":
                d = out[b]
                e, w, t = views
            else:
                d, e, w, t = views
            np.add(x[b], neg[b], out=d)
            _two_sum_error(x[b], neg[b], d, e, w)
            np.exp(d, out=t)
            sums = _sums(t, e, w, short)
            if sums is None:
                return None
            _finish(name, x[b], m[b], d, e, t, sums, out[b])
    return True


def _one_row(x: np.ndarray, name: str, out: np.ndarray) -> bool | None:
    """One row: Python floats for the per-row scalars (the same formulas, fewer NumPy calls)."""
    row = x[0]
    m = float(row.max())
    if not math.isfinite(m):
        return None
    # -inf logits (or x - m overflowing to -inf) make e NaN; the row is then handed back.
    with np.errstate(invalid="ignore", over="ignore"):
        d = row - m
        w = d - row
        e = d - w
        np.subtract(row, e, out=e)
        np.subtract(-m, w, out=w)
        e += w
        t = np.exp(d) if name != "softmax" else np.exp(d, out=d)
        corr = float(np.dot(t, e)) if t.size <= 4096 else float(np.multiply(t, e, out=w).sum())
    if not math.isfinite(corr):
        return None
    sigma = _sigma(t.shape[0])
    np.add(t, sigma, out=w)
    w -= sigma
    q_sum = float(w.sum())
    np.subtract(t, w, out=w)
    t_lo = float(w.sum()) + corr
    if name == "softmax":
        e -= t_lo / q_sum
        t /= q_sum
        e *= t
        np.add(t, e, out=out[0])
        return True
    s = q_sum - 1
    log_total = math.log1p(s) + t_lo / q_sum
    if name == "logsumexp":
        out[0] = m + log_total
        refine_cancelled(out[:1], x, np.array([m]))
    else:
        e -= log_total
        np.add(d, e, out=out[0])
    if s + t_lo < _small_rest(x.shape[1]):
        out[:] = getattr(_GENERAL, name)(x)
    return True
