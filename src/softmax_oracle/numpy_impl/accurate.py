"""The accurate tier: the best a float implementation does at NumPy speed.

float16, bfloat16 and float32 results are computed in float64 with the stable
formulas and rounded once (bfloat16 through round-to-odd, see ``numerics.cast``): at most
0.51 ULP.  float64 softmax, log_softmax and logsumexp recover the rounding error of
``x_i - max`` and of ``1 + S`` with TwoSum and use ``exp(d + e) ~ exp(d)(1 + e)``, so
their error does not grow with ``|x_i - max|`` (at most 2 ULP).  softmax of plain
float32/float64 rows whose ``sum exp(x)`` is at least 1, maximum below ~700 (``[2**-900, inf)``
for float32) skips the shift instead: ``exp(x_i) / T``, ``T`` summed exactly by
extraction, the same error without a shift error to recover (:mod:`._direct_softmax`).  Where the terms
``exp(x_j - max)`` are subnormal (every other logit ~708 below the maximum), the
results that are their sum itself (log_softmax at the maximum, logsumexp near 0)
take the sum from the double-double exponential instead, lifted out of the
subnormal range (:mod:`._tiny_rest`): 2 ULP at any magnitude.  A result whose
exact value is not 0 but rounds to 0 is the zero of its sign in every format
(log_softmax of a dominant logit is ``-0.0``; an exact 0 is ``+0.0``).

Gradients under :data:`grad`.  Those that cancel against ``grad_output`` or the
target (softmax, log_softmax, logsumexp, cross_entropy, BCE with logits) are
computed in every format in scaled double-double arithmetic (``numerics.scaled``,
``numerics.double_double``: TwoSum, Dekker's TwoProduct, a 106-bit exponential), with a
common denominator so that exact cancellations stay exact, and rounded once:
within 0.5 ULP plus ~2**-100 relative for any ``grad_output`` and logit
magnitude; a term below ``exp(-10000)`` keeps a stand-in power of two so that a
gradient that rounds to 0 keeps its sign.  Logits closer than a double-double
resolves (``[1e-40, 1, 0]``: ``x - max`` is ``-1 + 1e-40`` and ``-1``) share the high
part of ``x - max`` in the softmax gradient, whose difference of their terms is
summed apart (``_precise_gradients.split_terms``).
The softmax family's and cross_entropy's gradients first try a cheaper pass
(``_screened_gradients``): the same formulas in float64 (results of the narrower
formats) or x87 extended precision, each element with a running error bound, kept
where both ends of its interval round alike (then it is the correctly rounded value);
exact zeros and cross_entropy's exact or near-rational cases (masked logits, near-equal
logits) are rounded with integer fractions (``_rational_class_grad``).  Only rows with
an undecided element take the double-double path (~1.2 ms a call on small inputs,
against ~0.2-0.3 ms), and float64 rows longer than 32, where most would.
The other float64 losses, elementwise functions and gradients are
evaluated in x87 extended precision (``np.longdouble``, 64-bit significand)
where the platform has it, then rounded once.
"""

from __future__ import annotations

from ._select import accurate_selector
from ._tier import Tier

__all__ = [
    "logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus",
    "cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "grad",
]

_TIER = Tier(accurate_selector, "accurate", double_double_gradients=True)

logsumexp = _TIER.logsumexp
softmax = _TIER.softmax
log_softmax = _TIER.log_softmax
sigmoid = _TIER.sigmoid
log_sigmoid = _TIER.log_sigmoid
softplus = _TIER.softplus
cross_entropy = _TIER.cross_entropy
nll_loss = _TIER.nll_loss
kl_div = _TIER.kl_div
binary_cross_entropy = _TIER.binary_cross_entropy
binary_cross_entropy_with_logits = _TIER.binary_cross_entropy_with_logits
grad = _TIER.grad
"""Gradients w.r.t. ``input``: same signatures plus ``grad_output=None`` (ones)."""
