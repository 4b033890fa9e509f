"""cross_entropy with probability targets or label smoothing: the certified fast phase.

:mod:`softmax_oracle.oracle._fast_soft_targets` must (1) give the MPFR
engine's bits (values, classes, signs of zero) in every format, reduction and
option, extreme regimes included; (2) enclose the true value (MPFR at 300
bits) within its claimed bound, for the per-sample losses, their sum and
mean, and the gradient; (3) be tight enough to decide at least 99.9% of the
elements on N(0, 10) logits.  ``HYPOTHESIS_PROFILE=dev`` (or
``SOFTMAX_ORACLE_DEV=1``) checks the bound on at least 10**5 elements per
kernel and runs more examples.
"""

from __future__ import annotations

import os
from fractions import Fraction

import gmpy2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softmax_oracle as so
from softmax_oracle.arguments import class_problem
from softmax_oracle.formats import format_of
from softmax_oracle.numerics.arith import DOUBLE, DOUBLE_DOUBLE
from softmax_oracle.oracle import _fast_soft_targets as fst
from softmax_oracle.strategies import logits, probability_targets, weights

FORMATS = ("float64", "float32", "float16", "bfloat16")
DEV = os.environ.get("HYPOTHESIS_PROFILE") == "dev" or os.environ.get("SOFTMAX_ORACLE_DEV") == "1"
EXAMPLES = 300 if DEV else 25
BOUND_ELEMENTS = 100_000 if DEV else 2_500  # per kernel and tier
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits(a) -> np.ndarray:
    a = np.asarray(a)
    return a.view(_UINT[a.dtype.itemsize])


def assert_same_bits(auto, mpfr, what: str) -> None:
    auto, mpfr = np.asarray(auto), np.asarray(mpfr)
    assert auto.shape == mpfr.shape and auto.dtype == mpfr.dtype, what
    differ = np.flatnonzero(bits(auto).reshape(-1) != bits(mpfr).reshape(-1))
    assert not differ.size, (f"{what}: {differ.size} element(s) differ; first: auto "
                             f"{auto.reshape(-1)[differ[0]]!r}, mpfr {mpfr.reshape(-1)[differ[0]]!r}")


def both(grad: bool, args, kwargs):
    f = so.oracle.grad.cross_entropy if grad else so.oracle.cross_entropy
    with np.errstate(all="ignore"):  # drawn grad_output may overflow its dtype on the cast
        return f(*args, **kwargs), f(*args, engine="mpfr", **kwargs)


# -- (1) the MPFR engine's bits -------------------------------------------------------------------------------


def _perturbed(rng: np.random.Generator, y: np.ndarray, fmt: str) -> np.ndarray:
    """Targets beyond exact probability rows: near-one-hot, tiny and subnormal entries, negative or large
    entries, and sometimes a NaN or an infinity."""
    y = y.astype(np.float64)
    kind = rng.integers(0, 5)
    if kind == 0:  # near one-hot
        t = rng.integers(0, y.shape[1], y.shape[0])
        y = np.full(y.shape, 2.0 ** -rng.integers(10, 60))
        y[np.arange(y.shape[0]), t] = 1.0 - y[0, 0] * (y.shape[1] - 1)
    elif kind == 1:  # tiny (subnormal in the narrow formats) entries
        y = np.where(rng.random(y.shape) < 0.5, y, np.ldexp(1.0, -rng.integers(100, 1074, y.shape)))
    elif kind == 2:  # negative and large entries
        y = rng.choice([-1.0, 0.5, 3.0, -2.0**-20, 1e4], y.shape)
    elif kind == 3:
        y.reshape(-1)[rng.integers(0, y.size)] = rng.choice([np.nan, np.inf, -np.inf])
    with np.errstate(over="ignore", under="ignore"):  # out-of-range entries become inf / 0 in the format
        return y.astype(format_of(fmt).dtype)


@st.composite
def soft_calls(draw, fmt: str, grad: bool):
    """``(args, kwargs)`` of a cross_entropy call with probability targets or a positive label smoothing."""
    dtype = format_of(fmt).dtype
    b, n = draw(st.integers(1, 3)), draw(st.integers(1, 9))
    x = draw(logits(fmt, shape=(b, n), allow_pos_inf=True, allow_nan=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kwargs = {"reduction": draw(st.sampled_from(["none", "sum", "mean"]))}
    kind = draw(st.sampled_from(["probabilities", "perturbed", "indices"]))
    if kind == "indices":
        target = rng.integers(0, n, b)
        if draw(st.booleans()):
            kwargs["ignore_index"] = int(draw(st.sampled_from([-100, 0, n - 1])))
            target[rng.random(b) < 0.4] = kwargs["ignore_index"]
        eps = draw(st.sampled_from([0.1, 0.25, 1.0, 2.0**-40, 0.5, 0.9999]))
    else:
        target = draw(probability_targets(fmt, shape=(b, n)))
        if kind == "perturbed":
            target = _perturbed(rng, target, fmt)
        eps = draw(st.sampled_from([0.0, 0.0, 0.1, 0.05, 1.0, 2.0**-40]))
    if eps:
        kwargs["label_smoothing"] = eps
    if draw(st.booleans()):
        w = draw(weights(fmt, shape=n)).astype(np.float64)
        if draw(st.integers(0, 3)) == 0:
            big = 2.0**40 if fmt in ("float64", "float32") else 2.0**6  # finite in the format
            w *= rng.choice([1.0, -1.0, 2.0**-10, big], n)
        kwargs["weight"] = w.astype(dtype)
    if grad and draw(st.booleans()):
        shape = (b,) if kwargs["reduction"] == "none" else ()
        g = rng.choice([rng.standard_normal(shape), rng.uniform(-1, 1, shape) * 10.0 ** rng.integers(-30, 30),
                        np.zeros(shape), np.full(shape, 0.75)])
        with np.errstate(over="ignore"):  # beyond the format: inf, a valid upstream gradient
            g = np.asarray(g).astype(dtype)
        if draw(st.integers(0, 7)) == 0:
            g.reshape(-1)[0] = draw(st.sampled_from([np.nan, np.inf, -0.0]))
        kwargs["grad_output"] = g
    return (x, target), kwargs


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_auto_equals_mpfr_on_drawn_soft_targets(grad: bool, fmt: str, data) -> None:
    args, kwargs = data.draw(soft_calls(fmt, grad))
    auto, mpfr = both(grad, args, kwargs)
    assert_same_bits(auto, mpfr, f"{'grad.' if grad else ''}cross_entropy {fmt} {args!r} {kwargs}")


def _extreme_rows(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [
        rng.standard_normal(n) * 1e300,  # logits ~1e300 (differences near 2**1000)
        np.where(np.arange(n) == 0, 0.0, -1e4 + rng.standard_normal(n)),  # a huge gap
        np.zeros(n),  # all tied
        np.where(rng.random(n) < 0.5, 1.5, 1.5 - 2.0**-50),  # near ties
        np.ldexp(rng.standard_normal(n), -1060),  # subnormal logits
        np.where(np.arange(n) % 3 == 0, -np.inf, rng.standard_normal(n)),  # masked
        np.where(np.arange(n) == 1, 2.0**53, -1.0),  # a midpoint
    ]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_auto_equals_mpfr_in_extreme_regimes(fmt: str, reduction: str) -> None:
    rng = np.random.default_rng(11)
    dtype = format_of(fmt).dtype
    n = 6
    with np.errstate(over="ignore", under="ignore"):  # the narrow formats flush or overflow some logits
        x = np.array(_extreme_rows(rng, n)).astype(dtype)
    m = x.shape[0]
    one_hot = np.eye(n)[rng.integers(0, n, m)]
    targets = {
        "zeros": np.where(rng.random((m, n)) < 0.5, 0.0, rng.random((m, n))),
        "near_one_hot": one_hot * (1 - 2.0**-30) + (1 - one_hot) * 2.0**-30 / (n - 1),
        "one_hot": one_hot,
    }
    w = rng.uniform(0.1, 4, n)
    for name, y in targets.items():
        for eps in (0.0, 0.1):
            for weight in (None, w.astype(dtype)):
                kw = {"reduction": reduction, "label_smoothing": eps, "weight": weight}
                for grad in (False, True):
                    auto, mpfr = both(grad, (x, y.astype(dtype)), kw)
                    assert_same_bits(auto, mpfr, f"{fmt} {name} eps={eps} grad={grad}")
    t = rng.integers(0, n, m)
    t[::3] = -100
    for grad in (False, True):
        auto, mpfr = both(grad, (x, t), {"reduction": reduction, "label_smoothing": 0.1, "weight": w.astype(dtype)})
        assert_same_bits(auto, mpfr, f"{fmt} indices grad={grad}")


@pytest.mark.parametrize("fmt", ["float64", "float32"])
def test_spatial_and_one_dimensional_inputs_keep_their_layout(fmt: str) -> None:
    rng = np.random.default_rng(4)
    dtype = format_of(fmt).dtype
    x = rng.standard_normal((2, 4, 3)).astype(dtype)
    y = rng.random((2, 4, 3))
    calls = [((x, (y / y.sum(axis=1, keepdims=True)).astype(dtype)), {}),
             ((x, rng.integers(0, 4, (2, 3))), {"label_smoothing": 0.2}),
             ((x[0, :, 0], rng.random(4).astype(dtype)), {}),
             ((x[0, :, 0], np.array(2)), {"label_smoothing": 0.3})]
    for args, kwargs in calls:
        for reduction in ("none", "sum", "mean"):
            for grad in (False, True):
                with so.oracle.decision_counts() as counts:
                    auto, mpfr = both(grad, args, {"reduction": reduction, **kwargs})
                assert counts.elements == 2 * auto.size and counts.phase1_decided >= auto.size
                assert_same_bits(auto, mpfr, f"{np.shape(args[0])} {reduction} grad={grad} {kwargs}")


def test_structural_answers_are_decided_in_phase_1() -> None:
    x = np.array([[0.0, -np.inf, 1.0], [np.nan, 0.0, 1.0], [2.0, -np.inf, -np.inf], [0.5, 0.25, 0.0]])
    with so.oracle.decision_counts() as counts:
        loss = so.oracle.cross_entropy(x, np.array([0, 0, 0, -100]), label_smoothing=0.1, reduction="none")
    # a smoothed coefficient on a masked logit: +inf; NaN row: NaN; one finite logit: +inf (masked
    # coefficients); an ignored sample: +0
    assert np.isinf(loss[0]) and loss[0] > 0 and np.isnan(loss[1]) and np.isinf(loss[2])
    assert loss[3] == 0 and not np.signbit(loss[3])
    assert counts.phase1_decided == 4
    y = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [np.nan, 0.0, 0.0]])
    with so.oracle.decision_counts() as counts:
        loss = so.oracle.cross_entropy(x, y, reduction="none")
        grad = so.oracle.grad.cross_entropy(x, y, reduction="none")
    assert loss[2] == 0 and not np.signbit(loss[2])  # one finite logit, all mass on it: exactly +0
    assert np.isnan(loss[1]) and np.isnan(loss[3]) and np.isnan(grad[3]).all() and np.isnan(grad[1]).all()
    assert (grad[2] == 0).all() and not np.signbit(grad[2]).any()
    assert counts.phase1_decided == counts.elements
    assert_same_bits(loss, so.oracle.cross_entropy(x, y, reduction="none", engine="mpfr"), "structural losses")
    assert_same_bits(grad, so.oracle.grad.cross_entropy(x, y, reduction="none", engine="mpfr"), "structural grads")


def test_exact_zero_gradients_go_to_phase_2_and_are_positive_zeros() -> None:
    """Uniform logits and uniform targets: ``A s_i - a_i = 0`` exactly, which no bound decides."""
    x = np.zeros((2, 4))
    y = np.full((2, 4), 0.25)
    with so.oracle.decision_counts() as counts:
        g = so.oracle.grad.cross_entropy(x, y)
    assert (g == 0).all() and not np.signbit(g).any()
    assert counts.phase1_decided == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_one_hot_target_on_a_dominant_class_is_decided_in_phase_1(fmt: str) -> None:
    """``A s_t - a_t = -A T / S`` at a unique maximum: no cancellation, so phase 1 decides the tiny value."""
    dtype = format_of(fmt).dtype
    x = np.array([[0.0, -40.0, -50.0], [3.0, -600.0, 1.0], [2.0, 1.0, 0.5]]).astype(dtype)
    y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.75, 0.25, 0.0]]).astype(dtype)
    for kwargs in ({"reduction": "none"}, {"reduction": "mean", "weight": np.array([2.0, 1.0, 0.5]).astype(dtype)}):
        with so.oracle.decision_counts() as counts:
            got = so.oracle.grad.cross_entropy(x, y, **kwargs)
        assert counts.phase1_decided == counts.elements == x.size, (fmt, kwargs)
        assert_same_bits(got, so.oracle.grad.cross_entropy(x, y, engine="mpfr", **kwargs), f"{fmt} {kwargs}")


# -- (2) the bounds hold ---------------------------------------------------------------------------------------

_CTX = gmpy2.context(precision=300)


def _true_rows(x: np.ndarray, a: list[list[Fraction]], grad_f: list[Fraction] | None):
    """Per row: the loss ``sum_c a_c (L - d_c)`` (or, with factors, the gradient row ``F (A s_i - a_i)``) at
    300 bits, with the differences ``d_c = x_c - m`` exact (rationals): ``m + L`` would need ``log2 |m|``
    more bits."""
    out = []
    for row, coeffs, f in zip(x.tolist(), a, grad_f or [None] * len(a)):
        ctx = _CTX
        m = gmpy2.mpq(max(v for v in row if v != -np.inf))
        d = [ctx.add(0, gmpy2.mpq(v) - m) if v != -np.inf else None for v in row]
        k = sum(1 for dc in d if dc is not None and dc == 0)
        T = ctx.fsum([ctx.exp(dc) for dc in d if dc is not None and dc != 0])
        L = ctx.log1p(T) if k == 1 else ctx.log(ctx.add(T, k))  # log1p: L may be far below 2**-300
        A = sum(coeffs, Fraction(0))
        if f is None:
            out.append(ctx.fsum([ctx.mul(gmpy2.mpq(ac), ctx.sub(L, dc)) for ac, dc in zip(coeffs, d) if ac != 0]))
        else:
            # at a unique maximum s = 1 - T / (1 + T): A s - a = (A - a) - A T / (1 + T) avoids the
            # cancellation that 300 bits would not survive (T below 2**-250)
            z = [ctx.sub(gmpy2.mpq(A - ac), ctx.mul(gmpy2.mpq(A), ctx.div(T, ctx.add(T, 1)))) if k == 1 and dc == 0
                 else ctx.sub(ctx.mul(gmpy2.mpq(A), ctx.exp(ctx.sub(dc, L)) if dc is not None else 0), gmpy2.mpq(ac))
                 for dc, ac in zip(d, coeffs)]
            out.append([ctx.mul(gmpy2.mpq(f), zi) for zi in z])
    return out


def _bound_cases(rng: np.random.Generator, m: int, n: int):
    """Logit rows over many scales (with ties, huge gaps and subnormals), targets of every kind, weights."""
    scale = rng.choice([1.0, 10.0, 100.0, 1e4, 1e-300, 2.0**-1070, 1e250], (m, 1))
    x = rng.standard_normal((m, n)) * scale  # 2**-1070: subnormal logits
    tied = rng.random(m) < 0.1
    x[tied] = x[tied, :1]  # some rows tied
    y = rng.random((m, n)) ** rng.choice([1, 4, 16], (m, 1))
    y[rng.random((m, n)) < 0.3] = 0.0
    y /= np.maximum(y.sum(axis=1, keepdims=True), 1e-300)
    y[rng.random(m) < 0.1] *= -1.0  # negative coefficients: cancellation
    w = rng.uniform(0.0, 3.0, n) * rng.choice([1.0, -1.0], n, p=[0.9, 0.1])
    return x, y, w


def _fractions(p: fst.SoftProblem) -> list[list[Fraction]]:
    eps = Fraction(p.eps)
    n = p.x.shape[1]
    return [[Fraction(float(wc)) * (Fraction(float(yc)) * (1 - eps) + eps / n) if live else Fraction(0)
             for wc, yc in zip(p.w.tolist(), row)] for row, live in zip(p.y.tolist(), p.counted.tolist())]


def _check(true, centre, lo, rad, what: str) -> int:
    checked = 0
    for t, c, l, r in zip(true, centre, lo, rad):
        if not np.isfinite(r):
            continue
        miss = abs(_CTX.sub(_CTX.sub(t, gmpy2.mpfr(float(c))), gmpy2.mpfr(float(l))))
        assert miss <= r, f"{what}: true {t} outside {float(c)!r} + {float(l)!r} +- {float(r)!r}"
        checked += 1
    return checked


@pytest.mark.parametrize("A", [DOUBLE_DOUBLE, DOUBLE], ids=["double-double", "double"])
@pytest.mark.parametrize("case", ["probabilities", "smoothed_indices"])
def test_loss_and_reduction_bounds_enclose_the_true_values(A, case: str) -> None:
    rng = np.random.default_rng(5 if case == "probabilities" else 6)
    checked = reduced = 0
    while checked < BOUND_ELEMENTS:
        n = int(rng.choice([2, 5, 33]))
        x, y, w = _bound_cases(rng, 40, n)
        if case == "probabilities":
            eps, target = float(rng.choice([0.0, 0.1, 2.0**-30])), y
        else:
            eps, target = float(rng.choice([0.1, 0.7])), np.where(rng.random(40) < 0.1, -100, rng.integers(0, n, 40))
        for reduction in ("sum", "mean"):
            p = fst.SoftProblem(class_problem(x, target, w, -100, reduction, allow_probabilities=True), eps)
            (lh, ll), err, ok, single0, _ = fst.sample_losses(A, p, slice(0, x.shape[0]))
            true = _true_rows(x, _fractions(p), None)
            if reduction == "sum":
                keep = np.flatnonzero(ok)
                checked += _check([true[i] for i in keep], lh[keep], ll[keep], err[keep], f"loss {case} {A.name}")
            if ok.all():
                quiet = p.zero_row | single0
                sh, sl, s_err = fst.reduced_enclosure(p, lh, ll, err, quiet)
                total = _CTX.fsum(true)
                if reduction == "mean":
                    total = _CTX.div(total, gmpy2.mpq(Fraction(p.D[0]) + Fraction(p.D[1])))
                reduced += _check([total], sh, sl, s_err, f"{reduction} {case} {A.name}")
    assert reduced > 0


@pytest.mark.parametrize("A", [DOUBLE_DOUBLE, DOUBLE], ids=["double-double", "double"])
@pytest.mark.parametrize("case", ["probabilities", "smoothed_indices"])
def test_gradient_bounds_enclose_the_true_values(A, case: str) -> None:
    rng = np.random.default_rng(7 if case == "probabilities" else 8)
    checked = 0
    while checked < BOUND_ELEMENTS:
        n = int(rng.choice([2, 5, 33]))
        x, y, w = _bound_cases(rng, 20, n)
        if case == "probabilities":
            eps, target = float(rng.choice([0.0, 0.1])), y
        else:
            eps, target = 0.1, rng.integers(0, n, 20)
        reduction = str(rng.choice(["none", "mean"]))
        g = rng.standard_normal(20) * 10.0 ** rng.integers(-5, 5, 20)
        p = fst.SoftProblem(class_problem(x, target, w, -100, reduction, allow_probabilities=True), eps)
        f, f_rel, f_nan = fst.factors(p, g if reduction == "none" else g[:1].reshape(()))
        (vh, vl, rad), _ = fst.gradient_enclosure(A, p, slice(0, 20), f, f_rel)
        if reduction == "none":
            fs = [Fraction(float(v)) for v in g]
        else:
            den = Fraction(p.D[0]) + Fraction(p.D[1])
            fs = [Fraction(float(g[0])) / den] * 20
        true = _true_rows(x, _fractions(p), fs)
        for i in range(20):
            checked += _check(true[i], vh[i], vl[i], rad[i], f"grad {case} {A.name}")


@pytest.mark.parametrize(("A", "limit"), [(DOUBLE_DOUBLE, 2.0**-95), (DOUBLE, 2.0**-45)], ids=["double-double", "double"])
def test_bounds_are_tight_for_nonnegative_coefficients(A, limit: float) -> None:
    """Median relative radius of the losses and gradient elements (no cancellation: ``a_c >= 0``)."""
    rng = np.random.default_rng(9)
    losses, grads = [], []
    for _ in range(12):
        n = int(rng.choice([2, 33, 1000]))
        x, y, w = _bound_cases(rng, 40, n)
        p = fst.SoftProblem(class_problem(x, np.abs(y), np.abs(w), -100, "none", allow_probabilities=True), 0.1)
        (lh, _), err, ok, _, _ = fst.sample_losses(A, p, slice(0, 40))
        losses.append(err[ok] / np.abs(lh[ok]))
        f, f_rel, _ = fst.factors(p, np.ones(40))
        (vh, _, rad), _ = fst.gradient_enclosure(A, p, slice(0, 40), f, f_rel)
        grads.append((rad / np.abs(vh)).ravel())
    for name, rel in (("loss", np.concatenate(losses)), ("gradient", np.concatenate(grads))):
        rel = rel[np.isfinite(rel)]
        assert rel.size > 400 and np.median(rel) < limit, (name, np.log2(np.median(rel)))


# -- (3) tight enough to decide ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", ["probabilities", "label_smoothing"])
def test_phase_1_decides_at_least_999_per_mille_on_normal_logits(fmt: str, case: str) -> None:
    rng = np.random.default_rng(3)
    dtype = format_of(fmt).dtype
    x = (rng.standard_normal((24, 200)) * 10).astype(dtype)
    if case == "probabilities":
        y = rng.random(x.shape)
        target, kwargs = (y / y.sum(axis=1, keepdims=True)).astype(dtype), {}
    else:
        target, kwargs = rng.integers(0, 200, 24), {"label_smoothing": 0.1}
    with so.oracle.decision_counts() as counts:
        for reduction in ("none", "sum", "mean"):
            so.oracle.cross_entropy(x, target, reduction=reduction, **kwargs)
            so.oracle.grad.cross_entropy(x, target, reduction=reduction, **kwargs)
        so.oracle.grad.cross_entropy(x, target, reduction="none", grad_output=rng.standard_normal(24), **kwargs)
    assert counts.elements == 24 + 2 + 4 * 24 * 200
    assert counts.rate >= 0.999, counts
