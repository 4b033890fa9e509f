"""Gradients with respect to ``input``, contracted with ``grad_output`` (default: ones).

The formulas are written so that exact cancellations stay exact: with
``softmax = t / T`` (``t = exp(x - max)``, ``T = sum(t)``),

    grad logsumexp   = g t / T
    grad softmax     = (t / T) (h - (sum_j h_j t_j) / T),    h = g - g[argmax]  (g = ones: h = 0 -> 0)
    grad log_softmax = g - t (sum_j g_j) / T                  all-equal row: t = 1, (sum g)/T = 1 -> 0
    grad cross_entropy (index target t) = f w_t (softmax - onehot), where
        softmax_t - 1 = -(sum_{j != t} t_j) / T  is summed directly, not as a difference.

These float formulas (in the tier's working dtype) answer every row; with
``double_double`` (the accurate tier) the rows and elements whose arguments are
finite are instead computed in scaled double-double arithmetic
(:mod:`._precise_gradients`, :mod:`._precise_binary`), which absorbs the
cancellation against an arbitrary ``grad_output``; for the softmax family and
cross_entropy, after a first pass in float64 or x87 extended precision with error
bounds and a rounding test (:mod:`._screened_gradients`) that decides most rows
at a fraction of the cost (the plain formula of cross_entropy then only runs for
the rows that are not clean).  A sample with no loss term
(ignored, zero weight) has gradient 0, as in the oracle.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from ..arguments import (
    binary_problem,
    check_label_smoothing,
    class_problem,
    float_array,
    grad_output_array,
    normalize_axis,
    output_format,
    pair_problem,
)
from ._rounding import round_to_format
from ._family_api import as_rows, from_rows
from ._loss_api import class_weights
from . import _precise_gradients as precise
from . import _screened_gradients as screened
from ..numerics import scaled as sc
from ._precise_binary import bce_with_logits_grad
from ._select import Selector

__all__ = ["GradientFunctions"]

_QUIET = dict(invalid="ignore", divide="ignore", over="ignore", under="ignore")


def _factor(grad_output: Any, reduction: str, out_shape: tuple[int, ...], den: Any, work: np.dtype) -> np.ndarray:
    """Per-sample factor of each sample's gradient: g, g, or g / den for none, sum, mean.

    A mean over a zero denominator (every target ignored or of zero weight) is ``0 / 0``: the factor
    is NaN whatever ``g`` (``g / 0`` would give ``+-inf``); samples without a loss term are set to 0
    by the caller, as the oracle does."""
    g = grad_output_array(grad_output, out_shape if reduction == "none" else ()).astype(work)
    if reduction == "mean":
        d = np.asarray(den, dtype=work)
        with np.errstate(**_QUIET):
            g = np.where(d == 0, np.asarray(np.nan, dtype=work), g / d)
    return g


def _softmax_formula(t: np.ndarray, total: np.ndarray, g: np.ndarray) -> np.ndarray:
    # g_i - sum_j g_j p_j = h_i - sum_j h_j p_j with h = g - g[argmax]: at the
    # dominant element the sum no longer cancels against g_i.
    h = g - np.take_along_axis(g, np.argmax(t, axis=-1)[:, None], axis=-1) if t.size else g
    return (t / total) * (h - np.sum(h * t, axis=-1, keepdims=True) / total)


_FORMULAS = {
    "logsumexp": lambda t, total, g: g * t / total,
    "softmax": _softmax_formula,
    "log_softmax": lambda t, total, g: g - t * (np.sum(g, axis=-1, keepdims=True) / total),
}
_PRECISE = {
    "logsumexp": precise.logsumexp_grad,
    "softmax": precise.softmax_grad,
    "log_softmax": precise.log_softmax_grad,
}


def _without_terms(prob: Any, eps: float) -> np.ndarray:
    """Samples whose coefficients ``a_c`` (of ``-log_softmax_c`` in the loss) are all exactly 0."""
    n_samples, n_classes = prob.input.shape
    w = np.ones(n_classes) if prob.weight is None else prob.weight.astype(np.float64)
    if prob.probabilities:
        zero = (w == 0) | ((prob.target.astype(np.float64) == 0) & (eps == 0))
        return zero.all(axis=-1)
    ignored = prob.target == prob.ignore_index
    w_t = w[np.where(ignored, 0, prob.target)]
    others_zero = bool(eps == 0 or (w == 0).all())
    return ignored | ((w_t == 0) & others_zero)


def _sums_to_zero(values: np.ndarray) -> bool:
    """Whether the exact sum of float64 ``values`` is 0 (fsum, or fractions where it overflows)."""
    try:
        return math.fsum(values) == 0
    except OverflowError:
        return sum((Fraction(float(v)) for v in values), Fraction(0)) == 0


def _double_double_class_grad(cp: Any, redo: np.ndarray, mean: bool, fout: Any) -> np.ndarray:
    """:func:`._precise_gradients.class_grad` of the ``redo`` samples of a
    :class:`._screened_gradients.ClassProblem`."""
    n_classes = cp.rows.shape[1]
    factor = sc.from_float(cp.g[redo])
    if mean:
        terms = np.array([cp.den]) if cp.den_terms is None else cp.den_terms
        den = sc.row_sum(sc.from_float(terms[None, :]))
        factor = sc.div(factor, sc.Scaled(*(np.broadcast_to(v, (int(redo.sum()),)) for v in den)))
    if cp.probabilities is not None:
        a = precise.coefficients(n_classes, cp.eps, cp.weight, probabilities=cp.probabilities[redo])
    else:
        a = precise.coefficients(n_classes, cp.eps, cp.weight, index=cp.index[redo])
    return precise.class_grad(cp.rows[redo], a, factor, fout)


class GradientFunctions:
    """``grad.<function>`` of one tier: same signatures as the functions, plus ``grad_output``."""

    def __init__(self, select: Selector, tier: str, *, double_double: bool = False) -> None:
        self._select = select
        self.tier = tier
        self._double_double = double_double

    # -- softmax family ---------------------------------------------------------------

    def _family(self, name: str, x: Any, axis: Any, dtype: Any, grad_output: Any) -> np.ndarray:
        arr, fin = float_array(x, "x")
        ax = normalize_axis(axis, arr.ndim)
        fout = output_format(dtype, fin)
        kernels, work = self._select(fin, fout, False)
        reduced = name == "logsumexp"
        out_shape = tuple(s for i, s in enumerate(arr.shape) if i != ax) if reduced else arr.shape
        g = grad_output_array(grad_output, out_shape)
        rows = as_rows(arr, ax, work)
        g_rows = g.astype(work).reshape(-1, 1) if reduced else as_rows(g, ax, work)
        t, total = kernels.softmax_parts(rows) if rows.size else (rows, rows[:, :1])
        with np.errstate(**_QUIET):
            out = round_to_format(_FORMULAS[name](t, total, g_rows), fout)
        if self._double_double and rows.size:
            r64 = as_rows(arr, ax, np.dtype(np.float64))
            g64 = g_rows.astype(np.float64)
            clean = np.isfinite(np.max(r64, axis=-1)) & np.isfinite(g64).all(axis=-1)
            if clean.any():
                g_clean = g64[clean, 0] if reduced else g64[clean]
                out[clean] = screened.family_grad(name, r64[clean], g_clean, fout, _PRECISE[name])
        return from_rows(out, arr.shape, ax)

    def logsumexp(self, x: Any, axis: Any = -1, *, dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """g * softmax(x)."""
        return self._family("logsumexp", x, axis, dtype, grad_output)

    def softmax(self, x: Any, axis: Any = -1, *, dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """softmax(x) * (g - sum(g * softmax(x)))."""
        return self._family("softmax", x, axis, dtype, grad_output)

    def log_softmax(self, x: Any, axis: Any = -1, *, dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """g - softmax(x) * sum(g)."""
        return self._family("log_softmax", x, axis, dtype, grad_output)

    # -- elementwise ------------------------------------------------------------------------

    def _pointwise(self, x: Any, dtype: Any, grad_output: Any):
        arr, fin = float_array(x, "x")
        fout = output_format(dtype, fin)
        kernels, work = self._select(fin, fout, False)
        g = grad_output_array(grad_output, arr.shape).astype(work)
        return kernels, arr.astype(work), g, fout

    def sigmoid(self, x: Any, *, dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """g sigmoid(x) sigmoid(-x)."""
        k, v, g, fout = self._pointwise(x, dtype, grad_output)
        with np.errstate(**_QUIET):
            return round_to_format(np.asarray(g * k.sigmoid(v) * k.sigmoid(-v)), fout)

    def log_sigmoid(self, x: Any, *, dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """g sigmoid(-x)."""
        k, v, g, fout = self._pointwise(x, dtype, grad_output)
        with np.errstate(**_QUIET):
            return round_to_format(np.asarray(g * k.sigmoid(-v)), fout)

    def softplus(self, x: Any, *, dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """g sigmoid(x)."""
        k, v, g, fout = self._pointwise(x, dtype, grad_output)
        with np.errstate(**_QUIET):
            return round_to_format(np.asarray(g * k.sigmoid(v)), fout)

    # -- losses ----------------------------------------------------------------------------------

    def cross_entropy(self, input: Any, target: Any, *, weight: Any = None, ignore_index: Any = -100,
                      reduction: Any = "mean", label_smoothing: Any = 0.0, dtype: Any = None,
                      grad_output: Any = None) -> np.ndarray:
        """f (A softmax - a): a_c the coefficient of -log_softmax_c in the loss, A = sum_c a_c."""
        eps = check_label_smoothing(label_smoothing)
        prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=True)
        fout = output_format(dtype, prob.input_format)
        if self._double_double and prob.input.size:
            out = self._precise_cross_entropy(
                prob, eps, grad_output, fout,
                lambda: round_to_format(self._plain_cross_entropy(prob, eps, grad_output, fout), fout))
        else:
            out = self._plain_cross_entropy(prob, eps, grad_output, fout)
        # A sample whose loss has no term (ignored, zero weight) has no gradient, whatever its
        # input or the mean's denominator.
        out[_without_terms(prob, eps)] = 0
        return round_to_format(prob.restore(out), fout)

    def _plain_cross_entropy(self, prob: Any, eps: float, grad_output: Any, fout: Any) -> np.ndarray:
        """The float formula in the tier's working dtype, every row."""
        kernels, work = self._select(prob.input_format, fout, False)
        rows = prob.input.astype(work, copy=False)
        n_samples, n_classes = rows.shape
        t, total = kernels.softmax_parts(rows) if rows.size else (rows, rows[:, :1])
        with np.errstate(**_QUIET):
            p = t / total
            if prob.probabilities:
                w = np.ones(n_classes, dtype=work) if prob.weight is None else prob.weight.astype(work)
                y = prob.target.astype(work)
                if eps:
                    y = y * (1 - eps) + eps / n_classes
                a = y * w
                out = np.sum(a, axis=-1, keepdims=True) * p - a
                den: Any = n_samples
            else:
                w, tgt, wt = class_weights(prob, work)
                out = p.copy()
                if rows.size:
                    rest = t.copy()
                    np.put_along_axis(rest, tgt[:, None], 0, axis=-1)
                    np.put_along_axis(out, tgt[:, None], -np.sum(rest, axis=-1, keepdims=True) / total, axis=-1)
                out = wt[:, None] * out
                if eps:
                    out = (1 - eps) * out + (eps / n_classes) * (np.sum(w) * p - w)
                den = kernels.total(wt)
            f = _factor(grad_output, prob.reduction, prob.out_shape, den, work)
            return out * f.reshape(-1, 1)

    @staticmethod
    def _precise_cross_entropy(prob: Any, eps: float, grad_output: Any, fout: Any,
                               plain: Callable[[], np.ndarray]) -> np.ndarray:
        """The rows that are finite throughout in extended precision or double-double
        (:mod:`._screened_gradients`), the others (and a mean over no weight: NaN) by ``plain()``."""
        rows = prob.input.astype(np.float64)
        n_samples, n_classes = rows.shape
        g = np.broadcast_to(grad_output_array(grad_output, prob.out_shape if prob.reduction == "none" else ())
                            .astype(np.float64).reshape(-1), (n_samples,))
        clean = np.isfinite(np.max(rows, axis=-1)) & np.isfinite(g)
        weight = None if prob.weight is None else prob.weight.astype(np.float64)
        mean = prob.reduction == "mean"
        target = index = wt = None
        if prob.probabilities:
            target = prob.target.astype(np.float64)
            clean &= np.isfinite(target).all(axis=-1)
        else:
            _, index, wt = class_weights(prob, np.dtype(np.float64))
            clean &= prob.target != prob.ignore_index
        no_weight = mean and not prob.probabilities and _sums_to_zero(wt)  # NaN, as plain() gives
        out = plain() if no_weight or not clean.all() else np.empty(rows.shape, dtype=fout.dtype)
        if no_weight or not clean.any():
            return out
        cp = screened.ClassProblem(
            rows[clean], g[clean], weight, eps, index=None if index is None else index[clean],
            probabilities=None if target is None else target[clean],
            den_terms=wt if mean and not prob.probabilities else None, den=float(n_samples) if mean else 1.0)
        out[clean] = screened.class_grad(cp, fout, lambda redo: _double_double_class_grad(cp, redo, mean, fout))
        return out

    def nll_loss(self, input: Any, target: Any, *, weight: Any = None, ignore_index: Any = -100,
                 reduction: Any = "mean", dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """-f w_t at the target class, 0 elsewhere."""
        prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=False)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        _, tgt, wt = class_weights(prob, work)
        f = _factor(grad_output, prob.reduction, prob.out_shape, kernels.total(wt), work).reshape(-1)
        out = np.zeros(prob.input.shape, dtype=work)
        if out.size:
            with np.errstate(**_QUIET):
                np.put_along_axis(out, tgt[:, None], (-(wt * f))[:, None], axis=-1)
        out[_without_terms(prob, 0.0)] = 0  # no gradient, even for a NaN input or a mean over no weight
        return round_to_format(prob.restore(out), fout)

    def kl_div(self, input: Any, target: Any, *, reduction: Any = "mean", log_target: bool = False,
               dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """-f target, or -f exp(target) with ``log_target``."""
        x, fin, y, reduction = pair_problem(input, target, reduction, ("none", "mean", "sum", "batchmean"))
        fout = output_format(dtype, fin)
        kernels, work = self._select(fin, fout, False)
        den = x.size if reduction == "mean" else (x.shape[0] if x.ndim else 1)
        f = _factor(grad_output, "mean" if reduction == "batchmean" else reduction, x.shape, den, work)
        yw = y.astype(work)
        with np.errstate(**_QUIET):
            out = -(f * (np.exp(yw) if log_target else yw))
            out = np.where(np.isnan(x), np.nan, out)
        return round_to_format(np.asarray(out, dtype=work), fout)

    def binary_cross_entropy(self, input: Any, target: Any, *, weight: Any = None, reduction: Any = "mean",
                             dtype: Any = None, grad_output: Any = None) -> np.ndarray:
        """f w (p - y) / (p (1 - p)); at p = 0 or 1 the terms with a zero coefficient drop out, and so
        does an infinite term times a zero f w."""
        prob = binary_problem(input, target, weight, reduction, probabilities=True)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        p, y = prob.input.astype(work), prob.target.astype(work)
        c = _factor(grad_output, prob.reduction, p.shape, p.size, work)
        if prob.weight is not None:
            c = c * prob.weight.astype(work)
        with np.errstate(**_QUIET):
            inner = (p - y) / (p * (1 - p))
            edge = (p == 0) | (p == 1)
            if edge.any():
                first = np.where(y == 0, 0, -y / p)
                second = np.where(y == 1, 0, (1 - y) / (1 - p))
                inner = np.where(edge, first + second, inner)
            out = c * inner
            # a zero coefficient (grad_output or weight) times an infinite edge term is 0, as in the oracle
            out = np.where((c == 0) & np.isinf(inner), 0.0, out)
        return round_to_format(np.asarray(out, dtype=work), fout)

    def binary_cross_entropy_with_logits(self, input: Any, target: Any, *, weight: Any = None,
                                         reduction: Any = "mean", pos_weight: Any = None, dtype: Any = None,
                                         grad_output: Any = None) -> np.ndarray:
        """f w ((1 - y) sigmoid(x) - pos_weight y sigmoid(-x)); sigmoid(x) - y without pos_weight."""
        prob = binary_problem(input, target, weight, reduction, pos_weight=pos_weight, probabilities=False)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        x, y = prob.input.astype(work), prob.target.astype(work)
        c = _factor(grad_output, prob.reduction, x.shape, x.size, work)
        if prob.weight is not None:
            c = c * prob.weight.astype(work)
        with np.errstate(**_QUIET):
            if prob.pos_weight is None:
                inner = kernels.sigmoid(x) - y
            else:
                inner = (1 - y) * kernels.sigmoid(x) - prob.pos_weight.astype(work) * y * kernels.sigmoid(-x)
            out = round_to_format(np.asarray(c * inner, dtype=work), fout)
        if self._double_double and out.size:
            self._precise_bce_with_logits(prob, grad_output, out, fout)
        return out

    @staticmethod
    def _precise_bce_with_logits(prob: Any, grad_output: Any, out: np.ndarray, fout: Any) -> None:
        """Overwrite the elements of ``out`` with finite arguments by the double-double gradient."""
        shape = prob.input.shape
        x = prob.input.astype(np.float64).reshape(-1)
        y = prob.target.astype(np.float64).reshape(-1)
        g = np.broadcast_to(grad_output_array(grad_output, shape if prob.reduction == "none" else ())
                            .astype(np.float64), shape).reshape(-1)
        pw = np.ones_like(x) if prob.pos_weight is None else prob.pos_weight.astype(np.float64).reshape(-1)
        w = None if prob.weight is None else prob.weight.astype(np.float64).reshape(-1)
        clean = ~np.isnan(x) & np.isfinite(y) & np.isfinite(pw) & np.isfinite(g)
        if w is not None:
            clean &= np.isfinite(w)
        if clean.any():
            den = float(x.size) if prob.reduction == "mean" else 1.0
            out.reshape(-1)[clean] = bce_with_logits_grad(
                x[clean], y[clean], pw[clean], g[clean], None if w is None else w[clean], den, fout)
