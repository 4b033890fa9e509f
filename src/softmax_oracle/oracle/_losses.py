"""Terms of the losses (cross_entropy, nll_loss, kl_div, binary_cross_entropy[_with_logits]) and their gradients.

Every per-sample loss is written as ``exact + sum(coeff * Y)`` with exact
rational coefficients, e.g. for cross-entropy with class coefficients ``a_c``
(``a_t = w_t`` for an index target; ``w_c y_c`` for probabilities; label
smoothing mixes the two):

    loss_n = sum_c a_c (lse_n - x_c) = sum_c a_c (m_n - x_c) + (sum_c a_c) L_n

so a reduction is again one term: the exact parts add exactly, the
remainders are a list of row enclosures with exact coefficients, and the
mean's denominator divides the coefficients exactly.  ``reduction="mean"`` is
thus the exact mean of the exact terms, rounded once.

Conventions (the mathematics, where torch deviates it is said so in the
public docstrings):

* a term whose exact coefficient is zero contributes exactly 0, even where
  the quantity it multiplies is infinite (``0 * log 0 = 0``; torch gives NaN
  for e.g. a zero probability target on a ``-inf`` logit);
* infinities otherwise follow IEEE arithmetic on the formula
  (``inf - inf = NaN``); NaN in gives NaN out;
* a mean over a zero denominator (all targets ignored) is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gmpy2 import mpq

from ._rows import Row
from ._ziv import Part, Term, exact, special

__all__ = ["Sample", "reduce_samples", "combine_specials"]

_Q0 = mpq(0)


@dataclass
class Sample:
    """One per-sample (or per-element) loss: ``exact + sum(parts)`` or a special float."""

    exact: mpq = _Q0
    parts: list[Part] = field(default_factory=list)
    special: float | None = None

    def term(self) -> Term:
        if self.special is not None:
            return special(self.special)
        return Term(self.exact, tuple(self.parts))


def combine_specials(values: list[float]) -> float:
    """IEEE sum of non-finite contributions: NaN if any NaN or both infinities."""
    if any(math.isnan(v) for v in values):
        return math.nan
    signs = {v > 0 for v in values if math.isinf(v)}
    if len(signs) == 2:
        return math.nan
    return math.inf if signs.pop() else -math.inf


def reduce_samples(samples: list[Sample], reduction: str, denominator: mpq | None = None) -> Term:
    """``sum`` of the samples, divided by ``denominator`` for a mean; one exact term."""
    specials = [s.special for s in samples if s.special is not None]
    if reduction == "mean" and denominator == 0:
        return special(math.nan)
    scale = mpq(1) if reduction == "sum" else 1 / mpq(denominator)
    if specials:
        value = combine_specials(specials)
        return special(value if math.isnan(value) or scale > 0 else -value)
    total = sum((s.exact for s in samples), _Q0) * scale
    parts = tuple((c * scale, f, sg) for s in samples for c, f, sg in s.parts)
    return Term(total, parts)


def ce_sample(row: Row, x: list[float], coeffs: dict[int, mpq]) -> Sample:
    """``sum_c a_c (lse - x_c)`` for the nonzero exact coefficients ``a_c``."""
    coeffs = {c: a for c, a in coeffs.items() if a != 0}
    if not coeffs:
        return Sample()
    if row.status == "nan":
        return Sample(special=math.nan)
    lse_f = {"posinf": math.inf, "empty": -math.inf}.get(row.status, 0.0)
    infinite = []
    for c, a in coeffs.items():
        diff = lse_f - x[c]
        if not math.isfinite(diff) or row.status != "ok":
            infinite.append(diff * (1.0 if a > 0 else -1.0))
    if infinite:
        return Sample(special=combine_specials(infinite))
    total_a = sum(coeffs.values(), _Q0)
    d = sum((a * (row.m - mpq(x[c])) for c, a in coeffs.items()), _Q0)
    return Sample(d, [(total_a, row.log_sum_enclosure(), row.l_sign)])


def ce_grad_row(row: Row, coeffs: dict[int, mpq], factor: mpq | None, n_classes: int) -> list[Term]:
    """Gradient of ``factor * sum_c a_c (lse - x_c)``: ``factor (A s_i - a_i)`` for each class ``i``."""
    coeffs = {c: a for c, a in coeffs.items() if a != 0}
    if not coeffs:
        return [exact(_Q0)] * n_classes
    if factor is None or row.status != "ok":
        return [special(math.nan)] * n_classes
    total_a = sum(coeffs.values(), _Q0)
    out = []
    for i in range(n_classes):
        d, sign = row.split(i)
        a_i = coeffs.get(i, _Q0)
        out.append(Term(factor * (total_a * d - a_i), ((factor * total_a, row.rest_enclosure(i), sign),)))
    return out

