"""The tiers' one rounding to the output format, where overflowing to infinity is the answer."""

from __future__ import annotations

import numpy as np

from ..formats import Format
from ..numerics import scaled as sc
from ..numerics.cast import round_to_format as _round_once

__all__ = ["round_to_format", "scaled_to_format"]


def round_to_format(values: np.ndarray, fmt: Format) -> np.ndarray:
    """:func:`softmax_oracle.numerics.cast.round_to_format`, silently: a value beyond the format's
    largest float rounds to infinity, which is the correctly rounded result (e.g. a float16 gradient
    of 1e5), not a condition to warn about."""
    with np.errstate(over="ignore"):  # rounding to inf is the answer
        return _round_once(values, fmt)


def scaled_to_format(a: sc.Scaled, fmt: Format) -> np.ndarray:
    """:func:`softmax_oracle.numerics.scaled.to_format`, with the same silence about rounding to infinity."""
    with np.errstate(over="ignore"):  # rounding to inf is the answer
        return sc.to_format(a, fmt)
