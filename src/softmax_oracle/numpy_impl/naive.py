"""The naive tier: the textbook formulas of the seeds, in the input's dtype.

Kept on purpose as the worked example of what goes wrong: ``exp(x) / sum(exp(x))``
overflows to NaN at ``softmax([1000, 2000, 3000, 4000, 5000])``, ``log(softmax(x))``
gives ``-inf`` where softmax underflows, BCE with logits goes through ``sigmoid`` then
``log``.  Same names and signatures as :mod:`softmax_oracle.oracle`; gradients under
:data:`grad`.
"""

from __future__ import annotations

from ._select import naive_selector
from ._tier import Tier

__all__ = [
    "logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus",
    "cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "grad",
]

_TIER = Tier(naive_selector, "naive")

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
