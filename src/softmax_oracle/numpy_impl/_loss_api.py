"""Public shells of the losses (torch.nn.functional semantics), shared by the tiers.

Reductions: 'mean' of index-target cross_entropy / nll_loss divides by the sum
of the target weights of the non-ignored samples (NaN when there are none);
probability targets by the number of samples; kl_div 'mean' by the number of
elements and 'batchmean' by ``input.shape[0]``; BCE 'mean' is the plain mean.
Label smoothing is torch's: ``(1 - eps) nll + eps / C * sum_c w_c (-log_softmax_c)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arguments import binary_problem, check_label_smoothing, class_problem, output_format, pair_problem
from ._rounding import round_to_format
from ._select import Selector

__all__ = ["LossFunctions", "reduce_terms", "class_weights"]


def reduce_terms(kernels: Any, terms: np.ndarray, reduction: str, denominator: Any) -> np.ndarray:
    """'none' keeps the terms, 'sum' adds them, 'mean' divides the sum by ``denominator``.

    A mean over a zero denominator (every target ignored or of zero weight) is ``0 / 0``: NaN, even
    where label smoothing leaves a nonzero sum (``sum / 0`` would be ``+-inf``), as in the oracle and
    PyTorch."""
    if reduction == "none":
        return terms
    total = kernels.total(terms)
    if reduction == "sum":
        return total
    den = np.asarray(denominator, dtype=terms.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # mean of nothing is NaN
        return np.asarray(np.where(den == 0, np.asarray(np.nan, dtype=terms.dtype), total / den))


def class_weights(problem: Any, work: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, target, w_t)``: class weights, targets with ignored ones set to 0, and the
    weight of each sample's target (0 for ignored samples)."""
    n_classes = problem.input.shape[1]
    w = np.ones(n_classes, dtype=work) if problem.weight is None else problem.weight.astype(work)
    ignored = problem.target == problem.ignore_index
    target = np.where(ignored, 0, problem.target)
    return w, target, np.where(ignored, 0, w[target]).astype(work)


class LossFunctions:
    """cross_entropy, nll_loss, kl_div, binary_cross_entropy[_with_logits] for one tier."""

    _select: Selector

    def cross_entropy(self, input: Any, target: Any, *, weight: Any = None, ignore_index: Any = -100,
                      reduction: Any = "mean", label_smoothing: Any = 0.0, dtype: Any = None) -> np.ndarray:
        """-sum_c w_c y_c log_softmax(input)_c over the class dimension (1, or 0 for 1-D input)."""
        eps = check_label_smoothing(label_smoothing)
        prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=True)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        rows = prob.input.astype(work, copy=False)
        n_samples, n_classes = rows.shape
        if prob.probabilities:
            w = np.ones(n_classes, dtype=work) if prob.weight is None else prob.weight.astype(work)
            y = prob.target.astype(work)
            if eps:
                y = y * (1 - eps) + eps / n_classes
            coef = y * w
            with np.errstate(invalid="ignore"):
                logp = kernels.log_softmax(rows) if rows.size else rows
                terms = -np.sum(np.where(coef == 0, 0, coef * logp), axis=-1)
            den: Any = n_samples
        else:
            w, t, wt = class_weights(prob, work)
            ignored = prob.target == prob.ignore_index
            with np.errstate(invalid="ignore"):
                nll = kernels.cross_entropy_rows(rows, t) if rows.size else np.zeros(n_samples, dtype=work)
                terms = np.where(wt == 0, 0, wt * nll)
                if eps:
                    logp = kernels.log_softmax(rows)
                    smooth = -np.sum(np.where(w == 0, 0, w * logp), axis=-1)
                    terms = (1 - eps) * terms + (eps / n_classes) * smooth
                terms = np.where(ignored, 0, terms).astype(work)
            den = kernels.total(wt)
        out = reduce_terms(kernels, terms, prob.reduction, den)
        if prob.reduction == "none":
            out = out.reshape(prob.out_shape)
        return round_to_format(out, fout)

    def nll_loss(self, input: Any, target: Any, *, weight: Any = None, ignore_index: Any = -100,
                 reduction: Any = "mean", dtype: Any = None) -> np.ndarray:
        """-w_t input_t over the class dimension; ignored targets contribute nothing."""
        prob = class_problem(input, target, weight, ignore_index, reduction, allow_probabilities=False)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        rows = prob.input.astype(work, copy=False)
        _, t, wt = class_weights(prob, work)
        picked = np.take_along_axis(rows, t[:, None], axis=-1)[:, 0] if rows.size else np.zeros(len(t), work)
        with np.errstate(invalid="ignore"):
            terms = np.where(wt == 0, 0, -(wt * picked)).astype(work)
        out = reduce_terms(kernels, terms, prob.reduction, kernels.total(wt))
        if prob.reduction == "none":
            out = out.reshape(prob.out_shape)
        return round_to_format(out, fout)

    def kl_div(self, input: Any, target: Any, *, reduction: Any = "mean", log_target: bool = False,
               dtype: Any = None) -> np.ndarray:
        """target (log target - input) elementwise (0 where target is 0); with ``log_target``,
        exp(target) (target - input).  'batchmean' divides the sum by ``input.shape[0]``."""
        x, fin, y, reduction = pair_problem(input, target, reduction, ("none", "mean", "sum", "batchmean"))
        fout = output_format(dtype, fin)
        kernels, work = self._select(fin, fout, False)
        terms = np.asarray(kernels.kl_terms(x.astype(work), y.astype(work), bool(log_target)), dtype=work)
        den = x.size if reduction == "mean" else (x.shape[0] if x.ndim else 1)
        out = reduce_terms(kernels, terms, "mean" if reduction == "batchmean" else reduction, den)
        return round_to_format(out, fout)

    def binary_cross_entropy(self, input: Any, target: Any, *, weight: Any = None, reduction: Any = "mean",
                             dtype: Any = None) -> np.ndarray:
        """-w (y log p + (1 - y) log(1 - p)); no clamp at -100: p = 0 with y > 0 gives +inf."""
        prob = binary_problem(input, target, weight, reduction, probabilities=True)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        terms = kernels.bce_terms(prob.input.astype(work), prob.target.astype(work))
        return self._binary_finish(kernels, work, terms, prob, fout)

    def binary_cross_entropy_with_logits(self, input: Any, target: Any, *, weight: Any = None,
                                         reduction: Any = "mean", pos_weight: Any = None,
                                         dtype: Any = None) -> np.ndarray:
        """w (pos_weight y softplus(-x) + (1 - y) softplus(x)) = BCE(sigmoid(x)) without the sigmoid."""
        prob = binary_problem(input, target, weight, reduction, pos_weight=pos_weight, probabilities=False)
        fout = output_format(dtype, prob.input_format)
        kernels, work = self._select(prob.input_format, fout, False)
        pw = None if prob.pos_weight is None else prob.pos_weight.astype(work)
        terms = kernels.bce_logits_terms(prob.input.astype(work), prob.target.astype(work), pw)
        return self._binary_finish(kernels, work, terms, prob, fout)

    @staticmethod
    def _binary_finish(kernels: Any, work: np.dtype, terms: np.ndarray, prob: Any, fout: Any) -> np.ndarray:
        terms = np.asarray(terms, dtype=work)
        if prob.weight is not None:
            w = prob.weight.astype(work)
            with np.errstate(invalid="ignore"):  # a zero weight removes the term, even an infinite one
                terms = np.where(w == 0, 0, w * terms)
        return round_to_format(reduce_terms(kernels, terms, prob.reduction, terms.size), fout)
