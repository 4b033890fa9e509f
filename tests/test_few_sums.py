"""``_fast_lean.few_sums``: the per-row MPFR sums and reciprocals of small double-double blocks, within the bounds
of the vectorized tree sum and division they replace."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, strategies as st

from softmax_oracle.oracle._fast_lean import few_sums

_WORD = st.one_of(st.floats(0, 1), st.floats(2.0**-800, 2.0**-700), st.just(0.0))


@given(rows=st.lists(st.tuples(st.lists(_WORD, min_size=2, max_size=8), st.integers(1, 4)), min_size=1, max_size=8))
def test_few_sums_are_within_the_bounds_of_the_tree_sum_and_division(rows):
    n = max(len(words) for words, _ in rows)
    eh = np.zeros((len(rows), n))
    for i, (words, _) in enumerate(rows):
        eh[i, :len(words)] = words
    el = eh * 2.0**-60  # a low word: not a double-word of eh, a second addend all the same
    k = np.array([[kk] for _, kk in rows], dtype=np.float64)
    found = few_sums(eh, el, k)
    assert found is not None
    Th, Tl, Sh, Sl, ih, il = (f[:, 0] for f in found)
    for i in range(len(rows)):
        T = sum(Fraction(v) for v in eh[i]) + sum(Fraction(v) for v in el[i])
        S = T + int(k[i, 0])
        assert abs(T - Fraction(Th[i]) - Fraction(Tl[i])) <= T / 2**105
        assert abs(S - Fraction(Sh[i]) - Fraction(Sl[i])) <= S / 2**104
        approx = Fraction(Sh[i]) + Fraction(Sl[i])
        assert abs(1 / approx - Fraction(ih[i]) - Fraction(il[i])) <= (1 / approx) * 32 / 2**106


def test_a_sum_far_below_the_float_range_goes_to_the_vectorized_path():
    eh = np.array([[0.0, 2.0**-1000, 2.0**-1010]])
    assert few_sums(eh, np.zeros_like(eh), np.array([[1.0]])) is None
    assert few_sums(np.zeros((1, 3)), np.zeros((1, 3)), np.array([[2.0]])) is not None  # exactly 0: fine
