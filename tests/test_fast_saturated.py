"""The regimes whose correctly rounded sigmoid/softplus/log_sigmoid are known without evaluation.

``oracle._fast_saturated`` proves them (see its docstring); here the default engine, which uses
them, is checked bit for bit against the MPFR engine on both sides of every threshold, in every
format and for float64 and float32 inputs.
"""

import math

import numpy as np
import pytest

import softmax_oracle as so
from softmax_oracle.formats import FLOAT64, FORMATS
from softmax_oracle.oracle._fast_saturated import FUNCTIONS, _ln2_rounding, _thresholds, saturated


def _around(c, rng):
    """c, its float64 neighbours, and points within 5% of it."""
    return [np.nextafter(c, -np.inf), c, np.nextafter(c, np.inf), *(c * (1 + rng.uniform(-0.05, 0.05, 40)))]


def _threshold_points(fmt, seed=0):
    rng = np.random.default_rng(seed)
    big, low = _thresholds(fmt)
    reach = _ln2_rounding(fmt.precision)[1]
    points = []
    for c in (big, max(big, 2.0), low, reach, 2.0 ** -fmt.precision, 2.0 ** (1 - fmt.precision)):
        points += _around(c, rng) + _around(-c, rng)
    return np.array(points + [0.0, -0.0, 5e-324, -5e-324, 1e300, -1e300, 2.0**1023, -(2.0**1023)])


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("input_dtype", [np.float64, np.float32])
def test_auto_equals_mpfr_across_every_threshold(fmt, name, input_dtype):
    with np.errstate(over="ignore"):  # float64 points beyond float32's range become infinities: inputs too
        x = _threshold_points(fmt).astype(input_dtype)
    fn = getattr(so.oracle, name)
    auto = np.asarray(fn(x, dtype=fmt.dtype)).view(fmt.uint_dtype)
    mpfr = np.asarray(fn(x, dtype=fmt.dtype, engine="mpfr")).view(fmt.uint_dtype)
    assert (auto == mpfr).all(), x[auto != mpfr]


def test_the_regimes_are_the_documented_ones():
    big, low = _thresholds(FLOAT64)
    assert big == pytest.approx(54 * math.log(2) + 1) and low == pytest.approx(-1075 * math.log(2) - 1)
    ln2, reach = _ln2_rounding(53)
    assert ln2 == float.fromhex("0x1.62e42fefa39efp-1") == math.log(2)
    assert 1e-17 < reach < 2**-55  # ln 2 is 0.29 float64 spacings from a midpoint; half of that is used
    x = np.array([40.0, 1e300, -746.2, 1e-30, -1e-30, 3.0, np.nan, np.inf])
    known, values = saturated("log_sigmoid", -x, FLOAT64)
    assert known.tolist() == [True, True, True, True, True, False, False, False]
    assert values[:5].tolist() == [-40.0, -1e300, 0.0, -ln2, -ln2] and math.copysign(1, values[2]) == -1
    known, values = saturated("sigmoid", x, FLOAT64)
    assert known.tolist() == [True, True, True, True, True, False, False, False]
    assert values[:5].tolist() == [1.0, 1.0, 0.0, 0.5, 0.5]


def test_inputs_that_are_not_numbers_of_the_target_format_are_evaluated():
    x = np.array([40.0 + 2.0**-40, 1e30 + 2.0**60])  # softplus(x) rounds to float32 from x + a tiny d
    known, _ = saturated("softplus", x, so.formats.FLOAT32)
    assert not known.any()
    assert np.asarray(so.oracle.softplus(x, dtype=np.float32)).tolist() == \
        np.asarray(so.oracle.softplus(x, dtype=np.float32, engine="mpfr")).tolist()


def test_most_float32_inputs_are_known_without_evaluation():
    """The point of the regimes: about three quarters of the float32 bit patterns (exhaustive checks)."""
    bits = np.arange(0, 2**32, 2**12 + 1, dtype=np.uint64).astype(np.uint32)
    with np.errstate(invalid="ignore"):  # NaN patterns are inputs too
        x = bits.view(np.float32).astype(np.float64)
    finite = np.isfinite(x)
    for name in FUNCTIONS:
        known, _ = saturated(name, x, FLOAT64)
        assert 0.70 < known[finite].mean() < 0.80, name
