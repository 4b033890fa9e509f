"""fuzz.search finds known defects from a fixed seed, reports clean code as clean, keeps what it found."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from softmax_oracle.cli import main
from softmax_oracle.errors import InvalidInput
from softmax_oracle.fuzz import STOP_REASONS, search, snippet
from softmax_oracle.numpy_impl import accurate
from softmax_oracle.ulp import Mismatch


def usual_log_softmax(x, axis=-1):
    """The textbook float32 formula: ``x - max - log(sum(exp(x - max)))``."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return (shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))).astype(x.dtype)


def accurate_softmax(x, axis=-1):
    """The unmodified accurate tier (a plain function, so it is fuzzed as a user callable)."""
    return accurate.softmax(x, axis=axis)


def planted_softmax(x, axis=-1):
    """The accurate softmax, wrong by 4 ULP only where the row's max - min exceeds 60."""
    y = accurate.softmax(x, axis=axis)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        spread = np.max(x64, axis=axis, keepdims=True) - np.min(x64, axis=axis, keepdims=True)
    wrong = np.broadcast_to(spread > 60, y.shape)
    bumped = y
    for _ in range(4):
        bumped = np.nextafter(bumped, np.float32(np.inf))
    return np.where(wrong, bumped, y).astype(y.dtype)


def test_finds_the_overflow_of_naive_softmax():
    result = search("numpy-naive", "softmax", dtype=np.float32, max_examples=500, seed=0, database=None)
    assert result.mismatch_count > 0
    assert any(m.kind is Mismatch.NAN_FOR_NUMBER for m in result.mismatches)
    assert result.examples_run <= 500 and result.stopped == "max_examples"


@pytest.mark.parametrize("candidate", [usual_log_softmax, "scipy"], ids=["textbook-formula", "scipy"])
def test_finds_thousands_of_ulp_in_float32_log_softmax(candidate):
    result = search(candidate, "log_softmax", dtype=np.float32, max_examples=500, seed=0, database=None)
    assert result.max_ulp_error > 1000
    assert result.worst_input is not None and "0x" in result.worst_input


def test_finds_a_planted_four_ulp_defect():
    result = search(planted_softmax, "softmax", dtype=np.float32, max_examples=2000, seed=0, database=None)
    assert result.max_ulp_error >= 3.5
    # the worst input reproduces: its row spread is past 60
    x = eval(result.worst_input.split(", dtype=np.float32")[0] + ", dtype=np.float32)", {"np": np})  # noqa: S307
    x64 = x.astype(np.float64)
    assert (np.max(x64, axis=-1) - np.min(x64, axis=-1) > 60).any()


def test_the_same_search_on_the_unmodified_function_is_clean():
    result = search(accurate_softmax, "softmax", dtype=np.float32, max_examples=2000, seed=0, database=None)
    assert result.max_ulp_error <= 0.51
    assert result.mismatch_count == 0 and not result.problems


def _minus_zero_sigmoid(x):
    """The oracle's sigmoid with every zero made -0.0: +0.0 is due where e**x underflows."""
    import softmax_oracle.oracle as oracle

    y = oracle.sigmoid(x)
    return np.where(y == 0, np.negative(np.zeros_like(y)), y)


def test_zero_signs_are_not_class_mismatches_of_the_search():
    from softmax_oracle.compare import compare

    result = search(_minus_zero_sigmoid, "sigmoid", dtype=np.float16, regime="full_range", max_examples=60,
                    seed=0, database=None)
    x = np.array([-30.0], dtype=np.float16)  # the planted defect: -0.0 where +0.0 is due
    assert str(_minus_zero_sigmoid(x)[0]) == "-0.0"
    planted = compare(_minus_zero_sigmoid, "sigmoid", x)
    assert len(planted.zero_signs) == 1 and not planted.wrong_class
    assert result.mismatch_count == 0 and not result.mismatches  # was 31: zero signs apart, as in the report
    assert result.max_ulp_error <= 0.5 and result.examples_run == 60


def test_a_seed_makes_the_search_deterministic():
    first, second = (search(planted_softmax, "softmax", dtype=np.float16, max_examples=40, seed=5, database=None)
                     for _ in range(2))
    assert (first.max_ulp_error, first.worst_input, first.examples_run) == \
        (second.max_ulp_error, second.worst_input, second.examples_run)


def test_a_rerun_starts_from_the_inputs_kept_in_the_database(tmp_path):
    first = search(usual_log_softmax, "log_softmax", dtype=np.float32, max_examples=200, seed=1,
                   database=tmp_path / "db")
    assert any((tmp_path / "db").iterdir())
    again = search(usual_log_softmax, "log_softmax", dtype=np.float32, max_examples=1, seed=2,
                   database=tmp_path / "db")
    assert again.max_ulp_error >= first.max_ulp_error and again.worst_input == first.worst_input


def test_ctrl_c_returns_the_best_so_far():
    calls = []

    def interrupted_after_ten(x, axis=-1):
        calls.append(1)
        if len(calls) > 10:
            raise KeyboardInterrupt
        return usual_log_softmax(x, axis)

    result = search(interrupted_after_ten, "log_softmax", dtype=np.float32, max_examples=500, seed=0,
                    database=None)
    # the ten examples run before the interrupted one, and those that drew their arguments again
    assert result.stopped == "interrupted" and len(calls) == 11 and result.examples_run >= 10
    assert result.worst_input is not None


def test_a_time_budget_stops_the_search():
    result = search("numpy-stable", "sigmoid", dtype=np.float16, max_examples=10**6, max_seconds=0.3, seed=0,
                    database=None)
    assert result.stopped == "max_seconds" and 0 < result.examples_run < 10**6
    assert result.stopped in STOP_REASONS


def test_a_raising_candidate_is_a_problem_not_a_crash():
    def broken(x, axis=-1):
        raise RuntimeError("kernel not built")

    result = search(broken, "softmax", dtype=np.float32, max_examples=5, seed=0, database=None)
    assert result.problems == ("raised: raised RuntimeError: kernel not built",)
    assert result.exceeds(1.0)


def test_snippet_reproduces_the_worst_error():
    result = search(usual_log_softmax, "log_softmax", dtype=np.float32, max_examples=100, seed=0, database=None)
    namespace = {"usual_log_softmax": usual_log_softmax}
    exec(snippet(result, candidate="usual_log_softmax").replace("print(", "(") , namespace)  # noqa: S102
    assert namespace["worst"].max_ulp_error == result.max_ulp_error


@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param(dict(function="softmin"), "function='softmin'", id="unknown-function"),
        pytest.param(dict(candidate="nope"), "candidate='nope'", id="unknown-candidate"),
        pytest.param(dict(dtype="int16"), "dtype=", id="integer-dtype"),
        pytest.param(dict(max_examples=0), "max_examples=0", id="zero-examples"),
        pytest.param(dict(max_seconds=-1.0), "max_seconds=-1.0", id="negative-seconds"),
        pytest.param(dict(max_seconds=float("inf")), "max_seconds=inf", id="infinite-seconds"),
        pytest.param(dict(seed=-1), "seed=-1", id="negative-seed"),
        pytest.param(dict(regime="tiny"), "regime='tiny'", id="unknown-regime"),
        pytest.param(dict(grad="yes"), "grad='yes'", id="grad-not-bool"),
        pytest.param(dict(database=42), "database=42", id="database-not-a-path"),
        pytest.param(dict(max_row_length=0), "max_row_length=0", id="zero-row-length"),
    ],
)
def test_invalid_arguments(kwargs, message):
    call = dict(candidate="numpy-stable", function="softmax", dtype="float32", database=None)
    call.update(kwargs)
    with pytest.raises(InvalidInput, match=message):
        search(call.pop("candidate"), call.pop("function"), **call)


def test_cli_prints_a_snippet_and_exits_1_past_the_budget():
    result = CliRunner().invoke(
        main, ["fuzz", "numpy-naive", "softmax", "--seed", "0", "--max-examples", "200", "--no-database"]
    )
    assert result.exit_code == 1, result.output
    assert "compare('numpy-naive', 'softmax', np.array(" in result.stdout


def test_cli_exits_0_within_the_budget_and_2_on_bad_input():
    runner = CliRunner()
    ok = runner.invoke(main, ["fuzz", "numpy-accurate", "sigmoid", "--dtype", "float16", "--seed", "0",
                              "--max-examples", "30", "--no-database", "--max-ulp", "0.51"])
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(main, ["fuzz", "no-such-candidate", "softmax", "--no-database"]).exit_code == 2
    assert runner.invoke(main, ["fuzz", "numpy-naive", "softmin"]).exit_code == 2
