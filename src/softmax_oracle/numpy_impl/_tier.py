"""One tier's public functions: the family shells, the loss shells and ``grad``."""

from __future__ import annotations

from ._family_api import FamilyFunctions
from ._gradients import GradientFunctions
from ._loss_api import LossFunctions
from ._select import Selector

__all__ = ["Tier", "PUBLIC_NAMES"]

PUBLIC_NAMES = (
    "logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus",
    "cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits",
)


class Tier(FamilyFunctions, LossFunctions):
    """Every function of the oracle, computed by one tier's kernels; gradients under ``grad``."""

    def __init__(self, select: Selector, tier: str, *, double_double_gradients: bool = False) -> None:
        super().__init__(select, tier)
        self.grad = GradientFunctions(select, tier, double_double=double_double_gradients)
