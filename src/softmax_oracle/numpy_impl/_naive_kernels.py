"""Kernels of the naive tier: the textbook formulas of the seeds, computed in the input's dtype.

Kept on purpose as the worked example of what goes wrong: ``exp(x) / sum(exp(x))``
overflows to ``inf / inf = NaN`` once x passes ~710 (float64) or ~89 (float32);
``log(softmax(x))`` is ``-inf`` where softmax underflows; BCE with logits through
``sigmoid`` then ``log`` gives ``-inf`` and NaN for large logits.
"""

from __future__ import annotations

import numpy as np

from ..formats import Format

__all__ = ["NaiveKernels"]

_QUIET = dict(over="ignore", under="ignore", divide="ignore", invalid="ignore")


class NaiveKernels:
    name = "naive"

    def work_dtype(self, input_format: Format, output_format: Format) -> np.dtype:
        return input_format.dtype

    grad_work_dtype = work_dtype

    def softmax_parts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(**_QUIET):  # overflow to inf and NaN is what this tier shows
            t = np.exp(rows)
            return t, np.sum(t, axis=-1, keepdims=True)

    def softmax(self, rows: np.ndarray) -> np.ndarray:
        t, total = self.softmax_parts(rows)
        with np.errstate(**_QUIET):
            return t / total

    def logsumexp(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            return np.log(np.sum(np.exp(rows), axis=-1))

    def log_softmax(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            return np.log(self.softmax(rows))

    def cross_entropy_rows(self, rows: np.ndarray, target: np.ndarray) -> np.ndarray:
        return -np.take_along_axis(self.log_softmax(rows), target[:, None], axis=-1)[:, 0]

    def sigmoid(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            return 1 / (1 + np.exp(-x))

    def log_sigmoid(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            return np.log(self.sigmoid(x))

    def softplus(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(**_QUIET):
            return np.log(1 + np.exp(x))

    def kl_terms(self, x: np.ndarray, y: np.ndarray, log_target: bool) -> np.ndarray:
        """y (log y - x), or exp(y) (y - x) for log targets."""
        with np.errstate(**_QUIET):
            return np.exp(y) * (y - x) if log_target else y * (np.log(y) - x)

    def bce_terms(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        """-(y log p + (1 - y) log(1 - p))."""
        with np.errstate(**_QUIET):
            return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    def bce_logits_terms(self, x: np.ndarray, y: np.ndarray, pos_weight: np.ndarray | None) -> np.ndarray:
        """BCE of sigmoid(x): sigmoid then log, as the textbook writes it."""
        p = self.sigmoid(x)
        yw = y if pos_weight is None else pos_weight * y
        with np.errstate(**_QUIET):
            return -(yw * np.log(p) + (1 - y) * np.log(1 - p))

    def total(self, values: np.ndarray) -> np.ndarray:
        return np.sum(values)
