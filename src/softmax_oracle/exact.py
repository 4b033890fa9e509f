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
'6.6385371046556734994e-1738'
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from .arguments import check_bits
from .oracle._builders import BUILD as _BUILD
from .oracle._evaluate import exact_terms

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


def _exact(built, bits: int):
    return exact_terms(built[0], bits)


def _value(name: str, bits: Any, *args: Any, **kwargs: Any):
    b = check_bits(bits)  # before the (possibly long) term building
    return _exact(_BUILD[name](False, None, *args, **kwargs), b)


def logsumexp(x: Any, axis: int = -1, *, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.logsumexp` to ``bits`` bits."""
    return _value("logsumexp", bits, x, axis)


def softmax(x: Any, axis: int = -1, *, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.softmax` to ``bits`` bits."""
    return _value("softmax", bits, x, axis)


def log_softmax(x: Any, axis: int = -1, *, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.log_softmax` to ``bits`` bits."""
    return _value("log_softmax", bits, x, axis)


def sigmoid(x: Any, *, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.sigmoid` to ``bits`` bits."""
    return _value("sigmoid", bits, x)


def log_sigmoid(x: Any, *, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.log_sigmoid` to ``bits`` bits."""
    return _value("log_sigmoid", bits, x)


def softplus(x: Any, *, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.softplus` to ``bits`` bits."""
    return _value("softplus", bits, x)


def cross_entropy(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.cross_entropy` to ``bits`` bits."""
    return _value("cross_entropy", bits, input, target, weight=weight, ignore_index=ignore_index,
                  reduction=reduction, label_smoothing=label_smoothing)


def nll_loss(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
             bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.nll_loss` to ``bits`` bits."""
    return _value("nll_loss", bits, input, target, weight=weight, ignore_index=ignore_index, reduction=reduction)


def kl_div(input: Any, target: Any, *, reduction: str = "mean", log_target: bool = False, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.kl_div` to ``bits`` bits."""
    return _value("kl_div", bits, input, target, reduction=reduction, log_target=log_target)


def binary_cross_entropy(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean", bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.binary_cross_entropy` to ``bits`` bits."""
    return _value("binary_cross_entropy", bits, input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None, bits: int = 200):
    """Exact :func:`softmax_oracle.oracle.binary_cross_entropy_with_logits` to ``bits`` bits."""
    return _value("binary_cross_entropy_with_logits", bits, input, target, weight=weight, reduction=reduction,
                  pos_weight=pos_weight)


def _gradient_of(name: str):
    def g(*args: Any, grad_output: Any = None, bits: int = 200, **kwargs: Any):
        b = check_bits(bits)
        return _exact(_BUILD[name](True, grad_output, *args, **kwargs), b)

    g.__name__ = name
    g.__qualname__ = f"grad.{name}"
    g.__doc__ = (f"Exact gradient of :func:`softmax_oracle.oracle.{name}` w.r.t. its first argument, "
                 f"contracted with ``grad_output`` (see :mod:`softmax_oracle.oracle.grad`), to ``bits`` bits; "
                 f"the other arguments as in :func:`softmax_oracle.exact.{name}`.")
    return g


grad = SimpleNamespace(**{name: _gradient_of(name) for name in _BUILD})
"""Exact gradients: ``grad.<function>(..., grad_output=None, bits=200)``."""
