"""SciPy adapters with the oracle's signatures (values only: SciPy has no gradients).

The softmax family is :mod:`scipy.special` as is.  The losses have no SciPy
function of their own; they are the textbook formulas written with SciPy's
pieces, in the input's format:

.. math::

    \\mathrm{CE}(x, t) = -\\operatorname{log\\_softmax}(x)_t, \\qquad
    \\mathrm{KL}(x, t) = \\operatorname{xlogy}(t, t) - t\\,x, \\qquad
    \\mathrm{BCE}(p, t) = -\\operatorname{xlogy}(t, p) - \\operatorname{xlog1py}(1 - t, -p),

    \\mathrm{BCE}_{\\text{logits}}(x, t) = -w_+ t \\operatorname{log\\_expit}(x)
        - (1 - t) \\operatorname{log\\_expit}(-x),

with torch's reductions (``mean`` of weighted class losses divides by the
sum of the target weights).

Where SciPy returns a wider dtype than its input (its ufuncs have no float16
or bfloat16 loops: ``expit``, ``log_expit``, ``softplus`` compute in
float64), the adapter rounds the result to the input's format, so the
comparison is at the input's format; the implementation's ``note`` says so
(two roundings).
"""

from __future__ import annotations

from typing import Any, Callable

import ml_dtypes
import numpy as np
import scipy.special as sc

from . import Implementation

__all__ = ["load"]


def _class_axis(x: np.ndarray) -> int:
    return 1 if x.ndim >= 2 else 0


def _reduce(loss: np.ndarray, reduction: str, denominator: Any = None) -> np.ndarray:
    if reduction == "none":
        return loss
    total = np.sum(loss, dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(total)
    if reduction == "mean":
        count = loss.size if denominator is None else denominator
        return np.asarray(total / np.asarray(count, dtype=loss.dtype))
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum'; got reduction={reduction!r}")


def _class_loss(logp: np.ndarray, target: Any, weight: Any, ignore_index: int, reduction: str,
                label_smoothing: float) -> np.ndarray:
    """Torch's nll / cross-entropy on log-probabilities ``logp`` (class axis 1, or 0 for 1-D)."""
    dtype = logp.dtype
    axis = _class_axis(logp)
    lp = np.moveaxis(logp, axis, -1)  # (..., C)
    n_classes = lp.shape[-1]
    w = np.ones(n_classes, dtype) if weight is None else np.asarray(weight, dtype)
    t = np.asarray(target)
    eps = dtype.type(label_smoothing)
    if t.dtype.kind in "iu":
        keep = t != ignore_index
        safe = np.where(keep, t, 0)
        picked = np.take_along_axis(lp, safe[..., None], axis=-1)[..., 0]
        wt = np.where(keep, w[safe], dtype.type(0))
        nll = -wt * picked
        smooth = np.where(keep, -np.sum(lp * w, axis=-1, dtype=dtype), dtype.type(0))
        loss = (1 - eps) * nll + eps / n_classes * smooth if label_smoothing else nll
        return _reduce(loss.astype(dtype), reduction, np.sum(wt, dtype=dtype))
    tp = np.moveaxis(np.asarray(t, dtype), axis, -1)
    if label_smoothing:
        tp = (1 - eps) * tp + eps / n_classes
    loss = -np.sum(tp * lp * w, axis=-1, dtype=dtype)
    return _reduce(loss.astype(dtype), reduction, loss.size)


def _cross_entropy(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100,
                   reduction: str = "mean", label_smoothing: float = 0.0) -> np.ndarray:
    x = np.asarray(input)
    logp = np.asarray(sc.log_softmax(x, axis=_class_axis(x))).astype(x.dtype)
    return _class_loss(logp, target, weight, ignore_index, reduction, label_smoothing)


def _nll_loss(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100,
              reduction: str = "mean") -> np.ndarray:
    return _class_loss(np.asarray(input), target, weight, ignore_index, reduction, 0.0)


def _kl_div(input: Any, target: Any, *, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    x = np.asarray(input)
    t = np.asarray(target, x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # the float answer is what is measured
        loss = np.exp(t) * (t - x) if log_target else sc.xlogy(t, t) - t * x
    loss = np.asarray(loss).astype(x.dtype)
    if reduction == "batchmean":
        batch = x.shape[0] if x.ndim else 1
        return np.asarray(np.sum(loss, dtype=x.dtype) / x.dtype.type(batch))
    return _reduce(loss, reduction)


def _bce(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> np.ndarray:
    p = np.asarray(input)
    t = np.asarray(target, p.dtype)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the answer
        loss = -(np.asarray(sc.xlogy(t, p)) + np.asarray(sc.xlog1py(1 - t, -p))).astype(p.dtype)
    if weight is not None:
        loss = (loss * np.asarray(weight, p.dtype)).astype(p.dtype)
    return _reduce(loss, reduction)


def _bce_logits(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean",
                pos_weight: Any = None) -> np.ndarray:
    x = np.asarray(input)
    t = np.asarray(target, x.dtype)
    up = np.asarray(sc.log_expit(x)).astype(x.dtype)
    down = np.asarray(sc.log_expit(-x)).astype(x.dtype)
    if pos_weight is not None:
        up = (up * np.asarray(pos_weight, x.dtype)).astype(x.dtype)
    loss = (-(t * up) - (1 - t) * down).astype(x.dtype)
    if weight is not None:
        loss = (loss * np.asarray(weight, x.dtype)).astype(x.dtype)
    return _reduce(loss, reduction)


def _axis_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(x: Any, axis: int = -1) -> Any:
        return fn(x, axis=axis)

    return call


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "logsumexp": _axis_fn(sc.logsumexp),
    "softmax": _axis_fn(sc.softmax),
    "log_softmax": _axis_fn(sc.log_softmax),
    "sigmoid": sc.expit,
    "log_sigmoid": sc.log_expit,
    "softplus": sc.softplus,
    "cross_entropy": _cross_entropy,
    "nll_loss": _nll_loss,
    "kl_div": _kl_div,
    "binary_cross_entropy": _bce,
    "binary_cross_entropy_with_logits": _bce_logits,
}

_PROBE_ARGS: dict[str, Callable[[np.dtype], tuple[Any, ...]]] = {
    "cross_entropy": lambda d: (np.zeros((1, 2), d), np.array([0])),
    "nll_loss": lambda d: (np.zeros((1, 2), d), np.array([0])),
    "kl_div": lambda d: (np.zeros(2, d), np.full(2, 0.5, d)),
    "binary_cross_entropy": lambda d: (np.full(2, 0.5, d), np.full(2, 0.5, d)),
    "binary_cross_entropy_with_logits": lambda d: (np.zeros(2, d), np.full(2, 0.5, d)),
}


def _in_input_format(name: str, fn: Callable[..., Any]) -> tuple[Callable[..., Any], str]:
    """``fn`` with its result rounded to the input's format, and a note of the promotions seen."""
    promoted = []
    for dtype in (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16), np.dtype(np.float32)):
        args = _PROBE_ARGS.get(name, lambda d: (np.zeros(2, d),))(dtype)
        try:
            out = np.asarray(fn(*args))
        except Exception:  # noqa: BLE001 - a probe only; the real call reports its own errors
            continue
        if out.dtype != dtype:
            promoted.append(f"{dtype.name} to {out.dtype.name}")
    note = ""
    if promoted:
        note = (f"scipy promotes {', '.join(promoted)}; the adapter rounds the result to the input's "
                "format (two roundings) and the comparison is at the input's format")

    def call(input: Any, *args: Any, **kwargs: Any) -> Any:
        x = np.asarray(input)
        out = fn(x, *args, **kwargs)
        arr = np.asarray(out)
        if x.dtype.name in ("float16", "bfloat16", "float32") and arr.dtype != x.dtype:
            return arr.astype(x.dtype)
        return out

    return call, note


def load() -> dict[tuple[str, bool], Implementation]:
    table = {}
    for name, fn in _FUNCTIONS.items():
        call, note = _in_input_format(name, fn)
        table[(name, False)] = Implementation("scipy", name, False, call, note)
    return table
