"""What a sweep evaluates: its configuration and the work units it splits into.

A :class:`WorkUnit` is one function (or gradient) x dtype x regime or sweep
point, evaluated for all the sweep's candidates on the same seeded arguments,
so the oracle runs once per argument set however many candidates there are.
Units are small, picklable and named by :attr:`WorkUnit.key`, which is what
the journal of finished units records (see :mod:`._run`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..candidates import CANDIDATES, FUNCTIONS
from ..errors import InvalidInput
from ..formats import FORMATS, format_of
from ..oracle._evaluate import check_engine
from ..regimes import REGIMES

__all__ = [
    "SweepConfig",
    "WorkUnit",
    "DEFAULT_CANDIDATES",
    "EXHAUSTIVE_FUNCTIONS",
    "EXHAUSTIVE_DTYPES",
    "ROW_FUNCTIONS",
    "SWEEP_REGIME",
    "plan_units",
    "scale_points",
    "overflow_point",
    "unit_seed",
]

DEFAULT_CANDIDATES: tuple[str, ...] = tuple(CANDIDATES)
EXHAUSTIVE_FUNCTIONS: tuple[str, ...] = ("sigmoid", "log_sigmoid", "softplus")
EXHAUSTIVE_DTYPES: tuple[str, ...] = ("float16", "bfloat16")
ROW_FUNCTIONS: tuple[str, ...] = ("logsumexp", "softmax", "log_softmax")
SWEEP_REGIME = "moderate"  # scale and row-length sweeps draw moderate rows at the given scale / length
_DTYPES = tuple(f.name for f in FORMATS)


@dataclass(frozen=True)
class SweepConfig:
    """The parameters of a sweep (see :meth:`full` and :meth:`quick` for the presets).

    Attributes
    ----------
    candidates : tuple of str
        Registry names or ``"module:function"`` strings.
    functions : tuple of str
        Oracle functions.
    dtypes : tuple of str
        Formats.
    regimes : tuple of str
        Regimes of :data:`softmax_oracle.regimes.REGIMES`.
    gradients : bool
        Sweep the gradients too.
    samples : int
        Argument sets per regime unit.
    batch : int
        Rows per argument set.
    seed : int
        Master seed; each unit's seed is derived from it (:func:`unit_seed`).
    scale_points : int
        Logit magnitudes per decade in the dense part of the scale sweep, from
        1e-3 to ten times the format's exp-overflow point ``log(max)``
        (:func:`scale_points`); 0 disables the sweep.
    scale_sparse : int
        Most logit magnitudes beyond that, up to the format's max.
    scale_samples : int
        Argument sets per scale point.
    row_lengths : tuple of int
        Row lengths of the row-length sweep (``logsumexp``, ``softmax``,
        ``log_softmax``); empty disables it.
    row_elements : int
        Budget of input elements per row-length point: one argument set of
        ``max(1, row_elements // length)`` rows.
    engine : str
        The oracle's engine, ``"auto"`` or ``"mpfr"`` (same answers; the
        records count the elements its fast phase decided).
    exhaustive_functions, exhaustive_dtypes : tuple of str
        Univariate functions (among ``sigmoid``, ``log_sigmoid``,
        ``softplus``) evaluated, with their gradients, on every value of these
        16-bit formats (among ``float16``, ``bfloat16``) that are also in
        ``functions`` and ``dtypes``; empty disables the exhaustive runs.
    signed_zeros : bool
        Count zeros of the wrong sign as failures in the rendered report
        (records always count them, apart from the other class mismatches).
    """

    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    functions: tuple[str, ...] = FUNCTIONS
    dtypes: tuple[str, ...] = _DTYPES
    regimes: tuple[str, ...] = REGIMES
    gradients: bool = True
    samples: int = 8
    batch: int = 8
    seed: int = 0
    scale_points: int = 3
    scale_sparse: int = 12
    scale_samples: int = 2
    row_lengths: tuple[int, ...] = (1, 10, 100, 1_000, 10_000, 100_000)
    row_elements: int = 2_000
    exhaustive_functions: tuple[str, ...] = EXHAUSTIVE_FUNCTIONS
    exhaustive_dtypes: tuple[str, ...] = EXHAUSTIVE_DTYPES
    signed_zeros: bool = False
    engine: str = "auto"

    @classmethod
    def full(cls, **changes: Any) -> SweepConfig:
        """The default report: every function, dtype and regime, with sweeps and exhaustive runs."""
        return replace(cls(), **changes).validated()

    @classmethod
    def quick(cls, **changes: Any) -> SweepConfig:
        """A smoke-sized report (well under a minute on two cores): fewer samples, short sweeps."""
        quick = cls(
            samples=3, batch=2, scale_points=1, scale_sparse=3, scale_samples=1, row_lengths=(1, 10, 100),
            row_elements=200, exhaustive_functions=("sigmoid",), exhaustive_dtypes=("float16",), functions=("logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid",
                                           "softplus", "cross_entropy"),
        )
        return replace(quick, **changes).validated()

    def validated(self) -> SweepConfig:
        """This config, or :class:`InvalidInput` naming the first bad field."""
        _check_names("functions", self.functions, FUNCTIONS)
        _check_names("dtypes", self.dtypes, _DTYPES)
        _check_names("regimes", self.regimes, REGIMES)
        check_engine(self.engine)
        if not self.candidates:
            raise InvalidInput("candidates must name at least one candidate; got candidates=()")
        for name in ("samples", "batch", "scale_samples", "row_elements"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{name} must be an integer >= 1; got {name}={value!r}")
        for name in ("scale_points", "scale_sparse"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"{name} must be an integer >= 0; got {name}={value!r}")
        if not set(self.exhaustive_functions) <= set(EXHAUSTIVE_FUNCTIONS):
            raise InvalidInput(f"exhaustive_functions must be among {', '.join(EXHAUSTIVE_FUNCTIONS)}; "
                               f"got exhaustive_functions={self.exhaustive_functions!r}")
        if not set(self.exhaustive_dtypes) <= set(EXHAUSTIVE_DTYPES):
            raise InvalidInput(f"exhaustive_dtypes must be among {', '.join(EXHAUSTIVE_DTYPES)}; "
                               f"got exhaustive_dtypes={self.exhaustive_dtypes!r}")
        if any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10**6 for n in self.row_lengths):
            raise InvalidInput(f"row_lengths must be integers in [1, 10**6]; got row_lengths={self.row_lengths!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WorkUnit:
    """One function x dtype x regime (or sweep point) for all the sweep's candidates.

    Attributes
    ----------
    candidates : tuple of str
    function : str
    grad : bool
    dtype : str
    regime : str
        A regime, ``"scale"``, ``"row_length"`` or ``"exhaustive"``.
    parameter : float or None
        Logit magnitude or row length of a sweep point.
    samples, batch : int
        Argument sets and rows per set (ignored by exhaustive units).
    row_length : int or None
        Row length of the arguments.
    seed : int
        Seed of :func:`softmax_oracle.regimes.sample_arguments`.
    engine : str
        The oracle's engine (not part of :attr:`key`: both engines give the
        same answers, so a journal written with one resumes with the other).
    """

    candidates: tuple[str, ...]
    function: str
    grad: bool
    dtype: str
    regime: str
    parameter: float | None
    samples: int
    batch: int
    row_length: int | None
    seed: int
    engine: str = "auto"

    @property
    def key(self) -> str:
        """A string naming the unit exactly (journal key)."""
        fields = asdict(self)
        del fields["engine"]
        return json.dumps(fields, sort_keys=True)

    @property
    def cost(self) -> int:
        """Rough number of oracle element evaluations (for ordering the work, longest first)."""
        if self.regime == "exhaustive":
            return 1 << 16
        return self.samples * self.batch * (self.row_length or 8)

    @property
    def sampler_regime(self) -> str:
        """The regime passed to ``sample_arguments`` (sweeps draw :data:`SWEEP_REGIME` rows)."""
        return SWEEP_REGIME if self.regime in ("scale", "row_length") else self.regime


def _check_names(field_name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    if not values:
        raise InvalidInput(f"{field_name} must not be empty; choose from {', '.join(allowed)}")
    bad = [v for v in values if v not in allowed]
    if bad:
        raise InvalidInput(f"{field_name} must be among {', '.join(allowed)}; got {field_name}={values!r}")


def unit_seed(seed: int, *parts: Any) -> int:
    """A seed for one unit, derived from the master ``seed`` and the unit's identity (stable across runs)."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def overflow_point(dtype: str) -> float:
    """``log(max)`` of the format: ``exp(x)`` overflows just beyond it (709.78, 88.72, 11.09, 88.72)."""
    return math.log(format_of(dtype).max_value)


def scale_points(dtype: str, *, per_decade: int = 3, sparse: int = 12) -> tuple[float, ...]:
    """Logit magnitudes of the scale sweep: dense where behaviour changes, sparse beyond.

    Dense: ``10**(k / per_decade)`` from ``1e-3`` up to ``10 * overflow_point(dtype)``
    (that end included), plus the overflow point itself.  Sparse: at most
    ``sparse`` magnitudes evenly spaced in ``log10`` from there to the format's
    max (float64: ``max / 2``, because the sampler draws ``uniform(-s, s)`` in
    float64, whose width must stay finite), never denser than the dense part,
    the max included.  ``per_decade=0`` gives no points.
    """
    if per_decade <= 0:
        return ()
    top = format_of(dtype).max_value
    if top * 2 == math.inf:
        top /= 2
    edge = overflow_point(dtype)
    knee = 10 * edge
    dense = [10.0 ** (k / per_decade) for k in range(-3 * per_decade, math.floor(per_decade * math.log10(knee)) + 1)]
    points = sorted({*dense, edge, knee})
    span = math.log10(top) - math.log10(knee)
    count = min(sparse, math.floor(span * per_decade)) if span > 0 else 0
    if count > 0:
        points += [10.0 ** (math.log10(knee) + span * i / count) for i in range(1, count)] + [top]
    return tuple(points)


def plan_units(config: SweepConfig) -> tuple[WorkUnit, ...]:
    """The work units of ``config``, most expensive first."""
    units: list[WorkUnit] = []
    grads = (False, True) if config.gradients else (False,)

    def add(function: str, grad: bool, dtype: str, regime: str, parameter: float | None, samples: int,
            batch: int, row_length: int | None) -> None:
        seed = unit_seed(config.seed, function, dtype, regime, parameter)
        units.append(WorkUnit(config.candidates, function, grad, dtype, regime, parameter, samples, batch,
                              row_length, seed, config.engine))

    for function in config.functions:
        for grad in grads:
            for dtype in config.dtypes:
                for regime in config.regimes:
                    add(function, grad, dtype, regime, None, config.samples, config.batch, None)
                for scale in scale_points(dtype, per_decade=config.scale_points, sparse=config.scale_sparse):
                    add(function, grad, dtype, "scale", scale, config.scale_samples, 1, None)
                if function in ROW_FUNCTIONS:
                    for length in config.row_lengths:
                        # one argument set of many rows: per-call overhead, not the oracle, dominates short rows
                        add(function, grad, dtype, "row_length", float(length), 1,
                            max(1, config.row_elements // length), length)
                if function in config.exhaustive_functions and dtype in config.exhaustive_dtypes:
                    add(function, grad, dtype, "exhaustive", None, 1, 1, None)
    return tuple(sorted(units, key=lambda u: -u.cost))
