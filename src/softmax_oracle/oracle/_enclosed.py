"""Correctly rounded values together with the fast phase's enclosures of the exact ones (private).

:func:`rounded_and_enclosed` serves :func:`softmax_oracle.fuzz.search`'s
screen: with an enclosure ``|x - 2**exp (hi + lo)| <= 2**exp rad`` of every
exact value, the ULP error of a candidate is bounded without a second oracle
call in float64 (:mod:`softmax_oracle._fuzz_screen`).  The forward row
functions have them (logsumexp, softmax, log_softmax: a
:class:`._fast_rows.RowPhase`), and the gradient of cross_entropy, class or
probability targets, with or without label smoothing (a
:class:`._fast_rows.GradientPhase`);
the rounded values are those of the public functions, bit for bit (the same
fast phase, then :func:`._evaluate.round_terms` for what it leaves).
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

import numpy as np

from ..arguments import output_format
from ..numerics.enclosure import Enclosure
from ._calls import row_terms
from ._evaluate import round_terms
from ._fast_rows import GradientPhase, RowPhase
from ._loss_calls import cross_entropy_terms

__all__ = ["ENCLOSED", "rounded_and_enclosed"]

ENCLOSED = {False: ("logsumexp", "softmax", "log_softmax"), True: ("cross_entropy",)}
"""The functions (by ``grad``) that may have enclosures."""


@lru_cache(maxsize=None)
def _signature(function: str, grad: bool) -> inspect.Signature:
    """The signature of the public ``oracle[.grad].<function>`` (imported at call time: no import cycle)."""
    from .. import oracle as forward
    from . import grad as grad_module

    return inspect.signature(getattr(grad_module if grad else forward, function))


def rounded_and_enclosed(function: str, *args: Any, grad: bool = False, **kwargs: Any
                         ) -> tuple[np.ndarray, Enclosure] | None:
    """``oracle[.grad].<function>(*args, **kwargs)`` and the enclosures of the exact values, or None.

    Returns ``(rounded, enclosure)``: the fields of the
    :class:`~softmax_oracle.numerics.enclosure.Enclosure` have the result's
    shape, ``rad`` is ``inf`` where the fast phase states nothing (see
    :meth:`._fast_rows.RowPhase.enclosed`).  None where the call has none (a
    function outside :data:`ENCLOSED`, ``engine="mpfr"``, an empty call, a
    call without a fast phase): the caller asks the public function instead.
    Raises what the public function raises.
    """
    if function not in ENCLOSED[grad]:
        return None
    bound = _signature(function, grad).bind(*args, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    if a.get("engine", "auto") != "auto":
        return None
    if grad:
        terms, fmt = cross_entropy_terms(a["input"], a["target"], a["weight"], a["ignore_index"], a["reduction"],
                                         a["label_smoothing"], grad=True, grad_output=a["grad_output"])
    else:
        terms, fmt = row_terms(function, a["x"], a["axis"])
    out = output_format(a["dtype"], fmt)
    phase = terms.fast
    if terms.size == 0 or not isinstance(phase, (RowPhase, GradientPhase)):
        return None
    first = phase.enclosed(out)
    if first is None:
        return None
    values, decided, enclosure = first
    return round_terms(terms, out, first=(values, decided)), enclosure
