"""Argument checking and term building for the losses and their gradients.

The per-sample formulas and conventions are in :mod:`._losses`; the torch
semantics of the arguments in :mod:`softmax_oracle.arguments`.  Each builder
returns ``(Terms, input_format)`` of the loss, or with ``grad=True`` of its
gradient with respect to ``input`` contracted with ``grad_output``.
"""

from __future__ import annotations

import math
from typing import Any

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
from . import _pointwise
from ._calls import hexlist
from ._evaluate import Terms
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


def _factors(grad_output: Any, reduction: str, out_shape: tuple[int, ...], n: int, den: mpq | None) -> list[mpq | None]:
    """Per-sample factor multiplying the gradient of each sample's loss."""
    g = grad_output_array(grad_output, out_shape if reduction == "none" else ())
    values = g.astype(np.float64).reshape(-1).tolist()
    qs = [mpq(v) if math.isfinite(v) else None for v in values]
    if reduction == "none":
        return qs
    f = qs[0]
    if reduction != "sum":
        f = None if (f is None or not den) else f / den
    return [f] * n


def _loss_terms(name: str, samples: list[Sample], reduction: str, den: mpq | None, out_shape, describe) -> Terms:
    if reduction == "none":
        return Terms(name, [s.term() for s in samples], out_shape, describe)
    return Terms(name, [reduce_samples(samples, reduction, den)], (), lambda i: describe(None))


# -- cross_entropy and nll_loss ----------------------------------------------------------------


def _class_coeffs(prob, eps: mpq) -> tuple[list[dict[int, mpq]], mpq, list[bool]]:
    """Class coefficients ``a_{n,c}`` per sample, the mean's denominator, and which samples are bad (NaN)."""
    m, n_classes = prob.input.shape
    w = _finite_weights(prob.weight, n_classes)
    coeffs: list[dict[int, mpq]] = []
    bad = [False] * m
    if prob.probabilities:
        y = prob.target.astype(np.float64).tolist()
        for n in range(m):
            if not all(math.isfinite(v) for v in y[n]):
                bad[n] = True
                coeffs.append({})
                continue
            coeffs.append({c: w[c] * (mpq(y[n][c]) * (1 - eps) + eps / n_classes) for c in range(n_classes)})
        return coeffs, mpq(m), bad
    den = _Q0
    for t in prob.target.tolist():
        if t == prob.ignore_index:
            coeffs.append({})
            continue
        a = {c: eps / n_classes * w[c] for c in range(n_classes)} if eps else {}
        a[t] = a.get(t, _Q0) + (1 - eps) * w[t]
        coeffs.append(a)
        den += w[t]
    return coeffs, den, bad


def cross_entropy_terms(input, target, weight, ignore_index, reduction, label_smoothing, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    eps = mpq(check_label_smoothing(label_smoothing))
    prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=True)
    x = prob.input.astype(np.float64).tolist()
    rows = [Row(r) for r in x]
    coeffs, den, bad = _class_coeffs(prob, eps)
    m = len(rows)
    n_classes = prob.input.shape[1]

    def describe(n):
        if n is None:
            return f"input rows {[hexlist(r) for r in x[:4]]}{' ...' if m > 4 else ''}"
        return f"input row {hexlist(x[n])}, target {prob.target[n].tolist()!r}"

    if not grad:
        samples = [Sample(special=math.nan) if bad[n] else ce_sample(rows[n], x[n], coeffs[n]) for n in range(m)]
        return _loss_terms("cross_entropy", samples, prob.reduction, den, prob.out_shape, describe), prob.input_format
    factors = _factors(grad_output, prob.reduction, prob.out_shape, m, den)
    flat: list[Term] = []
    for n in range(m):
        if bad[n]:
            flat.extend([special(math.nan)] * n_classes)
        else:
            flat.extend(ce_grad_row(rows[n], coeffs[n], factors[n], n_classes))
    return _restore("grad.cross_entropy", flat, prob, lambda i: describe(i // max(n_classes, 1))), prob.input_format


def _restore(name: str, flat: list[Term], prob, describe) -> Terms:
    """Terms laid out as ``(M, C)`` rows, put back in the input's layout."""
    index = np.arange(len(flat)).reshape(prob.input.shape)
    order = prob.restore(index).reshape(-1).tolist()
    return Terms(name, [flat[i] for i in order], prob.in_shape, lambda i: describe(order[i]))


def nll_loss_terms(input, target, weight, ignore_index, reduction, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=False)
    x = prob.input.astype(np.float64).tolist()
    m, n_classes = prob.input.shape
    w = _finite_weights(prob.weight, n_classes)
    targets = prob.target.tolist()
    den = sum((w[t] for t in targets if t != prob.ignore_index), _Q0)

    def describe(n):
        if n is None:
            return f"input rows {[hexlist(r) for r in x[:4]]}, targets {targets[:4]}"
        return f"input row {hexlist(x[n])}, target {targets[n]}"

    if not grad:
        samples = []
        for n, t in enumerate(targets):
            if t == prob.ignore_index or w[t] == 0:
                samples.append(Sample())
            elif not math.isfinite(x[n][t]):
                samples.append(Sample(special=-x[n][t] if w[t] > 0 else x[n][t]))
            else:
                samples.append(Sample(exact=-w[t] * mpq(x[n][t])))
        return _loss_terms("nll_loss", samples, prob.reduction, den, prob.out_shape, describe), prob.input_format
    factors = _factors(grad_output, prob.reduction, prob.out_shape, m, den)
    flat: list[Term] = []
    for n, t in enumerate(targets):
        live = t != prob.ignore_index and w[t] != 0
        for c in range(n_classes):
            if not live or c != t:
                flat.append(exact(_Q0))
            elif factors[n] is None:
                flat.append(special(math.nan))
            else:
                flat.append(exact(-factors[n] * w[t]))
    return _restore("grad.nll_loss", flat, prob, lambda i: describe(i // max(n_classes, 1))), prob.input_format


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


def kl_div_terms(input, target, reduction, log_target, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    x_arr, fmt, t_arr, reduction = pair_problem(input, target, reduction, ("none", "mean", "sum", "batchmean"))
    xs = x_arr.astype(np.float64).reshape(-1).tolist()
    ys = t_arr.astype(np.float64).reshape(-1).tolist()
    shape = x_arr.shape
    den = mpq(len(xs)) if reduction == "mean" else mpq(shape[0] if shape else 1)
    red = "mean" if reduction == "batchmean" else reduction

    def describe(i):
        if i is None:
            return f"input {hexlist(xs[:8])}, target {hexlist(ys[:8])}"
        return f"input {xs[i].hex()}, target {ys[i].hex()}"

    if not grad:
        samples = [_kl_sample(a, b, bool(log_target)) for a, b in zip(xs, ys)]
        return _loss_terms("kl_div", samples, red, den, shape, describe), fmt
    factors = _factors(grad_output, red, shape, len(xs), den)
    out: list[Term] = []
    for xv, yv, f in zip(xs, ys, factors):
        if math.isnan(xv) or math.isnan(yv) or f is None:
            out.append(special(math.nan))
        elif log_target:
            if yv == -math.inf:
                out.append(exact(_Q0))
            elif yv == math.inf:
                out.append(special(-math.inf if f > 0 else math.inf if f < 0 else math.nan))
            else:
                out.append(Term(_Q0, ((-f, _exp_enclosure(mpq(yv)), 1),)))
        elif math.isinf(yv):  # -f * y: the sign of f (not float(f), which may underflow), 0 * inf = NaN
            out.append(special(math.nan if f == 0 else (-yv if f > 0 else yv)))
        else:
            out.append(exact(-f * mpq(yv)))
    return Terms("grad.kl_div", out, shape, describe), fmt


# -- binary cross-entropy ------------------------------------------------------------------------------


def _elementwise(prob) -> tuple[list[float], list[float], list[float], list[float]]:
    n = prob.input.size
    xs = prob.input.astype(np.float64).reshape(-1).tolist()
    ys = prob.target.astype(np.float64).reshape(-1).tolist()
    ws = prob.weight.astype(np.float64).reshape(-1).tolist() if prob.weight is not None else [1.0] * n
    pws = prob.pos_weight.astype(np.float64).reshape(-1).tolist() if prob.pos_weight is not None else [1.0] * n
    return xs, ys, ws, pws


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


def binary_cross_entropy_terms(input, target, weight, reduction, *, grad=False, grad_output=None) -> tuple[Terms, Format]:
    prob = binary_problem(input, target, weight, reduction, probabilities=True)
    xs, ys, ws, _ = _elementwise(prob)
    describe = _binary_describe(xs, ys, ws)
    if not grad:
        samples = [_bce_sample(*v) for v in zip(xs, ys, ws)]
        return _loss_terms("binary_cross_entropy", samples, prob.reduction, mpq(len(xs)), prob.input.shape, describe), prob.input_format
    factors = _factors(grad_output, prob.reduction, prob.input.shape, len(xs), mpq(len(xs)))
    out = [_bce_grad(a, b, c, f) for a, b, c, f in zip(xs, ys, ws, factors)]
    return Terms("grad.binary_cross_entropy", out, prob.input.shape, describe), prob.input_format


def _binary_describe(xs, ys, ws):
    def describe(i):
        if i is None:
            return f"input {hexlist(xs[:8])}, target {hexlist(ys[:8])}"
        return f"input {xs[i].hex()}, target {ys[i].hex()}, weight {ws[i].hex()}"

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
    if not grad:
        samples = [_bcel_sample(*v) for v in zip(xs, ys, ws, pws)]
        return _loss_terms("binary_cross_entropy_with_logits", samples, prob.reduction, mpq(len(xs)), prob.input.shape, describe), prob.input_format
    factors = _factors(grad_output, prob.reduction, prob.input.shape, len(xs), mpq(len(xs)))
    out = [_bcel_grad(*v, f) for v, f in zip(zip(xs, ys, ws, pws), factors)]
    return Terms("grad.binary_cross_entropy_with_logits", out, prob.input.shape, describe), prob.input_format


