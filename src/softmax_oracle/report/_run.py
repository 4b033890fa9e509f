"""Run a sweep: plan the units, skip the journaled ones, fan the rest out, assemble the :class:`Report`.

Work runs in this process (``workers=1``), in a pool of worker *processes*
(``workers > 1``; never threads, since mpmath's and gmpy2's precision state
is per process), or on a ``dask.distributed`` cluster (``scheduler=``, extra
``[dask]``).  All three run the same :func:`._evaluate.run_unit` on the same
units, so they give the same records.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import platform
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..candidates import CANDIDATES, CandidateUnavailable, resolve
from ..errors import InvalidInput
from ._evaluate import run_unit
from ._files import JOURNAL_NAME, Journal, externalize_inputs
from ._plan import SweepConfig, WorkUnit, plan_units
from ._records import Report

__all__ = ["run_sweep", "fan_out", "Progress", "split_available", "environment"]

Progress = Callable[[int, int, "WorkUnit | None"], None]
"""``progress(done, total, unit)``: called once before the work (``unit=None``) and after each unit."""


def split_available(candidates: Iterable[str]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The candidates usable here, and ``(name, reason)`` for the registered ones that are not.

    Raises
    ------
    InvalidInput
        A name that is neither registered nor an importable ``module:function``.
    """
    usable: list[str] = []
    missing: list[tuple[str, str]] = []
    for name in dict.fromkeys(candidates):
        if name in CANDIDATES:
            try:
                CANDIDATES[name].table()
                usable.append(name)
            except CandidateUnavailable as err:
                missing.append((name, str(err)))
        elif isinstance(name, str) and ":" in name:
            resolve(name, "softmax")  # raises InvalidInput when it cannot be imported
            usable.append(name)
        else:
            raise InvalidInput(f"candidate must be one of {', '.join(CANDIDATES)} or a 'module:function' string; "
                               f"got candidate={name!r}")
    return tuple(usable), tuple(missing)


def environment() -> dict[str, Any]:
    """Versions and platform facts worth printing next to accuracy figures."""
    from .. import __version__

    versions: dict[str, Any] = {"softmax_oracle": __version__, "python": platform.python_version()}
    for module in ("numpy", "scipy", "mpmath", "gmpy2", "torch", "jax"):
        loaded = sys.modules.get(module)
        if loaded is not None:
            versions[module] = str(getattr(loaded, "__version__", getattr(loaded, "version", "?")))
    versions["platform"] = platform.platform()
    versions["machine"] = platform.machine()
    versions["cpus"] = os.cpu_count()
    return versions


def _keyed(unit: WorkUnit, cache_dir: str | None) -> tuple[str, tuple[Any, ...]]:
    return unit.key, run_unit(unit, cache_dir=cache_dir)


def _pool(function: Callable[[Any], Any], items: list[Any], workers: int) -> Iterator[Any]:
    # forkserver: workers start from a clean process, not a fork of one that may hold torch's threads
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(function, item) for item in items]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _dask(function: Callable[[Any], Any], items: list[Any], address: str) -> Iterator[Any]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as err:
        raise InvalidInput(f"--dask-scheduler needs dask.distributed (pip install 'softmax-oracle[dask]'): {err}"
                           ) from None
    with Client(address) as client:
        futures = client.map(function, items, pure=False)
        for future in dask_completed(futures):
            yield future.result()


def fan_out(function: Callable[[Any], Any], items: list[Any], *, workers: int = 1,
            scheduler: str | None = None) -> Iterator[Any]:
    """``function(item)`` for every item, in completion order: here, in worker processes, or on dask.

    ``function`` must be a picklable top-level callable (or a
    :func:`functools.partial` of one) for ``workers > 1`` and ``scheduler``.
    """
    if scheduler is not None:
        return _dask(function, items, scheduler)
    if workers > 1 and len(items) > 1:
        return _pool(function, items, workers)
    return (function(item) for item in items)


def run_sweep(config: SweepConfig, *, out_dir: str | os.PathLike[str], workers: int = 1,
              scheduler: str | None = None, progress: Progress | None = None, resume: bool = True) -> Report:
    """Evaluate every unit of ``config`` and return the :class:`Report` (files are written separately).

    Parameters
    ----------
    config : SweepConfig
    out_dir : path
        Holds the journal of finished units (``journal.jsonl``), the
        exhaustive tables' cache (``cache/``) and the inputs too long to keep
        in a record (``inputs/``, see :func:`._files.externalize_inputs`).
    workers : int
        Worker processes (1 = this process).
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler; overrides ``workers``.
    progress : callable, optional
        ``progress(done, total, unit)``.
    resume : bool
        Reuse the journal's finished units (default); ``False`` starts afresh.

    Raises
    ------
    InvalidInput
        Bad configuration, unknown candidate, or no usable candidate.
    """
    config = config.validated()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInput(f"workers must be an integer >= 1; got workers={workers!r}")
    usable, missing = split_available(config.candidates)
    if not usable:
        reasons = "; ".join(reason for _, reason in missing)
        raise InvalidInput(f"none of the candidates {config.candidates!r} is available here: {reasons}")
    config = replace(config, candidates=usable)
    units = plan_units(config)
    out = Path(out_dir)
    journal = Journal(out / JOURNAL_NAME)
    if not resume:
        journal.clear()
    done = journal.load()
    todo = [u for u in units if u.key not in done]
    total, finished = len(units), len(units) - len(todo)
    if progress:
        progress(finished, total, None)
    cache_dir = str(out / "cache")
    results = fan_out(functools.partial(_keyed, cache_dir=cache_dir), todo, workers=workers, scheduler=scheduler)
    by_key = {u.key: u for u in todo}
    for key, records in results:
        records = externalize_inputs(records, out)
        journal.append(key, records)
        done[key] = records
        finished += 1
        if progress:
            progress(finished, total, by_key[key])
    journal.compact()
    records = tuple(r for u in sorted(units, key=_display_order(config)) for r in done[u.key])
    return Report(records=records, config=config.to_dict(), unavailable=missing, environment=environment(),
                  created=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _display_order(config: SweepConfig) -> Callable[[WorkUnit], tuple[Any, ...]]:
    functions = {f: i for i, f in enumerate(config.functions)}
    dtypes = {d: i for i, d in enumerate(config.dtypes)}
    regimes = {r: i for i, r in enumerate((*config.regimes, "exhaustive", "scale", "row_length"))}
    return lambda u: (u.grad, functions[u.function], dtypes[u.dtype], regimes[u.regime], u.parameter or 0.0)
