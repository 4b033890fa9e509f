"""Scaled double-doubles: ``(hi + lo) 2**exp`` with ``2**299 <= |hi| < 2**300``, so nothing under- or overflows.

The float64 gradients multiply softmax values as small as ``2**-14000`` by upstream
gradients as large as ``2**1024``; a plain double-double would lose both ends.
Here every value carries its own integer exponent; products add exponents,
sums align their terms to the larger one (a term more than ``2**-1074`` below
it is below the sum's last digit anyway).  The mantissas live at ``2**300``
rather than at 1 so that a low part ``2**-1074`` below its high part (logits
that differ in a subnormal digit) is still a normal number: the product of two
mantissas stays below ``2**600``, far from overflow and from Veltkamp's limit.  Row sums are exact up to a final
``2**-110`` relative to the largest term: Rump's extraction splits each term at
fixed powers of two so that the partial sums of each slice are exact.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import double_double as dd
from .cast import round_to_format
from ..formats import Format

__all__ = ["Scaled", "from_float", "from_dd", "mul", "add", "neg", "sub", "div", "row_sum", "to_format", "ZERO_EXP"]

ZERO_EXP = -(1 << 40)  # the exponent of an exact zero: below every other, so it never leads an alignment
_BIAS = 300
_TINY = 2.0**-1022


class Scaled(NamedTuple):
    """``(hi + lo) * 2**exp``, elementwise; ``hi`` in ``[2**299, 2**300)`` in magnitude, or 0."""

    hi: np.ndarray
    lo: np.ndarray
    exp: np.ndarray


def _normalize(hi: np.ndarray, lo: np.ndarray, exp: np.ndarray) -> Scaled:
    _, k = np.frexp(hi)
    zero = hi == 0
    shift = _BIAS - k
    return Scaled(np.ldexp(hi, shift), np.where(zero, 0.0, np.ldexp(lo, shift)), np.where(zero, ZERO_EXP, exp - shift))


def from_float(x: np.ndarray) -> Scaled:
    """A finite float64 array, exactly."""
    x = np.asarray(x, dtype=np.float64)
    return _normalize(x, np.zeros_like(x), np.zeros(x.shape, dtype=np.int64))


def from_dd(a: dd.DD, exp: np.ndarray | int = 0) -> Scaled:
    """``(a.hi + a.lo) 2**exp`` for a finite double-double."""
    return _normalize(a[0], a[1], np.broadcast_to(np.asarray(exp, dtype=np.int64), a[0].shape))


def mul(a: Scaled, b: Scaled) -> Scaled:
    hi, lo = dd.mul((a.hi, a.lo), (b.hi, b.lo))
    return _normalize(hi, lo, a.exp + b.exp)


def _aligned(a: Scaled, exp: np.ndarray) -> dd.DD:
    shift = np.maximum(a.exp - exp, -2000)
    return np.ldexp(a.hi, shift), np.ldexp(a.lo, shift)


def add(a: Scaled, b: Scaled) -> Scaled:
    exp = np.maximum(a.exp, b.exp)
    hi, lo = dd.add(_aligned(a, exp), _aligned(b, exp))
    return _normalize(hi, lo, exp)


def neg(a: Scaled) -> Scaled:
    return Scaled(-a.hi, -a.lo, a.exp)


def sub(a: Scaled, b: Scaled) -> Scaled:
    return add(a, neg(b))


def div(a: Scaled, b: Scaled) -> Scaled:
    """``a / b`` for ``b != 0``."""
    hi, lo = dd.div((a.hi, a.lo), (b.hi, b.lo))
    return _normalize(hi, lo, a.exp - b.exp)


def _extract_sum(v: np.ndarray) -> dd.DD:
    """Row sums of ``v`` (``|v| < 2**300``) to ~``2**-110`` relative to that bound: exact partial sums
    of fixed bit slices."""
    n = v.shape[-1]
    k = max(1, int(np.ceil(np.log2(n)))) + 1
    bits_per_level = 53 - k
    sigma = 2.0 ** (k + _BIAS)
    parts = []
    for _ in range(-(-112 // bits_per_level)):
        q = (sigma + v) - sigma  # the multiples of ulp(sigma) in v: their sum is exact
        parts.append(np.sum(q, axis=-1))
        v = v - q
        sigma *= 2.0**-bits_per_level
    acc = (np.sum(v, axis=-1), np.zeros(v.shape[:-1]))
    for part in reversed(parts):
        acc = dd.add_float(acc, part)
    return acc


def row_sum(a: Scaled) -> Scaled:
    """Sum along the last axis of 2-D scaled values, one scaled value per row."""
    exp = np.max(a.exp, axis=-1, keepdims=True)
    hi, lo = _aligned(a, exp)
    total = _extract_sum(np.concatenate([hi, lo], axis=-1))
    return _normalize(total[0], total[1], exp[:, 0])


def to_format(a: Scaled, fmt: Format) -> np.ndarray:
    """One rounding of ``(hi + lo) 2**exp`` to ``fmt`` (float64 subnormals: within 1 ULP)."""
    exp = np.clip(a.exp, -4000, 4000)
    odd = dd.round_to_odd((a.hi, a.lo))
    if fmt.name != "float64":
        return round_to_format(np.ldexp(odd, exp), fmt)
    out = np.ldexp(a.hi, exp)
    tiny = np.abs(out) < _TINY
    if tiny.any():
        # Rounding to a subnormal: from the odd rounding, so the low part still breaks ties.
        out = np.where(tiny, np.ldexp(odd, exp), out)
    return out
