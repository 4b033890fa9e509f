"""Relative condition numbers of the softmax family at one output element.

With ``s = softmax(x)`` and ``l = logsumexp(x)`` (componentwise relative
perturbations of the input, as in Blanchard, Higham & Higham [1]_):

* ``logsumexp``: ``sum_j |x_j| s_j / |l|``;
* ``softmax_i``: ``sum_j |x_j| |delta_ij - s_j|``;
* ``log_softmax_i``: ``sum_j |x_j| |delta_ij - s_j| / |x_i - l|``;
* ``sigmoid``: ``|x| sigmoid(-x)``; ``log_sigmoid``: ``|x| sigmoid(-x) /
  |log sigmoid(x)|``; ``softplus``: ``|x| sigmoid(x) / softplus(x)``.

An error of ``k`` ULP where the condition number is ``c`` is explained by the
problem alone when ``k`` is of the order of ``c`` (the input itself is only
known to half an ULP).  Masked entries (``-inf``) contribute nothing.

.. [1] P. Blanchard, D. J. Higham, N. J. Higham, "Accurately computing the
   log-sum-exp and softmax functions", IMA J. Numer. Anal. 41 (2021).
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np

__all__ = ["condition_number", "CONDITIONED"]

CONDITIONED = ("logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus")
_PREC = 80  # bits: the condition number is an order of magnitude, not a correctly rounded value


def _row_of(x: np.ndarray, axis: int, index: tuple[int, ...], *, reduced: bool) -> tuple[np.ndarray, int | None]:
    where: list[Any] = list(index)
    if reduced:
        where.insert(axis, slice(None))
        return x[tuple(where)], None
    element = where[axis]
    where[axis] = slice(None)
    return x[tuple(where)], int(element)


_LONG_ROW = 1000  # longer rows are conditioned in float64: a few digits are all a condition number needs


def _row_condition_float64(function: str, row: np.ndarray, element: int | None) -> float:
    values = np.asarray(row, dtype=np.float64)
    live = values[values != -math.inf]
    if not live.size or np.isnan(live).any() or (live == math.inf).any():
        return math.nan
    m = float(live.max())
    with np.errstate(all="ignore"):  # weights of far-below-max entries underflow to 0, which they are
        weights = np.exp(values - m)
        total = float(np.sum(weights))
        s = weights / total
        lse = m + math.log(total)
        spread = float(np.sum(np.where(values == -math.inf, 0.0, np.abs(values) * s)))
    if function == "logsumexp":
        return spread / abs(lse) if lse != 0 else math.inf
    assert element is not None
    xi = float(values[element])
    if xi == -math.inf:
        return 0.0
    own = abs(xi)
    numerator = spread - own * float(s[element]) + own * (1 - float(s[element]))
    if function == "softmax":
        return numerator
    denominator = abs(xi - lse)
    return numerator / denominator if denominator != 0 else math.inf


def _row_condition(ctx: Any, function: str, row: np.ndarray, element: int | None) -> float:
    if np.size(row) > _LONG_ROW:
        return _row_condition_float64(function, row, element)
    values = [float(v) for v in np.asarray(row, dtype=np.float64)]
    live = [v for v in values if v != -math.inf]
    if not live or any(math.isnan(v) or v == math.inf for v in live):
        return math.nan
    m = max(live)
    top = values.index(m)
    weights = [ctx.exp(ctx.mpf(v) - m) if v != -math.inf else ctx.zero for v in values]
    rest = ctx.fsum(w for j, w in enumerate(weights) if j != top)  # total - 1, without absorbing it into 1
    total = 1 + rest
    s = [w / total for w in weights]
    lse_gap = ctx.log1p(rest)  # lse - m: a tiny rest keeps its digits (x_i - lse ~ -rest for the maximum)
    lse = m + lse_gap
    spread = ctx.fsum(abs(ctx.mpf(v)) * p for v, p in zip(values, s) if v != -math.inf)
    if function == "logsumexp":
        return float(spread / abs(lse)) if lse != 0 else math.inf
    assert element is not None
    xi = values[element]
    if xi == -math.inf:
        return 0.0
    # sum_j |x_j| |delta_ij - s_j|, with 1 - s_i = (sum of the other weights) / total: never 1 - (1 - tiny)
    others = ctx.fsum(w for j, w in enumerate(weights) if j != element)
    numerator = ctx.fsum(abs(ctx.mpf(v)) * p for j, (v, p) in enumerate(zip(values, s))
                         if j != element and v != -math.inf) + abs(ctx.mpf(xi)) * others / total
    if function == "softmax":
        return float(numerator)
    denominator = abs((ctx.mpf(xi) - m) - lse_gap)
    return float(numerator / denominator) if denominator != 0 else math.inf


def _point_condition(ctx: Any, function: str, value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        return math.nan
    x = ctx.mpf(value)
    if x == 0:
        return 0.0
    tail = 1 / (1 + ctx.exp(x))  # sigmoid(-x)
    if function == "sigmoid":
        return float(abs(x) * tail)
    if function == "log_sigmoid":  # -log sigmoid(x) = softplus(-x), kept accurate for large x
        return float(abs(x) * tail / ctx.log1p(ctx.exp(-x)))
    return float(abs(x) * (1 / (1 + ctx.exp(-x))) / ctx.log1p(ctx.exp(x)))


def condition_number(function: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                     index: tuple[int, ...] | None) -> float | None:
    """Condition number of the value of ``function`` at output element ``index`` (``None`` if not defined).

    Parameters
    ----------
    function : str
        One of :data:`CONDITIONED`; other functions give ``None``.
    args, kwargs : tuple, dict
        The oracle call's arguments.
    index : tuple of int or None
        Output element, as in ``Comparison.worst_index``.
    """
    if function not in CONDITIONED or index is None:
        return None
    ctx = mpmath.MPContext()  # a private context: never the caller's global precision
    ctx.prec = _PREC
    x = np.asarray(args[0])
    if function in ("sigmoid", "log_sigmoid", "softplus"):
        return _point_condition(ctx, function, float(x[index]))
    if x.ndim == 0:
        x = x.reshape(1)
        index = (0,) if function != "logsumexp" else ()
    axis = args[1] if len(args) > 1 else kwargs.get("axis", -1)
    axis = int(axis) % x.ndim
    row, element = _row_of(x, axis, tuple(index), reduced=function == "logsumexp")
    return _row_condition(ctx, function, row, element)
