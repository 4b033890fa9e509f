"""softmax-oracle's pytest plugin (entry point ``pytest11``), loaded by pytest once the package is installed.

What it adds to a pytest run:

* ``--oracle-max-ulp ULP``: the run's budget for
  :func:`softmax_oracle.testing.assert_matches_oracle`.  A call without
  ``max_ulp=`` takes it (instead of 1.0); an explicit ``max_ulp=`` wins unless
  the run's budget is stricter (``min`` of the two): a run can tighten every
  test at once, never loosen what a test wrote down.
* ``--oracle-engine auto|mpfr``: the oracle engine for the run (stored with the
  budget in :class:`softmax_oracle.testing.RunDefaults`).
* a ``softmax_oracle`` fixture (:class:`softmax_oracle._pytest_support.OracleTools`):
  ``.oracle``, ``.exact`` and ``.assert_matches_oracle`` bound to those options.
* a terminal summary: per candidate x function x dtype, the number of checks,
  elements and failures, the worst ULP error and its input as a pasteable
  hex-float call, over every ``assert_matches_oracle`` of the session, passing
  ones included.

This module sits outside the package (as hypothesis's ``_hypothesis_pytestplugin``
does) and imports ``softmax_oracle`` only when the session uses it: a test
module imported it during collection, a test asked for the fixture, or one of
the options was given.  A test that imports it only inside its body is
recorded from the next test on.  With pytest-xdist each worker keeps its own
log (no summary on the controller).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any, Iterator

import pytest

ENGINES = ("auto", "mpfr")  # softmax_oracle.testing.ENGINES, without importing the package


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"--oracle-max-ulp must be a number >= 0; got {text!r}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("softmax-oracle", "softmax-oracle: accuracy against the correctly rounded oracle")
    group.addoption("--oracle-max-ulp", type=_budget, default=None, metavar="ULP",
                    help="ULP budget of assert_matches_oracle for this run: replaces the default 1.0; an explicit "
                         "max_ulp= in a test wins unless this one is stricter.")
    group.addoption("--oracle-engine", choices=ENGINES, default=None,
                    help="Oracle engine for this run: auto (certified fast phase, then MPFR) or mpfr (MPFR only).")


class _Session:
    """The run's options and, once the package is in use, its log and context."""

    def __init__(self, max_ulp: float | None, engine: str | None) -> None:
        self.max_ulp = max_ulp
        self.engine = engine
        self.log: Any = None
        self._contexts = contextlib.ExitStack()

    def activate(self) -> None:
        if self.log is not None:
            return
        from softmax_oracle._pytest_support import CheckLog
        from softmax_oracle.testing import observing, run_defaults

        self.log = CheckLog()
        self._contexts.enter_context(run_defaults(max_ulp=self.max_ulp, engine=self.engine))
        self._contexts.enter_context(observing(self.log))

    def close(self) -> None:
        self._contexts.close()


_SESSION = pytest.StashKey[_Session]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = _Session(config.getoption("oracle_max_ulp"), config.getoption("oracle_engine"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = config.stash[_SESSION]
    given = [f"{name}={value}" for name, value in (("--oracle-max-ulp", session.max_ulp),
                                                     ("--oracle-engine", session.engine)) if value is not None]
    return [f"softmax-oracle: {' '.join(given)}"] if given else []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    state = session.config.stash[_SESSION]
    uses_fixture = any("softmax_oracle" in getattr(item, "fixturenames", ()) for item in session.items)
    if "softmax_oracle" in sys.modules or uses_fixture or state.max_ulp is not None or state.engine is not None:
        state.activate()
    try:
        yield
    finally:
        state.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if "softmax_oracle" in sys.modules:  # imported since collection (e.g. by an earlier test's body)
        item.config.stash[_SESSION].activate()


@pytest.fixture
def softmax_oracle(request: pytest.FixtureRequest) -> Any:
    """The oracle and ``assert_matches_oracle`` bound to ``--oracle-max-ulp`` / ``--oracle-engine``."""
    from softmax_oracle._pytest_support import OracleTools

    state = request.config.stash[_SESSION]
    state.activate()
    return OracleTools(max_ulp=state.max_ulp, engine=state.engine)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or state.log is None:
        return
    rows = state.log.rows()
    if not rows:
        return
    from softmax_oracle._pytest_support import summary_lines

    terminalreporter.write_sep("=", "softmax-oracle accuracy (assert_matches_oracle, passing checks included)")
    for line in summary_lines(rows):
        terminalreporter.write_line(line)
