"""The ``jax`` candidate (skipped where JAX is not installed; CI installs it in its second venv)."""

from __future__ import annotations

import threading

import ml_dtypes
import numpy as np
import pytest

from softmax_oracle.candidates import resolve
from softmax_oracle.compare import compare

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

FUNCTIONS = ("logsumexp", "softmax", "log_softmax", "sigmoid", "log_sigmoid", "softplus")
X = np.array([[-3.0, 0.5, 2.0, 7.25], [1.0, 1.0, -1.0, 0.0]])


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("grad", [False, True], ids=["value", "grad"])
def test_jax_float64_raised_without_x64(function, grad):
    """Caught: with JAX 0.10 every float64 cell of the jax candidate said ``raised``."""
    c = compare("jax", function, X, grad=grad)
    assert c.status == "ok", c.problem
    assert c.got.dtype == np.float64
    # computed in float64: float32 arithmetic would be ~2**29 ULPs off; JAX's own error is below 2**10 here
    assert c.max_ulp_error < 2**10 and not c.mismatches


def test_jax_x64_is_enabled_for_the_call_only():
    before = jax.config.read("jax_enable_x64")
    resolve("jax", "softmax")(X)
    assert jax.config.read("jax_enable_x64") == before
    assert jnp.asarray(X).dtype == (jnp.float64 if before else jnp.float32)


def test_jax_x64_context_does_not_leak_into_other_threads():
    """The context is thread-local: a thread computing in float32 meanwhile is not switched to x64."""
    seen = []
    inside = threading.Event()
    release = threading.Event()
    fn = resolve("jax", "softmax").call

    def other() -> None:
        inside.wait(10)
        seen.append(jnp.asarray(X).dtype)
        release.set()

    def slow_softmax(x, axis=-1):  # runs inside the adapter's x64 context
        inside.set()
        release.wait(10)
        return jax.nn.softmax(x, axis=axis)

    thread = threading.Thread(target=other)
    thread.start()
    import softmax_oracle.candidates._jax as adapter

    value, _ = adapter._adapters(slow_softmax)
    assert value(X).dtype == np.float64
    thread.join(10)
    assert seen == [jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32]
    assert fn(X).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float16, ml_dtypes.bfloat16], ids=["float32", "float16", "bfloat16"])
def test_jax_narrow_formats_keep_their_dtype(dtype):
    x = X.astype(dtype)
    for function in FUNCTIONS:
        c = compare("jax", function, x)
        assert c.status == "ok", (function, c.problem)
        assert c.got.dtype == np.dtype(dtype)


def test_jax_adapter_gradient_is_softmax_minus_onehot_contracted():
    g = resolve("jax", "softmax", grad=True)(np.zeros(2), grad_output=np.array([1.0, 0.0]))
    assert g.dtype == np.float64 and g.tolist() == [0.25, -0.25]


def test_xla_cpu_flushes_subnormals_a_finding_measured_not_corrected():
    """sigmoid(-90) = 8.19e-40 is a float32 subnormal: XLA on CPU returns 0, the comparison shows it."""
    x = np.array([-90.0], dtype=np.float32)
    c = compare("jax", "sigmoid", x)
    assert c.status == "ok"
    assert c.rounded[0] == np.float32(8.194008692231508e-40)
    direct = np.asarray(jax.nn.sigmoid(jnp.asarray(x)))
    assert np.array_equal(c.got, direct)  # the adapter returns what JAX computes
    if direct[0] == 0:  # flushed: about 584,744 ULPs of the subnormal range lost
        assert c.max_ulp_error > 5e5
