"""Correctly rounded gradients of the oracle's functions with respect to their first argument.

Each function takes the arguments of its namesake in
:mod:`softmax_oracle.oracle` plus ``grad_output`` (the upstream gradient, of
the output's shape; default ones) and returns ``grad_output`` contracted with
the Jacobian, each element correctly rounded:

============================  =================================================
logsumexp                     ``g s_i``
softmax                       ``s_i (g_i - sum_j g_j s_j)``
log_softmax                   ``g_i - s_i sum_j g_j``
sigmoid                       ``g sigmoid(x) sigmoid(-x)``
log_sigmoid                   ``g sigmoid(-x)``
softplus                      ``g sigmoid(x)``
cross_entropy                 ``G_n (A_n s_i - a_{n,i})`` (``softmax - onehot``)
nll_loss                      ``-G_n w_t [i = t]``
kl_div                        ``-G y`` (``-G exp(t)`` with ``log_target``)
binary_cross_entropy          ``G w (p - y) / (p (1 - p))``
binary_cross_entropy_with_logits  ``G w ((1 + (pw - 1) y) sigmoid(x) - pw y)``
============================  =================================================

where ``G`` is ``grad_output`` divided by the reduction's denominator.  A
mean over a zero denominator (every target ignored or of zero weight) is
``0 / 0``: NaN for every sample with a loss term, ``+0`` for a sample
without one (an ignored target, or a zero target weight without
smoothing).  PyTorch gives 0 for ignored targets too, but NaN for a zero
target weight.
Every gradient also takes ``engine="auto" | "mpfr"`` (see
:mod:`softmax_oracle.oracle`): the same bits, ``"auto"`` through the
certified fast phase first.  A
non-finite ``grad_output`` gives NaN where it is used.  BCE's gradient at
``p = 0`` or ``1`` is infinite (PyTorch clamps the denominator at 1e-12).

Examples
--------
>>> import numpy as np, softmax_oracle as so
>>> so.oracle.grad.cross_entropy(np.array([[1.0, 2.0, 3.0]]), np.array([0]), reduction="sum")
array([[-0.90996943,  0.24472847,  0.66524096]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arguments import output_format
from ._calls import pointwise_terms, row_terms
from ._evaluate import check_engine, round_terms
from ._loss_calls import (
    binary_cross_entropy_terms,
    binary_cross_entropy_with_logits_terms,
    cross_entropy_terms,
    kl_div_terms,
    nll_loss_terms,
)

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


def _rounded(built, dtype, engine) -> np.ndarray:
    terms, fmt = built
    return round_terms(terms, output_format(dtype, fmt), engine=check_engine(engine))


def logsumexp(x: Any, axis: int = -1, *, grad_output: Any = None, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.logsumexp`: ``g s_i`` (softmax times the row's upstream gradient)."""
    return _rounded(row_terms("logsumexp", x, axis, grad_output, grad=True), dtype, engine)


def softmax(x: Any, axis: int = -1, *, grad_output: Any = None, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.softmax`: ``s_i (g_i - sum_j g_j s_j)``.

    With the default ``grad_output`` (ones) this is exactly zero.
    """
    return _rounded(row_terms("softmax", x, axis, grad_output, grad=True), dtype, engine)


def log_softmax(x: Any, axis: int = -1, *, grad_output: Any = None, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.log_softmax`: ``g_i - s_i sum_j g_j``."""
    return _rounded(row_terms("log_softmax", x, axis, grad_output, grad=True), dtype, engine)


def sigmoid(x: Any, *, grad_output: Any = None, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.sigmoid`: ``g sigmoid(x) sigmoid(-x)``."""
    return _rounded(pointwise_terms("sigmoid", x, grad_output, grad=True), dtype, engine)


def log_sigmoid(x: Any, *, grad_output: Any = None, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.log_sigmoid`: ``g sigmoid(-x)``."""
    return _rounded(pointwise_terms("log_sigmoid", x, grad_output, grad=True), dtype, engine)


def softplus(x: Any, *, grad_output: Any = None, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.softplus`: ``g sigmoid(x)``."""
    return _rounded(pointwise_terms("softplus", x, grad_output, grad=True), dtype, engine)


def cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: Any = None,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.cross_entropy` w.r.t. ``input``.

    ``G_n (A_n s_{n,i} - a_{n,i})`` with the class coefficients ``a`` of the
    forward docstring and ``A_n = sum_c a_{n,c}``: for an index target and
    ``reduction="sum"``, ``softmax(x) - onehot(t)``.
    """
    return _rounded(
        cross_entropy_terms(input, target, weight, ignore_index, reduction, label_smoothing, grad=True, grad_output=grad_output),
        dtype,
        engine,
    )


def nll_loss(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    grad_output: Any = None,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.nll_loss`: ``-G_n w_t`` at the target, 0 elsewhere."""
    return _rounded(nll_loss_terms(input, target, weight, ignore_index, reduction, grad=True, grad_output=grad_output), dtype, engine)


def kl_div(
    input: Any,
    target: Any,
    *,
    reduction: str = "mean",
    log_target: bool = False,
    grad_output: Any = None,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.kl_div` w.r.t. ``input``: ``-G y`` (``-G exp(t)``)."""
    return _rounded(kl_div_terms(input, target, reduction, log_target, grad=True, grad_output=grad_output), dtype, engine)


def binary_cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str = "mean",
    grad_output: Any = None,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.binary_cross_entropy` w.r.t. ``p``: ``G w (-y/p + (1-y)/(1-p))``.

    Exact rational; infinite at ``p = 0`` (``y != 0``) or ``p = 1`` (``y != 1``).
    """
    return _rounded(binary_cross_entropy_terms(input, target, weight, reduction, grad=True, grad_output=grad_output), dtype, engine)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    grad_output: Any = None,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Gradient of :func:`softmax_oracle.oracle.binary_cross_entropy_with_logits`: ``G w (L sigmoid(x) - pw y)``."""
    return _rounded(
        binary_cross_entropy_with_logits_terms(input, target, weight, reduction, pos_weight, grad=True, grad_output=grad_output),
        dtype,
        engine,
    )
