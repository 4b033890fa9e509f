"""ULP metrics: ordered integers, distances, fractional errors, class mismatches."""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_oracle.errors import InvalidInput
from softmax_oracle.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, FORMATS
from softmax_oracle.ulp import (
    Mismatch,
    bits_of_error,
    class_mismatches,
    ordered,
    overflow_threshold,
    relative_error,
    ulp,
    ulp_distance,
    ulp_error,
)

FORMAT_IDS = [f.name for f in FORMATS]


def _from_bits(bits: int, fmt) -> np.ndarray:
    return np.array([bits], dtype=fmt.uint_dtype).view(fmt.dtype)[0]


def _mpf_of(x) -> mpmath.mpf:
    return mpmath.mpf(float(x))  # exact: every value of these formats is a double


# ---------------------------------------------------------------- ordered map


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=["float16", "bfloat16"])
def test_ordered_is_exhaustively_monotone_with_unit_steps_for_16_bit_formats(fmt):
    values = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(fmt.dtype)
    with np.errstate(invalid="ignore"):  # NaN payloads
        as64 = values.astype(np.float64)
    keep = ~np.isnan(as64)
    values, as64 = values[keep], as64[keep]
    order = np.argsort(as64, kind="stable")
    ords = ordered(values[order])
    steps = np.diff(ords)
    zero_pair = (as64[order][:-1] == 0) & (as64[order][1:] == 0)
    assert np.all(steps[zero_pair] == 0)  # -0 and +0
    assert np.all(steps[~zero_pair] == 1)
    assert ords[0] == -ords[-1]  # -inf and +inf


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMAT_IDS)
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_next_float_is_one_step_away_in_every_format(fmt, data):
    bits = data.draw(st.integers(0, (1 << fmt.bits) - 1))
    x = _from_bits(bits, fmt)
    if not np.isfinite(x.astype(np.float64)):
        return
    up = np.nextafter(np.array([x]), np.array([np.inf], dtype=fmt.dtype))[0]
    assert ulp_distance(x, up) == 1
    assert ulp_distance(up, x) == 1


def test_opposite_signs_float32_extremes_where_nulp_diff_is_wrong():
    big = np.float32(3e38)
    expected = 2 * int(np.array(big).view(np.uint32))
    assert ulp_distance(big, -big) == expected == 4274217932
    from numpy.testing._private.utils import nulp_diff

    assert float(np.ravel(nulp_diff(big, -big))[0]) < 1e8  # numpy's int64 arithmetic: the bug we avoid


def test_float32_max_to_minus_max_and_to_inf():
    fmax = np.finfo(np.float32).max
    assert ulp_distance(fmax, -fmax) == 2 * 0x7F7FFFFF
    assert ulp_distance(fmax, np.float32(np.inf)) == 1
    assert ulp_distance(np.float32(np.inf), np.float32(-np.inf)) == 2 * 0x7F800000


def test_float64_opposite_extremes_fit_exactly():
    d = ulp_distance(np.array([np.inf, 1.0]), np.array([-np.inf, -1.0]))
    assert d.dtype == np.uint64
    assert d.tolist() == [2 * 0x7FF0000000000000, 2 * 0x3FF0000000000000]


def test_signed_zeros_and_subnormals_across_zero():
    for fmt in FORMATS:
        z = np.zeros(1, fmt.dtype)
        tiny = _from_bits(1, fmt)
        assert ulp_distance(z, -z)[0] == 0, fmt
        assert ulp_distance(tiny, -tiny) == 2, fmt
        assert ulp_distance(-z[0], tiny) == 1, fmt


def test_bfloat16_distance_uses_its_own_bits():
    a = np.array([1.0, 1.0], dtype=ml_dtypes.bfloat16)
    b = np.array([1.0078125, 2.0], dtype=ml_dtypes.bfloat16)  # next bfloat16 above 1; one binade up
    assert ulp_distance(a, b).tolist() == [1, 128]


def test_nan_distance_is_refused_unless_both_nan():
    assert ulp_distance(np.float32(np.nan), np.float32(np.nan)) == 0
    with pytest.raises(InvalidInput, match="class mismatch"):
        ulp_distance(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_mixed_formats_are_refused():
    with pytest.raises(InvalidInput, match="same format"):
        ulp_distance(np.float32(1), np.float64(1))


def test_bits_of_error():
    one = np.float64(1.0)
    assert bits_of_error(one, one) == 0.0
    assert bits_of_error(one, np.nextafter(one, 2.0)) == 1.0
    three_up = np.array([1.0]) + np.array([3.0]) * 2.0**-52
    assert bits_of_error(np.array([1.0]), three_up).tolist() == [2.0]


# ---------------------------------------------------------------- ulp and ulp_error


@pytest.mark.parametrize(
    ("x", "fmt", "expected"),
    [
        (1, FLOAT32, Fraction(1, 2**23)),  # at a power of two: the spacing above
        (Fraction(2**24 - 1, 2**24), FLOAT32, Fraction(1, 2**24)),  # just below
        (0, FLOAT64, Fraction(1, 2**1074)),  # ulp(0) = smallest subnormal
        (Fraction(1, 2**1070), FLOAT64, Fraction(1, 2**1074)),  # subnormal range
        (Fraction(1, 2**20), FLOAT16, Fraction(1, 2**24)),
        (2**200, FLOAT16, Fraction(2**190)),  # beyond the max: exponent not capped
        (-3, BFLOAT16, Fraction(1, 64)),
    ],
    ids=["pow2", "below-pow2", "zero", "subnormal64", "subnormal16", "beyond-max", "negative-bf16"],
)
def test_ulp_definition(x, fmt, expected):
    assert ulp(x, fmt) == expected


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMAT_IDS)
@settings(deadline=None, max_examples=40)
@given(data=st.data())
def test_correctly_rounded_scores_at_most_half_and_neighbours_more(fmt, data):
    from softmax_oracle.rounding import round_fraction, to_array

    num = data.draw(st.integers(-(2**80), 2**80).filter(bool))
    den_exp = data.draw(st.integers(-(fmt.emax + 40), fmt.emax + 40))
    exact = Fraction(num) / Fraction(2) ** den_exp if den_exp >= 0 else Fraction(num * 2**-den_exp)
    rounded = to_array([round_fraction(exact.numerator, exact.denominator, fmt)], fmt, (1,))
    as64 = rounded.astype(np.float64)[0]
    err = ulp_error(rounded, exact)[0]
    if np.isinf(as64):
        assert err == 0.5
        return
    assert err <= 0.5
    with mpmath.workprec(exact.numerator.bit_length() + exact.denominator.bit_length()):
        as_mpf = mpmath.mpf(exact.numerator) / exact.denominator  # exact: dyadic
    assert abs(ulp_error(rounded, as_mpf)[0] - err) <= 1e-12 * max(err, 1e-300) + 1e-300
    for direction in (-np.inf, np.inf):
        neighbour = np.nextafter(rounded, np.array([direction], dtype=fmt.dtype))
        if np.isfinite(neighbour.astype(np.float64)[0]):
            assert ulp_error(neighbour, exact)[0] >= 0.5


def test_ulp_error_subnormal_and_tie():
    tiny = FLOAT64.smallest_subnormal
    assert ulp_error(np.float64(0.0), Fraction(1, 2**1075)) == 0.5  # tie between 0 and tiny
    assert ulp_error(np.float64(tiny), mpmath.mpf(2) ** -1076) == 0.75
    assert ulp_error(np.float16(0.0), mpmath.mpf(2) ** -30) == 2.0**-6  # below float16's subnormals


def test_ulp_error_float32_max_and_overflow_threshold():
    fmax = np.finfo(np.float32).max
    threshold = overflow_threshold(FLOAT32)
    assert threshold == (2 - mpmath.mpf(2) ** -24) * mpmath.mpf(2) ** 127
    assert ulp_error(fmax, threshold) == 0.5
    assert ulp_error(np.float32(np.inf), threshold) == 0.5  # inf is the correct rounding
    assert ulp_error(np.float32(np.inf), mpmath.mpf("1e400000")) == 0.5
    below = threshold - mpmath.mpf(2) ** 90
    assert math.isnan(ulp_error(np.float32(np.inf), below))  # inf for a finite value: a mismatch
    assert math.isnan(ulp_error(np.float32(-np.inf), threshold))  # wrong infinity
    assert ulp_error(fmax, 2 * threshold) >= 2.0**22  # finite value for a huge one: a number


def test_ulp_error_nan_and_inf_classes():
    got = np.array([np.nan, np.nan, 1.0, np.inf, -np.inf, 5.0], dtype=np.float32)
    exact = [mpmath.nan, mpmath.mpf(1), mpmath.nan, mpmath.inf, mpmath.inf, mpmath.inf]
    out = ulp_error(got, exact)
    assert out[0] == 0.0 and out[3] == 0.0
    assert np.isnan(out[[1, 2, 4, 5]]).all()


def test_ulp_error_against_an_exact_value_in_every_format():
    third = Fraction(1, 3)
    for fmt in FORMATS:
        y = np.array([1 / 3]).astype(fmt.dtype)
        err = ulp_error(y, third)[0]
        # reference with exact rationals: |y - 1/3| / 2**(-2 - p + 1)
        ref = abs(Fraction(float(y[0])) - third) / Fraction(2) ** (-2 - fmt.precision + 1)
        assert err == pytest.approx(float(ref), rel=1e-15), fmt
        assert err <= 0.5, fmt


def test_relative_error():
    assert relative_error(np.float64(1.0), Fraction(1, 1) + Fraction(1, 2**60)) == pytest.approx(2.0**-60)
    assert relative_error(np.float64(0.0), 0) == 0.0
    assert relative_error(np.float64(1e-300), 0) == math.inf
    assert relative_error(np.float32(np.inf), mpmath.mpf("1e1000")) == 0.0
    assert math.isnan(relative_error(np.float32(np.nan), mpmath.mpf(1)))


def test_exact_values_of_other_types_are_refused():
    with pytest.raises(InvalidInput, match="exact values"):
        ulp_error(np.float64(1.0), "1.0")


# ---------------------------------------------------------------- class mismatches


def test_every_class_mismatch_kind():
    got = np.array([np.nan, 1.0, np.inf, 2.0, -np.inf, -0.0, -0.0, 0.0, np.nan, np.inf])
    due = np.array([1.0, np.nan, 3.0, np.inf, np.inf, 0.0, 0.0, 0.0, np.nan, np.inf])
    matters = np.array([True] * 5 + [True, False, True, True, True])
    codes = class_mismatches(got, due, zero_sign=matters)
    assert [Mismatch(c) for c in codes] == [
        Mismatch.NAN_FOR_NUMBER,
        Mismatch.NUMBER_FOR_NAN,
        Mismatch.INF_FOR_FINITE,
        Mismatch.FINITE_FOR_INF,
        Mismatch.WRONG_INFINITY,
        Mismatch.ZERO_SIGN,
        Mismatch.NONE,  # exact zero: either sign accepted
        Mismatch.NONE,
        Mismatch.NONE,
        Mismatch.NONE,
    ]
    assert Mismatch.NAN_FOR_NUMBER.description == "NaN where a number is due"


def test_class_mismatches_across_formats_and_bfloat16():
    got = np.array([np.nan, -0.0], dtype=ml_dtypes.bfloat16)
    due = np.array([1.0, 0.0], dtype=np.float32)
    assert class_mismatches(got, due).tolist() == [Mismatch.NAN_FOR_NUMBER, Mismatch.ZERO_SIGN]


def _negative_zeros() -> list:
    """mpmath's zero-valued numbers with the sign bit set, as they reach the ULP code.

    Public routes only: a gmpy2 ``-0`` converted by ``mpmath.mpf`` (how the oracle once
    produced them: ``(0, 0, 1, 1)``, which ``mpf.__eq__`` says is not 0) and a raw
    ``(1, 0, 0, 0)`` tuple (mpmath 1.3 keeps it as its internal ``fnzero``, 1.4 normalizes
    it).  ``libmp.fnzero`` itself is private and gone in mpmath 1.4: used only if present.
    """
    import gmpy2
    from mpmath import libmp

    zeros = [mpmath.mpf(gmpy2.mpfr("-0")), mpmath.mpf((1, 0, 0, 0))]
    private = getattr(libmp, "fnzero", None)  # mpmath < 1.4 only
    return zeros + ([mpmath.mpf(private)] if private is not None else [])


def test_mpmath_negative_zero_is_an_exact_zero():
    # regression: the oracle's exact zeros could be mpmath's negative zeros; fnzero was removed in mpmath 1.4
    for negative_zero in _negative_zeros():
        assert ulp_error(np.float32(0.0), negative_zero) == 0.0
        assert ulp_error(np.float32(2.0**-149), negative_zero) == 1.0
        assert relative_error(np.float32(0.0), negative_zero) == 0.0
        assert ulp(negative_zero, FLOAT16) == Fraction(1, 2**24)


def test_exact_nonzero_treats_mpmath_negative_zero_as_zero():
    from softmax_oracle.ulp import exact_nonzero

    values = [*_negative_zeros(), mpmath.mpf(0), mpmath.mpf(2) ** -5000, mpmath.nan, Fraction(0), -1]
    zeros = len(values) - 5
    assert exact_nonzero(values).tolist() == [False] * zeros + [False, True, True, False, True]


# ---------------------------------------------------------------- vectorized path == element-by-element definition


def _slow_errors(got, exact, fmt, relative):
    from softmax_oracle import ulp as ulp_module

    threshold = overflow_threshold(fmt)._mpf_
    g64 = np.asarray(got).astype(np.float64)
    return np.array([ulp_module._error_one(float(y), ulp_module._as_exact(x), fmt, threshold, relative)
                     for y, x in zip(g64.flat, np.asarray(exact, dtype=object).flat)]).reshape(g64.shape)


def _hard_pairs(fmt, rng):
    """Exact values (many bits, near floats, ties, subnormal, zero, beyond the range, specials) and results."""
    finfo = ml_dtypes.finfo(fmt.dtype)
    tiny, top = float(finfo.smallest_subnormal), float(finfo.max)
    bases = [0.0, tiny, 2 * tiny, float(finfo.smallest_normal), 1.0, 1.5, 3.0, top, top / 2, 1e-3]
    bases += list(rng.standard_normal(40) * 10.0 ** rng.integers(-6, 7, 40))
    exact, got = [], []
    # casts of big bases, spacing(max) and steps past max overflow to inf: cases the test wants
    with mpmath.workprec(300), np.errstate(over="ignore"):
        for b in bases:
            xb = np.array(b).astype(fmt.dtype)
            base = mpmath.mpf(float(xb))
            step = mpmath.mpf(float(np.spacing(np.abs(xb)))) if np.isfinite(xb) else mpmath.mpf(1)
            for frac in (0, mpmath.mpf(1) / 2, mpmath.mpf(1) / 3, -mpmath.mpf(1) / 7, mpmath.mpf(2) ** -60,
                         mpmath.mpf(1) / 2 + mpmath.mpf(2) ** -200, -mpmath.mpf(1) / 2):
                x = base + frac * step
                for sign in (1, -1):
                    for k in (-2, -1, 0, 1, 3, 1000):
                        y = np.array(float(xb)).astype(fmt.dtype)
                        for _ in range(abs(k)):
                            y = np.nextafter(y, np.array(np.inf if k > 0 else -np.inf, dtype=fmt.dtype)) \
                                if fmt.dtype != ml_dtypes.bfloat16 else y  # bfloat16: stepped below
                        if fmt.dtype == ml_dtypes.bfloat16 and k:
                            bits = np.array(y).view(np.uint16).astype(np.int64) + (k if y >= 0 else -k)
                            y = np.array(np.clip(bits, 0, 0xFFFF), dtype=np.uint16).view(fmt.dtype)
                        exact.append(sign * x)
                        got.append(float(y) * sign)
        specials = [mpmath.inf, -mpmath.inf, mpmath.nan, mpmath.mpf(0), mpmath.mpf(top) * 4,
                    mpmath.mpf(tiny) / 3, mpmath.mpf(2) ** -5000, mpmath.mpf(2) ** 5000]
        for x in specials:
            for y in (0.0, -0.0, np.inf, -np.inf, np.nan, tiny, -top, top, 1.0):
                exact.append(x)
                got.append(y)
    with np.errstate(over="ignore", invalid="ignore"):
        got_arr = np.array(got, dtype=np.float64).astype(fmt.dtype)
    exact_arr = np.empty(len(exact), dtype=object)
    exact_arr[:] = exact
    return got_arr, exact_arr


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMAT_IDS)
@pytest.mark.parametrize("relative", [False, True], ids=["ulp", "relative"])
def test_vectorized_errors_equal_the_definition_bit_for_bit(fmt, relative):
    got, exact = _hard_pairs(fmt, np.random.default_rng(7))
    fast = (relative_error if relative else ulp_error)(got, exact)
    slow = _slow_errors(got, exact, fmt, relative)
    same = (fast == slow) | (np.isnan(fast) & np.isnan(slow))
    bad = np.flatnonzero(~same)
    assert not bad.size, [(float(got[i]), mpmath.nstr(exact[i], 30), fast[i], slow[i]) for i in bad[:5]]


@pytest.mark.parametrize("fmt", FORMATS, ids=FORMAT_IDS)
def test_vectorized_errors_on_random_rounded_values_take_the_fast_path(fmt):
    from softmax_oracle import ulp as ulp_module

    rng = np.random.default_rng(3)
    with mpmath.workprec(200):
        exact = np.array([mpmath.exp(mpmath.mpf(float(v))) for v in rng.uniform(-10, 10, 400)], dtype=object)
    got = np.array([float(v) for v in exact]).astype(fmt.dtype)
    got[::3] = np.nextafter(got[::3], np.array(np.inf, dtype=fmt.dtype)) if fmt != BFLOAT16 else got[::3]
    for relative in (False, True):
        out, slow = ulp_module._fast_errors(got.astype(np.float64), ulp_module._scaled_exact(exact, fmt),
                                            got.shape, relative)
        assert slow.mean() < 0.05  # ties and extreme exponents only
        np.testing.assert_array_equal(out[~slow], _slow_errors(got, exact, fmt, relative)[~slow])


def test_scaled_exact_cache_misses_when_the_array_is_changed():
    exact = np.array([mpmath.mpf(1) / 3, mpmath.mpf(2) / 3], dtype=object)
    got = np.array([0.25, 0.75], dtype=np.float32)
    first = ulp_error(got, exact)
    exact[0] = mpmath.mpf(1) / 4
    second = ulp_error(got, exact)
    assert second[0] == 0.0 and first[0] != 0.0
    assert second[1] == first[1]
