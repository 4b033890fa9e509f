"""The NumPy tiers against the oracle: ULP budgets, edge semantics, bad input.

Budgets (issue 3): the accurate tier is within 0.51 ULP for float32, float16 and
bfloat16 and within 2 ULP for float64 (plus 2**-52 |larger term| / ulp(result)
for logsumexp with max < 0 and for kl_div); the stable tier never overflows to
inf/NaN where the exact answer is finite.
"""

from __future__ import annotations

import math
import warnings

import ml_dtypes
import numpy as np
import pytest
from hypothesis import example, given, reject, settings
from hypothesis import strategies as st

from softmax_oracle import exact, oracle, ulp
from softmax_oracle.errors import InvalidInput, PrecisionExhausted
from softmax_oracle.formats import FORMATS, BFLOAT16, FLOAT16, FLOAT32, FLOAT64
from softmax_oracle.numpy_impl import accurate, naive, stable
from softmax_oracle.numerics.cast import round_to_format

SETTINGS = settings(deadline=None)  # example counts come from the profile (tests/conftest.py)
MORE = settings(deadline=None, max_examples=4 * settings().max_examples)  # the accurate tier's budgets
BUDGET = {"float64": 2.0, "float32": 0.51, "float16": 0.51, "bfloat16": 0.51}
FAMILY = ["logsumexp", "softmax", "log_softmax"]
POINTWISE = ["sigmoid", "log_sigmoid", "softplus"]


# -- inputs ---------------------------------------------------------------------------------


@st.composite
def values(draw, fmt, shape, masks=True):
    """Floats of ``fmt``: any finite bit pattern (bfloat16 through uint16), logits of moderate size,
    small integers (exact ties), ``-inf`` masks (``masks``), scaled by a random power of two."""
    n = int(np.prod(shape))
    bits = st.integers(0, 2**fmt.bits - 1)
    logit = st.floats(-60, 60, allow_nan=False).map(lambda v: round(v * 4) / 4)
    kinds = [bits.map(lambda b: ("bits", b)), logit.map(lambda v: ("float", v)),
             st.integers(-3, 3).map(lambda v: ("float", float(v)))]
    if masks:
        kinds.append(st.just(("float", -math.inf)))
    raw = draw(st.lists(st.one_of(kinds), min_size=n, max_size=n))
    scale = draw(st.sampled_from([1.0, 1.0, 2.0**-20, 2.0**10, 2.0**40]))
    out = np.empty(n, dtype=fmt.dtype)
    for i, (kind, v) in enumerate(raw):
        if kind == "bits":
            out[i] = np.array([v], dtype=fmt.uint_dtype).view(fmt.dtype)[0]
        else:
            with np.errstate(over="ignore"):  # scaled out of range: inf, replaced below
                out[i] = round_to_format(np.array([v * scale]), fmt)[0]
    bad = ~np.isfinite(out.astype(np.float64))
    out[bad] = -np.inf if masks else 0  # NaN / +inf patterns (and overflowed scalings)
    return out.reshape(shape)


formats = st.sampled_from(FORMATS)
shapes = st.tuples(st.integers(1, 3), st.integers(1, 7))


def errors(got, exact_values, fmt):
    """ULP errors; class mismatches (NaN vs number, wrong infinity) become inf."""
    e = np.asarray(ulp.ulp_error(got, exact_values, fmt=fmt), dtype=np.float64)
    return np.where(np.isnan(e), np.inf, e)


def grad_outputs(fmt, shape):
    """Upstream gradients of ``fmt``: any finite bit pattern, small integers (exact ties), zeros."""
    return values(fmt, shape, masks=False)


def reference(fn, *args, grad=False, **kw):
    """The exact values; examples the oracle cannot decide are rejected (reported: exact.grad.logsumexp
    of a row with a 2**40 logit spread times a subnormal grad_output exhausts 32768 bits)."""
    try:
        return (getattr(exact.grad, fn) if grad else getattr(exact, fn))(*args, **kw)
    except PrecisionExhausted:
        reject()


def budget(fn, fmt, x, got):
    """The allowed error per element (logsumexp with max < 0 gets the cancellation allowance)."""
    base = BUDGET[fmt.name]
    if fn != "logsumexp":
        return base
    m = np.max(x.astype(np.float64), axis=-1)
    spacing = np.spacing(np.abs(got.astype(np.float64))) * (2.0 ** (53 - fmt.precision))
    with np.errstate(invalid="ignore", divide="ignore"):
        extra = np.where(m < 0, 2.0**-52 * np.abs(m) * 2 / spacing, 0)
    return base + np.nan_to_num(extra, nan=0.0, posinf=0.0)


def finite_rows(x):
    return np.isfinite(np.max(x.astype(np.float64), axis=-1)).all()


# -- the seeds --------------------------------------------------------------------------------


def test_naive_softmax_overflows_to_nan_at_1000_to_5000():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the naive tier silences its own overflow
        assert np.isnan(naive.softmax(np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0]))).all()


@pytest.mark.parametrize("tier", [stable, accurate], ids=["stable", "accurate"])
def test_softmax_1000_to_5000_is_finite_and_exact(tier):
    x = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    assert tier.softmax(x).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert tier.logsumexp(x) == 5000.0
    assert tier.log_softmax(x).tolist() == [-4000.0, -3000.0, -2000.0, -1000.0, 0.0]


def test_float32_log_softmax_10_0_minus10_needs_log1p():
    x = np.array([10, 0, -10], dtype=np.float32)
    ex = exact.log_softmax(x)
    usual = x - x.max() - np.log(np.sum(np.exp(x - x.max())))
    assert errors(usual, ex, FLOAT32)[0] > 1000
    assert errors(stable.log_softmax(x), ex, FLOAT32).max() <= 1.0
    assert errors(accurate.log_softmax(x), ex, FLOAT32).max() <= 0.51


def test_accurate_grad_cross_entropy_is_softmax_minus_onehot():
    x = np.array([[1.0, 2.0, 3.0]])
    got = accurate.grad.cross_entropy(x, np.array([2]), reduction="sum")
    np.testing.assert_array_equal(got, oracle.grad.cross_entropy(x, np.array([2]), reduction="sum"))


# -- the accurate tier's budgets ------------------------------------------------------------------


@MORE
@given(data=st.data(), fmt=formats, shape=shapes, fn=st.sampled_from(FAMILY), grad=st.booleans())
@example(data=None, fmt=FLOAT64, shape=(1, 2), fn="softmax", grad=False).via("x - max rounds at -700")
def test_accurate_family_within_budget(data, fmt, shape, fn, grad):
    if data is None:
        x, g = np.array([[0.1, -700.3]]), None
    else:
        x = data.draw(values(fmt, shape))
        g = data.draw(grad_outputs(fmt, shape[:1] if fn == "logsumexp" else shape)) if grad else None
    if not finite_rows(x):
        x[:, 0] = 0  # rows with a finite max; the edge rows are tested below
    kw = {"grad_output": g} if grad else {}
    ex = reference(fn, x, grad=grad, **kw)
    got = (getattr(accurate.grad, fn) if grad else getattr(accurate, fn))(x, **kw)
    assert got.dtype == fmt.dtype
    err = errors(got, ex, fmt)
    allowed = budget(fn, fmt, x, got) if not grad else BUDGET[fmt.name]
    assert (err <= allowed).all(), f"{fn} grad={grad} {fmt.name}: x={x!r} g={g!r} got={got!r} err={err!r}"


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(8, 64), scale=st.sampled_from([1.0, 30.0, 1000.0]),
       fn=st.sampled_from(FAMILY), rows=st.integers(1, 3))
def test_accurate_float64_family_on_long_random_rows(seed, n, scale, fn, rows):
    """Rows of dozens of normal logits: the rounding of a plain sum of the exp terms alone put
    float64 softmax at 4 ULP; the sum is now extracted exactly (``_eft.extract_sum``)."""
    x = np.random.default_rng(seed).standard_normal((rows, n)) * scale
    for kw in ({}, {"dtype": np.float64}):  # the fast path and the general one
        got = getattr(accurate, fn)(x, **kw)
        err = errors(got, reference(fn, x), FLOAT64)
        assert (err <= budget(fn, FLOAT64, x, got)).all(), f"{fn} {kw}: x={x!r} err={err.max()}"


# Found by random grad_output: long double's 11 extra bits did not absorb these cancellations.
CANCELLING_GRADIENTS = [
    ("log_softmax", [[23.16920144, -14.07895174, -47.92837401]],
     [[-4.06803926e238, 3.70192192e-124, -1.39634547e-266]]),  # g_max (1 - s_max): 1 - s_max = 6.6e-17
    ("log_softmax", [[0.0, 0.0, 0.0]], [[2.0, 2.0, 2.0]]),  # exactly 0: 2 - 6 / 3
    ("softmax", [[1.5, 1.5, 1.5]], [[1.0, 3.0, 2.0]]),  # the middle one is exactly the mean: 0
    ("softmax", [[0.0, -1e-300]], [[1.0, -1.0]]),
    ("log_softmax", [[0.0, 5e-324, -745.0]], [[1.0, 1.0, 1e-300]]),
    ("log_softmax", [[0.0, 2.5e-323, -math.inf]], [[0.0, 1.0, 1.0]]),  # a subnormal logit difference
    # Logits that differ by less than a double-double resolves in exp(x - max) (issue 12): sum h_j t_j
    # lost the difference (2.05 subnormal ULPs on the first, 0 for -2.4e-41 on the second: 5e15 ULP).
    ("softmax", [[8.4e-323, 1.0, 0.0, 0.0, 0.0]], [[-2.0, 0.0, 0.0, 0.0, 2.0]]),
    ("softmax", [[1e-40, 1.0, 0.0, 0.0, 0.0]], [[-2.0, 0.0, 0.0, 0.0, 2.0]]),
    ("softmax", [[1e-300, 1.0, 0.0, 0.0, 0.0]], [[-2.0, 0.0, 0.0, 0.0, 2.0]]),
    ("softmax", [[2.0**-40 + 2.0**-92, 1.0, 2.0**-40, 0.0, 0.0]], [[-2.0, 0.0, 2.0, 0.0, 0.0]]),
    ("softmax", [[3.0, 3.0, 1e-40, 0.0, 3e-40]], [[0.0, 2.0, 1.0, 2.0, 0.0]]),  # ties at the max balance h
    ("softmax", [[1.0, 5e-324, 0.0, -1e-320, 0.0]], [[0.0, 1.0, 1.0, -2.0, 0.0]]),
    # x - 4 at a rounding midpoint for the third logit and just above it for the second: 6e14 ULP
    # when their x - max rounded apart
    ("softmax", [[4.0, 2.0**-52 + 2.0**-104, 2.0**-52, 0.0, 0.0]], [[0.0, -2.0, 2.0, 0.0, 0.0]]),
]


@pytest.mark.parametrize("fn, x, g", CANCELLING_GRADIENTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CANCELLING_GRADIENTS)])
def test_accurate_float64_gradient_that_cancels(fn, x, g):
    x, g = np.array(x), np.array(g)
    got = getattr(accurate.grad, fn)(x, grad_output=g)
    err = errors(got, getattr(exact.grad, fn)(x, grad_output=g), FLOAT64)
    assert (err <= 2.0).all(), f"{fn}: x={x!r} g={g!r} got={got!r} err={err!r}"


@pytest.mark.parametrize("x", [[1e300, 5.0, 0.0], [1e300, -1e300, -1e300 + 1e284, 7.0], [1e308, -1e308, 0.0],
                               [0.0, -20000.5, -20000.5 + 2.0**-38]])
def test_accurate_softmax_gradient_of_dead_terms_is_silent_and_signed(x):
    """``x - max`` beyond exp's dead end: its low part (5 at ``x - max = 5 - 1e300``) must not reach the
    expm1 series of ``split_terms`` (it overflowed there), and close logits there are not grouped."""
    x = np.array([x])
    g = np.arange(1.0, x.shape[1] + 1)[None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = accurate.grad.softmax(x, grad_output=g)
    want = oracle.grad.softmax(x, grad_output=g)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_accurate_bce_with_logits_gradient_where_prediction_meets_target():
    # (1 - y) sigmoid(x) = pw y sigmoid(-x) to 2**-9: 2.8 ULP through long double.
    x, y, pw = np.array([-1.68353957]), np.array([0.26024714]), np.array([0.52799003])
    kw = {"pos_weight": pw, "reduction": "none", "grad_output": np.array([-0.58051618])}
    got = accurate.grad.binary_cross_entropy_with_logits(x, y, **kw)
    assert errors(got, exact.grad.binary_cross_entropy_with_logits(x, y, **kw), FLOAT64).max() <= 0.5


@SETTINGS
@given(data=st.data(), fmt=formats, fn=st.sampled_from(POINTWISE), grad=st.booleans())
def test_accurate_pointwise_within_budget(data, fmt, fn, grad):
    x = data.draw(values(fmt, (6,)))
    x = x[np.abs(x.astype(np.float64)) < 2.0**64]  # the oracle gives up on sigmoid tails (reported)
    kw = {"grad_output": data.draw(grad_outputs(fmt, x.shape))} if grad else {}
    ex = reference(fn, x, grad=grad, **kw)
    got = (getattr(accurate.grad, fn) if grad else getattr(accurate, fn))(x, **kw)
    assert (errors(got, ex, fmt) <= BUDGET[fmt.name]).all(), f"{fn} grad={grad}: x={x!r} {kw} got={got!r}"


@st.composite
def loss_case(draw):
    fmt = draw(formats)
    name = draw(st.sampled_from(["ce_index", "ce_prob", "nll", "kl", "kl_log", "bce", "bcel"]))
    reduction = draw(st.sampled_from(["none", "mean", "sum"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    scale = draw(st.sampled_from([1.0, 30.0, 1e4, 2.0 ** (fmt.emax // 2)]))
    x = round_to_format(rng.standard_normal((n, c)) * scale, fmt)
    kw = {"reduction": reduction}
    if name.startswith("ce") or name == "nll":
        if draw(st.booleans()):
            kw["weight"] = round_to_format(rng.random(c) + 0.25, fmt)
        if name == "ce_prob":
            target = round_to_format(rng.dirichlet(np.ones(c), n), fmt)
        else:
            target = rng.integers(0, c, n)
            target[rng.random(n) < 0.2] = -100
        if name.startswith("ce") and draw(st.booleans()):
            kw["label_smoothing"] = 0.125
        fn = "nll_loss" if name == "nll" else "cross_entropy"
    elif name.startswith("kl"):
        fn = "kl_div"
        target = round_to_format(rng.dirichlet(np.ones(c), n), fmt)
        if name == "kl_log":
            target, kw["log_target"] = round_to_format(np.log(target.astype(np.float64)), fmt), True
        kw["reduction"] = "batchmean" if reduction == "mean" else reduction
    else:
        target = round_to_format(rng.random((n, c)), fmt)
        if name == "bce":
            fn, x = "binary_cross_entropy", round_to_format(rng.random((n, c)), fmt)
        else:
            fn = "binary_cross_entropy_with_logits"
            if draw(st.booleans()):
                kw["pos_weight"] = round_to_format(rng.random(c) + 0.5, fmt)
        if draw(st.booleans()):
            kw["weight"] = round_to_format(rng.random((n, c)) + 0.25, fmt)
    return fmt, fn, x, target, kw


def kl_allowance(x, target, kw, got, fmt):
    """2**-52 |larger term| / ulp(result): kl_div's terms cancel where log p ~ input."""
    x64, y64 = x.astype(np.float64), target.astype(np.float64)
    with np.errstate(all="ignore"):
        big = np.abs(y64 * x64) + np.abs(np.exp(y64) * y64 if kw.get("log_target") else y64 * np.log(y64))
        big = np.nan_to_num(big)
        if kw["reduction"] != "none":
            big = np.sum(big)
        spacing = np.spacing(np.abs(got.astype(np.float64))) * (2.0 ** (53 - fmt.precision))
        return np.nan_to_num(2.0**-52 * big * 2 / spacing)


def loss_output_shape(fn, x, kw):
    if kw["reduction"] != "none":
        return ()
    return x.shape[:1] if fn in ("cross_entropy", "nll_loss") else x.shape


@MORE
@given(data=st.data(), case=loss_case(), grad=st.booleans())
def test_accurate_losses_within_budget(data, case, grad):
    fmt, fn, x, target, kw = case
    if grad:
        kw = {**kw, "grad_output": data.draw(grad_outputs(fmt, loss_output_shape(fn, x, kw)))}
    ex = reference(fn, x, target, grad=grad, **kw)
    got = (getattr(accurate.grad, fn) if grad else getattr(accurate, fn))(x, target, **kw)
    assert got.dtype == fmt.dtype
    allowed = BUDGET[fmt.name] + (kl_allowance(x, target, kw, got, fmt) if fn == "kl_div" and not grad else 0)
    err = errors(got, ex, fmt)
    assert (err <= allowed).all(), f"{fn} grad={grad} {kw}: x={x!r} target={target!r} got={got!r} err={err!r}"


# -- the stable tier: finite where the answer is finite ----------------------------------------------


@SETTINGS
@given(data=st.data(), fmt=st.sampled_from([FLOAT64, FLOAT32]), shape=shapes,
       fn=st.sampled_from(FAMILY + POINTWISE))
def test_stable_never_overflows_where_the_answer_is_finite(data, fmt, shape, fn):
    x = data.draw(values(fmt, shape))
    if fn in POINTWISE:
        x = x[np.abs(x.astype(np.float64)) < 2.0**64]
    got = getattr(stable, fn)(x)
    want = getattr(oracle, fn)(x)
    finite = np.isfinite(want.astype(np.float64))
    assert np.isfinite(got.astype(np.float64))[finite].all(), f"{fn}: x={x!r} got={got!r}"


@SETTINGS
@given(case=loss_case(), grad=st.booleans())
def test_stable_losses_finite_where_the_answer_is_finite(case, grad):
    fmt, fn, x, target, kw = case
    if fmt.name not in ("float64", "float32"):
        return
    got = (getattr(stable.grad, fn) if grad else getattr(stable, fn))(x, target, **kw)
    want = (getattr(oracle.grad, fn) if grad else getattr(oracle, fn))(x, target, **kw)
    finite = np.isfinite(np.asarray(want, dtype=np.float64))
    assert np.isfinite(np.asarray(got, dtype=np.float64))[finite].all(), f"{fn} grad={grad} {kw}: x={x!r} got={got!r}"


@SETTINGS
@given(case=loss_case(), tier=st.sampled_from([naive, stable]))
def test_naive_and_stable_losses_close_to_the_oracle_on_moderate_logits(case, tier):
    """Where nothing overflows or cancels, the simpler tiers are right to about 2**-30 (float64)."""
    fmt, fn, x, target, kw = case
    if fmt.name != "float64" or fn == "kl_div":
        return  # kl_div's terms cancel where log p ~ input
    x = np.clip(x, -8, 8) if fn != "binary_cross_entropy" else np.clip(x, 1e-3, 1 - 1e-3)
    kw = {**kw, "reduction": "none"}
    got = getattr(tier, fn)(x, target, **kw)
    err = np.asarray(ulp.relative_error(got, getattr(exact, fn)(x, target, **kw)), dtype=np.float64)
    assert (np.nan_to_num(err, nan=np.inf) <= 2.0**-30).all(), f"{tier.__name__}.{fn} {kw}: x={x!r} got={got!r} err={err!r}"


# -- edge semantics, the same as the oracle's ---------------------------------------------------------

NAN, INF = math.nan, math.inf
EDGES = [
    ("logsumexp", [[1.0, NAN], [1.0, INF], [-INF, -INF], [0.0, -INF]]),
    ("softmax", [[1.0, NAN], [1.0, INF], [-INF, -INF], [0.0, -INF]]),
    ("log_softmax", [[1.0, NAN], [1.0, INF], [-INF, -INF], [0.0, -INF]]),
    ("sigmoid", [INF, -INF, NAN, 0.0]),
    ("log_sigmoid", [INF, -INF, NAN, 0.0]),
    ("softplus", [INF, -INF, NAN, 0.0]),
]


@pytest.mark.parametrize("tier", [stable, accurate], ids=["stable", "accurate"])
@pytest.mark.parametrize("fn, x", EDGES, ids=[e[0] for e in EDGES])
def test_edge_values_match_the_oracle(tier, fn, x):
    x = np.array(x)
    got, want = getattr(tier, fn)(x), getattr(oracle, fn)(x)
    assert not ulp.class_mismatches(got, want).any(), f"{fn}({x!r}): got {got!r}, oracle {want!r}"
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("tier", [stable, accurate], ids=["stable", "accurate"])
def test_edge_losses_match_the_oracle(tier):
    cases = [
        ("logsumexp", (np.empty((2, 0)),), {}),
        ("kl_div", (np.array([-INF, 0.5]), np.array([0.0, 0.5])), {"reduction": "none"}),
        ("binary_cross_entropy", (np.array([0.0, 1.0, 0.0]), np.array([0.5, 1.0, 0.0])), {"reduction": "none"}),
        ("cross_entropy", (np.array([[1.0, 2.0]]), np.array([-100])), {}),
        ("cross_entropy", (np.array([[0.0, -INF]]), np.array([0])), {"reduction": "none"}),
        ("binary_cross_entropy_with_logits", (np.array([INF, -INF]), np.array([1.0, 0.0])), {"reduction": "none"}),
    ]
    for fn, args, kw in cases:
        got, want = getattr(tier, fn)(*args, **kw), getattr(oracle, fn)(*args, **kw)
        assert not ulp.class_mismatches(got, want).any(), f"{fn}{args}: got {got!r}, oracle {want!r}"
        np.testing.assert_array_equal(got, want)


def test_log_sigmoid_of_inf_is_negative_zero():
    for tier in (stable, accurate):
        assert math.copysign(1.0, float(tier.log_sigmoid(np.array(INF)))) == -1.0


# -- bad input: the oracle's messages --------------------------------------------------------------

BAD = [
    ("softmax", (np.array([1, 2]),), {}),
    ("softmax", (np.array([1.0, 2.0]),), {"axis": 3}),
    ("logsumexp", (np.array([1.0]),), {"dtype": "int8"}),
    ("cross_entropy", (np.array([[1.0, 2.0]]), np.array([5])), {}),
    ("cross_entropy", (np.array([[1.0, 2.0]]), np.array([1])), {"reduction": "avg"}),
    ("cross_entropy", (np.array([[1.0, 2.0]]), np.array([1])), {"label_smoothing": 2.0}),
    ("cross_entropy", (np.array([[1.0, 2.0]]), np.array([1])), {"weight": np.array([np.inf, 1.0])}),
    ("nll_loss", (np.array([[1.0, 2.0]]), np.array([1])), {"weight": np.array([1.0, np.nan])}),
    ("nll_loss", (np.array([[1.0, 2.0]]), np.array([[0.5, 0.5]])), {}),
    ("kl_div", (np.array([1.0]), np.array([1.0, 2.0])), {}),
    ("binary_cross_entropy", (np.array([1.5]), np.array([1.0])), {}),
    ("binary_cross_entropy_with_logits", (np.array([1.0]), np.array([1.0])), {"pos_weight": np.ones(3)}),
]


@pytest.mark.parametrize("tier", [naive, stable, accurate], ids=["naive", "stable", "accurate"])
@pytest.mark.parametrize("fn, args, kw", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_raises_the_oracles_message(tier, fn, args, kw):
    with pytest.raises(InvalidInput) as want:
        getattr(oracle, fn)(*args, **kw)
    with pytest.raises(InvalidInput) as got:
        getattr(tier, fn)(*args, **kw)
    assert str(got.value) == str(want.value)
    with pytest.raises(InvalidInput):
        getattr(tier.grad, fn)(*args, **kw)


# -- one rounding to bfloat16 -----------------------------------------------------------------------


def test_bfloat16_output_is_rounded_once():
    # ml_dtypes goes float64 -> float32 -> bfloat16: 1 + 2**-8 + 2**-40 would become 1.
    v = np.array([1 + 2**-8 + 2**-40, 1 + 2**-8, 2**-134 * (1 + 2**-30), 2**-134, 3.4e38])
    got = round_to_format(v, BFLOAT16).astype(np.float64)
    assert got.tolist() == [1 + 2**-7, 1.0, 2.0**-133, 0.0, INF]


def test_output_dtype_follows_dtype_argument():
    x = np.array([1.0, 2.0], dtype=np.float32)
    for tier in (naive, stable, accurate):
        assert tier.softmax(x).dtype == np.float32
        assert tier.softmax(x, dtype=ml_dtypes.bfloat16).dtype == ml_dtypes.bfloat16
        assert tier.grad.softmax(x, dtype="float64").dtype == np.float64


@pytest.mark.parametrize("tier", [stable, accurate], ids=["stable", "accurate"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, ml_dtypes.bfloat16],
                         ids=["float64", "float32", "float16", "bfloat16"])
def test_bce_gradient_at_p_one_with_zero_grad_output_is_zero_not_nan(tier, dtype):
    """Caught by a newcomer's (randomized) run: p = 1, 0 < y < 1, grad_output 0 gave NaN; 0 * inf is 0 here."""
    p = np.array([1.0, 0.0, 0.5]).astype(dtype)
    y = np.array([0.355469, 0.25, 0.25]).astype(dtype)
    got = tier.grad.binary_cross_entropy(p, y, grad_output=np.array(0.0).astype(dtype))
    assert np.asarray(got, dtype=np.float64).tolist() == [0.0, 0.0, 0.0]
    assert np.asarray(oracle.grad.binary_cross_entropy(p, y, grad_output=np.array(0.0).astype(dtype)),
                      dtype=np.float64).tolist() == [0.0, 0.0, 0.0]
    weighted = tier.grad.binary_cross_entropy(p, y, weight=np.array([0.0, 0.0, 1.0]).astype(dtype), reduction="sum")
    assert np.asarray(weighted, dtype=np.float64)[:2].tolist() == [0.0, 0.0]
