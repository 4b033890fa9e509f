"""The :mod:`softmax_oracle.numpy_impl` tiers as candidates.

A tier module ``softmax_oracle.numpy_impl.<tier>`` exposes the oracle's
function names; gradients, when the tier has them, live in its ``grad``
attribute (a submodule or a namespace) under the same names.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import FUNCTIONS, Implementation

__all__ = ["load_tier"]


def _grad_namespace(module: Any) -> Any:
    grad = getattr(module, "grad", None)
    if grad is None and hasattr(module, "__path__"):  # a package: try its grad submodule
        try:
            grad = importlib.import_module(f"{module.__name__}.grad")
        except ImportError:
            grad = None
    return grad


def load_tier(tier: str) -> dict[tuple[str, bool], Implementation]:
    """The table of tier ``tier``; ``ImportError`` when the module does not exist (yet)."""
    module = importlib.import_module(f"softmax_oracle.numpy_impl.{tier}")
    name = f"numpy-{tier}"
    table = {}
    grad = _grad_namespace(module)
    for function in FUNCTIONS:
        value = getattr(module, function, None)
        if callable(value):
            table[(function, False)] = Implementation(name, function, False, value)
        derivative = getattr(grad, function, None) if grad is not None else None
        if callable(derivative):
            table[(function, True)] = Implementation(name, function, True, derivative)
    return table
