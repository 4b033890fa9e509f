"""The term builder of every function, by name (private): ``BUILD[name](grad, grad_output, *args, **kwargs)``.

Returns ``(terms, fmt)``: the :class:`._evaluate.Terms` of the call and the
format of its input.  ``args`` and ``kwargs`` are those of the public
``oracle.<name>`` without ``dtype`` and ``engine`` (and without
``grad_output``, passed apart: None for the values, the upstream gradient for
``grad=True``).  Shared by :mod:`softmax_oracle.exact`,
:func:`softmax_oracle.compare.exact_elements` and :mod:`._enclosed`; the
public ``oracle`` functions call the same builders.
"""

from __future__ import annotations

from typing import Callable

from ..formats import Format
from ._calls import pointwise_terms, row_terms
from ._evaluate import Terms
from ._loss_calls import (
    binary_cross_entropy_terms,
    binary_cross_entropy_with_logits_terms,
    cross_entropy_terms,
    kl_div_terms,
    nll_loss_terms,
)

__all__ = ["BUILD"]

BUILD: dict[str, Callable[..., "tuple[Terms, Format]"]] = {
    "logsumexp": lambda grad, g, x, axis=-1: row_terms("logsumexp", x, axis, g, grad=grad),
    "softmax": lambda grad, g, x, axis=-1: row_terms("softmax", x, axis, g, grad=grad),
    "log_softmax": lambda grad, g, x, axis=-1: row_terms("log_softmax", x, axis, g, grad=grad),
    "sigmoid": lambda grad, g, x: pointwise_terms("sigmoid", x, g, grad=grad),
    "log_sigmoid": lambda grad, g, x: pointwise_terms("log_sigmoid", x, g, grad=grad),
    "softplus": lambda grad, g, x: pointwise_terms("softplus", x, g, grad=grad),
    "cross_entropy": lambda grad, g, input, target, weight=None, ignore_index=-100, reduction="mean",
    label_smoothing=0.0: cross_entropy_terms(input, target, weight, ignore_index, reduction, label_smoothing,
                                             grad=grad, grad_output=g),
    "nll_loss": lambda grad, g, input, target, weight=None, ignore_index=-100, reduction="mean":
    nll_loss_terms(input, target, weight, ignore_index, reduction, grad=grad, grad_output=g),
    "kl_div": lambda grad, g, input, target, reduction="mean", log_target=False:
    kl_div_terms(input, target, reduction, log_target, grad=grad, grad_output=g),
    "binary_cross_entropy": lambda grad, g, input, target, weight=None, reduction="mean":
    binary_cross_entropy_terms(input, target, weight, reduction, grad=grad, grad_output=g),
    "binary_cross_entropy_with_logits": lambda grad, g, input, target, weight=None, reduction="mean",
    pos_weight=None: binary_cross_entropy_with_logits_terms(input, target, weight, reduction, pos_weight,
                                                            grad=grad, grad_output=g),
}
