"""softmax-oracle: correctly rounded softmax, log-softmax, logsumexp, their losses and gradients.

>>> import numpy as np, softmax_oracle as so
>>> so.oracle.softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])

Modules: :mod:`~softmax_oracle.oracle` (correctly rounded to a float format),
:mod:`~softmax_oracle.oracle.grad` (gradients), :mod:`~softmax_oracle.exact`
(mpmath values to any number of bits), :mod:`~softmax_oracle.formats`,
:mod:`~softmax_oracle.rounding`.
"""

from __future__ import annotations

from . import exact, formats, oracle, rounding
from .errors import InvalidInput, OracleError, PrecisionExhausted

__version__ = "0.1.0"

__all__ = [
    "oracle",
    "exact",
    "formats",
    "rounding",
    "OracleError",
    "InvalidInput",
    "PrecisionExhausted",
    "__version__",
]
