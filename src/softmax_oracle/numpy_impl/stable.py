"""The stable tier: shift by the row maximum and the log1p form of logsumexp.

``logsumexp(x) = m + log1p(sum_{j != argmax} exp(x_j - m))`` (Blanchard, Higham &
Higham, "Accurately computing the log-sum-exp and softmax functions", IMA J. Numer.
Anal. 2021, Algorithm 4.1); log_softmax and cross_entropy through it; softplus and
log_sigmoid split at 0; BCE with logits through softplus.  No overflow, NaN or -inf
where the exact answer is finite.  Computed in the input's dtype (float32 for the
16-bit formats, float64 when float64 is asked for).  Gradients under :data:`grad`.
"""

from __future__ import annotations

from ._select import stable_selector
from ._tier import Tier

__all__ = [
    "logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus",
    "cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "grad",
]

_TIER = Tier(stable_selector, "stable")

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
