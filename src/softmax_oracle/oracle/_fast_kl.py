"""Fast phase of kl_div (values in every reduction, and the gradient), on the numerics layer's enclosures.

Pointwise, with ``x`` the input and ``y`` the target (``t`` with ``log_target``):

* value ``y log y - y x`` (``log_target``: ``exp(t) (t - x)``, whose sign is
  that of ``t - x``); reductions: the enclosures' certified sum over all
  elements (kept 1-D), divided by ``n`` (``"mean"``) or ``input.shape[0]``
  (``"batchmean"``);
* gradient ``-F y`` (``-F exp(t)``), ``F`` the upstream gradient divided by
  the same denominator.

Decided structurally, as the MPFR engine (:mod:`._loss_calls`): NaN in,
NaN out; ``y = 0`` (``t = -inf``) contributes ``+0``; ``y < 0`` is NaN;
infinite operands give the IEEE value of the formula (``y (log y - x)``,
``t - x``; in the gradient ``-F y`` with ``0 inf = NaN``); a zero ``F``
gives ``+0``.  Reductions over any structural element are left to MPFR.
"""

from __future__ import annotations

import numpy as np

from ..formats import Format
from ..numerics.arith import arith_for
from ..numerics.enclosure import Enclosure, round_enclosure
from ._fast_rows import set_decided, signed_zero, special

__all__ = ["kl_div_phase"]


def _ieee(values, decided, mask, v: np.ndarray, fmt: Format) -> None:
    """Decide ``mask`` as the IEEE specials ``v`` (NaN as the canonical NaN)."""
    set_decided(values, decided, mask & np.isnan(v), special(np.nan, fmt))
    set_decided(values, decided, mask & (v == np.inf), special(np.inf, fmt))
    set_decided(values, decided, mask & (v == -np.inf), special(-np.inf, fmt))


def _rounded(enc: Enclosure, fmt: Format, sign=None):
    with np.errstate(all="ignore"):  # unknown elements (inf radius) are not decided
        values, decided = round_enclosure(enc, fmt, sign=sign)
    return np.array(values, dtype=fmt.dtype), np.array(decided, dtype=bool)


def _terms(A, x, y, log_target: bool):
    """The finite elements' enclosures (garbage elsewhere), their known sign, and the structural values."""
    finite = np.isfinite(x) & np.isfinite(y)
    xs, ys = np.where(finite, x, 0.0), np.where(finite, y, 0.0)
    with np.errstate(all="ignore"):  # the structural elements are overwritten
        if log_target:
            diff = A.sub(A.from_float(ys), A.from_float(xs))
            enc = A.mul(A.exp(A.from_float(ys)), diff)
            sign = np.sign(ys - xs)  # exact comparison: the sign of t - x
            zero = y == -np.inf
            special_v = np.where(zero, 0.0, y - x)
            ok = finite
        else:
            pos = ys > 0
            ylog = A.mul_float(A.log(A.from_float(np.where(pos, ys, 1.0))), ys)
            enc = A.sub(ylog, A.mul(A.from_float(ys), A.from_float(xs)))
            sign = None
            zero = y == 0
            special_v = np.where(zero | (y < 0) | np.isnan(x), np.where(zero, 0.0, np.nan), y * (np.log(np.where(y > 0, y, 1.0)) - x))
            special_v = np.where(y == np.inf, np.where(x == np.inf, np.nan, np.inf), special_v)
            ok = finite & (y > 0)
        special_v = np.where(np.isnan(x) | np.isnan(y), np.nan, special_v)
    return enc, sign, ok, zero & ~np.isnan(x), special_v


def _values(x, y, log_target: bool, reduction: str, den: float, fmt: Format, tier=None):
    A = tier or arith_for(fmt)
    enc, sign, ok, zero, special_v = _terms(A, x, y, log_target)
    if reduction == "none":
        values, decided = _rounded(enc, fmt, sign=sign)
        decided &= ok
        _ieee(values, decided, ~ok & ~zero, special_v, fmt)
        set_decided(values, decided, zero, signed_zero(False, fmt))
        return values, decided
    if not (ok | zero).all():
        return np.zeros((), fmt.dtype), np.zeros((), bool)
    zero_enc = Enclosure(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1, np.int64))
    row = Enclosure(*(np.where(zero, zf, np.broadcast_to(f, x.shape))[None, :] for f, zf in zip(enc, zero_enc)))
    if A.name == "double":  # the double tier's absent low word is the float 0.0
        row = row._replace(lo=0.0)
    total = A.sum(row, axis=-1)  # shape (1,): 1-D, see _loss_calls._binary_fast on 0-d arithmetic
    if reduction == "mean":
        total = A.div(total, A.from_float(np.full(1, den)))
    values, decided = _rounded(total, fmt)
    return values.reshape(()), decided.reshape(())


def _gradient(x, y, log_target: bool, g: np.ndarray, den: float | None, fmt: Format, tier=None):
    A = tier or arith_for(fmt)
    n = x.size
    f_nan = ~np.isfinite(g) | (den == 0)
    gs = np.where(f_nan, 0.0, g)
    with np.errstate(all="ignore"):  # the structural elements are overwritten
        f = A.from_float(np.broadcast_to(-gs, (n,)).copy())
        if den is not None and den != 0:
            f = A.div(f, A.from_float(np.full(n, den)))
        ys = np.where(np.isfinite(y), y, 0.0)
        enc = A.mul(f, A.exp(A.from_float(ys)) if log_target else A.from_float(ys))
        sign = -np.sign(gs) * (1.0 if log_target else np.sign(ys))
        values, decided = _rounded(enc, fmt, sign=sign)
    bad = np.isnan(x) | np.isnan(y) | f_nan
    decided &= np.isfinite(y) & ~bad
    zero_f = (gs == 0) & ~bad
    if log_target:
        set_decided(values, decided, (y == -np.inf) & ~bad, signed_zero(False, fmt))
        top = (y == np.inf) & ~bad
        _ieee(values, decided, top, np.where(gs > 0, -np.inf, np.where(gs < 0, np.inf, np.nan)), fmt)
        set_decided(values, decided, zero_f & np.isfinite(y), signed_zero(False, fmt))
    else:
        big = np.isinf(y) & ~bad
        _ieee(values, decided, big, np.where(gs == 0, np.nan, np.where(gs > 0, -y, y)), fmt)
        set_decided(values, decided, (zero_f | (y == 0)) & np.isfinite(y) & ~bad, signed_zero(False, fmt))
    set_decided(values, decided, bad, special(np.nan, fmt))
    return values, decided


def kl_div_phase(x: np.ndarray, y: np.ndarray, shape: tuple[int, ...], reduction: str, log_target: bool, den: float,
                 *, grad: bool, grad_output: np.ndarray | None = None):
    """The fast phase of a kl_div call: ``x``, ``y`` flat float64; ``reduction`` ``"none"``, ``"sum"`` or
    ``"mean"`` (``"batchmean"`` is ``"mean"`` with ``den = input.shape[0]``); ``grad_output`` checked,
    float64, of the loss's shape.  None for an empty input."""
    if x.size == 0:
        return None
    if not grad:
        def fast(fmt: Format, tier=None):
            values, decided = _values(x, y, log_target, reduction, den, fmt, tier)
            out = shape if reduction == "none" else ()
            return values.reshape(out), decided.reshape(out)

        return fast
    g = np.broadcast_to(np.asarray(grad_output, dtype=np.float64).reshape(-1 if reduction == "none" else ()),
                        (x.size,))
    scale = den if reduction == "mean" else None

    def fast_grad(fmt: Format, tier=None):
        values, decided = _gradient(x, y, log_target, g, scale, fmt, tier)
        return values.reshape(shape), decided.reshape(shape)

    return fast_grad
