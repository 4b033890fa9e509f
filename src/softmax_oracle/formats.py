"""The binary floating-point formats the oracle rounds to.

Each :class:`Format` knows its precision (significand bits, hidden bit
included), its exponent range and its NumPy dtype.  ``ml_dtypes.finfo`` is
used for bfloat16 because ``numpy.finfo(ml_dtypes.bfloat16)`` raises.

An *unbounded* format (``exponent_bits=None``) has no overflow and no
subnormals: it is what :mod:`softmax_oracle.exact` rounds to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import ml_dtypes
import numpy as np

from .errors import InvalidInput

__all__ = [
    "Format",
    "FLOAT64",
    "FLOAT32",
    "FLOAT16",
    "BFLOAT16",
    "FORMATS",
    "format_of",
    "binary_format",
]


@dataclass(frozen=True)
class Format:
    """A binary floating-point format with round-to-nearest-even.

    Attributes
    ----------
    name : str
        ``"float64"``, ``"float32"``, ``"float16"``, ``"bfloat16"``, or
        ``"binary<p>"`` for an unbounded format.
    precision : int
        Significand bits including the hidden bit (53, 24, 11, 8).
    exponent_bits : int or None
        Width of the exponent field; ``None`` for an unbounded format.
    """

    name: str
    precision: int
    exponent_bits: int | None

    @property
    def bounded(self) -> bool:
        """True for the IEEE-style formats with overflow and subnormals."""
        return self.exponent_bits is not None

    @cached_property
    def emax(self) -> int:
        """Exponent of the largest finite value: ``max = (2 - 2**(1-p)) * 2**emax``."""
        assert self.exponent_bits is not None
        return (1 << (self.exponent_bits - 1)) - 1

    @cached_property
    def emin(self) -> int:
        """Exponent of the smallest normal value, ``1 - emax``."""
        return 1 - self.emax

    @property
    def bias(self) -> int:
        return self.emax

    @property
    def bits(self) -> int:
        """Total storage width in bits."""
        assert self.exponent_bits is not None
        return 1 + self.exponent_bits + self.precision - 1

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype holding values of this format."""
        return _DTYPES[self.name]

    @cached_property
    def uint_dtype(self) -> np.dtype:
        """The unsigned integer dtype of the same width (for bit patterns)."""
        return np.dtype(f"uint{self.bits}")

    @property
    def max_value(self) -> float:
        """Largest finite value, exactly."""
        return float((2 - 2.0 ** (1 - self.precision)) * 2.0**self.emax)

    @property
    def smallest_subnormal(self) -> float:
        """Smallest positive value, ``2**(emin - p + 1)``."""
        return 2.0 ** (self.emin - self.precision + 1)

    def __repr__(self) -> str:
        return f"Format({self.name})"


FLOAT64 = Format("float64", 53, 11)
FLOAT32 = Format("float32", 24, 8)
FLOAT16 = Format("float16", 11, 5)
BFLOAT16 = Format("bfloat16", 8, 8)

FORMATS: tuple[Format, ...] = (FLOAT64, FLOAT32, FLOAT16, BFLOAT16)

_DTYPES: dict[str, np.dtype] = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
_BY_NAME = {f.name: f for f in FORMATS}
_BY_DTYPE = {f.dtype: f for f in FORMATS}


def binary_format(bits: int) -> Format:
    """An unbounded binary format with ``bits`` significand bits (no overflow, no subnormals)."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
        raise InvalidInput(f"bits must be an integer >= 2, got bits={bits!r}")
    return Format(f"binary{int(bits)}", int(bits), None)


def format_of(dtype: Any, *, argument: str = "dtype") -> Format:
    """The :class:`Format` of a dtype-like (``"float32"``, ``np.float16``, ``ml_dtypes.bfloat16``, an array).

    Raises
    ------
    InvalidInput
        If ``dtype`` is not one of float64, float32, float16, bfloat16; the
        message names ``argument``.
    """
    if isinstance(dtype, Format):
        return dtype
    if isinstance(dtype, np.ndarray):
        dtype = dtype.dtype
    if isinstance(dtype, np.dtype) and dtype in _BY_DTYPE:  # the common case, without np.dtype(...).name
        return _BY_DTYPE[dtype]
    try:
        name = None if dtype is None else np.dtype(dtype).name
    except TypeError:
        name = None
    fmt = _BY_NAME.get(name) if name is not None else None
    if fmt is None:
        known = ", ".join(_BY_NAME)
        raise InvalidInput(f"{argument} must be one of {known}; got {argument}={dtype!r}")
    return fmt
