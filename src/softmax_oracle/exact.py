"""Exact values: the oracle's functions as ``mpmath.mpf`` numbers, not rounded to a float format.

Each function takes the arguments of its namesake in
:mod:`softmax_oracle.oracle` (without ``dtype``) plus ``bits`` and returns the
exact value **correctly rounded to ``bits`` significant bits** (nearest-even,
unbounded exponent range), so at least ``bits`` bits are correct: an object
ndarray of ``mpmath.mpf``, or a bare ``mpf`` for a 0-d result.  NaN and
infinities are mpmath's ``nan`` and ``inf``; mpmath has no signed zero.
Values below MPFR's exponent range (``2**-1073741823``, e.g. ``exp(-1e10)``)
are rounded from their logarithm where the value is a single term of known
sign (softmax elements, the sigmoid family...); otherwise
:class:`~softmax_oracle.errors.PrecisionExhausted` says so.
Gradients are under :mod:`softmax_oracle.exact.grad <softmax_oracle.exact>`
(``exact.grad.softmax(x, grad_output=g, bits=...)``).

Examples
--------
The seeds' ``bigfloat`` experiment:

>>> import numpy as np, softmax_oracle as so
>>> p = so.exact.softmax(np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]), bits=100)
>>> import mpmath
>>> mpmath.nstr(p[0], 20)
'6.6385371046556734993e-1738'
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .arguments import check_bits
from .oracle._calls import pointwise_terms, row_terms
from .oracle._evaluate import exact_terms
from .oracle._loss_calls import (
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
    "grad",
]


def _exact(built, bits: Any):
    b = check_bits(bits)
    return exact_terms(built[0], b)


def logsumexp(x: Any, axis: int = -1, *, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.logsumexp` to ``bits`` bits."""
    check_bits(bits)
    return _exact(row_terms("logsumexp", x, axis, grad_output, grad=_grad), bits)


def softmax(x: Any, axis: int = -1, *, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.softmax` to ``bits`` bits."""
    check_bits(bits)
    return _exact(row_terms("softmax", x, axis, grad_output, grad=_grad), bits)


def log_softmax(x: Any, axis: int = -1, *, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.log_softmax` to ``bits`` bits."""
    check_bits(bits)
    return _exact(row_terms("log_softmax", x, axis, grad_output, grad=_grad), bits)


def sigmoid(x: Any, *, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.sigmoid` to ``bits`` bits."""
    check_bits(bits)
    return _exact(pointwise_terms("sigmoid", x, grad_output, grad=_grad), bits)


def log_sigmoid(x: Any, *, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.log_sigmoid` to ``bits`` bits."""
    check_bits(bits)
    return _exact(pointwise_terms("log_sigmoid", x, grad_output, grad=_grad), bits)


def softplus(x: Any, *, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.softplus` to ``bits`` bits."""
    check_bits(bits)
    return _exact(pointwise_terms("softplus", x, grad_output, grad=_grad), bits)


def cross_entropy(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0, bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.cross_entropy` to ``bits`` bits."""
    check_bits(bits)
    return _exact(cross_entropy_terms(input, target, weight, ignore_index, reduction, label_smoothing,
                                      grad=_grad, grad_output=grad_output), bits)


def nll_loss(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
             bits: int = 200, grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.nll_loss` to ``bits`` bits."""
    check_bits(bits)
    return _exact(nll_loss_terms(input, target, weight, ignore_index, reduction, grad=_grad, grad_output=grad_output), bits)


def kl_div(input: Any, target: Any, *, reduction: str = "mean", log_target: bool = False, bits: int = 200,
           grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.kl_div` to ``bits`` bits."""
    check_bits(bits)
    return _exact(kl_div_terms(input, target, reduction, log_target, grad=_grad, grad_output=grad_output), bits)


def binary_cross_entropy(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean", bits: int = 200,
                         grad_output: Any = None, _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.binary_cross_entropy` to ``bits`` bits."""
    check_bits(bits)
    return _exact(binary_cross_entropy_terms(input, target, weight, reduction, grad=_grad, grad_output=grad_output), bits)


def binary_cross_entropy_with_logits(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None, bits: int = 200, grad_output: Any = None,
                                     _grad: bool = False):
    """Exact :func:`softmax_oracle.oracle.binary_cross_entropy_with_logits` to ``bits`` bits."""
    check_bits(bits)
    return _exact(binary_cross_entropy_with_logits_terms(input, target, weight, reduction, pos_weight,
                                                         grad=_grad, grad_output=grad_output), bits)


def _gradient_of(f):
    def g(*args: Any, **kwargs: Any):
        return f(*args, _grad=True, **kwargs)

    g.__name__ = f.__name__
    g.__qualname__ = f"grad.{f.__name__}"
    g.__doc__ = (f"Exact gradient of :func:`softmax_oracle.oracle.{f.__name__}` w.r.t. its first argument, "
                 f"contracted with ``grad_output`` (see :mod:`softmax_oracle.oracle.grad`), to ``bits`` bits.")
    return g


grad = SimpleNamespace(**{name: _gradient_of(globals()[name]) for name in __all__ if name != "grad"})
"""Exact gradients: ``grad.<function>(..., grad_output=None, bits=200)``."""
