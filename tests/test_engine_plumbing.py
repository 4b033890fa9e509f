"""The engine switch and the decision counts reach every user-facing entry point."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from click.testing import CliRunner

import softmax_oracle as so
import softmax_oracle.compare
import softmax_oracle.fuzz
import softmax_oracle.testing
from softmax_oracle import InvalidInput
from softmax_oracle.cli import main
from softmax_oracle.report import SweepConfig, plan_units, run_unit
from softmax_oracle.report._records import record_dicts

X = np.array([[0.5, -1.25, 3.0], [2.0, 2.0, -np.inf]])
T = np.array([2, 0])


def test_decision_counts_count_every_element_of_every_call() -> None:
    with so.oracle.decision_counts() as outer:
        so.oracle.softmax(X)
        with so.oracle.decision_counts() as inner:
            so.oracle.grad.cross_entropy(X, T, engine="mpfr")
    assert (inner.calls, inner.elements, inner.phase1_decided) == (1, 6, 0)
    assert (outer.calls, outer.elements) == (2, 12)
    assert 0 <= outer.phase1_decided <= 6 and outer.phase2 == 12 - outer.phase1_decided


def test_decision_counts_are_per_thread() -> None:
    seen = []

    def work() -> None:
        with so.oracle.decision_counts() as c:
            so.oracle.logsumexp(X)
        seen.append(c.elements)

    with so.oracle.decision_counts() as mine:
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert seen == [2, 2, 2] and mine.elements == 0


def test_engines_agree_through_compare_and_the_record_counts_phase1() -> None:
    auto = so.compare.compare("numpy-accurate", "softmax", X)
    mpfr = so.compare.compare("numpy-accurate", "softmax", X, engine="mpfr")
    assert auto.rounded.tobytes() == mpfr.rounded.tobytes()
    assert mpfr.phase1_decided == 0 and 0 <= auto.phase1_decided <= auto.n == 6


def test_assert_matches_oracle_takes_the_engine() -> None:
    so.testing.assert_matches_oracle("numpy-accurate", "log_softmax", X, engine="mpfr")
    with pytest.raises(InvalidInput, match="got engine='x'"):
        so.testing.assert_matches_oracle("numpy-accurate", "log_softmax", X, engine="x")


def test_fuzz_takes_the_engine() -> None:
    result = so.fuzz.search("numpy-stable", "softmax", dtype=np.float32, max_examples=3, seed=1, database=None,
                            engine="mpfr")
    assert result.examples_run >= 1
    with pytest.raises(InvalidInput, match="got engine='fast'"):
        so.fuzz.search("numpy-stable", "softmax", dtype=np.float32, max_examples=3, database=None, engine="fast")


def test_report_records_carry_the_counts_and_the_engine_does_not_change_the_key() -> None:
    config = SweepConfig.quick(candidates=("numpy-stable",), functions=("softmax",), dtypes=("float32",),
                               regimes=("moderate",), gradients=False, scale_points=0, row_lengths=(1,),
                               exhaustive_functions=(), exhaustive_dtypes=())
    unit = next(u for u in plan_units(config) if u.regime == "moderate")
    mpfr_unit = type(unit)(**{**unit.__dict__, "engine": "mpfr"})
    assert unit.key == mpfr_unit.key
    (auto,), (mpfr,) = run_unit(unit), run_unit(mpfr_unit)
    assert auto.oracle_elements == mpfr.oracle_elements == auto.n > 0
    assert mpfr.phase1_decided == 0 and 0 <= auto.phase1_decided <= auto.n
    assert (auto.max_ulp_error, auto.worst_input) == (mpfr.max_ulp_error, mpfr.worst_input)
    assert json.loads(json.dumps(auto.to_dict()))["phase1_decided"] == auto.phase1_decided
    with pytest.raises(InvalidInput, match="got engine='gpu'"):
        SweepConfig.quick(engine="gpu")


def test_cli_engine_option() -> None:
    result = CliRunner().invoke(main, ["check", "softmax_oracle.numpy_impl.accurate:softmax", "--function",
                                       "softmax", "--samples", "1", "--engine", "mpfr", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = record_dicts(json.loads(result.output[:result.output.rindex("}") + 1]))
    assert records and all(r["phase1_decided"] == 0 and r["oracle_elements"] > 0 for r in records)
    bad = CliRunner().invoke(main, ["check", "softmax_oracle.numpy_impl.accurate:softmax", "--function", "softmax",
                                    "--engine", "fast"])
    assert bad.exit_code == 2
