"""An independent reference: every oracle function written naively in python-flint's ``arb``.

Nothing here is shared with the oracle: the formulas are the textbook ones
(``log(sum(exp(x)))``, ``exp(x_i) / sum``), evaluated in Arb's ball
arithmetic, and rounding to a format is done by MPFR through gmpy2's IEEE
contexts (not by :mod:`softmax_oracle.rounding`).  Only the max shift is
kept, because Arb refuses ``exp(1e300)``; the shift is exact mathematics, and
Arb's subtraction is itself enclosed.
"""

from __future__ import annotations

import math

import gmpy2
import numpy as np
from flint import arb, ctx

MAX_PREC = 1 << 13


class Undecidable(Exception):
    pass


def _a(v: float) -> arb:
    return arb(float(v))


def _rows(x: np.ndarray, axis: int):
    moved = np.moveaxis(x.astype(np.float64), axis, -1)
    return moved.reshape(-1, moved.shape[-1]).tolist(), moved.shape


def _lse(row: list[float]) -> arb:
    finite = [v for v in row if v != -math.inf]
    m = max(finite)
    return _a(m) + sum((( _a(v) - _a(m)).exp() for v in finite), arb(0)).log()


def _probs(row: list[float]) -> list[arb]:
    finite = [v for v in row if v != -math.inf]
    m = max(finite)
    e = [(_a(v) - _a(m)).exp() if v != -math.inf else arb(0) for v in row]
    s = sum(e, arb(0))
    return [v / s for v in e]


def _nonneg(b: arb) -> arb:
    """Intersect a ball with [0, inf) (for quantities that are mathematically >= 0)."""
    return b if b.lower() >= 0 else arb.union(arb(0), b.upper()) if b.upper() >= 0 else arb(0)


def values(name: str, args: tuple, kwargs: dict, grad: bool) -> tuple[list[arb], tuple]:
    """Flat list (C order) of arb balls of the function's output, and the output's shape."""
    x = np.asarray(args[0])
    axis = kwargs.get("axis", -1)
    if name in ("logsumexp", "softmax", "log_softmax"):
        rows, shape = _rows(x, axis)
        out = []
        g_rows = None
        if grad:
            g = np.asarray(kwargs["grad_output"], dtype=np.float64)
            g_rows = g.reshape(-1).tolist() if name == "logsumexp" else np.moveaxis(g, axis, -1).reshape(-1, shape[-1]).tolist()
        for r, row in enumerate(rows):
            if name == "logsumexp" and not grad:
                out.append(_lse(row))
                continue
            s = [_nonneg(v) for v in _probs(row)]
            if name == "softmax" and not grad:
                out.extend(s)
            elif name == "log_softmax" and not grad:
                lse = _lse(row)
                out.extend(_a(v) - lse if v != -math.inf else -math.inf for v in row)
            elif name == "logsumexp":
                out.extend(_a(g_rows[r]) * v for v in s)
            elif name == "softmax":
                dot = sum((_a(gj) * sj for gj, sj in zip(g_rows[r], s)), arb(0))
                out.extend(si * (_a(gi) - dot) for gi, si in zip(g_rows[r], s))
            else:
                total = sum((_a(gj) for gj in g_rows[r]), arb(0))
                out.extend(_a(gi) - si * total for gi, si in zip(g_rows[r], s))
        if name == "logsumexp" and not grad:
            return out, shape[:-1]
        moved_shape = shape
        arr = np.empty(len(out), dtype=object)
        arr[:] = out
        arr = np.moveaxis(arr.reshape(moved_shape), -1, axis)
        return arr.reshape(-1).tolist(), arr.shape
    if name in ("sigmoid", "log_sigmoid", "softplus"):
        xs = x.astype(np.float64).reshape(-1).tolist()
        g = np.broadcast_to(np.asarray(kwargs.get("grad_output", 1.0), dtype=np.float64), x.shape).reshape(-1).tolist()
        out = []
        for v, gv in zip(xs, g):
            a = _a(v)
            # sigmoid(x) = 1 / (1 + exp(-x)) written so that exp never overflows
            sig = 1 / (1 + (-a).exp()) if v >= 0 else a.exp() / (1 + a.exp())
            sig_neg = 1 - sig if v < 0 else (-a).exp() / (1 + (-a).exp())
            if not grad:
                sp = a + (1 + (-a).exp()).log() if v >= 0 else (1 + a.exp()).log()  # softplus(x)
                sp_neg = (1 + (-a).exp()).log() if v >= 0 else -a + (1 + a.exp()).log()  # softplus(-x)
                out.append({"sigmoid": sig, "softplus": sp, "log_sigmoid": -sp_neg}[name])
            else:
                out.append(_a(gv) * {"sigmoid": sig * sig_neg, "softplus": sig, "log_sigmoid": sig_neg}[name])
        return out, x.shape
    return _loss_values(name, args, kwargs, grad)


def _loss_values(name, args, kwargs, grad):
    x = np.asarray(args[0]).astype(np.float64)
    reduction = kwargs.get("reduction", "mean")
    if name == "cross_entropy":
        t = np.asarray(args[1])
        ls = kwargs.get("label_smoothing", 0.0)
        c_axis = 0 if x.ndim == 1 else 1
        n_classes = x.shape[c_axis]
        rows = np.moveaxis(x, c_axis, -1).reshape(-1, n_classes).tolist()
        w = [_a(v) for v in (kwargs.get("weight") if kwargs.get("weight") is not None else np.ones(n_classes))]
        eps = _a(ls)
        if t.dtype.kind in "iu":
            ts = t.reshape(-1).tolist()
            coef = []
            den = arb(0)
            for tt in ts:
                if tt == kwargs.get("ignore_index", -100):
                    coef.append([arb(0)] * n_classes)
                    continue
                a = [eps / n_classes * w[c] for c in range(n_classes)]
                a[tt] += (1 - eps) * w[tt]
                coef.append(a)
                den += w[tt]
        else:
            ys = np.moveaxis(t.astype(np.float64), c_axis, -1).reshape(-1, n_classes).tolist()
            coef = [[w[c] * (_a(y[c]) * (1 - eps) + eps / n_classes) for c in range(n_classes)] for y in ys]
            den = arb(len(rows))
        if not grad:
            losses = []
            for row, a in zip(rows, coef):
                lse = _lse(row)
                losses.append(sum((ac * (lse - _a(xc)) for ac, xc in zip(a, row) if not (ac == 0)), arb(0)))
            return _reduce(losses, reduction, den, x.shape if x.ndim == 1 and False else tuple(s for i, s in enumerate(x.shape) if i != c_axis))
        g = float(np.asarray(kwargs.get("grad_output", 1.0)))
        factor = _a(g) if reduction == "sum" else _a(g) / den
        out = []
        for row, a in zip(rows, coef):
            s = [_nonneg(v) for v in _probs(row)]
            total = sum(a, arb(0))
            out.extend(factor * (total * si - ai) for si, ai in zip(s, a))
        arr = np.empty(len(out), dtype=object)
        arr[:] = out
        moved = tuple(s for i, s in enumerate(x.shape) if i != c_axis) + (n_classes,)
        arr = np.moveaxis(arr.reshape(moved), -1, c_axis)
        return arr.reshape(-1).tolist(), arr.shape
    if name == "binary_cross_entropy_with_logits":
        y = np.asarray(args[1]).astype(np.float64).reshape(-1).tolist()
        xs = x.reshape(-1).tolist()
        pw = np.broadcast_to(np.asarray(kwargs.get("pos_weight") if kwargs.get("pos_weight") is not None else 1.0), x.shape).astype(np.float64).reshape(-1).tolist()
        losses = []
        for xv, yv, pv in zip(xs, y, pw):
            a = _a(xv)
            sp_neg = (1 + (-a).exp()).log() if xv >= 0 else -a + (1 + a.exp()).log()
            sp_pos = a + sp_neg
            if grad:
                sig = 1 / (1 + (-a).exp()) if xv >= 0 else a.exp() / (1 + a.exp())
                losses.append((1 + (_a(pv) - 1) * _a(yv)) * sig - _a(pv) * _a(yv))
            else:
                losses.append(_a(pv) * _a(yv) * sp_neg + (1 - _a(yv)) * sp_pos)
        if grad:
            g = float(np.asarray(kwargs.get("grad_output", 1.0)))
            factor = _a(g) if reduction == "sum" else _a(g) / len(xs)
            return [factor * v for v in losses], x.shape
        return _reduce(losses, reduction, arb(len(xs)), x.shape)
    if name == "kl_div":
        y = np.asarray(args[1]).astype(np.float64).reshape(-1).tolist()
        xs = x.reshape(-1).tolist()
        if kwargs.get("log_target"):
            terms = [_a(t).exp() * (_a(t) - _a(v)) if t != -math.inf else arb(0) for v, t in zip(xs, y)]
        else:
            terms = [_a(t) * (_a(t).log() - _a(v)) if t != 0 else arb(0) for v, t in zip(xs, y)]
        den = arb(len(xs)) if reduction == "mean" else arb(x.shape[0] if x.ndim else 1)
        return _reduce(terms, "mean" if reduction == "batchmean" else reduction, den, x.shape)
    raise KeyError(name)


def _reduce(losses, reduction, den, shape):
    if reduction == "none":
        return losses, shape
    total = sum(losses, arb(0))
    return [total if reduction == "sum" else total / den], ()


def _mpfr_context(fmt):
    return gmpy2.context(precision=fmt.precision, emax=fmt.emax + 1, emin=fmt.emin - fmt.precision + 2,
                         subnormalize=True, round=gmpy2.RoundToNearest)


def _round(bound: arb, fmt) -> float:
    man, exp = bound.man_exp()
    man, exp = int(man), int(exp)
    top = man.bit_length() + exp if man else 0
    if man and top < fmt.emin - fmt.precision - 2:  # far below half the smallest subnormal
        return -0.0 if man < 0 else 0.0
    if top > fmt.emax + 2:
        return -math.inf if man < 0 else math.inf
    exact = gmpy2.mpq(int(man)) * (gmpy2.mpq(2) ** int(exp)) if exp >= 0 else gmpy2.mpq(int(man), 2 ** (-int(exp)))
    with _mpfr_context(fmt):
        return float(gmpy2.mpfr(exact))


def rounded(name: str, fmt, args: tuple, kwargs: dict, grad: bool = False) -> np.ndarray:
    """The correctly rounded result according to Arb + MPFR; raises Undecidable past MAX_PREC.

    Elements whose ball straddles zero and rounds to +-0 are returned as NaN
    with a mask (caller compares them only as zeros).
    """
    prec = 128
    old = ctx.prec
    try:
        while prec <= MAX_PREC:
            ctx.prec = prec
            vals, shape = values(name, args, kwargs, grad)
            out = []
            ok = True
            for v in vals:
                if isinstance(v, float):  # an exact special value (a masked log-probability)
                    out.append(v)
                    continue
                if not v.is_finite():
                    ok = False
                    break
                lo, hi = _round(v.lower(), fmt), _round(v.upper(), fmt)
                if lo == hi and math.copysign(1, lo) == math.copysign(1, hi):
                    out.append(lo)
                elif lo == 0 and hi == 0:
                    out.append(0.0)  # a zero of undetermined sign
                else:
                    ok = False
                    break
            if ok:
                return np.array(out, dtype=np.float64).reshape(shape)
            prec *= 2
        raise Undecidable(name)
    finally:
        ctx.prec = old


def _bce_values(args, kwargs, grad):
    p = np.asarray(args[0]).astype(np.float64).reshape(-1).tolist()
    y = np.asarray(args[1]).astype(np.float64).reshape(-1).tolist()
    reduction = kwargs.get("reduction", "mean")
    out = []
    for pv, yv in zip(p, y):
        a, b = _a(pv), _a(yv)
        if grad:
            out.append(-b / a + (1 - b) / (1 - a))
        else:
            out.append(-(b * a.log() + (1 - b) * (1 - a).log()))
    if grad:
        g = float(np.asarray(kwargs.get("grad_output", 1.0)))
        factor = _a(g) if reduction == "sum" else _a(g) / len(p)
        return [factor * v for v in out], np.asarray(args[0]).shape
    return _reduce(out, reduction, arb(len(p)), np.asarray(args[0]).shape)


_plain_loss_values = _loss_values


def _loss_values(name, args, kwargs, grad):  # noqa: F811 - extends the dispatcher above
    if name == "binary_cross_entropy":
        return _bce_values(args, kwargs, grad)
    return _plain_loss_values(name, args, kwargs, grad)
