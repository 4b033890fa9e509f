"""Terms of the elementwise functions: sigmoid, log_sigmoid, softplus and their gradients.

With ``e = exp(-|x|)`` (in (0, 1], never overflowing) three positive
quantities cover them all:

    Y1 = sigmoid(-|x|) = e / (1 + e)
    Y2 = softplus(-|x|) = log1p(e)
    Y3 = sigmoid(x) sigmoid(-x) = e / (1 + e)**2

and the exact part carries the rest:

    sigmoid(x)      = 1 - Y1 (x >= 0)      Y1 (x < 0)
    softplus(x)     = x + Y2 (x >= 0)      Y2 (x < 0)
    log_sigmoid(x)  = -Y2 (x >= 0)         x - Y2 (x < 0)
    sigmoid'(x)     = Y3
    softplus'(x)    = sigmoid(x),   log_sigmoid'(x) = sigmoid(-x)

Infinities: sigmoid(+inf) = 1, sigmoid(-inf) = 0; softplus(+inf) = +inf,
softplus(-inf) = +0; log_sigmoid(+inf) = -0.0 (the limit from below),
log_sigmoid(-inf) = -inf; the gradients at +-inf are their limits.  NaN gives
NaN; a non-finite ``grad_output`` gives NaN.
"""

from __future__ import annotations

import math

from gmpy2 import mpq

from ._interval import Interval, Precision
from ._ziv import Term, exact, special

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "grad_sigmoid",
    "grad_log_sigmoid",
    "grad_softplus",
    "log1p_exp_neg",
    "sigmoid_neg",
]

_NAN = special(math.nan)
_ONE = mpq(1)


def _e(x: mpq, p: Precision) -> Interval:
    return p.exp(p.rational(-abs(x)))


def _log_bound(x: mpq, times: int):
    """``log Y`` in ``[-|x| - times * e, -|x|]`` with ``e = exp(-|x|)``: for Y1 (``times = 1``:
    ``log Y1 = -|x| - log1p(e)``), Y2 (1: ``log log1p(e) >= log e - e``) and Y3 (2)."""

    def f(p: Precision) -> Interval:
        top = p.rational(-abs(x))
        e_hi = p.up.exp(top[1])
        return p.down.sub(top[0], p.up.mul(e_hi, times)), top[1]

    return f


def sigmoid_neg(x: mpq):
    """Enclosure function of ``Y1 = sigmoid(-|x|)`` (with ``.log``)."""

    def f(p: Precision) -> Interval:
        e = _e(x, p)
        return p.div_pos(e, p.add_q(e, _ONE))

    f.log = _log_bound(x, 1)
    return f


def log1p_exp_neg(x: mpq):
    """Enclosure function of ``Y2 = log1p(exp(-|x|))`` (with ``.log``)."""

    def f(p: Precision) -> Interval:
        return p.log1p(_e(x, p))

    f.log = _log_bound(x, 1)
    return f


def _sigmoid_slope(x: mpq):
    def f(p: Precision) -> Interval:
        e = _e(x, p)
        one_e = p.add_q(e, _ONE)
        return p.div_pos(e, p.mul(one_e, one_e))

    f.log = _log_bound(x, 2)
    return f


def sigmoid(x: float) -> Term:
    if math.isnan(x):
        return _NAN
    if math.isinf(x):
        return exact(_ONE if x > 0 else mpq(0))
    q = mpq(x)
    if q >= 0:
        return Term(_ONE, ((mpq(-1), sigmoid_neg(q), 1),))
    return Term(mpq(0), ((_ONE, sigmoid_neg(q), 1),))


def softplus(x: float) -> Term:
    if math.isnan(x):
        return _NAN
    if math.isinf(x):
        return special(math.inf) if x > 0 else exact(mpq(0))
    q = mpq(x)
    return Term(max(q, mpq(0)), ((_ONE, log1p_exp_neg(q), 1),))


def log_sigmoid(x: float) -> Term:
    if math.isnan(x):
        return _NAN
    if math.isinf(x):
        return special(-0.0) if x > 0 else special(-math.inf)
    q = mpq(x)
    return Term(min(q, mpq(0)), ((mpq(-1), log1p_exp_neg(q), 1),))


def _g(g: float) -> mpq | None:
    return mpq(g) if math.isfinite(g) else None


def grad_sigmoid(x: float, g: float) -> Term:
    gq = _g(g)
    if math.isnan(x) or gq is None:
        return _NAN
    if math.isinf(x):
        return exact(mpq(0))
    return Term(mpq(0), ((gq, _sigmoid_slope(mpq(x)), 1),))


def _g_sigmoid(q: mpq, gq: mpq) -> Term:
    """``g * sigmoid(q)`` for a finite exact ``q``."""
    if q >= 0:
        return Term(gq, ((-gq, sigmoid_neg(q), 1),))
    return Term(mpq(0), ((gq, sigmoid_neg(q), 1),))


def grad_softplus(x: float, g: float) -> Term:
    gq = _g(g)
    if math.isnan(x) or gq is None:
        return _NAN
    if math.isinf(x):
        return exact(gq if x > 0 else mpq(0))
    return _g_sigmoid(mpq(x), gq)


def grad_log_sigmoid(x: float, g: float) -> Term:
    gq = _g(g)
    if math.isnan(x) or gq is None:
        return _NAN
    if math.isinf(x):
        return exact(mpq(0) if x > 0 else gq)
    return _g_sigmoid(-mpq(x), gq)
