"""Terms of the softmax family (logsumexp, softmax, log_softmax) and their gradients.

Each function returns the :class:`~._ziv.Term` of one output element from a
:class:`~._rows.Row`; the formulas are in the module docstring of ``_rows``.
Edge semantics (decided once, documented in the public docstrings):

* a NaN in a row makes every output of the row NaN;
* ``+inf`` in a row: logsumexp ``+inf``; softmax, log_softmax and every
  gradient NaN (``inf - inf``);
* ``-inf`` logits are masks: softmax ``0``, log_softmax ``-inf``, and the rest
  of the row is computed without them;
* a row with no finite logit (all ``-inf``, or empty): logsumexp ``-inf``,
  softmax / log_softmax / gradients NaN (``0 / 0``).
"""

from __future__ import annotations

import math

from gmpy2 import mpq

from ._interval import ZERO_I, Precision
from ._rows import Row
from ._ziv import Term, exact, special

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "grad_logsumexp",
    "grad_softmax",
    "grad_log_softmax",
    "finite_q",
]

_NAN = special(math.nan)


def finite_q(g: float) -> mpq | None:
    """The exact rational of a finite float, or None for NaN and infinities."""
    return mpq(g) if math.isfinite(g) else None


def logsumexp(row: Row) -> Term:
    """``m + L``."""
    if row.status == "nan":
        return _NAN
    if row.status == "posinf":
        return special(math.inf)
    if row.status == "empty":
        return special(-math.inf)
    return Term(row.m, ((mpq(1), row.log_sum_enclosure(), row.l_sign),))


def softmax(row: Row, j: int) -> Term:
    """``s_j = D_j + r_j``."""
    if row.status != "ok":
        return _NAN
    if row.is_masked(j):
        return exact(mpq(0))
    d, sign = row.split(j)
    return Term(d, ((mpq(1), row.rest_enclosure(j), sign),))


def log_softmax(row: Row, j: int) -> Term:
    """``d_j - L``."""
    if row.status != "ok":
        return _NAN
    if row.is_masked(j):
        return special(-math.inf)
    return Term(row.d[j], ((mpq(-1), row.log_sum_enclosure(), row.l_sign),))


def grad_logsumexp(row: Row, j: int, g: float) -> Term:
    """``g * s_j``."""
    gq = finite_q(g)
    if row.status != "ok" or gq is None:
        return _NAN
    d, sign = row.split(j)
    return Term(gq * d, ((gq, row.rest_enclosure(j), sign),))


def grad_log_softmax(row: Row, g: list[float]) -> list[Term]:
    """``g_j - s_j * sum(g)`` for every element of the row."""
    qs = [finite_q(v) for v in g]
    if row.status != "ok" or any(q is None for q in qs):
        return [_NAN] * len(qs)
    total = sum(qs, mpq(0))
    terms = []
    for j, q in enumerate(qs):
        d, sign = row.split(j)
        terms.append(Term(q - total * d, ((-total, row.rest_enclosure(j), sign),)))
    return terms


def _interval_sign(lo, hi) -> int | None:
    if lo > 0:
        return 1
    if hi < 0:
        return -1
    if lo == 0 and hi == 0:
        return 0
    return None


class _SoftmaxGradRow:
    """What every element of one row's softmax gradient shares (computed once per row).

    With ``gbar`` the mean of ``g`` over the maxima and the tail coefficients
    ``c_i = g_i - gbar`` grouped by equal ``d_i`` (so exact cancellations are
    exact: the remaining exponentials are linearly independent over the
    rationals, Lindemann-Weierstrass), ``rho = sum c_i exp(d_i) / S`` is
    enclosed once per precision for the whole row.
    """

    def __init__(self, row: Row, qs: list[mpq]) -> None:
        self.row = row
        self.gbar = sum((qs[i] for i in row.maxima), mpq(0)) / row.k
        groups: dict[mpq, tuple[int, mpq]] = {}
        for i in row.tail:
            rep, c = groups.get(row.d[i], (i, mpq(0)))
            groups[row.d[i]] = (rep, c + qs[i] - self.gbar)
        self.coeffs = {rep: c for rep, c in groups.values() if c != 0}
        # nonzero groups by decreasing exponent, for signs below MPFR's range
        self.items = sorted(((row.d[rep], c) for rep, c in self.coeffs.items()), key=lambda t: t[0], reverse=True)
        self.tail_c = [(row.d[i], qs[i] - self.gbar) for i in row.tail]
        self._rho: dict[int, tuple] = {}
        self._rho_sign: dict[int, int | None] = {}

    def rho(self, p: Precision):
        r = self._rho.get(p.bits)
        if r is None:
            r = self._rho[p.bits] = self.row.weighted_tail(self.coeffs, p) if self.coeffs else ZERO_I
        return r

    def rho_sign(self, p: Precision) -> int | None:
        """Sign of rho where its enclosure cannot tell: the sum scaled by ``exp(-d_top)`` does not underflow."""
        if p.bits not in self._rho_sign:
            if not self.items:
                self._rho_sign[p.bits] = 0
            else:
                top = self.items[0][0]
                scaled = p.fsum(p.scale(p.exp(p.rational(dv - top)), c) for dv, c in self.items)
                self._rho_sign[p.bits] = _interval_sign(*scaled)
        return self._rho_sign[p.bits]


def grad_softmax(row: Row, g: list[float]) -> list[Term]:
    """``s_j * (g_j - sum_i g_i s_i)`` for every element of the row.

    With ``gamma_j = g_j - gbar`` (see :class:`_SoftmaxGradRow`) the value is
    ``s_j (gamma_j - rho)``:

    * off the maxima (``D_j = 0``) one positive factor ``s_j`` times
      ``gamma_j - rho``, whose sign is read off its enclosure, so the sign of
      the result is known even where ``s_j`` underflows MPFR;
    * at a maximum, ``gamma_j / k + (gamma_j r_j - s_j rho)``.
    """
    qs = [finite_q(v) for v in g]
    if row.status != "ok" or any(q is None for q in qs):
        return [_NAN] * len(qs)
    shared = _SoftmaxGradRow(row, qs)
    return [_grad_softmax_element(shared, j, qs[j] - shared.gbar) for j in range(len(qs))]


def _grad_softmax_element(shared: _SoftmaxGradRow, j: int, gamma: mpq) -> Term:
    row = shared.row
    if row.is_masked(j):
        return exact(mpq(0))
    g_sign = (gamma > 0) - (gamma < 0)

    def factor_sign(p: Precision) -> int | None:
        """Sign of gamma - rho."""
        rs = shared.rho_sign(p)
        if rs is None:
            return None
        if rs == 0 or g_sign == -rs:
            return g_sign
        return -rs if g_sign == 0 else None

    d, _ = row.split(j)
    if d == 0:

        def factor(p: Precision):
            return p.add_q(p.neg(shared.rho(p)), gamma)

        def off_max(p: Precision):
            fac = factor(p)
            lo, hi = p.mul(row.prob(j, p), fac)
            decided = _interval_sign(*fac)
            return lo, hi, decided if decided is not None else factor_sign(p)

        def log_off_max(p: Precision):
            # log|s_j (gamma - rho)| = d_j - L + log|gamma - rho|
            fac = factor(p)
            if not (fac[0] > 0 or fac[1] < 0):
                return None
            log_fac = p.log(fac if fac[0] > 0 else p.neg(fac))
            return p.add(row.log_abs_rest(j, p), log_fac)

        off_max.log = log_off_max
        return Term(mpq(0), ((mpq(1), off_max, None),))
    if not row.tail:
        return exact(d * gamma)
    # At a maximum: value - gamma/k = -(gamma T/k + P/S) / S with T = sum_tail exp(d_i) and
    # P = sum_tail c_i exp(d_i): its sign is -sign(N), N = (gamma T/k + P/S) S = gamma T + gamma T^2/k + P,
    # an exponential polynomial with exact coefficients (exponents d_i and d_i + d_j).  Where the
    # enclosure cannot tell (the remainder cancels or underflows MPFR), N's exact coefficients are
    # grouped by exponent and N is evaluated scaled by its top exponent, where it cannot underflow.
    def at_max(p: Precision):
        lo, hi = p.fsum((p.scale(row.prob_rest(j, p), gamma), p.neg(p.mul(row.prob(j, p), shared.rho(p)))))
        decided = _interval_sign(lo, hi)
        if decided is None:
            s_n = _exponential_polynomial_sign(_max_remainder_polynomial(shared, gamma), p)
            decided = None if s_n is None else -s_n
        return lo, hi, decided

    return Term(d * gamma, ((mpq(1), at_max, None),))


def _max_remainder_polynomial(shared: _SoftmaxGradRow, gamma: mpq) -> dict[mpq, mpq]:
    """``N = sum_i (gamma + c_i) e^{d_i} + (gamma / k) sum_{i,j} e^{d_i + d_j}``: exponent -> exact coefficient."""
    poly: dict[mpq, mpq] = {}
    for d_i, c_i in shared.tail_c:
        poly[d_i] = poly.get(d_i, mpq(0)) + gamma + c_i
    if gamma != 0:
        second = gamma / shared.row.k
        for d_i, _ in shared.tail_c:
            for d_j, _ in shared.tail_c:
                poly[d_i + d_j] = poly.get(d_i + d_j, mpq(0)) + second
    return {e: c for e, c in poly.items() if c != 0}


def _exponential_polynomial_sign(poly: dict[mpq, mpq], p: Precision) -> int | None:
    """Sign of ``sum c e^{x}`` over distinct exact exponents (0 when no term is left: by
    Lindemann-Weierstrass the exponentials of distinct rationals are linearly independent)."""
    if not poly:
        return 0
    top = max(poly)
    return _interval_sign(*p.fsum(p.scale(p.exp(p.rational(x - top)), c) for x, c in poly.items()))
