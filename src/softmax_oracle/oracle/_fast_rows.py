"""Fast phase of logsumexp, softmax, log_softmax and their gradients (vectorized, certified).

Each row ``x`` (NumPy, float64, a block of rows at a time) is enclosed with
the arithmetic of :mod:`softmax_oracle.numerics` (double-double for float64
targets, double for the narrower formats), with the same formulas as the MPFR
engine (:mod:`._rows`): with ``m`` the row's maximum, reached ``k`` times,

* ``d_j = x_j - m``, exact (TwoSum; for ``|x_j - m| >= 2**1024`` the halves'
  difference times two), ``e_j = exp(d_j)``;
* ``T = sum_{d_j < 0} e_j``, ``S = k + T``, ``L = log1p(T)`` (``k = 1``) or
  ``log(S)``;
* logsumexp ``m + L``; softmax ``s_j = e_j / S`` (``1 / S`` at a maximum);
  log_softmax ``d_j - L``;
* gradients, with ``g`` the upstream gradient: logsumexp ``g s_j``;
  log_softmax ``g_j - s_j G``, ``G = sum_i g_i``; softmax
  ``s_j (g_j - P)``, ``P = sum_i g_i s_i``.

Every operation carries an absolute radius, so a cancellation (``m + L`` near
0, ``g_j - P``) widens the interval instead of being trusted; an element is
decided only where :func:`~softmax_oracle.numerics.enclosure.round_enclosure`
rounds both ends of its interval to the same value.  Known signs are passed to
it (softmax ``> 0``, log_softmax ``< 0``, ``g s_j`` of ``g``'s sign) so that a
value that underflows still rounds to the right signed zero.

Decided structurally, bit for bit as the MPFR engine (see
:mod:`softmax_oracle.oracle`): NaN rows (NaN everywhere; logsumexp NaN),
``+inf`` rows (logsumexp ``+inf``, the rest NaN), rows with no finite logit
(logsumexp ``-inf``, the rest NaN), a non-finite ``grad_output`` (NaN where it
is used), masked (``-inf``) elements (softmax ``+0``, log_softmax ``-inf``,
gradients ``+0``, log_softmax's gradient ``g_j``), rows with one finite logit
(logsumexp ``m``, log_softmax ``+0`` there), a ``grad_output`` constant
along a row (the softmax gradient is exactly ``+0``), ``g = 0`` (``+0``).
Everything else the enclosure does not decide (ties to a rounding midpoint,
exact rational results such as ``g_j - G/k`` on rows of equal logits) is left
to the MPFR engine.

Rows are processed in blocks of about :data:`BLOCK` elements, so the working
memory is a fixed multiple of the block, not of the array.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from ..formats import Format
from ..numerics.arith import DOUBLE_DOUBLE, Arith, arith_for
from ..numerics import double_double as dd
from ..numerics.eft import two_sum
from ..numerics.enclosure import Enclosure, normalized, round_enclosure
from ..rounding import NAN, Rounded, to_bits
from ._evaluate import ESCALATE_RATIO
from ._fast_lean import U, lean_log, lean_rows
from ._fast_lean import decide as lean_decide

__all__ = ["phase", "RowPhase", "GradientPhase", "structural_enclosure", "BLOCK", "row_quantities", "RowQuantities", "where", "ZERO", "ONE", "special", "signed_zero",
           "loss_phase", "set_decided"]

BLOCK = 1 << 13
"""Elements per block of rows (a row longer than this is one block): the working arrays stay in cache,
and each temporary (64 KB) stays below glibc's mmap threshold, so it is not page-faulted in afresh
(measured on float32 (64, 1000) N(0, 5): 2**13 takes 25% to 35% less time than 2**15 for softmax and
log_softmax, 2**12 and 2**14 more; earlier: 2**15 beat 2**16 to 2**18 by 1.5x to 3x)."""

ZERO = Enclosure(np.float64(0.0), np.float64(0.0), np.float64(0.0), 0)
ONE = Enclosure(np.float64(0.5), np.float64(0.0), np.float64(0.0), 1)


def where(mask: np.ndarray, a: Enclosure, b: Enclosure) -> Enclosure:
    """Elementwise choice between two enclosures (fields broadcast)."""
    return Enclosure(*(np.where(mask, fa, fb) for fa, fb in zip(a, b)))


def special(value: float, fmt: Format) -> np.ndarray:
    """The 0-d ``fmt`` array of NaN (the MPFR engine's canonical quiet NaN) or an infinity (read-only)."""
    return _special(value != value, value < 0, fmt)


@lru_cache(maxsize=64)
def _special(nan: bool, negative: bool, fmt: Format) -> np.ndarray:
    bits = to_bits(NAN, fmt) if nan else to_bits(Rounded(negative, 0, 0, "inf"), fmt)
    return _frozen(np.array(bits, dtype=fmt.uint_dtype).view(fmt.dtype))


@lru_cache(maxsize=64)
def signed_zero(negative: bool, fmt: Format) -> np.ndarray:
    """The 0-d ``fmt`` array of ``-0.0`` or ``+0.0`` (read-only)."""
    return _frozen(np.array(to_bits(Rounded(negative, 0, 0), fmt), dtype=fmt.uint_dtype).view(fmt.dtype))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class RowQuantities(NamedTuple):
    """A block of rows, enclosed once and shared by its elements, loss and gradient.

    ``status`` per row: 0 ok, 1 NaN, 2 ``+inf``, 3 no finite logit.  Boolean
    ``(rows, n)`` masks: ``live`` (finite, in an ok row), ``is_max``,
    ``tail`` (live, below the maximum).  ``single``: rows with exactly one
    finite logit (``L = 0`` exactly).  ``m`` the maxima (``+0`` for ``-0``
    and for rows not ok); ``d`` the differences, ``q`` the softmax (0 off the
    live elements), ``S`` and ``L`` of shape ``(rows, 1)``.
    """

    status: np.ndarray
    live: np.ndarray
    is_max: np.ndarray
    tail: np.ndarray
    single: np.ndarray
    m: np.ndarray
    d: Enclosure
    q: Enclosure
    S: Enclosure
    L: Enclosure


class GradientPhase:
    """The fast phase of a loss's gradient, ``(samples, classes)`` results put back in the input's layout.

    ``phase(fmt, tier=None) -> (values, decided)``; :meth:`enclosed` (where
    the loss gives ``enclosed(fmt) -> (values, decided, Enclosure)``, else
    None) also returns the enclosures of the exact values.
    """

    def __init__(self, prob, gradient: Callable, enclosed: Callable | None = None) -> None:
        self.prob, self.gradient, self._enclosed = prob, gradient, enclosed

    def __call__(self, fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
        v, d = self.gradient(fmt, tier)
        return self.prob.restore(v), self.prob.restore(d)

    def enclosed(self, fmt: Format) -> tuple[np.ndarray, np.ndarray, Enclosure] | None:
        """``(values, decided, enclosure)`` in ``fmt``'s own tier (see :meth:`RowPhase.enclosed`), or None."""
        if self._enclosed is None:
            return None
        v, d, enc = self._enclosed(fmt)
        return self.prob.restore(v), self.prob.restore(d), Enclosure(*(self.prob.restore(f) for f in enc))


def loss_phase(prob, reduction: str, values: Callable, gradient: Callable, *, grad: bool,
               enclosed: Callable | None = None) -> Callable:
    """``fast(fmt) -> (values, decided)`` of a loss call in its output's layout.

    ``values(fmt)`` gives the flat per-sample losses (one element for a
    reduction), ``gradient(fmt)`` the ``(samples, classes)`` gradient that
    ``prob.restore`` puts back in the input's layout; ``grad`` picks which.
    For the gradient, a :class:`GradientPhase` (``enclosed``: the gradient
    with its enclosures, where the loss has them).
    """
    if grad:
        return GradientPhase(prob, gradient, enclosed)

    def fast(fmt: Format, tier: Arith | None = None):
        v, d = values(fmt, tier)
        shape = prob.out_shape if reduction == "none" else ()
        return v.reshape(shape), d.reshape(shape)

    return fast


def _difference(A: Arith, x: np.ndarray, m: np.ndarray) -> Enclosure:
    """``x - m``, exactly, also where the rounded difference overflows (there both are above
    ``2**969`` in magnitude, so their halves are exact and ``2 (x/2 - m/2)`` is)."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing differences are redone below
        d = A.exact_difference(x, m)
    big = ~(np.isfinite(d.hi) & np.isfinite(d.rad))
    if np.any(big):
        half = A.scale(A.exact_difference(x * 0.5, m * 0.5), 1)
        d = where(big, half, d)
    return d


class RowClasses(NamedTuple):
    """The structure of a block of rows (see :class:`RowQuantities` for the fields), and ``xs``:
    the logits with masks and rows not ok replaced by their row's ``m`` (so ``xs - m = 0`` there)."""

    status: np.ndarray
    live: np.ndarray
    is_max: np.ndarray
    tail: np.ndarray
    single: np.ndarray
    k: np.ndarray
    m: np.ndarray
    xs: np.ndarray


def classify(x: np.ndarray) -> RowClasses:
    """Row status, masks, maxima and their count for ``x`` (float64, ``(rows, n)``, ``n >= 1``)."""
    nan = np.isnan(x).any(axis=-1)
    posinf = (x == np.inf).any(axis=-1) & ~nan
    masked = x == -np.inf
    empty = masked.all(axis=-1) & ~nan
    status = np.where(nan, 1, np.where(posinf, 2, np.where(empty, 3, 0)))
    live = ~masked & (status == 0)[:, None]
    m = np.max(np.where(live, x, -np.inf), axis=-1)
    m = np.where(status == 0, m, 0.0) + 0.0  # -0.0 -> +0.0: the MPFR engine's m is the rational 0
    xs = np.where(live, x, m[:, None])  # masks and rows not ok out of the way: d = 0, excluded later
    is_max = live & (xs == m[:, None])
    tail = live & ~is_max
    k = is_max.sum(axis=-1)
    single = (k == 1) & ~tail.any(axis=-1)
    return RowClasses(status, live, is_max, tail, single, k, m, xs)


def row_quantities(A: Arith, c: RowClasses) -> RowQuantities:
    """The shared quantities of the classified rows ``c`` (:func:`classify`)."""
    d = _difference(A, c.xs, c.m[:, None])
    e = where(c.tail, A.exp(d), ZERO)
    t = A.sum(e, axis=-1, keepdims=True)
    s = A.add(A.from_float(c.k[:, None].astype(np.float64)), t)
    ell = where((c.k == 1)[:, None], A.log1p(t), A.log(s))
    ell = where(c.single[:, None], ZERO, ell)
    q = where(c.live, A.div(where(c.is_max, ONE, e), s), ZERO)
    return RowQuantities(c.status, c.live, c.is_max, c.tail, c.single, c.m, d, q, s, ell)


def _rounded(enc: Enclosure, fmt: Format, sign=None) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):  # unknown elements (inf radius) are not decided
        values, decided = round_enclosure(enc, fmt, sign=sign)
    return np.array(values, dtype=fmt.dtype), np.array(decided, dtype=bool)


def structural_enclosure(lean, known: np.ndarray, zero: np.ndarray, nan: np.ndarray) -> Enclosure:
    """The enclosure of every element of a block whose structural answers are exact: NaN on ``nan``,
    else ``0`` on ``zero`` (both ``rad = 0``), else ``lean`` (the fields ``(hi, lo, rad, exp)`` of the
    bound the rounding test was given) on ``known``, else unknown (``rad = inf``); a NaN radius (an
    overflowed bound) is unknown too.  The masks broadcast to the fields' shape."""
    hi, lo, rad, exp = lean
    shape = np.shape(hi)
    nan, zero, known = (np.broadcast_to(m, shape) for m in (nan, zero, known))
    exact = nan | zero
    known = known & ~exact
    with np.errstate(invalid="ignore"):  # NaN bounds: unknown
        rad = np.where(known, np.where(np.isnan(rad), np.inf, rad), np.where(exact, 0.0, np.inf))
    return Enclosure(np.where(known, hi, np.where(nan, np.nan, 0.0)), np.where(known, lo, 0.0), rad,
                     np.where(known, exp, 0))


def set_decided(values: np.ndarray, decided: np.ndarray, mask: np.ndarray, value) -> None:
    """Decide ``mask`` as ``value`` (a scalar or an array of ``values``' shape)."""
    mask = np.broadcast_to(mask, values.shape)
    if mask.any():
        values[mask] = np.broadcast_to(np.asarray(value, dtype=values.dtype), values.shape)[mask]
        decided[mask] = True


def _row_status(values, decided, status, fmt, by_status: dict[int, float]) -> None:
    """Rows not ok get their structural value (NaN, +-inf) in every element."""
    for code, value in by_status.items():
        rows = status == code
        if rows.any():
            set_decided(values, decided, rows[:, None] if values.ndim == 2 else rows, special(value, fmt))


_NAN_ROWS = {1: np.nan, 2: np.nan, 3: np.nan}


# -- structural decisions (shared by both paths): exact answers the MPFR engine gives too ----------------


def _finite_g(g: np.ndarray, reduced: bool) -> tuple[np.ndarray, np.ndarray]:
    """``g`` with non-finite rows zeroed, and which rows had a non-finite entry."""
    bad = ~np.isfinite(g) if reduced else ~np.isfinite(g).all(axis=-1)
    return np.where(bad if reduced else bad[:, None], 0.0, g) + 0.0, bad  # -0.0 -> +0.0 (exact zero)


def _structural(name: str, grad: bool, c: RowClasses, g, values, decided, fmt: Format) -> None:
    if name == "logsumexp" and not grad:
        if c.single.any():  # logsumexp = m exactly
            exact_m, _ = _rounded(Enclosure(c.m, np.zeros_like(c.m), np.zeros_like(c.m), 0), fmt)
            set_decided(values, decided, c.single, exact_m)
        _row_status(values, decided, c.status, fmt, {1: np.nan, 2: np.inf, 3: -np.inf})
        return
    if not grad:
        if name == "softmax":
            set_decided(values, decided, ~c.live, signed_zero(False, fmt))
        else:
            set_decided(values, decided, ~c.live, special(-np.inf, fmt))
            set_decided(values, decided, c.live & c.single[:, None], signed_zero(False, fmt))
        _row_status(values, decided, c.status, fmt, _NAN_ROWS)
        return
    gs, bad = _finite_g(g, name == "logsumexp")
    if name == "logsumexp":
        set_decided(values, decided, ~c.live | (gs[:, None] == 0), signed_zero(False, fmt))
    elif name == "log_softmax":
        exact_g, _ = _rounded(Enclosure(gs, np.zeros_like(gs), np.zeros_like(gs), 0), fmt)
        set_decided(values, decided, ~c.live, exact_g)
    else:
        constant = (gs == gs[:, :1]).all(axis=-1)  # then g_j - P = 0 exactly: every element is +0
        set_decided(values, decided, ~c.live | constant[:, None], signed_zero(False, fmt))
    set_decided(values, decided, ((c.status != 0) | bad)[:, None], special(np.nan, fmt))


# -- the general path: the numerics layer's enclosures -------------------------------------------------


def _generic(name: str, grad: bool, A: Arith, rq: RowQuantities, g, fmt: Format):
    if name == "logsumexp" and not grad:
        values, decided = _rounded(A.add(A.from_float(rq.m[:, None]), rq.L), fmt)
        return values[:, 0], decided[:, 0]
    if not grad:
        if name == "softmax":
            return _rounded(rq.q, fmt, sign=1)
        return _rounded(A.sub(rq.d, rq.L), fmt, sign=-1)
    gs, _ = _finite_g(g, name == "logsumexp")
    if name == "logsumexp":
        gs = np.broadcast_to(gs[:, None], rq.live.shape)
        return _rounded(A.mul_float(rq.q, gs), fmt, sign=np.sign(gs))
    ge = A.from_float(gs)
    if name == "log_softmax":
        big_g = A.sum(ge, axis=-1, keepdims=True)
        return _rounded(A.sub(ge, A.mul(rq.q, big_g)), fmt)
    p = A.sum(A.mul(rq.q, ge), axis=-1, keepdims=True)
    return _rounded(A.mul(rq.q, A.sub(ge, p)), fmt)


# -- the lean path (:mod:`._fast_lean`) for the forward functions and logsumexp's gradient ------------------

_DEAD = -745.14  # exp(d) < 2**-1075 below: a softmax there rounds to +0 in every format


def dead(d: np.ndarray, scale) -> np.ndarray:
    """Where ``|scale| exp(d) < 2**-1075`` for sure, so ``scale s`` (``s <= exp(d)``) rounds to a zero of
    ``scale``'s sign in every format: ``d < -745.14 - 0.6932 e`` with ``|scale| < 2**e`` (``e >= 0``;
    ``1075 ln 2 < 745.134`` and ``0.6932 > ln 2``).  A scale that is not finite (an overflowed
    product of huge weights and gradients) makes no element dead."""
    scale = np.asarray(scale, dtype=np.float64)
    _, e = np.frexp(scale)
    return (d < _DEAD - 0.6932 * np.maximum(e, 0)) & np.isfinite(scale)


def _lean(name: str, grad: bool, A: Arith, c: RowClasses, g, fmt: Format, enclose: bool = False):
    """``(values, decided, enclosure)`` of the lean path; ``enclosure`` (:func:`_flat`) only if ``enclose``."""
    forward_log = name in ("logsumexp", "log_softmax") and not grad  # no softmax needed
    q = lean_rows(A, c, softmax=not forward_log, exact_d=name != "logsumexp" or grad)
    with np.errstate(over="ignore", invalid="ignore"):  # unknown bounds are not decided
        if name == "logsumexp" and not grad:
            L, L_lo, L_err = lean_log(A, c, q)
            vh, vl = two_sum(c.m[:, None], L)  # exact; then one rounding in the low word
            vl, rad = _plus(vl, L_lo, L_err)
            values, decided = lean_decide(vh, vl, rad, fmt)
            return values[:, 0], decided[:, 0], _flat(vh, vl, rad, values.shape[:1], 0) if enclose else None
        if name == "log_softmax":
            L, L_lo, L_err = lean_log(A, c, q)
            # d - L = (dh - L) + dl - L_lo: TwoSum exact, two roundings in the low word only
            vh, v1 = two_sum(q.d, -L)
            vl, rad = _plus(v1, q.d_lo, L_err)
            vl = vl - L_lo
            rad += U * np.abs(vl)
            return (*lean_decide(vh, vl, rad, fmt, sign=-1), _flat(vh, vl, rad, q.d.shape) if enclose else None)
        s_abs = 2.0**-1070
        if name == "softmax":
            vh, vl, rad, sign = q.s, q.s_lo, q.s * q.s_rel + s_abs, 1
        else:  # grad logsumexp: g s
            gs = np.broadcast_to(_finite_g(g, True)[0][:, None], c.live.shape)
            if A.name == "double":
                vh, vl = q.s * gs, 0.0
                rad = np.abs(vh) * (q.s_rel + 2 * U) + np.abs(gs) * s_abs
            else:
                vh, vl = dd.mul_float((q.s, q.s_lo), gs)
                rad = np.abs(vh) * (q.s_rel + 16 * U * U) + np.abs(gs) * s_abs
            sign = np.sign(gs)
        values, decided = lean_decide(vh, vl, rad, fmt, sign=sign)
        # below 2**-1000 the double-double words underflow (the bound's absolute floor covers that, too
        # widely to decide): those elements, and the double tier's undecided ones, are enclosed again
        tiny = c.tail & (q.s < 2.0**-1000) & ~(decided & (A.name == "double"))
        enclosure = _flat(vh, vl, rad, values.shape) if enclose else None
        if tiny.any():
            scale = None if name == "softmax" else (gs, np.zeros_like(gs), np.zeros_like(gs))
            v = refine_enclosure(A, c, q, tiny, scale)
            values[tiny], decided[tiny] = _rounded(v, fmt, sign=np.broadcast_to(np.asarray(sign), tiny.shape)[tiny])
            for field, value in zip(enclosure or (), v):  # the scaled enclosure keeps its relative accuracy
                field[tiny] = value
        dead_ = c.tail & dead(q.d, 1.0 if name == "softmax" else gs)
        if dead_.any():
            set_decided(values, decided, dead_ & (np.asarray(sign) > 0), signed_zero(False, fmt))
            set_decided(values, decided, dead_ & (np.asarray(sign) < 0), signed_zero(True, fmt))  # g s, g < 0
    return values, decided, enclosure


def _flat(vh, vl, rad, shape: tuple[int, ...], column: int | None = None) -> tuple[np.ndarray, ...]:
    """The lean enclosure ``|x - (vh + vl)| <= rad`` as the fields of an :class:`Enclosure` (float64
    arrays of ``shape``, ``exp = 0``; ``column``: the column of logsumexp's ``(rows, 1)`` arrays)."""
    fields = (np.broadcast_to(np.asarray(f, dtype=np.float64), np.shape(vh)) for f in (vh, vl, rad))
    hi, lo, rad = (np.array(f[:, column] if column is not None else f).reshape(shape) for f in fields)
    return hi, lo, rad, np.zeros(shape, dtype=np.int64)


def refine_enclosure(A: Arith, c: RowClasses, q, mask: np.ndarray, scale=None) -> Enclosure:
    """``scale * exp(x - m) / S`` again at the elements ``mask`` (non-maxima of ordinary rows), with the
    numerics layer's scaled enclosures: values far below ``2**-1000`` (subnormal results) keep their
    relative accuracy there.  ``S`` is the lean bound of the row; ``scale`` (a double-word per element
    with a relative bound: ``(hi, lo, rel)``) multiplies when given.  Returns the enclosures of the
    selected elements (flat, C order), for :func:`_rounded` with their signs."""
    rows, cols = np.nonzero(mask)
    d = _difference(A, c.xs[rows, cols], c.m[rows])
    s_lo = np.zeros(rows.size) + (0.0 if A.name == "double" else np.broadcast_to(q.S_lo, q.S.shape)[rows, 0])
    s_rad = q.S_err[rows, 0] + (np.abs(s_lo) if A.name == "double" else 0.0)
    s_enc = normalized(Enclosure(q.S[rows, 0], 0.0 if A.name == "double" else s_lo, s_rad, 0))  # 0.0: no low word
    with np.errstate(all="ignore"):  # unknown elements are not decided
        v = A.div(A.exp(d), s_enc)
        if scale is not None:
            hi, lo, rel = (np.broadcast_to(f, mask.shape)[rows, cols] for f in scale)
            rad = np.abs(hi) * rel + (np.abs(lo) if A.name == "double" else 0.0)
            v = A.mul(v, normalized(Enclosure(hi, 0.0 if A.name == "double" else lo, rad, 0)))
    return Enclosure(*(np.broadcast_to(f, rows.shape) for f in v))


def _plus(a: np.ndarray, b, rad):
    """``fl(a + b)`` and ``rad`` increased by its rounding error (at most ``u |a + b|``)."""
    s = a + b
    return s, rad + U * np.abs(s)


_LEAN = {("logsumexp", False), ("softmax", False), ("log_softmax", False), ("logsumexp", True)}


def _block(name: str, grad: bool, A: Arith, x: np.ndarray, g, fmt: Format, generic: bool = True,
           enclose: bool = False):
    """``(values, decided, enclosure)`` of one block of rows: the lean path, then (if ``generic``) the
    general path on the rows it left undecided, then the structural answers.  ``enclosure`` is None
    unless ``enclose`` (see :meth:`RowPhase.enclosed`)."""
    if x.shape[1] == 0:  # only logsumexp has elements here: -inf per row
        values = np.full(x.shape[0], special(-np.inf, fmt))
        exact = np.full(x.shape[0], -np.inf), np.zeros(x.shape[0]), np.zeros(x.shape[0]), np.zeros(x.shape[0], np.int64)
        return values, np.ones(x.shape[0], dtype=bool), exact if enclose else None
    c = classify(x)
    if (name, grad) not in _LEAN:
        values, decided = _generic(name, grad, A, row_quantities(A, c), g, fmt)
        _structural(name, grad, c, g, values, decided, fmt)
        return values, decided, None
    values, decided, lean = _lean(name, grad, A, c, g, fmt, enclose)
    _structural(name, grad, c, g, values, decided, fmt)
    enclosure = _structural_enclosure(name, grad, c, values, lean) if enclose else None
    redo = ~(decided if decided.ndim == 1 else decided.all(axis=-1))
    if generic and redo.any():
        sub = classify(x[redo])
        g_sub = None if g is None else g[redo]
        v2, d2 = _generic(name, grad, A, row_quantities(A, sub), g_sub, fmt)
        _structural(name, grad, sub, g_sub, v2, d2, fmt)
        old_v, old_d = values[redo], decided[redo]
        values[redo] = np.where(old_d, old_v, v2)
        decided[redo] = old_d | d2
    return values, decided, enclosure


def _structural_enclosure(name: str, grad: bool, c: RowClasses, values: np.ndarray, lean) -> tuple[np.ndarray, ...]:
    """The lean enclosure, with the exact values of the structural answers of a forward function where
    it holds nothing (NaN, infinities, zeros, logsumexp's ``m``); elsewhere its radius is made infinite
    (unknown: logsumexp's gradient, whose structural answers are not all exact)."""
    hi, lo, rad, exp = lean
    if grad:
        return hi, lo, np.full_like(rad, np.inf), exp
    if name == "logsumexp":
        exact = c.single | (c.status != 0)
        hi = np.where(c.single, c.m, np.where(exact, values.astype(np.float64), hi))
    else:
        exact = ~c.live if name == "softmax" else ~c.live | (c.live & c.single[:, None])
        with np.errstate(invalid="ignore"):  # bfloat16 NaN payloads warn when widened
            hi = np.where(exact, values.astype(np.float64), hi)
    # a NaN radius (an overflowed bound) states nothing: unknown
    rad = np.where(exact, 0.0, np.where(np.isnan(rad), np.inf, rad))
    return hi, np.where(exact, 0.0, lo), rad, np.where(exact, 0, exp)


class RowPhase:
    """The fast phase of a row function on the rows of a :class:`._calls.RowLayout`.

    ``phase(fmt, tier=None) -> (values, decided)`` in the output's layout
    (:data:`._evaluate.FastPhase`); :meth:`enclosed` also returns the
    enclosures the rounding test was given.
    """

    def __init__(self, name: str, layout, g: np.ndarray | None, grad: bool) -> None:
        self.name, self.layout, self.g, self.grad = name, layout, g, grad

    def __call__(self, fmt: Format, tier: Arith | None = None) -> tuple[np.ndarray, np.ndarray]:
        values, decided, _ = self._run(fmt, tier, False)
        return values, decided

    def enclosed(self, fmt: Format) -> tuple[np.ndarray, np.ndarray, Enclosure]:
        """``(values, decided, enclosure)``: every true value ``x`` in its :class:`Enclosure`
        ``|x - 2**exp (hi + lo)| <= 2**exp rad``.

        The lean path's enclosure in ``fmt``'s tier (double-double for
        float64: ``rad`` about ``2**-100 |x|``; double for the narrower
        formats: about ``2**-45 |x|``) for logsumexp, softmax and log_softmax,
        held whether or not the element was decided; the structural answers
        (NaN, infinities, zeros, a single logit's ``m``) exactly (``rad = 0``).
        A softmax far below ``2**-1000`` has the scaled enclosure of
        :func:`refine_enclosure` (``exp < 0``: its relative accuracy kept) where the
        tier refines it (double-double; the double tier's undecided ones);
        elsewhere the lean bound's absolute floor ``2**-1070``.  ``rad`` is
        ``inf`` where nothing is stated: a gradient, a bound that overflowed.
        The fields are arrays in the output's layout (``exp`` int64).
        """
        values, decided, enclosure = self._run(fmt, None, True)
        return values, decided, Enclosure(*enclosure)

    def _run(self, fmt: Format, tier: Arith | None, enclose: bool):
        name, layout, g, grad = self.name, self.layout, self.g, self.grad
        reduced = name == "logsumexp" and not grad
        A = tier or arith_for(fmt)
        n_rows, n = layout.n_rows, layout.n
        # a small call's double tier leaves its undecided rows to the double-double tier (round_terms
        # escalates whenever size <= ESCALATE_RATIO): the general path (~1 ms a block) would not help
        generic = not (A is not DOUBLE_DOUBLE and n_rows * n <= ESCALATE_RATIO)
        shape = (n_rows,) if reduced else (n_rows, n)
        values = np.empty(shape, dtype=fmt.dtype)
        decided = np.empty(shape, dtype=bool)
        fields = [*(np.full(shape, np.inf) for _ in range(3)), np.zeros(shape, np.int64)] if enclose else None
        step = max(1, BLOCK // max(n, 1))
        for r0 in range(0, n_rows, step):
            rows = slice(r0, r0 + step)
            values[rows], decided[rows], enc = _block(name, grad, A, layout.flat[rows], None if g is None else g[rows],
                                                      fmt, generic, enclose)
            if fields is not None and enc is not None:
                for f, e in zip(fields, enc):
                    f[rows] = e
        put = layout.reduced if reduced else layout.restore
        enclosure = None if fields is None else tuple(put(f) for f in fields)
        return put(values), put(decided), enclosure


def phase(name: str, layout, g: np.ndarray | None, *, grad: bool) -> RowPhase:
    """The fast phase of ``name`` (or its gradient) on the rows of ``layout`` (:class:`._calls.RowLayout`).

    ``g`` is the upstream gradient per row (``(rows,)`` for logsumexp,
    ``(rows, n)`` otherwise).  Returns a :class:`RowPhase`:
    ``fast(fmt) -> (values, decided)`` in the output's layout.
    """
    return RowPhase(name, layout, g, grad)
