"""One rounding, straight to the format: checked against gmpy2's IEEE contexts (MPFR)."""

from __future__ import annotations

import math
from fractions import Fraction

import gmpy2
import mpmath
import ml_dtypes
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from softmax_oracle.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, FORMATS, binary_format, format_of
from softmax_oracle.rounding import round_dyadic, round_fraction, to_array, to_mpf

from softmax_oracle.errors import InvalidInput


def mpfr_context(fmt):
    """gmpy2's IEEE-style context for a format (MPFR exponents: significand in [1/2, 1))."""
    return gmpy2.context(
        precision=fmt.precision,
        emax=fmt.emax + 1,
        emin=fmt.emin - fmt.precision + 2,
        subnormalize=True,
        round=gmpy2.RoundToNearest,
    )


def by_gmpy2(num: int, den: int, fmt) -> float:
    """``num/den`` rounded by MPFR (mpfr_set_q + subnormalize), as a Python float (exact)."""
    with mpfr_context(fmt):
        value = gmpy2.mpfr(gmpy2.mpq(num, den))
    return float(value)


def ours(num: int, den: int, fmt, sticky: int = 0) -> float:
    return float(to_array([round_fraction(num, den, fmt, sticky=sticky)], fmt, (1,))[0].astype(np.float64))


def same(a: float, b: float) -> bool:
    return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
class TestBoundaries:
    def test_halfway_ties_to_even(self, fmt):
        p = fmt.precision
        one_ulp = Fraction(1, 2 ** (p - 1))
        # 1 + ulp/2 is a tie: even is 1; 1 + 3ulp/2 ties to 1 + 2ulp
        for k, expected in ((1, 1.0), (3, float(1 + 2 * one_ulp))):
            q = 1 + k * one_ulp / 2
            assert ours(q.numerator, q.denominator, fmt) == expected
            assert by_gmpy2(q.numerator, q.denominator, fmt) == expected

    def test_sticky_breaks_a_tie(self, fmt):
        q = 1 + Fraction(1, 2**fmt.precision)  # exactly halfway between 1 and 1 + ulp
        assert ours(q.numerator, q.denominator, fmt, sticky=1) == float(1 + Fraction(2, 2**fmt.precision))
        assert ours(q.numerator, q.denominator, fmt, sticky=-1) == 1.0

    def test_subnormal_boundary(self, fmt):
        tiny = Fraction(fmt.smallest_subnormal)
        cases = [tiny / 2, tiny / 2 + Fraction(1, 2**3000), tiny * 3 / 2, tiny * 5 / 2, tiny / 3,
                 Fraction(2) ** fmt.emin * (1 - Fraction(1, 2 ** (fmt.precision + 1)))]
        for q in cases:
            for s in (1, -1):
                assert same(ours(s * q.numerator, q.denominator, fmt), by_gmpy2(s * q.numerator, q.denominator, fmt)), q
        assert ours(tiny.numerator, 2 * tiny.denominator, fmt) == 0.0  # tie to even: zero
        assert ours(tiny.numerator, 2 * tiny.denominator, fmt, sticky=1) == fmt.smallest_subnormal

    def test_overflow_boundary(self, fmt):
        top = Fraction(fmt.max_value)
        half_ulp = Fraction(2) ** (fmt.emax - fmt.precision)
        assert ours((top + half_ulp - Fraction(1, 2**80)).numerator, (top + half_ulp - Fraction(1, 2**80)).denominator, fmt) == fmt.max_value
        assert ours((top + half_ulp).numerator, (top + half_ulp).denominator, fmt) == math.inf  # tie to even: inf
        assert ours(-(top + half_ulp).numerator, (top + half_ulp).denominator, fmt) == -math.inf
        assert ours(top.numerator, top.denominator, fmt, sticky=1) == fmt.max_value

    def test_signed_zero(self, fmt):
        assert math.copysign(1, ours(0, 1, fmt)) == 1
        assert math.copysign(1, ours(0, 1, fmt, sticky=-1)) == -1
        neg_tiny = -Fraction(fmt.smallest_subnormal) / 4
        assert math.copysign(1, ours(neg_tiny.numerator, neg_tiny.denominator, fmt)) == -1


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@given(num=st.integers(-(2**1200), 2**1200), shift=st.integers(-1300, 1300))
@example(num=2**60 + 1, shift=-1135)
@example(num=1, shift=-1075)
def test_dyadic_matches_gmpy2(fmt, num, shift):
    num_, den = (num << shift, 1) if shift >= 0 else (num, 1 << -shift)
    got = float(to_array([round_dyadic(num, shift, fmt)], fmt, (1,))[0].astype(np.float64))
    assert same(got, by_gmpy2(num_, den, fmt))


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@given(num=st.integers(-(2**200), 2**200), den=st.integers(1, 2**200), shift=st.integers(-1200, 1200))
def test_fraction_matches_gmpy2(fmt, num, den, shift):
    num_, den_ = (num << shift, den) if shift >= 0 else (num, den << -shift)
    assert same(ours(num_, den_, fmt), by_gmpy2(num_, den_, fmt))


def test_float_mpf_double_rounding_trap_avoided():
    """2**-1075 (1 + 2**-60) rounds up to the smallest subnormal; float(mpf) gives 0."""
    got = to_array([round_dyadic(2**60 + 1, -1135, FLOAT64)], FLOAT64, (1,))[0]
    assert got == 5e-324


def test_float32_not_through_float64():
    """A value that float64 rounds onto a float32 tie, then float32 rounds to even (wrongly)."""
    q = 1 + Fraction(1, 2**24) + Fraction(1, 2**60)  # just above the float32 tie 1 + 2**-24
    assert np.float32(float(q)) == np.float32(1.0)  # the double rounding trap
    assert ours(q.numerator, q.denominator, FLOAT32) == float(np.float32(1 + 2**-23))


def test_bit_patterns_of_every_format():
    assert to_array([round_fraction(1, 1, BFLOAT16)], BFLOAT16, (1,)).view(np.uint16)[0] == 0x3F80
    assert to_array([round_fraction(1, 1, FLOAT16)], FLOAT16, (1,)).view(np.uint16)[0] == 0x3C00
    assert to_array([round_fraction(-2, 1, FLOAT32)], FLOAT32, (1,)).view(np.uint32)[0] == 0xC0000000
    out = to_array([round_fraction(1, 3, BFLOAT16)], BFLOAT16, (1,))
    assert out.dtype == ml_dtypes.bfloat16 and float(out[0]) == 0.333984375


def test_unbounded_format_and_mpf():
    r = round_fraction(1, 3, binary_format(100))
    assert r.significand.bit_length() == 100
    with mpmath.workprec(300):
        assert abs(to_mpf(r) - mpmath.mpf(1) / 3) < mpmath.mpf(2) ** -101
    huge = round_fraction(2**5000 + 1, 1, binary_format(10))
    assert huge.special == "" and huge.exponent == 5000 - 9


@pytest.mark.parametrize("bad", ["float8", np.int32, "int64", object(), None])
def test_format_of_rejects(bad):
    with pytest.raises(InvalidInput, match="dtype must be one of float64, float32, float16, bfloat16"):
        format_of(bad)
