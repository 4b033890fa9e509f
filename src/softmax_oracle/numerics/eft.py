"""Error-free transformations on float64 arrays (Knuth, Dekker).

``two_sum`` and ``two_prod`` return ``(s, err)`` with ``a + b = s + err`` and
``a b = s + err`` exactly (barring overflow and, for ``two_prod``, underflow of
the error term); ``fast_two_sum`` needs ``|a| >= |b|`` (or ``a = 0``).
``two_prod`` splits with Veltkamp's constant ``2**27 + 1``, so its operands must
stay below ``2**995`` (no FMA in NumPy).
"""

from __future__ import annotations

import numpy as np

__all__ = ["two_sum", "two_sum_error", "fast_two_sum", "split", "two_prod", "extract_sum"]

_SPLITTER = 134217729.0  # 2**27 + 1


def two_sum_error(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The rounding error of ``s = fl(a + b)``: ``a + b = s + err`` exactly (no ordering needed)."""
    bb = s - a
    err = s - bb
    if not isinstance(err, np.ndarray) or not isinstance(bb, np.ndarray):  # 0-d operands give NumPy scalars
        return (a - err) + (b - bb)
    np.subtract(a, err, out=err)
    np.subtract(b, bb, out=bb)
    err += bb
    return err


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, err)`` with ``s = fl(a + b)`` and ``a + b = s + err`` exactly."""
    s = np.add(a, b)
    return s, two_sum_error(a, b, s)


def fast_two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(s, err)`` as :func:`two_sum`, for ``|a| >= |b|``: three operations instead of six."""
    s = a + b
    return s, b - (s - a)


def split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp's split ``a = hi + lo`` into two halves of at most 26 significant bits each."""
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(p, err)`` with ``p = fl(a b)`` and ``a b = p + err`` exactly (Dekker, no FMA)."""
    p = a * b
    ah, al = split(a)
    bh, bl = split(b)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


def extract_sum(t: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums of non-negative ``t`` (2-D) as ``hi + lo`` to ~``n**2 2**-106`` relative.

    ``total`` is the plain row sum (a column).  With ``sigma = 2**e >= 2 total``,
    ``q = (sigma + t) - sigma`` keeps the bits of each term above ``ulp(sigma)``: their
    sum is exact, and the remainders ``t - q`` (below ``ulp(sigma) / 2`` each) add
    with negligible error (Rump, Ogita & Oishi's ExtractVector).
    """
    _, ex = np.frexp(total)
    sigma = np.ldexp(1.0, ex + 1)
    q = t + sigma
    q -= sigma
    hi = q.sum(axis=1, keepdims=True)
    np.subtract(t, q, out=q)
    return hi, q.sum(axis=1, keepdims=True)
