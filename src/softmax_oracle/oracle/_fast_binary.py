"""Fast phase of binary_cross_entropy and binary_cross_entropy_with_logits (values and gradients).

Entry points (called by :mod:`._loss_calls`; flat float64 arrays of one size
``n`` as :func:`._loss_calls._elementwise` returns them, ones where a weight is
not given; ``reduction`` in ``"none"``, ``"mean"``, ``"sum"``)::

    bce(p, y, w, reduction, fmt)                         -> (values, decided)
    grad_bce(p, y, w, reduction, g, fmt)                 -> (values, decided)
    bce_with_logits(x, y, w, pw, reduction, fmt)         -> (values, decided)
    grad_bce_with_logits(x, y, w, pw, reduction, g, fmt) -> (values, decided)

Values have shape ``(n,)`` for ``"none"`` and for every gradient, ``()`` for
the reduced losses.  ``g`` is ``grad_output``: flat ``(n,)`` for ``"none"``, a
scalar otherwise (divided by ``n`` for ``"mean"``, exactly, as an enclosure).

Formulas (the MPFR engine's, :mod:`._loss_calls`; no clamping of ``log``):

* BCE: ``-(w y) log p - (w (1 - y)) log1p(-p)``; a zero coefficient
  contributes exactly 0 (``0 log 0 = 0``); gradient
  ``f w (p - y) / (p (1 - p))`` (``p - y`` exact).
* BCE with logits, ``L = 1 + (pw - 1) y``, ``Y2 = log1p(exp(-|x|))``,
  ``Y1 = sigmoid(-|x|)``: loss ``w (1 - y) x + w L Y2`` (``x >= 0``),
  ``w pw y (-x) + w L Y2`` (``x < 0``); gradient ``f w ((1 - y) - L Y1)``
  (``x >= 0``), ``f w (L Y1 - pw y)`` (``x < 0``).
* ``"sum"``/``"mean"``: the certified sum of the elements' enclosures
  (:meth:`~softmax_oracle.numerics.arith.Arith.sum`), divided by ``n``.

Decided structurally: NaN (non-finite operands), exact zeros (``w = 0`` or a
zero gradient factor: ``+0``), BCE's infinite elements (``p`` at 0 or 1
under a non-zero coefficient) and BCE-with-logits' at ``x = +-inf``, for
``"none"``; the gradients there (infinities, or the remaining exact term,
rounded).  Left to the MPFR engine: a reduction over any such element, and
every element the rounding test does not decide.  Known signs (``w >= 0``, ``0 <= y <= 1``,
``pw >= 0``: the loss is ``>= 0``) are passed to the rounding test.
"""

from __future__ import annotations

import numpy as np

from ..formats import Format
from ..numerics.arith import Arith, arith_for
from ..numerics.enclosure import Enclosure, round_enclosure

__all__ = ["bce", "grad_bce", "bce_with_logits", "grad_bce_with_logits"]


def _where(mask: np.ndarray, a: Enclosure, b: Enclosure) -> Enclosure:
    return Enclosure(*(x if type(x) is float and type(y) is float and x == y else np.where(mask, x, y)
                       for x, y in zip(a, b)))


def _fill(values: np.ndarray, decided: np.ndarray, mask: np.ndarray, value, fmt: Format) -> None:
    """Decide ``mask`` structurally as ``value`` (a scalar or an array)."""
    values[mask] = np.asarray(value, dtype=np.float64)[mask] if np.ndim(value) else np.asarray(value).astype(fmt.dtype)
    decided[mask] = True


def _reduce(A: Arith, enc: Enclosure, ok: np.ndarray, sign: np.ndarray, reduction: str, fmt: Format):
    """``(values, decided)`` of ``"sum"``/``"mean"`` over the elements' enclosures; undecided unless all ``ok``."""
    n = ok.size
    if n == 0 or not ok.all():
        return np.zeros((), dtype=fmt.dtype), np.zeros((), dtype=bool)
    total = A.sum(enc, axis=None)
    if reduction == "mean":
        total = A.div(total, A.from_float(np.float64(n)))
    positive = bool(np.all(sign > 0))
    values, decided = round_enclosure(total, fmt, sign=1 if positive else None)
    return np.asarray(values).reshape(()), np.asarray(decided).reshape(())


def _factor(A: Arith, g, reduction: str, n: int) -> tuple[Enclosure, np.ndarray]:
    """The gradient factor ``f`` per element (an enclosure) and where it is finite."""
    g = np.broadcast_to(np.asarray(g, dtype=np.float64), (n,)) if reduction == "none" else \
        np.full(n, float(np.asarray(g, dtype=np.float64).reshape(-1)[0]))
    finite = np.isfinite(g)
    f = A.from_float(np.where(finite, g, 0.0))
    if reduction == "mean":
        f = A.div(f, A.from_float(np.full(n, float(n))))
    return f, finite & ((reduction != "mean") | (n > 0))


def _finish(A, enc, fmt, sign, nan, zero, reduction, extra=None):
    """Round the per-element enclosures and apply the structural decisions (``extra``: more ``(mask, value)``)."""
    values, decided = round_enclosure(enc, fmt, sign=sign)
    decided = decided & ~nan & ~zero
    _fill(values, decided, nan, np.nan, fmt)
    _fill(values, decided, zero, 0.0, fmt)
    for mask, value in extra or ():
        _fill(values, decided, mask, value, fmt)
    return values, decided


def bce(p, y, w, reduction: str, fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fast phase of ``binary_cross_entropy`` (see the module docstring)."""
    A = tier or arith_for(fmt)
    p, y, w = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (p, y, w))
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite operands are masked, then decided as NaN
        nan = ~(np.isfinite(p) & np.isfinite(y) & np.isfinite(w))
        c1_zero = (w == 0) | (y == 0)
        c2_zero = (w == 0) | (y == 1)
        inf1 = ~nan & (p == 0) & ~c1_zero  # -(w y) log 0
        inf2 = ~nan & (p == 1) & ~c2_zero  # -(w (1 - y)) log 0
        zero = ~nan & ~inf1 & ~inf2 & ((w == 0) | ((p == 0) & c1_zero) | ((p == 1) & c2_zero))
        inner = ~nan & ~inf1 & ~inf2 & ~zero
        ps = np.where(inner, p, 0.5)
        ys, ws = np.where(nan, 0.0, y), np.where(nan, 0.0, w)
        W, Y, P = A.from_float(ws), A.from_float(ys), A.from_float(ps)
        one = A.constant(1.0, (p.size,))
        t1 = A.mul(A.mul(W, Y), A.log(P))
        t2 = A.mul(A.mul(W, A.sub(one, Y)), A.log1p(A.neg(P)))
        loss = A.neg(A.add(t1, t2))
        sign = np.where((ws >= 0) & (ys >= 0) & (ys <= 1), 1, 0)
        if reduction != "none":
            zero_enc = Enclosure(np.zeros(p.size), 0.0 if type(loss.lo) is float else np.zeros(p.size),
                                 np.zeros(p.size), np.zeros(p.size, np.int64))
            return _reduce(A, _where(zero, zero_enc, loss), inner | zero, np.where(zero, 1, sign), reduction, fmt)
        inf_value = np.where(inf1, np.sign(ws) * np.sign(ys), np.sign(ws) * np.sign(1.0 - ys)) * np.inf
        return _finish(A, loss, fmt, sign, nan, zero, reduction, [(inf1 | inf2, inf_value)])


def grad_bce(p, y, w, reduction: str, g, fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fast phase of the gradient of ``binary_cross_entropy`` (see the module docstring)."""
    A = tier or arith_for(fmt)
    p, y, w = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (p, y, w))
    n = p.size
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite operands are masked, then decided as NaN
        f, f_ok = _factor(A, g, reduction, n)
        nan = ~(np.isfinite(p) & np.isfinite(y) & np.isfinite(w) & f_ok)
        fw = A.mul(f, A.from_float(np.where(nan, 0.0, w)))
        fw_zero = (f.hi == 0) | (w == 0)
        zero = ~nan & (fw_zero | ((p == y) & (p > 0) & (p < 1)))  # at p = 0 or 1, (p - y) / (p (1 - p)) is 0/0
        inner = ~nan & ~zero & (p > 0) & (p < 1)
        ps, ys = np.where(inner, p, 0.5), np.where(inner, y, 0.0)
        P = A.from_float(ps)
        den = A.mul(P, A.sub(A.constant(1.0, (n,)), P))
        enc = A.mul(fw, A.div(A.exact_difference(ps, ys), den))
        sign = np.sign(f.hi) * np.sign(w) * np.sign(ps - ys)
        values, decided = _finish(A, enc, fmt, sign, nan, zero, reduction)
        done = inner | nan | zero
        edge = ~done & ((p == 0) | (p == 1))
        if edge.any():
            _bce_edges(A, fw, p, y, np.sign(f.hi) * np.sign(w), edge, values, decided, fmt)
            done |= edge
    return values, decided & done


def _bce_edges(A: Arith, fw: Enclosure, p, y, sign_c, edge, values, decided, fmt: Format) -> None:
    """The gradient at ``p`` in ``{0, 1}`` (``c = f w != 0``), as the MPFR engine: ``-c y / p`` and
    ``c (1 - y) / (1 - p)`` with a zero denominator give ``+-inf`` unless their coefficient is 0;
    otherwise the other term alone, ``c`` (``p = y = 0``) or ``-c`` (``p = y = 1``)."""
    inf0 = edge & (p == 0) & (y != 0)
    inf1 = edge & (p == 1) & (y != 1)
    infinite = inf0 | inf1
    _fill(values, decided, infinite, np.where(inf0, -sign_c * np.sign(y), sign_c * np.sign(1.0 - y)) * np.inf, fmt)
    finite = edge & ~infinite
    if finite.any():
        enc = _where(p == 1, A.neg(fw), fw)
        v, d = round_enclosure(enc, fmt, sign=np.where(p == 1, -sign_c, sign_c))
        values[finite] = v[finite]
        decided[finite] = d[finite]


def _logit_parts(A: Arith, x, y, w, pw):
    """``W, Y, PW, X, L, Y1-or-Y2 helpers`` as enclosures, for finite masked operands."""
    n = x.size
    one = A.constant(1.0, (n,))
    W, Y, PW, X = (A.from_float(a) for a in (w, y, pw, x))
    L = A.add(one, A.mul(A.sub(PW, one), Y))
    e = A.exp(A.from_float(-np.abs(x)))
    return one, W, Y, PW, X, L, e


def bce_with_logits(x, y, w, pw, reduction: str, fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fast phase of ``binary_cross_entropy_with_logits`` (see the module docstring)."""
    A = tier or arith_for(fmt)
    x, y, w, pw = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (x, y, w, pw))
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite operands are masked, then decided as NaN
        nan = np.isnan(x) | ~(np.isfinite(y) & np.isfinite(w) & np.isfinite(pw))
        infinite = ~nan & np.isinf(x)
        c_inf = np.where(x > 0, np.sign(w) * np.sign(1.0 - y), np.sign(w) * np.sign(pw) * np.sign(y))
        zero = ~nan & ((w == 0) | (infinite & (c_inf == 0)))
        inner = ~nan & ~infinite & ~zero
        xs, ys, ws, pws = (np.where(inner, a, 0.0) for a in (x, y, w, pw))
        one, W, Y, PW, X, L, e = _logit_parts(A, xs, ys, ws, pws)
        pos = xs >= 0
        d = _where(pos, A.mul(A.sub(one, Y), X), A.mul(A.mul(PW, Y), A.neg(X)))
        loss = A.add(A.mul(W, d), A.mul(A.mul(W, L), A.log1p(e)))
        sign = np.where((ws >= 0) & (pws >= 0) & (ys >= 0) & (ys <= 1), 1, 0)
        if reduction != "none":
            zero_enc = Enclosure(np.zeros(x.size), 0.0 if type(loss.lo) is float else np.zeros(x.size),
                                 np.zeros(x.size), np.zeros(x.size, np.int64))
            return _reduce(A, _where(zero, zero_enc, loss), inner | zero, np.where(zero, 1, sign), reduction, fmt)
        return _finish(A, loss, fmt, sign, nan, zero, reduction, [(infinite & ~zero, c_inf * np.inf)])


def grad_bce_with_logits(x, y, w, pw, reduction: str, g, fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fast phase of the gradient of ``binary_cross_entropy_with_logits`` (see the module docstring)."""
    A = tier or arith_for(fmt)
    x, y, w, pw = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (x, y, w, pw))
    n = x.size
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite operands are masked, then decided as NaN
        f, f_ok = _factor(A, g, reduction, n)
        nan = np.isnan(x) | ~(np.isfinite(y) & np.isfinite(w) & np.isfinite(pw) & f_ok)
        zero = ~nan & ((f.hi == 0) | (w == 0))
        inner = ~nan & ~zero & np.isfinite(x)
        xs, ys, ws, pws = (np.where(inner, a, 0.0) for a in (x, y, w, pw))
        one, W, Y, PW, X, L, e = _logit_parts(A, xs, ys, ws, pws)
        y1 = A.div(e, A.add(one, e))
        ly1 = A.mul(L, y1)
        inner_term = _where(xs >= 0, A.sub(A.sub(one, Y), ly1), A.sub(ly1, A.mul(PW, Y)))
        fw = A.mul(f, W)
        enc = A.mul(fw, inner_term)
        values, decided = _finish(A, enc, fmt, None, nan, zero, reduction)
        limit = ~nan & ~zero & np.isinf(x)
        if limit.any():  # x = +inf: f w (1 - y); x = -inf: -f w pw y (exact rationals, rounded)
            y_l, w_l, pw_l = (np.where(limit, a, 0.0) for a in (y, w, pw))
            fw_l = A.mul(f, A.from_float(w_l))
            c = _where(x > 0, A.sub(one, A.from_float(y_l)), A.neg(A.mul(A.from_float(pw_l), A.from_float(y_l))))
            exact_zero = limit & np.where(x > 0, y == 1, (pw == 0) | (y == 0))
            v, d = round_enclosure(A.mul(fw_l, c), fmt)
            values[limit] = v[limit]
            decided[limit] = d[limit]
            _fill(values, decided, exact_zero, 0.0, fmt)
            inner |= limit
    return values, decided & (inner | nan | zero)
