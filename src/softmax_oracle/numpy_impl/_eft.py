"""Error-free transformations (Knuth's TwoSum) on arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["two_sum", "two_sum_error"]


def two_sum_error(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The rounding error of ``s = fl(a + b)``: ``a + b = s + err`` exactly (no ordering needed)."""
    bb = s - a
    err = s - bb
    np.subtract(a, err, out=err)
    np.subtract(b, bb, out=bb)
    err += bb
    return err


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, err)`` with ``s = fl(a + b)`` and ``a + b = s + err`` exactly."""
    s = np.add(a, b)
    return s, two_sum_error(a, b, s)
