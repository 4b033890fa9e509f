"""round_enclosure against the exact integer rounding of softmax_oracle.rounding, in every format.

Exact enclosures (``rad = 0``) are always decided and must round as
``round_dyadic`` does: ties, subnormal boundaries, the overflow threshold,
signed zeros, bfloat16 (where ml_dtypes' float64 cast rounds twice), and
scaled exponents.  With a radius, a decided element must be the common rounding
of the interval's exact ends.
"""

from __future__ import annotations

import os

import ml_dtypes
import numpy as np
import pytest

from softmax_oracle.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Format
from softmax_oracle.numerics.enclosure import Enclosure, round_enclosure
from softmax_oracle.rounding import round_dyadic, to_bits

N = 20_000 if os.environ.get("CI") else 100_000
FORMATS = [pytest.param(f, id=f.name) for f in (FLOAT64, FLOAT32, FLOAT16, BFLOAT16)]


def _dyadic(x: float) -> tuple[int, int]:
    n, d = float(x).as_integer_ratio()
    return n, -(d.bit_length() - 1)


def _exact(hi: float, lo: float, e: int, offset: float = 0.0) -> tuple[int, int]:
    """``(hi + lo + offset) * 2**e`` as an exact ``mant * 2**exp``."""
    parts = [_dyadic(v) for v in (hi, lo, offset) if v != 0]
    if not parts:
        return 0, 0
    low = min(p[1] for p in parts)
    return sum(m << (x - low) for m, x in parts), low + e


def _expected_bits(hi: float, lo: float, e: int, fmt: Format, offset: float = 0.0) -> int:
    mant, exp = _exact(hi, lo, e, offset)
    if mant == 0:  # an exact zero keeps the sign of hi
        return to_bits(round_dyadic(0, 0, fmt, sticky=-1 if np.signbit(hi) else 0), fmt)
    return to_bits(round_dyadic(mant, exp, fmt), fmt)


def _bits(values: np.ndarray, fmt: Format) -> np.ndarray:
    return values.view(fmt.uint_dtype).astype(np.uint64)


def _cases(fmt: Format, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Double-words and exponents around ties, subnormals and overflow of ``fmt``."""
    p, emin, emax = fmt.precision, fmt.emin, fmt.emax
    n = N // 5
    e_any = rng.integers(emin - p - 3, emax + 3, n)
    hi_any = rng.uniform(0.5, 1, n) * rng.choice([-1, 1], n)
    # ties: 1 + (k + 1/2) 2**(1-p) is exact in float64 for p <= 52; then a low word of either sign or 0
    k = rng.integers(0, 1 << min(p - 1, 40), n).astype(np.float64)
    hi_tie = (1.0 + (k + 0.5) * 2.0 ** (1 - p)) if p < 53 else 1.0 + k * 2.0**-52
    lo_tie = rng.choice([0.0, 2.0**-80, -(2.0**-80), 2.0**-60, -(2.0**-60)], n) if p < 53 else \
        rng.choice([0.0, 2.0**-53, -(2.0**-53), 2.0**-53 + 2.0**-100, 2.0**-53 - 2.0**-100], n)
    e_tie = rng.integers(emin - p + 1, emax, n)
    # the subnormal range and the smallest normal
    e_sub = rng.integers(emin - p - 2, emin + 2, n)
    hi_sub = rng.uniform(0.5, 1, n)
    # the overflow threshold (2 - 2**-p) 2**emax, exactly, and around it
    thr = 1.0 - 2.0 ** (-p - 1)
    hi_ovf = np.full(n, 1.0) if p == 53 else np.full(n, thr)
    lo_ovf = rng.choice([0.0, 2.0**-70, -(2.0**-70)], n) - (2.0**-54 if p == 53 else 0.0)
    e_ovf = np.full(n, emax + 1)
    zeros = rng.choice([0.0, -0.0], n)
    hi = np.concatenate([hi_any, hi_tie * rng.choice([-1, 1], n), hi_sub, hi_ovf, zeros])
    lo = np.concatenate([rng.uniform(-1, 1, n) * 2.0**-54 * np.abs(hi_any), lo_tie, rng.choice([0.0, 2.0**-60, -(2.0**-60)], n),
                         lo_ovf, np.zeros(n)])
    lo = np.where(hi < 0, -lo, lo)
    e = np.concatenate([e_any, e_tie, e_sub, e_ovf, rng.integers(-5, 5, n)]).astype(np.int64)
    return hi, lo, e


@pytest.mark.parametrize("fmt", FORMATS)
def test_exact_enclosures_round_as_the_integer_rounding(fmt: Format):
    hi, lo, e = _cases(fmt, np.random.default_rng(10))
    values, decided = round_enclosure(Enclosure(hi, lo, np.zeros_like(hi), e), fmt)
    assert decided.all()
    expected = np.array([_expected_bits(h, l, int(x), fmt) for h, l, x in zip(hi, lo, e)], dtype=np.uint64)
    wrong = np.flatnonzero(_bits(values, fmt) != expected)
    assert wrong.size == 0, [(hi[i], lo[i], int(e[i]), values[i], expected[i]) for i in wrong[:5]]


def test_bfloat16_breaks_the_double_rounding_of_ml_dtypes():
    """1 + 2**-8 + 2**-40 is above the bfloat16 midpoint: 1 + 2**-7, where ml_dtypes' cast gives 1."""
    x = 1 + 2.0**-8 + 2.0**-40
    assert float(np.float64(x).astype(ml_dtypes.bfloat16)) == 1.0  # the trap this guards against
    values, decided = round_enclosure(Enclosure(np.array([x]), np.zeros(1), np.zeros(1), 0), BFLOAT16)
    assert decided[0] and float(values[0]) == 1 + 2.0**-7


@pytest.mark.parametrize("fmt", FORMATS)
def test_decided_enclosures_are_the_common_rounding_of_their_ends(fmt: Format):
    rng = np.random.default_rng(11)
    hi, lo, e = _cases(fmt, rng)
    # narrow formats round float64 bounds of the ends (widened by 2**-52): radii from the double tier
    least = -110 if fmt.precision == 53 else -50
    rad = np.abs(hi) * np.ldexp(1.0, rng.integers(least, -fmt.precision + 2, hi.size)) + 2.0**-1070
    values, decided = round_enclosure(Enclosure(hi, lo, rad, e), fmt)
    agree = 0
    for i in range(hi.size):
        low = _expected_bits(hi[i], lo[i], int(e[i]), fmt, -rad[i])
        high = _expected_bits(hi[i], lo[i], int(e[i]), fmt, rad[i])
        zero_pair = {low, high} == {0, 1 << (fmt.bits - 1)}
        if decided[i]:
            assert low == high == int(_bits(values[i:i + 1], fmt)[0]), (hi[i], lo[i], rad[i], int(e[i]))
        agree += low == high and not zero_pair
    assert decided.sum() >= 0.97 * agree  # the widening of the ends by an ulp of float64 costs little


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_known_sign_decides_intervals_that_reach_zero(fmt: Format):
    hi = np.array([0.0, 0.0, 0.5, -0.5])
    rad = np.array([0.25, 0.25, 1.0, 1.0])
    enc = Enclosure(hi, np.zeros(4), rad, -3000)
    _, decided = round_enclosure(enc, fmt)
    assert not decided.any()
    values, decided = round_enclosure(enc, fmt, sign=np.array([1, -1, 1, -1]))
    assert decided.all()
    assert list(np.signbit(values.astype(np.float64))) == [False, True, False, True]
    assert not np.any(values.astype(np.float64))


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_elements_are_never_decided(fmt: Format):
    enc = Enclosure(np.array([0.5, np.nan, 0.5]), np.zeros(3), np.array([np.inf, 0.0, np.nan]), 0)
    _, decided = round_enclosure(enc, fmt)
    assert not decided.any()
