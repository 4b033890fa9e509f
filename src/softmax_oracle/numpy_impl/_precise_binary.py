"""The accurate tier's gradient of BCE with logits, within ~2**-100 before the final rounding.

``(1 - y) sigmoid(x) - pw y sigmoid(-x)`` cancels where the prediction matches the
target; with ``u = exp(-|x|)`` (a scaled double-double, :mod:`._double_double`)
both terms share the denominator ``1 + u``:

    x >= 0:  ((1 - y) - pw y u) / (1 + u)
    x <  0:  ((1 - y) u - pw y) / (1 + u)

so the cancellation happens once, between double-doubles.  ``pw = 1`` without
``pos_weight`` (then this is ``sigmoid(x) - y``).
"""

from __future__ import annotations

import numpy as np

from ..numerics import scaled as sc
from ._rounding import scaled_to_format
from ..numerics.underflow import exp_or_sign
from ..formats import Format

__all__ = ["bce_with_logits_grad"]


def bce_with_logits_grad(x: np.ndarray, y: np.ndarray, pos_weight: np.ndarray, grad: np.ndarray,
                         weight: np.ndarray | None, denominator: float, fmt: Format) -> np.ndarray:
    """``grad weight / denominator ((1 - y) sigmoid(x) - pos_weight y sigmoid(-x))`` for non-NaN ``x``
    and finite ``y``, ``pos_weight``, ``grad``, ``weight`` (1-D arrays of one length)."""
    mant, k = exp_or_sign((-np.abs(x), np.zeros_like(x)), np.isfinite(x))  # a stand-in keeps a zero's sign
    u = sc.from_dd(mant, k)
    one = sc.from_float(np.ones_like(x))
    keep = sc.sub(one, sc.from_float(y))  # 1 - y
    hit = sc.mul(sc.from_float(pos_weight), sc.from_float(y))  # pw y
    up = x >= 0
    first = sc.Scaled(*(np.where(up, a, b) for a, b in zip(keep, sc.mul(keep, u))))
    second = sc.Scaled(*(np.where(up, a, b) for a, b in zip(sc.mul(hit, u), hit)))
    inner = sc.div(sc.sub(first, second), sc.add(one, u))
    scale = sc.div(sc.from_float(grad), sc.from_float(np.full_like(x, denominator)))
    if weight is not None:
        scale = sc.mul(scale, sc.from_float(weight))
    return scaled_to_format(sc.mul(scale, inner), fmt)
