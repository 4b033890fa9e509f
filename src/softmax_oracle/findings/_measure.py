"""Measure a library's result against the oracle at one output element.

:func:`measure` is what ``tools/make_findings.py`` writes into each record and
what the tests and ``--recheck`` recompute: the correctly rounded value, the
exact value, the ULP and relative errors and the condition number.

Condition numbers come from :func:`softmax_oracle.report._condition.condition_number`
for the six value functions.  For the two univariate gradients, with
``s = sigmoid(x)``:

* ``grad.softplus = s``, so its condition number is sigmoid's, ``|x| s(-x)``;
* ``grad.sigmoid = s (1 - s)``, whose derivative is ``s (1 - s)(1 - 2 s)``,
  so ``|x (1 - 2 s)|``.

Other gradients and the losses get ``None``.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import mpmath
import numpy as np

from ..formats import format_of
from ..report._condition import condition_number
from ..ulp import relative_error, ulp_error
from ._record import Finding

__all__ = ["Measured", "measure", "call_of", "as_format", "EXACT_BITS", "EXACT_DIGITS", "exact_text",
           "measured_of"]

EXACT_BITS = 200  # bits of the exact value: far more than the 30 digits written
EXACT_DIGITS = 30


@dataclass(frozen=True)
class Measured:
    """The oracle's side of a finding at one element (see :class:`Finding` for the fields)."""

    rounded: str
    exact: str
    exact_value: Any  # mpmath.mpf with EXACT_BITS bits
    ulp_error: float
    relative_error: float
    condition: float | None


def _literal_namespace() -> dict[str, Any]:
    return {"np": np, "ml_dtypes": ml_dtypes, "float": float}


def call_of(arguments: tuple[str, ...], options: tuple[tuple[str, str], ...]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The oracle call's ``(args, kwargs)`` rebuilt from the record's literals."""
    namespace = _literal_namespace()
    args = tuple(eval(text, namespace) for text in arguments)  # noqa: S307 - the corpus's own literals
    kwargs = {name: eval(text, namespace) for name, text in options}  # noqa: S307
    return args, kwargs


def as_format(value: float, dtype: str) -> np.ndarray:
    """``value`` (a Python float holding a value of ``dtype`` exactly) as a 0-d array of ``dtype``.

    Raises ``ValueError`` if ``value`` is not a value of the format (the cast
    would round it).
    """
    fmt = format_of(ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype))
    arr = np.array(value, dtype=np.float64).astype(fmt.dtype)
    with np.errstate(invalid="ignore"):  # NaN compares unequal; checked apart
        same = math.isnan(value) or float(arr) == value
    if not same:
        raise ValueError(f"{value!r} is not a {dtype} value")
    return arr


def exact_text(value: Any) -> str:
    """``value`` to :data:`EXACT_DIGITS` significant digits, always in scientific notation."""
    return mpmath.nstr(value, EXACT_DIGITS, min_fixed=0, max_fixed=0)


def _condition(function: str, args: tuple[Any, ...], kwargs: dict[str, Any],
               element: tuple[int, ...]) -> float | None:
    if not function.startswith("grad."):
        return condition_number(function, args, kwargs, element)
    name = function.removeprefix("grad.")
    if name not in ("sigmoid", "softplus"):
        return None
    ctx = mpmath.MPContext()  # a private context: never the caller's global precision
    ctx.prec = 80
    x = ctx.mpf(float(np.asarray(args[0], dtype=np.float64)[element]))
    if name == "softplus":
        return float(abs(x) / (1 + ctx.exp(x)))
    return float(abs(x * (1 - 2 / (1 + ctx.exp(-x)))))


def measure(function: str, arguments: tuple[str, ...], options: tuple[tuple[str, str], ...],
            element: tuple[int, ...], got: float, dtype: str) -> Measured:
    """The oracle's values at ``element`` and the errors of ``got`` there.

    Parameters
    ----------
    function : str
        Oracle function name, ``grad.`` prefix for gradients.
    arguments, options, element
        As in :class:`Finding`.
    got : float
        The library's result at ``element`` (a value of ``dtype``).
    dtype : str
        The result's format.
    """
    args, kwargs = call_of(arguments, options)
    grad = function.startswith("grad.")
    name = function.removeprefix("grad.")
    package = __package__.rpartition(".")[0]
    oracle = importlib.import_module(".oracle.grad" if grad else ".oracle", package)
    exact_module = importlib.import_module(".exact", package)
    exact_fn = getattr(exact_module.grad if grad else exact_module, name)
    rounded = np.asarray(getattr(oracle, name)(*args, **kwargs))[element]
    exact = np.asarray(exact_fn(*args, **kwargs, bits=EXACT_BITS), dtype=object)[element]
    value = as_format(got, dtype)
    return Measured(
        rounded=float(rounded).hex(),
        exact=exact_text(exact),
        exact_value=exact,
        ulp_error=float(ulp_error(value, exact)),
        relative_error=float(relative_error(value, exact)),
        condition=_condition(function, args, kwargs, element),
    )


def measured_of(finding: Finding, got: float | None = None) -> Measured:
    """:func:`measure` at a finding's input, for ``got`` (default: the recorded result)."""
    value = float.fromhex(finding.got) if got is None else got
    return measure(finding.function, finding.arguments, finding.options, finding.element, value, finding.dtype)
