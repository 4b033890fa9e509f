"""The fast phases' two arithmetic tiers, and the escalation between them.

For float32, float16 and bfloat16 targets the fast phase runs in the double
tier; where it leaves elements of a small call undecided, ``round_terms``
runs the double-double tier before MPFR (``ESCALATE_RATIO``).  That is sound
only if every fast phase's bounds hold in the double-double tier for a narrow
target too: tested here by forcing that tier on every function and comparing
with the MPFR engine, bit for bit.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmax_oracle as so
from softmax_oracle.candidates import FUNCTIONS
from softmax_oracle.numerics import arith
from softmax_oracle.strategies import arguments

from test_engine_equivalence import EXAMPLES, _grad_output, assert_same_bits

NARROW = ("float32", "float16", "bfloat16")
FAST_MODULES = ("_fast_binary", "_fast_losses", "_fast_kl", "_fast_soft_targets", "_fast_pointwise", "_fast_rows")


def _double_double(fmt):
    return arith.DOUBLE_DOUBLE


@pytest.mark.parametrize("fmt", NARROW)
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
@pytest.mark.parametrize("function", FUNCTIONS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_double_double_tier_for_narrow_targets_equals_mpfr(function: str, grad: bool, fmt: str, data) -> None:
    args, kwargs = data.draw(arguments(function, fmt, max_batch=3, max_row_length=9))
    if grad:
        kwargs["grad_output"] = _grad_output(data.draw, function, args, kwargs)
    f = getattr(so.oracle.grad if grad else so.oracle, function)
    with pytest.MonkeyPatch.context() as mp:
        for name in FAST_MODULES:
            mp.setattr(importlib.import_module(f"softmax_oracle.oracle.{name}"), "arith_for", _double_double)
        forced = f(*args, **kwargs)
    assert_same_bits(forced, f(*args, engine="mpfr", **kwargs), f"{function} grad={grad} {fmt}")


# float32 rows of pairs one ULP apart (and a tie): softmax 1 / (2 (1 + exp(-d))) lies within about d**3 / 48
# of a float32 midpoint (1/4 + d/16), far below the double tier's 2**-45 but far above double-double's 2**-100
NEAR_TIES = [
    np.array([[1.1880535, 1.1880531, 1.1880535, 1.1880531]], dtype=np.float32),
    np.array([[-8.723828, -8.723828, -8.72383, -8.72383], [1.1880535, 1.1880531, 1.1880535, 1.1880531]],
             dtype=np.float32),
]


@pytest.mark.parametrize("x", NEAR_TIES)
@pytest.mark.parametrize("function", ["softmax", "log_softmax", "logsumexp"])
def test_near_ties_of_a_narrow_format_are_decided_by_the_double_double_tier(function: str, x) -> None:
    f = getattr(so.oracle, function)
    with so.oracle.decision_counts() as counts:
        got = f(x)
    assert counts.phase1_decided == counts.elements  # no element left to MPFR
    assert_same_bits(got, f(x, engine="mpfr"), function)


def test_the_softmax_near_tie_is_within_double_rounding_of_a_float32_midpoint() -> None:
    # the case the double tier cannot decide: its float64 rounding is a float32 midpoint
    x = NEAR_TIES[0]
    r64 = so.oracle.softmax(x, dtype=np.float64)
    assert float(r64[0, 0]).hex() == "0x1.0000030000000p-2"  # 1/4 + 1.5 ULP of float32
    exact = so.exact.softmax(x, bits=200)[0, 0]
    assert 0 < float.fromhex("0x1.000003p-2") - exact < 2.0**-70  # just below the midpoint
    assert so.oracle.softmax(x)[0, 0] == np.float32(float.fromhex("0x1.000002p-2"))
