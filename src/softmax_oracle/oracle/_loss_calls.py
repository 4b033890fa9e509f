"""Argument checking and term building for the losses and their gradients.

The per-sample formulas and conventions are in :mod:`._losses`; the torch
semantics of the arguments in :mod:`softmax_oracle.arguments`.  Each builder
returns ``(Terms, input_format)`` of the loss, or with ``grad=True`` of its
gradient with respect to ``input`` contracted with ``grad_output``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from gmpy2 import mpq

from ..arguments import (
    binary_problem,
    check_label_smoothing,
    class_problem,
    grad_output_array,
    pair_problem,
)
from ..formats import Format
from . import _fast_binary, _pointwise
from ._calls import hexlist
from ._evaluate import Terms
from ._fast_kl import kl_div_phase
from ._fast_losses import cross_entropy_phase, nll_loss_phase
from ._losses import Sample, ce_grad_row, ce_sample, combine_specials, reduce_samples
from ._rows import Row
from ._ziv import Term, exact, special

__all__ = [
    "cross_entropy_terms",
    "nll_loss_terms",
    "kl_div_terms",
    "binary_cross_entropy_terms",
    "binary_cross_entropy_with_logits_terms",
]

_Q0 = mpq(0)
_Q1 = mpq(1)


def _finite_weights(w: np.ndarray | None, n: int) -> list[mpq]:
    """Class weights as exact rationals (checked finite by :func:`~softmax_oracle.arguments.class_problem`)."""
    if w is None:
        return [_Q1] * n
    return [mpq(v) for v in w.astype(np.float64).reshape(-1).tolist()]


def _factors(grad_output: Any, reduction: str, out_shape: tuple[int, ...], den: mpq | None) -> Callable[[int], mpq | None]:
    """Per-sample factor multiplying the gradient of sample ``n``'s loss (None: NaN), as a function of ``n``."""
    g = grad_output_array(grad_output, out_shape if reduction == "none" else ()).astype(np.float64).reshape(-1)

    def q(v: float) -> mpq | None:
        return mpq(v) if math.isfinite(v) else None

    if reduction == "none":
        return lambda n: q(float(g[n]))
    f = q(float(g[0]))
    if reduction != "sum":
        f = None if (f is None or not den) else f / den
    return lambda n: f


class _Cache(dict):
    """A lazily filled ``key -> value`` map: ``cache(key, make)``."""

    def __call__(self, key, make):
        value = self.get(key)
        if value is None:
            value = self[key] = make()
        return value


def _loss_terms(name: str, sample: Callable[[int], Sample], n: int, reduction: str, den: mpq | None, out_shape,
                describe, fast=None) -> Terms:
    """Terms of a loss from its per-sample builder: one per sample, or one reduced term built from all."""
    if reduction == "none":
        return Terms(name, lambda i: sample(i).term(), out_shape, describe, fast)
    return Terms(name, lambda i: reduce_samples([sample(k) for k in range(n)], reduction, den), (),
                 lambda i: describe(None), fast)


# -- cross_entropy and nll_loss ----------------------------------------------------------------


def _class_coeffs(prob, eps: mpq) -> tuple[Callable[[int], dict[int, mpq] | None], mpq]:
    """Class coefficients ``a_{n,c}`` of sample ``n`` (None: a bad, NaN sample), and the mean's denominator."""
    m, n_classes = prob.input.shape
    w = _finite_weights(prob.weight, n_classes)
    if prob.probabilities:
        y = prob.target.astype(np.float64)

        def coeffs(n: int) -> dict[int, mpq] | None:
            yn = y[n].tolist()
            if not all(math.isfinite(v) for v in yn):
                return None
            return {c: w[c] * (mpq(yn[c]) * (1 - eps) + eps / n_classes) for c in range(n_classes)}

        return coeffs, mpq(m)
    targets = prob.target.tolist()

    def coeffs(n: int) -> dict[int, mpq] | None:
        t = targets[n]
        if t == prob.ignore_index:
            return {}
        a = {c: eps / n_classes * w[c] for c in range(n_classes)} if eps else {}
        a[t] = a.get(t, _Q0) + (1 - eps) * w[t]
        return a

    return coeffs, sum((w[t] for t in targets if t != prob.ignore_index), _Q0)


def cross_entropy_terms(input, target, weight, ignore_index, reduction, label_smoothing, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    eps = mpq(check_label_smoothing(label_smoothing))
    prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=True)
    x = prob.input.astype(np.float64)
    m, n_classes = prob.input.shape
    rows = _Cache()
    coeffs, den = _class_coeffs(prob, eps)

    def row(n: int) -> Row:
        return rows(n, lambda: Row(x[n].tolist()))

    def describe(n):
        if n is None:
            return f"input rows {[hexlist(r) for r in x[:4]]}{' ...' if m > 4 else ''}"
        return f"input row {hexlist(x[n])}, target {prob.target[n].tolist()!r}"

    if not grad:
        def sample(n: int) -> Sample:
            a = coeffs(n)
            return Sample(special=math.nan) if a is None else ce_sample(row(n), x[n].tolist(), a)

        fast = cross_entropy_phase(prob, float(eps), grad=False)
        return _loss_terms("cross_entropy", sample, m, prob.reduction, den, prob.out_shape, describe,
                           fast), prob.input_format
    factor = _factors(grad_output, prob.reduction, prob.out_shape, den)
    g = grad_output_array(grad_output, prob.out_shape if prob.reduction == "none" else ())
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        fast = cross_entropy_phase(prob, float(eps), grad=True, grad_output=g.astype(np.float64))
    grads = _Cache()

    def row_grad(n: int) -> list[Term]:
        a = coeffs(n)
        if a is None:
            return [special(math.nan)] * n_classes
        return ce_grad_row(row(n), a, factor(n), n_classes)

    return _restore("grad.cross_entropy", lambda n, c: grads(n, lambda: row_grad(n))[c], prob,
                    lambda n: describe(n), fast), prob.input_format


def _restore(name: str, element: Callable[[int, int], Term], prob, describe, fast=None) -> Terms:
    """Terms of an ``(M, C)`` gradient ``element(n, c)``, in the input's layout."""
    index = prob.restore(np.arange(prob.input.size).reshape(prob.input.shape)).reshape(-1)
    n_classes = max(prob.input.shape[1], 1)

    def term(i: int) -> Term:
        return element(*divmod(int(index[i]), n_classes))

    return Terms(name, term, prob.in_shape, lambda i: describe(int(index[i]) // n_classes), fast)


def nll_loss_terms(input, target, weight, ignore_index, reduction, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=False)
    x = prob.input.astype(np.float64)
    m, n_classes = prob.input.shape
    w = _finite_weights(prob.weight, n_classes)
    targets = prob.target.tolist()
    den = sum((w[t] for t in targets if t != prob.ignore_index), _Q0)

    def describe(n):
        if n is None:
            return f"input rows {[hexlist(r) for r in x[:4]]}, targets {targets[:4]}"
        return f"input row {hexlist(x[n])}, target {targets[n]}"

    if not grad:
        def sample(n: int) -> Sample:
            t = targets[n]
            if t == prob.ignore_index or w[t] == 0:
                return Sample()
            v = float(x[n, t])
            if not math.isfinite(v):
                return Sample(special=-v if w[t] > 0 else v)
            return Sample(exact=-w[t] * mpq(v))

        return _loss_terms("nll_loss", sample, m, prob.reduction, den, prob.out_shape, describe,
                           nll_loss_phase(prob, grad=False)), prob.input_format
    factor = _factors(grad_output, prob.reduction, prob.out_shape, den)
    g = grad_output_array(grad_output, prob.out_shape if prob.reduction == "none" else ())
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        fast = nll_loss_phase(prob, grad=True, grad_output=g.astype(np.float64))

    def element(n: int, c: int) -> Term:
        t = targets[n]
        if t == prob.ignore_index or w[t] == 0 or c != t:
            return exact(_Q0)
        f = factor(n)
        return special(math.nan) if f is None else exact(-f * w[t])

    return _restore("grad.nll_loss", element, prob, describe, fast), prob.input_format


# -- kl_div ------------------------------------------------------------------------------------------


def _log_enclosure(y: mpq):
    return lambda p: p.log(p.rational(y))


def _exp_enclosure(t: mpq):
    return lambda p: p.exp(p.rational(t))


def _kl_sample(xv: float, yv: float, log_target: bool) -> Sample:
    if math.isnan(xv) or math.isnan(yv):
        return Sample(special=math.nan)
    if log_target:
        if yv == -math.inf:
            return Sample()
        if not (math.isfinite(xv) and math.isfinite(yv)):
            # exp(t) > 0 (and +inf at t = +inf): the term is +-inf or NaN, that of t - x.  Not
            # float(exp(t)) * (t - x): exp underflows to 0 below t = -745 and 0 * inf is NaN.
            return Sample(special=yv - xv)
        return Sample(_Q0, [(mpq(yv) - mpq(xv), _exp_enclosure(mpq(yv)), 1)])
    if yv == 0:
        return Sample()
    if yv < 0:
        return Sample(special=math.nan)
    if not (math.isfinite(xv) and math.isfinite(yv)):
        return Sample(special=yv * (math.log(yv) - xv))  # y > 0: +-inf or NaN, no underflow to 0
    y = mpq(yv)
    return Sample(-y * mpq(xv), [(y, _log_enclosure(y), (y > 1) - (y < 1))])


def _kl_grad(xv: float, yv: float, f: mpq | None, log_target: bool) -> Term:
    if math.isnan(xv) or math.isnan(yv) or f is None:
        return special(math.nan)
    if log_target:
        if yv == -math.inf:
            return exact(_Q0)
        if yv == math.inf:
            return special(-math.inf if f > 0 else math.inf if f < 0 else math.nan)
        return Term(_Q0, ((-f, _exp_enclosure(mpq(yv)), 1),))
    if math.isinf(yv):  # -f * y: the sign of f (not float(f), which may underflow), 0 * inf = NaN
        return special(math.nan if f == 0 else (-yv if f > 0 else yv))
    return exact(-f * mpq(yv))


def kl_div_terms(input, target, reduction, log_target, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    x_arr, fmt, t_arr, reduction = pair_problem(input, target, reduction, ("none", "mean", "sum", "batchmean"))
    xs = x_arr.astype(np.float64).reshape(-1)
    ys = t_arr.astype(np.float64).reshape(-1)
    shape = x_arr.shape
    den = mpq(xs.size) if reduction == "mean" else mpq(shape[0] if shape else 1)
    red = "mean" if reduction == "batchmean" else reduction

    def describe(i):
        if i is None:
            return f"input {hexlist(xs[:8])}, target {hexlist(ys[:8])}"
        return f"input {float(xs[i]).hex()}, target {float(ys[i]).hex()}"

    if not grad:
        def sample(i: int) -> Sample:
            return _kl_sample(float(xs[i]), float(ys[i]), bool(log_target))

        fast = kl_div_phase(xs, ys, shape, red, bool(log_target), float(den), grad=False)
        return _loss_terms("kl_div", sample, xs.size, red, den, shape, describe, fast), fmt
    factor = _factors(grad_output, red, shape, den)
    g = grad_output_array(grad_output, shape if red == "none" else ())
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        fast = kl_div_phase(xs, ys, shape, red, bool(log_target), float(den), grad=True,
                            grad_output=g.astype(np.float64))
    return Terms("grad.kl_div", lambda i: _kl_grad(float(xs[i]), float(ys[i]), factor(i), bool(log_target)),
                 shape, describe, fast), fmt


# -- binary cross-entropy ------------------------------------------------------------------------------


def _elementwise(prob) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat float64 input, target, weight and pos_weight (ones where not given)."""
    n = prob.input.size
    xs = prob.input.astype(np.float64).reshape(-1)
    ys = prob.target.astype(np.float64).reshape(-1)
    ws = prob.weight.astype(np.float64).reshape(-1) if prob.weight is not None else np.ones(n)
    pws = prob.pos_weight.astype(np.float64).reshape(-1) if prob.pos_weight is not None else np.ones(n)
    return xs, ys, ws, pws


def _at(i: int, *arrays: np.ndarray) -> tuple[float, ...]:
    return tuple(float(a[i]) for a in arrays)


def _log_p(p: mpq):
    return lambda P: P.log(P.rational(p))


def _log1m_p(p: mpq):
    return lambda P: P.log1p(P.rational(-p))


def _bce_sample(pv: float, yv: float, wv: float) -> Sample:
    if not (math.isfinite(pv) and math.isfinite(yv) and math.isfinite(wv)):
        return Sample(special=math.nan)
    p, y, w = mpq(pv), mpq(yv), mpq(wv)
    c1, c2 = -w * y, -w * (1 - y)  # loss = c1 log p + c2 log(1 - p)
    infinite = []
    parts = []
    if c1 != 0:
        if p == 0:
            infinite.append(math.inf if c1 < 0 else -math.inf)
        else:
            parts.append((c1, _log_p(p), -1 if p < 1 else 0))
    if c2 != 0:
        if p == 1:
            infinite.append(math.inf if c2 < 0 else -math.inf)
        else:
            parts.append((c2, _log1m_p(p), -1 if p > 0 else 0))
    if infinite:
        return Sample(special=combine_specials(infinite))
    return Sample(_Q0, parts)


def _bce_grad(pv: float, yv: float, wv: float, f: mpq | None) -> Term:
    """``f w (-y/p + (1-y)/(1-p))``, zero coefficients contributing 0."""
    if f is None or not (math.isfinite(pv) and math.isfinite(yv) and math.isfinite(wv)):
        return special(math.nan)
    p, y, c = mpq(pv), mpq(yv), f * mpq(wv)
    total, infinite = _Q0, []
    for coef, den in ((-c * y, p), (c * (1 - y), 1 - p)):
        if coef == 0:
            continue
        if den == 0:
            infinite.append(math.inf if coef > 0 else -math.inf)
        else:
            total += coef / den
    return special(combine_specials(infinite)) if infinite else exact(total)


def _binary_fast(kernel, arrays, reduction: str, shape: tuple[int, ...], g: np.ndarray | None = None):
    """The fast phase of an elementwise loss (:mod:`._fast_binary`), reshaped to the output."""
    out_shape = shape if reduction == "none" or g is not None else ()

    def fast(fmt: Format, tier=None):
        extra = () if g is None else (g,)
        values, decided = kernel(*arrays, reduction, *extra, fmt, tier)
        return values.reshape(out_shape), decided.reshape(out_shape)

    return fast


def _binary_grad_output(grad_output: Any, reduction: str, shape: tuple[int, ...]) -> np.ndarray:
    g = grad_output_array(grad_output, shape if reduction == "none" else ())
    with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
        g = g.astype(np.float64)
    return g.reshape(-1) if reduction == "none" else g.reshape(())


def binary_cross_entropy_terms(input, target, weight, reduction, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    prob = binary_problem(input, target, weight, reduction, probabilities=True)
    xs, ys, ws, _ = _elementwise(prob)
    describe = _binary_describe(xs, ys, ws)
    n = xs.size
    shape = prob.input.shape
    if not grad:
        fast = _binary_fast(_fast_binary.bce, (xs, ys, ws), prob.reduction, shape)
        return _loss_terms("binary_cross_entropy", lambda i: _bce_sample(*_at(i, xs, ys, ws)), n, prob.reduction,
                           mpq(n), shape, describe, fast), prob.input_format
    factor = _factors(grad_output, prob.reduction, shape, mpq(n))
    g = _binary_grad_output(grad_output, prob.reduction, shape)
    fast = _binary_fast(_fast_binary.grad_bce, (xs, ys, ws), prob.reduction, shape, g)
    return Terms("grad.binary_cross_entropy", lambda i: _bce_grad(*_at(i, xs, ys, ws), factor(i)),
                 shape, describe, fast), prob.input_format


def _binary_describe(xs, ys, ws):
    def describe(i):
        if i is None:
            return f"input {hexlist(xs[:8])}, target {hexlist(ys[:8])}"
        return f"input {float(xs[i]).hex()}, target {float(ys[i]).hex()}, weight {float(ws[i]).hex()}"

    return describe


def _bcel_sample(xv: float, yv: float, wv: float, pwv: float) -> Sample:
    if not (math.isfinite(yv) and math.isfinite(wv) and math.isfinite(pwv)) or math.isnan(xv):
        return Sample(special=math.nan)
    y, w, pw = mpq(yv), mpq(wv), mpq(pwv)
    big_l = 1 + (pw - 1) * y
    if math.isinf(xv):
        # loss -> w (1 - y) x for x -> +inf, and w pw y |x| for x -> -inf
        c = w * (1 - y) if xv > 0 else w * pw * y
        return Sample() if c == 0 else Sample(special=math.inf if c > 0 else -math.inf)
    x = mpq(xv)
    d = w * ((1 - y) * x + big_l * max(-x, _Q0))
    return Sample(d, [(w * big_l, _pointwise.log1p_exp_neg(x), 1)])


def _bcel_grad(xv: float, yv: float, wv: float, pwv: float, f: mpq | None) -> Term:
    """``f w (L sigmoid(x) - pw y)`` with ``L = 1 + (pw - 1) y``."""
    if f is None or math.isnan(xv) or not (math.isfinite(yv) and math.isfinite(wv) and math.isfinite(pwv)):
        return special(math.nan)
    y, fw, pw = mpq(yv), f * mpq(wv), mpq(pwv)
    big_l = 1 + (pw - 1) * y
    if math.isinf(xv):
        return exact(fw * (big_l - pw * y) if xv > 0 else -fw * pw * y)
    x = mpq(xv)
    if x >= 0:
        return Term(fw * (big_l - pw * y), ((-fw * big_l, _pointwise.sigmoid_neg(x), 1),))
    return Term(-fw * pw * y, ((fw * big_l, _pointwise.sigmoid_neg(x), 1),))


def binary_cross_entropy_with_logits_terms(input, target, weight, reduction, pos_weight, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    prob = binary_problem(input, target, weight, reduction, pos_weight=pos_weight, probabilities=False)
    xs, ys, ws, pws = _elementwise(prob)
    describe = _binary_describe(xs, ys, ws)
    n = xs.size
    shape = prob.input.shape
    if not grad:
        fast = _binary_fast(_fast_binary.bce_with_logits, (xs, ys, ws, pws), prob.reduction, shape)
        return _loss_terms("binary_cross_entropy_with_logits", lambda i: _bcel_sample(*_at(i, xs, ys, ws, pws)), n,
                           prob.reduction, mpq(n), shape, describe, fast), prob.input_format
    factor = _factors(grad_output, prob.reduction, shape, mpq(n))
    g = _binary_grad_output(grad_output, prob.reduction, shape)
    fast = _binary_fast(_fast_binary.grad_bce_with_logits, (xs, ys, ws, pws), prob.reduction, shape, g)
    return Terms("grad.binary_cross_entropy_with_logits", lambda i: _bcel_grad(*_at(i, xs, ys, ws, pws), factor(i)),
                 shape, describe, fast), prob.input_format
