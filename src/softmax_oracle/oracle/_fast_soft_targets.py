"""Fast phase of cross_entropy with probability targets or label smoothing (values, reductions, gradient).

Every sample is written with exact class coefficients, as the MPFR engine
(:func:`._loss_calls._class_coeffs`, :func:`._losses.ce_sample`) writes it:
with ``eps`` the label smoothing, ``C`` the number of classes and ``w_c`` the
class weights (1 without ``weight``),

    a_c = w_c (y_c (1 - eps) + eps / C),

where ``y`` is the probability target, or the one-hot vector of the class
index (then ``a_t = w_t (1 - eps + eps / C)``, ``a_c = w_c eps / C``
elsewhere; every ``a_c`` of an ignored sample is 0).  With ``d_c = x_c - m``
and ``L = log S`` of the row (:mod:`._fast_lean`):

* loss ``l = A L + B``, ``A = sum_c a_c``, ``B = sum_c a_c (-d_c)``;
* gradient ``F (A s_i - a_i)`` (``F`` the upstream gradient, divided by the
  mean's denominator: the number of samples for probability targets, the sum
  of ``w_t`` over the samples not ignored for class indices, as torch).

Error bounds (``u = 2**-53``; ``docs/error-analysis.md``, section
"Cross-entropy with probability targets and label smoothing", gives the
derivation): each ``a_c`` is a double-word within ``60 u**2 |w_c| (|y_c| +
eps/C) + 2**-1069`` (exact without smoothing: ``y_c`` itself, or TwoProduct
``w_c y_c``); the products ``a_c (-d_c)`` are double-word products
(``8 u**2``, ``d_c`` exact from TwoSum); ``A`` and ``B`` are pairwise
double-word trees (``4 u**2`` per level of the sum of magnitudes); then
``A L`` (``8 u**2``) and ``+ B`` (``4 u**2``).  That is the double-double
tier (float64 targets); the double tier (the narrower formats, where ``L``
and ``s`` carry ``~2**-50`` anyway) runs the same steps in plain double,
with pairwise tree sums bounded by ``gamma_K`` of the magnitudes
(:func:`~softmax_oracle.numerics.arith.arith_for` picks).  The bound is
absolute, so cancellation (coefficients of both signs, ``A s_i`` near
``a_i``) widens the interval instead of being trusted.  At a row's unique
maximum ``s = 1 - T / S`` exactly, and the gradient is computed as
``sum_{c != max} a_c - A T / S``: a one-hot target on a dominant class does
not cancel.

Decided structurally, as the MPFR engine: a sample with a non-finite target
probability is NaN (loss and gradient row); a sample whose coefficients are
all exactly 0 (ignored, zero weights, zero targets without smoothing) has loss
``+0`` and gradient ``+0``; a NaN row with a surely nonzero coefficient is
NaN; a masked (``-inf``) class with a surely positive coefficient makes the
loss ``+inf`` (surely negative: ``-inf``) when every masked coefficient has
that sign or is 0; a row with one finite logit and zero coefficients
elsewhere has loss and gradient ``+0``; the gradient is NaN where ``F`` is
not finite or the row is not ordinary, ``+0`` where ``F = 0`` or at a masked
class with a zero coefficient, and a signed zero where a zero coefficient
leaves ``F A s_i`` below half the least subnormal.  Left to the MPFR engine:
anything a bound does not decide, reductions over samples that are not
ordinary, and coefficients whose sign or zeroness is not structural.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..formats import Format
from ..numerics.enclosure import Enclosure
from ..numerics import double_double as dd
from ..numerics.arith import arith_for
from ..numerics.eft import two_prod, two_sum
from ._fast_lean import GROW, U, _dd_tree_sum, _depth, _gamma, decide, lean_log, lean_rows, tree_sum
from ._fast_rows import structural_enclosure, set_decided, BLOCK, classify, dead, loss_phase, signed_zero, special

__all__ = ["soft_targets_phase"]

_U2 = U * U
FLOOR = 2.0**-1069
"""Absolute error per double-word operation that may underflow (TwoProduct's error word, ``lo`` words)."""
_BIG = 2.0**990  # coefficients and differences stay below: TwoProduct's split needs operands below 2**995


class SoftProblem:
    """The float data of one call: logits ``x`` ``(M, C)``, targets ``y`` ``(M, C)``, weights, ``eps``, ``D``.

    ``bad`` marks samples with a non-finite target probability (NaN samples);
    ``zero``, ``pos``, ``neg`` mark coefficients that are *structurally*
    exactly 0, > 0, < 0 (from the signs of ``w_c`` and ``y_c`` alone).
    """

    def __init__(self, prob, eps: float) -> None:
        self.x = prob.input.astype(np.float64)
        m, n_classes = self.x.shape
        self.reduction = prob.reduction
        self.eps = float(eps)
        self.w = np.ones(n_classes) if prob.weight is None else prob.weight.astype(np.float64).reshape(-1)
        self.unit_w = prob.weight is None
        if prob.probabilities:
            with np.errstate(invalid="ignore"):  # bfloat16's signalling NaN patterns become quiet NaNs
                y = prob.target.astype(np.float64)
            self.bad = ~np.isfinite(y).all(axis=1)
            self.y = np.where(self.bad[:, None], 0.0, y)
            self.counted = np.ones(m, bool)
            self.D, self.D_err = (float(m), 0.0), 0.0  # m < 2**53: exact
        else:
            t = prob.target.astype(np.int64)
            self.counted = t != prob.ignore_index
            self.bad = np.zeros(m, bool)
            self.y = np.zeros((m, n_classes))
            rows = np.flatnonzero(self.counted)
            self.y[rows, t[rows]] = 1.0
            wt = np.where(self.counted, self.w[np.where(self.counted, t, 0)], 0.0)
            with np.errstate(over="ignore", invalid="ignore"):  # a total weight past the range: D, D_err inf
                dh, dl = _dd_tree_sum(wt[None, :], np.zeros((1, m)))  # or NaN, and nothing divided by D decided
                self.D = (float(dh[0]), float(dl[0]))
                self.D_err = _depth(max(m, 1)) * 4 * _U2 * float(np.abs(wt).sum()) * GROW
        q = Fraction(self.eps) / n_classes  # eps / C as a double-word: |q - ec| <= u**2 q + 2**-1075
        hi = float(q)
        self.ec = (hi, float(q - Fraction(hi)))
        self._signs()

    def _signs(self) -> None:
        w, y, live = self.w[None, :], self.y, self.counted[:, None]
        if self.eps == 0:  # a_c = w_c y_c exactly
            self.zero = (w == 0) | (y == 0) | ~live
            self.pos = live & (np.sign(w) * np.sign(y) > 0)
            self.neg = live & (np.sign(w) * np.sign(y) < 0)
        else:  # y_c >= 0 (or eps = 1): y_c (1 - eps) + eps / C > 0
            b_pos = (y >= 0) | (self.eps == 1.0)
            self.zero = (w == 0) | ~live
            self.pos = live & b_pos & (w > 0)
            self.neg = live & b_pos & (w < 0)
        self.zero_row = self.zero.all(axis=1) & ~self.bad
        self.nonzero_row = (self.pos | self.neg).any(axis=1)
        self.nonneg_row = (self.zero | self.pos).all(axis=1)


def coefficients(p: SoftProblem, rows: slice):
    """``a_c`` of the samples ``rows`` as ``(hi, lo, err)`` with ``|a_c - hi - lo| <= err``: 0 without
    smoothing and weights, TwoProduct's underflow ``FLOOR`` with weights, else ``60 u**2 |w_c| (|y_c| +
    eps/C) + (|w_c| + 1) FLOOR`` (``docs/error-analysis.md`` section 8, step 1)."""
    y = p.y[rows]
    w = p.w[None, :]
    live = p.counted[rows][:, None]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # unknown bounds are not decided
        if p.eps == 0:
            if p.unit_w:
                ah, al, err = y, np.zeros_like(y), 0.0
            else:
                ah, al = two_prod(np.broadcast_to(w, y.shape), y)  # exact unless the error word underflows
                err = FLOOR
        else:
            oh, ol = two_sum(np.float64(1.0), np.float64(-p.eps))  # 1 - eps exactly
            r = dd.mul_float((np.full_like(y, oh), np.full_like(y, ol)), y)
            b = dd.add(r, (np.full_like(y, p.ec[0]), np.full_like(y, p.ec[1])))
            ah, al = dd.mul_float(b, np.broadcast_to(w, y.shape)) if not p.unit_w else b
            mag = np.abs(w) * (np.abs(y) + p.ec[0])
            err = 60 * _U2 * mag + (np.abs(w) + 1.0) * FLOOR
        ah = np.where(live, ah, 0.0)
        al = np.where(live, al, 0.0)
        err = np.where(live, err, 0.0)
    return ah, al, err


def coefficients_double(p: SoftProblem, rows: slice):
    """``a_c`` rounded in double (the double tier): ``(a, err)`` with ``|a_c - a| <= err``: 0 without smoothing
    and weights, ``u |a| + FLOOR`` with weights, else ``8 u |w_c| (|y_c| + eps/C) + (|w_c| + 1) FLOOR``
    (``docs/error-analysis.md`` section 8, the double tier)."""
    y = p.y[rows]
    w = p.w[None, :]
    live = p.counted[rows][:, None]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # unknown bounds are not decided
        if p.eps == 0:
            a = y if p.unit_w else w * y
            err = 0.0 if p.unit_w else U * np.abs(a) + FLOOR
        else:
            b = y * (1.0 - p.eps)
            b += p.ec[0]
            a = b if p.unit_w else w * b
            err = 8 * U * np.abs(w) * (np.abs(y) + p.ec[0]) + (np.abs(w) + 1.0) * FLOOR
        a = np.where(live, a, 0.0)
        err = np.where(live, err, 0.0)
    return a, err


def _sums_double(p: SoftProblem, rows: slice, n: int):
    """The double tier's ``A`` (the fixed pairwise tree of :func:`._fast_lean.tree_sum`: each term meets at most
    ``K = 2 ceil(log2 C)`` additions, ``gamma_K sum |a_c|``) and the coefficients."""
    a, a_err = coefficients_double(p, rows)
    with np.errstate(over="ignore", invalid="ignore"):  # unknown bounds are not decided
        A_ = tree_sum(a)
        A_err = (np.sum(np.broadcast_to(a_err, a.shape), axis=1) + _gamma(_depth(n)) * np.abs(a).sum(axis=1)) * GROW
    return (A_, A_err), (a, a_err)


def _sums(A, p: SoftProblem, c, q, rows: slice):
    """Per row ``A`` and per element ``a``: ``(Ah, Al, A_err)`` (``(rows,)``), ``(ah, al, a_err)``."""
    ah, al, a_err = coefficients(p, rows)
    n = c.xs.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):  # unknown bounds are not decided
        Ah, Al = _dd_tree_sum(ah, al)
        A_err = (np.sum(np.broadcast_to(a_err, ah.shape), axis=1) + _depth(n) * 4 * _U2 * np.abs(ah).sum(axis=1)) * GROW
    return (Ah, Al, A_err), (ah, al, a_err)


def _row_ok(p: SoftProblem, c, rows: slice, ah: np.ndarray, d: np.ndarray, tier: str) -> np.ndarray:
    """Ordinary rows whose coefficients and differences stay in TwoProduct's range (the double-double tier;
    the double tier's rounded products that overflow are inf, with an infinite bound: undecided)."""
    if tier == "double":
        return (c.status == 0) & ~p.bad[rows]
    with np.errstate(invalid="ignore"):
        small = (np.abs(ah) < _BIG).all(axis=1) & (np.abs(d) < _BIG).all(axis=1)
    return (c.status == 0) & ~p.bad[rows] & small


# -- loss values ---------------------------------------------------------------------------------------


def sample_losses(A, p: SoftProblem, rows: slice):
    """Loss double-word, bound, computable, exact-zero and +-inf masks of the samples ``rows``."""
    c = classify(p.x[rows])
    q = lean_rows(A, c, softmax=False, exact_d=True)
    L, L_lo, L_err = lean_log(A, c, q)
    L, L_lo, L_err = L[:, 0], (L_lo[:, 0] if np.ndim(L_lo) else np.zeros_like(L)), L_err[:, 0]
    dh = q.d
    dl = q.d_lo if np.ndim(q.d_lo) else np.zeros_like(dh)
    zero, pos, neg = p.zero[rows], p.pos[rows], p.neg[rows]
    masked = ~c.live & (c.status == 0)[:, None]
    if A.name == "double":
        (lh, ll, err), ah = _double_losses(p, rows, dh, dl, (L, L_err + np.abs(L_lo)))  # L's low word dropped
    else:
        (lh, ll, err), ah = _dd_losses(A, p, c, q, rows, dh, dl, (L, L_lo, L_err))
    masked_nz = masked & ~zero
    ok = _row_ok(p, c, rows, ah, dh, A.name) & ~masked_nz.any(axis=1)
    single0 = ok & c.single  # L = 0 and the only nonzero coefficient multiplies d = 0: exactly 0
    inf_row = (c.status == 0) & ~p.bad[rows] & masked_nz.any(axis=1)
    plus = inf_row & (~masked_nz | pos).all(axis=1)
    minus = inf_row & (~masked_nz | neg).all(axis=1)
    nan_row = p.bad[rows] | ((c.status == 1) & p.nonzero_row[rows])
    return (lh, ll), err, ok, single0, (plus, minus, nan_row)


def _dd_losses(A, p: SoftProblem, c, q, rows: slice, dh, dl, log):
    """``A L + B`` in double-word arithmetic (section 8, steps 2-4): ``(lh, ll, err)`` and the ``a_c`` centres."""
    L, L_lo, L_err = log
    (Ah, Al, A_err), (ah, al, a_err) = _sums(A, p, c, q, rows)
    n = dh.shape[1]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # unknown bounds are not decided
        ph, pl = dd.mul((ah, al), (-dh, -dl))
        Bh, Bl = _dd_tree_sum(ph, pl)
        ad = np.abs(dh)
        B_err = (np.sum(a_err * ad, axis=1) + (8 + 4 * _depth(n)) * _U2 * np.abs(ph).sum(axis=1)) * GROW + n * FLOOR
        ALh, ALl = dd.mul((Ah, Al), (L, L_lo))
        AL_err = np.abs(Ah) * L_err + A_err * np.abs(L) + 8 * _U2 * np.abs(ALh) + FLOOR
        lh, ll = dd.add((ALh, ALl), (Bh, Bl))
        err = (AL_err + B_err + 4 * _U2 * np.abs(lh)) * GROW
        err = np.where(np.isfinite(err) & np.isfinite(lh) & np.isfinite(ll), err, np.inf)
    return (lh, ll, err), ah


def _double_losses(p: SoftProblem, rows: slice, d, d_lo, log):
    """``A L + B`` in double (the double tier): each product ``a_c (-d_c)`` within ``a_err |d| (1 + u) + 2u |p|
    + FLOOR`` (``d + d_lo`` the exact difference), pairwise tree sums within ``gamma_K`` of the magnitudes."""
    L, L_err = log
    n = d.shape[1]
    (A_, A_err), (a, a_err) = _sums_double(p, rows, n)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # unknown bounds are not decided
        pr = a * -d
        B = tree_sum(pr)
        B_err = ((np.sum(a_err * np.abs(d), axis=1) * (1 + U) + (2 * U + _gamma(_depth(n))) * np.abs(pr).sum(axis=1)) * GROW
                 + n * FLOOR)
        AL = A_ * L
        AL_err = np.abs(A_) * L_err + A_err * np.abs(L) + U * np.abs(AL) + FLOOR
        lh = AL + B
        err = (AL_err + B_err + U * np.abs(lh)) * GROW
        err = np.where(np.isfinite(err) & np.isfinite(lh), err, np.inf)
    return (lh, np.zeros_like(lh), err), a


def _loss_values(p: SoftProblem, fmt: Format, tier=None):
    A = tier or arith_for(fmt)
    m = p.x.shape[0]
    lh, ll, err = np.zeros(m), np.zeros(m), np.zeros(m)
    ok, single0 = np.zeros(m, bool), np.zeros(m, bool)
    plus, minus, nan_row = np.zeros(m, bool), np.zeros(m, bool), np.zeros(m, bool)
    for rows in _blocks(m, p.x.shape[1]):
        (lh[rows], ll[rows]), err[rows], ok[rows], single0[rows], (plus[rows], minus[rows], nan_row[rows]) = \
            sample_losses(A, p, rows)
    quiet = p.zero_row | single0  # exactly +0
    if p.reduction == "none":
        values, decided = decide(lh, ll, err, fmt, sign=np.where(p.nonneg_row, 1, 0))
        decided &= ok
        set_decided(values, decided, quiet, signed_zero(False, fmt))
        set_decided(values, decided, plus, special(np.inf, fmt))
        set_decided(values, decided, minus, special(-np.inf, fmt))
        set_decided(values, decided, nan_row, special(np.nan, fmt))
        return values, decided
    return _reduce(p, fmt, lh, ll, err, ok, quiet)


def _reduce(p: SoftProblem, fmt: Format, lh, ll, err, ok, quiet):
    """The sum (or mean) of the sample losses, decided only where every sample is ordinary or ``+0``."""
    if not (ok | quiet).all():
        return np.zeros((), fmt.dtype), np.zeros((), bool)
    if p.reduction == "mean" and p.D[0] == 0:
        return np.asarray(special(np.nan, fmt)), np.asarray(p.D_err == 0)
    if quiet.all():  # an exact 0 (divided by a nonzero D)
        return np.asarray(signed_zero(False, fmt)), np.asarray(True)
    sh, sl, s_err = reduced_enclosure(p, lh, ll, err, quiet)
    sign = 1 if (p.nonneg_row.all() and (p.reduction == "sum" or p.D[0] > 0)) else 0
    values, decided = decide(sh, sl, s_err, fmt, sign=sign)
    return values.reshape(()), decided.reshape(())


def reduced_enclosure(p: SoftProblem, lh, ll, err, quiet):
    """``(centre, low word, bound)`` of the sum (``p.reduction == "sum"``) or mean of the sample losses
    ``lh + ll`` (bounds ``err``; ``quiet`` samples are exactly 0), each of shape ``(1,)``."""
    m = lh.shape[0]
    lh, ll, err = (np.where(quiet, 0.0, a) for a in (lh, ll, err))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # unknown bounds are not decided
        sh, sl = _dd_tree_sum(lh[None, :], ll[None, :])  # past the range: inf or NaN, undecided below
        s_err = (err.sum() + _depth(m) * 4 * _U2 * np.abs(lh).sum()) * GROW
        if p.reduction == "mean":
            if not p.D_err <= abs(p.D[0]) / 4:  # the quotient's bound below needs f <= |D| / 2
                return sh, sl, np.full(1, np.inf)
            # |(s + e) / (D + f) - s / D| <= (e / |s| + f / |D|) |s / D| (1 + 2 f / |D|)
            rel = np.where(sh != 0, s_err / np.abs(sh), np.inf) + p.D_err / abs(p.D[0]) + 32 * _U2
            sh, sl = dd.div((sh, sl), (np.full(1, p.D[0]), np.full(1, p.D[1])))
            s_err = np.abs(sh) * rel * GROW * (1 + 2.0 * p.D_err / abs(p.D[0]))
        s_err = np.where(np.isfinite(s_err) & np.isfinite(sh), s_err, np.inf)
    return sh, sl, np.asarray(s_err).reshape(sh.shape)


def _blocks(n_rows: int, n: int):
    step = max(1, BLOCK // max(n, 1))
    for r0 in range(0, n_rows, step):
        yield slice(r0, r0 + step)


# -- the gradient ------------------------------------------------------------------------------------


def factors(p: SoftProblem, grad_output):
    """``F`` per sample as a double-word, its relative bound, and where it is NaN (MPFR's None)."""
    m = p.x.shape[0]
    g = np.broadcast_to(np.asarray(grad_output, dtype=np.float64).reshape(-1 if p.reduction == "none" else ()), (m,))
    nan = ~np.isfinite(g)
    fh = np.where(nan, 0.0, g) + 0.0
    fl = np.zeros(m)
    rel = np.zeros(m)
    if p.reduction == "mean":
        if p.D[0] == 0:
            return (fh, fl), np.where(p.D_err == 0, 0.0, np.inf) + rel, nan | (p.D_err == 0)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # unknown bounds are not decided
            fh, fl = dd.div((fh, fl), (np.full(m, p.D[0]), np.full(m, p.D[1])))
            rel = rel + (p.D_err / abs(p.D[0])) * (1 + 2.0 * p.D_err / abs(p.D[0])) + 32 * _U2
            if not p.D_err <= abs(p.D[0]) / 4:  # the bound needs f <= |D| / 2: undecided
                rel = rel + np.inf
    return (fh, fl), rel, nan


def _gradient(p: SoftProblem, grad_output, fmt: Format, tier=None, enclose: bool = False):
    """``(values, decided)`` of the gradient, ``(samples, classes)``; with ``enclose``, also the
    enclosure of every exact value (see :func:`_gradient_rows`)."""
    A = tier or arith_for(fmt)
    m, n_classes = p.x.shape
    values = np.empty((m, n_classes), fmt.dtype)
    decided = np.zeros((m, n_classes), bool)
    fields = [*(np.full((m, n_classes), np.inf) for _ in range(3)), np.zeros((m, n_classes), np.int64)]
    f, f_rel, f_nan = factors(p, grad_output)
    for rows in _blocks(m, n_classes):
        values[rows], decided[rows], enc = _gradient_rows(A, p, rows, (f[0][rows], f[1][rows]), f_rel[rows],
                                                          f_nan[rows], fmt, enclose)
        for field, value in zip(fields, enc or ()):
            field[rows] = value
    return (values, decided, Enclosure(*fields)) if enclose else (values, decided)


def gradient_enclosure(A, p: SoftProblem, rows: slice, f, f_rel):
    """``F (A s_i - a_i)`` of the samples ``rows`` as ``(centre, low word, bound)`` ``(rows, C)``, with
    the row data ``(c, q, Ah, ah)`` the structural decisions need; ``f = (fh, fl)`` and ``f_rel`` per sample."""
    c = classify(p.x[rows])
    q = lean_rows(A, c)
    if A.name == "double":
        return _double_gradient(p, rows, c, q, f[0], f_rel)
    (Ah, Al, A_err), (ah, al, a_err) = _sums(A, p, c, q, rows)
    fh, fl, f_rel = f[0][:, None], f[1][:, None], f_rel[:, None]
    s_lo = q.s_lo if np.ndim(q.s_lo) else np.zeros_like(q.s)
    Ah, Al, A_err = Ah[:, None], Al[:, None], A_err[:, None]
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):  # unknown bounds: undecided
        xh, xl = dd.mul((np.broadcast_to(Ah, q.s.shape), np.broadcast_to(Al, q.s.shape)), (q.s, s_lo))
        x_err = np.abs(Ah) * (q.s * q.s_rel + 2.0**-1070) + A_err * q.s + 8 * _U2 * np.abs(xh) + FLOOR
        zh, zl = dd.add((xh, xl), (-ah, -al))
        z_err = x_err + a_err + 4 * _U2 * np.abs(zh)
        at = ((c.k == 1) & (q.T[:, 0] > 0))[:, None] & c.is_max
        if at.any():  # s_max = 1 - T / S exactly: A s - a = sum_{c != max} a_c - A T / S (no cancellation)
            oh, ol = _dd_tree_sum(np.where(c.is_max, 0.0, ah), np.where(c.is_max, 0.0, al))
            o_err = (np.sum(np.where(c.is_max, 0.0, a_err), axis=1, keepdims=True)
                     + _depth(ah.shape[1]) * 4 * _U2 * np.abs(np.where(c.is_max, 0.0, ah)).sum(axis=1, keepdims=True)) * GROW
            T_lo = q.T_lo if np.ndim(q.T_lo) else np.zeros_like(q.T)
            S_lo = q.S_lo if np.ndim(q.S_lo) else np.zeros_like(q.S)
            rh, rl = dd.div((q.T, T_lo), (q.S, S_lo))
            r_rel = q.T_err / q.T + q.S_err / q.S + 32 * _U2
            yh, yl = dd.mul((Ah, Al), (rh, rl))
            y_err = np.abs(Ah) * rh * r_rel + A_err * rh + 8 * _U2 * np.abs(yh)
            wh, wl = dd.add((oh[:, None], ol[:, None]), (-yh, -yl))
            w_err = o_err + y_err + 4 * _U2 * np.abs(wh)
            zh, zl = np.where(at, wh, zh), np.where(at, wl, zl)
            z_err = np.where(at, w_err, z_err)
        vh, vl = dd.mul((zh, zl), (np.broadcast_to(fh, zh.shape), np.broadcast_to(fl, zh.shape)))
        rad = (np.abs(fh) * z_err * (1 + f_rel) + np.abs(zh) * np.abs(fh) * f_rel + 8 * _U2 * np.abs(vh)) * GROW
        rad += (np.abs(fh) + 1.0) * 2.0**-1066
        rad = np.where(np.isfinite(rad) & np.isfinite(vh) & np.isfinite(vl), rad, np.inf)
    return (vh, vl, rad), (c, q, Ah, ah)


def _double_gradient(p: SoftProblem, rows: slice, c, q, fh, f_rel):
    """:func:`gradient_enclosure` in double (the double tier): ``F`` rounded to its high word (``u`` more)."""
    (A_, A_err), (a, a_err) = _sums_double(p, rows, c.xs.shape[1])
    fh, fr = fh[:, None], f_rel[:, None] + U
    A_, A_err = A_[:, None], A_err[:, None]
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):  # unknown bounds: undecided
        x = A_ * q.s
        x_err = np.abs(A_) * (q.s * q.s_rel + 2.0**-1070) + A_err * q.s + U * np.abs(x) + FLOOR
        z = x - a
        z_err = x_err + a_err + U * np.abs(z)
        at = ((c.k == 1) & (q.T[:, 0] > 0))[:, None] & c.is_max
        if at.any():  # s_max = 1 - T / S exactly: A s - a = sum_{c != max} a_c - A T / S (no cancellation)
            o = tree_sum(np.where(c.is_max, 0.0, a))[:, None]
            o_err = (np.sum(np.where(c.is_max, 0.0, a_err), axis=1, keepdims=True)
                     + _gamma(_depth(a.shape[1])) * np.abs(np.where(c.is_max, 0.0, a)).sum(axis=1, keepdims=True)) * GROW
            r = q.T / q.S
            r_rel = q.T_err / q.T + q.S_err / q.S + U
            y = A_ * r
            y_err = np.abs(A_) * r * r_rel + A_err * r + U * np.abs(y)
            w = o - y
            z = np.where(at, w, z)
            z_err = np.where(at, o_err + y_err + U * np.abs(w), z_err)
        v = z * fh
        rad = (np.abs(fh) * z_err * (1 + fr) + np.abs(z) * np.abs(fh) * fr + U * np.abs(v)) * GROW
        rad += (np.abs(fh) + 1.0) * 2.0**-1066
        rad = np.where(np.isfinite(rad) & np.isfinite(v), rad, np.inf)
    return (v, np.zeros_like(v), rad), (c, q, A_, a)


def _gradient_rows(A, p: SoftProblem, rows: slice, f, f_rel, f_nan, fmt: Format, enclose: bool = False):
    """``(values, decided, enclosure)`` of a block (``enclosure`` None unless ``enclose``)."""
    (vh, vl, rad), (c, q, Ah, ah) = gradient_enclosure(A, p, rows, f, f_rel)
    fh, fl = f[0][:, None], f[1][:, None]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # unknown bounds are not decided
        values, decided = decide(vh, vl, rad, fmt)
    zero, bad = p.zero[rows], p.bad[rows][:, None]
    ordinary = _row_ok(p, c, rows, ah, q.d, A.name)[:, None] & ~f_nan[:, None]
    decided &= ordinary
    f_zero = (fh == 0) & (fl == 0)
    # a zero coefficient: F A s_i; below half the least subnormal where A > 0 (every coefficient >= 0)
    positive = (p.nonneg_row[rows] & ~p.zero_row[rows])[:, None]
    with np.errstate(over="ignore"):  # an overflowed scale (inf) makes nothing dead
        gone = ordinary & zero & c.tail & positive & dead(q.d, np.abs(fh) * np.abs(Ah) * 2.0)
    set_decided(values, decided, gone & (fh > 0), signed_zero(False, fmt))
    set_decided(values, decided, gone & (fh < 0), signed_zero(True, fmt))
    set_decided(values, decided, ordinary & ~c.live & zero, signed_zero(False, fmt))  # F (A 0 - 0)
    others_zero = (zero | c.live).all(axis=1)[:, None]  # single row: A - a_j = 0 exactly
    set_decided(values, decided, ordinary & (c.single[:, None] & others_zero), signed_zero(False, fmt))
    set_decided(values, decided, ordinary & f_zero, signed_zero(False, fmt))
    nan_row = ((c.status != 0) | f_nan) & p.nonzero_row[rows]
    set_decided(values, decided, nan_row[:, None], special(np.nan, fmt))
    set_decided(values, decided, p.zero_row[rows][:, None], signed_zero(False, fmt))
    set_decided(values, decided, bad, special(np.nan, fmt))
    if not enclose:
        return values, decided, None
    # the exact answers as decided above (later ones win): NaN on bad, else 0 on zero rows, else NaN on
    # NaN rows, else the exact zeros; a dead element keeps its lean enclosure
    zero_row, nan_row = p.zero_row[rows][:, None], nan_row[:, None]
    exact_zero = (ordinary & ~c.live & zero) | (ordinary & (c.single[:, None] & others_zero)) | (ordinary & f_zero)
    nan = bad | (nan_row & ~zero_row)
    zero_mask = ~bad & (zero_row | (exact_zero & ~nan_row))
    return values, decided, structural_enclosure((vh, vl, rad, 0), ordinary, zero_mask, nan)


def soft_targets_phase(prob, label_smoothing: float, *, grad: bool, grad_output: np.ndarray | None = None):
    """The fast phase of a cross-entropy call with probability targets or ``label_smoothing > 0``.

    ``prob`` is :func:`softmax_oracle.arguments.class_problem`'s (at least one
    sample and one class); ``grad_output`` the checked upstream gradient
    (float64, the loss's shape) for the gradient.  Returns ``fast(fmt) ->
    (values, decided)`` in the output's layout.
    """
    problem = lru_cache(maxsize=1)(lambda: SoftProblem(prob, label_smoothing))  # on first use (MPFR alone needs none)
    return loss_phase(prob, prob.reduction, lambda fmt, tier: _loss_values(problem(), fmt, tier),
                      lambda fmt, tier: _gradient(problem(), grad_output, fmt, tier), grad=grad,
                      enclosed=lambda fmt: _gradient(problem(), grad_output, fmt, enclose=True))
