"""Bad input (one table) and the defined answers at the edges (NaN, infinities, masks, empty)."""

from __future__ import annotations

import math

import gmpy2
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import softmax_oracle as so
from softmax_oracle import InvalidInput
from softmax_oracle.compare import compare

o = so.oracle
X2 = np.zeros((2, 3))
T2 = np.array([0, 1])

BAD = [
    ("integer logits", lambda: o.softmax(np.array([1, 2])), r"x must be a float64, float32, float16 or bfloat16 array; got x=.*int64"),
    ("object array", lambda: o.logsumexp(np.array([1.0, "a"], dtype=object)), r"x must be a float64.*dtype object"),
    ("ragged list", lambda: o.softmax([[1.0], [1.0, 2.0]]), r"x must be an array of floats"),
    ("axis out of range", lambda: o.softmax(X2, axis=2), r"axis=2 is out of range for an array with 2 dimension"),
    ("axis not an int", lambda: o.log_softmax(X2, axis=1.0), r"axis must be an integer; got axis=1.0"),
    ("unknown dtype", lambda: o.softmax(X2, dtype="float8"), r"dtype must be one of float64, float32, float16, bfloat16; got dtype='float8'"),
    ("integer dtype", lambda: o.sigmoid(X2, dtype=np.int32), r"dtype must be one of .*; got dtype=<class 'numpy.int32'>"),
    ("target shape", lambda: o.cross_entropy(X2, np.array([0, 1, 2])), r"target must have shape \(2,\) \(class indices.*got target of shape \(3,\)"),
    ("target out of range", lambda: o.cross_entropy(X2, np.array([0, 3])), r"target must hold class indices in \[0, 3\) or ignore_index=-100; got target value 3"),
    ("negative target", lambda: o.nll_loss(X2, np.array([0, -1])), r"got target value -1"),
    ("float class indices", lambda: o.cross_entropy(X2, np.array([0.0, 1.0])), r"target holds floats of the shape of class indices"),
    ("float target for nll", lambda: o.nll_loss(X2, np.zeros((2, 3))), r"target must hold integer class indices; got target of dtype float64"),
    ("weight shape", lambda: o.cross_entropy(X2, T2, weight=np.ones(2)), r"weight must have shape \(3,\) \(one weight per class\); got weight of shape \(2,\)"),
    ("infinite weight", lambda: o.cross_entropy(X2, T2, weight=np.array([1.0, np.inf, 1.0])), r"weight must be finite; got weight value inf"),
    ("integer weight", lambda: o.nll_loss(X2, T2, weight=np.ones(3, dtype=int)), r"weight must be a float64"),
    ("unknown reduction", lambda: o.cross_entropy(X2, T2, reduction="avg"), r"reduction must be one of 'none', 'mean', 'sum'; got reduction='avg'"),
    ("batchmean outside kl", lambda: o.nll_loss(X2, T2, reduction="batchmean"), r"got reduction='batchmean'"),
    ("label smoothing > 1", lambda: o.cross_entropy(X2, T2, label_smoothing=1.5), r"label_smoothing must be a float in \[0, 1\]; got label_smoothing=1.5"),
    ("label smoothing < 0", lambda: o.cross_entropy(X2, T2, label_smoothing=-0.1), r"label_smoothing=-0.1"),
    ("scalar input", lambda: o.cross_entropy(np.float64(1.0), T2), r"input must have a class dimension"),
    ("bce probability > 1", lambda: o.binary_cross_entropy(np.array([0.5, 1.5]), np.array([1.0, 0.0])), r"input must hold probabilities in \[0, 1\]; got input value 1.5"),
    ("bce probability < 0", lambda: o.binary_cross_entropy(np.array([-0.25]), np.array([1.0])), r"got input value -0.25"),
    ("bce target shape", lambda: o.binary_cross_entropy(np.array([0.5, 0.5]), np.array([1.0])), r"target must have shape \(2,\)"),
    ("pos_weight shape", lambda: o.binary_cross_entropy_with_logits(X2, X2, pos_weight=np.ones(2)), r"pos_weight must broadcast to the input's shape \(2, 3\)"),
    ("kl target shape", lambda: o.kl_div(X2, np.zeros(3), reduction="sum"), r"target must have shape \(2, 3\)"),
    ("kl reduction", lambda: o.kl_div(X2, X2, reduction="max"), r"reduction must be one of 'none', 'mean', 'sum', 'batchmean'; got reduction='max'"),
    ("grad_output shape", lambda: o.grad.softmax(X2, grad_output=np.ones(4)), r"grad_output must have the output's shape \(2, 3\); got grad_output of shape \(4,\)"),
    ("grad_output integer", lambda: o.grad.sigmoid(X2, grad_output=np.ones((2, 3), dtype=int)), r"grad_output must be a float64"),
    ("negative bits", lambda: so.exact.softmax(X2, bits=-5), r"bits must be an integer >= 2; got bits=-5"),
    ("float bits", lambda: so.exact.logsumexp(X2, bits=64.0), r"bits must be an integer >= 2; got bits=64.0"),
    ("ignore_index float", lambda: o.cross_entropy(X2, T2, ignore_index=1.5), r"ignore_index must be an integer; got ignore_index=1.5"),
    ("unknown engine", lambda: o.softmax(X2, engine="fast"), r"engine must be one of 'auto', 'mpfr'; got engine='fast'"),
    ("engine not a string", lambda: o.grad.cross_entropy(X2, T2, engine=None), r"engine must be one of 'auto', 'mpfr'; got engine=None"),
    ("engine on a loss", lambda: o.kl_div(X2, X2, engine="MPFR"), r"got engine='MPFR'"),
    ("engine for compare", lambda: compare("numpy-naive", "softmax", X2, engine="arb"), r"got engine='arb'"),
]


@pytest.mark.parametrize("call, message", [(c, m) for _, c, m in BAD], ids=[i for i, _, _ in BAD])
def test_bad_input_raises_invalid_input(call, message):
    with pytest.raises(InvalidInput, match=message) as info:
        call()
    assert isinstance(info.value, ValueError)


def bits_equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b, dtype=a.dtype)
    return a.shape == b.shape and all(
        (x == y and math.copysign(1, x) == math.copysign(1, y)) or (x != x and y != y)
        for x, y in zip(a.astype(np.float64).reshape(-1), b.astype(np.float64).reshape(-1))
    )


inf, nan = math.inf, math.nan


@pytest.mark.parametrize("row, lse, soft, logsoft", [
    ([0.0, -inf, 0.0], math.log(2), [0.5, 0.0, 0.5], [-math.log(2), -inf, -math.log(2)]),
    ([3.0, -inf], 3.0, [1.0, 0.0], [0.0, -inf]),
    ([-inf, -inf], -inf, [nan, nan], [nan, nan]),
    ([inf, 0.0], inf, [nan, nan], [nan, nan]),
    ([nan, 0.0], nan, [nan, nan], [nan, nan]),
    ([inf, nan], nan, [nan, nan], [nan, nan]),
])
def test_softmax_family_edges(row, lse, soft, logsoft):
    x = np.array(row)
    assert bits_equal(o.logsumexp(x), np.array(lse))
    assert bits_equal(o.softmax(x), np.array(soft))
    assert bits_equal(o.log_softmax(x), np.array(logsoft))


def test_empty_axis_and_empty_batch():
    assert o.logsumexp(np.zeros((2, 0))).tolist() == [-inf, -inf]
    assert o.softmax(np.zeros((2, 0))).shape == (2, 0)
    assert o.softmax(np.zeros((0, 3), dtype=np.float32)).dtype == np.float32
    assert o.sigmoid(np.array([])).shape == (0,)


def test_pointwise_edges():
    x = np.array([inf, -inf, nan, 0.0, -0.0])
    assert bits_equal(o.sigmoid(x), [1.0, 0.0, nan, 0.5, 0.5])
    assert bits_equal(o.softplus(x), [inf, 0.0, nan, math.log(2), math.log(2)])
    assert bits_equal(o.log_sigmoid(x), [-0.0, -inf, nan, -math.log(2), -math.log(2)])
    assert bits_equal(o.grad.sigmoid(x), [0.0, 0.0, nan, 0.25, 0.25])
    assert bits_equal(o.grad.softplus(x), [1.0, 0.0, nan, 0.5, 0.5])
    assert bits_equal(o.grad.log_sigmoid(x), [0.0, 1.0, nan, 0.5, 0.5])


def test_signed_zero_of_underflowing_results():
    # log_softmax of the dominant logit is -(tiny): -0.0 once it underflows
    assert bits_equal(o.log_softmax(np.array([0.0, -800.0])), [-0.0, -800.0])
    assert bits_equal(o.softplus(np.array([-800.0])), [0.0])
    assert bits_equal(o.log_sigmoid(np.array([800.0])), [-0.0])
    # the softmax gradient of an underflowing element keeps the sign of g_i - <g, s>
    assert bits_equal(o.grad.softmax(np.array([0.0, -800.0]), grad_output=np.array([1.0, 0.0])), [0.0, -0.0])


def test_losses_edges():
    # a -inf logit on a non-target class is a mask; on the target it makes the loss +inf
    assert float(o.cross_entropy(np.array([[0.0, -inf]]), np.array([0]))) == 0.0
    assert float(o.cross_entropy(np.array([[0.0, -inf]]), np.array([1]))) == inf
    # zero probability on a masked class contributes 0 (PyTorch: NaN)
    assert float(o.cross_entropy(np.array([[0.0, -inf]]), np.array([[1.0, 0.0]]))) == 0.0
    # +inf in a row
    assert float(o.cross_entropy(np.array([[inf, 0.0]]), np.array([1]))) == inf
    assert math.isnan(float(o.cross_entropy(np.array([[inf, 0.0]]), np.array([0]))))
    # every target ignored: mean over nothing is NaN, sum is 0
    assert math.isnan(float(o.cross_entropy(X2, np.array([-100, -100]))))
    assert float(o.cross_entropy(X2, np.array([-100, -100]), reduction="sum")) == 0.0
    assert o.cross_entropy(X2, np.array([-100, 1]), reduction="none").tolist() == [0.0, math.log(3)]
    # BCE: the mathematics, not torch's clamp at -100
    assert o.binary_cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), reduction="none").tolist() == [inf, inf, 0.0]
    assert o.grad.binary_cross_entropy(np.array([0.0, 0.5]), np.array([1.0, 1.0]), reduction="none").tolist() == [-inf, -2.0]
    # BCE with logits at infinite logits: the limits
    assert o.binary_cross_entropy_with_logits(np.array([inf, inf, -inf, -inf]), np.array([1.0, 0.5, 0.0, 1.0]), reduction="none").tolist() == [0.0, inf, 0.0, inf]
    # kl_div: zero target contributes 0 even at -inf input; negative target is NaN
    assert o.kl_div(np.array([-inf, -1.0]), np.array([0.0, 0.5]), reduction="none")[0] == 0.0
    assert math.isnan(o.kl_div(np.array([-1.0]), np.array([-0.5]), reduction="none")[0])
    assert float(o.kl_div(np.array([-inf]), np.array([-inf]), reduction="sum", log_target=True)) == 0.0


def test_midpoint_plus_vanishing_term():
    """2**53 + 1 + log1p(exp(-(2**53 + 1))) rounds up to 2**53 + 2; the float32 analogue too."""
    got = o.cross_entropy(np.array([[2.0**53, -1.0]]), np.array([1]), reduction="none")
    assert got[0] == 2.0**53 + 2
    got32 = o.cross_entropy(np.array([[2.0**24, -1.0]], dtype=np.float32), np.array([1]), reduction="none")
    assert got32.dtype == np.float32 and float(got32[0]) == 2.0**24 + 2
    # the same through log_softmax and reductions
    assert o.log_softmax(np.array([2.0**53, -1.0]))[1] == -(2.0**53 + 2)
    assert float(o.cross_entropy(np.array([[2.0**53, -1.0]]), np.array([1]), reduction="sum")) == 2.0**53 + 2
    # a float64 input whose max is a float16 midpoint, output float16: logsumexp rounds up
    x = np.array([1 + 2.0**-11, -1e10])
    assert float(o.logsumexp(x, dtype=np.float16)) == 1 + 2.0**-10
    # softplus(x) = x + log1p(exp(-x)) with x = 40 + 2**-48 (a float64 value that is a float32 midpoint)
    assert float(o.softplus(np.array([40 + 2.0**-19]), dtype=np.float32)[0]) == 40 + 2.0**-18


def test_dtype_argument_rounds_once_from_the_exact_value():
    x = np.array([0.1, 0.2, 0.7])
    for name in ("float32", "float16", "bfloat16"):
        got = o.softmax(x, dtype=name)
        assert got.dtype.name == name
        fmt = so.formats.format_of(name)
        ctx = gmpy2.context(precision=fmt.precision, emax=fmt.emax + 1, emin=fmt.emin - fmt.precision + 2,
                            subnormalize=True, round=gmpy2.RoundToNearest)
        for g, e in zip(got, so.exact.softmax(x, bits=200)):  # MPFR rounds the 200-bit value: one rounding
            with ctx:                                           # of its own, far from any tie here
                assert float(g) == float(gmpy2.mpfr(gmpy2.mpq(*e.man_exp[:1], 1) * gmpy2.mpq(2) ** e.man_exp[1]))


def test_precision_exhausted_is_raised_not_guessed(monkeypatch):
    """A cap too low to decide a hard case raises, naming the element and the input."""
    from softmax_oracle.oracle import _evaluate

    monkeypatch.setattr(_evaluate, "MAX_BITS", 60)
    with pytest.raises(so.PrecisionExhausted, match=r"softmax: output element \(0,\) could not be correctly rounded with 60 bits.*0x1.0000000000000p\+0"):
        o.softmax(np.array([1.0, 1.0 + 2**-40]), engine="mpfr")  # the fast phase decides it at ~100 bits


def test_all_public_names():
    assert set(so.oracle.__all__) == {"logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus",
                                      "cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy",
                                      "binary_cross_entropy_with_logits", "grad",
                                      "decision_counts", "DecisionCounts", "ENGINES"}
    for name in so.oracle.__all__:
        if name not in ("grad", "decision_counts", "DecisionCounts", "ENGINES"):
            assert callable(getattr(so.oracle.grad, name)) and callable(getattr(so.exact, name))
            assert callable(getattr(so.exact.grad, name))


# -- regressions, named after what they caught ------------------------------------------------------


def test_negation_keeps_working_precision():
    """Interval negation used Python's unary minus, which rounds to gmpy2's global 53 bits."""
    import mpmath

    e = so.exact.softmax(np.array([0.0, 1e-6]), bits=200)
    with mpmath.workprec(300):
        ref = 1 / (1 + mpmath.exp(-mpmath.mpf(1e-6)))
        assert abs(e[1] - ref) / ref < mpmath.mpf(2) ** -199


def test_scaling_an_interval_by_a_rational_encloses_the_product():
    """``Precision.scale`` used ``ctx.mul(a, c)``: gmpy2 rounds an mpq operand to the context first, in the
    context's direction, so a negative bound times 7/3 rounded down came out above the exact product
    (found by the fuzz screen's enclosure test: a binary_cross_entropy term ``-w y log p``)."""
    from gmpy2 import mpfr, mpq

    from softmax_oracle.oracle._interval import precision

    p = precision(10)
    x = mpfr(-1.2345, 53)
    lo, hi = p.scale((x, x), mpq(7, 3))
    assert mpq(lo) <= mpq(x) * mpq(7, 3) <= mpq(hi)
    assert hi - lo <= 2 * 2.0**-8  # tight: within two roundings at 10 bits (|product| < 4)


@settings(max_examples=200, deadline=None)
@given(bits=st.sampled_from([10, 40, 43, 56, 85]),
       a=st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2),
       num=st.integers(-10**30, 10**30), den=st.integers(1, 10**30))
def test_scale_encloses_every_sign_and_rational(bits, a, num, den):
    from gmpy2 import mpfr, mpq

    from softmax_oracle.oracle._interval import precision

    low, high = sorted(a)
    c = mpq(num, den)
    lo, hi = precision(bits).scale((mpfr(low, 53), mpfr(high, 53)), c)
    products = [mpq(low) * c, mpq(high) * c]
    assert mpq(lo) <= min(products) and max(products) <= mpq(hi)


def test_exact_zero_is_positive_zero_in_mpmath():
    """mpmath's fnzero is its (unsupported) negative zero; exact zeros must be fzero."""
    z = so.exact.grad.softmax(np.array([1.0, 2.0]))
    assert all(v == 0 and repr(v) == "mpf('0.0')" for v in z)


def test_underflow_bounds_do_not_build_huge_integers():
    """An MPFR underflow bound 2**-1073741824 used to make round_dyadic form 2**1e9."""
    x = np.array([-1.0, -5.9e16, 1.9e16, 2.4e16, 1e-5], dtype=np.float32)
    assert o.softmax(x).tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_softmax_gradient_sign_below_mpfr_range():
    """s_0 * s_2 ~ exp(-7.4e8) underflows MPFR; the sign comes from the factor g_0 - <g, s>."""
    got = o.grad.softmax(np.array([0.0, 3.7213056e8, 0.0], dtype=np.float32), grad_output=np.array([0.0, 0.0, 1.0], dtype=np.float32))
    assert bits_equal(got, [-0.0, -0.0, 0.0])
    got = o.grad.softmax(np.array([0.0, 7.46586e8]).astype(ml_dtypes.bfloat16),
                         grad_output=np.array([0.0, 2.0**-133]).astype(ml_dtypes.bfloat16))
    assert bits_equal(got.astype(np.float64), [-0.0, 0.0])


def test_exact_point_values_fold_into_the_exact_part():
    """sigmoid(0) - 1/2 = 0 under a mean over 3, and a kl_div whose exact mean is a float16 midpoint."""
    g = o.grad.binary_cross_entropy_with_logits(np.zeros(3, dtype=np.float32), np.array([0, 0, 0.5], dtype=np.float32))
    assert bits_equal(g, [np.float32(1 / 6), np.float32(1 / 6), 0.0])
    x = np.array([0.0, 0.0, -149.0, -2970.0, -9456.0], dtype=np.float16)  # sum 12575 / 5 = 2515, a tie
    assert float(o.kl_div(x, np.zeros(5, dtype=np.float16), reduction="batchmean", log_target=True)) == 2516.0


def test_softmax_gradient_sign_from_coefficients_at_mpfr_underflow():
    """exp(-7.44e8) is at MPFR's emin: the enclosure of rho touches 0, its coefficients give its sign."""
    got = o.grad.softmax(np.array([0.0, 7.44261118e8, 0.0]), grad_output=np.array([0.0, 0.0, 1.0]))
    assert bits_equal(got, [-0.0, -0.0, 0.0])
    got = o.grad.softmax(np.array([0.0, -1.00026e30]).astype(ml_dtypes.bfloat16), grad_output=np.array([-1.0, 0.0]).astype(ml_dtypes.bfloat16))
    assert bits_equal(got.astype(np.float64), [-0.0, 0.0])


def test_softmax_gradient_exact_cancellation_between_tied_tail_logits():
    """rho = (exp(-1) - exp(-1)) / S is exactly 0: tail coefficients are grouped by equal logit."""
    got = o.grad.softmax(np.array([0.0, 1.0, 0.0, 0.0]), grad_output=np.array([0.0, 0.0, 1.0, -1.0]))
    e = so.exact.softmax(np.array([0.0, 1.0, 0.0, 0.0]), bits=80)
    assert got[0] == 0.0 and got[1] == 0.0
    assert got[2] == np.float64(float(e[2])) and got[3] == -got[2]


def test_softmax_gradient_sign_of_mixed_tail_at_mpfr_underflow():
    """rho = (e**-7.44e8 - e**(1 - 7.44e8)) / S: mixed signs, both underflow MPFR; scaled by e**-d_top they don't."""
    got = o.grad.softmax(np.array([0.0, 7.44261119e8, 0.0, 1.0]), grad_output=np.array([0.0, 0.0, 1.0, -1.0]))
    assert bits_equal(got, [0.0, 0.0, 0.0, -0.0])


def test_softmax_gradient_at_tied_maxima_with_vanishing_tail():
    """gamma/k plus a remainder ~exp(-1e30) of mixed-sign parts: its sign comes from the scaled tail."""
    got = o.grad.softmax(np.array([0.0, 0.0, 0.0, -1e30, -1e30, 0.0]), grad_output=np.array([0.0, 0.0, 4.0, 0.0, 0.0, 1.5441037812966174]))
    from fractions import Fraction

    d = (Fraction(4) - (Fraction(4) + Fraction(1.5441037812966174)) / 4) / 4  # gamma / k, exact
    lower = float(d) if Fraction(float(d)) <= d else float(np.nextafter(float(d), 0.0))
    upper = float(np.nextafter(lower, 1.0))
    mid = (Fraction(lower) + Fraction(upper)) / 2
    assert d == mid  # the exact part is a float64 midpoint: only the remainder's sign decides
    assert float(got[2]) == lower  # the remainder is negative (2 gbar - g_2 < 0)
    assert bits_equal(got[3:5], [-0.0, -0.0])


def test_softmax_gradient_at_the_max_with_zero_gamma_and_vanishing_coefficient_group():
    """gamma = 0 at the maximum: the remainder's sign is P's, scaled by its own top exponent."""
    got = o.grad.softmax(np.array([0.0, 1.0, -7.44261118e8]), grad_output=np.array([0.0, 0.0, 1.0]))
    assert bits_equal(got, [-0.0, -0.0, 0.0])


def test_exact_values_below_mpfr_range_are_rounded_from_their_logarithm():
    """exp(-2**30) is below MPFR's exponent range (2**-1073741823): exact rounds 2**n exp(r) instead."""
    import mpmath

    assert bits_equal(o.softmax(np.array([2.0**30, 0.0])), [1.0, 0.0])
    with mpmath.workprec(400):
        cases = [
            (so.exact.softmax(np.array([2.0**30, 0.0]), bits=100)[1], mpmath.exp(-mpmath.mpf(2) ** 30) / (1 + mpmath.exp(-mpmath.mpf(2) ** 30))),
            (so.exact.sigmoid(np.array([-1e10]), bits=100)[0], mpmath.exp(-mpmath.mpf(1e10)) / (1 + mpmath.exp(-mpmath.mpf(1e10)))),
            (so.exact.softplus(np.array([-3e9]), bits=100)[0], mpmath.log1p(mpmath.exp(-mpmath.mpf(3e9)))),
            (so.exact.log_softmax(np.array([0.0, -1e10]), bits=100)[0], -mpmath.log1p(mpmath.exp(-mpmath.mpf(1e10)))),
            (so.exact.grad.sigmoid(np.array([2.0**99]), bits=100)[0], mpmath.exp(-mpmath.mpf(2) ** 99)),
        ]
        for got, ref in cases:
            assert abs(got - ref) <= abs(ref) * mpmath.mpf(2) ** -100, (got, ref)


def test_exact_beyond_mpfr_range_without_a_logarithm_raises_at_once_with_the_reason():
    """grad.softmax at the maximum of [0, 2**40, 0]: a remainder of two vanishing parts has no log form."""
    with pytest.raises(so.PrecisionExhausted, match=r"below MPFR's exponent range .* element 1") as info:
        so.exact.grad.softmax(np.array([0.0, 2.0**40, 0.0]), grad_output=np.array([1.0, 0.0, 0.0]))
    assert info.value.max_bits < 1000  # raised at the first precision, not after doubling to the cap
    assert bits_equal(o.grad.softmax(np.array([0.0, 2.0**40, 0.0]), grad_output=np.array([1.0, 0.0, 0.0])), [0.0, -0.0, -0.0])

def test_exact_from_logarithm_of_a_huge_exponent():
    """log_sigmoid(-1.09e42) = x - log1p(exp(x)): the log is ~1e42, r = w - n log 2 needs ~250 bits."""
    import mpmath

    got = so.exact.sigmoid(np.array([-1.09007305e42]), bits=60)[0]
    with mpmath.workprec(400):
        w = mpmath.mpf(-1.09007305e42)
        assert abs(mpmath.log(got) - w) < mpmath.mpf(2) ** -55 * abs(w) * mpmath.mpf(2) ** -130


def test_softmax_gradient_at_a_maximum_with_second_order_remainder():
    """Tied float32 maxima, tail at e**-28672 and e**-57344 = (e**-28672)**2: the first-order terms cancel
    exactly (gamma + c_3 = 0) and the sign comes from the grouped second-order exponential polynomial
    (checked with mpmath at 100000 bits: both remainders are positive)."""
    h = float.fromhex
    x = np.array([h("0x1.0000040000000p+38"), h("0x1.0000000000000p+38"), h("0x1.0000040000000p+38"),
                  h("0x1.0000020000000p+38")], dtype=np.float32)
    g = np.array([4.0, 0.0, 1.523962140083313, 1.523962140083313], dtype=np.float32)
    got = o.grad.softmax(x, grad_output=g)
    assert bits_equal(got, np.array([0.6190095, -0.0, -0.61900944, -0.0], dtype=np.float32))


def test_softmax_gradient_at_a_maximum_with_zero_gamma_and_an_overflowing_scaled_tail():
    """gamma = 0 at the maximum: the tail term gamma T (inf * 0 once scaled) must not enter the sign."""
    h = float.fromhex
    x = np.array([0.0, h("0x1.62e42ff800000p+29"), h("0x1.62e4300000000p+29"), 0.0, 1.0])
    assert bits_equal(o.grad.softmax(x, grad_output=np.array([0.0, 0.0, 0.0, 1.0, -1.0])), [0.0, 0.0, 0.0, 0.0, -0.0])


def test_infinite_kl_terms_do_not_go_through_an_underflowing_exp():
    """exp(-800) (t - x) at x = -inf is +inf, not 0 * inf = NaN; -f y at y = inf keeps f's sign."""
    got = o.kl_div(np.array([-np.inf, np.inf]), np.array([-800.0, -800.0]), reduction="none", log_target=True)
    assert got.tolist() == [np.inf, -np.inf]
    g = o.grad.kl_div(np.array([0.0]), np.array([np.inf]), reduction="sum", grad_output=np.array(-1e-300))
    assert g.tolist() == [np.inf]
