"""The lean fast phase of a block of rows: float arrays with error bounds, no enclosure objects.

:mod:`._fast_rows` composes the numerics layer's enclosures, which carry a
scaled exponent, a low word and a radius through every operation.  For the
common case this module computes the same quantities with a few NumPy passes
each, as plain float64 arrays (double tier, for float32, float16 and
bfloat16 targets) or double-words (double-double tier, float64 targets), and
*one* error bound per element at the end.  Notation: ``u = 2**-53``;
``gamma_K = K u / (1 - K u)``; ``GROW = 1 + 2**-20`` multiplies a bound
that was derived to first order (every relative term below is under
``2**-30``, so the neglected second-order terms are below ``2**-29`` of it)
and covers the rounding of the bound's own arithmetic (non-negative terms,
a few operations: at most ``8u`` relative).

Double tier (row ``x``, maximum ``m`` reached ``k`` times):

1. ``d = fl(x - m)`` and its error ``d_lo`` (TwoSum): ``x - m = d + d_lo``
   exactly, ``|d_lo| <= u |d|``.
2. ``e = 2**k M`` from :func:`~softmax_oracle.numerics.exp_kernel.exp_parts_double`
   on ``max(d, -X_MAX)`` (``|M / exp(d) - 1| <= EXP_REL_DOUBLE = 2**-51``), then
   ``ldexp``, exact unless it underflows (absolute ``2**-1075``); below
   ``-X_MAX`` the true value is under ``2**-144000`` and ``e = 0``.  With step 1,
   ``|e - exp(x - m)| <= rho e + 2**-1074`` with
   ``rho = 2**-51 + 2**-52 |d|`` (``exp(u|d|) - 1 <= 1.0001 u |d|`` as
   ``u |d| <= 2**-36``; the second factor ``1 + 2**-51`` is covered by ``2**-52``).
3. ``T = sum e`` over the row's non-maxima by the fixed pairwise tree of
   :func:`tree_sum`, in which each term meets at most ``K = 2 ceil(log2 n)``
   additions: ``|fl(T) - sum e| <= gamma_K sum e`` (Higham, *Accuracy and
   Stability*, 2nd ed., (4.6)).  So
   ``|T_true - T| <= GROW (gamma_K T + 2**-51 T + 2**-52 W) + n 2**-1074``,
   ``W = fl(sum e |d|)`` by the same tree (its error is inside ``GROW``).
4. ``S = fl(k + T)``: ``|S_true - S| <= T_err + u S``; ``sigma = S_err / S``.
5. softmax ``s = fl(e / S)`` (``fl(1 / S)`` at a maximum):
   ``|s_true - s| <= GROW (rho + sigma + u) s + 2**-1074``.
6. ``L = log1p(T)`` (``k = 1``) or ``log(S)``: one per row, with MPFR per row
   (:func:`few_logs`, blocks of at most :data:`FEW_ROWS` rows) or the numerics
   layer's enclosures (a fixed ~1 ms per call); ``L_err`` its radius.
7. log_softmax ``(d + d_lo) - L``: TwoSums, so only the low word is rounded
   (``u`` of it, twice) besides ``L_err``.

The double-double tier replaces ``d`` by TwoSum's exact pair, the kernel by
:func:`~softmax_oracle.numerics.exp_kernel.exp_parts_dd` (``2**-101``), the
sums by double-word additions (``4 u**2`` each, relative to the partial sum),
and the softmax by ``e * (1 / S)`` with ``1 / S`` once per row (a quotient,
``ERR_DIV = 32 u**2``) and one product per element (``ERR_MUL = 8 u**2``):
the numerics layer's constants for its double-word operations.

The rounding test (:func:`decide`) rounds ``v - r`` and ``v + r`` (computed
with ``2u |v|`` more, which covers their own rounding) once to the target
format and compares the bits; a known sign clamps the end that crosses zero
to the signed zero.  Rows that are not ordinary (NaN, ``+inf``, no finite
logit) are left to :mod:`._fast_rows`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import gmpy2
import numpy as np

from ..formats import Format
from ..numerics import double_double as dd
from ..numerics.arith import DOUBLE_DOUBLE as _DD
from ..numerics.arith import Arith
from ..numerics.cast import round_to_format
from ..numerics.eft import two_sum, two_sum_error
from ..numerics.enclosure import Enclosure, normalized
from ..numerics.exp_kernel import EXP_REL_DD, EXP_REL_DOUBLE, X_MAX, exp_parts_dd, exp_parts_double

__all__ = ["LeanRows", "lean_rows", "lean_log", "few_logs", "FEW_ROWS", "decide", "tree_sum", "GROW", "U"]

U = 2.0**-53
GROW = 1.0 + 2.0**-20
ETA = 2.0**-1074  # one underflowed exponential (absolute)
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _gamma(k: int) -> float:
    return 1.01 * k * U


def _depth(n: int) -> int:
    """Additions a term meets in :func:`tree_sum` of ``n`` terms (an upper bound)."""
    return 2 * max(1, math.ceil(math.log2(max(n, 2))))


def tree_sum(v: np.ndarray) -> np.ndarray:
    """Row sums of ``v`` (``(rows, n)``) by a fixed pairwise tree (see the module docstring, step 3)."""
    while v.shape[1] > 1:
        h = v.shape[1] // 2
        s = v[:, :h] + v[:, h:2 * h]
        if v.shape[1] % 2:
            s[:, 0] += v[:, -1]
        v = s
    return v[:, 0]


def _dd_tree_sum(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums of double-words by the same tree, each addition ``dd.add`` (error <= 4u^2 |sum|)."""
    while hi.shape[1] > 1:
        h = hi.shape[1] // 2
        s = dd.add((hi[:, :h], lo[:, :h]), (hi[:, h:2 * h], lo[:, h:2 * h]))
        if hi.shape[1] % 2:
            t = dd.add((s[0][:, :1], s[1][:, :1]), (hi[:, -1:], lo[:, -1:]))
            s = (np.concatenate([t[0], s[0][:, 1:]], axis=1), np.concatenate([t[1], s[1][:, 1:]], axis=1))
        hi, lo = s
    return hi[:, 0], lo[:, 0]


class LeanRows(NamedTuple):
    """Centres and bounds of one block of ordinary rows (float64; ``*_lo`` zero in the double tier).

    ``d`` the differences (``d_err`` absolute); ``e`` the exponentials (0
    off the non-maxima) with relative bound ``rho``; ``s`` the softmax (0 off
    the live elements) with relative bound ``s_rel`` and absolute ``ETA``;
    per row ``(rows, 1)``: ``T`` and ``S`` with absolute bounds (``L``:
    :func:`lean_log`, computed only where needed).  ``s``, ``s_rel`` and ``d_lo`` are None where
    :func:`lean_rows` was asked not to compute them.
    """

    d: np.ndarray
    d_lo: np.ndarray | float | None
    d_err: np.ndarray | float
    s: np.ndarray | None
    s_lo: np.ndarray | float
    s_rel: np.ndarray | None
    T: np.ndarray
    T_err: np.ndarray
    S: np.ndarray
    S_lo: np.ndarray | float
    S_err: np.ndarray
    T_lo: np.ndarray | float = 0.0


def lean_log(A: Arith, c, q: LeanRows) -> tuple[np.ndarray, np.ndarray | float, np.ndarray]:
    """``L`` per row (``(rows, 1)`` centre, low word, absolute bound) from the numerics layer's
    ``log1p(T)`` (rows with one maximum) or ``log(S)``; exactly 0 on rows with one finite logit.

    Blocks of at most :data:`FEW_ROWS` rows take :func:`few_logs` instead (MPFR per row: the
    vectorized kernels cost about 1 ms per call whatever the number of rows)."""
    if q.T.shape[0] <= FEW_ROWS:
        L, L_lo, L_err = few_logs(c.k, q.T, 0.0 if A.name == "double" else q.T_lo, q.T_err, c.status == 0)
        single = c.single[:, None]
        return np.where(single, 0.0, L), np.where(single, 0.0, L_lo), np.where(single, 0.0, L_err)
    one = (c.k == 1)[:, None]
    t_lo = np.zeros_like(q.T) + (0.0 if A.name == "double" else q.T_lo)
    s_lo = np.zeros_like(q.S) + (0.0 if A.name == "double" else q.S_lo)
    with np.errstate(all="ignore"):  # rows not ok are overridden by the caller
        fields = [np.zeros_like(q.T), np.zeros_like(q.T), np.zeros_like(q.T), np.zeros(q.T.shape, np.int64)]
        for rows, f, a, lo, rad in ((one, A.log1p, q.T, t_lo, q.T_err), (~one, A.log, q.S, s_lo, q.S_err)):
            if rows.any():
                r = rows[:, 0]
                low = 0.0 if A.name == "double" else lo[r]  # the double tier's absent low word is the float 0.0
                enc = f(normalized(Enclosure(a[r], low, rad[r], 0)))
                for field, value in zip(fields, enc):
                    field[r] = value
        hi, lo, rad, ex = fields
        L = np.ldexp(hi, ex)
        L_lo = np.ldexp(lo, ex)
        L_err = (np.ldexp(rad, ex) + 4 * U * U * np.abs(L)) * GROW + 2.0**-1070
    single = c.single[:, None]
    return np.where(single, 0.0, L), np.where(single, 0.0, L_lo), np.where(single, 0.0, L_err)


FEW_ROWS = 128
"""Blocks with at most this many rows compute ``L`` with :func:`few_logs` (about 3 us a row, against a
fixed 1 ms for the vectorized, Newton-corrected ``log1p`` of the numerics layer)."""

_MPFR = gmpy2.context(precision=128)  # round to nearest; used only through its methods (no global state)


FEW_SUM_ROWS = 8
"""Double-double blocks of at most this many rows (of two or more logits) take :func:`few_sums` for their
row sums and reciprocals (about 5 us a row, against about 75 us for the vectorized double-double tree
sum and division whatever the number of rows)."""

_MPFR_SUM = gmpy2.context(precision=160)  # round to nearest; used only through its methods (no global state)


def few_sums(eh: np.ndarray, el: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """``T = sum_j (eh_j + el_j)``, ``S = k + T`` and ``1 / S`` per row, as double-words ``(rows, 1)``:
    ``(Th, Tl, Sh, Sl, ih, il)``; None where some row's sum is neither 0 nor at least ``2**-900`` (or
    not finite): the vectorized path takes the block.

    MPFR (gmpy2) at 160 bits, round to nearest, one row at a time: the sum of the exactly converted
    words is correctly rounded (``mpfr_sum``: relative ``2**-160``), so is ``k + T'`` and ``1 / S'``;
    each 160-bit value ``v`` becomes ``h = float(v)`` and ``l = float(v - h)`` (the difference exact
    at 160 bits), ``|h + l - v| <= 2**-106 |v|`` (no underflow: ``v >= 2**-900``).  So
    ``|T - Th - Tl| <= 2**-105 |T|``, within the ``4 u**2 |Th|`` per level of the tree sum it
    replaces (``n >= 2`` is one level at least); ``|S - Sh - Sl|`` is within that plus ``2**-105 S``,
    within ``dd.add_float``'s ``4 u**2 |Sh|``; and ``ih + il`` is within ``2**-159 + 2**-105 + 2**-105``
    relative of ``1 / (Sh + Sl)``, within ``dd.div``'s ``32 u**2`` (``ERR_DIV``).
    """
    ctx = _MPFR_SUM
    rows = eh.shape[0]
    out = np.zeros((6, rows, 1))
    for i, (h_words, l_words, kk) in enumerate(zip(eh.tolist(), el.tolist(), k[:, 0].tolist())):
        t = ctx.fsum(h_words + l_words)
        if t != 0 and not abs(t) >= 2.0**-900:  # NaN too
            return None
        s = ctx.add(t, kk)
        # S >= 1 on ordinary rows; rows not ok (k = 0) have S = 0 and 1/S = inf, overridden later
        for j, v in enumerate((t, s, ctx.div(1, s) if s > 0 else None)):
            if v is None:
                out[4, i, 0] = np.inf
                continue
            out[2 * j, i, 0] = h = float(v)
            out[2 * j + 1, i, 0] = float(ctx.sub(v, h))
    return tuple(out)


def few_logs(k: np.ndarray, T: np.ndarray, T_lo, T_err: np.ndarray, ok: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``L = log(k + T)`` per row (``log1p(T)`` where ``k = 1``) as ``(L, L_lo, L_err)``, ``(rows, 1)``,
    with ``T + T_lo`` the centre of the row sum (``T_lo`` 0 in the double tier) and ``T_err`` its
    absolute bound; rows not ``ok`` get ``(0, 0, inf)``.

    MPFR (gmpy2) at 128 bits, round to nearest, one row at a time: ``z = T + T_lo`` (exact
    conversions; the sum rounded, relative ``2**-128``), ``log1p(z)`` or ``log(k + z)`` (``k + z``
    rounded, relative ``2**-128``; ``k >= 2`` so ``log(k + z) >= log 2`` absorbs it), rounded with
    relative error ``2**-128``; so the 128-bit value ``L'`` satisfies
    ``|L' - log(k + T + T_lo)| <= 2**-126 |L'|`` (``|d log1p(z)| <= |dz| / (1 + z) <= |dz| L / z``
    for ``z >= 0`` since ``log1p(z) >= z / (1 + z)``).  ``L = float(L')`` and
    ``L_lo = float(L' - L)`` (the difference exact at 128 bits): ``|L + L_lo - L'| <= 2**-105 |L'|
    + 2**-1074``.  The true sum lies within ``T_err`` of ``z``, and ``log(k + t)`` has slope at
    most ``1 / (k + max(0, z - T_err))`` between them (``t >= 0``).  Total, with ``GROW`` covering
    the rounding of the bound's own few operations:
    ``L_err = GROW (T_err / (k + max(0, T - T_err)) + 2**-104 |L|) + 2**-1070``.
    """
    rows = T.shape[0]
    L = np.zeros((rows, 1))
    L_lo = np.zeros((rows, 1))
    lo = np.broadcast_to(np.asarray(T_lo, dtype=np.float64), T.shape)
    ctx = _MPFR
    for i in np.flatnonzero(ok).tolist():
        z = ctx.add(gmpy2.mpfr(float(T[i, 0]), 53), gmpy2.mpfr(float(lo[i, 0]), 53))
        kk = int(k[i])
        v = ctx.log1p(z) if kk == 1 else ctx.log(ctx.add(z, kk))
        L[i, 0] = h = float(v)
        L_lo[i, 0] = float(ctx.sub(v, h))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # rows not ok (k = 0): overridden below
        kf = k[:, None].astype(np.float64)
        L_err = (T_err / (kf + np.maximum(T - T_err, 0.0)) + 2.0**-104 * np.abs(L)) * GROW + 2.0**-1070
    bad = ~ok[:, None]
    return L, L_lo, np.where(bad, np.inf, L_err)


def lean_rows(A: Arith, c, *, softmax: bool = True, exact_d: bool = True) -> LeanRows:
    """The quantities of the module docstring for the classified rows ``c`` (:func:`._fast_rows.classify`).

    In the double tier, ``softmax=False`` skips step 5 (``s`` and ``s_rel`` are then None) and
    ``exact_d=False`` skips TwoSum's error word of step 1 (``d_lo`` is then None; step 2's bound
    ``rho`` does not use it), for callers that need neither (logsumexp, the loss's ``L``).  The
    double-double tier always computes both (its exponential takes ``d_lo``)."""
    n = c.xs.shape[1]
    m = c.m[:, None]
    k = c.k[:, None].astype(np.float64)
    with np.errstate(under="ignore", over="ignore", invalid="ignore", divide="ignore"):  # underflow: ETA; rows not ok: S = 0, overridden
        if A.name == "double":
            return _lean_double(A, c, n, m, k, softmax, exact_d)
        return _lean_dd(A, c, n, m, k)


def _lean_double(A, c, n, m, k, softmax: bool = True, exact_d: bool = True) -> LeanRows:
    d = np.subtract(c.xs, m)
    d_lo = two_sum_error(c.xs, -m, d) if exact_d else None  # d + d_lo = x - m exactly (|d_lo| <= u|d|)
    ad = np.abs(d)
    me, ke, _, _ = exp_parts_double(np.maximum(d, -X_MAX))
    e = np.where(c.tail, np.ldexp(me, ke), 0.0)
    T = tree_sum(e)[:, None]
    W = tree_sum(e * ad)[:, None]
    T_err = GROW * (_gamma(_depth(n)) * T + EXP_REL_DOUBLE * T + 2.0**-52 * W) + n * ETA
    S = k + T
    S_err = (T_err + U * S) * GROW
    if not softmax:
        return LeanRows(d, d_lo, 0.0, None, 0.0, None, T, T_err, S, 0.0, S_err)
    num = np.where(c.is_max, 1.0, e)
    s = np.where(c.live, num / S, 0.0)
    rho = np.where(c.tail, EXP_REL_DOUBLE + 2.0**-52 * ad, 0.0)
    s_rel = (rho + (S_err / S + U)) * GROW
    return LeanRows(d, d_lo, 0.0, s, 0.0, s_rel, T, T_err, S, 0.0, S_err)


def _lean_dd(A, c, n, m, k) -> LeanRows:
    dh, dl = two_sum(c.xs, -np.broadcast_to(m, c.xs.shape))  # exact: c.xs - m has no overflow here
    (eh, el), ke, _, _ = exp_parts_dd(np.maximum(dh, -X_MAX), np.where(dh < -X_MAX, 0.0, dl))
    eh = np.where(c.tail, np.ldexp(eh, ke), 0.0)
    el = np.where(c.tail, np.ldexp(el, ke), 0.0)
    few = few_sums(eh, el, k) if eh.shape[0] <= FEW_SUM_ROWS and n > 1 else None
    if few is None:
        Th, Tl = _dd_tree_sum(eh, el)
        Th, Tl = Th[:, None], Tl[:, None]
        Sh, Sl = dd.add_float((Th, Tl), np.broadcast_to(k, Th.shape))
        inv = dd.div((np.ones_like(Sh), np.zeros_like(Sh)), (Sh, Sl))  # 1/S once per row, then products
    else:  # within the same bounds (see few_sums)
        Th, Tl, Sh, Sl, *inv = few
    levels = _depth(n)
    T_err = GROW * (levels * 4 * U * U * np.abs(Th) + EXP_REL_DD * np.abs(Th)) + n * ETA
    S_err = (T_err + 4 * U * U * Sh) * GROW
    qh, ql = dd.mul((eh, el), (np.broadcast_to(inv[0], eh.shape), np.broadcast_to(inv[1], eh.shape)))
    s = np.where(c.is_max, inv[0], np.where(c.live, qh, 0.0))
    s_lo = np.where(c.is_max, inv[1], np.where(c.live, ql, 0.0))
    rho = np.where(c.tail, EXP_REL_DD + _DD.ERR_MUL, 0.0)
    s_rel = (rho + (S_err / Sh + _DD.ERR_DIV)) * GROW
    return LeanRows(dh, dl, 0.0, s, s_lo, s_rel, Th, T_err, Sh, Sl, S_err, Tl)


def decide(v: np.ndarray, v_lo, rad: np.ndarray, fmt: Format, sign: int | np.ndarray = 0
           ) -> tuple[np.ndarray, np.ndarray]:
    """Round ``[v + v_lo - rad, v + v_lo + rad]`` once to ``fmt``; decided where both ends agree.

    ``sign`` (+1 / -1, or 0) is a known sign of the true value.  Narrower
    formats: the ends ``v -+ r``, ``r = rad + |v_lo| + 2u|v| + 2**-1070``
    (which covers their own rounding) are rounded once to ``fmt`` and their
    bits compared; a known sign clamps the end that crosses zero to the
    signed zero.  The elements this leaves undecided (``r`` is wider than the
    interval) are tested again exactly, with the double-word ends, by
    :func:`~softmax_oracle.numerics.enclosure.round_enclosure`: a value a
    tiny ``L`` away from a midpoint ``d`` (log_softmax) is decided there.
    float64 (``v + v_lo`` a double-word, ``v`` its rounding): decided where
    ``r' = |v_lo| + rad`` is below half the smaller of the two gaps around
    ``v`` (half its spacing, a quarter at a power of two), so the interval
    lies strictly inside ``v``'s rounding interval, or, for ``v = 0``, where
    the sign is known and ``r' < 2**-1076``.
    """
    if fmt.name == "float64":
        return _decide_float64(v, v_lo, rad, sign)
    with np.errstate(over="ignore", invalid="ignore"):  # an end beyond the range rounds to inf: a bound
        r = rad + np.abs(v_lo)
        r += 2 * U * np.abs(v)
        r += 2.0**-1070
        lo = v - r
        hi = v + r
        sg = np.broadcast_to(np.asarray(sign), np.shape(v))
        if np.ndim(sign) == 0:  # one known sign for all: clamp one end (NaN ends become the zero, as below)
            if sign > 0:
                lo = np.where(lo > 0, lo, 0.0)
            elif sign < 0:
                hi = np.where(hi < 0, hi, -0.0)
        elif np.any(sign):
            lo = np.where((sg > 0) & ~(lo > 0), 0.0, lo)
            hi = np.where((sg < 0) & ~(hi < 0), -0.0, hi)
        a = round_to_format(lo, fmt)
        b = round_to_format(hi, fmt)
    uint = _UINT[np.dtype(fmt.dtype).itemsize]
    # r < inf: rad, v_lo and v finite (not NaN) and their bound representable; an overflowing r
    # would leave the ends -inf and +inf, never decided anyway
    ok = (a.view(uint) == b.view(uint)) & (r < np.inf)
    if ok.all():
        return a, ok
    again = ~ok & np.isfinite(rad) & np.isfinite(v) & (rad < 2.0**-30 * np.abs(v))
    if again.any():
        a = np.array(a, copy=True)
        ok = np.array(ok, copy=True)
        a[again], ok[again] = _decide_pairs(*(np.broadcast_to(f, np.shape(v))[again] for f in (v, v_lo, rad, sg)), fmt)
    return a, ok


def _decide_pairs(v, v_lo, rad, sign, fmt: Format) -> tuple[np.ndarray, np.ndarray]:
    """The exact test: each end ``v + (v_lo -+ rad)`` as a double-word (the low word rounded outward),
    rounded to float64 *to odd* and then to ``fmt``: one correct rounding (Boldo & Melquiond)."""
    with np.errstate(over="ignore", invalid="ignore"):  # an end beyond the range rounds to inf: a bound
        r = rad + 2.0**-1070
        ends = []
        for low, direction in ((np.nextafter(v_lo - r, -np.inf), -1), (np.nextafter(v_lo + r, np.inf), 1)):
            e = round_to_format(dd.round_to_odd(two_sum(v, low)), fmt)
            if direction < 0:
                e = np.where((sign > 0) & ~(e > 0), np.asarray(0.0, dtype=fmt.dtype), e)
            else:
                e = np.where((sign < 0) & ~(e < 0), np.asarray(-0.0, dtype=fmt.dtype), e)
            ends.append(np.asarray(e, dtype=fmt.dtype))
    uint = _UINT[np.dtype(fmt.dtype).itemsize]
    return ends[0], (ends[0].view(uint) == ends[1].view(uint)) & ~np.isnan(ends[0].astype(np.float64))


def _decide_float64(v, v_lo, rad, sign) -> tuple[np.ndarray, np.ndarray]:
    """See :func:`decide`: with ``a = |v|`` and ``delta = v_lo`` towards larger magnitudes, decided
    where ``rad`` is below both ``h_out - delta`` and ``h_in + delta`` (``h`` half the gap on each side;
    the inner gap is half as wide at a power of two).  Those margins are computed with one rounding
    each (exact by Sterbenz when ``delta`` is near ``h``), then shrunk by ``2**-51``."""
    with np.errstate(over="ignore", invalid="ignore"):  # unknown radii (inf, NaN) are not decided
        v, v_lo = two_sum(v, v_lo)  # exact: now v = RN(v + v_lo), |v_lo| <= half an ulp of v
        a = np.abs(v)
        h_out = 0.5 * np.spacing(a)
        h_in = np.where(np.abs(np.frexp(v)[0]) == 0.5, 0.5 * h_out, h_out)
        delta = np.where(v < 0, -v_lo, v_lo)
        shrink = 1.0 - 2.0**-51
        ok = (rad < (h_out - delta) * shrink) & (rad < (h_in + delta) * shrink) & np.isfinite(v)
        zero = v == 0
        if zero.any():
            sg = np.broadcast_to(np.asarray(sign), np.shape(v))
            r = (rad + np.abs(v_lo)) * (1.0 + 2.0**-50)
            ok = np.where(zero, (r < 2.0**-1076) & (sg != 0), ok)
            v = np.where(zero & (sg < 0), -0.0, np.where(zero, 0.0, v))
    return np.asarray(v, dtype=np.float64), ok
