"""The accurate tier's extended-precision first pass of the gradients (``numpy_impl._screened_gradients``).

What it must do: answer exactly what the scaled double-double path answers, except where that path
is not correctly rounded (float64 subnormal results, within 1 ULP there; a midpoint plus a term below
its precision): then the oracle's answer; decide almost every element of ordinary inputs without that
path; and decide the exact cases (zeros, midpoints from inputs with few bits) correctly.
"""

from __future__ import annotations

import numpy as np
import pytest

from softmax_oracle import oracle
from softmax_oracle.formats import FORMATS
from softmax_oracle.numerics.cast import round_to_format
from softmax_oracle.numpy_impl import _gradients, _precise_gradients, _screened_gradients, accurate

pytestmark = pytest.mark.skipif(not _screened_gradients.AVAILABLE, reason="no x87 extended precision")
FAMILY = ["logsumexp", "log_softmax", "softmax"]


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))))


def _draw(rng, fmt, shape):
    kind = rng.integers(4)
    if kind == 0:  # few bits, -inf masks
        v = rng.integers(-8, 8, shape) / 4.0
        v[rng.random(shape) < 0.3] = -np.inf
        v[:, 0] = 0.0
    elif kind == 1:  # terms far below the maximum
        v = -rng.choice([700.0, 2e4]) - rng.uniform(0, 60, shape)
        v[:, 0] = rng.standard_normal(shape[0])
    else:
        v = rng.standard_normal(shape) * [1, 30][kind - 2]
    return round_to_format(v, fmt)


def _check(monkeypatch, fn, *args, **kw):
    """The first pass against the double-double path alone, and where they differ, the oracle."""
    first = getattr(accurate.grad, fn)(*args, **kw)
    with monkeypatch.context() as m:
        m.setattr(_screened_gradients, "AVAILABLE", False)
        alone = getattr(accurate.grad, fn)(*args, **kw)
    if not _same(first, alone):
        right = getattr(oracle.grad, fn)(*args, **kw)
        assert _same(first, right), (fn, args, kw, first, alone, right)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_first_pass_answers_what_the_double_double_path_answers(monkeypatch, fmt):
    rng = np.random.default_rng(7)
    for _ in range(25):
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 10)))
        x = _draw(rng, fmt, shape)
        g = rng.standard_normal(shape) * 3
        g[:, 1] = np.round(g[:, 1])
        if rng.random() < 0.3:  # beyond the float64 pass's range [2**-100, 2**100]
            g *= 10.0 ** rng.uniform(-300, 300, shape)
        for fn in FAMILY:
            _check(monkeypatch, fn, x, grad_output=g[:, 0] if fn == "logsumexp" else g)
        n, c = shape
        kw = dict(label_smoothing=float(rng.choice([0.0, 0.125, 1.0])), reduction=str(rng.choice(["mean", "sum"])),
                  weight=None if rng.random() < 0.5 else np.abs(rng.standard_normal(c)))
        target = rng.integers(0, c, n) if rng.random() < 0.5 else round_to_format(rng.dirichlet(np.ones(c), n), fmt)
        _check(monkeypatch, "cross_entropy", x, target, **kw)


def _count_double_double(monkeypatch) -> list[int]:
    rows = [0]
    for name, table in (("class_grad", None), ("logsumexp_grad", "logsumexp"), ("log_softmax_grad", "log_softmax"),
                        ("softmax_grad", "softmax")):
        original = getattr(_precise_gradients, name)

        def counted(r, *args, _original=original):
            rows[0] += len(r)
            return _original(r, *args)

        monkeypatch.setattr(_precise_gradients, name, counted)
        if table is not None:
            monkeypatch.setitem(_gradients._PRECISE, table, counted)
    return rows


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_first_pass_decides_ordinary_rows(monkeypatch, fmt):
    """N(0, 10) logits, random grad_output: the narrow formats never need the double-double path (an
    element is undecided only within ~2**-58 of a midpoint); float64 in at least 90% of rows of 8."""
    rows = _count_double_double(monkeypatch)
    rng = np.random.default_rng(3)
    x = round_to_format(rng.standard_normal((200, 8)) * 10, fmt)
    g = rng.standard_normal((200, 8))
    accurate.grad.cross_entropy(x, rng.integers(0, 8, 200), reduction="sum", label_smoothing=0.1)
    accurate.grad.log_softmax(x, grad_output=g)
    accurate.grad.softmax(x, grad_output=g)
    accurate.grad.logsumexp(x, grad_output=g[:, 0])
    assert rows[0] <= (0 if fmt.name != "float64" else 4 * 200 // 10)


def test_exact_midpoint_at_a_masked_logit_is_rounded_to_even(monkeypatch):
    """At a -inf logit the gradient is -F C a_i, a rational: here w y = 0.75 (1 + 2**-23) = 0.75 + 1.5 *
    2**-24, the midpoint of two float32 neighbours; ties to even gives 0.75 + 2**-23.  Decided with
    integers, not by the double-double path."""
    rows = _count_double_double(monkeypatch)
    x = np.array([[-np.inf, 0.0, 1.0]], dtype=np.float32)
    y = np.array([[0.75, 0.25, 0.0]], dtype=np.float32)
    w = np.array([1 + 2.0**-23, 1.0, 1.0], dtype=np.float32)
    got = accurate.grad.cross_entropy(x, y, weight=w, reduction="sum")
    assert got[0, 0] == np.float32(-(0.75 + 2.0**-23))
    assert _same(got, oracle.grad.cross_entropy(x, y, weight=w, reduction="sum"))
    assert rows[0] == 0


def test_exact_zeros_are_positive(monkeypatch):
    rows = _count_double_double(monkeypatch)
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 3.0, -1.0]])
    lse = accurate.grad.logsumexp(x, grad_output=np.array([-1.0, -2.0]))
    assert lse[0, 1] == 0 and not np.signbit(lse[0, 1])
    lsm = accurate.grad.log_softmax(x, grad_output=np.full(x.shape, -3.0))
    assert lsm[0, 1] == -3.0  # (g_i T - 0 G) / T
    sm = accurate.grad.softmax(x, grad_output=np.array([[-2.0, 5.0, -2.0], [-1.0, -1.0, -1.0]]))
    assert sm[0, 1] == 0 and not np.signbit(sm[0, 1]) and not np.signbit(sm[1]).any() and (sm[1] == 0).all()
    assert rows[0] == 0


def test_narrow_formats_are_decided_in_float64(monkeypatch):
    """float32 rows of N(0, 10) logits: the float64 pass decides them all (no extended pass)."""
    used = []
    original = _screened_gradients._terms
    monkeypatch.setattr(_screened_gradients, "_terms", lambda rows, w: used.append(w.dtype) or original(rows, w))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 8)).astype(np.float32) * 10
    accurate.grad.cross_entropy(x, rng.integers(0, 8, 50), label_smoothing=0.2)
    accurate.grad.log_softmax(x, grad_output=rng.standard_normal((50, 8)))
    assert used == [np.float64, np.float64]
    accurate.grad.log_softmax(x, grad_output=np.full((50, 8), 1e200))  # out of its range
    assert used[2:] == [np.longdouble]


def test_near_equal_logits_are_decided_by_the_first_order_expansion(monkeypatch):
    """Subnormal float32 logits (a fuzzing favourite): p = 1/8 + O(1e-30), and the gradient lies within
    ~1e-30 of a float32 midpoint, beyond any floating-point pass; the expansion in fractions decides it
    (interval of radius 3.01 |F A| max|d|**2 / n), and agrees with the oracle."""
    rows = _count_double_double(monkeypatch)
    x = np.array([[-1.021308e-40, 8.044602e-30, -2.858635e-40, 7.188661e-42, 9.220544e-43, -7.188661e-42,
                   -2.471933e-40, -1.431412e-40]], dtype=np.float32)
    y = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.75, 0.0]], dtype=np.float32)
    w = np.array([0.9999931, 1.0, 0.4665165, 2.8311753, 1.240433, 1.0, 2.8311753, 2.0986497], dtype=np.float32)
    for kw in (dict(reduction="none", weight=w), dict(reduction="mean", label_smoothing=0.25)):
        got = accurate.grad.cross_entropy(x, y, **kw)
        assert _same(got, oracle.grad.cross_entropy(x, y, **kw)), kw
    equal = np.zeros((2, 5), dtype=np.float32)  # equal logits: p = 1/5 exactly, a rational gradient
    got = accurate.grad.cross_entropy(equal, np.array([1, 3]), weight=np.array([1, 3, 1, 7, 1.5]))
    assert _same(got, oracle.grad.cross_entropy(equal, np.array([1, 3]), weight=np.array([1, 3, 1, 7, 1.5])))
    assert rows[0] == 0


def test_extreme_rows_fall_through_silently():
    """Rows that every pass leaves undecided (a term below exp(-1e308)) reach the double-double path
    without a warning (the suite turns warnings into errors), with the exact value's sign."""
    x = np.array([[1e308, -1e308], [0.0, -np.inf]])
    got = accurate.grad.cross_entropy(x, np.array([0, 0]), reduction="sum")
    assert _same(got, oracle.grad.cross_entropy(x, np.array([0, 0]), reduction="sum"))
    assert got[0, 1] == 0 and not np.signbit(got[0, 1])


def test_mean_over_huge_weights(monkeypatch):
    """The mean's denominator of weights near the float64 maximum overflows a float64 sum (math.fsum
    raises): it is summed exactly all the same; weights 1e308 and -1e308 are a mean over no weight, NaN."""
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    for w in ([1e308, 1e308, 1e308], [1e308, -1e308, 5.0], [1e308, -1e308, 0.0]):
        _check(monkeypatch, "cross_entropy", x, np.array([0, 1]), weight=np.array(w))
    assert np.isnan(accurate.grad.cross_entropy(x, np.array([0, 1]), weight=np.array([1e308, -1e308, 0.0]))).all()


def test_rows_dominated_by_their_maximum_round_their_midpoints(monkeypatch):
    """Other terms below exp(-80): the gradient is a rational R (label smoothing's -F eps, F (A - C a_m)
    at the maximum) plus a term of known sign below 2**-100 |R|.  Here R = 3 fl(0.05) / 8 at the
    maximum, a float64 midpoint: the double-double path gave the upper neighbour (the fuzzer found it),
    the exact value lies just below.  Fractions decide it, without that path."""
    rows = _count_double_double(monkeypatch)
    x = np.array([[-77.28646896559736, -23.921481696899605, 6.754297930794209, -12.614102354044341],
                  [-6.914872910962572, -97.75687433515532, -97.75687433515532, -86.65288058101363]])
    got = accurate.grad.cross_entropy(x, np.array([1, 0]), label_smoothing=0.05)
    assert _same(got, oracle.grad.cross_entropy(x, np.array([1, 0]), label_smoothing=0.05))
    assert got[1, 0] == 0.01875 == np.nextafter(3 * 0.05 / 8, 0)  # R: halfway between these two
    assert rows[0] == 0


def test_zero_coefficients_beside_a_dominant_maximum_round_to_signed_zero(monkeypatch):
    """t = exp(-1.8e308) underflows in every pass: where C a_i = 0 the gradient F A t_i / T is a
    positive number far below float64's subnormals (+0.0), which no interval around 0 decides; its
    sign does, and the row's other elements (probability targets, weights, a mean) stay decided."""
    rows = _count_double_double(monkeypatch)
    x = np.array([[1.7976931348623155e308, -1.823596298800041e-320, 1.7573293887986218e-309, -4.150151425066471e-322,
                   -4.2840065451913685e-313, 1.8285369552584535e-320, 1.2886714240477234e-319, 2.0056100827279562e-319]])
    y = np.array([[0.1328125, 0.234375, 0.3203125, 0.046875, 0.0, 0.109375, 0.15625, 0.0]])
    w = np.array([0.16450254882221949, 1.0, 6.501183147925225, 1.974967413627732, 0.5844902424790438,
                  1.999986137104434, 0.07033779315666863, 10.558620608709028])
    got = accurate.grad.cross_entropy(x, y, weight=w)
    assert _same(got, oracle.grad.cross_entropy(x, y, weight=w))
    assert got[0, 4] == 0 and not np.signbit(got[0, 4]) and got[0, 7] == 0 and not np.signbit(got[0, 7])
    assert rows[0] == 0


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_dominated_rows_are_correctly_rounded(monkeypatch, fmt):
    """Rows of one logit with few bits and the others 80 to 130 below it or -inf, few-bit weights,
    targets, smoothing and grad_output, every reduction: the oracle's answer, without the double-double
    path (before the rational-plus-small-term rounding, 4 of these 120 calls were not correctly rounded:
    2 float64, 2 bfloat16)."""
    rows = _count_double_double(monkeypatch)
    rng = np.random.default_rng(11)
    for _ in range(30):
        n, c = int(rng.integers(1, 3)), int(rng.integers(2, 7))
        x = -80 - rng.uniform(0, 50, (n, c))
        x[rng.random((n, c)) < 0.2] = -np.inf
        x[np.arange(n), rng.integers(0, c, n)] = rng.integers(-8, 8, n) / 4
        x = round_to_format(x, fmt)
        kw = dict(reduction=str(rng.choice(["mean", "sum", "none"])),
                  label_smoothing=float(rng.choice([0.0, 0.05, 0.1, 0.25, 0.375])))
        if rng.random() < 0.5:
            kw["weight"] = rng.integers(1, 16, c) / 8
        target = rng.integers(0, c, n) if rng.random() < 0.5 else round_to_format(rng.integers(0, 5, (n, c)) / 8, fmt)
        if kw["reduction"] == "none" and rng.random() < 0.5:
            kw["grad_output"] = round_to_format(rng.integers(-8, 8, n) / 4, fmt)
        got = accurate.grad.cross_entropy(x, target, **kw)
        assert _same(got, oracle.grad.cross_entropy(x, target, **kw)), (x, target, kw)
    assert rows[0] == 0
