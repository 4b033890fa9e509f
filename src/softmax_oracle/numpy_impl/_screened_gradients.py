"""A first pass of the accurate tier's cancelling gradients in x87 extended precision, with a rounding test.

The scaled double-double gradients (:mod:`._precise_gradients`) cost ~1,700 small NumPy calls,
whatever the size of the input (~1.3 ms for two rows of eight logits).  Here each element of the same
formulas is first computed in ``np.longdouble`` (64-bit significand: unit roundoff ``u = 2**-64``;
exponents down to ``2**-16445``, so no term of a float64 row underflows before ``exp(-11000)``)
together with a running bound ``e`` on its error (Wilkinson's model ``fl(a op b) = (a op b)(1 + d)``,
``|d| <= u``; first-order terms, the whole widened by ``2**-16``):

    t_i = exp(d_hi) (1 + d_lo)         x_i - max = d_hi + d_lo exactly (TwoSum); |t - t^| <= 4u t^ (6u if d_lo != 0)
    rest = sum_{j != argmax} t_j       by extraction (:func:`_row_sum`): ~u rest plus the terms' errors
    T = 1 + rest                       t = 1 exactly at the maximum
    logsumexp       g t_i / T
    log_softmax     (g_i T - t_i G) / T,   at the argmax (g_m rest - (G - g_m)) / T     G = sum g
    softmax         p_i (h_i - sum_j h_j p_j),   p = t / T,   h = g - g[argmax]
    cross_entropy   F (A t_i - C a_i T) / T,   at the argmax F ((A - C a_m) - C a_m rest) / T
                    C a_c as :func:`._precise_gradients.coefficients`, A = sum_c C a_c, F = f / C

(the argmax forms are :func:`._precise_gradients._numerator`'s: no ``T - t_m`` that cancels when the
row is dominated by its maximum).  An element is decided when both ends of ``[v - e, v + e]`` round
to the same value of the output format with the same sign bit: the correctly rounded exact value.
An interval around 0 is never decided (every bound carries ``2**-12000`` for the terms and products
that may have underflowed, far below any format's subnormals), nor one that a rounding boundary
splits.  A row with an undecided element is recomputed whole by the double-double path (the caller's
``precise``), whose answer it was before this pass existed; decided elements are that path's answer
too, except where it was within ``2**-100`` of a rounding boundary and could land on the wrong side,
or on a float64 subnormal (within 1 ULP there): this pass is the correctly rounded one.

Exact cases, decided apart: rows of one element (0, ``+0.0`` as the double-double path gives, for
softmax, log_softmax and cross_entropy; ``g`` for logsumexp); a ``-inf`` logit (``t = 0``: 0, or ``g_i``
for log_softmax); softmax rows whose ``grad_output`` is constant over their finite logits (0).  For
cross_entropy, the undecided elements that are nearly rational are rounded with integer fractions
(:mod:`._rational_class_grad`, :func:`softmax_oracle.rounding.round_fraction`) before their row goes
further: the rational ``-F C a_i`` (``F (A - C a_m)`` at the maximum) plus a term of known sign below
``|F A| t_i`` (``|F A| rest``), which is 0 at a ``-inf`` logit and at a row's only finite logit and
negligible in a row dominated by its maximum; and rows of near-equal logits.  Such values are often
within that term of a midpoint when the inputs have few bits (fuzzing draws such inputs; label
smoothing's ``-F eps w_i`` is one), where no floating bound decides them and the double-double path
could land 1 ULP off.

For float32, float16 and bfloat16 results the same pass runs first in float64 (``u = 2**-53``, SIMD:
~10x cheaper per element than x87), when every nonzero magnitude it multiplies (``g``, weights,
targets, ``eps``, the mean's denominator) lies in ``[2**-100, 2**100]``: then no product overflows and
an underflow's error, carried by multipliers below ``2**430``, stays below the ``2**-500`` every bound
carries.  Its bounds (~``2**-48``) decide all but ~``2**-24`` of float32 elements; the rows it leaves go
to the extended pass, then to the double-double path.

Assumptions (the accurate tier makes no formal claims): ``np.exp`` on ``longdouble`` (the C library's
``expl``) is within 2 ULP, measured at most 1.04 ULP (glibc, x86-64, 15,000 arguments in ``[-11000, 0]``
against mpmath at 200 bits); NumPy's float64 ``exp`` within 4 ULP (measured 0.65).  Where ``longdouble``
has fewer than 64 significant bits (not x87) there is no first pass: every row takes the double-double
path.  float64 results are undecided ~1% of the time (bounds of ~10-20u against half an ULP,
``2**-53``), so float64 rows longer than :data:`_LONG_ROW` skip the pass (:func:`_worth_screening`).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ..formats import Format
from ..numerics.eft import two_sum_error
from ._rounding import round_to_format
from . import _rational_class_grad as rational_grad

__all__ = ["AVAILABLE", "family_grad", "class_grad", "ClassProblem"]

_LD = np.longdouble
AVAILABLE = np.finfo(_LD).nmant >= 63
_WIDEN = 1 + 2.0**-16  # rounding in the bounds themselves and the second-order terms
_LONG_ROW = 32  # float64 outputs: longer rows skip the first pass (:func:`_worth_screening`)
_MAX_FRACTIONS = 256  # undecided nearly rational elements rounded with integers per pass (:func:`_screen`)
_RANGE = 2.0**100  # float64 pass: nonzero |g|, |w|, |y|, eps, |den| within [1 / _RANGE, _RANGE]
_QUIET = dict(invalid="ignore", divide="ignore", over="ignore", under="ignore")

Bounded = tuple[np.ndarray, np.ndarray]  # (value, bound on its absolute error), in the working dtype


class _Work(NamedTuple):
    """A working precision: unit roundoff ``u``, the relative error of ``t = exp(d_hi)`` (``theta_exp``)
    and of ``exp(d_hi) (1 + d_lo)`` (``theta_t``), and the absolute term ``tiny`` that covers underflow."""

    dtype: type
    u: float
    theta_exp: float
    theta_t: float
    tiny: float


# x87: expl within 2 ULP (2u each); d_lo**2 / 2 below 2**-101 for |d| <= 11400; every multiplier below
# 2**3300 and each underflow error below 2**-16440.
_EXTENDED = _Work(_LD, _LD(2.0) ** -64, 4 * _LD(2.0) ** -64, 6 * _LD(2.0) ** -64 + _LD(2.0) ** -100,
                  _LD(2.0) ** -12000)
# float64, for the narrower formats within _RANGE: NumPy's exp within 4 ULP (measured 0.65); d_lo**2 / 2
# below 2**-88 for |d| <= 745; multipliers below 2**430 and underflow errors below 2**-1070.
_DOUBLE = _Work(np.float64, 2.0**-53, 8 * 2.0**-53, 10 * 2.0**-53 + 2.0**-80, 2.0**-500)


def _rsum(v: np.ndarray) -> np.ndarray:
    return np.add.reduce(v, axis=-1, keepdims=True)  # np.sum without its dispatch overhead


def _row_sum(v: np.ndarray, w: _Work) -> Bounded:
    """Row sums of ``v`` (2-D) as columns, with a bound on their error (terms exact).

    ``sigma = 2**K >= 2 n max|v|``: ``q = (sigma + v) - sigma`` are multiples of ``u sigma`` whose
    partial sums stay below ``sigma``, so ``sum q`` is exact; the remainders ``r = v - q`` are exact
    (FastTwoSum) and below ``u sigma`` each, and their sum is off by at most ``(n - 1) u sum |r|``.
    The last addition's error is taken exactly (TwoSum), so an exact sum has bound 0.
    """
    n = v.shape[-1]
    _, k = np.frexp(np.maximum.reduce(np.abs(v), axis=-1, keepdims=True))
    sigma = np.ldexp(w.dtype(1.0), k + (int(np.ceil(np.log2(n))) + 1))
    q = (sigma + v) - sigma
    hi = _rsum(q)
    r = v - q
    lo = _rsum(r)
    s = hi + lo
    err = np.abs(two_sum_error(hi, lo, s)) + (n - 1) * w.u * _rsum(np.abs(r))
    return s, err


def _mul(a: Bounded, b: Bounded, w: _Work) -> Bounded:
    """``a b``; ``b`` known to ``2**-40`` relative (``t``, ``p``, ``T``, ``rest``, ``F``), so that the cross term
    ``e_a e_b`` (below ``2**-40 |b| e_a``) is inside the final widening by ``2**-16``."""
    p = a[0] * b[0]
    return p, np.abs(a[0]) * b[1] + np.abs(b[0]) * a[1] + w.u * np.abs(p)


def _sub(a: Bounded, b: Bounded, w: _Work) -> Bounded:
    s = a[0] - b[0]
    return s, a[1] + b[1] + w.u * np.abs(s)


def _exact(v: np.ndarray) -> Bounded:
    return v, np.zeros_like(v)


class _Terms(NamedTuple):
    """``t_i = exp(x_i - max)`` (exactly 1 at the maxima), ``rest = sum_{j != argmax} t_j`` and
    ``total = 1 + rest`` (columns), with bounds; ``at_max`` marks the argmax of each row, ``pick``
    indexes it (rows, columns)."""

    t: Bounded
    rest: Bounded
    total: Bounded
    at_max: np.ndarray
    pick: tuple[np.ndarray, np.ndarray]
    dead: np.ndarray  # -inf logits: t = 0 exactly (a term that underflowed is not dead)


def _terms(rows: np.ndarray, w: _Work) -> _Terms:
    """The softmax terms of float64 rows with a finite maximum (``-inf`` logits: ``t = 0`` exactly)."""
    x = rows.astype(w.dtype)
    index = np.argmax(x, axis=-1)
    at_max = np.arange(x.shape[1]) == index[:, None]
    m = np.maximum.reduce(x, axis=-1, keepdims=True)
    d = x - m  # -inf for -inf logits (and float64 differences that overflow: their t is below tiny)
    d_lo = two_sum_error(x, -m, d)
    d_lo = np.where(np.isfinite(d_lo), d_lo, w.dtype(0.0))
    t = np.exp(d) * (1 + d_lo)  # t = 1 exactly where d = 0 (the maxima)
    e_t = np.where(d == 0, w.dtype(0.0), np.where(d_lo == 0, w.theta_exp, w.theta_t) * t)
    rest, e_rest = _row_sum(np.where(at_max, w.dtype(0.0), t), w)
    e_rest = e_rest + _rsum(e_t)
    total = 1 + rest
    e_total = e_rest + np.abs(two_sum_error(w.dtype(1.0), rest, total))  # the rounding itself, exactly
    return _Terms((t, e_t), (rest, e_rest), (total, e_total), at_max,
                  (np.arange(x.shape[0]), index), rows == -np.inf)


def _div_total(a: Bounded, sm: _Terms, w: _Work) -> Bounded:
    """``a / T`` (``T >= 1``, known to ~``2**-45`` relative)."""
    total, e_total = sm.total
    q = a[0] / total
    return q, a[1] / total + np.abs(q) * (e_total / total + w.u)


def _numerator(u: Bounded, sm: _Terms, w: _Work) -> Bounded:
    """``u_i T - t_i V`` (``V = sum u``), and at the argmax ``u_m rest - (V - u_m)``, where ``T - t_m``
    would cancel when the row is dominated by its maximum (as :func:`._precise_gradients._numerator`)."""
    others, e_others = _row_sum(np.where(sm.at_max, w.dtype(0.0), u[0]), w)  # V - u_m, summed directly
    e_others = e_others + _rsum(np.where(sm.at_max, w.dtype(0.0), u[1]))  # not u_m's: rest * e_m only
    u_m = (u[0][sm.pick][:, None], u[1][sm.pick][:, None])
    big_v = others + u_m[0]
    big_v = (big_v, e_others + u_m[1] + w.u * np.abs(big_v))
    general = _sub(_mul(u, sm.total, w), _mul(big_v, sm.t, w), w)
    at_max = _sub(_mul(u_m, sm.rest, w), (others, e_others), w)
    return np.where(sm.at_max, at_max[0], general[0]), np.where(sm.at_max, at_max[1], general[1])


def _decide(v: np.ndarray, e: np.ndarray, fmt: Format, exact: np.ndarray | None,
            w: _Work) -> tuple[np.ndarray, np.ndarray]:
    """``(rounded, decided)``: both ends of ``[v - e, v + e]`` rounded to ``fmt`` (same value and sign);
    where ``exact``, ``v`` itself."""
    e = e * _WIDEN + w.tiny
    # One step outward covers the rounding of v -+ e itself (below half a step, or a quarter of one
    # where the step crosses a power of two).
    lo, hi = np.nextafter(v - e, -np.inf), np.nextafter(v + e, np.inf)
    if exact is not None:
        lo, hi = np.where(exact, v, lo), np.where(exact, v, hi)
    if fmt.name == "float64":
        r_lo, r_hi = lo.astype(np.float64), hi.astype(np.float64)  # x87 stores round once, subnormals too
    else:
        if w.dtype is not np.float64:
            # Outward to float64, then one rounding from float64 (cast.round_to_format): no double rounding.
            lo64, hi64 = lo.astype(np.float64), hi.astype(np.float64)
            lo = np.where(lo64 > lo, np.nextafter(lo64, -np.inf), lo64)
            hi = np.where(hi64 < hi, np.nextafter(hi64, np.inf), hi64)
        r_lo, r_hi = round_to_format(lo, fmt), round_to_format(hi, fmt)
    a, b = r_lo.astype(np.float64), r_hi.astype(np.float64)
    decided = (a == b) & (np.signbit(a) == np.signbit(b)) & np.isfinite(v) & np.isfinite(e)
    return r_lo, decided


def _screen(v: Bounded, fmt: Format, w: _Work, fallback: Callable[[np.ndarray], np.ndarray],
            exact: np.ndarray | None = None, rational: Callable[[], np.ndarray] | None = None,
            resolve: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Round the decided rows; ``resolve(mask)`` tries the undecided elements that ``rational()`` marks
    (nearly rational: :mod:`._rational_class_grad`) in rows where no other element is undecided, and
    returns their values and which it decided; ``fallback(mask)`` answers the rows still undecided."""
    with np.errstate(**_QUIET):
        out, decided = _decide(v[0], v[1], fmt, exact, w)
    if resolve is not None and rational is not None and not decided.all():
        candidates = rational()
        sel = ~decided & candidates & ~(~decided & ~candidates).any(axis=-1, keepdims=True)
        if 0 < np.count_nonzero(sel) <= _MAX_FRACTIONS:
            values, ok = resolve(sel)
            sel[sel] = ok
            out[sel] = values[ok]
            decided = decided | sel
    redo = ~decided.all(axis=-1)
    if redo.any():
        out[redo] = fallback(redo)
    return out


def _worth_screening(n_classes: int, fmt: Format) -> bool:
    """Whether the first pass is likely to pay.  A float64 element is undecided ~1% of the time (its
    bound, ~10-20u, against half an ULP of float64, 2**-53): a row of 100 has an undecided element
    more often than not, and then costs both passes; rows longer than :data:`_LONG_ROW` go straight to
    the double-double path.  The narrower formats are decided but for exact midpoints."""
    return AVAILABLE and (fmt.name != "float64" or n_classes <= _LONG_ROW)


def _in_range(*arrays: np.ndarray | float) -> bool:
    """Every nonzero magnitude within ``[1 / _RANGE, _RANGE]`` (the float64 pass's products stay normal)."""
    for v in arrays:
        a = np.abs(np.asarray(v, dtype=np.float64))
        if not (a <= _RANGE).all() or not ((a == 0) | (a >= 1 / _RANGE)).all():
            return False
    return True


def _passes(fmt: Format, *magnitudes: np.ndarray | float) -> list[_Work]:
    """The working precisions to try, cheapest first: float64 (SIMD) for a narrower format when the
    magnitudes allow, then x87 extended precision."""
    return ([_DOUBLE] if fmt.name != "float64" and _in_range(*magnitudes) else []) + [_EXTENDED]


def family_grad(name: str, rows: np.ndarray, g: np.ndarray, fmt: Format,
                precise: Callable[[np.ndarray, np.ndarray, Format], np.ndarray]) -> np.ndarray:
    """The gradient ``name`` (logsumexp, log_softmax, softmax) of float64 ``rows`` with a finite maximum
    for finite float64 ``g`` (``(M,)`` for logsumexp, else the rows' shape); undecided rows by ``precise``."""
    if rows.shape[1] == 1:  # p = 1: g for logsumexp, an exact 0 otherwise
        return round_to_format(g[:, None] if name == "logsumexp" else np.zeros_like(rows), fmt)
    if name == "softmax":
        g_max = np.take_along_axis(g, np.argmax(rows, axis=-1)[:, None], axis=-1)
        constant = ((g == g_max) | (rows == -np.inf)).all(axis=-1)
        if constant.any():  # h = g - g[argmax] = 0 where p > 0: an exact +0.0 (the default grad_output, ones)
            out = np.zeros(rows.shape, dtype=fmt.dtype)
            if not constant.all():
                out[~constant] = family_grad(name, rows[~constant], g[~constant], fmt, precise)
            return out
    if not _worth_screening(rows.shape[1], fmt):
        return precise(rows, g, fmt)
    return _family_pass(name, rows, g, fmt, _passes(fmt, g), precise)


def _family_pass(name: str, rows: np.ndarray, g: np.ndarray, fmt: Format, passes: list[_Work],
                 precise: Callable[[np.ndarray, np.ndarray, Format], np.ndarray]) -> np.ndarray:
    """:func:`family_grad` in ``passes[0]``; undecided rows by the next pass, then by ``precise``."""
    if not passes:
        return precise(rows, g, fmt)
    w = passes[0]
    with np.errstate(**_QUIET):
        sm = _terms(rows, w)
        gw = g.astype(w.dtype)
        exact, value = sm.dead, w.dtype(0.0)  # p = 0 exactly
        if name == "logsumexp":
            v = _mul(_exact(gw[:, None]), _div_total(sm.t, sm, w), w)
        elif name == "log_softmax":
            v = _div_total(_numerator(_exact(gw), sm, w), sm, w)
            exact, value = sm.dead & (gw != 0), gw  # (g_i T - 0 G) / T = g_i
        else:
            p = _div_total(sm.t, sm, w)
            hs = gw - gw[sm.pick][:, None]
            h = (hs, w.u * np.abs(hs))
            q = _mul(h, p, w)
            s, e_s = _row_sum(q[0], w)
            v = _mul(_sub(h, (s, e_s + _rsum(q[1])), w), p, w)
    return _screen((np.where(exact, value, v[0]), v[1]), fmt, w,
                   lambda redo: _family_pass(name, rows[redo], g[redo], fmt, passes[1:], precise), exact=exact)


class ClassProblem:
    """The clean samples of a cross_entropy gradient, in float64: ``rows``, the factor ``g`` (the
    gradient of each sample's loss before a mean's division), the class ``weight`` (or None), the
    ``index`` targets or the ``probabilities``, ``eps`` and the mean's denominator ``den`` terms (the
    target weights of every sample, or None when the loss is not a mean or targets are probabilities:
    then ``den`` is that number)."""

    def __init__(self, rows: np.ndarray, g: np.ndarray, weight: np.ndarray | None, eps: float, *,
                 index: np.ndarray | None = None, probabilities: np.ndarray | None = None,
                 den_terms: np.ndarray | None = None, den: float = 1.0) -> None:
        self.rows, self.g, self.weight, self.eps = rows, g, weight, eps
        self.index, self.probabilities, self.den_terms, self.den = index, probabilities, den_terms, den

    def subset(self, keep: np.ndarray) -> ClassProblem:
        """The samples ``keep`` (the mean's denominator unchanged)."""
        return ClassProblem(self.rows[keep], self.g[keep], self.weight, self.eps,
                            index=None if self.index is None else self.index[keep],
                            probabilities=None if self.probabilities is None else self.probabilities[keep],
                            den_terms=self.den_terms, den=self.den)


def _coefficients(cp: ClassProblem, w: _Work) -> Bounded:
    """``C a_c`` (:func:`._precise_gradients.coefficients`) with bounds (0 where no rounding happens:
    no label smoothing, no class weights)."""
    c, u = cp.rows.shape[1], w.u
    wc = np.ones(c, dtype=w.dtype) if cp.weight is None else cp.weight.astype(w.dtype)
    u_w = w.dtype(0.0) if cp.weight is None else u  # products with w = 1 are exact
    keep = (1 - w.dtype(cp.eps)) * c  # C (1 - eps): two roundings, none without smoothing
    e_keep = w.dtype(0.0) if cp.eps == 0 else 2 * u * keep
    if cp.probabilities is not None:
        y = cp.probabilities.astype(w.dtype)
        yk = y * keep
        inner = yk + w.dtype(cp.eps)
        a = wc * inner
        e_inner = np.abs(y) * e_keep + u * np.abs(yk) + u * np.abs(inner)
        return a, np.abs(wc) * e_inner + u_w * np.abs(a)
    onehot = np.arange(c) == cp.index[:, None]
    w_t = wc[cp.index][:, None]
    kw_t = keep * w_t
    b1 = wc * w.dtype(cp.eps)  # exact without weights
    a = np.where(onehot, b1 + kw_t, b1)  # exact without smoothing (b1 = 0)
    e_b2 = np.where(onehot, np.abs(w_t) * e_keep + u_w * np.abs(kw_t), w.dtype(0.0))
    return a, u_w * np.abs(b1) + e_b2 + (u * np.abs(a) if cp.eps else w.dtype(0.0))


def _denominator(cp: ClassProblem) -> Bounded | None:
    """The mean's denominator in extended precision (or 1), with a bound; None when it is not tight."""
    if cp.den_terms is None:
        return _LD(cp.den), _LD(0.0)
    den = _fsum2(cp.den_terms) if len(cp.den_terms) <= 256 else None
    if den is not None:
        e_den = _EXTENDED.u * abs(den) + _LD(2.0) ** -100 * abs(den)
    else:
        den, e_den = (v[0, 0] for v in _row_sum(cp.den_terms.astype(_LD)[None, :], _EXTENDED))
    return (den, e_den) if e_den <= 2.0**-40 * abs(den) and den != 0 else None


def _fsum2(terms: np.ndarray) -> np.longdouble | None:
    """``sum terms`` as ``hi + lo`` (each a correctly rounded fsum: within ``2**-106`` relative) in
    extended precision (one more rounding); None if float64 overflows on the way."""
    values = terms.tolist()
    try:
        hi = math.fsum(values)
        lo = math.fsum(values + [-hi])
    except OverflowError:
        return None
    return _LD(hi) + _LD(lo) if math.isfinite(hi) else None


def _factor(cp: ClassProblem, den: Bounded, w: _Work) -> Bounded:
    """``F = f / C`` per sample (a column) with bounds."""
    scale = w.dtype(den[0] * cp.rows.shape[1])  # a rounding to float64 too: 3u
    f = cp.g.astype(w.dtype)[:, None] / scale
    return f, np.abs(f) * w.dtype(den[1] / abs(den[0]) + 3 * w.u)


def class_grad(cp: ClassProblem, fmt: Format, precise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``F (A p_i - C a_i)`` of the clean samples; ``precise(mask)`` answers the undecided ones."""
    n, c = cp.rows.shape
    if c == 1:  # A = C a: an exact 0
        return round_to_format(np.zeros((n, 1)), fmt)
    den = _denominator(cp) if _worth_screening(c, fmt) else None
    if den is None:
        return precise(np.ones(n, dtype=bool))
    magnitudes = [cp.g, cp.eps, float(den[0])] + [v for v in (cp.probabilities, cp.weight) if v is not None]
    passes = _passes(fmt, *magnitudes) if c <= 1 << 20 else [_EXTENDED]  # float64: A below 2**240
    return _class_pass(cp, den, fmt, passes, precise)


def _class_pass(cp: ClassProblem, den: Bounded, fmt: Format, passes: list[_Work],
                precise: Callable[[np.ndarray], np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
    """:func:`class_grad` of the samples ``keep`` (all: None) in ``passes[0]``; the elements it leaves
    undecided by integer fractions where they apply (:func:`_nearly_rational`), the rows still
    undecided by the next pass, then by ``precise``."""
    keep = np.ones(len(cp.rows), dtype=bool) if keep is None else keep
    if not passes:
        return precise(keep)
    sub = cp.subset(keep)
    w = passes[0]
    with np.errstate(**_QUIET):
        sm = _terms(sub.rows, w)
        a = _coefficients(sub, w)
        minus = _div_total(_numerator(a, sm, w), sm, w)  # (C a_i T - A t_i) / T
        factor = _factor(sub, den, w)
        v = _mul((-minus[0], minus[1]), factor, w)
        # exact zeros (+0.0, as the double-double path): a -inf logit whose coefficient is 0, or no
        # coefficient at all in the row
        zero = (a[0] == 0) & (a[1] == 0)  # bound 0: no rounding (a negative target may round to 0)
        exact = (sm.dead & zero) | zero.all(axis=-1, keepdims=True)
    where = np.flatnonzero(keep)

    def next_pass(redo: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(cp.rows), dtype=bool)
        mask[where[redo]] = True
        return _class_pass(cp, den, fmt, passes[1:], precise, mask)

    rational, resolve = _nearly_rational(sub, sm, a, factor, fmt, w)
    return _screen((np.where(exact, w.dtype(0.0), v[0]), v[1]), fmt, w, next_pass, exact=exact,
                   rational=rational, resolve=resolve)


def _nearly_rational(sub: ClassProblem, sm: _Terms, a: Bounded, factor: Bounded, fmt: Format, w: _Work
                     ) -> tuple[Callable[[], np.ndarray], Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]]:
    """``(candidates, resolve)`` for :func:`_screen`: which elements of a pass's samples
    :mod:`._rational_class_grad` may decide, and the call that tries them.

    Two kinds: a rational ``R`` (``-F C a_i``, ``F (A - C a_m)`` at the maximum), often a midpoint when
    the inputs have few bits, plus a term of known sign below ``|F A| t_i`` (``|F A| rest`` at the
    maximum), which is 0 at a ``-inf`` logit and at the only finite logit of a row and tiny in rows
    dominated by their maximum (tried where it is below a quarter of ``R``'s ULP or of the format's
    least subnormal: :func:`._rational_class_grad.perturbed_values`); and the elements of rows whose
    logits are within :data:`._rational_class_grad.NEAR_EQUAL_SPREAD` of each other
    (:func:`._rational_class_grad.near_equal_values`).
    """
    c = sub.rows.shape[1]
    kept: dict[str, np.ndarray] = {}  # filled by candidates(), which _screen calls first

    def candidates() -> np.ndarray:
        with np.errstate(**_QUIET):
            kept["t"] = t_upper = np.nextafter(sm.t[0] + (sm.t[1] * _WIDEN + w.tiny), np.inf)
            kept["rest"] = rest_upper = np.nextafter(sm.rest[0] + (sm.rest[1] * _WIDEN + w.tiny), np.inf)
            # -inf - -inf, 1e308 - -1e308: not near-equal
            kept["near"] = near = (np.maximum.reduce(sub.rows, axis=-1) - np.minimum.reduce(sub.rows, axis=-1)
                                   <= rational_grad.NEAR_EQUAL_SPREAD)[:, None]
            big_a = _rsum(a[0])
            r_approx = np.abs(factor[0] * np.where(sm.at_max, big_a - a[0], a[0]))
            delta = np.abs(factor[0] * big_a) * np.where(sm.at_max, rest_upper, t_upper)
            least = math.ldexp(1.0, fmt.emin - fmt.precision + 1) if fmt.bounded else 0.0
            return (near | sm.dead | (sm.at_max & (sm.dead.sum(axis=-1, keepdims=True) == c - 1))
                    | (4 * delta <= np.maximum(2.0 ** -fmt.precision * r_approx, least)))

    def resolve(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, near = np.count_nonzero(sel), kept["near"]
        values, decided = np.zeros(n, dtype=fmt.dtype), np.zeros(n, dtype=bool)
        in_near = near[np.nonzero(sel)[0], 0]
        if in_near.any():
            values[in_near], decided[in_near] = rational_grad.near_equal_values(sub, sel & near, fmt)
        if not in_near.all():
            values[~in_near], decided[~in_near] = rational_grad.perturbed_values(
                sub, sel & ~near, fmt, kept["t"], kept["rest"], sm.at_max, sm.dead)
        return values, decided

    return candidates, resolve
