"""NaN inputs with payloads (every bit pattern of an exhaustive run has them) raise no warning and give NaN."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import softmax_oracle.oracle as oracle
from softmax_oracle import numpy_impl

# signalling and quiet NaNs with payloads, of both signs, beside ordinary values
PAYLOADS = np.array([0x7F800001, 0xFFC00001, 0x7FBFFFFF, 0xFF800123, 0x3F800000], dtype=np.uint32).view(np.float32)


@pytest.mark.parametrize("function", ["sigmoid", "log_sigmoid", "softplus"])
@pytest.mark.parametrize("dtype", [None, np.float64])
def test_oracle_takes_nan_payloads_silently(function: str, dtype) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = getattr(oracle, function)(PAYLOADS, dtype=dtype)
        grads = getattr(oracle.grad, function)(PAYLOADS, dtype=dtype)
    assert np.isnan(values[:4]).all() and np.isnan(grads[:4]).all() and np.isfinite(values[4])


@pytest.mark.parametrize("tier", ["naive", "stable", "accurate"])
@pytest.mark.parametrize("function", ["sigmoid", "log_sigmoid", "softplus", "softmax", "log_softmax", "logsumexp"])
def test_numpy_tiers_take_nan_payloads_silently(tier: str, function: str) -> None:
    module = getattr(numpy_impl, tier)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(module, function)(PAYLOADS)
    assert np.isnan(got).any()
