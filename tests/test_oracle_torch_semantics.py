"""The losses' arguments and reductions mean what torch.nn.functional means (float64, to round-off).

The Arb cross-check proves the oracle computes its formulas exactly; this
checks the formulas are PyTorch's: class dimension, weights, ignore_index,
label smoothing (index and probability targets), the three reductions,
'batchmean', log_target, pos_weight, and the gradients through autograd.
"""

from __future__ import annotations

import numpy as np
import pytest

import softmax_oracle as so

torch = pytest.importorskip("torch")
F = torch.nn.functional


def close(a, b) -> None:
    a = np.asarray(a, dtype=np.float64)
    b = b.detach().numpy().astype(np.float64)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)


def torch_value_and_grad(fn, x, *args, g_seed=0, **kwargs):
    xt = torch.tensor(x, requires_grad=True)
    loss = fn(xt, *args, **kwargs)
    g = np.random.default_rng(g_seed).normal(size=loss.shape)
    loss.backward(torch.tensor(g))
    return loss, xt.grad, g


RNG = np.random.default_rng(0)
X = RNG.normal(0, 3, (5, 4, 3))
T = RNG.integers(0, 4, (5, 3))
T[0, 0] = -100
W = RNG.uniform(0.5, 2, 4)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_index_targets(reduction, label_smoothing, weighted):
    w = W if weighted else None
    kw = dict(weight=w, reduction=reduction, label_smoothing=label_smoothing)
    loss, grad, g = torch_value_and_grad(F.cross_entropy, X, torch.tensor(T), weight=None if w is None else torch.tensor(w),
                                         reduction=reduction, label_smoothing=label_smoothing)
    close(so.oracle.cross_entropy(X, T, **kw), loss)
    close(so.oracle.grad.cross_entropy(X, T, grad_output=g, **kw), grad)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(reduction, label_smoothing):
    y = RNG.dirichlet(np.ones(4), (5, 3)).transpose(0, 2, 1).copy()
    loss, grad, g = torch_value_and_grad(F.cross_entropy, X, torch.tensor(y), weight=torch.tensor(W), reduction=reduction,
                                         label_smoothing=label_smoothing)
    close(so.oracle.cross_entropy(X, y, weight=W, reduction=reduction, label_smoothing=label_smoothing), loss)
    close(so.oracle.grad.cross_entropy(X, y, weight=W, reduction=reduction, label_smoothing=label_smoothing, grad_output=g), grad)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.filterwarnings("ignore:reduction")
def test_kl_div(reduction, log_target):
    lp = np.log(RNG.dirichlet(np.ones(4), 6))
    q = RNG.dirichlet(np.ones(4), 6)
    t = np.log(q) if log_target else q
    loss, grad, g = torch_value_and_grad(F.kl_div, lp, torch.tensor(t), reduction=reduction, log_target=log_target)
    close(so.oracle.kl_div(lp, t, reduction=reduction, log_target=log_target), loss)
    close(so.oracle.grad.kl_div(lp, t, reduction=reduction, log_target=log_target, grad_output=g), grad)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_binary_losses(reduction):
    z = RNG.normal(0, 3, (4, 3))
    y = RNG.uniform(0, 1, (4, 3))
    pw = RNG.uniform(0.5, 3, 3)
    w = RNG.uniform(0.5, 2, (4, 3))
    loss, grad, g = torch_value_and_grad(F.binary_cross_entropy_with_logits, z, torch.tensor(y), weight=torch.tensor(w),
                                         pos_weight=torch.tensor(pw), reduction=reduction)
    close(so.oracle.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, reduction=reduction), loss)
    close(so.oracle.grad.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, reduction=reduction, grad_output=g), grad)
    p = 1 / (1 + np.exp(-z))
    loss, grad, g = torch_value_and_grad(F.binary_cross_entropy, p, torch.tensor(y), weight=torch.tensor(w), reduction=reduction)
    close(so.oracle.binary_cross_entropy(p, y, weight=w, reduction=reduction), loss)
    close(so.oracle.grad.binary_cross_entropy(p, y, weight=w, reduction=reduction, grad_output=g), grad)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_nll_loss(reduction):
    x = np.log(RNG.dirichlet(np.ones(4), 5))
    t = np.array([0, 3, -100, 1, 1])
    loss, grad, g = torch_value_and_grad(F.nll_loss, x, torch.tensor(t), weight=torch.tensor(W), reduction=reduction)
    close(so.oracle.nll_loss(x, t, weight=W, reduction=reduction), loss)
    close(so.oracle.grad.nll_loss(x, t, weight=W, reduction=reduction, grad_output=g), grad)


def test_one_dimensional_input_has_class_dimension_zero():
    x = RNG.normal(size=4)
    close(so.oracle.cross_entropy(x, np.array(2)), F.cross_entropy(torch.tensor(x), torch.tensor(2)))
    close(so.oracle.nll_loss(x, np.array(1)), F.nll_loss(torch.tensor(x), torch.tensor(1)))
