"""Cross-check of the oracle against python-flint's Arb (independent ball arithmetic): zero disagreements.

Inputs are drawn by Hypothesis across the whole input space of each format:
huge magnitudes, near-ties, ``-inf`` masks, gaps that underflow ``exp``,
subnormals, long rows.  The reference rounds Arb's ball with MPFR; inputs
where Arb cannot decide the rounding at 8192 bits are skipped (the oracle's
harder cases have their own tests).
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

import arb_reference as ref
import softmax_oracle as so
from softmax_oracle.formats import FORMATS, format_of

FORMAT_NAMES = [f.name for f in FORMATS]


def floats_of(fmt_name: str, *, min_value=None, max_value=None, allow_subnormal=None):
    """Finite floats of a format (bfloat16 via uint16 bit patterns)."""
    if fmt_name == "bfloat16":
        if min_value is None and max_value is None:  # every finite bit pattern
            bits = st.integers(0, 0xFFFF).map(lambda b: float(np.array(b, dtype=np.uint16).view(ml_dtypes.bfloat16)))
            return bits.filter(math.isfinite)
        # a float32 in range, rounded to bfloat16, kept if still in range
        lo = -3e38 if min_value is None else min_value
        hi = 3e38 if max_value is None else max_value
        return st.floats(lo, hi, width=32).map(lambda v: float(np.float32(v).astype(ml_dtypes.bfloat16))).filter(
            lambda v: lo <= v <= hi)
    width = {"float64": 64, "float32": 32, "float16": 16}[fmt_name]
    return st.floats(min_value=min_value, max_value=max_value, width=width, allow_nan=False,
                     allow_infinity=False, allow_subnormal=allow_subnormal)


@st.composite
def logit_rows(draw, fmt_name: str, *, max_len: int = 12, masks: bool = True):
    """A 1-D row of logits from one of several regimes."""
    fmt = format_of(fmt_name)
    regime = draw(st.sampled_from(["moderate", "full", "near_tie", "huge_gap", "dominant", "tiny"]))
    n = draw(st.integers(1, max_len))
    big = fmt.max_value
    if regime == "moderate":
        xs = draw(st.lists(floats_of(fmt_name, min_value=-30, max_value=30), min_size=n, max_size=n))
    elif regime == "full":
        xs = draw(st.lists(floats_of(fmt_name), min_size=n, max_size=n))
    elif regime == "tiny":
        lim = fmt.smallest_subnormal * 64
        xs = draw(st.lists(floats_of(fmt_name, min_value=-lim, max_value=lim), min_size=n, max_size=n))
    elif regime == "near_tie":
        base = draw(floats_of(fmt_name, min_value=-big / 4, max_value=big / 4))
        steps = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
        arr = np.full(n, base, dtype=fmt.dtype)
        xs = []
        for v, k in zip(arr, steps):
            for _ in range(abs(k)):
                v = np.nextafter(v, fmt.dtype.type(np.inf if k > 0 else -np.inf), dtype=fmt.dtype) if fmt_name != "bfloat16" else v
            xs.append(float(v))
    elif regime == "huge_gap":
        top = draw(floats_of(fmt_name, min_value=-big / 2, max_value=big / 2))
        gaps = draw(st.lists(st.sampled_from([0.0, 1.0, 20.0, 120.0, 800.0, 1e5, 1e30, big / 4]), min_size=n, max_size=n))
        with np.errstate(over="ignore"):  # a gap past the format's range gives inf, dropped below
            xs = [float(fmt.dtype.type(top - g)) for g in gaps]
    else:  # dominant: one logit far above the rest, where log(1 + t) loses what log1p keeps
        top = draw(floats_of(fmt_name, min_value=-100, max_value=100))
        rest = draw(st.lists(floats_of(fmt_name, min_value=-60, max_value=-5), min_size=n - 1, max_size=n - 1))
        xs = [top] + [float(fmt.dtype.type(top + r)) for r in rest]
    xs = [v for v in xs if math.isfinite(v)] or [0.0]
    if masks and len(xs) > 1 and draw(st.booleans()):
        k = draw(st.integers(0, len(xs) - 1))
        xs[k] = -math.inf
    return np.array(xs, dtype=np.float64).astype(fmt.dtype)


def check(name: str, fmt_name: str, args: tuple, kwargs: dict, *, grad: bool = False):
    fmt = format_of(fmt_name)
    fn = getattr(so.oracle.grad if grad else so.oracle, name)
    got = np.asarray(fn(*args, **kwargs)).astype(np.float64)
    try:
        expected = ref.rounded(name, fmt, args, kwargs, grad)
    except ref.Undecidable:
        assume(False)
    note(f"got {got!r}\nexpected {expected!r}")
    assert got.shape == expected.shape
    zeros = (expected == 0)
    assert np.array_equal(got[~zeros], expected[~zeros]), (got, expected)
    assert (got[zeros] == 0).all()
    return got


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_family(name, fmt, data):
    x = data.draw(logit_rows(fmt))
    assume(np.isfinite(x.astype(np.float64)).any())
    check(name, fmt, (x,), {})


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_family_grad(name, fmt, data):
    x = data.draw(logit_rows(fmt, max_len=8))
    assume(np.isfinite(x.astype(np.float64)).any())
    shape = () if name == "logsumexp" else x.shape
    g = np.asarray(data.draw(st.lists(floats_of(fmt, min_value=-4, max_value=4), min_size=int(np.prod(shape)),
                                      max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)
    check(name, fmt, (x,), {"grad_output": g.astype(format_of(fmt).dtype)}, grad=True)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid", "softplus"])
@given(data=st.data())
def test_pointwise(name, fmt, data):
    xs = data.draw(st.lists(floats_of(fmt), min_size=1, max_size=6))
    x = np.array(xs, dtype=np.float64).astype(format_of(fmt).dtype)
    check(name, fmt, (x,), {})
    g = np.array(data.draw(st.lists(floats_of(fmt, min_value=-8, max_value=8), min_size=len(xs), max_size=len(xs))))
    check(name, fmt, (x,), {"grad_output": g.astype(format_of(fmt).dtype)}, grad=True)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@given(data=st.data())
def test_cross_entropy(fmt, reduction, data):
    dtype = format_of(fmt).dtype
    n = data.draw(st.integers(1, 3))
    rows = [data.draw(logit_rows(fmt, max_len=5, masks=False)) for _ in range(n)]
    c = min(len(r) for r in rows)
    x = np.stack([r[:c] for r in rows]).astype(dtype)
    kwargs = {"reduction": reduction}
    if data.draw(st.booleans()):
        kwargs["weight"] = np.array(data.draw(st.lists(st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]), min_size=c, max_size=c)), dtype=dtype)
    if data.draw(st.booleans()):
        kwargs["label_smoothing"] = data.draw(st.sampled_from([0.1, 0.25, 1.0]))
    if data.draw(st.booleans()):
        t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    else:
        raw = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.125, 0.25, 0.5, 1.0]), min_size=n * c, max_size=n * c))).reshape(n, c)
        t = raw.astype(dtype)
    check("cross_entropy", fmt, (x, t), kwargs)
    g = data.draw(floats_of(fmt, min_value=-4, max_value=4))
    gshape = (n,) if reduction == "none" else ()
    check("cross_entropy", fmt, (x, t), {**kwargs, "grad_output": np.full(gshape, g, dtype=dtype)} if reduction != "none" else {**kwargs}, grad=reduction != "none")


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@given(data=st.data())
def test_binary_losses(fmt, reduction, data):
    dtype = format_of(fmt).dtype
    n = data.draw(st.integers(1, 5))
    x = np.array(data.draw(st.lists(floats_of(fmt), min_size=n, max_size=n))).astype(dtype)
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=n, max_size=n))).astype(dtype)
    kwargs = {"reduction": reduction}
    if data.draw(st.booleans()):
        kwargs["pos_weight"] = np.array(data.draw(st.sampled_from([0.5, 2.0, 3.0])), dtype=dtype)
    check("binary_cross_entropy_with_logits", fmt, (x, y), kwargs)
    if reduction != "none":
        check("binary_cross_entropy_with_logits", fmt, (x, y), kwargs, grad=True)
    below_one = 1.0 - float(ml_dtypes.finfo(dtype).epsneg)
    p = np.array(data.draw(st.lists(floats_of(fmt, min_value=float(format_of(fmt).smallest_subnormal), max_value=below_one),
                                    min_size=n, max_size=n))).astype(dtype)
    check("binary_cross_entropy", fmt, (p, y), {"reduction": reduction})
    if reduction != "none":
        check("binary_cross_entropy", fmt, (p, y), {"reduction": reduction}, grad=True)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@given(data=st.data())
def test_kl_div(fmt, reduction, data):
    dtype = format_of(fmt).dtype
    n = data.draw(st.integers(1, 5))
    x = np.array(data.draw(st.lists(floats_of(fmt, min_value=-1e4, max_value=0.0), min_size=n, max_size=n))).astype(dtype)
    y = np.array(data.draw(st.lists(floats_of(fmt, min_value=0.0, max_value=1.0), min_size=n, max_size=n))).astype(dtype)
    check("kl_div", fmt, (x, y), {"reduction": reduction})
    t = np.array(data.draw(st.lists(floats_of(fmt, min_value=-100.0, max_value=0.0), min_size=n, max_size=n))).astype(dtype)
    check("kl_div", fmt, (x, t), {"reduction": reduction, "log_target": True})


@pytest.mark.parametrize("fmt", ["float64", "float32"])
@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@given(data=st.data())
@settings(max_examples=5)
def test_long_rows(name, fmt, data):
    """Rows of 300 to 2000 logits whose sum loses bits in float arithmetic."""
    n = data.draw(st.integers(300, 2000))
    seed = data.draw(st.integers(0, 2**32 - 1))
    scale = data.draw(st.sampled_from([1.0, 30.0, 1e4]))
    x = np.random.default_rng(seed).normal(0.0, scale, n).astype(format_of(fmt).dtype)
    got = check(name, fmt, (x,), {})
    if name == "softmax":
        assert abs(float(np.sum(got, dtype=np.float64)) - 1) < n * float(np.finfo(format_of(fmt).dtype).eps)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@given(data=st.data())
def test_rational_losses_and_gradients_against_fractions(reduction, data):
    """nll_loss, and the gradients of kl_div and binary_cross_entropy, are rational: checked with Fraction."""
    from fractions import Fraction

    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = np.array(data.draw(st.lists(floats_of("float64", min_value=-1e300, max_value=1e300), min_size=n * c, max_size=n * c))).reshape(n, c)
    t = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    w = np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 3.0, 1e-300]), min_size=c, max_size=c)))
    terms = [-Fraction(w[ti]) * Fraction(x[i, ti]) for i, ti in enumerate(t)]
    den = sum((Fraction(w[ti]) for ti in t), Fraction(0))
    got = so.oracle.nll_loss(x, t, weight=w, reduction=reduction)
    if reduction == "none":
        expected = [float(v) for v in terms]
    else:
        total = sum(terms, Fraction(0))
        expected = float(total if reduction == "sum" else total / den)
    assert np.array_equal(got, np.array(expected))  # float(Fraction) rounds once, correctly
    y = np.array(data.draw(st.lists(floats_of("float64", min_value=0.0, max_value=1.0), min_size=n * c, max_size=n * c))).reshape(n, c)
    g = so.oracle.grad.kl_div(x, y, reduction="sum" if reduction == "none" else reduction)
    scale = Fraction(1) if reduction in ("none", "sum") else Fraction(1, n * c)
    assert np.array_equal(g, np.array([[float(-Fraction(v) * scale) for v in r] for r in y]).reshape(n, c) + 0.0)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus"])
@given(data=st.data())
@settings(max_examples=25)
def test_exact_values_against_arb(name, data):
    """softmax_oracle.exact at 80 bits is within half an ulp (2**-80 relative) of Arb's ball."""
    import mpmath
    from flint import arb, ctx

    x = data.draw(logit_rows("float64", max_len=6))
    assume(np.isfinite(x).any())
    got = np.asarray(getattr(so.exact, name)(x, bits=80), dtype=object).reshape(-1)
    old = ctx.prec
    try:
        ctx.prec = 4096
        balls, _ = ref.values(name, (x,), {}, False)
    finally:
        ctx.prec = old
    for g, b in zip(got, balls):
        if isinstance(b, float) or not b.is_finite():
            continue
        mid, rad = b.mid(), b.rad()
        if rad > abs(mid) * arb(2) ** -100 and not mid == 0:
            continue  # Arb itself undecided at 4096 bits
        with mpmath.workprec(4200):
            m = mpmath.mpf(mid.str(1200, radius=False)) if mid != 0 else mpmath.mpf(0)
            assert abs(g - m) <= abs(m) * mpmath.mpf(2) ** -80 + mpmath.mpf(10) ** -1000, (name, x, g, m)
