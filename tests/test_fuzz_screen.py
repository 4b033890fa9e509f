"""The search's cheap screen: proven bounds, the same rounded values, and the same results as comparing every example."""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import mpmath
import numpy as np
import pytest
from hypothesis import given, strategies as st

from softmax_oracle import fuzz
from softmax_oracle._fuzz_screen import (call_key, element_keys, fallback_possible, narrow_midpoints,
                                         oracle_enclosed, oracle_table, oracle_values, scores_and_bounds,
                                         wrong_class)
from softmax_oracle.candidates import FUNCTIONS
from softmax_oracle.compare import compare, reference
from softmax_oracle.errors import OracleError
from softmax_oracle.formats import format_of
from softmax_oracle.numpy_impl import accurate
from softmax_oracle.oracle._enclosed import ENCLOSED, SMALL_CALL, rounded_and_enclosed, small_call
from softmax_oracle.regimes import from_ordered
from softmax_oracle.strategies import arguments
from softmax_oracle.ulp import binade_ambiguous, class_mismatches, ordered, ulp_distance, ulp_error

NARROW = ["float32", "float16", "bfloat16"]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    fmt = format_of(a.dtype)
    with np.errstate(invalid="ignore"):
        nan = np.isnan(a.astype(np.float64))
    return a.dtype == b.dtype and bool(np.all((a.view(fmt.uint_dtype) == b.view(fmt.uint_dtype)) | nan))


# --- the correctly rounded values ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, big, rounded", [("float16", 2**11, 2050.0), ("bfloat16", 2**8, 258.0),
                                                 ("float32", 2**24, 2**24 + 2.0)])
def test_a_float64_midpoint_plus_a_vanishing_term_is_rounded_in_the_format(dtype, big, rounded):
    # cross_entropy = big + 1 + log1p(e**-(big + 1)): RN64 is the midpoint big + 1, whose ties-to-even
    # rounding (big) is wrong; the oracle's own call in the format gives big + 2
    fmt = format_of(dtype)
    x = np.array([[big, -1]], dtype=fmt.dtype)
    values, r64 = oracle_values("cross_entropy", False, fmt, (x, np.array([1])), {}, "auto")
    assert float(r64) == big + 1 and narrow_midpoints(r64, fmt)
    assert float(values) == rounded and values.dtype == fmt.dtype


@pytest.mark.parametrize("function, grad, dtype", [("sigmoid", False, "float16"), ("softplus", True, "bfloat16"),
                                                   ("log_sigmoid", False, "bfloat16")])
def test_the_16_bit_tables_are_the_oracles_answers(function, grad, dtype):
    import softmax_oracle.oracle as oracle

    fmt = format_of(dtype)
    rounded, r64 = oracle_table(function, grad, fmt, "auto")
    x = np.arange(1 << 16, dtype=np.uint16).view(fmt.dtype)
    namespace = oracle.grad if grad else oracle
    assert _same_bits(rounded, getattr(namespace, function)(x))
    assert _same_bits(r64, getattr(namespace, function)(x, dtype=np.float64))
    assert oracle_table("softmax", False, fmt, "auto") is None and oracle_table(function, grad, format_of("float32"),
                                                                                   "auto") is None


@pytest.mark.parametrize("dtype, value, midpoint", [
    ("float32", 1 + 2.0**-24, True), ("float32", 1 + 2.0**-24 + 2.0**-52, False), ("float32", 1 + 2.0**-23, False),
    ("float32", 2.0**-150, True), ("float32", 3 * 2.0**-150, True), ("float32", 2.0**-149, False),
    ("float32", (2 - 2.0**-24) * 2.0**127, True), ("float32", 2.0**128 + 2.0**104, False),
    ("float16", -(1 + 2.0**-11), True), ("float16", 2.0**-25, True), ("float16", 65520.0, True),
    ("bfloat16", 1 + 2.0**-8, True), ("bfloat16", 1 + 2.0**-8 + 2.0**-40, False), ("bfloat16", 2.0**-134, True),
    ("float32", 0.0, False), ("float32", math.inf, False), ("float32", math.nan, False),
])
def test_narrow_midpoints(dtype, value, midpoint):
    assert bool(narrow_midpoints(np.array([value]), format_of(dtype))[0]) is midpoint


@pytest.mark.parametrize("dtype", ["float64", *NARROW])
def test_wrong_class_is_class_mismatches_without_zero_signs(dtype):
    fmt = format_of(dtype)
    values = np.array([0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-300, 6e4]).astype(fmt.dtype)
    got, rounded = (a.reshape(-1) for a in np.meshgrid(values, values))
    expected = class_mismatches(got, rounded, zero_sign=False) != 0
    assert np.array_equal(wrong_class(got, rounded), expected)


def _nudged(rounded: np.ndarray, steps: list[int]) -> np.ndarray:
    """``rounded`` moved by ``steps`` float steps (kept finite; NaNs kept)."""
    fmt = format_of(rounded.dtype)
    limit = int(ordered(np.array(np.inf, dtype=fmt.dtype))) - 1
    k = ordered(rounded).reshape(-1) + np.resize(np.array(steps, dtype=np.int64), rounded.size)
    moved = from_ordered(np.clip(k, -limit, limit), fmt).reshape(rounded.shape)
    with np.errstate(invalid="ignore"):
        keep = ~np.isfinite(rounded.astype(np.float64))
    return np.where(keep, rounded, moved).astype(fmt.dtype)


_STEPS = st.lists(st.one_of(st.integers(-3, 3), st.integers(-(2**20), 2**20)), min_size=1, max_size=6)


@pytest.mark.parametrize("dtype", ["float64", *NARROW])
@given(data=st.data())
def test_the_bounds_hold_and_the_rounded_values_are_the_oracles(dtype, data):
    fmt = format_of(dtype)
    function = data.draw(st.sampled_from(FUNCTIONS), label="function")
    grad = data.draw(st.booleans(), label="grad")
    args, kwargs = data.draw(arguments(function, fmt, max_batch=2, max_row_length=6), label="call")
    try:
        ref = reference(function, *args, grad=grad, **kwargs)
    except OracleError:
        return
    rounded, r64 = oracle_values(function, grad, fmt, args, kwargs, "auto")
    assert _same_bits(rounded, ref.rounded)
    got = _nudged(rounded, data.draw(_STEPS, label="steps"))
    wrong = class_mismatches(got, rounded, zero_sign=False) != 0
    assert np.array_equal(wrong_class(got, rounded), wrong)
    scores, bounds, fallback = scores_and_bounds(got, rounded, r64, wrong, fmt)
    right = ~wrong
    with np.errstate(invalid="ignore"):
        as_rounded = np.asarray(ulp_error(got, np.vectorize(mpmath.mpf, otypes=[object])(
            rounded.astype(np.float64))), dtype=np.float64).reshape(got.shape)
    assert np.all(as_rounded[right] <= fallback[right])
    if ref.note:  # exact values unavailable: the reference holds rounded values (the fallback)
        return
    exact = np.asarray(ulp_error(got, ref.exact), dtype=np.float64).reshape(got.shape)
    assert np.all(exact[right] <= bounds[right]), (exact, bounds)
    if fmt.precision <= 24:  # within 2**-30 where RN64 fixes the binade; else the unit may be twice the exact one
        slack = np.where(binade_ambiguous(r64, fmt), exact / 2, exact * 2.0**-50) + 2.0**-29
        assert np.all(np.abs(scores - exact)[right] <= slack[right])
    else:  # the integer distance: the error is within [d - 1/2, ...] (d >= 1 means e >= 1/2)
        assert np.all(exact[right] >= np.minimum(scores[right], 1.0) / 2 - 2.0**-40)
    if fmt.precision <= 24:  # the cheaper screen of a narrow format: the integer distance in the format
        distance, cheap, cheap_fallback = scores_and_bounds(got, rounded, None, wrong, fmt)
        assert np.all(exact[right] <= cheap[right]), (exact, cheap)
        assert np.all(as_rounded[right] <= cheap_fallback[right])
        assert np.all(exact[right] >= np.minimum(distance[right], 1.0) / 2 - 2.0**-40)


def _exact_fraction(value) -> Fraction:
    sign, man, exp, _ = mpmath.mpf(value)._mpf_ if not isinstance(value, mpmath.mpf) else value._mpf_
    return Fraction(0) if not man else (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)


_FAST_ENCLOSED = [(function, grad) for grad, names in ENCLOSED.items() for function in names]


@pytest.mark.parametrize("path", ["mpfr", "fast"])
@pytest.mark.parametrize("dtype", ["float64", *NARROW])
@given(data=st.data())
def test_the_enclosures_hold_and_their_bounds_too(path, dtype, data):
    # "mpfr": the small calls' enclosures, every function; "fast": the fast phase's, forced at every size
    fmt = format_of(dtype)
    choices = [(f, g) for f in FUNCTIONS for g in (False, True)] if path == "mpfr" else _FAST_ENCLOSED
    function, grad = data.draw(st.sampled_from(choices), label="function")
    args, kwargs = data.draw(arguments(function, fmt, max_batch=2, max_row_length=6), label="call")
    try:
        ref = reference(function, *args, grad=grad, **kwargs)
    except OracleError:
        return
    found = rounded_and_enclosed(function, *args, grad=grad, limit=10**6 if path == "mpfr" else 0,
                                 **kwargs)
    assert found is not None
    rounded, enclosure = found
    assert _same_bits(rounded, ref.rounded)
    if ref.note:  # exact values unavailable: nothing to hold the enclosures to
        return
    exact = np.asarray(ref.exact, dtype=object).reshape(rounded.shape)
    for x, hi, lo, rad, k in zip(exact.reshape(-1), *(np.broadcast_to(f, rounded.shape).reshape(-1) for f in enclosure)):
        if not math.isfinite(rad) or not mpmath.isfinite(x) or abs(x) < mpmath.mpf(2) ** -5000:
            assert not math.isnan(rad)  # unknown is inf; the rest is checked below through the error bounds
            continue
        # the 200-bit exact value is within 2**-199 |x| of the exact one
        unit = Fraction(2) ** int(k)
        assert abs(_exact_fraction(x) - unit * (Fraction(hi) + Fraction(lo))) <= unit * Fraction(rad) + abs(_exact_fraction(x)) / 2**199, \
            (repr(x), hi.hex(), lo.hex(), rad.hex(), int(k), [np.asarray(v).tolist() for v in args], kwargs)
    got = _nudged(rounded, data.draw(_STEPS, label="steps"))
    wrong = class_mismatches(got, rounded, zero_sign=False) != 0
    scores, bounds, fallback = scores_and_bounds(got, rounded, enclosure, wrong, fmt)
    right = ~wrong
    errors = np.asarray(ulp_error(got, ref.exact), dtype=np.float64).reshape(got.shape)
    assert np.all(errors[right] <= bounds[right]), (errors, bounds)
    with np.errstate(invalid="ignore"):
        as_rounded = np.asarray(ulp_error(got, np.vectorize(mpmath.mpf, otypes=[object])(
            rounded.astype(np.float64))), dtype=np.float64).reshape(got.shape)
    assert np.all(as_rounded[right] <= fallback[right])
    hi, lo, rad, k = enclosure
    if fmt.precision > 24:  # float64 scores stay the integer distance
        assert np.array_equal(scores[right], np.asarray(ulp_distance(got, rounded), dtype=np.float64)[right])
        return
    with np.errstate(invalid="ignore", over="ignore"):
        tight = right & np.isfinite(errors) & (rad <= 2.0**-44 * np.abs(hi)) & (np.ldexp(np.abs(hi), k) >= 2.0**-900)
    # a tight enclosure scores within 2**-18 ULP of the exact error (in the unit at its lower end: twice
    # the exact error where the interval reaches below a power of two)
    close = np.zeros(scores.shape, dtype=bool)
    for factor in (1.0, 2.0):
        close |= np.abs(scores - factor * errors) <= 2.0**-18 * (1 + errors)
    assert np.all(close[tight]), (scores, errors)


def test_enclosures_of_small_calls_and_of_the_fast_phase_only_above():
    x = np.array([[0.0, 1.0]])
    assert oracle_enclosed("softmax", True, (x,), {}, "auto") is not None  # small: MPFR's, every function
    assert oracle_enclosed("softmax", False, (x,), {}, "mpfr") is None
    big = np.linspace(-3.0, 3.0, 2 * (SMALL_CALL + 1)).reshape(2, -1)
    assert oracle_enclosed("softmax", True, (big,), {}, "auto") is None  # a gradient: the fast phase has none
    many = np.linspace(-3.0, 3.0, 2 * (SMALL_CALL + 1)).reshape(-1, 2)  # as many losses (reduction="none")
    assert oracle_enclosed("cross_entropy", False, (many, np.zeros(SMALL_CALL + 1, dtype=np.int64)),
                           {"reduction": "none"}, "auto") is None
    assert oracle_enclosed("cross_entropy", False, (big, np.array([1, 0])), {}, "auto") is not None  # one loss
    assert oracle_enclosed("softmax", False, (big,), {}, "auto") is not None
    assert oracle_enclosed("cross_entropy", True, (big, np.array([1, 0])), {}, "auto") is not None
    assert oracle_enclosed("softmax", False, (x[:, :0],), {}, "auto") is None  # empty
    # the forward row functions' fast phase is cheap in the double tier: MPFR only below 13 elements there
    assert small_call("softmax", False, format_of("float32")) == 12 < SMALL_CALL
    assert small_call("softmax", False, format_of("float64")) == SMALL_CALL
    assert small_call("softmax", True, format_of("bfloat16")) == SMALL_CALL


@pytest.mark.parametrize("function, args, kwargs", [
    ("sigmoid", (np.array([0.0, np.inf, -np.inf, np.nan, -0.0]),), {}),
    ("nll_loss", (np.array([[-1.0, -2.0]]), np.array([1])), {}),
    ("softmax", (np.array([[0.0, -np.inf]]),), {}),
])
def test_exact_results_are_exact_enclosures(function, args, kwargs):
    rounded, (hi, lo, rad, k) = oracle_enclosed(function, False, args, kwargs, "auto")
    assert np.all(rad == 0) and np.all(lo == 0)
    assert np.array_equal(np.ldexp(hi, k), rounded.astype(np.float64), equal_nan=True)


def test_a_non_finite_centre_is_exact_only_with_a_zero_radius():
    from softmax_oracle.numerics.enclosure import Enclosure

    fmt = format_of("float64")
    got = rounded = np.array([-np.inf, -np.inf])
    stated = Enclosure(np.array([-np.inf, -np.inf]), np.zeros(2), np.array([0.0, 1.0]), np.zeros(2, np.int64))
    _, bounds, _ = scores_and_bounds(got, rounded, stated, np.zeros(2, dtype=bool), fmt, fallback=False)
    assert bounds[0] == 0 and bounds[1] == np.inf  # an exact -inf; an overflowed bound states nothing


@pytest.mark.parametrize("function, x", [
    ("softmax", np.array([[0.0, -1000.0]])),  # exp(-1000) ~ 2**-1443: the scaled centre
    ("logsumexp", np.array([[1e308, 1e308]])),  # 1e308 + log 2 >= 2**1000: scaled too
    ("log_softmax", np.array([[0.0, -1e-300]])),  # -log(1 + exp(-1e-300)) = -log 2 - ...: the plain centre
])
def test_mpfr_enclosures_far_from_one(function, x):
    rounded, (hi, lo, rad, k) = rounded_and_enclosed(function, x)
    exact = np.asarray(reference(function, x).exact, dtype=object).reshape(-1)
    for value, h, l, r, e in zip(exact, hi.reshape(-1), lo.reshape(-1), rad.reshape(-1), np.reshape(k, -1)):
        unit = Fraction(2) ** int(e)
        assert 0 < r < 2.0**-80 * max(abs(h), 0.5) or r == 0
        assert abs(_exact_fraction(value) - unit * (Fraction(h) + Fraction(l))) <= unit * Fraction(r) + \
            abs(_exact_fraction(value)) / 2**199


def test_an_enclosure_bounds_a_subnormal_float64_result():
    # softmax([0, -740]): exp(-740) ~ 4.2e-322, a float64 subnormal; the lean bound's absolute floor
    # (2**-1070, 16 steps of 2**-1074) makes the fast phase's bound loose there, never wrong
    x = np.array([[0.0, -740.0]])
    rounded, enclosure = rounded_and_enclosed("softmax", x, limit=0)
    exact = np.asarray(reference("softmax", x).exact, dtype=object)
    got = np.array([[1.0, float(rounded[0, 1]) + 5e-324]])
    scores, bounds, _ = scores_and_bounds(got, rounded, enclosure, np.zeros((1, 2), dtype=bool), format_of("float64"))
    error = float(ulp_error(got[0, 1], exact[0, 1]))
    assert 0.5 <= error <= bounds[0, 1] <= error + 17
    assert bounds[0, 0] <= 0.5 and scores[0, 0] <= 2.0**-40


def test_the_float64_bound_across_a_power_of_two():
    # x just below 1, rounded to 1: steps above 1 are twice ulp(x), steps below are ulp(x)
    fmt = format_of("float64")
    x = Fraction(1) - Fraction(1, 2**55)  # exact value, rounds to 1.0
    rounded = np.array([1.0])
    for got, error in [(1 + 2.0**-52, 2 + 2.0**-2), (1 - 2.0**-53, 1 - 2.0**-2)]:
        _, bound, _ = scores_and_bounds(np.array([got]), rounded, None, np.array([False]), fmt)
        assert error <= bound[0]
        assert abs(float(ulp_error(np.float64(got), x)) - error) < 1e-12


def test_element_keys_name_what_an_element_depends_on():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 2.0, 3.0]], dtype=np.float32)
    keys = element_keys("softmax", False, (x,), {})
    assert keys[0:3] == keys[3:6] and keys[0] != keys[6] and len(set(keys[0:3])) == 3  # rows and places
    assert element_keys("logsumexp", False, (x,), {})[0] == element_keys("logsumexp", False, (x,), {})[1]
    g = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    keys = element_keys("softmax", True, (x,), {"grad_output": g})
    assert keys[0] != keys[3]  # same row, another upstream gradient
    signed = element_keys("sigmoid", False, (np.array([0.0, -0.0, 0.0]),), {})
    assert signed[0] == signed[2] != signed[1]  # bit patterns: -0.0 is not 0.0
    assert element_keys("softmax", False, (x,), {"axis": 0}) is None  # another axis
    assert element_keys("cross_entropy", False, (x, np.array([0, 1, 2])), {}) is None  # a loss
    # arguments the oracle refuses have none (the oracle says what is wrong with them)
    assert element_keys("softmax", True, (x,), {"grad_output": np.ones(5)}) is None
    assert element_keys("cross_entropy", True, (x, np.array([0, 1, 2])), {"grad_output": np.ones(3)}) is None
    assert element_keys("softmax", False, (x.astype(np.float64),), {})[0] != element_keys("softmax", False, (x,), {})[0]
    # equal keys, equal exact values
    a, b = (np.array([[5.0, -3.5]]), np.array([[5.0, -3.5], [7.0, 1.0]]))
    assert element_keys("log_softmax", False, (a,), {})[1] == element_keys("log_softmax", False, (b,), {})[1]
    assert reference("log_softmax", a).exact[0, 1] == reference("log_softmax", b).exact[0, 1]



@pytest.mark.parametrize("reduction", ["sum", "none", "mean"])
@pytest.mark.parametrize("weight", [None, [1.0, 3.0]])
def test_cross_entropy_gradient_keys(reduction, weight):
    # row 0 alike; row 1 has other logits and, in the second case, another target
    x1, x2 = np.array([[1.0, -2.0], [0.5, 0.25]]), np.array([[1.0, -2.0], [4.0, -1.0]])
    kwargs = {"reduction": reduction} | ({} if weight is None else {"weight": np.array(weight)})
    k1 = element_keys("cross_entropy", True, (x1, np.array([0, 0])), kwargs)
    v1 = reference("cross_entropy", x1, np.array([0, 0]), grad=True, **kwargs).exact[0, 0]
    for t2 in (np.array([0, 0]), np.array([0, 1])):
        k2 = element_keys("cross_entropy", True, (x2, t2), kwargs)
        # "mean" divides by the weighted count of every target: another target elsewhere, another key
        assert (k1[0] == k2[0]) == (t2[1] == 0 or reduction != "mean")
        if k1[0] == k2[0]:  # equal keys, equal exact values
            assert v1 == reference("cross_entropy", x2, t2, grad=True, **kwargs).exact[0, 0]


@pytest.mark.parametrize("args, kwargs, possible", [
    ((np.array([[1.0, -3e7]], dtype=np.float32),), {}, False),
    ((np.array([[1.0, -2.0**26]], dtype=np.float32),), {}, True),
    ((np.array([[0.0, -np.inf, np.nan]]),), {}, False),
    ((np.array([[0.0, 1.0]]), np.array([10**9])), {}, False),  # integers (class targets) are not logits
    ((np.array([0.5]), np.array([1.0])), {"weight": np.array([1e9])}, True),
    ((np.array([0.5]),), {"grad_output": np.array([-1e30], dtype=ml_dtypes.bfloat16)}, True),
])
def test_fallback_possible(args, kwargs, possible):
    assert fallback_possible(args, kwargs) is possible


# --- the search reports what comparing every example exactly reports ------------------------------------------


def planted_softmax(x, axis=-1):
    """The accurate softmax, wrong by 4 ULP only where the row's max - min exceeds 60."""
    y = accurate.softmax(x, axis=axis)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        spread = np.max(x64, axis=axis, keepdims=True) - np.min(x64, axis=axis, keepdims=True)
    bumped = y
    for _ in range(4):
        bumped = np.nextafter(bumped, np.array(np.inf, dtype=y.dtype))
    return np.where(np.broadcast_to(spread > 60, y.shape), bumped, y).astype(y.dtype)


class _EveryExample:
    """The search's result when every example is compared exactly (what ``fuzz._Tracker`` did before the screen)."""

    def __init__(self) -> None:
        self.best = -math.inf
        self.worst_input: str | None = None
        self.worst_detail = ""
        self.examples = 0
        self.mismatch_count = 0
        self.mismatches: list = []
        self.mismatch_input: str | None = None

    def observe(self, impl, function, grad, args, kwargs) -> None:
        try:
            with np.errstate(all="ignore"):
                record = compare(impl, function, *args, grad=grad, **kwargs)
        except OracleError:
            return
        self.examples += 1
        if record.status != "ok":
            return
        if record.wrong_class:
            self.mismatch_count += 1
            self.mismatches.extend(record.wrong_class[: 20 - len(self.mismatches)])
            if self.mismatch_input is None:
                self.mismatch_input = fuzz.call_arguments(args, kwargs)
        if record.worst_index is not None and record.max_ulp_error > self.best:
            self.best = record.max_ulp_error
            self.worst_input = fuzz.call_arguments(args, kwargs)
            self.worst_detail = (
                f"element {record.worst_index}: got {record.worst_got!r} ({float(record.worst_got).hex()}), "
                f"correctly rounded {record.worst_rounded!r}, exact {record.worst_exact}"
            )


def _search_with_shadow(monkeypatch, candidate, function, dtype, *, grad=False, max_examples=150, seed=0):
    shadow = _EveryExample()
    exact_calls = []
    real_exact_reference = fuzz.exact_reference

    def counted(*args, **kwargs):
        exact_calls.append(1)
        return real_exact_reference(*args, **kwargs)

    class Shadowed(fuzz._Tracker):
        def run(self, call):
            super().run(call)
            shadow.observe(self.impl, self.function, self.grad, *call)

    monkeypatch.setattr(fuzz, "_Tracker", Shadowed)
    monkeypatch.setattr(fuzz, "exact_reference", counted)
    result = fuzz.search(candidate, function, dtype=dtype, grad=grad, max_examples=max_examples, seed=seed,
                         database=None)
    return result, shadow, len(exact_calls)


def _assert_same(result, shadow):
    assert result.examples_run == shadow.examples
    assert result.max_ulp_error == max(shadow.best, 0.0)
    assert result.worst_input == shadow.worst_input and result.worst_detail == shadow.worst_detail
    assert result.mismatch_count == shadow.mismatch_count
    assert repr(result.mismatches) == repr(tuple(shadow.mismatches))
    assert result.mismatch_input == shadow.mismatch_input


@pytest.mark.parametrize("candidate, function, dtype, grad, expect", [
    pytest.param(planted_softmax, "softmax", "float32", False, "ulp>=3.5", id="planted-4-ulp-float32"),
    pytest.param(planted_softmax, "softmax", "float64", False, "ulp>=3.5", id="planted-4-ulp-float64"),
    pytest.param(planted_softmax, "softmax", "float16", False, "ulp>=3.5", id="planted-4-ulp-float16"),
    pytest.param(planted_softmax, "softmax", ml_dtypes.bfloat16, False, "ulp>=3.5", id="planted-4-ulp-bfloat16"),
    pytest.param("numpy-naive", "softmax", "float32", False, "mismatches>20", id="naive-softmax-overflow"),
    pytest.param("scipy", "log_softmax", "float32", False, "ulp>1000", id="scipy-log-softmax-float32"),
    pytest.param("numpy-accurate", "softmax", "float64", False, "", id="accurate-softmax-float64"),
    pytest.param("numpy-accurate", "logsumexp", "float64", False, "", id="accurate-logsumexp-float64"),
    pytest.param("numpy-accurate", "softmax", ml_dtypes.bfloat16, False, "", id="accurate-softmax-bfloat16"),
    pytest.param("numpy-stable", "log_softmax", "float16", False, "", id="stable-log-softmax-float16"),
    pytest.param("numpy-stable", "sigmoid", "float16", False, "", id="stable-sigmoid-float16"),
    pytest.param("numpy-naive", "log_sigmoid", ml_dtypes.bfloat16, True, "", id="naive-grad-log-sigmoid-bfloat16"),
    pytest.param("numpy-naive", "cross_entropy", "float32", True, "", id="naive-grad-cross-entropy-float32"),
    pytest.param("numpy-stable", "log_softmax", "float64", True, "", id="stable-grad-log-softmax-float64"),
    # MPFR's enclosures of small calls, for functions whose fast phase keeps none
    pytest.param("numpy-stable", "cross_entropy", "float64", False, "", id="stable-cross-entropy-float64"),
    pytest.param("numpy-naive", "sigmoid", "float32", False, "", id="naive-sigmoid-float32"),
    pytest.param("numpy-stable", "kl_div", ml_dtypes.bfloat16, True, "", id="stable-grad-kl-div-bfloat16"),
    pytest.param("numpy-naive", "binary_cross_entropy_with_logits", "float64", True, "",
                 id="naive-grad-bce-with-logits-float64"),
    pytest.param("numpy-accurate", "nll_loss", "float16", False, "", id="accurate-nll-loss-float16"),
])
def test_the_screened_search_reports_what_comparing_every_example_reports(monkeypatch, candidate, function, dtype,
                                                                          grad, expect):
    result, shadow, exact_calls = _search_with_shadow(monkeypatch, candidate, function, dtype, grad=grad,
                                                      max_examples=400 if expect == "ulp>=3.5" else 150)
    _assert_same(result, shadow)
    assert result.examples_run > 0 and not result.problems
    if expect == "ulp>=3.5":  # the planted defect is found (its rows spread past 60)
        assert result.max_ulp_error >= 3.5
    elif expect == "mismatches>20":  # past the 20 kept mismatches, the count goes on without exact comparisons
        assert result.mismatch_count > 20 and len(result.mismatches) == 20
    elif expect == "ulp>1000":
        assert result.max_ulp_error > 1000
    assert exact_calls < result.examples_run  # the screen spared some exact comparisons


@pytest.mark.parametrize("candidate, function, dtype, grad", [("numpy-stable", "sigmoid", "float16", False),
                                                             ("numpy-accurate", "softmax", "float32", False),
                                                             ("numpy-accurate", "cross_entropy", "float32", True)])
def test_the_kept_answers_may_fill_up(monkeypatch, candidate, function, dtype, grad):
    # kept oracle answers, MPFR roundings and exact errors are cleared when full: nothing lost but time
    monkeypatch.setattr(fuzz, "_CACHED", 2)
    result, shadow, _ = _search_with_shadow(monkeypatch, candidate, function, dtype, grad=grad, max_examples=150)
    _assert_same(result, shadow)


def test_a_correctly_rounded_candidate_is_screened_in_a_narrow_format(monkeypatch):
    import softmax_oracle.oracle as oracle

    result, shadow, exact_calls = _search_with_shadow(monkeypatch, oracle.softmax, "softmax", "float32",
                                                      max_examples=150)
    _assert_same(result, shadow)
    assert result.max_ulp_error <= 0.5 and result.mismatch_count == 0
    assert exact_calls < result.examples_run / 3  # a record is rare: most examples are decided by the bound


def test_a_narrow_search_skips_the_float64_rounding_once_the_candidate_is_off_by_an_ulp(monkeypatch):
    calls = {"float64": 0, "format": 0}
    values, rounded_only = fuzz.oracle_values, fuzz.oracle_rounded

    def counted(kind, fn):
        def call(*args, **kwargs):
            calls[kind] += 1
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(fuzz, "oracle_values", counted("float64", values))
    monkeypatch.setattr(fuzz, "oracle_rounded", counted("format", rounded_only))
    # the forward cross_entropy's fast phase has no enclosures; with none for small calls either (they have
    # MPFR's, which come with the format's rounding: no float64 call at all), the cheaper screen is the way
    monkeypatch.setattr("softmax_oracle.oracle._enclosed.SMALL_CALL", 0)
    result = fuzz.search("numpy-naive", "cross_entropy", dtype="float32", max_examples=200, seed=3, database=None)
    assert result.max_ulp_error > 1
    assert calls["format"] > calls["float64"]  # most examples: the format's rounding alone


def _scribbling_softmax(x, axis=-1):
    """The accurate softmax, which then overwrites its input with zeros."""
    y = accurate.softmax(x, axis=axis)
    x[...] = 0
    return y


def test_a_candidate_that_writes_to_its_input_changes_neither_reference_nor_report():
    result = fuzz.search(_scribbling_softmax, "softmax", dtype="float32", max_examples=60, seed=0, database=None)
    assert result.max_ulp_error <= 0.51 and result.mismatch_count == 0
    again = compare(accurate.softmax, "softmax", *eval(f"({result.worst_input},)", {"np": np}))  # noqa: S307
    assert again.max_ulp_error == result.max_ulp_error


def test_arguments_drawn_again_are_not_run_again():
    """Hypothesis draws the same arguments again; the candidate runs once per distinct argument set and
    the repeats count as examples (``test_the_screened_search_reports_what_comparing_every_example_reports``
    shows they count as running them again would)."""
    keys = []

    def counted_softmax(x, axis=-1):
        keys.append(call_key((x,), {"axis": axis}))
        return accurate.softmax(x, axis=axis)

    result = fuzz.search(counted_softmax, "softmax", dtype="float32", max_examples=300, seed=0, database=None)
    assert len(keys) == len(set(keys)) < result.examples_run
