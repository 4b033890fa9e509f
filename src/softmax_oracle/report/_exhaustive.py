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
and the :data:`WORST_KEPT` worst inputs are kept exactly.

Definitions over the chunk's inputs (NaNs, infinities and subnormals are
inputs like any other):

* ``not_correctly_rounded``: results that are not the correctly rounded
  value (wrong-class results included; zeros of the wrong sign not, they are
  ``zero_signs``);
* ``wrong_class``: NaN for a number, an infinity for a finite value, ...;
* the ULP statistics are over the results of the right class.

Exact values come from :func:`softmax_oracle.compare.reference` at
:data:`EXACT_BITS` bits (values below MPFR's exponent range, such as
``sigmoid(-1e9) = e**-1e9``, come from their logarithm).  Where
:mod:`softmax_oracle.exact` still raises ``PrecisionExhausted``, the block is
measured against the correctly rounded values instead (ULP errors within 0.5
ULP of the truth); ``fallback_inputs`` counts those inputs.
"""

from __future__ import annotations

import io
import math
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..candidates import CandidateUnavailable, Implementation, resolve
import mpmath

from ..compare import Reference, _normal_mpf, compare, reference
from ..errors import InvalidInput
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
BLOCK = 1 << 14  # inputs per oracle call: bounds the memory of the exact values (mpf objects)
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


def _block_stats(impl: Implementation, function: str, grad: bool, x: np.ndarray, ref: Reference,
                 fallback: bool) -> ChunkStats:
    c = compare(impl, function, x, grad=grad, reference=ref)
    stats = ChunkStats(n=int(x.size), fallback_inputs=int(x.size) if fallback else 0)
    if c.status != "ok":  # the candidate raised or returned garbage for the whole block: all of it is wrong
        stats.not_correctly_rounded = stats.wrong_class = int(x.size)
        return stats
    wrong = np.isnan(c.ulp_errors)
    errors = c.ulp_errors[~wrong]
    stats.wrong_class = int(wrong.sum())
    stats.zero_signs = len(c.zero_signs)
    same = (c.got.view(np.uint32) == c.rounded.view(np.uint32)) | (np.isnan(c.got) & np.isnan(c.rounded))
    zero_sign = np.zeros(x.shape, dtype=bool)
    for m in c.zero_signs:
        zero_sign[m.index] = True
    stats.not_correctly_rounded = int((~same & ~zero_sign).sum())
    stats.max_ulp_error = float(errors.max()) if errors.size else 0.0
    stats.histogram += np.bincount(np.searchsorted(HISTOGRAM_EDGES, errors, side="right") - 1,
                                   minlength=len(HISTOGRAM_EDGES))[:len(HISTOGRAM_EDGES)]
    ranked = np.where(wrong, np.inf, c.ulp_errors)
    kinds = {m.index: m.kind.name.lower() for m in c.wrong_class}
    candidates = np.argsort(-ranked, kind="stable")[:WORST_KEPT]
    bits = x.view(np.uint32)
    stats.worst = [WorstInput(int(bits[i]), float(ranked[i]), float(c.got[i]), float(c.rounded[i]),
                              mpmath.nstr(_normal_mpf(c.exact[i]), 17), kinds.get((int(i),), ""))
                   for i in candidates]
    return stats


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
        # overflow and invalid-value warnings (NaN payloads cast between formats) are what is measured
        warnings.simplefilter("ignore", RuntimeWarning)
        for start in range(0, inputs.size, BLOCK):
            x = inputs[start:start + BLOCK]
            began = time.perf_counter()
            ref = reference(task.function, x, grad=task.grad, bits=EXACT_BITS)
            oracle_seconds = time.perf_counter() - began
            for impl in impls:
                began = time.perf_counter()
                block = _block_stats(impl, task.function, task.grad, x, ref, bool(ref.note))
                block.seconds = oracle_seconds / len(impls) + time.perf_counter() - began
                totals[impl.candidate].merge(block)
    for candidate, stats in totals.items():
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


