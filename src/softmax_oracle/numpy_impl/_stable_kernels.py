"""Kernels of the stable tier: shift by the row maximum, log1p form of logsumexp.

logsumexp(x) = m + log1p(sum_{j != argmax} exp(x_j - m)), m = max(x)
(Blanchard, Higham & Higham 2021, Algorithm 4.1).  The log1p keeps the digits
that ``log(1 + s)`` loses when s is small: float32 ``log_softmax([10, 0, -10])``
through ``log(sum(exp(x - m)))`` is thousands of ULP off, through log1p it is not.
softplus and log_sigmoid are split at 0 so that exp never overflows.

Every kernel takes and returns arrays of one working dtype (the tier chooses
it); rows run along the last axis of 2-D arrays.
"""

from __future__ import annotations

import numpy as np

from ..formats import Format
from ._rowmax import row_max
from ._tiny_rest import negative_zero_at_max

__all__ = ["StableKernels"]


class StableKernels:
    """Stable float kernels evaluated in the working dtype."""

    name = "stable"

    def work_dtype(self, input_format: Format, output_format: Format) -> np.dtype:
        """float64 if either side is float64, else float32 (NumPy has no fast 16-bit math)."""
        if "float64" in (input_format.name, output_format.name):
            return np.dtype(np.float64)
        return np.dtype(np.float32)

    grad_work_dtype = work_dtype

    # -- softmax family -------------------------------------------------------------

    def _shifted_sum(self, rows: np.ndarray):
        """``(rowmax, d, S)``: d = x - m and S = sum over j != argmax of exp(d_j)."""
        rm = row_max(rows)
        d = np.subtract(rows, rm.shift)
        t = np.exp(d)
        np.put_along_axis(t, rm.index, 0, axis=-1)
        return rm, d, np.sum(t, axis=-1, keepdims=True)

    def logsumexp(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite rows are answered by their max
            rm, _, s = self._shifted_sum(rows)
            out = rm.shift + np.log1p(s)
            if not rm.all_finite:
                out = np.where(rm.finite[:, None], out, rm.value)
        return out[:, 0]

    def softmax(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite rows are NaN
            rm = row_max(rows)
            t = np.subtract(rows, rm.shift)
            np.exp(t, out=t)
            t /= np.sum(t, axis=-1, keepdims=True)
        if not rm.all_finite:
            t[~rm.finite] = np.nan
        return t

    def log_softmax(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite rows are NaN
            rm, d, s = self._shifted_sum(rows)
            d -= np.log1p(s)
            negative_zero_at_max(d, rows, rm.index, s)
        if not rm.all_finite:
            d[~rm.finite] = np.nan
        return d

    def softmax_parts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(t, T)`` with softmax = t / T, t = exp(x - max) (1 at the max), T = sum(t) per row."""
        with np.errstate(invalid="ignore", over="ignore"):
            rm = row_max(rows)
            t = np.exp(np.subtract(rows, rm.shift))
        if not rm.all_finite:
            t[~rm.finite] = np.nan
        return t, np.sum(t, axis=-1, keepdims=True)

    def cross_entropy_rows(self, rows: np.ndarray, target: np.ndarray) -> np.ndarray:
        """-log_softmax(rows)[i, target[i]] = (m - x_t) + log1p(S), no cancellation."""
        with np.errstate(invalid="ignore", over="ignore"):
            rm, d, s = self._shifted_sum(rows)
            picked = np.take_along_axis(d, target[:, None], axis=-1)
            out = np.log1p(s) - picked
        if not rm.all_finite:
            out[~rm.finite] = np.nan
        return out[:, 0]

    # -- elementwise ----------------------------------------------------------------

    def softplus(self, x: np.ndarray) -> np.ndarray:
        """max(x, 0) + log1p(exp(-|x|))."""
        with np.errstate(invalid="ignore"):
            return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def log_sigmoid(self, x: np.ndarray) -> np.ndarray:
        """-softplus(-x) (so log_sigmoid(+inf) = -0.0)."""
        return -self.softplus(-x)

    def sigmoid(self, x: np.ndarray) -> np.ndarray:
        """1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below: exp never overflows."""
        with np.errstate(invalid="ignore"):
            t = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + t), t / (1 + t))

    # -- loss terms -----------------------------------------------------------------

    def kl_terms(self, x: np.ndarray, y: np.ndarray, log_target: bool) -> np.ndarray:
        """y (log y - x), 0 where y == 0; exp(y) (y - x), 0 where y == -inf, for log targets."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # log(0), inf - inf: masked
            if log_target:
                return np.where(y == -np.inf, 0, np.exp(y) * (y - x))
            return np.where(y == 0, 0, y * (np.log(y) - x))

    def bce_terms(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        """-(y log p + (1 - y) log1p(-p)), a term dropped where its coefficient is 0."""
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf is the answer
            return 0.0 - (_times(y, np.log(p)) + _times(1 - y, np.log1p(-p)))  # +0, not -0, for a zero loss

    def bce_logits_terms(self, x: np.ndarray, y: np.ndarray, pos_weight: np.ndarray | None) -> np.ndarray:
        """pos_weight y softplus(-x) + (1 - y) softplus(x): -log sigmoid(x) = softplus(-x)."""
        yw = y if pos_weight is None else pos_weight * y
        with np.errstate(invalid="ignore"):
            return _times(yw, self.softplus(-x)) + _times(1 - y, self.softplus(x))

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.sum(values)


def _times(coefficient: np.ndarray, value: np.ndarray) -> np.ndarray:
    """coefficient * value, 0 where the coefficient is 0 (a term that is absent, even if value is inf)."""
    with np.errstate(invalid="ignore"):
        return np.where(coefficient == 0, 0, coefficient * value)
