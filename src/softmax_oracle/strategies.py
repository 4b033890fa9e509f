"""Hypothesis strategies for the inputs that break softmax-family code.

In the style of :mod:`hypothesis.extra.numpy`: keyword-only, typed factories
that validate their arguments eagerly (:class:`~softmax_oracle.errors.InvalidInput`
naming the argument and its value) and return a ``SearchStrategy``.

The rows come from :mod:`softmax_oracle.regimes`, drawn through Hypothesis
(every random choice of a regime is a Hypothesis draw, so examples shrink
and :func:`hypothesis.target` can climb them); ``regime=None`` mixes all the
regimes.  float16 and bfloat16 are supported: Hypothesis cannot draw
bfloat16, so values are drawn as float64 and rounded, or (``full_range``,
``near_tie``) drawn as bit patterns of the format's unsigned integer width
and viewed as the format.

Examples
--------
>>> from hypothesis import given
>>> import softmax_oracle as so
>>> from softmax_oracle import strategies as sst
>>> @given(sst.logits("float32", shape=(2, 5), regime="huge_gap"))
... def test_softmax_sums_to_one(x):
...     assert abs(float(so.oracle.softmax(x).astype("float64").sum(axis=-1)[0]) - 1) < 1e-6
>>> test_softmax_sums_to_one()
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ._argument_sets import (
    argument_set,
    binary_values,
    check_function,
    check_reduction,
    class_indices,
    positive_weights,
    probability_rows,
)
from .errors import InvalidInput
from .formats import Format, format_of
from .regimes import REGIMES, check_count, check_regime, check_scale, logit_rows

__all__ = [
    "logits",
    "class_targets",
    "probability_targets",
    "binary_targets",
    "weights",
    "arguments",
    "register_profiles",
    "HypothesisSource",
]

_T = TypeVar("_T")
Shape = tuple[int, ...]


class HypothesisSource:
    """A :class:`~softmax_oracle.regimes.Source` whose choices are Hypothesis draws.

    ``chance`` draws an integer that shrinks towards "no", so shrunk examples
    drop the optional features (masks, weights, ignored samples).  Choices
    shrink towards the first option (``moderate`` among the regimes).
    """

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def floats(self, low: float, high: float, size: int) -> np.ndarray:
        element = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return np.array(self.draw(st.lists(element, min_size=size, max_size=size)), dtype=np.float64)

    def integers(self, low: int, high: int, size: int) -> list[int]:
        return list(self.draw(st.lists(st.integers(low, high), min_size=size, max_size=size)))

    def choice(self, options: Sequence[_T]) -> _T:
        return self.draw(st.sampled_from(options))

    def chance(self, probability: float) -> bool:
        # Hypothesis draws 0 far more often than 1/1000 (its simplest value): scatter the other values
        # uniformly over [0, 1000) and send 0 to "no", so "yes" keeps about its probability
        v = self.draw(st.integers(0, 999))
        return v != 0 and (v * 7919) % 1000 < round(1000 * probability)


def _shape(shape: Any) -> Shape:
    dims = (shape,) if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool) else shape
    if not isinstance(dims, tuple) or not dims or \
            any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in dims):
        raise InvalidInput(f"shape must be a positive int or a non-empty tuple of positive ints; got shape={shape!r}")
    return tuple(int(s) for s in dims)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be True or False; got {name}={value!r}")
    return value


def _regimes(regime: str | None, allow_neg_inf: bool) -> tuple[str, ...]:
    check_regime(regime, allow_none=True)
    if regime == "masked" and not allow_neg_inf:
        raise InvalidInput("Cannot have regime='masked' with allow_neg_inf=False: masked rows hold -inf")
    if regime is not None:
        return (regime,)
    return tuple(r for r in REGIMES if allow_neg_inf or r != "masked")


def _specials(source: HypothesisSource, x: np.ndarray, *, nan: bool, pos_inf: bool) -> np.ndarray:
    """Sometimes put a NaN / +inf at a drawn position (when allowed)."""
    flat = x.reshape(-1)
    for allowed, value in ((nan, np.nan), (pos_inf, np.inf)):
        if allowed and source.chance(1 / 4):
            flat[source.integers(0, flat.size - 1, 1)[0]] = value
    return x


def logits(
    dtype: Any,
    *,
    shape: int | Shape = (2, 8),
    regime: str | None = None,
    scale: float | None = None,
    allow_neg_inf: bool = True,
    allow_pos_inf: bool = False,
    allow_nan: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of logits of ``dtype`` whose rows (last axis) lie in a regime.

    Parameters
    ----------
    dtype : dtype-like
        float64, float32, float16 or ``ml_dtypes.bfloat16``.
    shape : int or tuple of int
        Shape of the arrays (positive sizes); rows run along the last axis.
    regime : str, optional
        One of :data:`softmax_oracle.regimes.REGIMES`; ``None`` (default)
        draws a regime per array among all of them.
    scale : float, optional
        Logit magnitude (see :mod:`softmax_oracle.regimes`).
    allow_neg_inf : bool
        Allow ``-inf`` masks (the ``masked`` regime); ``False`` excludes it.
    allow_pos_inf, allow_nan : bool
        Sometimes (one array in four) put a ``+inf`` / a NaN at one position.

    Raises
    ------
    InvalidInput
        An argument out of its domain, or ``regime="masked"`` with
        ``allow_neg_inf=False``.
    """
    fmt = format_of(dtype)
    dims = _shape(shape)
    neg_inf = _flag(allow_neg_inf, "allow_neg_inf")
    nan, pos_inf = _flag(allow_nan, "allow_nan"), _flag(allow_pos_inf, "allow_pos_inf")
    options = _regimes(regime, neg_inf)
    scale = check_scale(scale, fmt)
    rows = int(np.prod(dims[:-1], dtype=np.int64))

    @st.composite
    def draw_logits(draw: Callable[[st.SearchStrategy[Any]], Any]) -> np.ndarray:
        source = HypothesisSource(draw)
        chosen = source.choice(options)
        x = logit_rows(source, fmt, chosen, rows=rows, length=dims[-1], scale=scale).reshape(dims)
        return _specials(source, x, nan=nan, pos_inf=pos_inf)

    return draw_logits()


def class_targets(logits: np.ndarray, *, ignore_index: int | None = -100) -> st.SearchStrategy[np.ndarray]:
    """int64 class indices matching ``logits`` (class dimension 1, or 0 for 1-D input).

    The target has the logits' shape without the class dimension; classes
    with a finite logit are preferred.  With an ``ignore_index`` (default
    ``-100``) about one sample in six gets it; ``None`` never ignores.
    """
    x = np.asarray(logits)
    if x.ndim == 0 or x.dtype.kind != "f" and x.dtype.name != "bfloat16":
        raise InvalidInput(f"logits must be a float array with a class dimension; got logits of shape {x.shape} "
                           f"and dtype {x.dtype}")
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
        raise InvalidInput(f"ignore_index must be an integer or None; got ignore_index={ignore_index!r}")
    if ignore_index is not None and 0 <= ignore_index < x.shape[0 if x.ndim == 1 else 1]:
        raise InvalidInput(f"ignore_index must not be a class of the logits; got ignore_index={ignore_index!r}")
    axis = 0 if x.ndim == 1 else 1
    rows = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    sample_shape = tuple(s for i, s in enumerate(x.shape) if i != axis)
    chance = 0.0 if ignore_index is None else 1 / 6

    @st.composite
    def draw_targets(draw: Callable[[st.SearchStrategy[Any]], Any]) -> np.ndarray:
        t = class_indices(HypothesisSource(draw), rows, ignore_chance=chance)
        if ignore_index is not None:
            t[t == -100] = ignore_index
        return t.reshape(sample_shape)

    return draw_targets()


def probability_targets(dtype: Any, *, shape: int | Shape) -> st.SearchStrategy[np.ndarray]:
    """Probabilities of ``dtype`` whose rows (last axis) sum to exactly 1, with exact zeros.

    Entries are multiples of ``2**-k`` (``k <= min(p - 1, 10)``), so each is
    exact in the format and every row sums to 1 without rounding.
    """
    fmt = format_of(dtype)
    dims = _shape(shape)
    rows = int(np.prod(dims[:-1], dtype=np.int64))

    @st.composite
    def draw_rows(draw: Callable[[st.SearchStrategy[Any]], Any]) -> np.ndarray:
        return probability_rows(HypothesisSource(draw), fmt, rows, dims[-1]).reshape(dims)

    return draw_rows()


def binary_targets(dtype: Any, *, shape: int | Shape, soft: bool = True) -> st.SearchStrategy[np.ndarray]:
    """Targets of ``dtype`` in {0, 1}; with ``soft``, one array in four holds values in [0, 1] instead."""
    fmt = format_of(dtype)
    dims = _shape(shape)
    chance = 1 / 4 if _flag(soft, "soft") else 0.0

    @st.composite
    def draw_targets(draw: Callable[[st.SearchStrategy[Any]], Any]) -> np.ndarray:
        return binary_values(HypothesisSource(draw), fmt, dims, soft_chance=chance)

    return draw_targets()


def weights(dtype: Any, *, shape: int | Shape, allow_zero: bool = True) -> st.SearchStrategy[np.ndarray]:
    """Finite weights of ``dtype`` in ``[1/16, 16]``; with ``allow_zero``, sometimes one exact 0."""
    fmt = format_of(dtype)
    dims = _shape(shape)
    zero = _flag(allow_zero, "allow_zero")

    @st.composite
    def draw_weights(draw: Callable[[st.SearchStrategy[Any]], Any]) -> np.ndarray:
        return positive_weights(HypothesisSource(draw), fmt, dims, allow_zero=zero)

    return draw_weights()


def arguments(
    function: str,
    dtype: Any,
    *,
    regime: str | None = None,
    max_batch: int = 2,
    max_row_length: int = 8,
    scale: float | None = None,
    reduction: str | None = None,
) -> st.SearchStrategy[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Complete ``(args, kwargs)`` for the oracle's ``function`` (see :func:`~softmax_oracle.regimes.sample_arguments`).

    The logits have shape ``(batch, length)`` with ``batch`` drawn in
    ``[1, max_batch]`` and ``length`` in ``[1, max_row_length]``; targets,
    weights, ``ignore_index``, ``label_smoothing``, ``log_target`` and
    ``pos_weight`` are drawn to match.  ``regime=None`` draws the regime.

    Examples
    --------
    >>> from hypothesis import given
    >>> import softmax_oracle as so
    >>> @given(arguments("cross_entropy", "float16", regime="dominant"))
    ... def test_cross_entropy_is_finite(call):
    ...     args, kwargs = call
    ...     assert np.isfinite(so.oracle.cross_entropy(*args, **kwargs).astype("float64")).all()
    >>> test_cross_entropy_is_finite()
    """
    check_function(function)
    fmt: Format = format_of(dtype)
    options = _regimes(regime, True)
    max_batch = check_count(max_batch, "max_batch", low=1)
    max_row_length = check_count(max_row_length, "max_row_length", low=1)
    scale = check_scale(scale, fmt)
    check_reduction(function, reduction)

    @st.composite
    def draw_arguments(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        source = HypothesisSource(draw)
        batch = source.integers(1, max_batch, 1)[0]
        length = source.integers(1, max_row_length, 1)[0]
        return argument_set(source, function, fmt, regime=None, batch=batch, length=length, scale=scale,
                            reduction=reduction, regimes=options)

    return draw_arguments()


def register_profiles(*, load: bool = True) -> None:
    """Register the Hypothesis profiles ``ci`` and ``dev`` and (``load``) load one.

    ``ci``: 60 examples, derandomized; ``dev``: 200 examples.  Both have no
    deadline (an oracle call at raised precision can take milliseconds) and
    silence the ``too_slow`` / ``data_too_large`` health checks.  ``CI=true``
    selects ``ci``, ``HYPOTHESIS_PROFILE`` overrides.
    """
    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, print_blob=True,
                              suppress_health_check=quiet)
    settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True, suppress_health_check=quiet)
    if load:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
