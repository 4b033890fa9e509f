"""Correctly rounded softmax-family functions and losses.

Every function returns an array of the input's format (or the format named by
``dtype=``) whose every element is the exact mathematical value of the
function at the exact input values, **rounded once** to nearest-even in that
format (subnormals, overflow to infinity and signed zeros included).  The
value is computed with MPFR interval arithmetic (through gmpy2) at a working
precision that doubles until the enclosure decides the rounding (Ziv's
strategy); results on a rounding midpoint plus a vanishing term
(``cross_entropy([[2**53, -1]], [1])``) are decided exactly.  If the
precision cap (``2**15`` bits) is reached the function raises
:class:`~softmax_oracle.errors.PrecisionExhausted` rather than guess.

Edge semantics, shared by all functions:

* ``-inf`` logits are masks: they take no part in the row's sum, their
  softmax is ``0`` and their log_softmax ``-inf``.
* A row with no finite logit (all ``-inf``, or an empty axis): logsumexp
  ``-inf``; softmax, log_softmax and the gradients ``NaN`` (``0/0``).
* ``+inf`` in a row: logsumexp ``+inf``; softmax, log_softmax ``NaN``
  (``inf - inf``); cross-entropy ``+inf`` unless the target logit is ``+inf``.
* NaN in a row gives NaN for every output of the row.
* A loss term whose exact coefficient is zero contributes exactly ``0`` even
  where its logarithm is infinite (``0 * log 0 = 0``): a zero probability
  target on a ``-inf`` logit, ``kl_div`` with target 0, BCE with ``y = 0`` at
  ``p = 0``.  PyTorch gives NaN in the first case.
* Exactly zero results are ``+0.0``; results that underflow keep their sign.

Engines.  Every function (and every gradient) takes ``engine=``:

* ``"auto"`` (the default): a certified fast phase, vectorized in NumPy,
  encloses every element with a proven error bound and decides those whose
  enclosure rounds to one value of the target format (same class, same sign
  of zero); the MPFR engine above rounds the rest, and only their terms are
  built.
* ``"mpfr"``: the MPFR engine for every element (for cross-checks).

Both return the same bits.  :func:`decision_counts` counts how many elements
the fast phase decided in the calls of a ``with`` block.

See :mod:`softmax_oracle.oracle.grad` for the gradients and
:mod:`softmax_oracle.exact` for the exact values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arguments import output_format
from . import grad
from ._calls import pointwise_terms, row_terms
from ._counts import DecisionCounts, decision_counts
from ._evaluate import ENGINES, check_engine, round_terms
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
    "grad",
    "decision_counts",
    "DecisionCounts",
    "ENGINES",
]


def _rounded(built, dtype, engine) -> np.ndarray:
    terms, fmt = built
    return round_terms(terms, output_format(dtype, fmt), engine=check_engine(engine))


def logsumexp(x: Any, axis: int = -1, *, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Correctly rounded ``log(sum(exp(x), axis))``.

    Computed as ``m + log1p(sum_{j: x_j < m} exp(x_j - m))`` (``log(k + ...)``
    when the maximum ``m`` is reached ``k > 1`` times) with exact differences
    ``x_j - m``, so no overflow and no loss of precision at any magnitude.

    Parameters
    ----------
    x : array_like
        Logits; float64, float32, float16 or bfloat16 (lists become float64).
    axis : int, optional
        Axis to reduce (default last).
    dtype : dtype-like, optional
        Format of the result (default: ``x``'s).

    Returns
    -------
    numpy.ndarray
        ``x``'s shape without ``axis`` (0-d for 1-D input).  ``-inf`` entries
        are ignored; all ``-inf`` or an empty axis gives ``-inf``; any ``+inf``
        gives ``+inf``; NaN gives NaN.

    Examples
    --------
    >>> import numpy as np, softmax_oracle as so
    >>> float(so.oracle.logsumexp(np.array([1000.0, 1000.0])))
    1000.6931471805599
    """
    return _rounded(row_terms("logsumexp", x, axis), dtype, engine)


def softmax(x: Any, axis: int = -1, *, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Correctly rounded ``exp(x_i) / sum_j exp(x_j)`` along ``axis``.

    Each element is ``exp(x_i - m) / S`` with ``S = sum_j exp(x_j - m)``
    enclosed once per row; the dominant probability ``1 - T/(1 + T)`` keeps its
    exact part so it rounds correctly however small ``T`` is.

    Parameters
    ----------
    x : array_like
        Logits (see :func:`logsumexp`); ``-inf`` entries are masks.
    axis : int, optional
        Axis of the distribution (default last).
    dtype : dtype-like, optional
        Format of the result (default: ``x``'s).

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``.  Masked entries are ``0``; rows with no finite
        logit, a ``+inf`` or a NaN are NaN.

    Examples
    --------
    >>> import numpy as np, softmax_oracle as so
    >>> so.oracle.softmax(np.array([2.0, 1.0, 0.1], dtype=np.float32))
    array([0.6590011 , 0.24243297, 0.09856589], dtype=float32)
    >>> so.oracle.softmax(np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]))
    array([0., 0., 0., 0., 1.])
    """
    return _rounded(row_terms("softmax", x, axis), dtype, engine)


def log_softmax(x: Any, axis: int = -1, *, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Correctly rounded ``x_i - logsumexp(x)`` along ``axis``.

    Computed as ``(x_i - m) - log1p(T)`` with the difference ``x_i - m`` exact,
    so the result keeps full relative accuracy even when it is tiny (the
    dominant logit) or huge (``x_i - m`` at ``-2**1024``).

    Parameters
    ----------
    x : array_like
        Logits; ``-inf`` entries are masks and give ``-inf``.
    axis : int, optional
        Axis of the distribution (default last).
    dtype : dtype-like, optional
        Format of the result (default: ``x``'s).

    Examples
    --------
    >>> import numpy as np, softmax_oracle as so
    >>> so.oracle.log_softmax(np.array([10.0, 0.0, -10.0], dtype=np.float32))
    array([-4.5400961e-05, -1.0000046e+01, -2.0000046e+01], dtype=float32)
    """
    return _rounded(row_terms("log_softmax", x, axis), dtype, engine)


def sigmoid(x: Any, *, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Correctly rounded logistic sigmoid ``1 / (1 + exp(-x))``, elementwise.

    ``sigmoid(+inf) = 1``, ``sigmoid(-inf) = 0``, NaN gives NaN.

    Examples
    --------
    >>> import numpy as np, softmax_oracle as so
    >>> so.oracle.sigmoid(np.array([0.0, 40.0, -700.0]))
    array([5.00000000e-001, 1.00000000e+000, 9.85967654e-305])
    """
    return _rounded(pointwise_terms("sigmoid", x), dtype, engine)


def log_sigmoid(x: Any, *, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Correctly rounded ``log(sigmoid(x)) = -softplus(-x)``, elementwise.

    ``log_sigmoid(-inf) = -inf``; ``log_sigmoid(+inf) = -0.0`` (the limit from
    below, as for every large finite ``x``).
    """
    return _rounded(pointwise_terms("log_sigmoid", x), dtype, engine)


def softplus(x: Any, *, dtype: Any = None, engine: str = "auto") -> np.ndarray:
    """Correctly rounded ``log(1 + exp(x))``, elementwise (beta = 1, no threshold).

    PyTorch's ``softplus`` returns ``x`` itself above ``threshold=20``; the
    oracle returns the mathematics (``softplus(20) = 20 + 2.06e-9``).
    ``softplus(+inf) = +inf``, ``softplus(-inf) = +0``.
    """
    return _rounded(pointwise_terms("softplus", x), dtype, engine)


def cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Correctly rounded cross-entropy of logits, with ``torch.nn.functional.cross_entropy`` semantics.

    With ``lse_n`` the logsumexp of sample ``n`` over the class dimension
    (dimension 1, or 0 for 1-D input) and class coefficients ``a_{n,c}``:

    ``loss_n = sum_c a_{n,c} (lse_n - x_{n,c})``

    * index targets (integer, the input's shape without the class dimension):
      ``a = (1 - eps) w_t [c = t] + eps w_c / C``; samples whose target is
      ``ignore_index`` are excluded (``0`` with ``reduction="none"``);
      ``"mean"`` divides by ``sum_n w_{t_n}`` over the non-ignored samples;
    * probability targets (float, the input's shape):
      ``a = w_c (y_c (1 - eps) + eps / C)``; ``"mean"`` divides by the number
      of samples.

    ``eps`` is ``label_smoothing``, ``w`` the per-class ``weight`` (default
    ones; must be finite).  Reductions are exact: the exact sum (or mean) of
    the exact terms, rounded once.

    Examples
    --------
    >>> import numpy as np, softmax_oracle as so
    >>> float(so.oracle.cross_entropy(np.array([[2.0**53, -1.0]]), np.array([1]), reduction="none")[0]) - 2**53
    2.0
    """
    return _rounded(
        cross_entropy_terms(input, target, weight, ignore_index, reduction, label_smoothing), dtype, engine
    )


def nll_loss(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Correctly rounded negative log-likelihood ``-w_t x_{n,t}`` (``torch.nn.functional.nll_loss``).

    ``input`` holds log-probabilities with the class dimension 1 (0 for 1-D
    input); ``target`` integer class indices.  ``"mean"`` divides by the sum of
    the target weights of the non-ignored samples (NaN when it is zero).
    """
    return _rounded(nll_loss_terms(input, target, weight, ignore_index, reduction), dtype, engine)


def kl_div(
    input: Any,
    target: Any,
    *,
    reduction: str = "mean",
    log_target: bool = False,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Correctly rounded ``torch.nn.functional.kl_div``: pointwise ``y (log y - x)``.

    ``input`` ``x`` holds log-probabilities; ``target`` ``y`` probabilities, or
    log-probabilities ``t`` with ``log_target=True`` (pointwise
    ``exp(t) (t - x)``).  A zero target (``t = -inf``) contributes ``0`` even
    at ``x = -inf``; a negative target gives NaN.  Reductions: ``"none"``,
    ``"sum"``, ``"mean"`` (over all elements) and ``"batchmean"`` (sum divided
    by ``input.shape[0]``, the mathematically correct KL of a batch).
    """
    return _rounded(kl_div_terms(input, target, reduction, log_target), dtype, engine)


def binary_cross_entropy(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str = "mean",
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Correctly rounded ``-w (y log p + (1 - y) log(1 - p))``, elementwise, then reduced.

    ``input`` ``p`` must lie in [0, 1]; ``target`` ``y`` has its shape and
    ``weight`` broadcasts to it.  **Deviation from PyTorch**: torch clamps each
    log at -100, so ``p = 0, y = 1`` gives 100 there; the oracle returns the
    mathematics, ``+inf``.  ``"mean"`` is the plain mean over elements.
    """
    return _rounded(binary_cross_entropy_terms(input, target, weight, reduction), dtype, engine)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    dtype: Any = None,
    engine: str = "auto",
) -> np.ndarray:
    """Correctly rounded ``w (pw y softplus(-x) + (1 - y) softplus(x))``, elementwise, then reduced.

    Written as ``w ((1 - y) x + (1 + (pw - 1) y) softplus(-x))``;
    ``pos_weight`` ``pw`` broadcasts to the input (as in PyTorch, along the
    last dimension).  ``x = +-inf`` gives the limits (``0`` when ``y = 1`` at
    ``+inf``); non-finite targets or weights give NaN.
    """
    return _rounded(
        binary_cross_entropy_with_logits_terms(input, target, weight, reduction, pos_weight), dtype, engine
    )


