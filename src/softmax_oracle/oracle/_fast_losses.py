"""Fast phase of cross_entropy with class-index targets (values, every reduction, and the gradient).

Built on the lean row quantities of :mod:`._fast_lean` (``d``, ``s``, ``T``,
``S``, ``L`` with their bounds).  For sample ``n`` with target ``t`` and
class weight ``w = w_t`` (``weight``'s entry, 1 without it):

* loss ``w (L - d_t)`` (``d_t <= 0 <= L``, so ``y = L - d_t >= 0`` has no
  cancellation); ``y`` is formed as a double-word (``|y - y~| <= L_err +
  d_err + 8 u**2 |y|``) and multiplied by ``w`` exactly as a double-word
  product (``16 u**2``);
* ``reduction="sum"``: the losses added by :func:`._fast_lean`'s pairwise
  double-word tree (``4 u**2`` per level of the sum of magnitudes) plus the
  sum of their bounds; ``"mean"``: divided by ``D = sum w_t`` over the
  samples not ignored (the same tree; ``D = 0`` is NaN only where the bound
  proves it: no sample, or all weights zero exactly) with the quotient's
  ``32 u**2`` and both relative bounds;
* gradient ``F (s_i - [i = t])`` with ``F = G w`` (``G`` the upstream
  gradient, divided by ``D`` for ``"mean"``): ``F s_i`` off the target,
  ``-F (1 - s_t)`` at it, where ``1 - s_t = T / S`` when ``t`` is the row's
  only maximum (no cancellation) and ``1 - s_t >= 1/2`` otherwise (so the
  absolute bound of ``s_t`` is at most twice relative).

Decided structurally, as the MPFR engine (:mod:`._losses`): ignored samples
and zero weights give ``+0`` (and a zero gradient row); a row with one finite
logit whose target is that logit has loss ``+0`` and gradient ``+0``; masked
non-target classes have gradient ``+0``; NaN upstream gradients, a mean over
``D = 0``, and rows that are not ordinary (NaN, ``+inf``, no finite logit)
give gradient NaN.  Left to the MPFR engine: the loss of rows that are not
ordinary or whose target logit is ``-inf`` (their IEEE special values),
and reductions over such samples.  Probability targets and
``label_smoothing`` are :mod:`._fast_soft_targets`'.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..formats import Format
from ..numerics import double_double as dd
from ..numerics.arith import arith_for
from ..numerics.eft import two_prod, two_sum_error
from ._fast_lean import GROW, U, _dd_tree_sum, _depth, decide, lean_log, lean_rows
from ._fast_rows import (set_decided, BLOCK, classify, dead, loss_phase, refine_enclosure, signed_zero, special,
                         structural_enclosure, _rounded)
from ..numerics.enclosure import Enclosure
from ._fast_soft_targets import soft_targets_phase

__all__ = ["cross_entropy_phase", "nll_loss_phase"]

_U2 = U * U


class _Problem:
    """The float data of an index-target cross-entropy: ``x`` ``(M, C)``, targets, weights, ``D``."""

    def __init__(self, prob) -> None:
        self.x = prob.input.astype(np.float64)
        self.reduction = prob.reduction
        m, n_classes = self.x.shape
        t = prob.target.astype(np.int64)
        self.counted = t != prob.ignore_index  # samples in the mean's denominator
        self.t = np.where(self.counted, t, 0)
        w = np.ones(n_classes) if prob.weight is None else prob.weight.astype(np.float64).reshape(-1)
        self.w = np.where(self.counted, w[self.t], 0.0)
        self.live = self.counted & (self.w != 0)  # samples with a nonzero loss coefficient
        # a total weight beyond the float range makes D and D_err inf or NaN: every bound using them is
        # then NaN or inf, so nothing divided by D is decided (the mean goes to the MPFR engine)
        with np.errstate(over="ignore", invalid="ignore"):
            dh, dl = _dd_tree_sum(self.w[None, :], np.zeros((1, m))) if m else (np.zeros(1), np.zeros(1))
            self.D = (float(dh[0]), float(dl[0]))
            self.D_err = _depth(max(m, 1)) * 4 * _U2 * float(np.abs(self.w).sum()) * GROW


def _blocks(n_rows: int, n: int):
    step = max(1, BLOCK // max(n, 1))
    for r0 in range(0, n_rows, step):
        yield slice(r0, r0 + step)


def _sample_losses(A, p: _Problem, rows: slice):
    """Per sample of ``rows``: loss double-word, bound, decidable (ordinary, finite target logit), zero-loss."""
    c = classify(p.x[rows])
    q = lean_rows(A, c, softmax=False, exact_d=False)  # the loss needs neither s nor d_lo off the targets
    L, L_lo, L_err = lean_log(A, c, q)
    idx = np.arange(c.xs.shape[0])
    t = p.t[rows]
    d_t = q.d[idx, t][:, None]
    if q.d_lo is None:  # double tier: TwoSum's error word at the targets only (d_t = fl(x_t - m))
        d_lo = two_sum_error(c.xs[idx, t][:, None], -c.m[:, None], d_t)
    else:
        d_lo = (q.d_lo[idx, t] if np.ndim(q.d_lo) else np.zeros_like(d_t[:, 0]))[:, None]
    d_err = (q.d_err[idx, t] if np.ndim(q.d_err) else np.zeros_like(d_t[:, 0]))[:, None]
    with np.errstate(over="ignore", invalid="ignore"):  # unknown bounds are not decided
        yh, yl = dd.add((L, L_lo), (-d_t, -d_lo))
        y_err = L_err + d_err + 8 * _U2 * np.abs(yh)
        w = p.w[rows][:, None]
        lh, ll = dd.mul_float((yh, yl), w)
        l_err = (np.abs(w) * y_err + 16 * _U2 * np.abs(lh)) * GROW
    ok = (c.status == 0) & c.live[idx, t]
    zero = ok & c.single & c.is_max[idx, t]  # L = 0 and d_t = 0: the loss is exactly 0
    return (lh[:, 0], ll[:, 0]), l_err[:, 0], ok, zero, c, q


def _loss_values(p: _Problem, fmt: Format, tier=None):
    A = tier or arith_for(fmt)
    m = p.x.shape[0]
    lh, ll, err = np.zeros(m), np.zeros(m), np.zeros(m)
    ok, zero = np.zeros(m, bool), np.zeros(m, bool)
    for rows in _blocks(m, p.x.shape[1]):
        (lh[rows], ll[rows]), err[rows], ok[rows], zero[rows], _, _ = _sample_losses(A, p, rows)
    quiet = ~p.live | zero  # exactly +0
    if p.reduction == "none":
        values, decided = decide(lh, ll, err, fmt, sign=np.sign(p.w))
        decided &= ok
        set_decided(values, decided, quiet, signed_zero(False, fmt))
        return values, decided
    if not (ok | quiet).all():
        return np.zeros((), fmt.dtype), np.zeros((), bool)
    lh, ll, err = (np.where(quiet, 0.0, a) for a in (lh, ll, err))
    with np.errstate(over="ignore", invalid="ignore"):  # a sum past the range: inf or NaN, not decided
        sh, sl = _dd_tree_sum(lh[None, :], ll[None, :])
        s_err = (err.sum() + _depth(m) * 4 * _U2 * np.abs(lh).sum()) * GROW
    if p.reduction == "mean":
        if p.D[0] == 0:
            nan_for_sure = p.D_err == 0
            return np.asarray(special(np.nan, fmt)), np.asarray(nan_for_sure)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a zero sum: 0 relative error
            rel = np.where(sh != 0, s_err / np.abs(sh), np.inf) + p.D_err / abs(p.D[0]) + 32 * _U2
            sh, sl = dd.div((sh, sl), (np.full(1, p.D[0]), np.full(1, p.D[1])))
            s_err = np.abs(sh) * rel * GROW
            s_err = np.where(np.isfinite(s_err), s_err, np.inf)
    values, decided = decide(sh, sl, np.asarray(s_err).reshape(sh.shape), fmt)
    return values.reshape(()), decided.reshape(())


def _factors(p: _Problem, grad_output) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """``F = G w`` per sample as a double-word, its relative bound, and where it is NaN (``G`` None)."""
    m = p.x.shape[0]
    g = np.broadcast_to(np.asarray(grad_output, dtype=np.float64).reshape(-1 if p.reduction == "none" else ()), (m,))
    nan = ~np.isfinite(g)
    gs = np.where(nan, 0.0, g)
    # exact while the operands stay below 2**995; past that Veltkamp's split or the product overflows and the
    # error word is NaN or infinite, so no element using it is decided
    with np.errstate(over="ignore", invalid="ignore"):
        f = two_prod(gs, p.w)
    rel = np.zeros(m)
    if p.reduction == "mean":
        if p.D[0] == 0:
            return f, np.where(p.D_err == 0, 0.0, np.inf) + rel, nan | (p.D_err == 0)
        with np.errstate(over="ignore", invalid="ignore"):
            f = dd.div(f, (np.full(m, p.D[0]), np.full(m, p.D[1])))
            rel = rel + p.D_err / abs(p.D[0]) + 32 * _U2
    return f, rel, nan


def _gradient(p: _Problem, grad_output, fmt: Format, tier=None, enclose: bool = False):
    """``(values, decided)`` of the gradient, ``(samples, classes)``; with ``enclose``, also the
    enclosure of every exact value (see :func:`_gradient_rows`)."""
    A = tier or arith_for(fmt)
    m, n_classes = p.x.shape
    values = np.empty((m, n_classes), fmt.dtype)
    decided = np.zeros((m, n_classes), bool)
    fields = [*(np.full((m, n_classes), np.inf) for _ in range(3)), np.zeros((m, n_classes), np.int64)]
    (fh, fl), f_rel, f_nan = _factors(p, grad_output)
    for rows in _blocks(m, n_classes):
        c = classify(p.x[rows])
        q = lean_rows(A, c)  # the gradient needs no L
        values[rows], decided[rows], enc = _gradient_rows(A, p, rows, c, q, (fh[rows], fl[rows]), f_rel[rows],
                                                          f_nan[rows], fmt, enclose)
        for field, value in zip(fields, enc or ()):
            field[rows] = value
    return (values, decided, Enclosure(*fields)) if enclose else (values, decided)


def _gradient_rows(A, p: _Problem, rows: slice, c, q, f, f_rel, f_nan, fmt: Format, enclose: bool = False):
    """``(values, decided, enclosure)`` of a block (``enclosure`` None unless ``enclose``)."""
    n_rows, n_classes = c.xs.shape
    idx = np.arange(n_rows)
    t = p.t[rows]
    onehot = np.zeros((n_rows, n_classes), bool)
    onehot[idx, t] = True
    fh, fl = f[0][:, None], f[1][:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # unknown bounds are not decided
        unique_max = (c.k == 1)[:, None] & c.is_max
        r1 = dd.div((q.T, q.T_lo if np.ndim(q.T_lo) else np.zeros_like(q.T)),
                    (q.S, q.S_lo if np.ndim(q.S_lo) else np.zeros_like(q.S)))
        r1_rel = q.T_err / q.T + q.S_err / q.S + 32 * _U2
        s_lo = q.s_lo if np.ndim(q.s_lo) else np.zeros_like(q.s)
        r2 = dd.add((np.ones_like(q.s), np.zeros_like(q.s)), (-q.s, -s_lo))
        r2_rel = 2 * (q.s * q.s_rel + 2.0**-1070) + 8 * _U2
        # off the target: F s_i; at it: -F (1 - s_t)
        at_h = np.where(unique_max, r1[0], r2[0])
        at_l = np.where(unique_max, r1[1], r2[1])
        at_rel = np.where(unique_max, r1_rel, r2_rel)
        zh = np.where(onehot, -at_h, q.s)
        zl = np.where(onehot, -at_l, s_lo)
        z_rel = np.where(onehot, at_rel, q.s_rel)
        vh, vl = dd.mul((zh, zl), (np.broadcast_to(fh, zh.shape), np.broadcast_to(fl, zh.shape)))
        rad = np.abs(vh) * (z_rel + f_rel[:, None] + 16 * _U2) * GROW + np.abs(fh) * 2.0**-1068
        sign = np.where(onehot, -1.0, 1.0) * np.sign(fh)
        values, decided = decide(vh, vl, rad, fmt, sign=sign)
    live_row = p.live[rows][:, None]
    usable = live_row & (c.status == 0)[:, None] & ~f_nan[:, None]
    lean = [np.array(np.broadcast_to(f, vh.shape), dtype=np.float64) for f in (vh, vl, rad)] if enclose else None
    tiny = c.tail & ~onehot & usable & (q.s < 2.0**-1000) & ~(decided & (A.name == "double"))
    if tiny.any():  # subnormal results: enclosed again with scaled exponents (see _fast_rows.refine_enclosure)
        rel = np.broadcast_to(f_rel[:, None], tiny.shape)
        v = refine_enclosure(A, c, q, tiny, (fh, fl, rel))
        values[tiny], decided[tiny] = _rounded(v, fmt, sign=np.broadcast_to(np.sign(fh), tiny.shape)[tiny])
        if lean is not None:  # the scaled enclosure keeps its relative accuracy
            lean.append(np.zeros(vh.shape, np.int64))
            for field, value in zip(lean, v):
                field[tiny] = value
    decided &= live_row & (c.status == 0)[:, None] & c.live & ~f_nan[:, None]
    gone = c.tail & ~onehot & dead(q.d, fh) & live_row & (c.status == 0)[:, None] & ~f_nan[:, None]
    set_decided(values, decided, gone & (fh > 0), signed_zero(False, fmt))  # F s_i below half the least subnormal
    set_decided(values, decided, gone & (fh < 0), signed_zero(True, fmt))
    zeros = (live_row & (c.status == 0)[:, None] & ~c.live & ~onehot,  # exact zeros, in this order
             live_row & (c.single & c.is_max[idx, t])[:, None],
             live_row & ((fh == 0) & (fl == 0) & ~f_nan[:, None]))
    for zero in zeros:
        set_decided(values, decided, zero, signed_zero(False, fmt))
    nan = live_row & (f_nan[:, None] | (c.status != 0)[:, None])
    set_decided(values, decided, nan, special(np.nan, fmt))
    set_decided(values, decided, ~live_row, signed_zero(False, fmt))
    if lean is None:
        return values, decided, None
    if len(lean) == 3:
        lean.append(np.zeros(vh.shape, np.int64))
    # a dead element keeps its lean enclosure (its zero is a rounding, not an exact value)
    zero = ((zeros[0] | zeros[1] | zeros[2]) & ~nan) | ~live_row
    return values, decided, structural_enclosure(lean, usable & c.live, zero, nan)


def cross_entropy_phase(prob, label_smoothing: float, *, grad: bool, grad_output: np.ndarray | None = None):
    """The fast phase of a cross-entropy call, or None where it has none (no class or no sample).
    Probability targets and label smoothing go to :func:`._fast_soft_targets.soft_targets_phase`.

    ``prob`` is :func:`softmax_oracle.arguments.class_problem`'s; ``grad_output``
    the checked upstream gradient (float64, the loss's shape) for the gradient.
    """
    if 0 in prob.input.shape:
        return None
    if prob.probabilities or label_smoothing != 0:
        return soft_targets_phase(prob, label_smoothing, grad=grad, grad_output=grad_output)
    problem = lru_cache(maxsize=1)(lambda: _Problem(prob))  # on first use (MPFR alone needs none)
    return loss_phase(prob, prob.reduction, lambda fmt, tier: _loss_values(problem(), fmt, tier),
                      lambda fmt, tier: _gradient(problem(), grad_output, fmt, tier), grad=grad,
                      enclosed=lambda fmt: _gradient(problem(), grad_output, fmt, enclose=True))


# -- nll_loss: exact products -w_t x_t -------------------------------------------------------------------------

_TINY = 2.0**-960  # products below: TwoProduct's low word may have underflowed, left to the MPFR engine


def _nll_values(p: _Problem, fmt: Format):
    m = p.x.shape[0]
    x_t = p.x[np.arange(m), p.t]
    finite = np.isfinite(x_t)
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing products are not decided
        ph, pl = two_prod(-p.w, np.where(finite, x_t, 0.0))
    exact = p.live & finite & (np.abs(ph) >= _TINY) & np.isfinite(ph)
    zero = ~p.live | (finite & (x_t == 0))
    if p.reduction == "none":
        values, decided = decide(ph, pl, np.zeros(m), fmt)
        decided &= exact
        set_decided(values, decided, zero, signed_zero(False, fmt))
        inf = p.live & np.isinf(x_t)
        set_decided(values, decided, inf, np.where((p.w > 0) == (x_t > 0), -np.inf, np.inf).astype(fmt.dtype))  # -w x_t
        set_decided(values, decided, p.live & np.isnan(x_t), special(np.nan, fmt))
        return values, decided
    if not (exact | zero).all():
        return np.zeros((), fmt.dtype), np.zeros((), bool)
    ph, pl = np.where(zero, 0.0, ph), np.where(zero, 0.0, pl)
    with np.errstate(over="ignore", invalid="ignore"):  # a sum past the range: inf or NaN, not decided
        sh, sl = _dd_tree_sum(ph[None, :], pl[None, :])
        s_err = _depth(m) * 4 * _U2 * np.abs(ph).sum() * GROW
    if p.reduction == "mean":
        if p.D[0] == 0:
            return np.asarray(special(np.nan, fmt)), np.asarray(p.D_err == 0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a zero sum: 0 relative error
            rel = np.where(sh != 0, s_err / np.abs(sh), np.where(s_err == 0, 0.0, np.inf))
            rel = rel + p.D_err / abs(p.D[0]) + 32 * _U2
            sh, sl = dd.div((sh, sl), (np.full(1, p.D[0]), np.full(1, p.D[1])))
            s_err = np.abs(sh) * rel * GROW
            s_err = np.where(np.isfinite(s_err), s_err, np.inf)
    values, decided = decide(sh, sl, np.asarray(s_err).reshape(sh.shape), fmt)
    decided &= ~((sh == 0) & (sl == 0) & (np.asarray(s_err).reshape(sh.shape) == 0))  # an exact 0: +0 below
    set_decided(values, decided, (sh == 0) & (sl == 0) & (np.asarray(s_err).reshape(sh.shape) == 0), signed_zero(False, fmt))
    return values.reshape(()), decided.reshape(())


def _nll_gradient(p: _Problem, grad_output, fmt: Format):
    """``-F w_t`` at the target of a live sample, ``+0`` elsewhere; NaN at the target where ``F`` is."""
    m, n_classes = p.x.shape
    (fh, fl), f_rel, f_nan = _factors(p, grad_output)
    with np.errstate(over="ignore", invalid="ignore"):  # unknown bounds are not decided
        values_t, decided_t = decide(-fh, -fl, np.abs(fh) * f_rel * GROW, fmt)
    decided_t &= (np.abs(fh) >= _TINY) | ((fh == 0) & (fl == 0))
    set_decided(values_t, decided_t, (fh == 0) & (fl == 0) & ~f_nan, signed_zero(False, fmt))
    set_decided(values_t, decided_t, f_nan, special(np.nan, fmt))
    values = np.zeros((m, n_classes), fmt.dtype)
    decided = np.ones((m, n_classes), bool)
    rows = np.flatnonzero(p.live)
    values[rows, p.t[rows]] = values_t[rows]
    decided[rows, p.t[rows]] = decided_t[rows]
    return values, decided


def nll_loss_phase(prob, *, grad: bool, grad_output: np.ndarray | None = None):
    """The fast phase of an nll_loss call (``prob`` as for :func:`cross_entropy_phase`), or None
    without classes or samples.  Values ``-w_t x_t`` are exact double-words (TwoProduct), their sums
    double-word trees; the gradient is ``-F w_t`` at the target (``F`` of :func:`_factors`)."""
    if 0 in prob.input.shape:
        return None
    problem = lru_cache(maxsize=1)(lambda: _Problem(prob))  # built on first use
    return loss_phase(prob, prob.reduction, lambda fmt, tier: _nll_values(problem(), fmt),
                      lambda fmt, tier: _nll_gradient(problem(), grad_output, fmt), grad=grad)
