"""Fast phase of sigmoid, log_sigmoid, softplus and their gradients (vectorized, certified).

Entry points (called by :mod:`._calls`; ``x`` and ``g`` flat float64 arrays)::

    pointwise(name, x, g, fmt) -> (values, decided)          # flat, fmt.dtype / bool
    phase(name, x, g, shape)   -> fast(fmt) -> (values, decided)   # reshaped to ``shape``

``name`` is ``"sigmoid"``, ``"log_sigmoid"`` or ``"softplus"``; ``g`` is the
upstream gradient (same size as ``x``) for the gradient, None for the value.

The formulas are the MPFR engine's (:mod:`._pointwise`), enclosed with the
numerics layer's arithmetic (double-double for float64 targets, double for
the narrower ones): with ``e = exp(-|x|)`` (``-|x|`` exact),
``Y1 = e / (1 + e)``, ``Y2 = log1p(e)``, ``Y3 = Y1 / (1 + e)``:

=====================  ===================  ====================
function               ``x >= 0``           ``x < 0``
=====================  ===================  ====================
sigmoid                ``1 - Y1``           ``Y1``
softplus               ``x + Y2``           ``Y2``
log_sigmoid            ``-Y2``              ``x - Y2``
grad sigmoid           ``g Y3``             ``g Y3``
grad softplus          ``g (1 - Y1)``       ``g Y1``
grad log_sigmoid       ``g Y1``             ``g (1 - Y1)``
=====================  ===================  ====================

Signs are known (sigmoid, softplus ``> 0``; log_sigmoid ``< 0``; gradients
of ``g``'s sign), so underflowing results round to the right signed zero.
Decided structurally, as the MPFR engine: NaN ``x`` or non-finite ``g``
(gradients) give NaN; ``x = +-inf`` the limits (sigmoid 1/+0, softplus
``+inf``/+0, log_sigmoid -0.0/``-inf``; gradients ``+0`` or ``g`` rounded
to the format, exact zeros ``+0``); ``g = 0`` gives ``+0``.  Values in the regimes
that :mod:`._fast_saturated` proves (saturation, underflow, near zero) are
known without evaluation.  Every other element is decided by the rounding
test or left to the MPFR engine.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..formats import Format
from ..numerics.arith import Arith, arith_for
from ..numerics.enclosure import Enclosure, round_enclosure
from ._fast_saturated import saturated

__all__ = ["pointwise", "phase", "BLOCK"]

BLOCK = 1 << 15
"""Elements per block: the working memory is a fixed multiple of it."""


def _where(mask: np.ndarray, a: Enclosure, b: Enclosure) -> Enclosure:
    return Enclosure(*(np.where(mask, x, y) if not (type(x) is float and type(y) is float and x == y) else x
                       for x, y in zip(a, b)))


def _one(A: Arith, n: int) -> Enclosure:
    return A.constant(1.0, (n,))


def _parts(A: Arith, x: np.ndarray, need: str) -> dict[str, Enclosure]:
    """The enclosures ``e``, ``Y1``, ``Y2``, ``Y3`` that ``need`` (a string of their digits) asks for."""
    e = A.exp(A.from_float(-np.abs(x)))
    one = _one(A, x.size)
    out = {"e": e}
    if "1" in need or "3" in need:
        one_e = A.add(one, e)
        out["1"] = A.div(e, one_e)
        if "3" in need:
            out["3"] = A.div(out["1"], one_e)
    if "2" in need:
        out["2"] = A.log1p(e)
    return out


def _value(A: Arith, name: str, x: np.ndarray) -> tuple[Enclosure, int]:
    pos = x >= 0
    xe = A.from_float(x)
    if name == "sigmoid":
        y1 = _parts(A, x, "1")["1"]
        return _where(pos, A.sub(_one(A, x.size), y1), y1), 1
    y2 = _parts(A, x, "2")["2"]
    if name == "softplus":
        return _where(pos, A.add(xe, y2), y2), 1
    return _where(pos, A.neg(y2), A.sub(xe, y2)), -1  # log_sigmoid


def _gradient(A: Arith, name: str, x: np.ndarray, g: np.ndarray) -> Enclosure:
    ge = A.from_float(g)
    if name == "sigmoid":
        return A.mul(ge, _parts(A, x, "3")["3"])
    y1 = _parts(A, x, "1")["1"]
    s = _where(x >= 0, A.sub(_one(A, x.size), y1), y1) if name == "softplus" else \
        _where(x >= 0, y1, A.sub(_one(A, x.size), y1))
    return A.mul(ge, s)


_LIMITS = {  # value at x = +inf, x = -inf
    "sigmoid": (1.0, 0.0),
    "softplus": (np.inf, 0.0),
    "log_sigmoid": (-0.0, -np.inf),
}


def _block(name: str, x: np.ndarray, g: np.ndarray | None, fmt: Format, tier: Arith | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    A = tier or arith_for(fmt)
    finite = np.isfinite(x)
    xs = np.where(finite, x, 0.0)
    if g is None:
        known, values = saturated(name, xs, fmt)
        known &= finite
        decided = known.copy()
        rest = np.flatnonzero(~known)
        if rest.size:  # the others are enclosed (all of them, in place, when none is known)
            enc, sign = _value(A, name, xs if rest.size == x.size else xs[rest])
            got, ok = round_enclosure(enc, fmt, sign=sign)
            if rest.size == x.size:
                values, decided = got, ok
            else:
                values[rest], decided[rest] = got, ok
        special = ~finite
        if special.any():
            up, down = _LIMITS[name]
            fill = np.where(np.isnan(x), np.nan, np.where(x > 0, up, down))
            values = np.where(special, fill.astype(fmt.dtype), values)
            decided = decided | special
        return values, decided
    good_g = np.isfinite(g)
    gs = np.where(good_g, g, 0.0)
    enc = _gradient(A, name, xs, gs)
    values, decided = round_enclosure(enc, fmt, sign=np.sign(gs))
    # structural: NaN x or non-finite g -> NaN; g = 0 -> +0; x = +-inf -> +0 or g
    nan = np.isnan(x) | ~good_g
    passes_g = (name == "softplus") & (x == np.inf) | (name == "log_sigmoid") & (x == -np.inf)
    g_rounded, g_ok = round_enclosure(A.from_float(gs), fmt)
    zero = ~nan & ((gs == 0) | (~finite & ~passes_g))
    through = ~nan & ~zero & ~finite & passes_g
    values = np.where(nan, np.asarray(np.nan, dtype=fmt.dtype), values)
    values = np.where(zero, np.asarray(0.0, dtype=fmt.dtype), values)
    values = np.where(through, g_rounded, values)
    decided = (decided & finite & ~nan & ~zero) | nan | zero | (through & g_ok)
    return values, decided


def pointwise(name: str, x: np.ndarray, g: np.ndarray | None, fmt: Format, tier: Arith | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """``(values, decided)`` of ``name`` (or its gradient with ``g``) at the flat float64 ``x``.

    ``values`` (``fmt.dtype``) is meaningful where ``decided``; see the module docstring.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    g = None if g is None else np.asarray(g, dtype=np.float64).reshape(-1)
    values = np.empty(x.shape, dtype=fmt.dtype)
    decided = np.empty(x.shape, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf inputs are replaced before use, then restored
        for i in range(0, x.size, BLOCK):
            part = slice(i, i + BLOCK)
            values[part], decided[part] = _block(name, x[part], None if g is None else g[part], fmt, tier)
    return values, decided


def phase(name: str, x: np.ndarray, g: np.ndarray | None, shape: tuple[int, ...]) -> Callable[[Format], tuple[np.ndarray, np.ndarray]]:
    """``fast(fmt) -> (values, decided)`` of ``name`` on ``x`` (flat), reshaped to ``shape``."""

    def fast(fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
        values, decided = pointwise(name, x, g, fmt, tier)
        return values.reshape(shape), decided.reshape(shape)

    return fast
