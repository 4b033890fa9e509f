"""Phase 1 of sigmoid, log_sigmoid, softplus and the binary losses equals the MPFR engine where it decides.

All 65,536 float16 and bfloat16 inputs (values and gradients), Hypothesis-drawn
float32/float64 inputs, the binary losses with every reduction, weight and
pos_weight; and the fraction decided on N(0, 10) inputs is at least 99.9% in
every format.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from softmax_oracle import oracle
from softmax_oracle.formats import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Format
from softmax_oracle.oracle import _fast_binary as fb
from softmax_oracle.oracle._fast_pointwise import pointwise

NAMES = ["sigmoid", "log_sigmoid", "softplus"]
FORMATS = [FLOAT64, FLOAT32, FLOAT16, BFLOAT16]


def _mismatches(values: np.ndarray, decided: np.ndarray, reference: np.ndarray, fmt: Format) -> np.ndarray:
    """Indices where phase 1 decided a value whose bits differ from the reference."""
    ref = np.asarray(reference, dtype=fmt.dtype)
    return np.flatnonzero(decided.reshape(-1) & (values.reshape(-1).view(fmt.uint_dtype) != ref.reshape(-1).view(fmt.uint_dtype)))


def _all_of(fmt: Format) -> np.ndarray:
    return np.arange(1 << 16, dtype=np.uint16).view(fmt.dtype)


def _f64(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # NaN bit patterns of bfloat16 cast to NaN
        return x.astype(np.float64)


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=lambda f: f.name)
@pytest.mark.parametrize("name", NAMES)
def test_every_16_bit_input_equals_the_mpfr_engine(name: str, fmt: Format):
    x = _all_of(fmt)
    values, decided = pointwise(name, _f64(x), None, fmt)
    with np.errstate(invalid="ignore"):  # the engine casts NaN bit patterns too
        reference = getattr(oracle, name)(x, engine="mpfr")
    assert _mismatches(values, decided, reference, fmt).size == 0
    assert decided.mean() >= 0.999


@pytest.mark.parametrize("fmt", [FLOAT16, BFLOAT16], ids=lambda f: f.name)
@pytest.mark.parametrize("name", NAMES)
def test_every_16_bit_input_gradient_equals_the_mpfr_engine(name: str, fmt: Format):
    x = _all_of(fmt)
    g = np.random.default_rng(0).normal(0, 2, x.size).astype(fmt.dtype)
    g[:16] = np.array([0, -0.0, np.inf, -np.inf, np.nan, 1, -1, 3] * 2).astype(fmt.dtype)
    values, decided = pointwise(name, _f64(x), _f64(g), fmt)
    with np.errstate(invalid="ignore"):  # the engine casts NaN bit patterns too
        reference = getattr(oracle.grad, name)(x, grad_output=g, engine="mpfr")
    assert _mismatches(values, decided, reference, fmt).size == 0
    assert decided.mean() >= 0.999


def _draw_floats(fmt: Format):
    return hnp.arrays(fmt.dtype, st.integers(1, 40), elements=st.floats(width=fmt.bits, allow_nan=True))


@pytest.mark.parametrize("fmt", [FLOAT32, FLOAT64], ids=lambda f: f.name)
@pytest.mark.parametrize("name", NAMES)
def test_drawn_inputs_equal_the_mpfr_engine(name: str, fmt: Format):
    @given(x=_draw_floats(fmt), data=st.data())
    def check(x, data):
        g = data.draw(hnp.arrays(fmt.dtype, x.shape, elements=st.floats(width=fmt.bits)))
        values, decided = pointwise(name, x.astype(np.float64), None, fmt)
        assert _mismatches(values, decided, getattr(oracle, name)(x, engine="mpfr"), fmt).size == 0
        values, decided = pointwise(name, x.astype(np.float64), g.astype(np.float64), fmt)
        reference = getattr(oracle.grad, name)(x, grad_output=g, engine="mpfr")
        assert _mismatches(values, decided, reference, fmt).size == 0

    check()


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("name", NAMES)
def test_phase_one_decides_almost_all_normal_inputs(name: str, fmt: Format):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 10, 20_000).astype(fmt.dtype).astype(np.float64)
    g = rng.normal(0, 10, x.size).astype(fmt.dtype).astype(np.float64)
    assert pointwise(name, x, None, fmt)[1].mean() >= 0.999
    assert pointwise(name, x, g, fmt)[1].mean() >= 0.999


def _binary_inputs(fmt: Format, n: int, rng: np.random.Generator, *, specials: bool):
    p = rng.uniform(0, 1, n)
    y = rng.uniform(0, 1, n)
    y[: n // 4] = np.round(y[: n // 4])
    w = rng.uniform(0, 2, n)
    w[n // 4: n // 4 + 3] = 0
    x = rng.normal(0, 10, n)
    pw = rng.uniform(0, 3, n)
    g = rng.normal(0, 1, n)
    g[-3:] = 0
    if specials:
        p[:6] = [0, 1, 0, 1, 0.5, 0]
        y[:6] = [0, 1, 1, 0, 0.5, 1]
        x[:4] = [np.inf, -np.inf, np.inf, -np.inf]
        g[4] = np.inf
    cast = [a.astype(fmt.dtype) for a in (p, y, w, x, pw, g)]
    return cast, [_f64(a) for a in cast]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("specials", [False, True], ids=["ordinary", "specials"])
def test_binary_losses_equal_the_mpfr_engine(fmt: Format, reduction: str, specials: bool):
    (p, y, w, x, pw, g), (pf, yf, wf, xf, pwf, gf) = _binary_inputs(fmt, 200, np.random.default_rng(2), specials=specials)
    go, gof = (g, gf) if reduction == "none" else (g[0], gf[0])
    calls = [
        (fb.bce(pf, yf, wf, reduction, fmt), oracle.binary_cross_entropy(p, y, weight=w, reduction=reduction, engine="mpfr")),
        (fb.grad_bce(pf, yf, wf, reduction, gof, fmt),
         oracle.grad.binary_cross_entropy(p, y, weight=w, reduction=reduction, grad_output=go, engine="mpfr")),
        (fb.bce_with_logits(xf, yf, wf, pwf, reduction, fmt),
         oracle.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction=reduction, engine="mpfr")),
        (fb.grad_bce_with_logits(xf, yf, wf, pwf, reduction, gof, fmt),
         oracle.grad.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction=reduction, grad_output=go,
                                                      engine="mpfr")),
    ]
    for (values, decided), reference in calls:
        assert _mismatches(values, decided, reference, fmt).size == 0
        if not specials:
            assert decided.mean() >= 0.999


def test_bce_decides_structural_infinities_and_zeros():
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.25])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    w = np.array([1.0, 2.0, 1.0, 1.0, 0.0])
    values, decided = fb.bce(p, y, w, "none", FLOAT64)
    assert decided.all()
    assert list(values) == [np.inf, np.inf, 0.0, 0.0, 0.0] and not np.signbit(values[2:]).any()


def test_bce_with_logits_reductions_over_an_infinite_logit_go_to_phase_two():
    x = np.array([np.inf, 1.0])
    ones = np.ones(2)
    assert not fb.bce_with_logits(x, np.zeros(2), ones, ones, "mean", FLOAT32)[1]
    values, decided = fb.bce_with_logits(x, np.array([1.0, 0.0]), ones, ones, "none", FLOAT32)
    assert decided.all() and values[0] == 0 and not np.signbit(values[0])


def test_bfloat16_values_are_rounded_once():
    """sigmoid near 1 + 2**-8 in bfloat16: ml_dtypes' float64 cast rounds twice; phase 1 does not."""
    x = _all_of(BFLOAT16)
    x = x[np.isfinite(_f64(x))]
    values, decided = pointwise("softplus", _f64(x), None, BFLOAT16)
    reference = oracle.softplus(x, engine="mpfr")
    assert _mismatches(values, decided, reference, BFLOAT16).size == 0 and values.dtype == ml_dtypes.bfloat16


def test_softplus_of_tiny_logits_is_decided_in_float64():
    """Regression: log(1 + e) with e = 1 - 2**-448 left m - 1 as an unnormalized pair (0, lo), and the
    product of the resulting wide interval overflowed its radius; 17% of tiny x went to phase 2."""
    x = np.ldexp(np.random.default_rng(3).normal(0, 1, 2000), np.random.default_rng(4).integers(-1074, -20, 2000))
    for name in ("softplus", "log_sigmoid"):
        values, decided = pointwise(name, x, None, FLOAT64)
        assert decided.all()
        assert _mismatches(values, decided, getattr(oracle, name)(x, engine="mpfr"), FLOAT64).size == 0


def test_binary_gradients_at_the_edges_are_decided_as_the_mpfr_engine():
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    y = np.array([0.0, 1.0, 1.0, 0.25, 0.5])
    w = np.array([3.0, 1.0, 0.5, 1.0, -2.0])
    g = np.array([0.1, 1.0, 1.0, -1.0, 1.0])
    values, decided = fb.grad_bce(p, y, w, "none", g, FLOAT32)
    f32 = [a.astype(np.float32) for a in (p, y, w, g)]  # exact: the operands are float32 values
    reference = oracle.grad.binary_cross_entropy(f32[0], f32[1], weight=f32[2], reduction="none", grad_output=f32[3],
                                                 engine="mpfr")
    assert reference.dtype == np.float32
    assert decided.all() and _mismatches(values, decided, reference, FLOAT32).size == 0
    assert list(values[1:4]) == [-np.inf, -np.float32(0.5), -np.inf]
    x = np.array([np.inf, -np.inf, np.inf, -np.inf])
    y = np.array([0.25, 0.75, 1.0, 0.0])
    ones = np.ones(4)
    values, decided = fb.grad_bce_with_logits(x, y, ones, 2 * ones, "sum", 3.0, FLOAT64)
    assert decided.all() and list(values) == [2.25, -4.5, 0.0, 0.0] and not np.signbit(values[2:]).any()


def test_reduced_float64_losses_scale_the_low_word_of_zero_dimensional_enclosures():
    """Regression (found by helper P): a NumPy float64 scalar is a ``float``, so the 0-d low word of a
    reduced loss was taken for the double tier's absent low word and not rescaled: the mean of
    ``binary_cross_entropy([0.46308625], [1.0])`` came out one ULP low, *decided*."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(1, 4))
        p, y, w = rng.uniform(0.01, 0.99, n), rng.uniform(0, 1, n), rng.uniform(0.5, 2, n)
        x, pw = rng.normal(0, 5, n), rng.uniform(0.5, 2, n)
        for reduction in ("mean", "sum"):
            values, decided = fb.bce(p, y, w, reduction, FLOAT64)
            reference = oracle.binary_cross_entropy(p, y, weight=w, reduction=reduction, engine="mpfr")
            assert _mismatches(values, decided, reference, FLOAT64).size == 0, (p, y, w, reduction)
            values, decided = fb.bce_with_logits(x, y, w, pw, reduction, FLOAT64)
            reference = oracle.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction=reduction,
                                                                engine="mpfr")
            assert _mismatches(values, decided, reference, FLOAT64).size == 0, (x, y, w, pw, reduction)
    values, decided = fb.bce(np.array([0.46308625]), np.array([1.0]), np.ones(1), "mean", FLOAT64)
    assert decided and values == oracle.binary_cross_entropy(np.array([0.46308625]), np.array([1.0]), engine="mpfr")
