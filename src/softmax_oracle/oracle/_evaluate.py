"""The evaluation interface: terms in, correctly rounded arrays (or exact numbers) out.

The public functions describe each call as :class:`Terms`: a builder of the
:class:`~._ziv.Term` of any output element (sharing one
:class:`~._rows.Row` per softmax row, built on first use) and, optionally, a
*fast phase*: a vectorized evaluator returning every element's value and
whether it is decided (:mod:`._fast_rows`, :mod:`._fast_losses`, ...).

:func:`round_terms` with ``engine="auto"`` runs the fast phase, then builds
the terms of the undecided elements only and rounds them with the MPFR/Ziv
engine; ``engine="mpfr"`` builds and rounds every term (the fast phase is not
run).  Both give the same bits: the fast phase decides an element only where
its proven enclosure rounds to one value.  Each call's counts go to
:func:`~._counts.decision_counts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import InvalidInput, PrecisionExhausted
from ..formats import Format, binary_format
from ..numerics.arith import DOUBLE_DOUBLE, arith_for
from ..rounding import to_array, to_mpf
from ._counts import record
from ._ziv import MAX_BITS, Term, Undecided, decide, decide_enclosed

__all__ = ["Terms", "round_terms", "exact_terms", "check_engine", "ENGINES", "FastPhase"]

ENGINES = ("auto", "mpfr")
"""``"auto"``: the certified fast phase, then MPFR for the undecided rest; ``"mpfr"``: MPFR only."""

FastPhase = Callable[..., "tuple[np.ndarray, np.ndarray]"]
"""``fast(fmt, tier=None) -> (values, decided)``: arrays of the output's shape, ``fmt.dtype`` and
bool; ``values`` is correctly rounded wherever ``decided`` is True (meaningless elsewhere).
``tier`` (:data:`~softmax_oracle.numerics.arith.DOUBLE` or ``DOUBLE_DOUBLE``) overrides the
arithmetic :func:`~softmax_oracle.numerics.arith.arith_for` picks for ``fmt``: every bound of the
fast phases holds in either tier, so either decides only correctly rounded values."""

ESCALATE_RATIO = 256
"""A narrow format's call whose double tier leaves ``u`` of its ``n`` elements undecided runs the
double-double tier on the whole call before MPFR when ``n <= ESCALATE_RATIO * u``.  Measured here:
the double-double phase rounds 4 to 7 million float64 softmax elements a second on long rows
(``tools/bench_oracle.py``) and costs 0.3 to 0.7 ms on a call of 16 elements; MPFR rounds 55,000 a
second when it computes whole rows, and one element of a short row took about 1 ms (two near-tie
float32 elements of a (2, 4) call: 2.9 ms with the general path, 0.7 ms escalated)."""


def check_engine(engine: Any) -> str:
    """``engine`` as one of :data:`ENGINES`, or :class:`InvalidInput` naming it."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(map(repr, ENGINES))}; got engine={engine!r}")
    return engine


@dataclass(frozen=True)
class Terms:
    """The output elements of one call (C order, the output's shape), built on demand.

    ``term(i)`` builds the term of flat element ``i``; ``describe(i)`` renders
    the inputs that produced it (exact hex floats) for error messages;
    ``fast``, when given, is the call's fast phase (see :data:`FastPhase`).
    """

    function: str
    term: Callable[[int], Term]
    shape: tuple[int, ...]
    describe: Callable[[int], str]
    fast: FastPhase | None = None

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _decide(terms: Terms, fmt: Format, indices, *, enclosed: bool = False) -> list:
    """The elements at flat ``indices`` rounded by MPFR: :class:`~..rounding.Rounded` values, or with
    ``enclosed=True`` the pairs ``(rounded, bounds)`` of :func:`~._ziv.decide_enclosed`."""
    out = []
    how = decide_enclosed if enclosed else decide
    for i in indices:
        i = int(i)
        try:
            out.append(how(terms.term(i), fmt, max_bits=MAX_BITS))
        except Undecided as err:
            index = tuple(int(v) for v in np.unravel_index(i, terms.shape)) if terms.shape else ()
            raise PrecisionExhausted(terms.function, index, err.max_bits, terms.describe(i), err.reason) from None
    return out


def round_terms(terms: Terms, fmt: Format, *, engine: str = "auto",
                first: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Every element correctly rounded to ``fmt``: an array of ``fmt.dtype`` (0-d for scalars).

    With ``engine="auto"`` the fast phase (if any) decides what it can (for
    float32, float16 and bfloat16 in the double tier, then, where it leaves
    enough undecided (:data:`ESCALATE_RATIO`), in the double-double tier) and
    only the other elements' terms are built and rounded by MPFR.  ``first``
    is the fast phase's ``(values, decided)`` in ``fmt``'s own tier when the
    caller has it already (:mod:`._enclosed`).
    """
    size = terms.size
    if engine == "auto" and terms.fast is not None and size:
        values, decided = first if first is not None else terms.fast(fmt)
        values = np.array(values, dtype=fmt.dtype).reshape(-1)
        decided = np.asarray(decided, dtype=bool).reshape(-1)
        undecided = np.flatnonzero(~decided)
        if undecided.size and arith_for(fmt) is not DOUBLE_DOUBLE and size <= ESCALATE_RATIO * undecided.size:
            v2, d2 = terms.fast(fmt, DOUBLE_DOUBLE)  # e.g. a float32 value 2**-60 from a midpoint
            d2 = np.asarray(d2, dtype=bool).reshape(-1)[undecided]
            values[undecided[d2]] = np.asarray(v2, dtype=fmt.dtype).reshape(-1)[undecided[d2]]
            undecided = undecided[~d2]
    else:
        values = np.empty(size, dtype=fmt.dtype)
        undecided = np.arange(size)
    if undecided.size:
        values[undecided] = to_array(_decide(terms, fmt, undecided), fmt, (undecided.size,))
    record(size, size - int(undecided.size))
    return values.reshape(terms.shape)


def exact_terms(terms: Terms, bits: int):
    """Every element correctly rounded to ``bits`` significant bits, as ``mpmath.mpf``.

    Returns an object ndarray, or a bare ``mpf`` for a 0-d result.
    """
    values = [to_mpf(v) for v in _decide(terms, binary_format(bits), range(terms.size))]
    if not terms.shape:
        return values[0]
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr.reshape(terms.shape)
