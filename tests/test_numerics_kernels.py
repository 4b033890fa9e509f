"""The certified kernels' claimed intervals contain the true value (MPFR at 300 bits) and are tight.

Each kernel runs once on a whole array (>= 10**5 inputs per kernel and tier
without ``CI``; 2 * 10**4 in CI), including the range reduction's boundaries,
the largest and smallest arguments, subnormal and overflowing results and
scaled exponents far outside float64's range.  The widths are asserted below
the bounds of docs/error-analysis.md, so a vacuous bound fails.
"""

from __future__ import annotations

import math
import os

import gmpy2
import numpy as np
import pytest

from softmax_oracle.numerics.arith import DOUBLE, DOUBLE_DOUBLE, Arith
from softmax_oracle.formats import FLOAT64
from softmax_oracle.numerics.enclosure import Enclosure, round_enclosure

N = 20_000 if os.environ.get("CI") else 100_000
TIERS = [pytest.param(DOUBLE_DOUBLE, id="dd"), pytest.param(DOUBLE, id="double")]
# Largest relative radius allowed on exact arguments (docs/error-analysis.md, table of section 5).
TIGHT = {"double-double": 2.0**-98, "double": 2.0**-49}
_EXACT = dict(precision=2300, emin=-(1 << 30), emax=1 << 30)
_REF = dict(precision=300, emin=-(1 << 30), emax=1 << 30)
_LN2_256 = math.log(2) / 256


def _mp(x: float) -> gmpy2.mpfr:
    with gmpy2.context(**_EXACT):
        return gmpy2.mpfr(x)


def _exact_dd(hi: float, lo: float, e: int = 0) -> gmpy2.mpfr:
    with gmpy2.context(**_EXACT):
        return gmpy2.mul_2exp(gmpy2.mpfr(hi) + gmpy2.mpfr(lo), e)


def assert_encloses(enc: Enclosure, truths: list, what: str, *, exact: bool = False) -> None:
    """Every true value (exact, or to 2**-300 relative) lies within the claimed interval."""
    shape = np.broadcast_shapes(*(np.shape(f) for f in enc))
    hi, lo, rad = (np.broadcast_to(np.asarray(f, dtype=np.float64), shape).ravel() for f in enc[:3])
    exp = np.broadcast_to(np.asarray(enc.exp), shape).ravel()
    bad = []
    with gmpy2.context(**_EXACT):
        for i, t in enumerate(truths):
            if not math.isfinite(rad[i]):
                continue
            ts = gmpy2.mul_2exp(t, -int(exp[i]))
            diff = abs(ts - gmpy2.mpfr(hi[i]) - gmpy2.mpfr(lo[i]))
            slack = 0 if exact else abs(ts) * gmpy2.mpfr(2.0**-290)
            if diff > gmpy2.mpfr(rad[i]) - slack and diff != 0:
                bad.append((i, hi[i], lo[i], rad[i], int(exp[i]), float(diff)))
    assert not bad, f"{what}: {len(bad)} of {len(truths)} outside; first: {bad[:5]}"


def max_relative_radius(enc: Enclosure) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.asarray(enc.rad / np.abs(enc.hi))
    return float(np.max(r[np.isfinite(r)]))


def _exp_arguments(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(x, m)`` pairs: the kernels see ``x - m`` exactly (a double-word)."""
    n = N // 8
    k = rng.integers(-100_000 * 369, 100_000 * 369, n).astype(np.float64)
    at_boundary = k * _LN2_256  # multiples of ln2/256 (the reduction's table edges), rounded
    half = (k + 0.5) * _LN2_256  # where rint(x * 256 / ln 2) switches
    steps = rng.integers(-3, 4, n)
    xs = [
        rng.uniform(-745, 710, n),
        rng.uniform(-1e5, 1e5, n),
        np.nextafter(at_boundary, at_boundary + steps),
        np.nextafter(half, half + steps),
        rng.uniform(-745, -708, n),  # subnormal results
        np.ldexp(rng.uniform(-1, 1, n), rng.integers(-1074, 0, n)),  # tiny arguments
        rng.choice([0.0, -0.0, 1e5, -1e5, -99999.99, 5e-324, -5e-324, 2.0**-500, -(2.0**-501), 709.8, -745.2], n),
    ]
    x = np.concatenate(xs)
    m = np.where(rng.random(x.size) < 0.5, 0.0, rng.normal(0, 30, x.size))
    return x + m, m


@pytest.mark.parametrize("A", TIERS)
def test_exp_and_expm1_enclose_the_true_values(A: Arith):
    x, m = _exp_arguments(np.random.default_rng(1))
    d = A.exact_difference(x, m)
    e, em1 = A.exp(d), A.expm1(d)
    with gmpy2.context(**_EXACT):
        args = [gmpy2.mpfr(a) - gmpy2.mpfr(b) for a, b in zip(x, m)]
    with gmpy2.context(**_REF):
        exps = [gmpy2.exp(t) for t in args]
        expm1s = [gmpy2.expm1(t) for t in args]
    assert_encloses(e, exps, "exp")
    assert_encloses(em1, expm1s, "expm1")
    known = np.abs(x - m) <= 1e5
    assert np.isfinite(e.rad[known]).all()
    assert max_relative_radius(Enclosure(e.hi, e.lo, np.where(np.abs(x - m) < 99000, e.rad, 0.0), e.exp)) <= TIGHT[A.name]
    assert max_relative_radius(em1) <= 2.0**-88 if A.name == "double-double" else 2.0**-44


@pytest.mark.parametrize("A", TIERS)
def test_exp_below_the_range_is_enclosed_in_zero_to_a_tiny_bound(A: Arith):
    x = np.array([-1e5 - 1, -1e6, -1e300, -1.7976931348623157e308])
    e = A.exp(A.from_float(x))
    assert np.all(e.hi - e.rad <= 0) and np.all(e.exp <= -144000) and np.all(e.hi + e.rad <= 1)
    assert np.isinf(A.exp(A.from_float(np.array([1e5 + 1, np.inf, -np.inf, np.nan]))).rad).all()


def _log_arguments(rng: np.random.Generator) -> np.ndarray:
    n = N // 6
    xs = [
        np.ldexp(rng.uniform(0.5, 1, n), rng.integers(-1074, 1025, n)),
        1.0 + rng.integers(-2**20, 2**20, n) * 2.0**-52,  # near 1
        np.nextafter(np.ldexp(math.sqrt(0.5), rng.integers(-1000, 1000, n)), rng.choice([0.0, np.inf], n)),
        rng.uniform(0.1, 10, n),
        np.ldexp(rng.integers(1, 2**20, n).astype(np.float64), -1074),  # subnormal arguments
        rng.choice([5e-324, 2.0**-1022, 1.7976931348623157e308, 1.0, 2.0, 0.5], n),
    ]
    return np.concatenate(xs)


@pytest.mark.parametrize("A", TIERS)
def test_log_encloses_the_true_values(A: Arith):
    x = _log_arguments(np.random.default_rng(2))
    out = A.log(A.from_float(x))
    with gmpy2.context(**_REF):
        truths = [gmpy2.log(_mp(v)) for v in x]
    assert_encloses(out, truths, "log")
    assert np.isfinite(out.rad).all()
    far = np.abs(np.log(x)) > 0.5  # away from log = 0 the bound is relative
    assert max_relative_radius(Enclosure(out.hi[far], 0.0, out.rad[far], 0)) <= 4 * TIGHT[A.name]


@pytest.mark.parametrize("A", TIERS)
def test_log_of_scaled_values_far_below_float64(A: Arith):
    """log(exp(x)) for x down to -1e5: the scaled exponent carries the range."""
    x = -np.random.default_rng(3).uniform(700, 1e5, N // 10)
    out = A.log(A.exp(A.from_float(x)))
    assert_encloses(out, [_mp(v) for v in x], "log(exp(x))")
    assert max_relative_radius(out) <= 4 * TIGHT[A.name]


def _log1p_arguments(rng: np.random.Generator) -> np.ndarray:
    n = N // 6
    xs = [
        np.ldexp(rng.uniform(-1, 1, n), rng.integers(-1074, 0, n)),
        rng.uniform(-0.6, 0.6, n),
        -1.0 + np.ldexp(1.0, rng.integers(-53, -1, n)) * rng.uniform(0.5, 1, n),
        np.ldexp(rng.uniform(0.5, 1, n), rng.integers(0, 1024, n)),
        np.nextafter(rng.choice([0.5, -0.5, 2.0**-500, -(2.0**-500)], n), rng.choice([-np.inf, np.inf], n)),
        rng.choice([0.0, -0.0, 5e-324, -5e-324, 1e308, -0.9999999999999999], n),
    ]
    return np.concatenate(xs)


@pytest.mark.parametrize("A", TIERS)
def test_log1p_encloses_the_true_values(A: Arith):
    z = _log1p_arguments(np.random.default_rng(4))
    out = A.log1p(A.from_float(z))
    with gmpy2.context(**_REF):
        truths = [gmpy2.log1p(_mp(v)) for v in z]
    assert_encloses(out, truths, "log1p")
    assert np.isfinite(out.rad).all()
    nonzero = z != 0
    # expm1 of the guess between 2**-9.5 and ln 2 carries q's 2**-94 (section 3.4)
    tight = 2.0**-92 if A.name == "double-double" else 2.0**-45
    assert max_relative_radius(Enclosure(out.hi[nonzero], 0.0, out.rad[nonzero], 0)) <= tight


@pytest.mark.parametrize("A", TIERS)
def test_row_sums_of_exponentials_enclose_the_exact_sums(A: Arith):
    """The softmax denominator: sum_j exp(x_j - max) per row, rows of 1 to 4000."""
    rng = np.random.default_rng(5)
    for cols, scale in ((1000, 10.0), (4000, 50.0), (7, 1e4), (1, 1.0)):
        rows = max(1, N // cols // 4)
        x = rng.normal(0, scale, (rows, cols))
        m = x.max(axis=1, keepdims=True)
        e = A.exp(A.exact_difference(x, m))
        s = A.sum(e, axis=-1)
        # the exact sum of the exponentials' *centres* plus their radii is what the sum must enclose
        truths = []
        with gmpy2.context(**_EXACT):
            for i in range(rows):
                t = gmpy2.mpfr(0)
                for j in range(cols):
                    t += _exact_dd(e.hi[i, j], e.lo[i, j] if A.name == "double-double" else 0.0, int(e.exp[i, j]))
                truths.append(t)
        assert_encloses(Enclosure(s.hi, s.lo, s.rad - np.sum(np.ldexp(e.rad, e.exp - s.exp[:, None]), axis=1), s.exp),
                        truths, f"row sum {cols}")
        assert max_relative_radius(s) <= 2 * TIGHT[A.name]


@pytest.mark.parametrize("A", TIERS)
def test_loss_reduction_sums_with_mixed_signs_enclose_the_exact_sum(A: Arith):
    rng = np.random.default_rng(6)
    for size in (N, 3, 1):
        x = rng.normal(0, 1, size) * np.ldexp(1.0, rng.integers(-40, 40, size))
        s = A.sum(A.from_float(x), axis=None)
        with gmpy2.context(**_EXACT):
            t = gmpy2.mpfr(0)
            for v in x:
                t += gmpy2.mpfr(v)
        assert_encloses(Enclosure(np.atleast_1d(s.hi), np.atleast_1d(s.lo), np.atleast_1d(s.rad),
                                  np.atleast_1d(s.exp)), [t], f"sum of {size}")
        bound = (2.0**-100 if A.name == "double-double" else 2.0**-50) * float(np.sum(np.abs(x)))
        assert float(np.ldexp(s.rad, s.exp)) <= bound


@pytest.mark.parametrize("A", TIERS)
def test_division_and_products_enclose_the_exact_quotients(A: Arith):
    rng = np.random.default_rng(7)
    a = rng.normal(0, 1, N) * np.ldexp(1.0, rng.integers(-1000, 1000, N))
    b = rng.normal(0, 1, N) * np.ldexp(1.0, rng.integers(-1000, 1000, N))
    ea = A.exp(A.from_float(np.clip(a, -700, 1)))
    q = A.div(A.from_float(a), A.from_float(b))
    p = A.mul(A.from_float(a), A.from_float(b))
    with gmpy2.context(**_REF):
        assert_encloses(q, [_mp(x) / _mp(y) for x, y in zip(a, b)], "a / b")
        assert_encloses(p, [_mp(x) * _mp(y) for x, y in zip(a, b)], "a b")
    assert max_relative_radius(q) <= TIGHT[A.name] and max_relative_radius(p) <= TIGHT[A.name]
    # quotients of enclosures with radii (exp values): the propagation holds too
    qe = A.div(ea, A.from_float(b))
    with gmpy2.context(**_REF):
        truths = [gmpy2.exp(_mp(x)) / _mp(y) for x, y in zip(np.clip(a, -700, 1), b)]
    assert_encloses(qe, truths, "exp(a) / b")


@pytest.mark.parametrize("A", TIERS)
def test_exact_differences_are_exact(A: Arith):
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, N) * np.ldexp(1.0, rng.integers(-1074, 1000, N))
    m = rng.normal(0, 1, N) * np.ldexp(1.0, rng.integers(-1074, 1000, N))
    d = A.exact_difference(x, m)
    # exact unless the low word falls below 2**-1074 once the high word is scaled to [1/2, 1)
    assert (d.rad <= 2.0**-1072).all()
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # ratios of extreme values
        close = np.abs(np.log2(np.abs(x / m))) < 900
    assert (d.rad[close] == 0).all()
    with gmpy2.context(**_EXACT):
        truths = [gmpy2.mpfr(a) - gmpy2.mpfr(b) for a, b in zip(x, m)]
    assert_encloses(d, truths, "x - m", exact=True)


@pytest.mark.parametrize("A", TIERS)
def test_sums_and_differences_of_enclosures_with_cancellation_and_scaled_exponents(A: Arith):
    """exp(x) - exp(y) for x, y close (cancellation) or far apart (2**-140000 against 1)."""
    rng = np.random.default_rng(9)
    x = rng.uniform(-1e5, 50, N)
    y = np.where(rng.random(N) < 0.5, x + rng.normal(0, 1e-9, N), rng.uniform(-1e5, 50, N))
    out = A.sub(A.exp(A.from_float(x)), A.exp(A.from_float(y)))
    with gmpy2.context(**_REF):
        truths = [gmpy2.exp(_mp(a)) - gmpy2.exp(_mp(b)) for a, b in zip(x, y)]
    assert_encloses(out, truths, "exp(x) - exp(y)")
    far = np.abs(x - y) > 1
    assert max_relative_radius(Enclosure(out.hi[far], 0.0, out.rad[far], 0)) <= TIGHT[A.name]


@pytest.mark.parametrize("A", TIERS)
def test_sums_of_zeros_and_empty_axes(A: Arith):
    zeros = A.sum(A.from_float(np.zeros((3, 5))), axis=-1)
    assert np.all(zeros.hi == 0) and np.all(zeros.exp <= -(1 << 40))  # radius far below every float
    values, decided = round_enclosure(zeros, FLOAT64, sign=1)
    assert decided.all() and not np.signbit(values).any() and not values.any()
    empty = A.sum(A.from_float(np.zeros((2, 0))), axis=-1)
    assert np.all(empty.hi == 0) and np.all(empty.rad == 0)
    tiny = A.sum(A.exp(A.from_float(np.array([[-1e4, -1e4 - 1]]))), axis=-1)
    with gmpy2.context(**_REF):
        truth = gmpy2.exp(_mp(-1e4)) + gmpy2.exp(_mp(-1e4 - 1))
    assert_encloses(tiny, [truth], "a sum far below float64")
    assert max_relative_radius(tiny) <= 2 * TIGHT[A.name]


@pytest.mark.parametrize("A", TIERS)
def test_radii_propagate_to_every_point_of_the_operands_intervals(A: Arith):
    """The operations enclose f(a*, b*) for a*, b* anywhere in the operands' intervals (their ends here)."""
    rng = np.random.default_rng(12)
    n = N // 10
    a = rng.uniform(-3, 3, n)
    b = rng.uniform(0.5, 4, n) * rng.choice([-1, 1], n)
    ra = np.abs(a) * np.ldexp(1.0, rng.integers(-100, -20, n))
    rb = np.abs(b) * np.ldexp(1.0, rng.integers(-100, -20, n))
    ea = A.from_float(a)
    eb = A.from_float(b)
    ea = Enclosure(ea.hi, ea.lo, np.ldexp(ra, -ea.exp), ea.exp)  # radius ra around a
    eb = Enclosure(eb.hi, eb.lo, np.ldexp(rb, -eb.exp), eb.exp)
    sa = rng.choice([-1, 1], n)
    sb = rng.choice([-1, 1], n)
    with gmpy2.context(**_EXACT):
        pa = [gmpy2.mpfr(x) + s * gmpy2.mpfr(r) for x, s, r in zip(a, sa, ra)]
        pb = [gmpy2.mpfr(x) + s * gmpy2.mpfr(r) for x, s, r in zip(b, sb, rb)]
        sums = [x + y for x, y in zip(pa, pb)]
        products = [x * y for x, y in zip(pa, pb)]
    with gmpy2.context(**_REF):
        quotients = [x / y for x, y in zip(pa, pb)]
        exps = [gmpy2.exp(x) for x in pa]
        logs = [gmpy2.log(abs(y)) for y in pb]
        log1ps = [gmpy2.log1p(x / 8) for x in pa]
    assert_encloses(A.add(ea, eb), sums, "a* + b*")
    assert_encloses(A.mul(ea, eb), products, "a* b*")
    assert_encloses(A.div(ea, eb), quotients, "a* / b*")
    assert_encloses(A.exp(ea), exps, "exp(a*)")
    abs_b = Enclosure(np.abs(eb.hi), np.abs(eb.lo) if not isinstance(eb.lo, float) else 0.0, eb.rad, eb.exp)
    assert_encloses(A.log(abs_b), logs, "log |b*|")
    assert_encloses(A.log1p(A.scale(ea, -3)), log1ps, "log1p(a*/8)")


@pytest.mark.parametrize("A", TIERS)
def test_zero_dimensional_enclosures_compute_as_one_dimensional_ones(A: Arith):
    """Regression: NumPy float64 scalars (0-d results of a full reduction) are ``float`` instances; the
    low word must still be rescaled (it was mistaken for the double tier's absent low word)."""
    rng = np.random.default_rng(13)
    x = rng.uniform(0.1, 10, 200)
    y = rng.uniform(0.1, 10, 200)
    for i in range(x.size):
        a = A.sum(A.exp(A.from_float(x[i:i + 1])), axis=None)  # 0-d
        b = A.from_float(np.float64(y[i]))
        for op in (A.div, A.mul, A.add):
            zero_d = op(a, b)
            one_d = op(A.sum(A.exp(A.from_float(x[i:i + 1])), axis=-1), A.from_float(y[i:i + 1]))
            assert float(zero_d.hi) == float(one_d.hi[0]) and float(np.asarray(zero_d.lo)) == float(np.asarray(one_d.lo).reshape(-1)[0])
