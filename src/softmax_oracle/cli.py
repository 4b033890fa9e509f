"""The ``softmax-oracle`` command.

One click group; each command is a thin shell over a library function that
returns data.  Library exceptions become exit codes only here: 0 ok, 1 a
tolerance exceeded, 2 bad usage or input.  Machine-readable output goes to
stdout, progress and logs to stderr.  Commands live in their own modules
(``softmax_oracle._cli_*``) and are registered below.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__

__all__ = ["main"]

# command name -> "module:attribute" of a click.Command, imported when the group is built
COMMANDS = {
    "demo": "softmax_oracle._cli_demo:demo",
    "report": "softmax_oracle._cli_report:report",
    "check": "softmax_oracle._cli_report:check",
    "fuzz": "softmax_oracle._cli_fuzz:fuzz",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="softmax-oracle")
def main() -> None:
    """Correctly rounded softmax-family reference values and ULP error reports."""


for _name, _target in COMMANDS.items():
    _module, _attr = _target.split(":")
    try:
        main.add_command(getattr(importlib.import_module(_module), _attr), _name)
    except ModuleNotFoundError as _err:  # a command whose module is not written yet
        if _err.name != _module:
            raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
