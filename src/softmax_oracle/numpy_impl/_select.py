"""How each tier picks its kernels and working dtype for a call."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..formats import Format
from ._compensated import CompensatedKernels
from ._naive_kernels import NaiveKernels
from ._stable_kernels import StableKernels

__all__ = ["Selector", "naive_selector", "stable_selector", "accurate_selector", "EXTENDED"]

# (input format, output format, family?) -> (kernels, working dtype)
Selector = Callable[[Format, Format, bool], "tuple[Any, np.dtype]"]

_NAIVE = NaiveKernels()
_STABLE = StableKernels()
_COMPENSATED = CompensatedKernels()

# x87 long double carries 64 significant bits; where long double is just float64
# (MSVC, macOS arm64) the accurate tier's float64 losses and gradients lose that margin.
EXTENDED = np.dtype(np.longdouble) if np.finfo(np.longdouble).nmant >= 63 else np.dtype(np.float64)


def naive_selector(fin: Format, fout: Format, family: bool) -> tuple[Any, np.dtype]:
    """The textbook formulas in the input's own dtype."""
    return _NAIVE, fin.dtype


def stable_selector(fin: Format, fout: Format, family: bool) -> tuple[Any, np.dtype]:
    """Stable formulas in float64 if either side is float64, else float32."""
    return _STABLE, _STABLE.work_dtype(fin, fout)


def accurate_selector(fin: Format, fout: Format, family: bool) -> tuple[Any, np.dtype]:
    """Narrow outputs: stable formulas in float64, rounded once.  float64 outputs:
    the compensated softmax family, everything else in extended precision."""
    if fout.name != "float64":
        return _STABLE, np.dtype(np.float64)
    if family:
        return _COMPENSATED, np.dtype(np.float64)
    return _STABLE, EXTENDED
