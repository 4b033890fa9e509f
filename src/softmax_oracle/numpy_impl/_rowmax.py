"""The row maximum that the shifted algorithms subtract, and the rows it cannot shift."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["RowMax", "row_max"]


class RowMax(NamedTuple):
    """Per-row maximum of a 2-D array (rows along the last axis).

    ``value`` is the maximum, shape ``(M, 1)`` (NaN when the row holds a NaN);
    ``shift`` is the maximum where it is finite and 0 elsewhere, so that
    ``rows - shift`` never forms ``inf - inf``; ``index`` is the column of the
    maximum, shape ``(M, 1)``; ``finite`` marks the rows whose maximum is finite
    (the others are answered from ``value`` alone: NaN, ``+inf`` or an all
    ``-inf`` row).
    """

    value: np.ndarray
    shift: np.ndarray
    index: np.ndarray
    finite: np.ndarray
    all_finite: bool


def row_max(rows: np.ndarray) -> RowMax:
    index = np.argmax(rows, axis=-1)[:, None]  # argmax stops at the first NaN
    value = np.take_along_axis(rows, index, axis=-1)
    finite = np.isfinite(value)
    all_finite = bool(finite.all())
    shift = value if all_finite else np.where(finite, value, 0)
    return RowMax(value, shift, index, finite[:, 0], all_finite)
