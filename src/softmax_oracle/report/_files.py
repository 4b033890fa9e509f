"""Files of a report directory: atomic writes, the journal of finished units, the output set.

Every file is written to a temporary name in the same directory and moved
into place with :func:`os.replace`, so a reader (or a killed run) never sees
a half-written file.  The journal (``journal.jsonl``) gets one line per
finished work unit, flushed and synced; a rerun with the same output
directory skips the units it lists, so a killed sweep continues where it
stopped.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from ._records import SCHEMA_VERSION, Record, Report

__all__ = ["write_atomic", "Journal", "write_report", "JOURNAL_NAME", "REPORT_FILES"]

JOURNAL_NAME = "journal.jsonl"
REPORT_FILES = ("report.md", "report.json", "report.csv")


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

    A line that cannot be parsed (the tail of a killed write) or that carries
    another schema version is ignored, and its unit is simply run again.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, tuple[Record, ...]]:
        """Finished units and their records."""
        done: dict[str, tuple[Record, ...]] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text(encoding="utf-8").splitlines():
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

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def write_report(report: Report, out_dir: str | os.PathLike[str], *, plots: bool = True) -> list[Path]:
    """Write ``report.md``, ``report.json``, ``report.csv`` and the PNG plots into ``out_dir``.

    Returns
    -------
    list of Path
        The files written.
    """
    from ._plots import plot_files
    from ._render import render_csv, render_json, render_markdown

    out = Path(out_dir)
    written = [
        write_atomic(out / "report.json", render_json(report)),
        write_atomic(out / "report.csv", render_csv(report)),
        write_atomic(out / "report.md", render_markdown(report, plots_dir="plots" if plots else None)),
    ]
    if plots:
        for name, png in plot_files(report).items():
            written.append(write_atomic(out / "plots" / name, png))
    return written
