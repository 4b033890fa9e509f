"""exp, expm1, log and log1p on enclosures, written once against :class:`~.arith.Arith`.

* ``exp``/``expm1``: the tier's range-reduced kernel (:mod:`.exp_kernel`) for
  ``|x| <= 1e5``; ``expm1 = q`` straight from the kernel where the reduction
  index ``n`` is 0 (relative accuracy near 0), else ``exp(x) - 1`` with the
  tier's addition; below ``2**-500`` in magnitude ``exp(x) = 1 + O(2**-497)``
  and ``expm1(x) = x (1 + theta)``, ``|theta| <= 2**-497``; below ``-99900``
  ``exp(x)`` is enclosed in ``[0, 2**-144000]``; above ``1e5`` unknown.
* ``log1p(z)`` for ``|z| < 1/2``: a Newton correction of a *guess*
  ``y0`` (NumPy's ``log1p``, trusted for nothing): ``1 + z = e**y0 (1 + d)``
  exactly for ``d = (z - expm1(y0)) / exp(y0)``, so
  ``log1p(z) = y0 + d - d**2/2 + theta`` with ``|theta| <= |d|**3 / (3 (1 - |d|))``,
  every term enclosed with the tier's operations; ``d`` is about ``2**-52 |y0|``
  so the cubic term is below ``2**-150`` relative.  Below ``2**-500``,
  ``log1p(z) = z (1 + theta)``.  Elsewhere ``log(1 + z)``.
* ``log(a) = e ln 2 + log1p(m - 1)`` with ``a = 2**e m``, ``m`` in
  ``[1/sqrt 2, sqrt 2)`` (``m - 1`` exact by Sterbenz's lemma) and ``e ln 2`` a
  double-word with ``2**-104`` relative error.

Proofs: ``docs/error-analysis.md``, sections 3-4.
"""

from __future__ import annotations

import gmpy2
import numpy as np

from . import double_double as dd
from . import enclosure as en
from .arith import TINY, UP, Arith
from .eft import two_prod
from .enclosure import Enclosure
from .exp_kernel import X_MAX, expm1_mid_dd, expm1_mid_double

__all__ = ["exp_expm1", "log", "log1p", "EXPM1_REL_DD", "EXPM1_REL_DOUBLE"]

EXPM1_REL_DD = 2.0**-94  # q where n = 0, relative to q (docs/error-analysis.md, 3.4)
EXPM1_REL_DOUBLE = 2.0**-50
_TINY_EXP = -500  # |x| < 2**-499: the first-order formulas hold to 2**-497
_LOW = -99900.0  # exp(x) <= 2**-144125 below
_LOW_EXP = -144000


def _ln2_pieces() -> tuple[float, float]:
    with gmpy2.context(precision=300):
        ln2 = gmpy2.log(2)
        hi = float(ln2)
        return hi, float(ln2 - gmpy2.mpfr(hi))


LN2_HI, LN2_LO = _ln2_pieces()  # |ln 2 - LN2_HI - LN2_LO| < 2**-107


def _select(mask: np.ndarray, a: Enclosure, b: Enclosure) -> Enclosure:
    return Enclosure(*(np.where(mask, x, y) for x, y in zip(a, b)))


def _fields(a: Enclosure, shape: tuple[int, ...]) -> Enclosure:
    return Enclosure(*(f if type(f) is float else np.broadcast_to(np.asarray(f), shape) for f in a))


def _shape(a: Enclosure) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(f) for f in a))


def _tier_lo(A: Arith, lo: np.ndarray):
    return 0.0 if A.name == "double" else lo


def _patch(base: Enclosure, mask: np.ndarray, make) -> Enclosure:
    """``base`` with the elements under ``mask`` replaced by ``make()`` (built only if needed)."""
    if not mask.any():
        return base
    return _select(mask, make(), base)


_BLOCK = 4096  # elements per block: the kernels' ~100 temporaries stay in the L2 cache


def _blocks(A: Arith, a: Enclosure, shape: tuple[int, ...], want_exp: bool, want_expm1: bool):
    """:func:`_exp_expm1` on blocks of :data:`_BLOCK` elements, written into preallocated outputs."""
    size = int(np.prod(shape))
    flat = Enclosure(*(f if type(f) is float else f.reshape(-1) for f in a))
    wanted = (want_exp, want_expm1)
    double = A.name == "double"
    outs = [Enclosure(np.empty(size), 0.0 if double else np.empty(size), np.empty(size), np.empty(size, np.int64))
            if w else None for w in wanted]
    for i in range(0, size, _BLOCK):
        part = slice(i, i + _BLOCK)
        results = _exp_expm1(A, Enclosure(*(f if type(f) is float else f[part] for f in flat)), *wanted)
        for out, res in zip(outs, results):
            if out is not None:
                for dst, src in zip(out, res):
                    if not type(dst) is float:
                        dst[part] = src
    return tuple(None if o is None else Enclosure(*(f if type(f) is float else f.reshape(shape) for f in o))
                 for o in outs)


def exp_expm1(A: Arith, a: Enclosure, *, want_exp: bool = True, want_expm1: bool = True):
    """``(exp(a), expm1(a))`` as enclosures of the tier ``A`` (None for the one not wanted).

    Large arrays are processed in blocks of 4096 elements (twice as fast: the
    temporaries stay in cache).
    """
    shape = _shape(a)
    a = _fields(a, shape)
    size = int(np.prod(shape))
    if size > 2 * _BLOCK:
        return _blocks(A, a, shape, want_exp, want_expm1)
    return _exp_expm1(A, a, want_exp, want_expm1)


def _exp_expm1(A: Arith, a: Enclosure, want_exp: bool, want_expm1: bool):
    shape = _shape(a)
    e = np.clip(a.exp, -4000, 4000).astype(np.int32)  # ldexp is 17x slower with int64 exponents
    double = A.name == "double"
    exact = not np.any(a.rad)
    with np.errstate(over="ignore", invalid="ignore"):  # huge or unknown arguments: handled by the masks
        xh = np.ldexp(a.hi, e)
        xl = 0.0 if type(a.lo) is float else np.ldexp(a.lo, e)
        # 2**-1070 covers the bits ldexp may drop below 2**-1074 (a relative 2**-1070 on exp)
        xr = 0.0 if exact else np.ldexp(a.rad, e)
        tiny = a.exp <= _TINY_EXP
        if not exact:
            tiny &= a.rad <= 1.0
        low = (xh + np.abs(xl) + xr <= _LOW) & ~tiny
        ok = (np.abs(xh) <= X_MAX) & ~tiny & ~low
        if not exact:
            ok &= xr <= 0.5
    everything = bool(ok.all())
    if not everything:
        xh = np.where(ok, xh, 0.0)
        xl = xl if type(xl) is float else np.where(ok, xl, 0.0)
        xr = xr if exact else np.where(ok, xr, 0.0)
    m, k, q, n = A._exp_kernel(xh, xl)
    mh, ml = (m, 0.0) if double else m
    qh, ql = (q, 0.0) if double else q
    rel = A.exp_rel + 2.0**-1070
    grow = 0.0 if exact else xr * (1.0 + xr)  # |exp(d) - 1| <= d (1 + d) for 0 <= d <= 1
    zeros = lambda: np.zeros(shape)  # noqa: E731
    exp_out = None
    if want_exp or want_expm1:
        rad = np.abs(mh) * rel if exact else np.abs(mh) * (rel + grow * (1.0 + rel))
        exp_out = A._finish(mh, ml, rad, k)
        if not everything:
            lo0 = 0.0 if double else zeros()
            exp_out = _patch(exp_out, ~ok, lambda: Enclosure(zeros(), lo0, np.full(shape, np.inf), np.zeros(shape, np.int64)))
            exp_out = _patch(exp_out, tiny, lambda: Enclosure(np.full(shape, 0.5), lo0, np.full(shape, 2.0**-498), np.ones(shape, np.int64)))
            exp_out = _patch(exp_out, low, lambda: Enclosure(np.full(shape, 0.5), lo0, np.full(shape, 0.5), np.full(shape, _LOW_EXP, np.int64)))
    if not want_expm1:
        return exp_out, None
    qrel = EXPM1_REL_DOUBLE if double else EXPM1_REL_DD
    zero_n = ok & (n == 0)
    far = ~zero_n & ~tiny
    expm1_out = A._finish(qh, ql, np.abs(qh) * qrel + (1.0 + np.abs(qh)) * grow * (1.0 + rel), 0)
    expm1_out = _patch(expm1_out, far, lambda: A.add(exp_out, A.constant(-1.0, shape)))
    mid = ok & (n != 0) & (k >= -1) & (k <= 0)
    if mid.any():
        kk = np.where(mid, k, 0)
        if double:
            c, err = expm1_mid_double(q, n, kk, qrel)
            c = (c, 0.0)
        else:
            c, err = expm1_mid_dd(q, n, kk, qrel)
        e_x = np.ldexp(np.abs(mh), kk)  # exp(x) up to 2**-50
        expm1_out = _select(mid, A._finish(c[0], c[1], err + e_x * grow * (1.0 + 2.0**-50), 0), expm1_out)
    if tiny.any():
        with np.errstate(invalid="ignore"):  # unknown arguments stay unknown
            rad_tiny = (a.rad + (np.abs(a.hi) + a.rad) * 2.0**-497) * UP
        expm1_out = _select(tiny, Enclosure(a.hi, _tier_lo(A, a.lo), rad_tiny, a.exp), expm1_out)
    return (exp_out if want_exp else None), expm1_out


def log1p(A: Arith, z: Enclosure) -> Enclosure:
    """``log(1 + z)`` as an enclosure of the tier ``A``; unknown where ``z``'s interval reaches ``-1``."""
    shape = _shape(z)
    z = _fields(z, shape)
    zd = A.to_float(z)
    tiny = (z.exp <= _TINY_EXP) & (z.rad <= 1.0)
    with np.errstate(invalid="ignore"):  # unknown elements: neither branch
        core = (np.abs(zd) < 0.5) & ~tiny & np.isfinite(z.rad)
    far = ~core & ~tiny
    out = _log1p_core(A, z, np.where(core, zd, 0.0))
    if far.any():
        out = _select(core, out, log(A, A.add(A.constant(1.0, shape), z)))
    if tiny.any():
        with np.errstate(invalid="ignore"):  # unknown elements stay unknown
            rad = (z.rad + (np.abs(z.hi) + z.rad) * 2.0**-497) * UP
        out = _select(tiny, Enclosure(z.hi, _tier_lo(A, z.lo), rad, z.exp), out)
    return out


def _log1p_core(A: Arith, z: Enclosure, zd: np.ndarray) -> Enclosure:
    """``log1p(z)`` for ``|z| < 1/2`` (elsewhere meaningless): the guess and its certified correction."""
    with np.errstate(divide="ignore", invalid="ignore"):  # masked-out elements carry zd = 0
        y0 = np.log1p(zd)
    y = A.from_float(y0)
    e, m = exp_expm1(A, y)
    d = A.div(A.sub(z, m), e)
    with np.errstate(over="ignore", invalid="ignore"):  # unknown elements stay unknown
        dmax = np.ldexp((np.abs(d.hi) + d.rad) * UP, np.clip(d.exp, -4000, 4000).astype(np.int32))
        small = dmax <= 0.25
        f = dmax * dmax / (3.0 * np.maximum(1.0 - dmax, 0.5)) * UP + 2.0**-1000  # |theta| <= dmax * f
        widen = 2.0 * (np.abs(d.hi) + d.rad) * f * UP  # covers theta: g' = 1 - D >= 3/4 on |D| <= 1/4
        rad = np.where(small, d.rad + widen + TINY, np.inf)
    d = Enclosure(d.hi, d.lo, rad, d.exp)
    g = A.sub(d, A.scale(A.mul(d, d), -1))
    return A.add(y, g)


def log(A: Arith, a: Enclosure) -> Enclosure:
    """``log(a)`` as an enclosure of the tier ``A``; unknown where ``a``'s interval reaches 0."""
    shape = _shape(a)
    a = _fields(a, shape)
    with np.errstate(invalid="ignore"):  # unknown elements are not positive
        positive = (a.hi * (1.0 - 2.0**-50) - a.rad > 0) & np.isfinite(a.rad)
    hi = np.where(positive, a.hi, 1.0)
    up = hi < 0.7071067811865476  # hi in [0.5, 1/sqrt 2): m = 2 hi
    m = np.where(up, 2.0 * hi, hi)
    scale = np.where(up, 2.0, 1.0)
    lo = a.lo if type(a.lo) is float else np.where(positive, a.lo, 0.0) * scale
    rad = np.where(positive, a.rad, 0.0) * scale
    e = np.where(positive, np.subtract(a.exp, up, dtype=np.int64), 0)
    # m - 1 exact (Sterbenz); Fast2Sum renormalizes the pair when m - 1 is small or 0 (|m - 1| >= |lo| or m = 1)
    z = en.normalized(Enclosure(*dd.fast_two_sum(m - 1.0, lo), rad, 0)) if not type(lo) is float else \
        en.normalized(Enclosure(m - 1.0, lo, rad, 0))
    z = A._prepare(z)
    lz = log1p(A, z)
    ef = e.astype(np.float64)
    p, err = two_prod(ef, np.full(shape, LN2_HI))
    err += ef * LN2_LO
    eln2 = en.normalized(Enclosure(p, err, np.abs(p) * 2.0**-104, 0))
    eln2 = A._prepare(eln2)
    out = A.add(eln2, lz)
    return _select(positive, out, Enclosure(out.hi, out.lo, np.full(shape, np.inf), out.exp))

