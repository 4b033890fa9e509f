"""One rounding from a working array to an output format.

NumPy rounds float64 (and long double) to float32 and float16 directly, once.
``ml_dtypes`` converts float64 to bfloat16 through float32, which rounds twice:
``1 + 2**-8 + 2**-40`` becomes ``1`` instead of ``1 + 2**-7``.  Rounding to float32
*to odd* first (truncate, then set the last bit when inexact) keeps the
information the second rounding needs, so float64 -> odd float32 -> bfloat16 is
one correct rounding (float32 carries 16 more bits than bfloat16 at every scale,
subnormals included).
"""

from __future__ import annotations

import numpy as np

from ..formats import Format

__all__ = ["round_to_format"]


def round_to_format(values: np.ndarray, fmt: Format) -> np.ndarray:
    """``values`` rounded once (to nearest, ties to even) to ``fmt``; no copy when already there."""
    values = np.asarray(values)
    if values.dtype == fmt.dtype:
        return values
    if fmt.name != "bfloat16" or values.dtype in (np.float32, np.float16):
        with np.errstate(over="ignore"):  # past the format's range, inf is the correctly rounded answer
            return values.astype(fmt.dtype)
    return _round_to_odd_float32(values.astype(np.float64)).astype(fmt.dtype)


def _round_to_odd_float32(x: np.ndarray) -> np.ndarray:
    """float64 -> float32 rounded toward zero, last bit set when inexact (round to odd)."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is the answer
        near = x.astype(np.float32)
        back = near.astype(np.float64)
        inexact = (back != x) & np.isfinite(x)
    if not inexact.any():
        return near
    bits = near.view(np.uint32).copy()
    # Rounded away from zero: step one unit back toward zero (inf steps to float32 max).
    away = inexact & (np.abs(back) > np.abs(x))
    bits[away] -= 1
    bits[inexact] |= 1
    return bits.view(np.float32)
