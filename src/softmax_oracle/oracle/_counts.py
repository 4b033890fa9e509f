"""How many output elements the fast phase decided: counted per call, read through a context manager.

The oracle's calls report ``(elements, phase1_decided)`` here; nothing is
kept unless a caller asked for it with :func:`decision_counts`, whose
recorder lives in a :class:`contextvars.ContextVar`: each thread (and each
asyncio task) sees only the counts of its own calls, and nested blocks all
receive them.  No module-level mutable state is read or written otherwise.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

__all__ = ["DecisionCounts", "decision_counts", "record"]


@dataclass
class DecisionCounts:
    """Totals over the oracle calls made inside one :func:`decision_counts` block.

    Attributes
    ----------
    calls : int
        Oracle calls (``softmax_oracle.oracle.*`` and ``.grad.*``).
    elements : int
        Output elements rounded.
    phase1_decided : int
        Elements the fast phase decided; the other ``elements -
        phase1_decided`` went to the MPFR engine (all of them with
        ``engine="mpfr"``).
    """

    calls: int = 0
    elements: int = 0
    phase1_decided: int = 0

    @property
    def phase2(self) -> int:
        """Elements rounded by the MPFR engine."""
        return self.elements - self.phase1_decided

    @property
    def rate(self) -> float:
        """``phase1_decided / elements`` (1.0 when there were no elements)."""
        return self.phase1_decided / self.elements if self.elements else 1.0


_ACTIVE: ContextVar[tuple[DecisionCounts, ...]] = ContextVar("softmax_oracle_decision_counts", default=())


@contextmanager
def decision_counts() -> Iterator[DecisionCounts]:
    """Count the elements the fast phase decides in the oracle calls of a ``with`` block.

    Yields a :class:`DecisionCounts` that the calls inside the block add to
    (it keeps its totals after the block).  Thread-safe: the recorder is
    context-local.

    Examples
    --------
    >>> import numpy as np, softmax_oracle as so
    >>> with so.oracle.decision_counts() as counts:
    ...     _ = so.oracle.softmax(np.array([1.0, 2.0, 3.0]))
    >>> counts.elements, counts.phase1_decided <= 3
    (3, True)
    """
    counts = DecisionCounts()
    token = _ACTIVE.set(_ACTIVE.get() + (counts,))
    try:
        yield counts
    finally:
        _ACTIVE.reset(token)


def record(elements: int, phase1_decided: int) -> None:
    """Add one call's counts to every active :func:`decision_counts` block."""
    for counts in _ACTIVE.get():
        counts.calls += 1
        counts.elements += elements
        counts.phase1_decided += phase1_decided
