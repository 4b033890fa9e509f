"""Files of a report directory: atomic writes, the journal of finished units, the output set.

Every file is written to a temporary name in the same directory and moved
into place with :func:`os.replace`, so a reader (or a killed run) never sees
a half-written file.  The journal (``journal.jsonl``) gets one line per
finished work unit, flushed and synced; a rerun with the same output
directory skips the units it lists, so a killed sweep continues where it
stopped.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from ._records import SCHEMA_VERSION, Record, Report

__all__ = ["write_atomic", "Journal", "write_report", "JOURNAL_NAME", "REPORT_FILES", "LONG_INPUT", "INPUTS_DIR",
           "INPUT_FILE_PREFIX", "INPUT_FIELDS", "externalize_inputs", "read_input"]

JOURNAL_NAME = "journal.jsonl"
REPORT_FILES = ("report.md", "report.json", "report.csv")
LONG_INPUT = 4096  # characters of a pasteable input kept in the record (about 170 float64 or 250 float32 hex floats)
INPUTS_DIR = "inputs"
INPUT_FILE_PREFIX = "file:"
INPUT_FIELDS = ("worst_input", "mismatch_input", "zero_sign_input")


def externalize_inputs(records: Iterable[Record], out_dir: str | os.PathLike[str]) -> tuple[Record, ...]:
    """``records`` with every input longer than :data:`LONG_INPUT` moved to a gzip side file.

    The file is ``<out_dir>/inputs/<sha256 of the text>.txt.gz`` (so the
    candidates of a unit, which share their worst rows, share one file;
    written atomically, once); the field becomes
    ``"file:inputs/<name>.txt.gz"``, which :func:`read_input` resolves.
    """
    out = Path(out_dir)
    kept = []
    for record in records:
        changes = {}
        for name in INPUT_FIELDS:
            text = getattr(record, name)
            if text is None or len(text) <= LONG_INPUT or text.startswith(INPUT_FILE_PREFIX):
                continue
            relative = f"{INPUTS_DIR}/{hashlib.sha256(text.encode()).hexdigest()[:32]}.txt.gz"
            if not (out / relative).exists():
                write_atomic(out / relative, gzip.compress(text.encode(), compresslevel=9, mtime=0))
            changes[name] = INPUT_FILE_PREFIX + relative
        kept.append(dataclasses.replace(record, **changes) if changes else record)
    return tuple(kept)


def read_input(value: str | None, out_dir: str | os.PathLike[str]) -> str | None:
    """The pasteable input of a record field, reading its side file when it names one."""
    if value is None or not value.startswith(INPUT_FILE_PREFIX):
        return value
    return gzip.decompress((Path(out_dir) / value[len(INPUT_FILE_PREFIX):]).read_bytes()).decode()


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class Journal:
    """Append-only record of finished work units, keyed by :attr:`WorkUnit.key`.

    Finished units are appended to ``journal.jsonl``, one line each, flushed
    and synced.  :meth:`compact` (called when a sweep finishes) moves every
    entry into ``journal.jsonl.gz`` (written atomically) and removes the
    plain file: the journal of a finished run costs a tenth of its size, and
    :meth:`load` reads both files.  A line that cannot be parsed (the tail of
    a killed write) or that carries another schema version is ignored, and
    its unit is simply run again.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.compressed = self.path.with_name(self.path.name + ".gz")

    def _lines(self) -> list[str]:
        lines: list[str] = []
        if self.compressed.exists():
            try:
                lines += gzip.decompress(self.compressed.read_bytes()).decode("utf-8").splitlines()
            except (OSError, EOFError, UnicodeDecodeError):
                pass  # a damaged archive: its units are run again
        if self.path.exists():
            lines += self.path.read_text(encoding="utf-8").splitlines()
        return lines

    def load(self) -> dict[str, tuple[Record, ...]]:
        """Finished units and their records."""
        done: dict[str, tuple[Record, ...]] = {}
        for line in self._lines():
            try:
                entry = json.loads(line)
                if entry.get("schema_version") != SCHEMA_VERSION:
                    continue
                done[entry["key"]] = tuple(Record.from_dict(r) for r in entry["records"])
            except (ValueError, KeyError, TypeError):
                continue
        return done

    def append(self, key: str, records: Iterable[Record]) -> None:
        """Add one finished unit (durably: flushed and fsynced before returning)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"schema_version": SCHEMA_VERSION, "key": key, "records": [r.to_dict() for r in records]})
        with open(self.path, "a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a killed run left a torn line: end it so it stays alone
                    handle.write(b"\n")
            handle.write(line.encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    def compact(self) -> None:
        """Move every entry into the gzip archive (atomically), then drop the plain file."""
        lines = self._lines()
        if not self.path.exists():
            return
        write_atomic(self.compressed, gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6, mtime=0))
        self.path.unlink()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.compressed.unlink(missing_ok=True)


def write_report(report: Report, out_dir: str | os.PathLike[str], *, plots: bool = True) -> list[Path]:
    """Write ``report.md``, ``report.json``, ``report.csv`` and the PNG plots into ``out_dir``.

    ``report.md`` also gets the float32 exhaustive results whose chunk files
    are in ``out_dir`` (``softmax-oracle report --exhaustive float32``).

    Returns
    -------
    list of Path
        The files written.
    """
    from ._exhaustive import load_exhaustive32
    from ._plots import plot_files
    from ._render import render_csv, render_json, render_markdown

    out = Path(out_dir)
    exhaustive32 = load_exhaustive32(out)
    written = [
        write_atomic(out / "report.json", render_json(report)),
        write_atomic(out / "report.csv", render_csv(report)),
        write_atomic(out / "report.md", render_markdown(report, plots_dir="plots" if plots else None,
                                                        exhaustive32=exhaustive32)),
    ]
    if plots:
        for name, png in plot_files(report).items():
            written.append(write_atomic(out / "plots" / name, png))
    return written
