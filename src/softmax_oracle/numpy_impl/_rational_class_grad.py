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
_MAX_ROWS = 64  # near-equal rows per call (~0.1 ms each for 8 classes)


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


def _common_scale(*arrays: Any) -> int:
    """The least ``B = 2**k`` (``k >= 0``) such that every float of ``arrays`` is a multiple of ``1 / B``:
    ``k = 53 - e - z`` for ``v = m 2**e`` (``0.5 <= |m| < 1``) whose 53-bit significand has ``z`` trailing zeros."""
    k = 0
    for v in arrays:
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        v = v[v != 0]
        if v.size:
            m, e = np.frexp(v)
            mant = np.abs(np.ldexp(m, 53)).astype(np.int64)
            _, low = np.frexp((mant & -mant).astype(np.float64))  # lowest set bit 2**(low - 1)
            k = max(k, int(np.max(53 - e - (low - 1))))
    return 1 << k


def _fixed(v: float, one: int) -> int:
    """``v B`` for a float64 ``v`` that is a multiple of ``1 / B``: an integer, exactly."""
    num, den = float(v).as_integer_ratio()
    return num * (one // den)


def near_equal_rows(cp: Any, rows: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """``(values, decided)`` for the samples ``rows`` (indices) whose logits are all finite and within
    :data:`NEAR_EQUAL_SPREAD`: the first-order value and its interval, rounded at both ends.

    In integers over a common denominator (every input is ``X / B``, ``B`` a power of two, at most
    ``2**1074``): ``d_j = D_j / B``,
    ``C a_j = K_j / B**3``, ``A = S / B**3``, ``F = G / (N c)`` (``g = G / B``, the mean's denominator
    ``N / B``), so that ``v_j = F (A (1 + d_j - mean d) / c - C a_j)`` and the radius share the
    denominator ``Q = |N| c**3 B**5 100``.
    """
    c = cp.rows.shape[1]
    terms = [cp.den] if cp.den_terms is None else cp.den_terms
    picked = rows[:_MAX_ROWS]
    one = _common_scale(cp.rows[picked], cp.g[picked], cp.eps, terms,
                        *(v for v in (cp.weight, None if cp.probabilities is None else cp.probabilities[picked])
                          if v is not None))
    eps = _fixed(cp.eps, one)
    w = [one] * c if cp.weight is None else [_fixed(v, one) for v in cp.weight]
    den = sum(_fixed(v, one) for v in terms)
    q = abs(den) * c**3 * one**5 * 100
    values = np.zeros((len(rows), c), dtype=fmt.dtype)
    decided = np.zeros(len(rows), dtype=bool)
    for k, r in enumerate(rows[:_MAX_ROWS]):
        x = [_fixed(v, one) for v in cp.rows[r]]
        m = max(x)
        d = [v - m for v in x]
        if cp.probabilities is not None:
            ka = [w[j] * (c * _fixed(cp.probabilities[r, j], one) * (one - eps) + eps * one) for j in range(c)]
        else:
            t = int(cp.index[r])
            ka = [w[j] * eps * one + (c * (one - eps) * w[t] * one if j == t else 0) for j in range(c)]
        big_s, g, sum_d = sum(ka), _fixed(cp.g[r], one), sum(d)
        scale = (1 if den > 0 else -1) * g * one * 100
        radius = abs(g) * abs(big_s) * 301 * max(abs(v) for v in d) ** 2 * c  # 3.01 >= 3 e**(2 spread)
        ends = []
        for j in range(c):
            v = scale * (big_s * (c * one + c * d[j] - sum_d) - ka[j] * one * c * c)
            ends.append((round_fraction(v - radius, q, fmt), round_fraction(v + radius, q, fmt)))
        if all(lo == hi for lo, hi in ends):
            values[k] = to_array([lo for lo, _ in ends], fmt, (c,))
            decided[k] = True
    return values, decided
