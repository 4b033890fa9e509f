"""The accurate tier's softmax without the shift (``numpy_impl._direct_softmax``, issue 12 item 3).

``exp(x_i) / T`` for rows whose ``T = sum exp(x)`` is at least 1 with a maximum below ~700 (float64) or
``[2**-900, inf)`` (float32); the other rows take the shifted kernels.  Budgets: 2 ULP
float64 (subnormal results included), 0.51 ULP float32, against the exact values, on
both sides of each boundary and in each of the fast path's shapes (one row, blocks of
long rows, many short rows summed by ``einsum``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from softmax_oracle import exact, oracle, ulp
from softmax_oracle.errors import PrecisionExhausted
from softmax_oracle.formats import FLOAT32, FLOAT64
from softmax_oracle.numpy_impl import _direct_softmax, accurate

BUDGET = {"float64": 2.0, "float32": 0.51}

# (row, whether the direct path answers it) -- float64
ROWS64 = [
    ([0.0, -np.inf, -np.inf], True),  # T = 1 exactly: the lowest T taken
    ([-(2.0**-52), -np.inf, -np.inf], False),  # T just below 1
    ([0.1, -700.3, -5.0], True),  # x - max rounds at -700: nothing to correct here
    ([0.0, -740.0, -744.9, -745.2], True),  # subnormal results, one underflowing to 0
    ([-20.0, -760.0, -745.0], False),  # T = exp(-20): a subnormal term's error would grow
    ([705.5, 0.0, -30.0], True),  # sigma = 2**1021 (n = 3: a maximum below ~705.6)
    ([706.0, 0.0, -30.0], False),  # sigma would be 2**1022
    ([709.7, 0.0, 2.5], False),  # exp finite, sigma overflows
    ([710.0, 0.0, 2.5], False),  # exp overflows
    ([3.0, np.nan, 1.0], False),  # NaN: the general path answers NaN
    ([3.0, np.inf, 1.0], False),
    ([-np.inf, -np.inf, -np.inf], False),  # only -inf: NaN
]

ROWS32 = [
    ([-600.0, -700.0, -np.inf], True),  # T ~ 2**-865.6
    ([-650.0, -650.0, -900.0], False),  # T ~ 2**-936.8 < 2**-900
    ([88.5, 0.0, -100.0], True),
    ([710.0, 0.0, -100.0], False),  # float64 exp overflows
    ([1e38, 0.0, -1e38], False),
    ([0.0, -104.0, -110.0], True),  # float32 subnormal and zero results
    ([-np.inf, -np.inf, -np.inf], False),
]


def _fmt(dtype):
    return FLOAT64 if dtype == np.float64 else FLOAT32


def _check(x):
    fmt = _fmt(x.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflowing exp, inf / inf: silenced where expected
        got = accurate.softmax(x)
    rows = x.reshape(-1, x.shape[-1])
    numbers = ~np.isnan(oracle.softmax(rows)).any(axis=-1)  # rows with a NaN or +inf: NaN, as the oracle
    np.testing.assert_array_equal(np.isnan(got.reshape(rows.shape)).all(axis=-1), ~numbers)
    if numbers.any():
        err = np.asarray(ulp.ulp_error(got.reshape(rows.shape)[numbers], exact.softmax(rows[numbers]), fmt=fmt),
                         dtype=np.float64)
        assert (np.nan_to_num(err, nan=np.inf) <= BUDGET[fmt.name]).all(), f"x={x!r} got={got!r} err={err!r}"
    return got


def _taken(row, dtype):
    """Whether the direct kernels answer ``row`` (blocks of rows, one row), or leave it to the shifted ones."""
    x = np.array([row, row], dtype=dtype)
    out = np.empty_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if dtype == np.float32:
            return not _direct_softmax.softmax32(x, out).size, _direct_softmax.softmax32_row(x[0], out[0])
        return not _direct_softmax.softmax64(x, out).size, _direct_softmax.softmax64_row(x[0], out[0])


@pytest.mark.parametrize("row, direct", ROWS64, ids=[str(i) for i in range(len(ROWS64))])
def test_float64_rows_on_either_side_of_the_boundaries(row, direct):
    # one row: only up to a maximum of 600, where nothing overflows (no errstate on that path)
    assert _taken(row, np.float64) == (direct, direct and max(row) <= 600)
    x = np.array(row)
    _check(x)  # one row
    rng = np.random.default_rng(5)
    block = np.array([row, np.arange(len(row), dtype=float), row, rng.standard_normal(len(row)) * 300])
    _check(block)  # a block in which rows are left
    _check(np.tile(np.array(row), (70, 1)))  # many short rows: einsum sums


@pytest.mark.parametrize("row, direct", ROWS32, ids=[str(i) for i in range(len(ROWS32))])
def test_float32_rows_on_either_side_of_the_boundary(row, direct):
    assert _taken(row, np.float32) == (direct, direct and max(row) <= 600)
    x = np.array(row, dtype=np.float32)
    _check(x)
    _check(np.array([row, np.arange(len(row)), row], dtype=np.float32))
    _check(np.tile(x, (70, 1)))


def test_softmax_of_subnormal_results_matches_the_oracle_in_float64():
    x = np.array([0.0, -740.0, -744.9, -745.2, -700.0])
    got = _check(x)
    assert got[1] > 0 and got[3] == 0.0 and got[4] > 2.0**-1022


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300), scale=st.sampled_from([1.0, 10.0, 300.0, 1000.0]),
       rows=st.sampled_from([1, 3, 70]), dtype=st.sampled_from([np.float64, np.float32]))
def test_random_rows_within_budget(seed, n, scale, rows, dtype):
    """Rows of normal logits (scale 1000: ``x - max`` to ~-5000, terms that underflow) and some left to
    the shifted kernel (shift -700: ``T`` below 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, min(n, 40) if rows == 70 else n)) * scale
    x[::2] -= 700.0 if dtype == np.float64 else 650.0
    _check(x.astype(dtype))


def _mixed_rows(rng, dtype, rows, n):
    """Rows mixing any bit pattern of the format, normal logits (x 1, 30, 700), small integers (ties)
    and ``-inf``, scaled by a power of two; NaN and ``+inf`` become ``-inf``; a finite maximum per row."""
    kind = rng.integers(0, 4, (rows, n))
    width = np.uint64 if dtype == np.float64 else np.uint32
    bits = rng.integers(0, np.iinfo(width).max, (rows, n), dtype=np.uint64).astype(width)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN patterns widened, scalings beyond the range
        x = np.where(kind == 0, bits.view(dtype).astype(np.float64),
                     np.where(kind == 1, rng.standard_normal((rows, n)) * rng.choice([1.0, 30.0, 700.0]),
                              np.where(kind == 2, -np.inf, rng.integers(-3, 4, (rows, n)))))
        x = (x * rng.choice([1.0, 2.0**-30, 2.0**8])).astype(dtype)
    x[~(np.isfinite(x) | (x == -np.inf))] = -np.inf
    x[:, 0] = np.where(np.isfinite(x.max(axis=1)), x[:, 0], 0)
    return x


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float64, np.float32]),
       shape=st.sampled_from([(1, 40), (3, 40), (2, 100)]))
def test_mixed_long_rows_within_budget(seed, dtype, shape):
    """Rows of more than 32 logits take the unshifted kernels in blocks too (the budget tests above use
    rows of at most 7): bit patterns, ties, masks and huge spreads there."""
    x = _mixed_rows(np.random.default_rng(seed), dtype, *shape)
    try:
        _check(x[0] if shape[0] == 1 else x)
    except PrecisionExhausted:
        reject()
