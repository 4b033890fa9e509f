"""compare(): candidate vs oracle records."""

from __future__ import annotations

import dataclasses

import ml_dtypes
import numpy as np
import pytest
import scipy.special as sc
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_oracle.oracle as oracle
from softmax_oracle.compare import Comparison, compare, literal
from softmax_oracle.errors import InvalidInput
from softmax_oracle.ulp import Mismatch

NAMESPACE = {"np": np, "ml_dtypes": ml_dtypes}


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_scipy_log_softmax_float32_is_thousands_of_ulps_off():
    x = np.array([10, 0, -10], dtype=np.float32)
    c = compare(sc.log_softmax, "log_softmax", x)
    assert isinstance(c, Comparison) and c.status == "ok" and c.n == 3
    assert 4500 < c.max_ulp_error < 4700
    assert c.max_ulp_distance == 4604 and c.worst_index == (0,)
    assert c.mismatches == ()
    assert _same_bits(eval(c.worst_input, NAMESPACE), x)
    assert c.worst_rounded == float(oracle.log_softmax(x)[0])
    assert c.max_bits_of_error == pytest.approx(np.log2(4605))
    assert 0 < c.mean_ulp_error < c.max_ulp_error


def test_naive_softmax_nan_is_a_class_mismatch_not_a_number():
    x = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
        c = compare(lambda v, axis=-1: np.exp(v) / np.sum(np.exp(v)), "softmax", x)
    assert len(c.mismatches) == 5
    assert {m.kind for m in c.mismatches} == {Mismatch.NAN_FOR_NUMBER}
    assert c.max_ulp_error == 0.0 and c.worst_index is None  # no number folded in
    assert [m.expected for m in c.mismatches] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert _same_bits(eval(c.mismatches[0].input, NAMESPACE), x)
    assert not c.ok and np.isnan(c.ulp_errors).all()


def test_the_oracle_as_candidate_is_correctly_rounded():
    x = np.array([[1.0, 2.0, 3.0], [-700.0, 0.0, 1e-300]])
    c = compare(oracle.softmax, "softmax", x)
    assert c.ok and c.max_ulp_distance == 0 and c.max_ulp_error <= 0.5


@settings(deadline=None, max_examples=15)
@given(
    data=st.data(),
    dtype=st.sampled_from([np.float64, np.float32, np.float16, ml_dtypes.bfloat16]),
    function=st.sampled_from(["log_softmax", "logsumexp", "sigmoid"]),
)
def test_the_oracle_scores_at_most_half_an_ulp_in_every_format(data, dtype, function):
    x = data.draw(hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-60, 60))).astype(dtype)
    c = compare(getattr(oracle, function), function, x)
    assert c.ok and c.max_ulp_distance == 0 and c.max_ulp_error <= 0.5


@pytest.mark.parametrize(
    ("candidate", "status", "problem"),
    [
        (lambda x, axis=-1: 1 / 0, "raised", "raised ZeroDivisionError"),
        (lambda x, axis=-1: [0.5, 0.5], "not-an-array", "builtins.list"),
        (lambda x, axis=-1: np.array([0.5]), "wrong-shape", "shape (1,)"),
        (lambda x, axis=-1: np.array([0.5, 0.5], np.float32), "wrong-dtype", "dtype float32"),
    ],
    ids=["raises", "list", "shape", "dtype"],
)
def test_bad_candidates_give_records_not_crashes(candidate, status, problem):
    c = compare(candidate, "softmax", np.zeros(2))
    assert c.status == status and problem in c.problem
    assert not c.ok and c.n == 2 and np.isnan(c.max_ulp_error)


def test_unknown_function_and_candidate_names():
    with pytest.raises(InvalidInput, match="function must be one of logsumexp, softmax"):
        compare(sc.softmax, "softmin", np.zeros(2))
    with pytest.raises(InvalidInput, match="candidate must be one of numpy-naive.*torch, jax"):
        compare("mxnet", "softmax", np.zeros(2))


def test_comparison_is_frozen():
    c = compare(oracle.sigmoid, "sigmoid", np.zeros(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.max_ulp_error = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        c.ulp_errors[0] = 1.0


def test_zero_sign_matters_only_where_the_exact_value_is_nonzero():
    # sigmoid(-800) = e**-800 > 0 underflows to +0: a -0 has the wrong sign
    c = compare(lambda x: -oracle.sigmoid(x), "sigmoid", np.array([-800.0]))
    assert [m.kind for m in c.mismatches] == [Mismatch.ZERO_SIGN]
    # the gradient of sum(softmax) is exactly 0: either zero is right
    c = compare(lambda x, axis=-1, grad_output=None: -np.zeros_like(x), "softmax", np.array([1.0, 2.0]), grad=True)
    assert c.ok and c.max_ulp_error == 0.0


def test_zero_signs_are_counted_apart_and_keep_their_ulp_error():
    # sigmoid(-800) and sigmoid(-900) underflow to +0; the candidate returns -0 there and a 1-ULP-off value at 1.0
    x = np.array([-800.0, -900.0, 1.0])
    off = lambda v: np.where(v < -700, -0.0, np.nextafter(oracle.sigmoid(v), 2.0))  # noqa: E731
    c = compare(off, "sigmoid", x)
    assert [m.kind for m in c.zero_signs] == [Mismatch.ZERO_SIGN] * 2 and c.wrong_class == ()
    assert c.ok  # zero signs are not a wrong class
    assert not np.isnan(c.ulp_errors).any() and c.ulp_errors[0] < 1e-20  # e**-800 / 2**-1074
    assert c.worst_index == (2,) and 0.5 < c.max_ulp_error < 1.5
    assert c.exceeding(2.0).tolist() == [False, False, False]
    assert c.exceeding(2.0, signed_zeros=True).tolist() == [True, True, False]
    assert c.zero_signs[0].input == "np.float64(float.fromhex('-0x1.9000000000000p+9'))"


def test_a_nan_is_a_wrong_class_not_a_zero_sign():
    nan_at_0 = lambda v: np.where(v < -700, np.nan, oracle.sigmoid(v))  # noqa: E731
    c = compare(nan_at_0, "sigmoid", np.array([-800.0, 1.0]))
    assert [m.kind for m in c.wrong_class] == [Mismatch.NAN_FOR_NUMBER] and not c.zero_signs and not c.ok
    assert np.isnan(c.ulp_errors[0]) and c.exceeding(1.0).tolist() == [True, False]


def test_gradients_are_compared_with_grad_output():
    pytest.importorskip("torch")
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]], dtype=np.float32)
    g = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=np.float32)
    c = compare("torch", "log_softmax", x, grad=True, grad_output=g)
    assert c.status == "ok" and c.grad and c.n == 6
    assert c.max_ulp_error < 64  # torch float32 log_softmax backward: a few ULPs, measured ~2
    assert _same_bits(eval(c.worst_input, NAMESPACE), x[c.worst_index[0]])


def test_worst_input_is_the_row_for_axis_reductions_and_losses():
    x = np.array([[1.0, 50.0], [2.0, -3.0], [0.5, 7.0]])
    bad = lambda v, axis=-1: oracle.logsumexp(v, axis=axis) + np.array([0.0, 1e-12])  # noqa: E731
    c = compare(bad, "logsumexp", x, axis=0)
    assert c.worst_index == (1,)
    assert _same_bits(eval(c.worst_input, NAMESPACE), x[:, 1])
    t = np.array([0, 1, 1])
    off = lambda i, tt, **kw: oracle.cross_entropy(i, tt, **kw) * np.array([1.0, 1.0 + 1e-9, 1.0])  # noqa: E731
    c = compare(off, "cross_entropy", x, t, reduction="none")
    row, target = eval(f"({c.worst_input})", NAMESPACE)
    assert c.worst_index == (1,) and _same_bits(row, x[1]) and target.tolist() == 1


def test_scipy_float16_promotion_is_reported():
    c = compare("scipy", "sigmoid", np.array([0.1, 3.0], dtype=np.float16))
    assert c.status == "ok" and "float16 to float64" in c.note
    assert c.max_ulp_error <= 1.0  # two roundings: at most a hair above 0.5


@pytest.mark.parametrize(
    "value",
    [
        np.array([1.5, -0.0, np.inf, -np.inf, 2.0**-1074]),
        np.array([[1.0, 3.0], [np.nan, 2.0]], dtype=np.float32),
        np.array([65504.0, 6e-8], dtype=np.float16),
        np.array([1.0, -3.0e38], dtype=ml_dtypes.bfloat16),
        np.float32(0.1),
        np.array([1, 0, -100]),
    ],
    ids=["float64", "float32-2d-nan", "float16", "bfloat16", "scalar", "int"],
)
def test_literal_round_trips_exactly(value):
    assert _same_bits(eval(literal(value), NAMESPACE), value)


def test_compare_measures_against_rounded_values_where_exact_is_beyond_range():
    """grad.softmax at the max of [0, 2**40, 0]: exact raises (below MPFR's range); compare still scores, and says so."""
    import numpy as np

    from softmax_oracle.compare import compare

    c = compare("numpy-accurate", "softmax", np.array([0.0, 2.0**40, 0.0]), grad=True, grad_output=np.array([1.0, 0.0, 0.0]))
    assert c.status == "ok" and c.max_ulp_error == 0.0
    assert "exact values unavailable" in c.note and "below MPFR's exponent range" in c.note


def test_a_single_exponential_far_below_the_float_range_is_exact():
    """softmax([0, -1e10]): one term exp(-1e10) is exact (no fallback); the gradient's sum of such terms is not."""
    import numpy as np

    from softmax_oracle.compare import reference

    r = reference("softmax", np.array([0.0, -1e10]))
    assert r.note == "" and str(r.exact[1]).startswith("9.2785844203248")  # e**-1e10 = 9.28e-4342944820
    g = reference("softmax", np.array([[0.0, -1e10, -1e10]]), grad=True, grad_output=np.array([[1.0, 2.0, -3.0]]))
    assert "below MPFR's exponent range" in g.note
