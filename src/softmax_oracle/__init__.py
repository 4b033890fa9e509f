"""softmax-oracle: correctly rounded softmax, log-softmax, logsumexp, their losses and gradients.

>>> import numpy as np, softmax_oracle as so
>>> so.oracle.softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
>>> so.numpy_impl.stable.softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])

Modules: :mod:`~softmax_oracle.oracle` (correctly rounded to a float format),
:mod:`~softmax_oracle.oracle.grad` (gradients), :mod:`~softmax_oracle.exact`
(mpmath values to any number of bits), :mod:`~softmax_oracle.formats`,
:mod:`~softmax_oracle.rounding`, imported with the package; and, loaded on
first access (``so.ulp``, as SciPy does with ``scipy.special``):
:mod:`~softmax_oracle.numpy_impl`, :mod:`~softmax_oracle.ulp`,
:mod:`~softmax_oracle.compare`, :mod:`~softmax_oracle.testing`,
:mod:`~softmax_oracle.fuzz`, :mod:`~softmax_oracle.strategies`,
:mod:`~softmax_oracle.candidates`, :mod:`~softmax_oracle.report` and
:mod:`~softmax_oracle.findings`.  Lazy loading keeps ``import softmax_oracle``
free of Hypothesis, SciPy and matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from . import exact, formats, oracle, rounding
from .errors import InvalidInput, OracleError, PrecisionExhausted

if TYPE_CHECKING:  # for type checkers and IDEs; at run time they load on first access
    from . import candidates, compare, fuzz, numpy_impl, report, strategies, testing, ulp

__version__ = "0.1.0"

# submodules loaded on first attribute access (PEP 562); "findings" is listed in __all__ and
# dir() only where this installation has it
_LAZY_SUBMODULES = ("numpy_impl", "ulp", "compare", "testing", "fuzz", "strategies", "candidates", "report",
                    "findings")
_OPTIONAL_SUBMODULES = ("findings",)

__all__ = [
    "oracle",
    "exact",
    "formats",
    "rounding",
    *(name for name in _LAZY_SUBMODULES
      if name not in _OPTIONAL_SUBMODULES or importlib.util.find_spec(f"{__name__}.{name}") is not None),
    "OracleError",
    "InvalidInput",
    "PrecisionExhausted",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES and name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)  # the public surface, as SciPy's lazy modules answer
