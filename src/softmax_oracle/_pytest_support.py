"""The library side of the pytest plugin: the session's log of checks, its summary, the fixture's object.

The plugin itself (``_softmax_oracle_pytestplugin``, a top-level module so
that a pytest run that never uses softmax-oracle does not import it) keeps
only hooks and options; everything that needs the package is here.

The log is an observer (:func:`softmax_oracle.testing.observing`): one
:class:`CheckLog` per pytest session, owned by the plugin, no module state.
It records every :func:`~softmax_oracle.testing.assert_matches_oracle`,
passing or failing, under a lock (checks made from several threads that
share the session's context are counted once each).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import exact, oracle
from .compare import Comparison
from .testing import Check, assert_matches_oracle, run_defaults

__all__ = ["CheckLog", "SummaryRow", "summary_lines", "OracleTools", "REPRO_CHARS"]

REPRO_CHARS = 4000  # longer repros (rows of thousands of floats) are cut, and say so


@dataclass(frozen=True)
class SummaryRow:
    """Every check of one candidate x function x dtype in a session.

    Attributes
    ----------
    candidate, function, dtype : str
        ``Comparison.candidate``; the function (``grad.`` prefixed for
        gradients); the output format.
    checks, elements, failed : int
        Assertions made, output elements compared, assertions that failed.
    mismatches : int
        Output elements of the wrong class (NaN for a number...).
    problems : int
        Checks where the candidate raised or returned the wrong type, shape or dtype.
    worst_ulp : float
        Largest ULP error over the elements of the right class (NaN when none).
    worst_budget : float
        The budget of the check that had it.
    repro : str or None
        Its worst element's call, with the input as exact hex floats.
    """

    candidate: str
    function: str
    dtype: str
    checks: int
    elements: int
    failed: int
    mismatches: int
    problems: int
    worst_ulp: float
    worst_budget: float
    repro: str | None


@dataclass
class _Cell:
    checks: int = 0
    elements: int = 0
    failed: int = 0
    mismatches: int = 0
    problems: int = 0
    worst_ulp: float = math.nan
    worst_budget: float = math.nan
    repro: str | None = None


class CheckLog:
    """Observer that aggregates checks per candidate x function x dtype (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[tuple[str, str, str], _Cell] = {}

    def __call__(self, check: Check) -> None:
        c: Comparison = check.comparison
        key = (c.candidate, f"{'grad.' if c.grad else ''}{c.function}", c.format)
        with self._lock:
            cell = self._cells.setdefault(key, _Cell())
            cell.checks += 1
            cell.elements += c.n
            cell.failed += not check.passed
            cell.mismatches += len(c.mismatches)
            cell.problems += c.status != "ok"
            if c.worst_index is not None and not c.max_ulp_error <= cell.worst_ulp:  # NaN-safe: first one wins
                cell.worst_ulp, cell.worst_budget, cell.repro = c.max_ulp_error, check.max_ulp, check.repro

    def rows(self) -> tuple[SummaryRow, ...]:
        """The rows, worst first (NaN last), then by name."""
        with self._lock:
            rows = [SummaryRow(*key, **vars(cell)) for key, cell in self._cells.items()]
        return tuple(sorted(rows, key=lambda r: (math.isnan(r.worst_ulp), -_or(r.worst_ulp, 0.0),
                                                 r.candidate, r.function, r.dtype)))


def _or(value: float, default: float) -> float:
    return default if math.isnan(value) else value


def _ulp_text(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4g}"


def summary_lines(rows: tuple[SummaryRow, ...]) -> list[str]:
    """The terminal summary: a table, then each row's worst input as a pasteable call."""
    header = ("candidate", "function", "dtype", "checks", "elements", "failed", "worst ULP", "budget", "class",
              "raised")
    table = [header] + [(r.candidate, r.function, r.dtype, str(r.checks), str(r.elements), str(r.failed),
                         _ulp_text(r.worst_ulp), _ulp_text(r.worst_budget), str(r.mismatches), str(r.problems))
                        for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in table]
    lines.append("worst input of each row (exact hex floats; np = numpy):")
    for r in rows:
        repro = r.repro or "-"
        if len(repro) > REPRO_CHARS:
            repro = f"{repro[:REPRO_CHARS]}... ({len(repro)} characters, cut)"
        lines.append(f"  {r.candidate} {r.function} {r.dtype}: {repro}")
    return lines


@dataclass(frozen=True)
class OracleTools:
    """What the ``softmax_oracle`` fixture gives a test: the oracle, and assertions bound to the run's options.

    Attributes
    ----------
    max_ulp : float or None
        ``--oracle-max-ulp`` (``None``: not given, the default budget is 1.0).
    engine : str or None
        ``--oracle-engine`` (``None``: not given).
    oracle, exact : module
        :mod:`softmax_oracle.oracle` (``.grad`` for gradients) and :mod:`softmax_oracle.exact`.
    """

    max_ulp: float | None = None
    engine: str | None = None
    oracle: ModuleType = field(default=oracle, repr=False)
    exact: ModuleType = field(default=exact, repr=False)

    def assert_matches_oracle(self, candidate: Any, function: str, *args: Any, max_ulp: float | None = None,
                              grad: bool = False, **kwargs: Any) -> Comparison:
        """:func:`softmax_oracle.testing.assert_matches_oracle` under the run's budget and engine.

        The run's options apply even where the session's context does not
        reach (a thread the test started).
        """
        with run_defaults(max_ulp=self.max_ulp, engine=self.engine):
            return assert_matches_oracle(candidate, function, *args, max_ulp=max_ulp, grad=grad, **kwargs)
