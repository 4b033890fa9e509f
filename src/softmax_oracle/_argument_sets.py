"""Targets, weights and complete argument sets, written against a :class:`~.regimes.Source`.

Shared by :func:`softmax_oracle.regimes.sample_arguments` (NumPy) and
:mod:`softmax_oracle.strategies` (Hypothesis), so both produce the same kinds
of argument sets from the same code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from .candidates import FUNCTIONS, check_function
from .errors import InvalidInput
from .formats import Format
from .regimes import REGIMES, Source, logit_rows, to_format

__all__ = [
    "ROW_FUNCTIONS",
    "ELEMENTWISE_FUNCTIONS",
    "reductions_of",
    "check_function",
    "check_reduction",
    "class_indices",
    "probability_rows",
    "binary_values",
    "positive_weights",
    "argument_set",
]

ROW_FUNCTIONS = ("logsumexp", "softmax", "log_softmax")
ELEMENTWISE_FUNCTIONS = ("sigmoid", "log_sigmoid", "softplus")
IGNORE_INDEX = -100


def reductions_of(function: str) -> tuple[str, ...]:
    """The reductions ``function`` accepts (empty for the non-losses)."""
    if function in ROW_FUNCTIONS or function in ELEMENTWISE_FUNCTIONS:
        return ()
    return ("none", "mean", "sum", "batchmean") if function == "kl_div" else ("none", "mean", "sum")


def check_reduction(function: str, reduction: Any) -> str | None:
    """``reduction`` if ``function`` accepts it (``None`` = drawn)."""
    if reduction is None:
        return None
    allowed = reductions_of(function)
    if not allowed:
        raise InvalidInput(f"reduction applies to the losses only; got reduction={reduction!r} for {function}")
    if not isinstance(reduction, str) or reduction not in allowed:
        raise InvalidInput(
            f"reduction must be one of {', '.join(map(repr, allowed))} for {function}; got reduction={reduction!r}"
        )
    return reduction


def class_indices(source: Source, logits: np.ndarray, *, ignore_chance: float = 1 / 6) -> np.ndarray:
    """One class index per row of ``(B, C)`` ``logits`` (int64), preferring classes with a finite logit.

    With probability ``ignore_chance`` a sample gets ``ignore_index = -100``.
    """
    out = []
    for row in logits:
        finite = [int(i) for i in np.flatnonzero(np.isfinite(row.astype(np.float64)))]
        options = finite if finite and not source.chance(1 / 8) else list(range(row.shape[0]))
        out.append(IGNORE_INDEX if source.chance(ignore_chance) else source.choice(options))
    return np.array(out, dtype=np.int64)


def probability_rows(source: Source, fmt: Format, rows: int, length: int) -> np.ndarray:
    """``(rows, length)`` probabilities of ``fmt``: each row sums to exactly 1 and may hold exact zeros.

    Entries are multiples ``a_i / 2**k`` with ``sum a_i = 2**k`` and ``k <=
    min(p - 1, 10)``, so every entry is exact in the format and the row sum
    is exactly 1.  The cut points that split ``2**k`` may coincide (zeros),
    and some positions get no share at all (more zeros).
    """
    k_max = min(fmt.precision - 1, 10)
    out = np.zeros((rows, length), dtype=np.float64)
    for r in range(rows):
        k = source.integers(0, k_max, 1)[0]
        parts = source.integers(1, length, 1)[0]
        cuts = sorted(source.integers(0, 2**k, parts - 1))
        shares = np.diff([0, *cuts, 2**k]).astype(np.float64) / 2.0**k
        positions = list(range(length))
        for i in range(length - 1, 0, -1):  # Fisher-Yates: which positions get the shares
            j = source.integers(0, i, 1)[0]
            positions[i], positions[j] = positions[j], positions[i]
        out[r, positions[:parts]] = shares
    return out.astype(fmt.dtype)


def binary_values(source: Source, fmt: Format, shape: tuple[int, ...], *, soft_chance: float = 1 / 4) -> np.ndarray:
    """0/1 targets of ``fmt``; with probability ``soft_chance`` soft targets in [0, 1] instead."""
    size = int(np.prod(shape))
    if source.chance(soft_chance):
        values = source.floats(0.0, 1.0, size)
    else:
        values = np.array(source.integers(0, 1, size), dtype=np.float64)
    return values.reshape(shape).astype(fmt.dtype)


def positive_weights(source: Source, fmt: Format, shape: tuple[int, ...], *, allow_zero: bool = True) -> np.ndarray:
    """Finite weights of ``fmt`` in ``[1/16, 16]`` (some exactly 0 when ``allow_zero``)."""
    size = int(np.prod(shape))
    values = 2.0 ** source.floats(-4.0, 4.0, size)
    if allow_zero and source.chance(1 / 4):
        values[source.integers(0, size - 1, 1)[0]] = 0.0
    return to_format(values.reshape(shape), fmt)


def _loss_kwargs(source: Source, function: str, reduction: str | None) -> dict[str, Any]:
    return {"reduction": reduction if reduction is not None else source.choice(reductions_of(function))}


def argument_set(
    source: Source,
    function: str,
    fmt: Format,
    *,
    regime: str | None,
    batch: int,
    length: int,
    scale: float | None,
    reduction: str | None = None,
    regimes: tuple[str, ...] = REGIMES,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One ``(args, kwargs)`` for the oracle's ``function`` (see :func:`~.regimes.sample_arguments`).

    ``regime=None`` draws one of ``regimes`` for the set.
    """
    if function not in FUNCTIONS:
        check_function(function)
    chosen = regime if regime is not None else source.choice(regimes)
    x = logit_rows(source, fmt, chosen, rows=batch, length=length, scale=scale)
    if function in ROW_FUNCTIONS or function in ELEMENTWISE_FUNCTIONS:
        return (x,), {}
    kwargs = _loss_kwargs(source, function, reduction)
    shape = x.shape
    if function in ("cross_entropy", "nll_loss"):
        if function == "cross_entropy" and source.chance(1 / 3):
            target: np.ndarray = probability_rows(source, fmt, batch, length)
        else:
            target = class_indices(source, x)
        if source.chance(1 / 3):
            kwargs["weight"] = positive_weights(source, fmt, (length,))
        if function == "cross_entropy" and source.chance(1 / 4):
            kwargs["label_smoothing"] = source.choice((0.05, 0.1, 0.25))
        return (x, target), kwargs
    if function == "kl_div":
        probabilities = probability_rows(source, fmt, batch, length)
        if source.chance(1 / 4):
            kwargs["log_target"] = True
            with np.errstate(divide="ignore"):  # log(0) = -inf is the log-target of a zero
                return (x, to_format(np.log(probabilities.astype(np.float64)), fmt)), kwargs
        return (x, probabilities), kwargs
    target = binary_values(source, fmt, shape)
    if source.chance(1 / 3):
        kwargs["weight"] = positive_weights(source, fmt, shape if source.chance(1 / 2) else (length,))
    if function == "binary_cross_entropy":
        # the input is a probability: the sigmoid of the regime's logits, rounded to the format
        p = np.clip(expit(x.astype(np.float64)), 0.0, 1.0)
        return (p.astype(fmt.dtype), target), kwargs
    if source.chance(1 / 4):
        kwargs["pos_weight"] = positive_weights(source, fmt, (length,), allow_zero=False)
    return (x, target), kwargs
