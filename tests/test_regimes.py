"""Regimes: thresholds from the formats, rows that are what their name says, the seeded sampler."""

from __future__ import annotations

import math

import ml_dtypes
import mpmath
import numpy as np
import pytest

import softmax_oracle as so
from softmax_oracle.candidates import FUNCTIONS
from softmax_oracle.ulp import ulp_distance
from softmax_oracle.errors import InvalidInput
from softmax_oracle.regimes import REGIMES, sample_arguments, thresholds

DTYPES = [np.float64, np.float32, np.float16, ml_dtypes.bfloat16]
DTYPE_IDS = ["float64", "float32", "float16", "bfloat16"]


@pytest.mark.parametrize(
    "dtype, underflow, overflow",
    [(np.float64, 745.13, 709.78), (np.float32, 103.97, 88.72), (np.float16, 17.33, 11.09),
     (ml_dtypes.bfloat16, 92.88, 88.72)],
    ids=DTYPE_IDS,
)
def test_thresholds_match_the_formats(dtype, underflow, overflow):
    th = thresholds(dtype)
    assert th.underflow_gap == pytest.approx(underflow, abs=0.01)
    assert th.overflow_edge == pytest.approx(overflow, abs=0.01)
    # exp just short of the underflow gap is nonzero in the format, just past it is zero
    tiny = float(np.asarray(math.exp(-(th.underflow_gap - 0.01))).astype(dtype))
    assert tiny > 0 and float(np.asarray(math.exp(-(th.underflow_gap + 0.01))).astype(dtype)) == 0.0
    assert mpmath.exp(th.overflow_edge + 0.01) > th.max_value > mpmath.exp(th.overflow_edge - 0.01)


def _rows(dtype, regime, n=40, length=6):
    sets = sample_arguments("softmax", dtype, regime, n=n, seed=3, row_length=length)
    return np.concatenate([args[0] for args, _ in sets]).astype(np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_huge_gap_rows_have_a_gap_past_the_underflow_point(dtype):
    rows = _rows(dtype, "huge_gap")
    gaps = rows.max(axis=1) - rows.min(axis=1)
    assert (gaps > thresholds(dtype).underflow_gap).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_subnormal_out_rows_have_a_subnormal_softmax(dtype):
    rows = _rows(dtype, "subnormal_out")
    th = thresholds(dtype)
    gaps = rows.max(axis=1)[:, None] - rows
    assert ((gaps > th.subnormal_gap) & (gaps < th.underflow_gap)).any(axis=1).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_masked_rows_contain_minus_inf_and_some_are_fully_masked(dtype):
    rows = _rows(dtype, "masked", n=80)
    assert np.isneginf(rows).any(axis=1).all()
    assert np.isneginf(rows).all(axis=1).any()
    assert not np.isnan(rows).any() and not np.isposinf(rows).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_overflow_edge_rows_reach_past_log_max(dtype):
    rows = _rows(dtype, "overflow_edge")
    edge = thresholds(dtype).overflow_edge
    assert (np.abs(rows).max(axis=1) > edge - 2.01).all()
    assert (np.abs(rows).max(axis=1) > edge).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dominant_rows_have_one_probability_near_one(dtype):
    rows = _rows(dtype, "dominant")
    top = np.sort(rows, axis=1)
    gap = top[:, -1] - top[:, -2]
    th = thresholds(dtype)
    assert (gap > th.dominant_gap / 2 - 0.1).all() and (gap < th.underflow_gap + 0.1).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_near_tie_rows_are_within_a_few_ulp(dtype):
    rows = _rows(dtype, "near_tie")
    distances = ulp_distance(rows.max(axis=1).astype(dtype), rows.min(axis=1).astype(dtype))
    assert (np.asarray(distances, dtype=np.int64) <= 6).all()


def test_full_range_spans_the_exponent_range():
    rows = _rows(np.float32, "full_range", n=50, length=8)
    magnitudes = np.abs(rows[rows != 0])
    assert magnitudes.max() > 1e30 and magnitudes.min() < 1e-30 and (rows < 0).any()


def test_scale_bounds_moderate_logits():
    sets = sample_arguments("logsumexp", np.float32, "moderate", n=5, seed=0, row_length=100, scale=1e-3)
    x = np.concatenate([a[0] for a, _ in sets])
    assert np.abs(x).max() <= 1e-3 and np.abs(x).max() > 5e-4


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_accepts_its_sets_with_right_dtypes(function):
    sets = sample_arguments(function, ml_dtypes.bfloat16, "masked", n=4, seed=1, row_length=3, batch=2)
    for args, kwargs in sets:
        assert args[0].dtype == ml_dtypes.bfloat16 and args[0].shape == (2, 3)
        getattr(so.oracle, function)(*args, **kwargs)


def test_probability_targets_sum_to_one_with_exact_zeros():
    sets = sample_arguments("kl_div", np.float16, "moderate", n=60, seed=2, row_length=5, batch=2)
    targets = [a[1] for a, k in sets if not k.get("log_target")]
    rows = np.concatenate(targets).astype(np.float64)
    assert (rows.sum(axis=1) == 1.0).all() and (rows == 0).any() and (rows >= 0).all()


def test_class_targets_sometimes_ignore():
    sets = sample_arguments("nll_loss", np.float32, "moderate", n=40, seed=0, row_length=4, batch=3)
    targets = np.concatenate([a[1] for a, _ in sets])
    assert targets.dtype == np.int64 and (targets == -100).any()
    assert ((targets >= 0) & (targets < 4)).any()


def test_sampler_is_deterministic_and_seed_sensitive():
    a = sample_arguments("cross_entropy", np.float32, "dominant", n=3, seed=7)
    b = sample_arguments("cross_entropy", np.float32, "dominant", n=3, seed=7)
    c = sample_arguments("cross_entropy", np.float32, "dominant", n=3, seed=8)
    assert repr(a) == repr(b) and repr(a) != repr(c)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param(dict(function="softmin"), "function=", id="unknown-function"),
        pytest.param(dict(dtype="int32"), "dtype=", id="integer-dtype"),
        pytest.param(dict(regime="gigantic"), "regime=", id="unknown-regime"),
        pytest.param(dict(regime=None), "regime=", id="regime-none"),
        pytest.param(dict(n=-1), "n=-1", id="negative-n"),
        pytest.param(dict(n=2.0), "n=2.0", id="float-n"),
        pytest.param(dict(seed=-3), "seed=-3", id="negative-seed"),
        pytest.param(dict(row_length=0), "row_length=0", id="zero-row-length"),
        pytest.param(dict(row_length=True), "row_length=True", id="bool-row-length"),
        pytest.param(dict(scale=0.0), "scale=0.0", id="zero-scale"),
        pytest.param(dict(scale=1e39), "scale=1e+39", id="scale-past-float32-max"),
        pytest.param(dict(scale=float("nan")), "scale=nan", id="nan-scale"),
        pytest.param(dict(batch=0), "batch=0", id="zero-batch"),
        pytest.param(dict(reduction="mean"), "reduction='mean'", id="reduction-of-softmax"),
        pytest.param(dict(function="kl_div", reduction="avg"), "reduction='avg'", id="unknown-reduction"),
    ],
)
def test_invalid_arguments(kwargs, message):
    call = dict(function="softmax", dtype="float32", regime="moderate", n=1, seed=0)
    call.update(kwargs)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace("+", r"\+")):
        sample_arguments(call.pop("function"), call.pop("dtype"), call.pop("regime"), **call)
