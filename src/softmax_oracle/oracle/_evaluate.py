"""The evaluation interface: terms in, correctly rounded arrays (or exact numbers) out.

The public functions build one :class:`~._ziv.Term` per output element
(sharing one :class:`~._rows.Row` per softmax row) and hand them here.  This
is the single place that turns terms into values, so that a faster certified
evaluator (e.g. a float64 double-double filter in front of MPFR) can slot in
later without touching the public functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import PrecisionExhausted
from ..formats import Format, binary_format
from ..rounding import to_array, to_mpf
from ._ziv import MAX_BITS, Term, Undecided, decide

__all__ = ["Terms", "round_terms", "exact_terms"]


@dataclass(frozen=True)
class Terms:
    """The output elements of one call, in C order, with the output's shape.

    ``describe(i)`` renders the inputs that produced flat element ``i`` (exact
    hex floats) for error messages.
    """

    function: str
    terms: Sequence[Term]
    shape: tuple[int, ...]
    describe: Callable[[int], str]


def _decide_all(terms: Terms, fmt: Format):
    out = []
    for i, term in enumerate(terms.terms):
        try:
            out.append(decide(term, fmt, max_bits=MAX_BITS))
        except Undecided as err:
            index = tuple(int(v) for v in np.unravel_index(i, terms.shape)) if terms.shape else ()
            raise PrecisionExhausted(terms.function, index, err.max_bits, terms.describe(i), err.reason) from None
    return out


def round_terms(terms: Terms, fmt: Format) -> np.ndarray:
    """Every element correctly rounded to ``fmt``: an array of ``fmt.dtype`` (0-d for scalars)."""
    return to_array(_decide_all(terms, fmt), fmt, terms.shape)


def exact_terms(terms: Terms, bits: int):
    """Every element correctly rounded to ``bits`` significant bits, as ``mpmath.mpf``.

    Returns an object ndarray, or a bare ``mpf`` for a 0-d result.
    """
    values = [to_mpf(v) for v in _decide_all(terms, binary_format(bits))]
    if not terms.shape:
        return values[0]
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr.reshape(terms.shape)
