"""cross_entropy gradients that are (nearly) rational, rounded with integer fractions.

Cases that the floating-point first pass (:mod:`._screened_gradients`) cannot decide and that
fuzzing draws often, since its inputs have few significant bits:

- a rational plus a small term of known sign (:func:`perturbed_values`).  In a row with maximum
  ``m`` (``t_m = 1``, ``T = 1 + rest``) the gradient is exactly

      ``v_i = -F C a_i + F A t_i / T``   (``i != m``)
      ``v_m = F (A - C a_m) - F A rest / T``,

  a rational ``R`` plus ``delta`` whose sign is that of ``F A`` (``-F A`` at ``m``) and whose magnitude
  is at most ``|F A| t_i`` (``|F A| rest``), since ``T >= 1``.  At a ``-inf`` logit (``t = 0``) and at
  the only finite logit of a row (``rest = 0``) ``delta`` is 0: the value is the rational.  In a row
  dominated by its maximum ``delta`` is far below an ULP of ``R``, and when ``R`` is a midpoint (label
  smoothing's ``-F eps w_i`` often is) no floating bound decides which side the value lies on, but its
  sign does: ``R + delta`` rounds like ``R + 0*sign`` whenever that and ``R +- bound`` round alike
  (rounding is monotonic);
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

__all__ = ["perturbed_values", "near_equal_values", "NEAR_EQUAL_SPREAD"]

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


def _rounded(q: Fraction, fmt: Format, sticky: int = 0) -> Rounded:
    return round_fraction(q.numerator, q.denominator, fmt, sticky=sticky)


def _sign(q: Fraction) -> int:
    return (q > 0) - (q < 0)


def _fraction(v: Any) -> Fraction:
    """A float64 or ``np.longdouble`` as an exact fraction."""
    num, den = v.as_integer_ratio()
    return Fraction(num, den)


def perturbed_values(cp: Any, sel: np.ndarray, fmt: Format, t_upper: np.ndarray, rest_upper: np.ndarray,
                     at_max: np.ndarray, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, decided)`` at the ``sel`` elements (in the order of ``np.nonzero(sel)``): the exact
    gradient ``R + delta`` (module docstring) rounded once where that decides it.

    ``t_upper`` bounds ``t_i = exp(x_i - max)`` from above (2-D, float64 or ``np.longdouble``),
    ``rest_upper`` bounds ``rest = sum_{i != m} t_i`` (a column); ``at_max`` marks the maximum ``m`` of
    each row whose ``t`` is 1 exactly, ``dead`` the ``-inf`` logits.  An element is decided when
    ``R + 0*sign(delta)`` and ``R + bound * sign(delta)`` round to the same value and sign: every value
    in between does (:func:`softmax_oracle.rounding.round_fraction`'s ``sticky`` is the ``0*sign``).
    """
    ex = _Exact(cp)
    per_row: dict[int, tuple[list[Fraction], Fraction, Fraction]] = {}
    values, decided = [], []
    for r, j in zip(*np.nonzero(sel)):
        if r not in per_row:
            a = [ex.scaled_a(r, k) for k in range(ex.c)]
            f = ex.factor(r)
            per_row[r] = (a, f, f * sum(a, Fraction(0)))
        a, f, fa = per_row[r]
        if dead[r, j]:  # t = 0
            exact, sign, bound = -f * a[j], 0, Fraction(0)
        elif at_max[r, j]:
            exact = fa - f * a[j]
            sign = 0 if dead[r].sum() == ex.c - 1 else -_sign(fa)  # rest = 0 exactly: no delta
            bound = abs(fa) * _fraction(rest_upper[r, 0])
        else:
            exact, sign, bound = -f * a[j], _sign(fa), abs(fa) * _fraction(t_upper[r, j])
        low = _rounded(exact, fmt, sign)
        values.append(low)
        decided.append(sign == 0 or _rounded(exact + sign * bound, fmt) == low)
    return to_array(values, fmt, (len(values),)), np.array(decided, dtype=bool)


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


def near_equal_values(cp: Any, sel: np.ndarray, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """``(values, decided)`` at the ``sel`` elements (in the order of ``np.nonzero(sel)``), each in a row
    whose logits are all finite and within :data:`NEAR_EQUAL_SPREAD`: the first-order value and its
    interval, rounded at both ends (the rows after the first :data:`_MAX_ROWS` are left undecided).

    In integers over a common denominator (every input is ``X / B``, ``B`` a power of two, at most
    ``2**1074``): ``d_j = D_j / B``,
    ``C a_j = K_j / B**3``, ``A = S / B**3``, ``F = G / (N c)`` (``g = G / B``, the mean's denominator
    ``N / B``), so that ``v_j = F (A (1 + d_j - mean d) / c - C a_j)`` and the radius share the
    denominator ``Q = |N| c**3 B**5 100``.
    """
    c = cp.rows.shape[1]
    terms = [cp.den] if cp.den_terms is None else cp.den_terms
    picked = np.flatnonzero(sel.any(axis=-1))[:_MAX_ROWS]
    one = _common_scale(cp.rows[picked], cp.g[picked], cp.eps, terms,
                        *(v for v in (cp.weight, None if cp.probabilities is None else cp.probabilities[picked])
                          if v is not None))
    eps = _fixed(cp.eps, one)
    w = [one] * c if cp.weight is None else [_fixed(v, one) for v in cp.weight]
    den = sum(_fixed(v, one) for v in terms)
    q = abs(den) * c**3 * one**5 * 100
    values: list[Rounded] = []
    decided = []
    for r in picked:
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
        for j in np.flatnonzero(sel[r]):
            v = scale * (big_s * (c * one + c * d[j] - sum_d) - ka[j] * one * c * c)
            low = round_fraction(v - radius, q, fmt)
            values.append(low)
            decided.append(low == round_fraction(v + radius, q, fmt))
    left = int(np.count_nonzero(sel)) - len(values)  # rows beyond _MAX_ROWS
    return (to_array(values + [Rounded(False, 0, 0)] * left, fmt, (len(values) + left,)),
            np.array(decided + [False] * left, dtype=bool))
