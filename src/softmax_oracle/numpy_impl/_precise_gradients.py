"""Row gradients of the accurate tier, within ~2**-100 before the one final rounding.

``g - s sum(g)`` and ``s (g - sum(g s))`` cancel wherever the upstream gradient
``g`` is close to what the softmax predicts; long double's 11 extra bits cannot
absorb that.  Here every quantity is a scaled double-double (:mod:`softmax_oracle.numerics.scaled`):
``t_i = exp(x_i - m)`` from the exact difference ``x_i - m`` (TwoSum) and a
double-double exponential, ``T = sum t``, and each gradient is written with a
common denominator, so that the exactly-cancelling cases (tied logits, a
constant ``g``) cancel exactly:

    grad logsumexp_i   = g t_i / T
    grad log_softmax_i = (g_i T - t_i G) / T,                  G = sum_j g_j
    grad softmax_i     = t_i (h_i T - sum_j h_j t_j) / T**2,   h = g - g[argmax x]
    grad cross_entropy_i = f (A t_i - a_i T) / T,              A = sum_c a_c

(``a`` the coefficients of ``-log_softmax`` in the loss, ``f`` the sample's
factor).  Rows must have a finite maximum and finite ``g``; ``-inf`` logits give
``t = 0``; finite logits whose term underflows even there keep a stand-in
(:func:`softmax_oracle.numerics.underflow.exp_or_sign`), so that a gradient that rounds to zero has
the exact value's sign.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..numerics import scaled as sc
from ._rounding import scaled_to_format
from ..numerics import double_double as dd
from ..numerics.underflow import exp_or_sign
from ..numerics.eft import fast_two_sum, two_sum
from ..formats import Format

__all__ = ["softmax_terms", "split_terms", "logsumexp_grad", "log_softmax_grad", "softmax_grad", "class_grad",
           "coefficients"]


def _column(a: sc.Scaled) -> sc.Scaled:
    return sc.Scaled(a.hi[:, None], a.lo[:, None], a.exp[:, None])


def _take(a: sc.Scaled, index: np.ndarray) -> sc.Scaled:
    """Column ``index[r]`` of each row, as a column."""
    return sc.Scaled(*(np.take_along_axis(v, index, axis=-1) for v in a))


def _put(a: sc.Scaled, index: np.ndarray, value: sc.Scaled) -> sc.Scaled:
    """``a`` with column ``index[r]`` of each row replaced by ``value`` (a column)."""
    parts = [v.copy() for v in a]
    for part, v in zip(parts, value):
        np.put_along_axis(part, index, v, axis=-1)
    return sc.Scaled(*parts)


def _sum_without(a: sc.Scaled, index: np.ndarray) -> sc.Scaled:
    """Row sums leaving out column ``index[r]``, as a column: summed directly, not as a difference."""
    zero = sc.Scaled(np.zeros(index.shape), np.zeros(index.shape), np.full(index.shape, sc.ZERO_EXP))
    return _column(sc.row_sum(_put(a, index, zero)))


class SoftmaxTerms(NamedTuple):
    """``t = exp(x - max)`` per element, ``rest = sum_{j != argmax} t_j`` and ``total = 1 + rest`` per row;
    ``d = x - max`` exactly (a double-double) and ``positive`` (a finite logit: ``t > 0``)."""

    t: sc.Scaled
    rest: sc.Scaled
    total: sc.Scaled
    index: np.ndarray
    d: tuple[np.ndarray, np.ndarray]
    positive: np.ndarray


def softmax_terms(rows: np.ndarray) -> SoftmaxTerms:
    """The terms of the softmax of rows with a finite maximum."""
    index = np.argmax(rows, axis=-1)[:, None]
    m = np.take_along_axis(rows, index, axis=-1)
    with np.errstate(invalid="ignore", over="ignore"):  # -inf - m: the term is 0 (exp_scaled's dead end)
        d_hi, d_lo = two_sum(rows, -m)
    d_lo = np.where(np.isfinite(d_hi), d_lo, 0.0)
    positive = np.isfinite(rows)
    mant, k = exp_or_sign((d_hi, d_lo), positive)
    t = sc.from_dd(mant, k)
    rest = _sum_without(t, index)
    return SoftmaxTerms(t, rest, sc.add(rest, sc.from_float(np.ones(index.shape))), index, (d_hi, d_lo), positive)


def _shared_hi(rows: np.ndarray, d_hi: np.ndarray, d_lo: np.ndarray) -> tuple[np.ndarray, dd.DD]:
    """``x - max = hi + lo`` (``lo`` a double-double) with one ``hi`` for logits closer than 2 ULPs of it.

    Rounded to nearest, ``x_a - max`` and ``x_b - max`` get different ``d_hi`` when a rounding boundary
    falls between them, however close they are (``x - 4`` at ``x = 2**-52`` is a midpoint).  Sorted, each
    logit within ``2 ulp(d_hi)`` of the previous one joins its group, and takes the group's first
    ``hi``: ``x - max = hi_ref + (lo_ref + (x - x_ref))``, exactly (TwoSum twice).
    """
    order = np.argsort(rows, axis=-1, kind="stable")
    xs, hs, ls = (np.take_along_axis(v, order, axis=-1) for v in (rows, d_hi, d_lo))
    with np.errstate(invalid="ignore"):  # -inf - -inf: not joined
        gap = np.diff(xs, axis=-1)
    near = 2 * np.maximum(np.spacing(np.abs(hs[:, 1:])), np.spacing(np.abs(hs[:, :-1])))
    join = np.isfinite(gap) & (gap <= near) & (np.abs(hs[:, 1:]) <= dd.DEAD)  # beyond DEAD: stand-ins, no lo
    if not join.any():
        return d_hi, (d_lo, np.zeros_like(d_lo))
    pos = np.broadcast_to(np.arange(rows.shape[-1]), rows.shape)
    start = np.maximum.accumulate(np.where(np.pad(join, ((0, 0), (1, 0))), 0, pos), axis=-1)
    ref_x, ref_h, ref_l = (np.take_along_axis(v, start, axis=-1) for v in (xs, hs, ls))
    with np.errstate(invalid="ignore"):  # -inf logits (their own reference): the term is 0 anyway
        delta, delta_err = two_sum(xs, -ref_x)
        lo, lo_err = two_sum(ref_l, delta)
    lo_err = np.where(np.isfinite(lo_err + delta_err), lo_err + delta_err, 0.0)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    out = [np.empty_like(d_hi) for _ in range(3)]
    for o, v in zip(out, (ref_h, lo, lo_err)):
        np.put_along_axis(o, order, v, axis=-1)
    return out[0], (out[1], out[2])


def split_terms(rows: np.ndarray, sm: SoftmaxTerms) -> tuple[sc.Scaled, sc.Scaled]:
    """``t = b + c`` with ``b = exp(hi)`` and ``c = b expm1(lo)`` (``x - max = hi + lo``, :func:`_shared_hi`).

    Logits that differ by less than a double-double resolves (``[1e-40, 1, 0]``: ``x - max`` is
    ``-1 + 1e-40`` and ``-1``) have equal ``t`` to 106 bits, and a difference of them (``sum h_j t_j``
    in the softmax gradient) was lost: 0 for an exact ``-2.4e-41`` (5e15 ULP), a few subnormal ULPs
    where the logits are subnormal.  Such logits share ``hi``, hence ``b`` bit for bit, so that
    ``sum h_j b_j`` cancels exactly and ``sum h_j c_j``, a sum of numbers with their own exponents,
    keeps the difference.  ``expm1(lo) = lo_hi (1 + p) + lo_lo (1 + lo_hi)`` with ``p = lo_hi / 2 +
    lo_hi**2 / 6 + lo_hi**3 / 24`` (``|lo|`` at most a few ULPs of ``hi``: ``2**-40`` for
    ``|hi| <= DEAD = 10000``, the omitted terms below ``2**-120`` of it; beyond ``DEAD``, ``lo = 0``).
    """
    d_hi, (lo, lo_err) = _shared_hi(rows, *sm.d)
    live = np.abs(d_hi) <= dd.DEAD  # beyond it b is 0 or a stand-in (only its sign counts) and lo may be huge
    lo, lo_err = np.where(live, lo, 0.0), np.where(live, lo_err, 0.0)
    mant, k = exp_or_sign((d_hi, np.zeros_like(lo)), sm.positive)
    b = sc.from_dd(mant, k)
    p = lo * (0.5 + lo * (1 / 6 + lo * (1 / 24)))
    em1 = fast_two_sum(lo, lo * p + lo_err * (1 + lo))
    return b, sc.mul(b, sc.from_dd(em1))


def _numerator(u: sc.Scaled, v: sc.Scaled, sm: SoftmaxTerms) -> sc.Scaled:
    """``u_i T - t_i V`` (``V = sum v``, ``u`` = ``v`` or a multiple of it), and at the argmax
    ``u_m rest - (V - v_m)``: there ``T - t_m`` would cancel when the row is dominated by its maximum."""
    big_v = _column(sc.row_sum(v))
    out = sc.sub(sc.mul(u, sm.total), sc.mul(sm.t, big_v))
    at_max = sc.sub(sc.mul(_take(u, sm.index), sm.rest), _sum_without(v, sm.index))
    return _put(out, sm.index, at_max)


def logsumexp_grad(rows: np.ndarray, g: np.ndarray, fmt: Format) -> np.ndarray:
    """``g t_i / T`` for ``g`` of shape ``(M,)``."""
    sm = softmax_terms(rows)
    return scaled_to_format(sc.mul(_column(sc.from_float(g)), sc.div(sm.t, sm.total)), fmt)


def log_softmax_grad(rows: np.ndarray, g: np.ndarray, fmt: Format) -> np.ndarray:
    """``(g_i T - t_i G) / T``."""
    sm = softmax_terms(rows)
    gs = sc.from_float(g)
    return scaled_to_format(sc.div(_numerator(gs, gs, sm), sm.total), fmt)


def softmax_grad(rows: np.ndarray, g: np.ndarray, fmt: Format) -> np.ndarray:
    """``t_i (h_i T - sum_j h_j t_j) / T**2`` with ``h = g - g[argmax]`` (exactly 0 for a constant ``g``),
    the bracket in two parts, ``t = b + c`` (:func:`split_terms`): ``(h_i B - sum h_j b_j) + (h_i C -
    sum h_j c_j)`` with ``B = sum b``, ``C = sum c``."""
    sm = softmax_terms(rows)
    ref = np.take_along_axis(g, sm.index, axis=-1)
    h = sc.sub(sc.from_float(g), sc.from_float(np.broadcast_to(ref, g.shape)))
    parts = [sc.sub(sc.mul(h, _column(sc.row_sum(v))), _column(sc.row_sum(sc.mul(h, v))))
             for v in split_terms(rows, sm)]
    inner = sc.add(*parts)
    return scaled_to_format(sc.mul(sm.t, sc.div(sc.div(inner, sm.total), sm.total)), fmt)


def coefficients(n_classes: int, eps: float, weight: np.ndarray | None, *, index: np.ndarray | None = None,
                 probabilities: np.ndarray | None = None) -> sc.Scaled:
    """``C a_c``, with ``a_c`` the coefficient of ``-log_softmax_c`` in a sample's loss (torch's label smoothing):

    index targets ``C a_c = w_c eps + [c = t] C (1 - eps) w_t``;
    probability targets ``C a_c = w_c (C y_c (1 - eps) + eps)``.
    Scaled by ``C`` so that no ``eps / C`` is rounded: tied logits with uniform
    coefficients then cancel exactly.
    """
    n = len(index) if index is not None else probabilities.shape[0]
    shape = (n, n_classes)
    w = sc.from_float(np.broadcast_to(np.ones(n_classes) if weight is None else weight, shape))
    keep = sc.mul(sc.from_dd(two_sum(np.ones(shape), np.full(shape, -eps))),  # C (1 - eps), exactly
                  sc.from_float(np.full(shape, float(n_classes))))
    eps_s = sc.from_float(np.full(shape, eps))
    if probabilities is not None:
        return sc.mul(w, sc.add(sc.mul(sc.from_float(probabilities), keep), eps_s))
    onehot = np.zeros(shape)
    np.put_along_axis(onehot, index[:, None], 1.0, axis=-1)
    return sc.add(sc.mul(w, eps_s), sc.mul(sc.mul(w, sc.from_float(onehot)), keep))


def class_grad(rows: np.ndarray, scaled_a: sc.Scaled, factor: sc.Scaled, fmt: Format) -> np.ndarray:
    """``f (A t_i - a_i T) / T`` per sample from ``C a`` (:func:`coefficients`), ``factor`` of shape ``(M,)``."""
    sm = softmax_terms(rows)
    minus = _numerator(scaled_a, scaled_a, sm)  # C (a_i T - A t_i)
    n_classes = sc.from_float(np.full(rows.shape[0], float(rows.shape[1])))
    return scaled_to_format(sc.mul(_column(sc.div(factor, n_classes)), sc.div(sc.neg(minus), sm.total)), fmt)
