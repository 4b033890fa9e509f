"""JAX adapters (CPU) for the softmax family: ``jax.nn`` and ``jax.scipy.special``.

Gradients are ``jax.vjp`` contracted with ``grad_output`` (ones by
default).  JAX computes float64 only with x64 enabled (by default
``jnp.asarray`` of a float64 array silently makes float32).  The adapter
enables it for the duration of a float64 call only, through a context
manager that leaves the user's global configuration alone:
``jax.enable_x64(True)`` (JAX >= 0.7, a thread-local config state) or
``jax.experimental.enable_x64()`` (older JAX).  A JAX with neither gets a
clear error for float64 instead of a silent float32 answer.

XLA on CPU flushes subnormal results (and inputs) to zero: every float
format's subnormal range is lost.  That is a finding about JAX, measured as
it is, not corrected here.  JAX has no torch-style losses; those are not
registered.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, ContextManager

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np

from . import Implementation

__all__ = ["load"]


def _x64() -> ContextManager[Any]:
    """A context manager enabling x64 for this thread only, leaving the global setting as it was."""
    state = getattr(jax, "enable_x64", None)  # a config State: calling it with a value gives a context
    if state is not None and hasattr(state, "value"):
        return state(True)
    try:
        from jax.experimental import enable_x64
    except ImportError:
        raise TypeError(
            "float64 inputs need JAX's x64 mode: set JAX_ENABLE_X64=1 (this JAX has no enable_x64 context)"
        ) from None
    return enable_x64()


def _precision(x: np.ndarray) -> ContextManager[Any]:
    if x.dtype != np.float64 or jax.config.read("jax_enable_x64"):
        return contextlib.nullcontext()
    return _x64()


def _adapters(fn: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def value(x: Any, *args: Any, **kwargs: Any) -> Any:
        arr = np.asarray(x)
        with _precision(arr):
            return np.asarray(fn(jnp.asarray(arr), *args, **kwargs))

    def grad(x: Any, *args: Any, grad_output: Any = None, **kwargs: Any) -> Any:
        arr = np.asarray(x)
        with _precision(arr):
            out, vjp = jax.vjp(lambda v: fn(v, *args, **kwargs), jnp.asarray(arr))
            go = jnp.ones_like(out) if grad_output is None else jnp.broadcast_to(
                jnp.asarray(np.asarray(grad_output)).astype(out.dtype), out.shape)
            (g,) = vjp(go)
            return np.asarray(g)

    return value, grad


def _axis(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(x: Any, axis: int = -1) -> Any:
        return fn(x, axis=axis)

    return call


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "logsumexp": _axis(jss.logsumexp),
    "softmax": _axis(jax.nn.softmax),
    "log_softmax": _axis(jax.nn.log_softmax),
    "sigmoid": jax.nn.sigmoid,
    "log_sigmoid": jax.nn.log_sigmoid,
    "softplus": jax.nn.softplus,
}


def load() -> dict[tuple[str, bool], Implementation]:
    table = {}
    for name, fn in _FUNCTIONS.items():
        value, grad = _adapters(fn)
        table[(name, False)] = Implementation("jax", name, False, value)
        table[(name, True)] = Implementation("jax", name, True, grad)
    return table
