"""Correctly rounded values together with the fast phase's enclosures of the exact ones (private).

:func:`rounded_and_enclosed` serves :func:`softmax_oracle.fuzz.search`'s
screen: with an enclosure ``|x - (hi + lo)| <= rad`` of every exact value, the
ULP error of a candidate is bounded without a second oracle call in float64
(:mod:`softmax_oracle._fuzz_screen`).  Only the forward row functions have
it (logsumexp, softmax, log_softmax, whose fast phase is a
:class:`._fast_rows.RowPhase`); the rounded values are those of the public
functions, bit for bit (the same fast phase, then :func:`._evaluate.round_terms`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arguments import output_format
from ._calls import row_terms
from ._evaluate import round_terms
from ._fast_rows import RowPhase

__all__ = ["ENCLOSED", "rounded_and_enclosed"]

ENCLOSED = ("logsumexp", "softmax", "log_softmax")


def rounded_and_enclosed(function: str, x: Any, axis: Any = -1, *, dtype: Any = None
                         ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``oracle.<function>(x, axis, dtype=dtype)`` and ``(hi, lo, rad)``: ``|exact - (hi + lo)| <= rad``.

    ``function`` is one of :data:`ENCLOSED`; the three float64 arrays have
    the result's shape; ``rad`` is ``inf`` where the fast phase states
    nothing (see :meth:`._fast_rows.RowPhase.enclosed`).  Raises what the
    public function raises.
    """
    if function not in ENCLOSED:
        raise ValueError(f"no enclosures for {function!r}; only for {ENCLOSED}")
    terms, fmt = row_terms(function, x, axis)
    out = output_format(dtype, fmt)
    phase = terms.fast
    if not isinstance(phase, RowPhase):  # pragma: no cover - row_terms always gives one
        raise TypeError(f"{function}'s fast phase is not a RowPhase")
    if terms.size == 0:
        empty = np.zeros(terms.shape)
        return round_terms(terms, out), (empty, empty, empty)
    values, decided, enclosure = phase.enclosed(out)
    return round_terms(terms, out, first=(values, decided)), enclosure
