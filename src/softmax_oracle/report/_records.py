"""The data a report is made of: one :class:`Record` per candidate x work unit, and the :class:`Report`.

Records are plain frozen data with a JSON form (:meth:`Record.to_dict`,
:meth:`Report.to_dict`) whose layout is versioned by :data:`SCHEMA_VERSION`;
field names follow :class:`softmax_oracle.compare.Comparison`
(``max_ulp_error``, ``worst_input``, ``mismatches``, ``n``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["SCHEMA_VERSION", "Record", "Report", "SAMPLED", "EXHAUSTIVE", "RECORD_FIELDS", "record_dicts"]

SCHEMA_VERSION = 2  # 2: zero signs counted apart, normal/subnormal-range maxima, input side files
SAMPLED = "sampled"
EXHAUSTIVE = "exhaustive"


@dataclass(frozen=True)
class Record:
    """How one candidate did on one work unit (function x dtype x regime or sweep point).

    Attributes
    ----------
    candidate, function : str
        Candidate name (registry name or ``"module:function"``) and oracle function.
    grad : bool
        Gradient (``softmax_oracle.oracle.grad.<function>``) instead of value.
    dtype : str
        Format of the inputs and results.
    regime : str
        A regime of :data:`softmax_oracle.regimes.REGIMES`, ``"scale"`` (logit
        magnitude sweep), ``"row_length"`` or ``"exhaustive"``.
    parameter : float or None
        The logit magnitude (``regime="scale"``) or row length (``"row_length"``).
    sampling : str
        ``"sampled"`` (seeded random arguments) or ``"exhaustive"`` (every
        value of a 16-bit format).
    seed : int
        Seed of the sample; with ``regime``, ``parameter`` and ``samples`` it
        regenerates the arguments (``sample_arguments(..., seed=seed)``).
    samples : int
        Number of argument sets evaluated (1 for exhaustive runs).
    batch, row_length : int, int or None
        Rows per argument set and entries per row given to the sampler
        (:func:`softmax_oracle.report.worst_arguments` rebuilds the worst set).
    n : int
        Number of output elements compared.
    status : str
        ``"ok"``, or the first problem status of :data:`softmax_oracle.compare.STATUSES`.
    problem : str
        What went wrong when ``status`` is not ``"ok"``.
    max_ulp_error, median_ulp_error, p99_ulp_error, mean_ulp_error : float
        Statistics of ``|got - exact| / ulp(exact)`` over the elements of the
        right class (``0.5`` = correctly rounded); NaN when none was measured.
    max_ulp_distance : int
        Largest number of float steps from the correctly rounded value.
    mismatches : int
        Number of elements of the wrong class (NaN, infinity, finite for
        infinite); zeros of the wrong sign are not among them.
    mismatch_kinds : tuple of (str, int)
        Counts per kind of class mismatch, ``zero_sign`` included.
    mismatch_input : str or None
        Arguments producing the first wrong-class element, as exact hex floats.
    worst_input : str or None
        Arguments producing the worst element (see ``worst_range``), as exact
        hex floats.  An input longer than
        :data:`softmax_oracle.report.LONG_INPUT` characters is kept in a
        gzip side file: the field then reads ``"file:inputs/<sha256>.txt.gz"``
        (relative to the output directory; :func:`read_input` resolves it).
        The same holds for ``mismatch_input`` and ``zero_sign_input``.
    worst_sample : int or None
        Index of that argument set in the sample.
    worst_got, worst_rounded : float or None
        Candidate's and correctly rounded value there.
    worst_exact : str or None
        The exact value there (decimal, 20 digits).
    condition : float or None
        Relative condition number of the function at the worst element
        (softmax family values only): a large error where this is large is an
        ill-posed problem, not a bad implementation.
    note : str
        The candidate adapter's note (promotions, clamps).
    zero_signs : int
        Number of zeros of the wrong sign (``-0.0`` for ``+0.0`` or the
        reverse, where the exact value fixes the sign), counted apart from
        ``mismatches``; their ULP error is measured like any element's.
    zero_sign_input : str or None
        Arguments producing the first of them.
    max_relative_error : float
        Largest ``|got - exact| / |exact|`` over the normal-range results (a
        result that rounds to zero has relative error 1 whatever the
        implementation), to about 3 digits; NaN when there are none.
    max_ulp_error_normal, max_ulp_error_subnormal : float
        ``max_ulp_error`` over the elements whose correctly rounded value is
        normal (or infinite), and over those whose correctly rounded value is
        subnormal or zero; NaN when there are none.
    worst_range : str or None
        ``"normal"`` or ``"subnormal"``: the range of the worst element.  The
        worst element is the normal-range one of largest ULP error when that
        error exceeds 1 ULP (the defects that matter most), else the element
        of largest ULP error overall.
    oracle_elements, phase1_decided : int
        Output elements the oracle rounded for this unit, and how many of them
        its fast phase decided (the rest went to MPFR; see
        ``softmax_oracle.oracle.decision_counts``); shared by the unit's
        candidates.  ``phase1_decided`` is -1 when the reference came from an
        exhaustive-table cache written without counts.
    """

    candidate: str
    function: str
    grad: bool
    dtype: str
    regime: str
    parameter: float | None
    sampling: str
    seed: int
    samples: int
    batch: int
    row_length: int | None
    n: int
    status: str
    problem: str
    max_ulp_error: float
    median_ulp_error: float
    p99_ulp_error: float
    mean_ulp_error: float
    max_ulp_distance: int
    mismatches: int
    mismatch_kinds: tuple[tuple[str, int], ...] = ()
    mismatch_input: str | None = None
    worst_input: str | None = None
    worst_sample: int | None = None
    worst_got: float | None = None
    worst_rounded: float | None = None
    worst_exact: str | None = None
    condition: float | None = None
    note: str = ""
    zero_signs: int = 0
    zero_sign_input: str | None = None
    max_relative_error: float = math.nan
    max_ulp_error_normal: float = math.nan
    max_ulp_error_subnormal: float = math.nan
    worst_range: str | None = None
    oracle_elements: int = 0
    phase1_decided: int = 0

    @property
    def label(self) -> str:
        """``"grad.softmax"`` or ``"softmax"``."""
        return f"grad.{self.function}" if self.grad else self.function

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; non-finite floats become strings (``"nan"``, ``"inf"``)."""
        out = asdict(self)
        out["mismatch_kinds"] = dict(self.mismatch_kinds)
        return {k: _json_float(v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: _from_json_float(v) for k, v in data.items() if k in names}
        values["mismatch_kinds"] = tuple(sorted(dict(data.get("mismatch_kinds", {})).items()))
        return cls(**values)


@dataclass(frozen=True)
class Report:
    """A finished sweep.

    Attributes
    ----------
    records : tuple of Record
    config : dict
        The sweep's configuration (:meth:`SweepConfig.to_dict`).
    unavailable : tuple of (str, str)
        Requested candidates that could not be loaded, with the reason.
    environment : dict
        Versions of Python, NumPy and the frameworks, platform and CPU count.
    created : str
        ISO 8601 time the report was assembled.
    schema_version : int
    """

    records: tuple[Record, ...]
    config: dict[str, Any] = field(default_factory=dict)
    unavailable: tuple[tuple[str, str], ...] = ()
    environment: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def candidates(self) -> tuple[str, ...]:
        """Candidates with records, in first-seen order."""
        return tuple(dict.fromkeys(r.candidate for r in self.records))

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.dtype for r in self.records))

    def labels(self, *, grad: bool) -> tuple[str, ...]:
        """Function labels with records, in first-seen order."""
        return tuple(dict.fromkeys(r.label for r in self.records if r.grad == grad))

    def select(self, **criteria: Any) -> tuple[Record, ...]:
        """Records whose attributes equal every ``criteria`` value, e.g. ``select(function="softmax")``."""
        return tuple(r for r in self.records if all(getattr(r, k) == v for k, v in criteria.items()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping.  Records are columnar: ``record_fields`` names the columns and each
        record is a list of values in that order (the names would otherwise be half the file);
        ``pandas.DataFrame(d["records"], columns=d["record_fields"])`` reads them."""
        return {
            "schema_version": self.schema_version,
            "created": self.created,
            "environment": self.environment,
            "config": self.config,
            "unavailable": dict(self.unavailable),
            "record_fields": list(RECORD_FIELDS),
            "records": [[row[name] for name in RECORD_FIELDS] for row in (r.to_dict() for r in self.records)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Inverse of :meth:`to_dict` (records as lists under ``record_fields``, or as mappings)."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"report schema_version={version!r}; this version reads {SCHEMA_VERSION}")
        return cls(
            records=tuple(Record.from_dict(r) for r in record_dicts(data)),
            config=dict(data.get("config", {})),
            unavailable=tuple(dict(data.get("unavailable", {})).items()),
            environment=dict(data.get("environment", {})),
            created=str(data.get("created", "")),
        )


def _json_float(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity; "nan", "inf", "-inf" read back with float()
    return value


def _from_json_float(value: Any) -> Any:
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Record))


def record_dicts(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a report's JSON mapping as ``{field: value}`` mappings."""
    names = data.get("record_fields")
    rows = data.get("records", [])
    return [dict(zip(names, row)) for row in rows] if names is not None else list(rows)
