"""The ``softmax-oracle`` command.

One click group; each command is a thin shell over a library function that
returns data.  Library exceptions become exit codes only here: 0 ok, 1 a
tolerance exceeded, 2 bad usage or input.  Machine-readable output goes to
stdout, progress and logs to stderr.  Commands live in their own modules
(``softmax_oracle._cli_*``) and are imported only when they run, so that
``softmax-oracle --help`` is fast and one command's imports never break another.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from . import __version__

__all__ = ["main", "COMMANDS"]

# command name -> ("module:attribute" of a click.Command, one-line help for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "report": ("softmax_oracle._cli_report:report", "Sweep implementations against the oracle; write tables and plots."),
    "check": ("softmax_oracle._cli_report:check", "Check one implementation (module:function) against the oracle."),
    "fuzz": ("softmax_oracle._cli_fuzz:fuzz", "Search for the worst input of an implementation."),
    "findings": ("softmax_oracle._cli_findings:findings", "List the defects found in other libraries; --recheck reruns them."),
    "demo": ("softmax_oracle._cli_demo:demo", "Print the seeds' worked examples next to the oracle's answers."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name][0].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


SPEC_HELP = ("MODULE:FUNCTION is imported with the current folder first on sys.path (as python -m, pytest "
             "and uvicorn do); a file works too: path/to/kern.py:softmax.")


def current_folder_on_path() -> None:
    """Put the working directory first on ``sys.path`` unless it is there already.

    A console script's ``sys.path[0]`` is its ``bin`` folder, so ``mykern:softmax`` would not be
    found next to the user; ``python -m`` and ``python -c`` put the current folder first, and so
    does this command (workers started later inherit it).
    """
    here = os.getcwd()
    if not any(os.path.abspath(entry or os.curdir) == here for entry in sys.path):
        sys.path.insert(0, here)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="softmax-oracle")
def main() -> None:
    """Correctly rounded softmax-family reference values and ULP error reports.

    Candidates given as MODULE:FUNCTION (check, fuzz, report --candidate) are imported with the
    current folder first on sys.path; a file path works too: path/to/kern.py:softmax.
    """
    current_folder_on_path()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
