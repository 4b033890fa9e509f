"""Sums of enclosures along an axis, with a proven bound (exact extraction, Rump-Ogita-Oishi).

All terms are aligned to the largest exponent ``E`` of the axis (zero centres
ignored), so every aligned centre is below 1 in magnitude.  With
``sigma = 2**c``, ``c = ceil(log2 N) + 1`` for ``N`` summands,
``q = fl(fl(sigma + v) - sigma)`` splits each ``v = q + v'`` exactly with
``|v'| <= u sigma`` and ``q`` a multiple of ``u sigma`` (ExtractScalar, Rump,
Ogita & Oishi 2008, Lemma 3.2); the ``q`` of a level add up *exactly* in any
order (their partial sums are multiples of ``u sigma`` below ``2**53 u sigma``).
Each further level extracts the remainders with ``sigma' = 2**c u sigma``.
Only the last remainders are summed in rounded arithmetic, with error at most
``gamma_(N-1) * N * u sigma_last``; the level sums (exact doubles) are added
as double-words (double-double tier, 3 levels) or as doubles (double tier,
1 level).  The radii add up with ``gamma_(N-1)`` of their sum.
See ``docs/error-analysis.md``, section 2.3.
"""

from __future__ import annotations

import math

import numpy as np

from . import double_double as dd
from .enclosure import Enclosure

__all__ = ["enclosure_sum"]

_U = 2.0**-53
_ZERO_EXP = -(1 << 40)


def _gamma(n: int) -> float:
    """An upper bound of ``gamma_n = n u / (1 - n u)`` (valid for ``n u < 1/2``)."""
    return 1.01 * n * _U if n * _U < 0.01 else math.inf


def enclosure_sum(A, a: Enclosure, axis: int | None, keepdims: bool, *, levels: int, keep_lo: bool) -> Enclosure:
    """Sum of ``a`` along ``axis`` (None: all elements) in the tier ``A``; see the module docstring."""
    shape = np.broadcast_shapes(*(np.shape(f) for f in a))
    fields = [np.broadcast_to(np.asarray(f), shape) for f in a]
    if axis is None:
        fields = [f.reshape(1, -1) for f in fields]
        result_shape: tuple[int, ...] = ()
    else:
        fields = [np.moveaxis(f, axis % len(shape), -1) for f in fields]
        result_shape = fields[0].shape[:-1]
        # at least one row: 0-d arrays (NumPy scalars) break the error-free transformations' out=
        rows = int(np.prod(result_shape))
        fields = [f.reshape(max(rows, 1) if result_shape == () else rows, f.shape[-1]) for f in fields]
    hi, lo, rad, exp = fields
    n = hi.shape[-1]
    if n == 0:
        zero = np.zeros(result_shape)
        return _keep(Enclosure(zero, 0.0 if not keep_lo else zero.copy(), zero.copy(), np.zeros(result_shape, np.int64)),
                     shape, axis, keepdims)
    big = np.max(np.where(hi == 0, _ZERO_EXP, exp), axis=-1, keepdims=True)
    shift = np.clip(exp - big, -2000, 2000).astype(np.int32)  # ldexp is slow with int64 exponents
    with np.errstate(over="ignore", invalid="ignore"):  # unknown or scaled-up zero radii: unknown
        h = np.ldexp(hi, shift)
        r = np.ldexp(rad, shift)
        v = np.concatenate([h, np.ldexp(np.broadcast_to(lo, hi.shape), shift)], axis=-1) if keep_lo else h
        count = v.shape[-1]
        c = max(1, math.ceil(math.log2(count))) + 1
        sigma = 2.0**c
        parts = []
        for _ in range(levels):
            q = v + sigma
            q -= sigma
            parts.append(q.sum(axis=-1))
            v = v - q
            last = sigma
            sigma *= 2.0**c * _U
        rest = v.sum(axis=-1)
        err = _gamma(count - 1) * count * _U * last  # the rounded sum of the last remainders
        radsum = r.sum(axis=-1) * (1.0 + _gamma(n))
        if keep_lo:
            acc = (parts[0], np.zeros_like(parts[0]))
            for p in parts[1:] + [rest]:
                acc = dd.add_float(acc, p)
            s_hi, s_lo = acc
            err = err + levels * 4 * _U * _U * np.abs(s_hi)  # DWPlusFP: 2u^2 of each partial result
        else:
            s_hi = parts[0] + rest
            s_lo = 0.0
            err = err + _U * np.abs(s_hi)
        total_rad = radsum + err
    out = A._finish(s_hi, s_lo, total_rad, np.squeeze(big, axis=-1))
    out = Enclosure(*(f.reshape(result_shape) if np.ndim(f) else f for f in out))  # 0-d arrays, not NumPy scalars
    return _keep(out, shape, axis, keepdims)


def _keep(out: Enclosure, shape: tuple[int, ...], axis: int | None, keepdims: bool) -> Enclosure:
    if not keepdims:
        return out
    if axis is None:
        return Enclosure(*(np.reshape(f, (1,) * len(shape)) if np.ndim(f) else f for f in out))
    ax = axis % len(shape)
    return Enclosure(*(np.expand_dims(f, ax) if np.ndim(f) else f for f in out))
