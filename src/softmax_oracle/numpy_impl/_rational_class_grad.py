"""cross_entropy gradients that are (nearly) rational, rounded with integer fractions.

Three cases that the floating-point first pass (:mod:`._screened_gradients`) cannot decide and that
fuzzing draws often, since its inputs have few significant bits:

- at a ``-inf`` logit (``t = 0``) the gradient is the rational ``-F C a_i``;
- at the only finite logit of a row (``p = 1``) it is ``F (A - C a_m)``;
- in a row whose logits are all within ``2**-30`` of each other (``d = x - max``, tiny), ``p_i`` is
  ``1/n + (d_i - mean d) / n`` to first order, and the exact value is within
  ``R = |F| |A| 3.01 max|d|**2 / n`` of ``F (A (1/n + (d_i - mean d) / n) - C a_i)``: the softmax
  Hessian ``p_i (d_ij - p_j)(d_ik - p_k) - p_i p_j (d_jk - p_k)`` sums in magnitude to at most
  ``6 p_i``, and ``p_i <= e**spread / n`` along the segment.  Such rows are often within ``|d|`` of a
  midpoint (equal logits give a rational ``F (A / n - C a_i)``); the interval ``[v - R, v + R]`` is
  rounded at both ends and decided when they agree (value and sign).

Notation as in :mod:`._screened_gradients`: ``C a_c`` the scaled coefficients
(:func:`._precise_gradients.coefficients`), ``A = sum_c C a_c``, ``F = g / (den C)``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..formats import Format
from ..rounding import Rounded, round_fraction, to_array

__all__ = ["masked_values", "near_equal_rows", "NEAR_EQUAL_SPREAD"]

NEAR_EQUAL_SPREAD = 2.0**-30  # rows whose max - min is at most this take the first-order expansion
_HESSIAN = Fraction(301, 100)  # 3 e**(2 spread), rounded up
_MAX_ROWS = 64  # near-equal rows per call (each costs ~50 fraction operations per class)


class _Exact:
    """The exact coefficients and factors of a :class:`._screened_gradients.ClassProblem`."""

    def __init__(self, cp: Any) -> None:
        self.cp = cp
        self.c = cp.rows.shape[1]
        self.eps = Fraction(cp.eps)
        self.w = [Fraction(1)] * self.c if cp.weight is None else [Fraction(float(v)) for v in cp.weight]
        terms = [cp.den] if cp.den_terms is None else cp.den_terms
        self.den = sum((Fraction(float(v)) for v in terms), Fraction(0))

    def scaled_a(self, r: int, j: int) -> Fraction:
        """``C a_j`` of sample ``r``."""
        cp, w, eps, c = self.cp, self.w, self.eps, self.c
        if cp.probabilities is not None:
            return w[j] * (c * Fraction(float(cp.probabilities[r, j])) * (1 - eps) + eps)
        t = int(cp.index[r])
        return w[j] * eps + (c * (1 - eps) * w[t] if j == t else 0)

    def factor(self, r: int) -> Fraction:
        """``F = g / (den C)`` of sample ``r``."""
        return Fraction(float(self.cp.g[r])) / (self.den * self.c)


def _rounded(q: Fraction, fmt: Format) -> Rounded:
    return round_fraction(q.numerator, q.denominator, fmt)


def masked_values(cp: Any, sel: np.ndarray, fmt: Format) -> np.ndarray:
    """The exact gradient at the ``sel`` elements (each a ``-inf`` logit, or the only finite logit of
    its row), rounded once (:func:`softmax_oracle.rounding.round_fraction`)."""
    ex = _Exact(cp)
    values = []
    for r, j in zip(*np.nonzero(sel)):
        if cp.rows[r, j] == -np.inf:
            exact = -ex.factor(r) * ex.scaled_a(r, j)
        else:  # p_j = 1: F (A - C a_j)
            exact = ex.factor(r) * sum((ex.scaled_a(r, k) for k in range(ex.c) if k != j), Fraction(0))
        values.append(_rounded(exact, fmt))
    return to_array(values, fmt, (len(values),))


def near_equal_rows(cp: Any, rows: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """``(values, decided)`` for the samples ``rows`` (indices) whose logits are all finite and within
    :data:`NEAR_EQUAL_SPREAD`: the first-order value and its interval, rounded at both ends."""
    ex, c = _Exact(cp), cp.rows.shape[1]
    values = np.zeros((len(rows), c), dtype=fmt.dtype)
    decided = np.zeros(len(rows), dtype=bool)
    for k, r in enumerate(rows[:_MAX_ROWS]):
        x = [Fraction(float(v)) for v in cp.rows[r]]
        m = max(x)
        d = [v - m for v in x]
        mean_d = sum(d, Fraction(0)) / c
        a = [ex.scaled_a(r, j) for j in range(c)]
        big_a, f = sum(a, Fraction(0)), ex.factor(r)
        radius = abs(f * big_a) * _HESSIAN * max(abs(v) for v in d) ** 2 / c
        ends = []
        for j in range(c):
            v = f * (big_a * (1 + d[j] - mean_d) / c - a[j])
            ends.append((_rounded(v - radius, fmt), _rounded(v + radius, fmt)))
        if all(lo == hi for lo, hi in ends):
            values[k] = to_array([lo for lo, _ in ends], fmt, (c,))
            decided[k] = True
    return values, decided
