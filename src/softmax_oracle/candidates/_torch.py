"""PyTorch (CPU) adapters with the oracle's signatures.

Arrays go to tensors of the same dtype (bfloat16 through its 16 bits:
NumPy has no bfloat16 of its own and ``torch.from_numpy`` does not know
``ml_dtypes``), the call runs with ``torch.set_num_threads(1)`` (the thread
count is restored after, so results do not depend on the machine's core
count and the caller's setting is untouched), and the result comes back as a
NumPy array of the tensor's dtype.  Gradients go through autograd:
``out.backward(grad_output)`` with ``grad_output`` ones by default.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable, Iterator

import ml_dtypes
import numpy as np
import torch
import torch.nn.functional as F

from . import Implementation

__all__ = ["load", "to_tensor", "to_numpy"]

BCE_NOTE = (
    "torch clamps each log of binary_cross_entropy at -100, so a prediction of exactly 0 or 1 on the "
    "wrong side costs 100 per element; the oracle returns the mathematics (+inf)"
)
SOFTPLUS_NOTE = (
    "torch's softplus returns x itself for x > 20 (threshold=20), about 2e-9 below the true value: "
    "hundreds of thousands of float64 ULPs near 20"
)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run with one intra-op thread, restoring the caller's count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def to_tensor(x: Any) -> Any:
    """A CPU tensor of ``x`` (same dtype; bfloat16 bit for bit); ``None`` stays ``None``."""
    if x is None or isinstance(x, torch.Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == ml_dtypes.bfloat16:
        return torch.from_numpy(np.array(arr, order="C").view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(np.array(arr, order="C"))


def to_numpy(t: Any) -> Any:
    """A NumPy array of a tensor (bfloat16 as ``ml_dtypes.bfloat16``); anything else unchanged."""
    if not isinstance(t, torch.Tensor):
        return t
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().copy().view(ml_dtypes.bfloat16)
    return t.numpy().copy()


def _value_and_grad(fn: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The adapter of ``fn(input, *rest, **kw)`` and of its gradient with respect to ``input``."""

    def value(x: Any, *rest: Any, **kwargs: Any) -> Any:
        with one_thread(), torch.no_grad():
            args = [to_tensor(a) for a in rest]
            kw = {k: to_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
            return to_numpy(fn(to_tensor(x), *args, **kw))

    def grad(x: Any, *rest: Any, grad_output: Any = None, **kwargs: Any) -> Any:
        with one_thread():
            leaf = to_tensor(x).clone().requires_grad_(True)
            args = [to_tensor(a) for a in rest]
            kw = {k: to_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
            out = fn(leaf, *args, **kw)
            go = torch.ones_like(out) if grad_output is None else to_tensor(grad_output).to(out.dtype)
            out.backward(go.expand_as(out))
            return to_numpy(leaf.grad)

    return value, grad


def _logsumexp(x: Any, axis: int = -1) -> Any:
    return torch.logsumexp(x, dim=axis)


def _softmax(x: Any, axis: int = -1) -> Any:
    return F.softmax(x, dim=axis)


def _log_softmax(x: Any, axis: int = -1) -> Any:
    return F.log_softmax(x, dim=axis)


def _cross_entropy(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100,
                   reduction: str = "mean", label_smoothing: float = 0.0) -> Any:
    return F.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def _nll_loss(input: Any, target: Any, *, weight: Any = None, ignore_index: int = -100,
              reduction: str = "mean") -> Any:
    return F.nll_loss(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction)


def _kl_div(input: Any, target: Any, *, reduction: str = "mean", log_target: bool = False) -> Any:
    with warnings.catch_warnings():
        # torch warns that 'mean' is not 'batchmean' on every call: measuring its 'mean' is the point
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides", category=UserWarning)
        return F.kl_div(input, target, reduction=reduction, log_target=log_target)


def _bce(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    return F.binary_cross_entropy(input, target, weight=weight, reduction=reduction)


def _bce_logits(input: Any, target: Any, *, weight: Any = None, reduction: str = "mean",
                pos_weight: Any = None) -> Any:
    return F.binary_cross_entropy_with_logits(input, target, weight=weight, reduction=reduction,
                                              pos_weight=pos_weight)


_FUNCTIONS: dict[str, tuple[Callable[..., Any], str]] = {
    "logsumexp": (_logsumexp, ""),
    "softmax": (_softmax, ""),
    "log_softmax": (_log_softmax, ""),
    "sigmoid": (torch.sigmoid, ""),
    "log_sigmoid": (F.logsigmoid, ""),
    "softplus": (F.softplus, SOFTPLUS_NOTE),
    "cross_entropy": (_cross_entropy, ""),
    "nll_loss": (_nll_loss, ""),
    "kl_div": (_kl_div, ""),
    "binary_cross_entropy": (_bce, BCE_NOTE),
    "binary_cross_entropy_with_logits": (_bce_logits, ""),
}


def load() -> dict[tuple[str, bool], Implementation]:
    table = {}
    for name, (fn, note) in _FUNCTIONS.items():
        value, grad = _value_and_grad(fn)
        table[(name, False)] = Implementation("torch", name, False, value, note)
        table[(name, True)] = Implementation("torch", name, True, grad, note)
    return table
