"""The oracle's answers for a work unit, computed once and shared by every candidate.

For exhaustive units the answers over all 65,536 values of a 16-bit format
are cached on disk (:func:`exhaustive_reference`), so reruns, resumed runs
and other worker processes read them instead of recomputing them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import mpmath
from mpmath import libmp
import numpy as np

from .. import compare as _compare
from ..candidates import Implementation
from ..compare import EXACT_BITS, Comparison, Reference
from ..formats import format_of

__all__ = ["Reference", "reference", "exhaustive_inputs", "exhaustive_reference", "compare_to_reference",
           "CACHED_EXACT_BITS"]

CACHED_EXACT_BITS = 64  # exact values kept on disk: 53 bits past any 16-bit format's 11 (the high word stays 0)


def reference(function: str, grad: bool, args: tuple[Any, ...], kwargs: dict[str, Any], *, engine: str = "auto",
              bits: int = EXACT_BITS) -> Reference:
    """The oracle's ``function`` (or gradient) at ``args``: :func:`softmax_oracle.compare.reference`."""
    return _compare.reference(function, *args, grad=grad, bits=bits, engine=engine, **kwargs)


def exhaustive_inputs(dtype: str) -> np.ndarray:
    """Every value of a 16-bit format (all 65,536 bit patterns, NaNs and infinities included), in bit order."""
    fmt = format_of(dtype)
    if fmt.bits != 16:
        raise ValueError(f"exhaustive inputs exist for the 16-bit formats only; got dtype={dtype!r}")
    return np.arange(1 << 16, dtype=np.uint16).view(fmt.dtype)


def _encode(exact: np.ndarray) -> dict[str, np.ndarray]:
    # some exact values carry more bits than asked for: round them to what the file keeps
    # (mpmath.mpf(v) would round to the global 53 bits)
    raw = [libmp.mpf_pos(v._mpf_ if hasattr(v, "_mpf_") else mpmath.mpf(v)._mpf_, CACHED_EXACT_BITS,
                         libmp.round_nearest) for v in exact.flat]
    man = [m for _, m, _, _ in raw]
    return {
        "sign": np.array([s for s, _, _, _ in raw], dtype=np.uint8),
        "man_hi": np.array([m >> 64 for m in man], dtype=np.uint64),
        "man_lo": np.array([m & ((1 << 64) - 1) for m in man], dtype=np.uint64),
        "exp": np.array([e for _, _, e, _ in raw], dtype=np.int64),
        "bc": np.array([b for _, _, _, b in raw], dtype=np.int64),
    }


def _decode(data: Any, shape: tuple[int, ...]) -> np.ndarray:
    make = mpmath.mp.make_mpf
    values = [
        make((int(s), (int(hi) << 64) | int(lo), int(e), int(b)))
        for s, hi, lo, e, b in zip(data["sign"], data["man_hi"], data["man_lo"], data["exp"], data["bc"])
    ]
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def _cache_path(cache_dir: Path, function: str, grad: bool, dtype: str) -> Path:
    return cache_dir / f"exhaustive-{'grad.' if grad else ''}{function}-{dtype}.npz"


def exhaustive_reference(function: str, grad: bool, dtype: str, *, cache_dir: str | os.PathLike[str] | None,
                         engine: str = "auto") -> Reference:
    """The oracle over :func:`exhaustive_inputs`, read from or written to ``cache_dir``.

    The cache file holds the rounded values (as bit patterns) and the exact
    values to :data:`CACHED_EXACT_BITS` bits and the number of elements the
    fast phase decided (-1 when read from a file without it); it is written atomically, so
    processes that compute the same table concurrently leave one whole file.
    """
    inputs = exhaustive_inputs(dtype)
    fmt = format_of(dtype)
    path = None if cache_dir is None else _cache_path(Path(cache_dir), function, grad, dtype)
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                rounded = data["rounded"].view(fmt.dtype)
                decided = int(data["phase1_decided"]) if "phase1_decided" in data else -1
                return Reference(rounded, _decode(data, rounded.shape), phase1_decided=decided)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is recomputed below
    ref = reference(function, grad, (inputs,), {}, bits=CACHED_EXACT_BITS, engine=engine)
    try:
        encoded = _encode(ref.exact)
    except OverflowError:  # an exponent beyond int64 (exp of a huge argument): this table is not cached
        return ref
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(handle, rounded=ref.rounded.view(fmt.uint_dtype), phase1_decided=ref.phase1_decided,
                         **encoded)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return ref


def compare_to_reference(impl: Implementation, function: str, grad: bool, args: tuple[Any, ...],
                         kwargs: dict[str, Any], ref: Reference) -> Comparison:
    """:func:`softmax_oracle.compare.compare` against an already computed :class:`Reference`.

    Same record, same rules (a candidate that raises or returns the wrong
    shape or dtype gives a record saying so); the oracle is not called again.
    """
    return _compare.compare(impl, function, *args, grad=grad, reference=ref, **kwargs)
