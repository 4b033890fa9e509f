"""One softmax row: its exact data and its enclosures, computed once per precision.

For a row ``x`` with finite maximum ``m`` reached ``k`` times, the exact
differences ``d_j = x_j - m`` (rationals, formed without rounding, so the
working precision never grows with ``|x|``) give

    S = sum_j exp(d_j) = k + T,   T = sum_{d_j < 0} exp(d_j),
    L = log S = log1p(T) if k == 1 else log(k + T),
    s_j = exp(d_j) / S = D_j + r_j,

with the exact split ``D_j = 1/k, r_j = -T / (k S)`` for a maximum and
``D_j = 0, r_j = s_j`` otherwise.  ``L`` is computed through ``log1p`` so
that a tiny ``L`` keeps its relative accuracy (``log_softmax`` of the
dominant logit is ``-L``).  A row's enclosures are cached per precision:
every element, gradient and loss of the row shares one evaluation.
"""

from __future__ import annotations

import math
from typing import Sequence

from gmpy2 import mpq

from ._interval import Interval, Precision, ZERO_I

__all__ = ["Row"]

_ONE = mpq(1)


class _State:
    __slots__ = ("e", "t", "s", "l")

    def __init__(self, e: dict[int, Interval], t: Interval, s: Interval, l: Interval) -> None:
        self.e, self.t, self.s, self.l = e, t, s, l


class Row:
    """Exact data of one row of logits (Python floats, exact values of the input).

    Attributes
    ----------
    status : str
        ``"ok"`` (a finite maximum exists), ``"nan"`` (a NaN in the row),
        ``"posinf"`` (a ``+inf``, no NaN) or ``"empty"`` (no finite element:
        all ``-inf`` or length 0).
    """

    __slots__ = ("values", "status", "m", "d", "maxima", "tail", "k", "_cache")

    def __init__(self, values: Sequence[float]) -> None:
        self.values = list(values)
        self._cache: dict[int, _State] = {}
        if any(math.isnan(v) for v in self.values):
            self.status = "nan"
        elif any(v == math.inf for v in self.values):
            self.status = "posinf"
        elif all(v == -math.inf for v in self.values):
            self.status = "empty"
        else:
            self.status = "ok"
        if self.status != "ok":
            return
        m_float = max(self.values)
        m = mpq(m_float)
        self.m = m
        self.d: dict[int, mpq] = {j: mpq(v) - m for j, v in enumerate(self.values) if v != -math.inf}
        self.maxima = [j for j, v in enumerate(self.values) if v == m_float]
        self.tail = [j for j, v in enumerate(self.values) if v != m_float and v != -math.inf]
        self.k = len(self.maxima)

    # exact facts --------------------------------------------------------
    @property
    def l_sign(self) -> int:
        """Sign of ``L = log S``: 0 when S == 1 exactly (one finite element), else 1."""
        return 1 if (self.k > 1 or self.tail) else 0

    def is_max(self, j: int) -> bool:
        return self.values[j] != -math.inf and self.d[j] == 0

    def is_masked(self, j: int) -> bool:
        return self.values[j] == -math.inf

    def split(self, j: int) -> tuple[mpq, int]:
        """``(D_j, sign(r_j))`` of ``s_j = D_j + r_j``."""
        if self.is_masked(j):
            return mpq(0), 0
        if self.d[j] == 0:
            return mpq(1, self.k), (-1 if self.tail else 0)
        return mpq(0), 1

    # enclosures ----------------------------------------------------------
    def state(self, p: Precision) -> _State:
        st = self._cache.get(p.bits)
        if st is None:
            e = {j: p.exp(p.rational(self.d[j])) for j in self.tail}
            t = p.fsum(e.values())
            s = p.add_q(t, mpq(self.k))
            l = p.log1p(t) if self.k == 1 else p.log(s)
            st = self._cache[p.bits] = _State(e, t, s, l)
        return st

    def log_sum(self, p: Precision) -> Interval:
        """``L = log S``."""
        return self.state(p).l

    def prob(self, j: int, p: Precision) -> Interval:
        """``s_j = exp(d_j) / S``."""
        if self.is_masked(j):
            return ZERO_I
        st = self.state(p)
        num = (p.rational(_ONE)) if self.d[j] == 0 else st.e[j]
        return p.div_pos(num, st.s)

    def prob_rest(self, j: int, p: Precision) -> Interval:
        """``r_j = s_j - D_j`` (see :meth:`split`)."""
        if self.is_masked(j):
            return ZERO_I
        if self.d[j] != 0:
            return self.prob(j, p)
        st = self.state(p)
        return p.neg(p.scale(p.div_pos(st.t, st.s), mpq(1, self.k)))

    # enclosure functions for terms: each carries `.log`, the enclosure of log|value|
    def rest_enclosure(self, j: int):
        """Enclosure function of ``r_j`` (see :meth:`split`), with ``.log``."""
        def f(p: Precision) -> Interval:
            return self.prob_rest(j, p)

        f.log = lambda p: self.log_abs_rest(j, p)
        return f

    def log_sum_enclosure(self):
        """Enclosure function of ``L``, with ``.log``."""
        def f(p: Precision) -> Interval:
            return self.log_sum(p)

        f.log = self.log_log_sum
        return f

    # logarithms, for values below MPFR's exponent range (used by the unbounded formats of `exact`)
    def log_tail(self, p: Precision) -> Interval:
        """``log T = d_top + log(sum exp(d_i - d_top))``: no underflow (the top term is 1)."""
        top = max(self.d[j] for j in self.tail)
        inner = p.fsum(p.exp(p.rational(self.d[j] - top)) for j in self.tail)
        return p.add_q(p.log(inner), top)

    def log_abs_rest(self, j: int, p: Precision) -> Interval:
        """``log |r_j|`` (for ``r_j != 0``): ``d_j - L`` off the maxima, ``log T - log k - log S`` at one."""
        if self.d[j] != 0:
            return p.add_q(p.neg(self.log_sum(p)), self.d[j])
        minus_logs = p.neg(p.add(p.log(p.rational(mpq(self.k))), p.log(self.state(p).s)))
        return p.add(self.log_tail(p), minus_logs)

    def log_log_sum(self, p: Precision) -> Interval:
        """``log L`` (for ``L > 0``); with ``k = 1``, ``log log1p(T)`` lies in ``[log T - T, log T]``."""
        if self.k > 1:
            return p.log(self.log_sum(p))
        lt = self.log_tail(p)
        return p.down.sub(lt[0], self.state(p).t[1]), lt[1]

    def weighted_tail(self, coeffs: dict[int, mpq], p: Precision) -> Interval:
        """``sum_{j in tail} c_j exp(d_j) / S`` for exact coefficients ``c_j``."""
        st = self.state(p)
        num = p.fsum(p.scale(st.e[j], c) for j, c in coeffs.items() if c != 0)
        return p.div_pos(num, st.s)
