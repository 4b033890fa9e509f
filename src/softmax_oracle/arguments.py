"""Argument checking shared by the oracle and the float implementations.

Every public function of :mod:`softmax_oracle.oracle`, :mod:`softmax_oracle.exact`
and :mod:`softmax_oracle.numpy_impl` checks its arguments here, so that the
same bad input gets the same :class:`~softmax_oracle.errors.InvalidInput`
message everywhere.  Messages name the argument and show the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidInput
from .formats import Format, format_of

__all__ = [
    "float_array",
    "normalize_axis",
    "output_format",
    "check_reduction",
    "check_bits",
    "grad_output_array",
    "ClassProblem",
    "class_problem",
    "binary_problem",
    "BinaryProblem",
    "pair_problem",
    "REDUCTIONS",
    "check_label_smoothing",
]

REDUCTIONS = ("none", "mean", "sum")


def _show(value: Any) -> str:
    """A short repr of an argument for an error message."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=8, edgeitems=3)
        return f"array({text}, dtype={value.dtype}, shape={value.shape})"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def float_array(x: Any, name: str) -> tuple[np.ndarray, Format]:
    """``x`` as an array of one of the four formats, and that format.

    Python floats and lists of floats become float64.  Integer, boolean,
    complex and object arrays are refused: the oracle works on the exact
    values of floats of a known format.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise InvalidInput(f"{name} must be an array of floats; got {name}={_show(x)} ({err})") from None
    if arr.dtype.name not in _FLOAT_NAMES:
        raise InvalidInput(
            f"{name} must be a float64, float32, float16 or bfloat16 array; "
            f"got {name}={_show(x)} of dtype {arr.dtype}"
        )
    return arr, format_of(arr.dtype, argument=f"{name}.dtype")


_FLOAT_NAMES = ("float64", "float32", "float16", "bfloat16")


def normalize_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """``axis`` as a non-negative int below ``ndim`` (0-d arrays accept ``-1`` and ``0``)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise InvalidInput(f"{name} must be an integer; got {name}={axis!r}")
    n = max(ndim, 1)
    if not -n <= axis < n:
        raise InvalidInput(f"{name}={axis!r} is out of range for an array with {ndim} dimension(s)")
    return int(axis) % n


def output_format(dtype: Any, default: Format) -> Format:
    """The format of the result: ``dtype`` if given, else the input's."""
    return default if dtype is None else format_of(dtype, argument="dtype")


def check_reduction(reduction: Any, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    if not isinstance(reduction, str) or reduction not in allowed:
        raise InvalidInput(f"reduction must be one of {', '.join(map(repr, allowed))}; got reduction={reduction!r}")
    return reduction


def check_bits(bits: Any) -> int:
    """The ``bits`` argument of :mod:`softmax_oracle.exact`: an integer >= 2."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 2:
        raise InvalidInput(f"bits must be an integer >= 2; got bits={bits!r}")
    return int(bits)


def grad_output_array(grad_output: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``grad_output`` broadcast to the output's ``shape`` (ones when ``None``)."""
    if grad_output is None:
        return np.ones(shape, dtype=np.float64)
    arr, _ = float_array(grad_output, "grad_output")
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise InvalidInput(
            f"grad_output must have the output's shape {shape}; got grad_output of shape {arr.shape}"
        ) from None


def _finite(arr: np.ndarray, name: str) -> None:
    """Class weights must be finite: an infinite weight has no meaningful weighted mean."""
    flat = arr.astype(np.float64).reshape(-1)
    bad = ~np.isfinite(flat)
    if bad.any():
        raise InvalidInput(f"{name} must be finite; got {name} value {float(flat[bad][0])!r}")


def _same_shape(arr: np.ndarray, shape: tuple[int, ...], name: str, what: str) -> None:
    if arr.shape != shape:
        raise InvalidInput(f"{name} must have shape {shape} ({what}); got {name} of shape {arr.shape}")


@dataclass(frozen=True)
class ClassProblem:
    """The arguments of a class-dimension loss (cross_entropy, nll_loss), normalized.

    ``input`` is moved to shape ``(M, C)`` (samples, classes); ``target`` is
    ``(M,)`` int64 class indices or ``(M, C)`` probabilities; ``out_shape`` is
    the shape of the unreduced loss, and ``restore`` maps an ``(M, C)`` array
    back to the input's layout.
    """

    input: np.ndarray
    input_format: Format
    target: np.ndarray
    probabilities: bool
    weight: np.ndarray | None
    ignore_index: int
    reduction: str
    out_shape: tuple[int, ...]
    in_shape: tuple[int, ...]
    class_axis: int

    def restore(self, rows: np.ndarray) -> np.ndarray:
        """An ``(M, C)`` array back in the input's shape and layout."""
        if self.class_axis == len(self.in_shape) - 1:
            return rows.reshape(self.in_shape)
        moved = tuple(s for i, s in enumerate(self.in_shape) if i != self.class_axis) + (self.in_shape[self.class_axis],)
        return np.moveaxis(rows.reshape(moved), -1, self.class_axis)


def class_problem(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    reduction: Any,
    *,
    allow_probabilities: bool,
) -> ClassProblem:
    """Check and normalize the arguments of ``cross_entropy`` / ``nll_loss`` (torch semantics).

    ``input`` has shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``: the class
    dimension is 1, or 0 for 1-D input.  ``target`` holds integer class indices
    of shape ``()``, ``(N,)`` or ``(N, d1, ...)``, or (``allow_probabilities``)
    float class probabilities of the input's shape.
    """
    x, fmt = float_array(input, "input")
    if x.ndim == 0:
        raise InvalidInput(f"input must have a class dimension (1-D or more); got input of shape {x.shape}")
    class_axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_axis]
    reduction = check_reduction(reduction)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise InvalidInput(f"ignore_index must be an integer; got ignore_index={ignore_index!r}")
    rows = np.moveaxis(x, class_axis, -1).reshape(-1, n_classes)
    sample_shape = tuple(s for i, s in enumerate(x.shape) if i != class_axis)

    t = np.asarray(target) if not isinstance(target, np.ndarray) else target
    if t.dtype.kind in "iu":
        _same_shape(t, sample_shape, "target", "class indices: the input's shape without the class dimension")
        flat = t.reshape(-1).astype(np.int64)
        bad = (flat != ignore_index) & ((flat < 0) | (flat >= n_classes))
        if bad.any():
            value = flat[bad][0]
            raise InvalidInput(
                f"target must hold class indices in [0, {n_classes}) or ignore_index={ignore_index}; "
                f"got target value {value}"
            )
        probabilities = False
        target_rows = flat
    elif t.dtype.kind == "f" or t.dtype.name == "bfloat16":
        if not allow_probabilities:
            raise InvalidInput(f"target must hold integer class indices; got target of dtype {t.dtype}")
        if t.shape != x.shape:
            if t.shape == sample_shape:
                raise InvalidInput(
                    f"target holds floats of the shape of class indices {t.shape}: class indices must be "
                    f"integers (or give class probabilities of the input's shape {x.shape}); got target={_show(t)}"
                )
            _same_shape(t, x.shape, "target", "class probabilities: the input's shape")
        t, _ = float_array(t, "target")
        probabilities = True
        target_rows = np.moveaxis(t, class_axis, -1).reshape(-1, n_classes)
    else:
        raise InvalidInput(
            f"target must be integer class indices or float class probabilities; got target={_show(t)} of dtype {t.dtype}"
        )

    w = None
    if weight is not None:
        w, _ = float_array(weight, "weight")
        _same_shape(w, (n_classes,), "weight", "one weight per class")
        _finite(w, "weight")
    return ClassProblem(
        input=rows,
        input_format=fmt,
        target=target_rows,
        probabilities=probabilities,
        weight=w,
        ignore_index=int(ignore_index),
        reduction=reduction,
        out_shape=sample_shape,
        in_shape=x.shape,
        class_axis=class_axis,
    )


@dataclass(frozen=True)
class BinaryProblem:
    """Arguments of an elementwise loss, broadcast to the input's shape."""

    input: np.ndarray
    input_format: Format
    target: np.ndarray
    weight: np.ndarray | None
    pos_weight: np.ndarray | None
    reduction: str


def _broadcast(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr, _ = float_array(value, name)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise InvalidInput(f"{name} must broadcast to the input's shape {shape}; got {name} of shape {arr.shape}") from None


def binary_problem(
    input: Any,
    target: Any,
    weight: Any,
    reduction: Any,
    *,
    pos_weight: Any = None,
    probabilities: bool,
) -> BinaryProblem:
    """Check the arguments of ``binary_cross_entropy[_with_logits]`` (torch semantics).

    ``target`` must have the input's shape; ``weight`` and ``pos_weight``
    broadcast to it.  With ``probabilities`` the input must lie in [0, 1].
    """
    x, fmt = float_array(input, "input")
    t, _ = float_array(target, "target")
    _same_shape(t, x.shape, "target", "the input's shape")
    reduction = check_reduction(reduction)
    if probabilities:
        with np.errstate(invalid="ignore"):  # NaN is allowed: it gives NaN
            bad = (x.astype(np.float64) < 0) | (x.astype(np.float64) > 1)
        if bad.any():
            raise InvalidInput(
                f"input must hold probabilities in [0, 1]; got input value {float(x[bad].reshape(-1)[0])!r}"
            )
    return BinaryProblem(
        input=x,
        input_format=fmt,
        target=t,
        weight=_broadcast(weight, x.shape, "weight"),
        pos_weight=_broadcast(pos_weight, x.shape, "pos_weight"),
        reduction=reduction,
    )


def pair_problem(input: Any, target: Any, reduction: Any, allowed: tuple[str, ...]) -> tuple[np.ndarray, Format, np.ndarray, str]:
    """Check ``kl_div``'s arguments: two float arrays of the same shape and a reduction."""
    x, fmt = float_array(input, "input")
    t, _ = float_array(target, "target")
    _same_shape(t, x.shape, "target", "the input's shape")
    return x, fmt, t, check_reduction(reduction, allowed)


def check_label_smoothing(label_smoothing: Any) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(label_smoothing) <= 1.0:
        raise InvalidInput(f"label_smoothing must be a float in [0, 1]; got label_smoothing={label_smoothing!r}")
    return float(label_smoothing)


