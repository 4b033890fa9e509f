"""Exhaustive float32 checks of the univariate functions: all 2**32 inputs, in resumable chunks.

The bit patterns ``0 .. 2**32 - 1`` are cut into chunks of ``2**chunk_bits``
consecutive patterns (:class:`ChunkTask`; 256 chunks of ``2**24`` by
default).  :func:`run_chunk` evaluates one chunk for several candidates in
blocks of :data:`BLOCK` inputs, calling the oracle once per block for all of
them, and writes one file per candidate and chunk, atomically
(``<out>/exhaustive-float32/<label>/<candidate>/chunk-b<bits>-<index>.npz``).
A rerun skips the chunks whose files exist, so a killed run resumes; chunks
are independent, so they fan out to worker processes or a dask cluster like
the sweep's work units.

Each chunk file keeps exact integer counts and a histogram of ULP errors on
fixed bin edges (:data:`HISTOGRAM_EDGES`), so chunks merge exactly by adding
counts (:func:`merge_chunks`): the median and the 99th percentile over all
inputs are read off the merged histogram, as the upper edge of the bin they
fall in (resolution ``2**-12`` ULP below 1 ULP, 1.1 % above), and the maximum
and the :data:`WORST_KEPT` worst inputs are kept as measured (within
``2**-30`` ULP of the exact errors, see below).

Definitions over the chunk's inputs (NaNs, infinities and subnormals are
inputs like any other):

* ``not_correctly_rounded``: results that are not the correctly rounded
  value (wrong-class results included; zeros of the wrong sign not, they are
  ``zero_signs``);
* ``wrong_class``: NaN for a number, an infinity for a finite value, ...;
* the ULP statistics are over the results of the right class.

The reference is chosen for speed without a guess (MPFR per element would
take about 33 h for 2**32 inputs).  One oracle call per block gives ``r``,
the float64 correct rounding of the exact value ``x`` (``dtype=np.float64``,
``engine="auto"``: its certified fast phase, MPFR where that cannot
decide).  The correctly rounded float32 value is the float32 rounding of
``r`` (one IEEE conversion) wherever ``r`` is not halfway between two float32
values: midpoints are float64 numbers and rounding is monotone, so ``x`` and
``r`` lie on the same side of every midpoint unless ``r`` is one; at the
midpoints (and at the overflow threshold) the oracle is called in float32.
The ULP errors are measured against ``r`` with
:func:`softmax_oracle.ulp.ulp_error_float64`:

* float32 normal results (``2**e <= |x|``, ``e >= -126``): ``|r - x| <=
  2**(e-53) = 2**-30`` float32 ULP;
* float32 subnormal results, ``x`` in float64's normal range: ``|r - x| <=
  2**-53 |x| < 2**-53 * 2**-126 = 2**-30`` ULP (the unit is ``2**-149``);
* ``x`` below float64's normal range (``sigmoid(-1e9) = e**-1e9``, ``r = 0``
  or a float64 subnormal): ``|r - x| <= 2**-1075 = 2**-926`` ULP.  The sign
  of such an underflow is fixed by the mathematics: the six functions are
  nonzero at every finite input, so a zero ``r`` at a finite input counts as
  a nonzero exact value for the sign-of-zero check.

The error ``|y - r| / ulp`` is formed with one rounding, so every reported
ULP error is within ``2**-30 + 2**-52 * err`` of the exact one; the counts of
results that are not correctly rounded (bit comparisons with the rounded
values) and of class mismatches are exact.  The unit needs the binade of
``x``, which ``r`` gives except where ``|r|`` is a power of two (``x`` may lie
just below it, where the float32 ULP is half as large): where ``r`` is a
power of two that the function approaches from a known side (1 from below
for sigmoid and the derivatives of softplus and log_sigmoid, 1/2 for the
same from the side of the sign of ``x``, resp. ``-x``, and 1/4 from below
for the derivative of sigmoid: :data:`_ANCHORS`), that side is used; the
other such inputs (a few hundred, e.g.
``log_sigmoid(-64) = -64 - 1.6e-28``) are measured against
:func:`softmax_oracle.compare.reference` at :data:`EXACT_BITS` bits.  Where
that one falls back to the rounded values (``PrecisionExhausted``),
``fallback_inputs`` counts the inputs.  The 20 worst inputs of each chunk
carry their exact value from the same MPFR reference.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import math
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import mpmath

from ..candidates import CandidateUnavailable, Implementation, resolve
from ..compare import _check_result, _normal_mpf, reference
from ..errors import InvalidInput
from ..ulp import Mismatch, binade_ambiguous, class_mismatches, ulp_error, ulp_error_float64
from ._files import write_atomic

__all__ = [
    "EXHAUSTIVE32_FUNCTIONS",
    "BLOCK",
    "WORST_KEPT",
    "HISTOGRAM_EDGES",
    "ChunkTask",
    "ChunkStats",
    "WorstInput",
    "Exhaustive32Result",
    "plan_chunks",
    "run_chunk",
    "run_exhaustive32",
    "merge_chunks",
    "chunk_path",
    "parse_chunk_range",
    "load_exhaustive32",
    "ChunkProgress",
    "DIRECTORY",
]

EXHAUSTIVE32_FUNCTIONS: tuple[str, ...] = ("sigmoid", "log_sigmoid", "softplus")
DIRECTORY = "exhaustive-float32"
BLOCK = 1 << 14  # inputs per oracle call: cache-sized float64 temporaries (2**16: 1.2x, 2**18: 1.4x the CPU time)
WORST_KEPT = 20
EXACT_BITS = 64  # plenty for a ULP error of a 24-bit format
_FINE = 4096  # bins per ULP below 1 ULP
_PER_OCTAVE = 64  # log bins per octave above 1 ULP, up to 2**320 (float32's range spans 2**277 ULP)
HISTOGRAM_EDGES = np.concatenate([np.arange(_FINE) / _FINE, 2.0 ** (np.arange(320 * _PER_OCTAVE + 1) / _PER_OCTAVE)])


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of float32 bit patterns for some candidates (picklable: for worker processes and dask)."""

    function: str
    grad: bool
    candidates: tuple[str, ...]
    chunk: int
    chunk_bits: int
    out_dir: str

    @property
    def label(self) -> str:
        return f"grad.{self.function}" if self.grad else self.function

    def inputs(self) -> np.ndarray:
        start = self.chunk << self.chunk_bits
        return np.arange(start, start + (1 << self.chunk_bits), dtype=np.uint64).astype(np.uint32).view(np.float32)


@dataclass(frozen=True)
class WorstInput:
    """One of the worst inputs: its bits, the candidate's and correct results, the exact value, the error."""

    bits: int
    ulp_error: float  # inf for a wrong-class result
    got: float
    rounded: float
    exact: str
    kind: str = ""  # the class mismatch, if any

    @property
    def input(self) -> str:
        value = float(np.array([self.bits], dtype=np.uint32).view(np.float32)[0])
        return f"np.float32(float.fromhex({value.hex()!r}))" if math.isfinite(value) else \
            f"np.array([{self.bits:#010x}], dtype=np.uint32).view(np.float32)"


@dataclass
class ChunkStats:
    """Exact counts of one candidate over one chunk (or a merge of chunks)."""

    n: int = 0
    not_correctly_rounded: int = 0
    wrong_class: int = 0
    zero_signs: int = 0
    fallback_inputs: int = 0
    max_ulp_error: float = 0.0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(len(HISTOGRAM_EDGES), dtype=np.int64))
    worst: list[WorstInput] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: ChunkStats) -> None:
        self.n += other.n
        self.not_correctly_rounded += other.not_correctly_rounded
        self.wrong_class += other.wrong_class
        self.zero_signs += other.zero_signs
        self.fallback_inputs += other.fallback_inputs
        self.max_ulp_error = max(self.max_ulp_error, other.max_ulp_error)
        self.histogram += other.histogram
        self.worst = _top(self.worst + other.worst)
        self.seconds += other.seconds

    def quantile(self, q: float) -> float:
        """Upper edge of the histogram bin holding the ``q`` quantile of the ULP errors (NaN if none)."""
        total = int(self.histogram.sum())
        if total == 0:
            return math.nan
        position = int(np.searchsorted(np.cumsum(self.histogram), max(1, math.ceil(q * total))))
        upper = float(HISTOGRAM_EDGES[position + 1]) if position + 1 < len(HISTOGRAM_EDGES) else math.inf
        return min(upper, self.max_ulp_error)  # the maximum is exact: no quantile exceeds it

    def to_npz(self) -> bytes:
        worst = self.worst
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, counts=np.array([self.n, self.not_correctly_rounded, self.wrong_class, self.zero_signs,
                                     self.fallback_inputs], dtype=np.int64),
            floats=np.array([self.max_ulp_error, self.seconds]), histogram=self.histogram,
            worst_bits=np.array([w.bits for w in worst], dtype=np.uint32),
            worst_values=np.array([[w.ulp_error, w.got, w.rounded] for w in worst], dtype=np.float64).reshape(-1, 3),
            worst_text=np.array([w.exact for w in worst] + [w.kind for w in worst], dtype=str))
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, data: Any) -> ChunkStats:
        n, wrong_rounding, wrong, zeros, fallback = (int(v) for v in data["counts"])
        texts = [str(t) for t in data["worst_text"]]
        k = len(data["worst_bits"])
        worst = [WorstInput(int(b), float(v[0]), float(v[1]), float(v[2]), texts[i], texts[k + i])
                 for i, (b, v) in enumerate(zip(data["worst_bits"], data["worst_values"]))]
        return cls(n, wrong_rounding, wrong, zeros, fallback, float(data["floats"][0]),
                   data["histogram"].astype(np.int64), worst, float(data["floats"][1]))


def _top(worst: Iterable[WorstInput]) -> list[WorstInput]:
    return sorted(worst, key=lambda w: (-w.ulp_error, w.bits))[:WORST_KEPT]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def chunk_path(out_dir: str | Path, label: str, candidate: str, chunk: int, chunk_bits: int) -> Path:
    """Where one candidate's result for one chunk lives."""
    return Path(out_dir) / DIRECTORY / label / _safe(candidate) / f"chunk-b{chunk_bits}-{chunk:08d}.npz"


@dataclass(frozen=True)
class _BlockReference:
    """The oracle's answers for one block, shared by the candidates (see the module docstring)."""

    rounded: np.ndarray  # float32 correct roundings (of the float64 ones, or the oracle's at midpoints)
    float64: np.ndarray  # float64 correct roundings of the exact values
    below: np.ndarray  # |exact| < |float64| = 2**e, from the function's supremum
    nonzero: np.ndarray  # the exact value is not zero
    exact_at: np.ndarray  # indices whose binade float64 cannot tell: measured against exact values
    exact: np.ndarray  # their exact values (object array of mpf)
    fallback: int  # inputs among exact_at measured against rounded values (compare.reference's note)


# Powers of two that the functions reach or approach, and the sign of f(x) - value: where the float64
# reference equals one of them, the exact value lies on that side (below it: the binade underneath).
_Side = Callable[[np.ndarray], np.ndarray]
_SIGMOID_ANCHORS: tuple[tuple[float, _Side], ...] = (
    (1.0, lambda x: np.where(x == np.inf, 0, -1)),  # the supremum, reached at +inf only
    (0.5, np.sign),  # sigmoid(x) - 1/2 has the sign of x
)
_ANCHORS: dict[str, tuple[tuple[float, _Side], ...]] = {
    "sigmoid": _SIGMOID_ANCHORS,
    "grad.softplus": _SIGMOID_ANCHORS,  # the derivative of softplus is sigmoid
    "grad.log_sigmoid": tuple((v, (lambda side: lambda x: side(-x))(side))  # 1 - sigmoid(x) = sigmoid(-x)
                              for v, side in _SIGMOID_ANCHORS),
    "grad.sigmoid": ((0.25, lambda x: np.where(x == 0, 0, -1)),),  # sigmoid (1 - sigmoid) <= 1/4, = at 0 only
}


def _float32_rounding(ref64: np.ndarray) -> np.ndarray:
    """The float32 rounding of the float64 values (one IEEE conversion, round to nearest even)."""
    with np.errstate(over="ignore"):  # beyond float32's range the rounding is the infinity
        return ref64.astype(np.float32)


def _float32_midpoint(ref64: np.ndarray, rounded: np.ndarray) -> np.ndarray:
    """Where a float64 value is halfway between two float32 values (the overflow threshold included).

    Everywhere else the float32 rounding of ``RN64(x)`` is that of ``x``: float32 midpoints are
    float64 numbers, so rounding to float64 (monotone) cannot carry ``x`` across one; it can only
    land on one.
    """
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and infinities: never midpoints
        neighbour = np.nextafter(rounded, np.where(ref64 > rounded, np.float32(np.inf), np.float32(-np.inf)))
        middle = (rounded.astype(np.float64) + neighbour.astype(np.float64)) / 2  # exact: two float32 summed
        threshold = (2 - 2.0**-24) * 2.0**127
        return ((ref64 != rounded) & (ref64 == middle)) | (np.abs(ref64) == threshold)


def _block_reference(function: str, grad: bool, x: np.ndarray) -> _BlockReference:
    oracle = importlib.import_module("..oracle.grad" if grad else "..oracle", __package__)
    fn = getattr(oracle, function)
    ref64 = np.asarray(fn(x, dtype=np.float64, engine="auto"))
    rounded = _float32_rounding(ref64)
    tie = np.flatnonzero(_float32_midpoint(ref64, rounded))
    if tie.size:  # float64 cannot tell which way the exact value rounds: the oracle's float32 answer
        rounded[tie] = np.asarray(fn(x[tie], engine="auto"))
    label = f"grad.{function}" if grad else function
    below = np.zeros(x.shape, dtype=bool)
    settled = below.copy()
    for value, side in _ANCHORS.get(label, ()):
        here = ref64 == value
        settled |= here  # on the value or above it, the binade is the float64 value's
        below |= here & (side(x) < 0)
    exact_at = np.flatnonzero(binade_ambiguous(ref64, np.float32) & ~settled)
    exact, fallback = np.empty(0, dtype=object), 0
    if exact_at.size:
        ref = reference(function, x[exact_at], grad=grad, bits=EXACT_BITS)
        exact, fallback = ref.exact, int(exact_at.size) if ref.note else 0
    # every one of the six functions is nonzero at every finite input: a zero float64 value there is an
    # underflow, whose sign the mathematics fixes; at the infinities float64 is exact
    nonzero = (ref64 != 0) | np.isfinite(x)
    return _BlockReference(rounded, ref64, below, nonzero, exact_at, exact, fallback)


def _all_wrong(n: int) -> ChunkStats:
    return ChunkStats(n=n, not_correctly_rounded=n, wrong_class=n)


def _block_errors(got: np.ndarray, ref: _BlockReference) -> tuple[np.ndarray, np.ndarray]:
    """Class-mismatch codes and ULP errors (NaN for a wrong class; zero signs keep their error)."""
    codes = class_mismatches(got, ref.rounded, zero_sign=ref.nonzero)
    errors = ulp_error_float64(got, ref.float64, below=ref.below)
    if ref.exact_at.size:
        errors[ref.exact_at] = np.asarray(ulp_error(got[ref.exact_at], ref.exact), dtype=np.float64)
    return codes, np.where((codes != 0) & (codes != Mismatch.ZERO_SIGN), np.nan, errors)


def _block_stats(impl: Implementation, x: np.ndarray, ref: _BlockReference) -> ChunkStats:
    try:
        got = impl(x)
    except Exception:  # noqa: BLE001 - the candidate failing on the whole block: all of it is wrong
        return _all_wrong(int(x.size))
    if _check_result(got, ref.rounded)[0] != "ok":  # garbage (wrong shape or dtype) for the whole block
        return _all_wrong(int(x.size))
    got = np.asarray(got)
    codes, errors = _block_errors(got, ref)
    zero_sign = codes == Mismatch.ZERO_SIGN
    wrong = np.isnan(errors)
    stats = ChunkStats(n=int(x.size), fallback_inputs=ref.fallback, wrong_class=int(wrong.sum()),
                       zero_signs=int(zero_sign.sum()))
    same = (got.view(np.uint32) == ref.rounded.view(np.uint32)) | (np.isnan(got) & np.isnan(ref.rounded))
    stats.not_correctly_rounded = int((~same & ~zero_sign).sum())
    kept = errors[~wrong]
    stats.max_ulp_error = float(kept.max()) if kept.size else 0.0
    stats.histogram += np.bincount(np.searchsorted(HISTOGRAM_EDGES, kept, side="right") - 1,
                                   minlength=len(HISTOGRAM_EDGES))[:len(HISTOGRAM_EDGES)]
    ranked = np.where(wrong, np.inf, errors)
    top = np.argpartition(-ranked, WORST_KEPT)[:WORST_KEPT] if ranked.size > WORST_KEPT else np.arange(ranked.size)
    bits = x.view(np.uint32)
    stats.worst = _top(WorstInput(int(bits[i]), float(ranked[i]), float(got[i]), float(ref.rounded[i]), "",
                                  Mismatch(int(codes[i])).name.lower() if wrong[i] else "") for i in top)
    return stats


def _with_exact_text(function: str, grad: bool, worst: list[WorstInput]) -> list[WorstInput]:
    """The worst inputs with their exact values (MPFR at EXACT_BITS bits, printed to 17 digits)."""
    if not worst:
        return worst
    x = np.array([w.bits for w in worst], dtype=np.uint32).view(np.float32)
    exact = reference(function, x, grad=grad, bits=EXACT_BITS).exact
    return [dataclasses.replace(w, exact=mpmath.nstr(_normal_mpf(e), 17)) for w, e in zip(worst, exact)]


def run_chunk(task: ChunkTask) -> tuple[ChunkTask, dict[str, ChunkStats]]:
    """Evaluate one chunk for every candidate of ``task``; write each candidate's file atomically."""
    impls = []
    for name in task.candidates:
        try:
            impls.append(resolve(name, task.function, grad=task.grad))
        except CandidateUnavailable:
            continue
    totals = {impl.candidate: ChunkStats() for impl in impls}
    inputs = task.inputs()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # the candidates' overflow and invalid-value warnings (NaN payloads cast between formats) are measured
        warnings.simplefilter("ignore", RuntimeWarning)
        for start in range(0, inputs.size, BLOCK):
            x = inputs[start:start + BLOCK]
            began = time.perf_counter()
            ref = _block_reference(task.function, task.grad, x)
            oracle_seconds = time.perf_counter() - began
            for impl in impls:
                began = time.perf_counter()
                block = _block_stats(impl, x, ref)
                block.seconds = oracle_seconds / len(impls) + time.perf_counter() - began
                totals[impl.candidate].merge(block)
    for candidate, stats in totals.items():
        stats.worst = _with_exact_text(task.function, task.grad, stats.worst)
        write_atomic(chunk_path(task.out_dir, task.label, candidate, task.chunk, task.chunk_bits), stats.to_npz())
    return task, totals


def parse_chunk_range(text: str | None, count: int) -> range:
    """``"START:STOP"`` (chunk indices, Python slice style; either end may be empty) as a range of chunks."""
    if text is None:
        return range(count)
    match = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", text)
    if not match:
        raise InvalidInput(f"chunks must be START:STOP (chunk indices); got chunks={text!r}")
    start = int(match.group(1)) if match.group(1) else 0
    stop = int(match.group(2)) if match.group(2) else count
    if not 0 <= start < stop <= count:
        raise InvalidInput(f"chunks must satisfy 0 <= START < STOP <= {count}; got chunks={text!r}")
    return range(start, stop)


def plan_chunks(function: str, grad: bool, candidates: tuple[str, ...], *, out_dir: str | Path,
                chunk_bits: int = 24, chunks: range | None = None) -> list[ChunkTask]:
    """The chunk tasks still to run: for each chunk, the candidates whose file is missing.

    Raises
    ------
    InvalidInput
        ``function`` is not univariate, or ``chunk_bits`` is not in ``[8, 32]``.
    """
    if function not in EXHAUSTIVE32_FUNCTIONS:
        raise InvalidInput(f"function must be one of {', '.join(EXHAUSTIVE32_FUNCTIONS)} for the exhaustive float32 "
                           f"check; got function={function!r}")
    if isinstance(chunk_bits, bool) or not isinstance(chunk_bits, int) or not 8 <= chunk_bits <= 32:
        raise InvalidInput(f"chunk_bits must be an integer in [8, 32]; got chunk_bits={chunk_bits!r}")
    label = f"grad.{function}" if grad else function
    tasks = []
    for chunk in chunks if chunks is not None else range(1 << (32 - chunk_bits)):
        missing = tuple(c for c in candidates
                        if not chunk_path(out_dir, label, c, chunk, chunk_bits).exists())
        if missing:
            tasks.append(ChunkTask(function, grad, missing, chunk, chunk_bits, str(out_dir)))
    return tasks


@dataclass(frozen=True)
class Exhaustive32Result:
    """One candidate's float32 check over the chunks done so far (all ``2**32`` inputs when ``complete``)."""

    candidate: str
    function: str
    grad: bool
    chunk_bits: int
    chunks_done: int
    chunks_total: int
    n: int
    max_ulp_error: float
    median_ulp_error: float  # upper edge of the histogram bin (see the module docstring)
    p99_ulp_error: float
    not_correctly_rounded: int
    wrong_class: int
    zero_signs: int
    fallback_inputs: int
    seconds: float  # compute time summed over chunks (oracle time shared among the chunk's candidates)
    worst: tuple[WorstInput, ...] = ()

    @property
    def label(self) -> str:
        return f"grad.{self.function}" if self.grad else self.function

    @property
    def complete(self) -> bool:
        return self.chunks_done == self.chunks_total

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["worst"] = [{**asdict(w), "input": w.input} for w in self.worst]
        return {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exhaustive32Result:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for k in ("max_ulp_error", "median_ulp_error", "p99_ulp_error", "seconds"):
            values[k] = float(values[k])
        values["worst"] = tuple(WorstInput(int(w["bits"]), float(w["ulp_error"]), float(w["got"]),
                                           float(w["rounded"]), w["exact"], w.get("kind", ""))
                                for w in data.get("worst", ()))
        return cls(**values)


def merge_chunks(out_dir: str | Path, function: str, grad: bool, candidate: str, *,
                 chunk_bits: int = 24) -> Exhaustive32Result | None:
    """Merge every finished chunk file of one candidate (``None`` when there is none)."""
    label = f"grad.{function}" if grad else function
    folder = chunk_path(out_dir, label, candidate, 0, chunk_bits).parent
    files = sorted(folder.glob(f"chunk-b{chunk_bits}-*.npz"))
    if not files:
        return None
    total = ChunkStats()
    for path in files:
        with np.load(path, allow_pickle=False) as data:
            total.merge(ChunkStats.from_npz(data))
    return Exhaustive32Result(
        candidate, function, grad, chunk_bits, len(files), 1 << (32 - chunk_bits), total.n, total.max_ulp_error,
        total.quantile(0.5), total.quantile(0.99), total.not_correctly_rounded, total.wrong_class, total.zero_signs,
        total.fallback_inputs, total.seconds, tuple(total.worst))


ChunkProgress = Callable[[int, int, "ChunkTask | None"], None]
"""``progress(done, total, task)``: called once before the work (``task=None``) and after each chunk."""


def run_exhaustive32(function: str, grad: bool, candidates: tuple[str, ...], *, out_dir: str | Path,
                     chunk_bits: int = 24, chunks: range | None = None, workers: int = 1,
                     scheduler: str | None = None, progress: ChunkProgress | None = None
                     ) -> tuple[Exhaustive32Result, ...]:
    """Run the missing chunks of ``chunks`` (all by default) and merge each candidate's finished chunks.

    Parameters
    ----------
    function : str
        ``"sigmoid"``, ``"log_sigmoid"`` or ``"softplus"``.
    grad : bool
        Check the derivative instead of the value.
    candidates : tuple of str
        Candidates that have the function (the others are skipped).
    out_dir : path
        Holds ``exhaustive-float32/`` (the chunk files).
    chunk_bits : int
        ``log2`` of the chunk size (24: 256 chunks of 16,777,216 inputs).
    chunks : range, optional
        The chunk indices to run (default: all); results merge every chunk
        file present, from this run or earlier ones.
    workers, scheduler
        As in :func:`softmax_oracle.report.run_sweep`.
    progress : callable, optional
        ``progress(done, total, task)`` after each chunk (``task=None`` first).
    """
    from ._run import fan_out

    usable = []
    for name in candidates:
        try:
            resolve(name, function, grad=grad)
            usable.append(name)
        except CandidateUnavailable:
            continue
    if not usable:
        raise InvalidInput(f"none of the candidates {candidates!r} has {'grad.' if grad else ''}{function} here")
    todo = plan_chunks(function, grad, tuple(usable), out_dir=out_dir, chunk_bits=chunk_bits, chunks=chunks)
    total = len(chunks) if chunks is not None else 1 << (32 - chunk_bits)
    done = total - len(todo)
    if progress:
        progress(done, total, None)
    for task, _ in fan_out(run_chunk, todo, workers=workers, scheduler=scheduler):
        done += 1
        if progress:
            progress(done, total, task)
    results = (merge_chunks(out_dir, function, grad, c, chunk_bits=chunk_bits) for c in usable)
    return tuple(r for r in results if r is not None)


def _iter_results(out_dir: str | Path) -> Iterator[Exhaustive32Result]:
    root = Path(out_dir) / DIRECTORY
    for label_dir in sorted(p for p in root.glob("*") if p.is_dir()):
        grad = label_dir.name.startswith("grad.")
        function = label_dir.name[len("grad."):] if grad else label_dir.name
        for candidate_dir in sorted(p for p in label_dir.glob("*") if p.is_dir()):
            for bits in sorted({int(m.group(1)) for f in candidate_dir.glob("chunk-b*-*.npz")
                                if (m := re.match(r"chunk-b(\d+)-", f.name))}):
                result = merge_chunks(out_dir, function, grad, candidate_dir.name, chunk_bits=bits)
                if result is not None:
                    yield result


def load_exhaustive32(out_dir: str | Path) -> tuple[Exhaustive32Result, ...]:
    """Every float32 exhaustive result whose chunk files are in ``out_dir`` (candidate names as on disk)."""
    return tuple(_iter_results(out_dir))


