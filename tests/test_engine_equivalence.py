"""engine="auto" (certified fast phase + MPFR) returns exactly the bits of engine="mpfr".

Values, classes and signs of zero, in every format, regime and function,
gradients and losses with their options; every 16-bit input of the
elementwise functions; a search towards rounding midpoints; and the fast
phase's decision rate on N(0, 10) logits (an assertion on counts, not a
timing).  ``HYPOTHESIS_PROFILE=dev`` (or ``SOFTMAX_ORACLE_DEV=1``) adds a
comparison on at least 10**6 elements per format.
"""

from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

import softmax_oracle as so
from softmax_oracle.candidates import FUNCTIONS
from softmax_oracle.formats import format_of
from softmax_oracle.regimes import REGIMES, sample_arguments
from softmax_oracle.strategies import arguments, logits

FORMATS = ("float64", "float32", "float16", "bfloat16")
ROWS = ("logsumexp", "softmax", "log_softmax")
POINTWISE = ("sigmoid", "log_sigmoid", "softplus")
DEV = os.environ.get("HYPOTHESIS_PROFILE") == "dev" or os.environ.get("SOFTMAX_ORACLE_DEV") == "1"
EXAMPLES = 300 if DEV else 15  # per test: 88 drawn-argument tests run in CI
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.view(_UINT[a.dtype.itemsize])


def assert_same_bits(auto: np.ndarray, mpfr: np.ndarray, what: str) -> None:
    auto, mpfr = np.asarray(auto), np.asarray(mpfr)
    assert auto.shape == mpfr.shape and auto.dtype == mpfr.dtype, what
    differ = np.flatnonzero(bits(auto).reshape(-1) != bits(mpfr).reshape(-1))
    if differ.size:
        i = int(differ[0])
        a, m = auto.reshape(-1)[i], mpfr.reshape(-1)[i]
        raise AssertionError(f"{what}: {differ.size} element(s) differ; first flat index {i}: "
                             f"auto {float(a)!r} ({bits(auto).reshape(-1)[i]:#x}), "
                             f"mpfr {float(m)!r} ({bits(mpfr).reshape(-1)[i]:#x})")


def both(function: str, grad: bool, args, kwargs) -> tuple[np.ndarray, np.ndarray]:
    f = getattr(so.oracle.grad if grad else so.oracle, function)
    return f(*args, **kwargs), f(*args, engine="mpfr", **kwargs)


def _grad_output(draw, function: str, args, kwargs) -> np.ndarray | None:
    """None (ones), or a drawn upstream gradient of the output's shape (sometimes with a non-finite entry)."""
    if draw(st.booleans()):
        return None
    shape = np.shape(getattr(so.oracle, function)(*args, **kwargs))
    dtype = np.asarray(args[0]).dtype
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    g = rng.choice([rng.standard_normal(shape), rng.uniform(-1, 1, shape) * 10.0 ** rng.integers(-30, 30),
                    np.zeros(shape), np.full(shape, 0.75)])
    with np.errstate(over="ignore"):  # a drawn magnitude beyond the format is inf: a valid upstream gradient
        g = np.asarray(g).astype(dtype)
    if g.size and draw(st.integers(0, 7)) == 0:
        g.reshape(-1)[draw(st.integers(0, g.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, -0.0]))
    return g


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
@pytest.mark.parametrize("function", FUNCTIONS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_auto_equals_mpfr_on_drawn_arguments(function: str, grad: bool, fmt: str, data) -> None:
    args, kwargs = data.draw(arguments(function, fmt, max_batch=3, max_row_length=9))
    if function in ROWS and np.ndim(args[0]) == 2 and data.draw(st.booleans()):
        kwargs["axis"] = 0
    if grad:
        kwargs["grad_output"] = _grad_output(data.draw, function, args, kwargs)
    if data.draw(st.integers(0, 3)) == 0:
        kwargs["dtype"] = data.draw(st.sampled_from(FORMATS))
    with np.errstate(all="ignore"):  # drawn grad_output may overflow its dtype on the cast
        auto, mpfr = both(function, grad, args, kwargs)
    assert_same_bits(auto, mpfr, f"{'grad.' if grad else ''}{function} {fmt} {kwargs}")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("regime", REGIMES)
def test_auto_equals_mpfr_in_every_regime(fmt: str, regime: str) -> None:
    for function in ("softmax", "log_softmax", "logsumexp", "cross_entropy"):
        for grad in (False, True):
            for args, kwargs in sample_arguments(function, fmt, regime, n=2, seed=7, row_length=40, batch=3):
                if grad and function in ("softmax", "log_softmax"):
                    kwargs["grad_output"] = np.random.default_rng(3).uniform(-1, 1, np.shape(args[0]))
                auto, mpfr = both(function, grad, args, kwargs)
                assert_same_bits(auto, mpfr, f"{function} grad={grad} {fmt} {regime}")


@pytest.mark.parametrize("fmt", ["float16", "bfloat16"])
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
@pytest.mark.parametrize("function", POINTWISE)
def test_every_16_bit_input_of_the_elementwise_functions(function: str, grad: bool, fmt: str) -> None:
    x = np.arange(1 << 16, dtype=np.uint16).view(format_of(fmt).dtype)
    kwargs = {}
    if grad:  # a non-trivial upstream gradient: every input's bits reversed, NaNs and infinities included
        kwargs["grad_output"] = np.arange(1 << 16, dtype=np.uint16)[::-1].copy().view(format_of(fmt).dtype)
    auto, mpfr = both(function, grad, (x,), kwargs)
    assert_same_bits(auto, mpfr, f"{function} grad={grad} {fmt}")


# -- towards rounding midpoints -----------------------------------------------------------------------------


def _distance_to_midpoint(exact, rounded: np.ndarray, fmt: str) -> float:
    """The smallest distance, in ULPs of ``fmt``, from an exact value to a rounding midpoint (0.5 = a float)."""
    f = format_of(fmt)
    best = 0.5
    for e, r in zip(np.asarray(exact, dtype=object).reshape(-1), rounded.astype(np.float64).reshape(-1)):
        if not (mpmath.isfinite(e) and math.isfinite(r)) or e == 0:
            continue
        exponent = max(int(mpmath.floor(mpmath.log(abs(e), 2))), f.emin) - (f.precision - 1)
        ulps = abs(e) / mpmath.mpf(2) ** exponent
        best = min(best, float(abs(ulps - mpmath.floor(ulps) - mpmath.mpf(0.5))))
    return best


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("function", ["softmax", "log_softmax", "logsumexp", "sigmoid", "softplus"])
@settings(max_examples=4 * EXAMPLES)
@given(data=st.data())
def test_search_towards_rounding_midpoints_finds_no_disagreement(function: str, fmt: str, data) -> None:
    if function in ROWS:
        x = data.draw(logits(fmt, shape=(2, 5), allow_neg_inf=False))
    else:
        x = np.asarray(data.draw(logits(fmt, shape=(1, 6), allow_neg_inf=False))).reshape(-1)
    auto, mpfr = both(function, False, (x,), {})
    exact = getattr(so.exact, function)(x, bits=140 if fmt == "float64" else 80)
    target(-_distance_to_midpoint(exact, mpfr, fmt), label="ULPs to a midpoint (negated)")
    assert_same_bits(auto, mpfr, f"{function} {fmt} {x!r}")


def test_the_midpoint_plus_a_vanishing_term_goes_to_mpfr() -> None:
    """cross_entropy([[2**53, -1]], [1]) is 2**53 + 1 + tiny: the fast phase must not round the midpoint."""
    x, t = np.array([[2.0**53, -1.0]]), np.array([1])
    with so.oracle.decision_counts() as counts:
        got = so.oracle.cross_entropy(x, t, reduction="none")
    assert float(got[0]) == 2.0**53 + 2 and counts.phase1_decided == 0
    with so.oracle.decision_counts() as counts:
        got = so.oracle.logsumexp(np.array([2.0**53, 2.0**53 + 2, -1.0]))  # 2**53 + 2 + log1p(e^-2 + ...)
    assert counts.elements == 1
    assert_same_bits(got, so.oracle.logsumexp(np.array([2.0**53, 2.0**53 + 2, -1.0]), engine="mpfr"), "logsumexp")


# -- decision rate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_phase1_decides_999_per_mille_of_normal_logits(fmt: str) -> None:
    dtype = format_of(fmt).dtype
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 10.0, (32, 1000)).astype(dtype)
    target_ = rng.integers(0, 1000, 32)
    g = rng.uniform(-1, 1, x.shape).astype(dtype)
    calls = [
        (so.oracle.softmax, (x,), {}), (so.oracle.log_softmax, (x,), {}), (so.oracle.logsumexp, (x,), {}),
        (so.oracle.grad.logsumexp, (x,), {}), (so.oracle.grad.softmax, (x,), {"grad_output": g}),
        (so.oracle.grad.log_softmax, (x,), {"grad_output": g}),
        (so.oracle.cross_entropy, (x, target_), {"reduction": "none"}),
        (so.oracle.grad.cross_entropy, (x, target_), {}),
        (so.oracle.sigmoid, (x,), {}), (so.oracle.softplus, (x,), {}), (so.oracle.log_sigmoid, (x,), {}),
    ]
    for f, args, kwargs in calls:
        with so.oracle.decision_counts() as counts:
            f(*args, **kwargs)
        assert counts.rate >= 0.999, f"{f.__qualname__} {fmt}: {counts.phase1_decided}/{counts.elements}"


@pytest.mark.skipif(not DEV, reason="dev profile only (HYPOTHESIS_PROFILE=dev or SOFTMAX_ORACLE_DEV=1)")
@pytest.mark.parametrize("fmt", FORMATS)
def test_auto_equals_mpfr_on_a_million_elements(fmt: str) -> None:
    compared = 0
    seed = 0
    while compared < 10**6:
        for regime in REGIMES:
            for function in ("softmax", "log_softmax", "logsumexp", "cross_entropy", "sigmoid", "softplus"):
                for args, kwargs in sample_arguments(function, fmt, regime, n=1, seed=seed, row_length=500,
                                                     batch=8):
                    for grad in (False, True):
                        auto, mpfr = both(function, grad, args, kwargs)
                        assert_same_bits(auto, mpfr, f"{function} grad={grad} {fmt} {regime} seed={seed}")
                        compared += auto.size
        seed += 1


def test_reduced_binary_loss_of_one_element_matches_mpfr() -> None:
    """A float64 mean of BCE came out one ULP low through 0-d enclosure arithmetic (its low word unscaled)."""
    p, y = np.array([0.46308625]), np.array([1.0])
    for reduction in ("mean", "sum"):
        auto, mpfr = both("binary_cross_entropy", False, (p, y), {"reduction": reduction})
        assert_same_bits(auto, mpfr, f"binary_cross_entropy {reduction}")


def test_a_huge_upstream_gradient_keeps_a_vanishing_probability() -> None:
    """g s_j with s_j = e**-800 is 3.6e-48 for g = 1e300, not the zero that s_j alone rounds to."""
    x = np.array([[0.0, -800.0, -3000.0]])
    for g in (1e300, -1e300, 1.0):
        auto, mpfr = both("logsumexp", True, (x,), {"grad_output": np.array([g])})
        assert_same_bits(auto, mpfr, f"grad.logsumexp g={g}")
        auto, mpfr = both("cross_entropy", True, (x, np.array([0])), {"grad_output": np.array(g),
                                                                      "reduction": "sum"})
        assert_same_bits(auto, mpfr, f"grad.cross_entropy g={g}")
    assert so.oracle.grad.logsumexp(x, grad_output=np.array([1e300]))[0, 1] > 0


@pytest.mark.parametrize("weight", [[1e308, 1.5e308, 1.0], [1e308, -1.5e308, 1.0], [1.7e308, 1.7e308, 1.0],
                                    [1e300, 3.0, 1.0]], ids=["overflowing", "cancelling", "both-huge", "huge"])
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
def test_class_weights_near_the_float_maximum(weight, grad) -> None:
    # the total weight, the products w g and the sums of the losses overflow in the fast phase: nothing it
    # cannot bound is decided (and it warns about nothing), the MPFR engine decides the rest
    x, t, w = np.array([[0.0, 1.0, 2.0], [1.0, 0.5, -1.0]]), np.array([0, 1]), np.array(weight)
    probs = np.array([[0.5, 0.0, 0.5], [0.25, 0.75, 0.0]])
    for function, target, options in [("cross_entropy", t, [{}, {"label_smoothing": 0.1}]),
                                      ("cross_entropy", probs, [{}]), ("nll_loss", t, [{}])]:
        for kw in options:
            for reduction in ("mean", "sum", "none"):
                for dtype in (None, np.float32):
                    args, kwargs = (x, target), dict(weight=w, reduction=reduction, dtype=dtype, **kw)
                    if grad:
                        kwargs["grad_output"] = np.array(1e308) if reduction != "none" else np.full(2, -3.0)
                    auto, mpfr = both(function, grad, args, kwargs)
                    assert_same_bits(auto, mpfr, f"{function} {kw} {reduction} {dtype} grad={grad}")
