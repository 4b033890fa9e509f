"""Named logit regimes: the inputs that break softmax-family code, defined once.

Random ``N(0, 1)`` logits almost never reach the places where float
implementations fail.  A *regime* names one such place and says, for each
format, what a row of logits in it looks like.  The thresholds come from
:mod:`softmax_oracle.formats` (precision ``p``, smallest normal exponent
``emin``, largest finite value ``max``), not from hard-coded constants; see
:class:`Thresholds`:

=================  =========  =========  =========  =========
threshold          float64    float32    float16    bfloat16
=================  =========  =========  =========  =========
``underflow_gap``  745.13     103.97     17.33      92.88
``subnormal_gap``  708.40     87.34      9.70       87.34
``overflow_edge``  709.78     88.72      11.09      88.72
``dominant_gap``   36.74      16.64      7.62       5.55
=================  =========  =========  =========  =========

The regimes (``REGIMES``), for a row of length ``L`` of a format ``f`` and a
logit magnitude ``scale`` (defaults in :func:`default_scale`):

``moderate``
    Uniform in ``[-scale, scale]`` (default 10): the easy case every
    implementation should get right.
``huge_gap``
    The row's maximum ``m`` lies in ``[-scale, scale]``; at least one other
    entry sits further than ``underflow_gap`` below it (``exp(x_i - m)``
    rounds to 0 in ``f``), up to ``3 underflow_gap``; the others are within
    ``underflow_gap`` of ``m``.
``near_tie``
    Every entry within 3 ULP of ``f`` of a base value in ``[-scale, scale]``
    (exact ties included): the differences ``x_i - m`` are a few ULP or 0.
``dominant``
    One entry ``m`` exceeds every other by between ``dominant_gap / 2`` and
    ``min(2.5 dominant_gap, underflow_gap)``, so the largest probability is
    ``1 - t`` with ``t`` around the unit roundoff, where ``log(1 + t)``
    loses what ``log1p(t)`` keeps.
``masked``
    A ``moderate`` row with at least one ``-inf`` (a mask); one row in eight
    is fully masked (all ``-inf``).
``overflow_edge``
    The maximum lies within 2 of ``overflow_edge = log(max)`` (clipped to
    ``max``), so ``exp(x)`` overflows for about half of the rows; the others
    lie within ``scale`` (default 8) below it.  One row in four is negated
    (for ``exp(-x)`` in ``sigmoid``).
``subnormal_out``
    The maximum lies in ``[-scale, scale]``; at least one entry lies between
    ``subnormal_gap`` and ``underflow_gap`` below it, so its softmax is a
    subnormal number of ``f``; the others are within ``underflow_gap``.
``full_range``
    Finite values of ``f`` with ``|x| <= scale`` (default ``max``), uniform
    over bit patterns: magnitudes are log-uniform from the smallest
    subnormal to ``scale``, signs random.

At magnitudes where the spacing of ``f`` exceeds a regime's gaps (a large
``scale``), the structure collapses into ties: this is what a scale sweep
measures.  Elementwise functions (``sigmoid``...) take the rows'
entries as independent inputs.

Rows are built by functions written against a :class:`Source` of random
choices, so the same code serves the seeded NumPy sampler
(:func:`sample_arguments`) and the Hypothesis strategies
(:mod:`softmax_oracle.strategies`), which draw the same choices from
Hypothesis and so can shrink and target them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, TypeVar

import numpy as np

from .errors import InvalidInput
from .formats import Format, format_of
from .ulp import ordered

__all__ = [
    "REGIMES",
    "Thresholds",
    "thresholds",
    "default_scale",
    "check_regime",
    "check_scale",
    "Source",
    "NumpySource",
    "logit_rows",
    "sample_arguments",
]

REGIMES: tuple[str, ...] = (
    "moderate",
    "huge_gap",
    "near_tie",
    "dominant",
    "masked",
    "overflow_edge",
    "subnormal_out",
    "full_range",
)

_T = TypeVar("_T")
_LN2 = math.log(2.0)


@dataclass(frozen=True)
class Thresholds:
    """Where ``exp`` stops behaving in one format (all in units of logits).

    Attributes
    ----------
    underflow_gap : float
        ``(p - emin) ln 2``: ``exp(-d)`` rounds to 0 for ``d`` at or beyond
        it (it is at most half the smallest subnormal ``2**(emin - p + 1)``).
    subnormal_gap : float
        ``-emin ln 2``: ``exp(-d)`` is subnormal for ``d`` beyond it.
    overflow_edge : float
        ``ln(max)``: ``exp(x)`` overflows (rounds to inf) just beyond it.
    dominant_gap : float
        ``p ln 2``: ``exp(-d)`` is half an ULP of 1 (``2**-p``) at ``d`` equal
        to it, so ``1 + exp(-d)`` rounds to 1 beyond it.
    max_value : float
        Largest finite value of the format.
    """

    underflow_gap: float
    subnormal_gap: float
    overflow_edge: float
    dominant_gap: float
    max_value: float


def thresholds(dtype: Any) -> Thresholds:
    """The :class:`Thresholds` of ``dtype``'s format (float64, float32, float16, bfloat16)."""
    fmt = format_of(dtype)
    return Thresholds(
        underflow_gap=(fmt.precision - fmt.emin) * _LN2,
        subnormal_gap=-fmt.emin * _LN2,
        overflow_edge=math.log(fmt.max_value),
        dominant_gap=fmt.precision * _LN2,
        max_value=fmt.max_value,
    )


def default_scale(regime: str, dtype: Any) -> float:
    """The default ``scale`` of ``regime`` (see the module docstring)."""
    fmt = format_of(dtype)
    check_regime(regime)
    if regime == "full_range":
        return fmt.max_value
    return 8.0 if regime == "overflow_edge" else 10.0


def check_regime(regime: Any, *, allow_none: bool = False) -> str | None:
    """``regime`` if it is one of :data:`REGIMES` (or ``None`` when allowed)."""
    if regime is None and allow_none:
        return None
    if not isinstance(regime, str) or regime not in REGIMES:
        extra = " or None" if allow_none else ""
        raise InvalidInput(f"regime must be one of {', '.join(REGIMES)}{extra}; got regime={regime!r}")
    return regime


def check_scale(scale: Any, fmt: Format) -> float | None:
    """``scale`` as a float in ``[smallest subnormal, max]`` of ``fmt``, or ``None``."""
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not fmt.smallest_subnormal <= float(scale) <= fmt.max_value:
        raise InvalidInput(
            f"scale must be a number in [{fmt.smallest_subnormal!r}, {fmt.max_value!r}] (the positive "
            f"range of {fmt.name}); got scale={scale!r}"
        )
    return float(scale)


def check_count(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    """An integer argument in ``[low, high]``; :class:`InvalidInput` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
            or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidInput(f"{name} must be an integer {bound}; got {name}={value!r}")
    return int(value)


class Source(Protocol):
    """The random choices rows and targets are built from."""

    def floats(self, low: float, high: float, size: int) -> np.ndarray:
        """``size`` float64 values in ``[low, high]``."""

    def integers(self, low: int, high: int, size: int) -> list[int]:
        """``size`` Python ints in ``[low, high]`` (both included)."""

    def choice(self, options: Sequence[_T]) -> _T:
        """One of ``options``."""

    def chance(self, probability: float) -> bool:
        """True with about ``probability``."""


class NumpySource:
    """A :class:`Source` over a seeded :class:`numpy.random.Generator`."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def floats(self, low: float, high: float, size: int) -> np.ndarray:
        return self.rng.uniform(low, high, size) if high > low else np.full(size, float(low))

    def integers(self, low: int, high: int, size: int) -> list[int]:
        if high - low < 2**62:
            return [int(v) + low for v in self.rng.integers(0, high - low + 1, size)]
        return [low + int.from_bytes(self.rng.bytes(8), "little") % (high - low + 1) for _ in range(size)]

    def choice(self, options: Sequence[_T]) -> _T:
        return options[int(self.rng.integers(0, len(options)))]

    def chance(self, probability: float) -> bool:
        return bool(self.rng.random() < probability)


def to_format(values: np.ndarray, fmt: Format) -> np.ndarray:
    """``values`` rounded to ``fmt`` (finite values clipped to ``+-max`` first)."""
    with np.errstate(invalid="ignore"):  # -inf masks pass through the clip unchanged
        clipped = np.where(np.isfinite(values), np.clip(values, -fmt.max_value, fmt.max_value), values)
    return clipped.astype(fmt.dtype)


def from_ordered(k: Any, fmt: Format) -> np.ndarray:
    """Inverse of :func:`softmax_oracle.ulp.ordered`: the floats of ordered integers ``k``."""
    k = np.asarray(k, dtype=np.int64)
    sign = np.uint64(1 << (fmt.bits - 1))
    bits = np.where(k < 0, np.abs(k).astype(np.uint64) | sign, k.astype(np.uint64))
    return bits.astype(fmt.uint_dtype).view(fmt.dtype)


def _shuffled(source: Source, values: list[float]) -> list[float]:
    """Fisher-Yates with the source's choices."""
    out = list(values)
    for i in range(len(out) - 1, 0, -1):
        j = source.integers(0, i, 1)[0]
        out[i], out[j] = out[j], out[i]
    return out


def _gap_row(source: Source, length: int, scale: float, near: float, far: tuple[float, float]) -> np.ndarray:
    """A row whose max ``m`` is in ``[-scale, scale]``, one entry ``far`` below it, the others ``near``."""
    m = float(source.floats(-scale, scale, 1)[0])
    if length == 1:
        return np.array([m])
    gaps = [0.0, float(source.floats(far[0], far[1], 1)[0])]
    gaps += [float(g) for g in source.floats(0.0, near, length - 2)]
    return m - np.array(_shuffled(source, gaps))


def _near_tie_row(source: Source, length: int, scale: float, fmt: Format) -> np.ndarray:
    base = to_format(source.floats(-scale, scale, 1), fmt)
    steps = np.array(source.integers(-3, 3, length), dtype=np.int64)
    limit = int(ordered(np.array(fmt.max_value, dtype=fmt.dtype)))
    k = np.clip(ordered(base) + steps, -limit, limit)
    return from_ordered(k, fmt).astype(np.float64)


def _full_range_row(source: Source, length: int, scale: float, fmt: Format) -> np.ndarray:
    top = int(ordered(to_format(np.array([scale]), fmt))[0])
    magnitudes = source.integers(0, top, length)
    signs = source.integers(0, 1, length)
    k = np.array([-m if s else m for m, s in zip(magnitudes, signs)], dtype=np.int64)
    return from_ordered(k, fmt).astype(np.float64)


def _row(source: Source, regime: str, length: int, scale: float, fmt: Format, th: Thresholds) -> np.ndarray:
    """One row of ``regime`` as float64 values (rounded to ``fmt`` by the caller)."""
    if regime == "moderate":
        return source.floats(-scale, scale, length)
    if regime == "huge_gap":
        return _gap_row(source, length, scale, th.underflow_gap, (th.underflow_gap + 1.0, 3 * th.underflow_gap))
    if regime == "near_tie":
        return _near_tie_row(source, length, scale, fmt)
    if regime == "dominant":
        low, high = th.dominant_gap / 2, min(2.5 * th.dominant_gap, th.underflow_gap)
        m = float(source.floats(-scale, scale, 1)[0])
        others = m - source.floats(low, high, length - 1)
        return np.array(_shuffled(source, [m, *others.tolist()]))
    if regime == "masked":
        row = source.floats(-scale, scale, length)
        if source.chance(1 / 8):
            return np.full(length, -np.inf)
        masked = source.integers(0, 1, length)
        masked[source.integers(0, length - 1, 1)[0]] = 1
        return np.where(np.array(masked, dtype=bool), -np.inf, row)
    if regime == "overflow_edge":
        edge = min(th.overflow_edge, th.max_value)
        m = float(source.floats(edge - 2.0, edge + 2.0, 1)[0])
        row = np.array(_shuffled(source, [m, *(m - source.floats(0.0, scale, length - 1)).tolist()]))
        return -row if source.chance(1 / 4) else row
    if regime == "subnormal_out":
        return _gap_row(source, length, scale, th.underflow_gap, (th.subnormal_gap, th.underflow_gap - 0.5))
    return _full_range_row(source, length, scale, fmt)


def logit_rows(source: Source, dtype: Any, regime: str, *, rows: int, length: int,
               scale: float | None = None) -> np.ndarray:
    """A ``(rows, length)`` array of ``dtype`` whose rows are in ``regime``.

    Parameters
    ----------
    source : Source
        Where the random choices come from (:class:`NumpySource`, or a
        Hypothesis draw in :mod:`softmax_oracle.strategies`).
    dtype : dtype-like
        float64, float32, float16 or ``ml_dtypes.bfloat16``.
    regime : str
        One of :data:`REGIMES`.
    rows, length : int
        Number of rows (>= 0) and entries per row (>= 1).
    scale : float, optional
        Logit magnitude (see the module docstring); default
        :func:`default_scale`.
    """
    fmt = format_of(dtype)
    check_regime(regime)
    scale = check_scale(scale, fmt)
    if scale is None:
        scale = default_scale(regime, fmt)
    th = thresholds(fmt)
    out = np.empty((rows, length), dtype=fmt.dtype)
    for i in range(rows):
        out[i] = to_format(_row(source, regime, length, scale, fmt, th), fmt)
    return out


def sample_arguments(
    function: str,
    dtype: Any,
    regime: str,
    *,
    n: int,
    seed: int,
    row_length: int | None = None,
    scale: float | None = None,
    batch: int = 1,
    reduction: str | None = None,
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """``n`` complete argument sets ``(args, kwargs)`` for the oracle's ``function``, seeded.

    ``softmax_oracle.oracle.<function>(*args, **kwargs)`` accepts each set
    (and so does any candidate with the oracle's signature).  The logits (the
    input of every function but ``binary_cross_entropy``, whose input is
    their sigmoid) have shape ``(batch, row_length)`` and rows in ``regime``.
    Loss targets match them:

    * ``cross_entropy``: class indices (int64, ``ignore_index=-100`` in
      about one sample in six) or probability rows (exactly summing to 1,
      with exact zeros); sometimes ``weight`` and ``label_smoothing``;
    * ``nll_loss``: class indices, sometimes ``weight``;
    * ``kl_div``: probability rows, sometimes as log-probabilities with
      ``log_target=True``;
    * ``binary_cross_entropy[_with_logits]``: 0/1 targets (sometimes soft
      targets in [0, 1]), sometimes ``weight`` (and ``pos_weight``).

    Parameters
    ----------
    function : str
        Oracle function name (``"softmax"``, ``"cross_entropy"``...).
    dtype : dtype-like
        float64, float32, float16 or ``ml_dtypes.bfloat16``.
    regime : str
        One of :data:`REGIMES`.
    n : int
        Number of argument sets (>= 0).
    seed : int
        Seed (>= 0): the same arguments give the same sets.
    row_length : int, optional
        Entries per row (classes for the class losses), 1 to ``10**6``;
        default 8.
    scale : float, optional
        Logit magnitude, in the format's positive range; default
        :func:`default_scale`.
    batch : int
        Rows per argument set (>= 1).
    reduction : str, optional
        Reduction of the losses; default: drawn among the allowed ones.

    Raises
    ------
    InvalidInput
        Any argument out of its domain; the message names it.

    Examples
    --------
    >>> sets = sample_arguments("softmax", "float32", "huge_gap", n=2, seed=0)
    >>> [args[0].shape for args, kwargs in sets]
    [(1, 8), (1, 8)]
    """
    from ._argument_sets import argument_set, check_function, check_reduction

    check_function(function)
    fmt = format_of(dtype)
    check_regime(regime)
    n = check_count(n, "n", low=0)
    seed = check_count(seed, "seed", low=0)
    length = 8 if row_length is None else check_count(row_length, "row_length", low=1, high=10**6)
    scale = check_scale(scale, fmt)
    batch = check_count(batch, "batch", low=1)
    check_reduction(function, reduction)
    source = NumpySource(np.random.default_rng(seed))
    return [
        argument_set(source, function, fmt, regime=regime, batch=batch, length=length, scale=scale,
                     reduction=reduction)
        for _ in range(n)
    ]
