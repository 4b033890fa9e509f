"""assert_matches_oracle: fails with a readable, reproducible message; passes silently."""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest
import scipy.special as sc

from softmax_oracle.compare import Comparison
from softmax_oracle.errors import InvalidInput
from softmax_oracle.testing import assert_matches_oracle

NAMESPACE = {"np": np, "ml_dtypes": ml_dtypes}
LOGITS = np.array([10, 0, -10], dtype=np.float32)
SEED_LOGITS = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])  # the bigfloat seed


def _naive_softmax(x, axis=-1):
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is what is tested
        e = np.exp(x)
        return e / np.sum(e, axis=axis, keepdims=True)


def test_fails_on_scipy_log_softmax_float32():
    with pytest.raises(AssertionError) as info:
        assert_matches_oracle(sc.log_softmax, "log_softmax", LOGITS)
    message = str(info.value)
    assert "Not within 1.0 ULP of the correctly rounded log_softmax (float32)" in message
    assert "Mismatched elements: 1 / 3 (33.3%)" in message
    ulps = float(re.search(r"Max ULP error: ([0-9.]+) at index \(0,\)", message).group(1))
    assert 4500 < ulps < 4700
    assert "budget 1.0" in message
    assert "got:               -4.541770977084525e-05" in message
    assert "correctly rounded: -4.54009605164174e-05" in message
    assert "exact:             -4.5400960276912979e-5" in message
    # the worst input can be pasted back, exactly
    call = re.search(r"Worst input: log_softmax\((.*)\)\n", message).group(1)
    again = eval(call, NAMESPACE)
    assert again.dtype == np.float32 and again.tobytes() == LOGITS.tobytes()
    assert "0x1.4000000000000p+3" in message


def test_fails_on_naive_softmax_nan_at_the_seed_logits():
    with pytest.raises(AssertionError) as info:
        assert_matches_oracle(_naive_softmax, "softmax", SEED_LOGITS)
    message = str(info.value)
    assert "Mismatched elements: 5 / 5 (100%)" in message
    assert "Class mismatches: 5" in message
    assert "index (4,): NaN where a number is due: got nan, correctly rounded 1.0" in message
    assert "0x1.3880000000000p+12" in message  # 5000 as a hex float
    assert "Max ULP error" not in message  # NaN is not folded into a number


def test_fails_on_the_registered_naive_tier_too():
    pytest.importorskip("softmax_oracle.numpy_impl.naive")
    with pytest.raises(AssertionError, match="NaN where a number is due"):
        with np.errstate(all="ignore"):
            assert_matches_oracle("numpy-naive", "softmax", SEED_LOGITS)


@pytest.mark.parametrize(
    ("function", "x"),
    [("log_softmax", LOGITS), ("softmax", SEED_LOGITS), ("logsumexp", LOGITS), ("softmax", LOGITS)],
    ids=["log_softmax-float32", "softmax-seed", "logsumexp-float32", "softmax-float32"],
)
def test_passes_on_the_accurate_tier(function, x):
    pytest.importorskip("softmax_oracle.numpy_impl.accurate")
    result = assert_matches_oracle("numpy-accurate", function, x)
    assert isinstance(result, Comparison) and result.max_ulp_error <= 1.0


def test_budget_is_respected_both_ways():
    comparison = assert_matches_oracle(sc.log_softmax, "log_softmax", LOGITS, max_ulp=5000)
    assert comparison.max_ulp_error > 4500
    with pytest.raises(AssertionError, match="budget 4000"):
        assert_matches_oracle(sc.log_softmax, "log_softmax", LOGITS, max_ulp=4000)


def test_candidate_failures_are_reported():
    with pytest.raises(AssertionError, match=r"raised RuntimeError: kernel crashed \(status 'raised'\)"):
        assert_matches_oracle(lambda x: (_ for _ in ()).throw(RuntimeError("kernel crashed")), "sigmoid", LOGITS)
    with pytest.raises(AssertionError, match="returned dtype float64; the oracle's is float32"):
        assert_matches_oracle(lambda x: sc.expit(x.astype(np.float64)), "sigmoid", LOGITS)


def test_gradient_and_options_in_the_reproducing_call():
    x = np.array([[0.0, 1.0], [3.0, -2.0]], dtype=np.float32)
    t = np.array([1, 0])
    wrong = lambda i, tt, **kw: np.array([[0.5, -0.5], [0.0, 0.0]], np.float32)  # noqa: E731
    with pytest.raises(AssertionError) as info:
        assert_matches_oracle(wrong, "cross_entropy", x, t, grad=True, reduction="sum")
    message = str(info.value)
    assert "gradient of cross_entropy" in message and "reduction='sum'" in message
    assert "Worst input: grad.cross_entropy(" in message


def test_torch_log_softmax_float32_has_the_same_flaw_as_scipy():
    # x - logsumexp(x) with logsumexp rounded to float32 first: measured 4603 ULP at x = 10
    pytest.importorskip("torch")
    with pytest.raises(AssertionError, match=r"Max ULP error: 460\d\.\d+ at index \(0,\)"):
        assert_matches_oracle("torch", "log_softmax", LOGITS, max_ulp=2.0)
    assert_matches_oracle("torch", "softmax", LOGITS, max_ulp=2.0)


@pytest.mark.parametrize("budget", [-1.0, float("nan"), "1", True], ids=["negative", "nan", "str", "bool"])
def test_invalid_budget(budget):
    with pytest.raises(InvalidInput, match="max_ulp must be a number >= 0"):
        assert_matches_oracle(sc.softmax, "softmax", LOGITS, max_ulp=budget)


def test_unknown_function():
    with pytest.raises(InvalidInput, match="function must be one of"):
        assert_matches_oracle(sc.softmax, "soft_max", LOGITS)


def _wrong_zero_sigmoid(x):
    """sigmoid, but -0.0 where e**x underflows (the exact value is positive: +0.0 is due)."""
    import softmax_oracle.oracle as oracle

    return np.where(x < -745, -0.0, oracle.sigmoid(x))


ZERO_SIGN_INPUT = np.array([-800.0, -900.0, 1.0])


def test_zero_signs_pass_by_default_like_numpy_testing():
    c = assert_matches_oracle(_wrong_zero_sigmoid, "sigmoid", ZERO_SIGN_INPUT)
    assert len(c.zero_signs) == 2
    np.testing.assert_array_equal(_wrong_zero_sigmoid(ZERO_SIGN_INPUT), c.rounded)  # numpy agrees: -0.0 == 0.0


def test_zero_signs_fail_with_signed_zeros_true():
    with pytest.raises(AssertionError) as info:
        assert_matches_oracle(_wrong_zero_sigmoid, "sigmoid", ZERO_SIGN_INPUT, signed_zeros=True)
    message = str(info.value)
    assert "Mismatched elements: 2 / 3 (66.7%)" in message
    assert "Zeros of the wrong sign: 2\n index (0,): a zero of the wrong sign: got -0.0, correctly rounded 0.0" in message
    assert "Class mismatches" not in message


def test_a_failure_for_another_reason_counts_the_zero_signs_apart():
    def off(x):
        return np.where(x < -745, -0.0, _wrong_zero_sigmoid(x) * (1 + 1e-10))

    with pytest.raises(AssertionError) as info:
        assert_matches_oracle(off, "sigmoid", ZERO_SIGN_INPUT)
    message = str(info.value)
    assert "Mismatched elements: 1 / 3" in message
    assert "Zeros of the wrong sign: 2 (not failed; signed_zeros=True fails them)" in message


def test_signed_zeros_must_be_a_bool():
    with pytest.raises(InvalidInput, match="signed_zeros must be True or False; got signed_zeros='yes'"):
        assert_matches_oracle(_wrong_zero_sigmoid, "sigmoid", ZERO_SIGN_INPUT, signed_zeros="yes")


# ---------------------------------------------------------------- run defaults and observers (the pytest plugin's hooks)


@pytest.mark.parametrize(("explicit", "run", "expected"), [
    (None, None, 1.0), (None, 0.5, 0.5), (None, 8.0, 8.0),  # no max_ulp=: the run's budget, else 1.0
    (4.0, None, 4.0), (4.0, 8.0, 4.0),  # the run cannot loosen an explicit budget
    (4.0, 0.5, 0.5),  # but tightens it
], ids=["default", "run-tightens-default", "run-loosens-default", "explicit", "explicit-wins", "run-stricter"])
def test_effective_budget(explicit, run, expected):
    from softmax_oracle.testing import effective_budget

    assert effective_budget(explicit, run) == expected


def test_run_defaults_apply_inside_the_block_only():
    from softmax_oracle.testing import current_defaults, run_defaults

    assert_matches_oracle(sc.softmax, "softmax", LOGITS, max_ulp=2.2)  # 2.10 ULP: passes
    with run_defaults(max_ulp=2.0, engine="mpfr") as defaults:
        assert current_defaults() == defaults and defaults.engine == "mpfr"
        with pytest.raises(AssertionError, match=r"budget 2.0\)"):
            assert_matches_oracle(sc.softmax, "softmax", LOGITS, max_ulp=2.2)
    assert current_defaults().max_ulp is None and current_defaults().engine is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_ulp": -1.0}, "max_ulp must be a number >= 0; got max_ulp=-1.0"),
    ({"engine": "fast"}, "engine must be one of 'auto', 'mpfr'; got engine='fast'"),
], ids=["budget", "engine"])
def test_run_defaults_are_validated(kwargs, message):
    from softmax_oracle.testing import run_defaults

    with pytest.raises(InvalidInput, match=re.escape(message)):
        with run_defaults(**kwargs):
            pass


def test_observers_see_passing_and_failing_checks():
    from softmax_oracle.testing import Check, observing

    seen: list[Check] = []
    with observing(seen.append):
        assert_matches_oracle("numpy-accurate", "softmax", LOGITS)
        with pytest.raises(AssertionError):
            assert_matches_oracle(sc.log_softmax, "log_softmax", LOGITS)
    assert_matches_oracle("numpy-accurate", "softmax", LOGITS)  # outside: not observed
    assert [c.passed for c in seen] == [True, False]
    assert seen[1].comparison.function == "log_softmax" and seen[1].max_ulp == 1.0
    assert seen[1].repro.startswith("log_softmax(np.array(list(map(float.fromhex, ['0x1.4000000000000p+3'")


def test_the_runs_engine_reaches_the_oracle_unless_the_call_names_one():
    """pytest's --oracle-engine sets run_defaults(engine=...): the comparison must use that engine."""
    from softmax_oracle.testing import run_defaults

    assert assert_matches_oracle("numpy-accurate", "softmax", LOGITS).phase1_decided == LOGITS.size
    with run_defaults(engine="mpfr"):
        assert assert_matches_oracle("numpy-accurate", "softmax", LOGITS).phase1_decided == 0
        named = assert_matches_oracle("numpy-accurate", "softmax", LOGITS, engine="auto")
        assert named.phase1_decided == LOGITS.size
