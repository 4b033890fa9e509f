"""The accurate NumPy tier on subnormal results and signed zeros (issue 12).

Budgets: 2 ULP for float64 at any magnitude, subnormal results included; 0.51 ULP
for float32, float16 and bfloat16.  Zeros: where the exact value is not 0 but
rounds to 0, the result is the zero of the exact value's sign (the oracle's
rounding, checked with :func:`softmax_oracle.ulp.class_mismatches`).  Oracle
calls stay on small arrays (MPFR only on this branch).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from softmax_oracle import exact, oracle, strategies, ulp
from softmax_oracle.errors import PrecisionExhausted
from softmax_oracle.formats import FLOAT64, FORMATS
from softmax_oracle.numerics.cast import round_to_format
from softmax_oracle.numpy_impl import accurate, naive, stable

SETTINGS = settings(deadline=None)
BUDGET = {"float64": 2.0, "float32": 0.51, "float16": 0.51, "bfloat16": 0.51}
FAMILY = ["softmax", "log_softmax", "logsumexp"]
PATHS = [{}, {"dtype": None}]  # the fast path (plain float32/float64 rows) and, through a list, the general one


def _call(fn, x, args, grad, path, **kw):
    target = getattr(accurate.grad if grad else accurate, fn)
    if path:  # a list is not a plain ndarray: the general path
        return target(x.tolist() if x.dtype.char in "fd" else x, *args, dtype=x.dtype, **kw)
    return target(x, *args, **kw)


def _nonzero(values) -> np.ndarray:
    """Where the exact values (mpmath numbers) are not 0: the sign of a rounded zero matters there."""
    return np.vectorize(lambda v: v != 0, otypes=[bool])(np.asarray(values, dtype=object))


def check(fn, x, *args, grad=False, path=None, **kw):
    """Budget against the exact values, zero signs against the oracle's rounding."""
    fmt = next(f for f in FORMATS if f.dtype == x.dtype)
    try:
        ex = getattr(exact.grad if grad else exact, fn)(x, *args, **kw)
    except PrecisionExhausted:
        reject()
    rounded = getattr(oracle.grad if grad else oracle, fn)(x, *args, **kw)
    got = _call(fn, x, args, grad, path or {}, **kw)
    err = np.asarray(ulp.ulp_error(got, ex, fmt=fmt), dtype=np.float64)
    err = np.where(np.isnan(err), np.inf, err)
    assert (err <= BUDGET[fmt.name]).all(), f"{fn} grad={grad} {fmt.name}: x={x!r} {kw} got={got!r} err={err!r}"
    wrong = np.asarray(ulp.class_mismatches(got, rounded, zero_sign=_nonzero(ex)))
    assert not wrong.any(), f"{fn} grad={grad} {fmt.name}: x={x!r} {kw} got={got!r} oracle={rounded!r}"
    return got, rounded


# -- pinned regressions ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=["fast", "general"])
@pytest.mark.parametrize("rows", [1, 3])
def test_log_softmax_of_63_zeros_and_745_is_minus_1_78e_322(path, rows):
    # Each exp(-745) rounded to one subnormal ULP before the sum: -3.1e-322, 27 ULP off.
    x = np.zeros((rows, 64))
    x[:, 31] = 745.0
    got, rounded = check("log_softmax", x, path=path)
    assert got[0, 31] == rounded[0, 31] == -36 * 2.0**-1074  # -1.78e-322
    assert (got[:, 0] == -745.0).all()


@pytest.mark.parametrize("path", PATHS, ids=["fast", "general"])
def test_logsumexp_near_zero_sums_subnormal_terms(path):
    # logsumexp = 0 + log1p(S), S = 2 exp(-745) + exp(-744.5): subnormal, summed from rounded subnormals before.
    x = np.array([[0.0, -745.0, -745.0, -744.5], [1e-320, -745.0, -745.0, -740.0]])
    got, rounded = check("logsumexp", x, path=path)
    assert (got == rounded).all()


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_log_softmax_of_a_dominant_logit_is_negative_zero(fmt):
    # -log1p(exp(-20000)) < 0 rounds to -0.0; with the other logit -inf the exact value is 0: +0.0.
    x = round_to_format(np.array([[0.0, -20000.0], [0.0, -np.inf], [0.0, -1e4]]), fmt)
    for path in PATHS:
        got, _ = check("log_softmax", x, path=path)
        assert np.signbit(got[0, 0]) and np.signbit(got[2, 0]) and got[1, 0] == 0 and not np.signbit(got[1, 0])


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_gradients_that_underflow_keep_their_sign(fmt):
    # exp(-20000) was 0 in the double-double exponential: g t_i / T with g < 0 gave +0.0.
    x = round_to_format(np.array([[0.0, -20000.0, -3.0e4], [5.0, -np.inf, -60000.0]]), fmt)
    g = round_to_format(np.array([[1.0, -2.0, 3.0], [-1.0, 2.0, 0.5]]), fmt)
    for fn in FAMILY:
        go = g[:, 0] * -1 if fn == "logsumexp" else g
        check(fn, x, grad=True, grad_output=go)


def test_bce_with_logits_gradient_that_underflows_keeps_its_sign():
    x, y = np.array([-20000.0, 20000.0, 3e4]), np.array([0.0, 1.0, 1.0])
    check("binary_cross_entropy_with_logits", x, y, grad=True, reduction="none", grad_output=np.array([-1.0, 1.0, 1.0]))


def test_bce_zero_weight_removes_an_infinite_term():
    # p = 0 with y = 1 is an infinite term; a zero weight makes it absent (0), not 0 * inf = NaN.
    p, y, w = np.array([0.0, 0.5]), np.array([1.0, 1.0]), np.array([0.0, 1.0])
    for grad in (False, True):
        got = (accurate.grad if grad else accurate).binary_cross_entropy(p, y, weight=w, reduction="none")
        np.testing.assert_array_equal(got, (oracle.grad if grad else oracle).binary_cross_entropy(
            p, y, weight=w, reduction="none"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_gradient_of_a_mean_over_zero_weight(dtype):
    # Every target of zero weight: the mean is 0 / 0. With smoothing the samples still have terms, so
    # their gradient is NaN (the accurate tier gave +-inf, g / 0); without smoothing, or for ignored
    # samples, there is no term and the gradient is 0 (found by tools/bench_fuzz.py's search).
    x = np.array([[-1.0, -2.0, -3.0, -4.0], [0.5, 1.0, 2.0, 3.0]], dtype=dtype)
    w = np.array([1.0, 0.0, 2.0, 3.0], dtype=dtype)
    cases = [(np.array([1, 1]), dict(weight=w)), (np.array([1, 1]), dict(weight=w, label_smoothing=0.1)),
             (np.array([1, -100]), dict(weight=w, label_smoothing=0.1)), (np.array([-100, -100]), {}),
             (np.array([-100, -100]), dict(label_smoothing=0.1))]
    expected = [np.zeros((2, 4)), np.full((2, 4), np.nan), np.array([[np.nan] * 4, [0.0] * 4]), np.zeros((2, 4)),
                np.zeros((2, 4))]
    for (target, kw), want in zip(cases, expected):
        want_out = oracle.grad.cross_entropy(x, target, **kw)
        np.testing.assert_array_equal(want_out, want)
        for tier in (accurate, stable):
            np.testing.assert_array_equal(tier.grad.cross_entropy(x, target, **kw), want_out)
        # the loss itself: the mean over a zero total weight is NaN, also where smoothing leaves terms
        # (the tiers gave inf: sum / 0; found by tools/bench_fuzz.py on numpy-stable)
        assert np.isnan(oracle.cross_entropy(x, target, **kw))
        for tier in (accurate, stable, naive):
            assert np.isnan(tier.cross_entropy(x, target, **kw))


# -- Hypothesis: the regimes where terms underflow ---------------------------------------------------

REGIMES = ["dominant", "subnormal_out", "huge_gap", "masked", "full_range"]


@st.composite
def family_case(draw):
    fmt = draw(st.sampled_from(FORMATS))
    n = draw(st.integers(2, 9))
    x = draw(strategies.logits(fmt.dtype, shape=(2, n), regime=draw(st.sampled_from(REGIMES))))
    with np.errstate(invalid="ignore"):
        if not np.isfinite(np.max(x.astype(np.float64), axis=-1)).all():
            x[:, 0] = 0  # rows with a finite maximum; the edge rows are tested elsewhere
    return fmt, x


@SETTINGS
@given(case=family_case(), fn=st.sampled_from(["softmax", "log_softmax", "logsumexp"]), fast=st.booleans())
def test_family_within_budget_and_signed_zeros_where_terms_underflow(case, fn, fast):
    _, x = case
    check(fn, x, path=None if fast else {"dtype": None})


@SETTINGS
@given(case=family_case(), fn=st.sampled_from(FAMILY), data=st.data())
def test_family_gradients_within_budget_and_signed_zeros(case, fn, data):
    fmt, x = case
    shape = x.shape[:1] if fn == "logsumexp" else x.shape
    scale = data.draw(st.sampled_from([1.0, 2.0**-1000, 2.0**1000] if fmt.name == "float64" else [1.0]))
    g = round_to_format(np.array(data.draw(st.lists(st.floats(-4, 4), min_size=int(np.prod(shape)),
                                                    max_size=int(np.prod(shape))))) * scale, fmt)
    check(fn, x, grad=True, grad_output=g.reshape(shape))


@SETTINGS
@given(fmt=st.sampled_from(FORMATS), data=st.data())
def test_cross_entropy_and_its_gradient_where_terms_underflow(fmt, data):
    n = data.draw(st.integers(2, 6))
    x = data.draw(strategies.logits(fmt.dtype, shape=(2, n), regime=data.draw(st.sampled_from(REGIMES[:3]))))
    target = data.draw(strategies.class_targets(x, ignore_index=None))
    check("cross_entropy", x, target, reduction="none")
    g = round_to_format(np.array(data.draw(st.lists(st.floats(-4, 4), min_size=2, max_size=2))), fmt)
    check("cross_entropy", x, target, grad=True, reduction="none", grad_output=g)


# -- the float64 fast path's branches -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn", FAMILY)
def test_many_short_rows_column_maxima_and_blas_sums(dtype, fn):
    """64 rows or more of at most 32 logits: maxima over columns, row sums as a matrix-vector product."""
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((70, 6)) * np.array([1.0, 30.0, 800.0])[rng.integers(0, 3, 70)][:, None]).astype(dtype)
    x[5, 2] = x[5].max()  # a tie at the maximum
    check(fn, x)


@pytest.mark.parametrize("fn", ["log_softmax", "logsumexp"])
def test_long_rows_with_a_small_rest_are_recomputed(fn):
    """Rows of 200 with S = 199 exp(-50): the remainders of the extraction at scale n would cost
    -log1p(S) its last digits; such rows take the general kernels."""
    x = np.full((2, 200), -50.0)
    x[:, 0] = 0.0
    x[1, 0] = 1e-30  # logsumexp near 0: S matters to full precision
    x[1, 7:] -= np.linspace(0, 1, 193)
    got, rounded = check(fn, x)
    if fn == "log_softmax":
        assert got[0, 0] == rounded[0, 0]


def test_single_row_with_a_minus_inf_logit_takes_the_general_path():
    x = np.array([0.0, -np.inf, -745.0, -746.0])
    for fn in FAMILY:
        check(fn, x)


@pytest.mark.parametrize("rows", [1, 3, 70])
@pytest.mark.parametrize("fn", FAMILY)
def test_logit_differences_that_overflow_raise_no_warning(fn, rows):
    """x - max overflows to -inf for logits of opposite signs near the float64 limit: the term is 0
    (the fast path hands such rows to the general one), silently."""
    import warnings

    x = np.tile(np.array([1e308, -1e308, 0.0]), (rows, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(accurate, fn)(x)
    np.testing.assert_array_equal(got, getattr(oracle, fn)(x))
