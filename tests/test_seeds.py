"""Every worked number in the seeds (shared/seeds/), against the oracle, to the digits printed.

Where a seed prints a value computed in float32 by PyTorch or at 53 bits by
``bigfloat``, the test pins both: the seed's digits where they are right, and
the exact value where the seed's own arithmetic lost digits.
"""

from __future__ import annotations

import mpmath
import numpy as np
import softmax_oracle as so


def digits(value, ndigits: int):
    return np.round(np.asarray(value, dtype=np.float64), ndigits)


def test_seed000_softmax_of_2_1_01_float32():
    s = so.oracle.softmax(np.array([2, 1, 0.1], dtype=np.float32), axis=0)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(digits(s, 4), [0.6590, 0.2424, 0.0986])
    np.testing.assert_array_equal(s, np.array([0.6590011, 0.24243297, 0.09856589], dtype=np.float32))


def test_seed000_nll_of_two_models():
    y = np.array([2, 1, 0])
    one = np.array([[0.3, 0.3, 0.4], [0.3, 0.4, 0.3], [0.1, 0.2, 0.7]], dtype=np.float32)
    two = np.array([[0.1, 0.2, 0.7], [0.1, 0.7, 0.2], [0.4, 0.3, 0.3]], dtype=np.float32)
    # the seed takes torch.log of the float32 probabilities, then NLLLoss
    l1 = so.oracle.nll_loss(np.log(one), y)
    l2 = so.oracle.nll_loss(np.log(two), y)
    assert digits(l1, 4) == 1.3784 and digits(l2, 4) == 0.5432


X = np.array([[5, 4, 2], [4, 2, 8], [4, 4, 1]], dtype=np.float32)
Y = np.array([0, 2, 1])


def test_seed000_cross_entropy_sum():
    loss = so.oracle.cross_entropy(X, Y, reduction="sum")
    assert loss.dtype == np.float32 and loss.shape == ()
    assert digits(loss, 4) == 1.0873
    # PyTorch printed 1.0873291492462158; the correctly rounded float32 is 2 ulp above it
    exact = so.exact.cross_entropy(X, Y, reduction="sum", bits=80)
    assert mpmath.almosteq(exact, mpmath.mpf("1.08732928"), rel_eps=1e-8)
    assert float(loss) == float(np.float32(float(exact)))  # exact is far from a float32 tie here


def test_seed000_softmax_and_neg_log_softmax_tables():
    np.testing.assert_array_equal(
        digits(so.oracle.softmax(X, axis=1), 4),
        [[0.7054, 0.2595, 0.0351], [0.0179, 0.0024, 0.9796], [0.4879, 0.4879, 0.0243]],
    )
    np.testing.assert_array_equal(
        digits(-so.oracle.log_softmax(X, axis=1), 4),
        [[0.3490, 1.3490, 3.3490], [4.0206, 6.0206, 0.0206], [0.7177, 0.7177, 3.7177]],
    )


def test_seed000_gradient_is_softmax_minus_onehot():
    g = so.oracle.grad.cross_entropy(X, Y, reduction="sum")
    np.testing.assert_array_equal(
        digits(g, 4), [[-0.2946, 0.2595, 0.0351], [0.0179, 0.0024, -0.0204], [0.4879, -0.5121, 0.0243]]
    )
    p_minus_1 = so.oracle.softmax(X, axis=1).astype(np.float64) - 1
    np.testing.assert_array_equal(
        digits(p_minus_1, 4), [[-0.2946, -0.7405, -0.9649], [-0.9821, -0.9976, -0.0204], [-0.5121, -0.5121, -0.9757]]
    )
    # softmax - onehot, exactly: each entry of the gradient is the correctly rounded s - [i = t]
    e = so.exact.softmax(X, axis=1, bits=120)
    onehot = np.eye(3)[Y]
    for idx in np.ndindex(3, 3):
        assert float(g[idx]) == float(np.float32(float(e[idx] - onehot[idx])))


def test_seed001_cross_entropy_equals_log_softmax_plus_nll():
    target = np.array([[-1.0606, 1.5613, 1.2007, -0.2481], [-1.9652, -0.4367, -0.0645, -0.5104],
                       [0.1011, -0.5904, 0.0243, 0.1002]])
    label = np.array([0, 2, 1])
    ce = so.exact.cross_entropy(target, label, bits=120)
    with mpmath.workprec(300):
        via_nll = -sum(so.exact.log_softmax(target, bits=200)[n, t] for n, t in enumerate(label)) / 3
        assert abs(ce - via_nll) < mpmath.mpf(2) ** -110
    # the seed's numpy formula: mean(sum(-log(softmax) * onehot))
    naive = np.mean(-np.log(np.exp(target) / np.exp(target).sum(1, keepdims=True))[np.arange(3), label])
    assert abs(float(so.oracle.cross_entropy(target, label)) - naive) < 1e-15


def test_seed002_softmax_1_to_5():
    np.testing.assert_array_equal(
        digits(so.oracle.softmax(np.arange(1.0, 6.0)), 8),
        [0.01165623, 0.03168492, 0.08612854, 0.23412166, 0.63640865],
    )


def test_seed002_overflow_example_and_bigfloat():
    x = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    np.testing.assert_array_equal(so.oracle.softmax(x), [0.0, 0.0, 0.0, 0.0, 1.0])
    with np.errstate(over="ignore", invalid="ignore"):  # the seed's naive formula, for contrast
        assert np.isnan(np.exp(x) / np.sum(np.exp(x))).all()
    e = so.exact.softmax(x, bits=200)
    seed = ["6.6385371046556741e-1738", "1.3078390189212505e-1303", "2.5765358729611501e-869",
            "5.0759588975494576e-435", "1.0000000000000000"]
    for got, printed in zip(e, seed):  # bigfloat at 53 bits: right to ~1e-15
        assert mpmath.almosteq(got, mpmath.mpf(printed), rel_eps=2e-15)
    assert mpmath.nstr(e[0], 20) == "6.6385371046556734994e-1738"  # 6.63853710465567349938...
    assert e[4] == 1  # 1 - 5.1e-435, correctly rounded to 200 bits


def test_seed003_printed_inputs_reproduce_printed_outputs():
    x = np.array([[0.1650, 1.7421, 0.1270], [-0.1254, -0.7676, -0.1373], [1.3294, -0.0838, -1.2392]], dtype=np.float32)
    y = np.array([1, 2, 0])
    # the seed prints 4-digit inputs; outputs agree to the 4th digit up to that input rounding
    np.testing.assert_allclose(so.oracle.softmax(x, axis=1),
                               [[0.1470, 0.7115, 0.1415], [0.3977, 0.2093, 0.3930], [0.7576, 0.1844, 0.0581]], atol=1.5e-4)
    np.testing.assert_allclose(so.oracle.log_softmax(x, axis=1),
                               [[-1.9174, -0.3404, -1.9554], [-0.9220, -1.5642, -0.9339], [-0.2777, -1.6908, -2.8462]], atol=1.5e-4)
    assert abs(float(so.oracle.cross_entropy(x, y)) - 0.5173) < 1.5e-4


def test_seed004_ce_kl_of_10_0_minus10():
    pred = np.array([[10.0, 0.0, -10.0], [8.0, 8.0, 8.0]], dtype=np.float32)
    true = np.array([0, 2])
    ce = so.oracle.cross_entropy(pred, true, reduction="none")
    np.testing.assert_array_equal(ce, np.array([4.5400961e-05, 1.0986123], dtype=np.float32))
    # PyTorch printed 4.5418e-05: its float32 log-softmax is ~4600 ULP off; the exact value is 4.5401e-05
    assert f"{float(ce[0]):.4e}" == "4.5401e-05" and f"{float(ce[1]):.4e}" == "1.0986e+00"
    nll = so.oracle.nll_loss(so.oracle.log_softmax(pred, dtype=np.float64), true, reduction="none", dtype=np.float32)
    np.testing.assert_array_equal(nll, ce)
    onehot = np.eye(3, dtype=np.float32)[true]
    kl = so.oracle.kl_div(so.oracle.log_softmax(pred, dtype=np.float64), onehot.astype(np.float64), reduction="none",
                          dtype=np.float32)
    np.testing.assert_array_equal(kl, [[ce[0], 0, 0], [0, 0, ce[1]]])
    # KL(a, a) = 0: exactly, for log-probabilities given as the target too (torch computed
    # log(a) twice the same way; with a float log(a) the exact KL is only ~1e-17)
    log_a = so.oracle.log_softmax(np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]]))
    np.testing.assert_array_equal(so.oracle.kl_div(log_a, log_a, reduction="none", log_target=True), np.zeros((2, 3)))
    a = so.oracle.softmax(np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]]))
    assert np.abs(so.oracle.kl_div(np.log(a), a, reduction="none")).max() < 1e-16
