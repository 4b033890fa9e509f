"""Strategies draw what they claim, in every format, and refuse bad arguments eagerly."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmax_oracle as so
from softmax_oracle import strategies as sst
from softmax_oracle.candidates import FUNCTIONS
from softmax_oracle.errors import InvalidInput
from softmax_oracle.regimes import REGIMES, thresholds

DTYPES = [np.float64, np.float32, np.float16, ml_dtypes.bfloat16]
DTYPE_IDS = ["float64", "float32", "float16", "bfloat16"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_huge_gap_rows_really_pass_the_underflow_point(dtype):
    gap = thresholds(dtype).underflow_gap

    @given(sst.logits(dtype, shape=(3, 4), regime="huge_gap"))
    def check(x):
        assert x.dtype == np.dtype(dtype) and x.shape == (3, 4)
        rows = x.astype(np.float64)
        assert (rows.max(axis=1) - rows.min(axis=1) > gap).all()
        # and the format agrees: exp of the largest gap underflows to zero
        assert (np.exp(rows.min(axis=1) - rows.max(axis=1)).astype(dtype) == 0).all()

    check()


@given(sst.logits(np.float32, shape=(2, 5), regime="masked"))
def test_masked_rows_contain_minus_inf(x):
    assert np.isneginf(x).any(axis=1).all() and not np.isnan(x).any()


@given(st.data())
def test_bfloat16_full_range_reaches_extreme_magnitudes(data):
    x = data.draw(sst.logits(ml_dtypes.bfloat16, shape=(1, 8), regime="full_range"))
    assert x.dtype == ml_dtypes.bfloat16 and np.isfinite(x.astype(np.float64)).all()


def test_full_range_bfloat16_covers_both_ends():
    seen = []

    @settings(max_examples=300, database=None)
    @given(sst.logits(ml_dtypes.bfloat16, shape=(1, 8), regime="full_range"))
    def collect(x):
        seen.append(np.abs(x.astype(np.float64)))

    collect()
    values = np.concatenate(seen).ravel()
    assert values.max() > 1e20 and values[values > 0].min() < 1e-20


@given(sst.logits(np.float16, shape=(2, 3), regime="overflow_edge"))
def test_overflow_edge_rows_sit_at_log_max(x):
    edge = thresholds(np.float16).overflow_edge
    assert (np.abs(x.astype(np.float64)).max(axis=1) >= edge - 2.01).all()


@given(sst.logits(np.float64, shape=(4,), allow_neg_inf=False, allow_nan=True, allow_pos_inf=True))
def test_allow_flags_are_respected(x):
    assert not np.isneginf(x).any()


def test_allow_nan_does_produce_nan():
    found = []

    @settings(max_examples=60, database=None)
    @given(sst.logits(np.float32, shape=(3,), allow_nan=True))
    def collect(x):
        found.append(bool(np.isnan(x).any()))

    collect()
    assert any(found) and not all(found)


@given(sst.probability_targets(np.float16, shape=(3, 6)))
def test_probability_rows_sum_to_one_exactly(p):
    rows = p.astype(np.float64)
    assert p.dtype == np.float16 and (rows >= 0).all() and (rows.sum(axis=1) == 1.0).all()


@given(st.data())
def test_class_targets_match_the_logits(data):
    x = data.draw(sst.logits(np.float32, shape=(3, 4), regime="masked"))
    t = data.draw(sst.class_targets(x, ignore_index=-1))
    assert t.shape == (3,) and t.dtype == np.int64
    assert ((t == -1) | ((t >= 0) & (t < 4))).all()
    so.oracle.cross_entropy(x, t, ignore_index=-1, reduction="none")


@given(st.data())
def test_class_targets_of_one_dimensional_logits_are_scalars(data):
    x = data.draw(sst.logits(np.float64, shape=5))
    t = data.draw(sst.class_targets(x, ignore_index=None))
    assert t.shape == () and 0 <= int(t) < 5


@given(sst.binary_targets(ml_dtypes.bfloat16, shape=(2, 3), soft=False), sst.weights(np.float32, shape=4))
def test_binary_targets_and_weights(t, w):
    assert set(np.unique(t.astype(np.float64))) <= {0.0, 1.0}
    assert np.isfinite(w).all() and (w >= 0).all() and (w <= 16).all()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_arguments_are_accepted_by_the_oracle(function):
    @settings(max_examples=8, database=None)
    @given(sst.arguments(function, np.float16, max_row_length=4))
    def check(call):
        args, kwargs = call
        assert args[0].dtype == np.float16
        getattr(so.oracle, function)(*args, **kwargs)

    check()


def test_default_regime_mixes_all_regimes():
    # the first draw of a set picks the regime: a mixed strategy must reach several of them.
    # Derandomized, 200 draws: with 60 random ones (the dev profile, a newcomer's run) it missed
    # "masked" in 7 of 20 trials; with 200 in none of 10.
    widths = set()

    @settings(max_examples=200, database=None, derandomize=True)
    @given(sst.logits(np.float32, shape=(1, 6)))
    def collect(x):
        rows = x.astype(np.float64)
        finite = rows[np.isfinite(rows)]
        widths.add("masked" if np.isneginf(rows).any() else "gap" if np.ptp(finite) > 104 else "narrow")

    collect()
    assert widths == {"masked", "gap", "narrow"}


@pytest.mark.parametrize(
    "factory, kwargs, message",
    [
        pytest.param(sst.logits, dict(dtype="int8"), "dtype=", id="logits-integer-dtype"),
        pytest.param(sst.logits, dict(dtype="float32", shape=(0, 3)), r"shape=\(0, 3\)", id="logits-empty-shape"),
        pytest.param(sst.logits, dict(dtype="float32", shape=()), r"shape=\(\)", id="logits-scalar-shape"),
        pytest.param(sst.logits, dict(dtype="float32", shape=[2, 3]), r"shape=\[2, 3\]", id="logits-list-shape"),
        pytest.param(sst.logits, dict(dtype="float32", regime="big"), "regime='big'", id="logits-unknown-regime"),
        pytest.param(sst.logits, dict(dtype="float32", regime="masked", allow_neg_inf=False),
                     "Cannot have regime='masked' with allow_neg_inf=False", id="logits-masked-without-neg-inf"),
        pytest.param(sst.logits, dict(dtype="float16", scale=1e5), "scale=100000.0", id="logits-scale-past-max"),
        pytest.param(sst.logits, dict(dtype="float32", allow_nan=1), "allow_nan=1", id="logits-allow-nan-not-bool"),
        pytest.param(sst.class_targets, dict(logits=np.float32(1.0)), "logits", id="class-targets-scalar-logits"),
        pytest.param(sst.class_targets, dict(logits=np.zeros((2, 3)), ignore_index=1), "ignore_index=1",
                     id="class-targets-ignore-a-class"),
        pytest.param(sst.class_targets, dict(logits=np.zeros((2, 3)), ignore_index=1.5), "ignore_index=1.5",
                     id="class-targets-float-ignore-index"),
        pytest.param(sst.probability_targets, dict(dtype="float32", shape=-2), "shape=-2", id="probability-negative"),
        pytest.param(sst.binary_targets, dict(dtype="float32", shape=2, soft="yes"), "soft='yes'",
                     id="binary-soft-not-bool"),
        pytest.param(sst.weights, dict(dtype=int, shape=2), "dtype=", id="weights-int-dtype"),
        pytest.param(sst.arguments, dict(function="softmin", dtype="float32"), "function='softmin'",
                     id="arguments-unknown-function"),
        pytest.param(sst.arguments, dict(function="softmax", dtype="float32", max_batch=0), "max_batch=0",
                     id="arguments-zero-batch"),
        pytest.param(sst.arguments, dict(function="softmax", dtype="float32", max_row_length=True),
                     "max_row_length=True", id="arguments-bool-row-length"),
        pytest.param(sst.arguments, dict(function="nll_loss", dtype="float32", reduction="batchmean"),
                     "reduction='batchmean'", id="arguments-batchmean-for-nll"),
    ],
)
def test_invalid_arguments_are_refused_eagerly(factory, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        factory(**kwargs)


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_every_regime_draws_arrays_of_the_format(regime, dtype):
    @settings(max_examples=5, database=None)
    @given(sst.logits(dtype, shape=(2, 3), regime=regime))
    def check(x):
        assert x.dtype == np.dtype(dtype) and x.shape == (2, 3)
        assert not np.isnan(x.astype(np.float64)).any() and not np.isposinf(x.astype(np.float64)).any()

    check()
