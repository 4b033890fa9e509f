"""Rerun each finding's repro against the installed library and say whether the defect is still there.

A repro is standalone Python that prints the library's result at the
finding's element as a hex float on its last line of output.  It runs in a
fresh namespace with its output captured (nothing reaches the caller's
stdout); the library's own warnings are recorded as a count, not shown.

Status of a recheck:

``present``
    The defect is still there: for a ``zero sign`` finding, a zero of the
    wrong sign; for a ``wrong class`` finding, a result of the wrong class
    (NaN, inf or finite); for the others, an error above
    :data:`FIXED_MAX_ULP` ULP or a class mismatch.
``fixed``
    The result is within :data:`FIXED_MAX_ULP` ULP of the exact value, of the
    right class and sign.
``absent``
    The library is not installed (its module cannot be found).
``error``
    The repro raised, or printed no hex float: the corpus needs attention.

Whether the result is bit for bit the recorded one is reported apart
(``same_result``): a defect can be still present with a different value.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable

from ..ulp import Mismatch, class_mismatches
from ._measure import as_format, measured_of
from ._record import LIBRARIES, Finding

__all__ = ["Recheck", "STATUSES", "FIXED_MAX_ULP", "run_repro", "recheck", "recheck_all", "installed_version",
           "summary_counts"]

STATUSES = ("present", "fixed", "absent", "error")
FIXED_MAX_ULP = 1.0  # a result within 1 ULP of the exact value (faithful rounding) counts as fixed


@dataclass(frozen=True)
class Recheck:
    """The outcome of rerunning one finding's repro.

    Attributes
    ----------
    id : str
        The finding's id.
    status : str
        One of :data:`STATUSES`.
    version : str or None
        The installed version of the library (``None`` when absent).
    got : str or None
        The result now, as a hex float (``None`` when absent or on error).
    ulp_error : float or None
        Its ULP error against the exact value (NaN for a class mismatch).
    same_result : bool
        Whether ``got`` is bit for bit the recorded result.
    detail : str
        One line: what was found, or the exception.
    """

    id: str
    status: str
    version: str | None
    got: str | None
    ulp_error: float | None
    same_result: bool
    detail: str


def installed_version(library: str) -> str | None:
    """The installed version of ``library`` (a key of ``LIBRARIES``), ``None`` if it is not importable."""
    module, distribution = LIBRARIES[library]
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def run_repro(repro: str, *, name: str = "<finding>") -> float:
    """Run a repro; return the hex float printed on its last non-empty line.

    Raises
    ------
    ValueError
        If the repro printed nothing that parses as a hex float.
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings(record=True):
        # a library's own warnings (JAX's CPU notices, deprecations) are not the finding
        warnings.simplefilter("always")
        exec(compile(repro, name, "exec"), {"__name__": "__finding__"})  # noqa: S102 - the corpus's own repro
    lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"repro {name} printed nothing")
    try:
        return float.fromhex(lines[-1])
    except ValueError:
        raise ValueError(f"repro {name} printed {lines[-1]!r}, not a hex float") from None


def _still_present(finding: Finding, got: float, ulp: float) -> tuple[bool, str]:
    value = as_format(got, finding.dtype)
    rounded = as_format(float.fromhex(finding.rounded), finding.dtype)
    mismatch = Mismatch(int(class_mismatches(value, rounded)))
    if finding.kind == "zero sign":
        wrong = got == 0 and rounded == 0 and math.copysign(1, got) != math.copysign(1, float(rounded))
        return wrong, "zero of the wrong sign" if wrong else "sign of zero right"
    if finding.kind == "wrong class":
        wrong = mismatch not in (Mismatch.NONE, Mismatch.ZERO_SIGN)
        return wrong, mismatch.name.lower().replace("_", " ") if wrong else "right class"
    if mismatch not in (Mismatch.NONE, Mismatch.ZERO_SIGN):
        return True, mismatch.name.lower().replace("_", " ")
    above = bool(ulp > FIXED_MAX_ULP)
    return above, f"{'above' if above else 'within'} {FIXED_MAX_ULP:g} ULP of the exact value"


def recheck(finding: Finding, *, runner: Callable[[str], float] | None = None) -> Recheck:
    """Rerun ``finding.repro`` and classify the result (see the module docstring).

    ``runner`` (default :func:`run_repro`) runs a repro and returns its result;
    tests pass their own.
    """
    version = installed_version(finding.library)
    if version is None:
        return Recheck(finding.id, "absent", None, None, None, False, f"{finding.library} is not installed")
    run = runner or (lambda text: run_repro(text, name=f"<finding {finding.id}>"))
    try:
        got = run(finding.repro)
        ulp = measured_of(finding, got).ulp_error
    except Exception as err:  # noqa: BLE001 - any failure of a repro is reported, never raised
        return Recheck(finding.id, "error", version, None, None, False, f"{type(err).__name__}: {err}")
    present, detail = _still_present(finding, got, ulp)
    same = got.hex() == float.fromhex(finding.got).hex()
    return Recheck(finding.id, "present" if present else "fixed", version, got.hex(),
                   ulp, same, detail)


def recheck_all(findings: Iterable[Finding], *,
                runner: Callable[[str], float] | None = None) -> tuple[Recheck, ...]:
    """:func:`recheck` each finding, in order."""
    return tuple(recheck(f, runner=runner) for f in findings)


def summary_counts(rechecks: Iterable[Recheck]) -> dict[str, int]:
    """Number of rechecks per status, every status present (zeros included)."""
    counts = dict.fromkeys(STATUSES, 0)
    for r in rechecks:
        counts[r.status] += 1
    return counts

