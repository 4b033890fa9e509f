"""``module:function`` and ``path/to/file.py:function`` candidates on the command line.

The ``softmax-oracle`` console script's ``sys.path[0]`` is its ``bin`` folder;
the command puts the current folder first, as ``python -m``, pytest and
uvicorn do.  In-process runs go through click's ``CliRunner`` with a copy of
``sys.path`` (restored after) that lacks the folder, as the console script's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from softmax_oracle.candidates import resolve
from softmax_oracle.cli import main
from softmax_oracle.errors import InvalidInput

KERNEL = '''
import numpy as np

from softmax_oracle.numpy_impl.accurate import softmax  # within 2 ULP in float64 (NumPy 1.26 and 2)

def broken(x, axis=-1):
    return np.zeros_like(x)
'''


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder holding a kernel module, made the working directory, with sys.path and sys.modules restored."""
    monkeypatch.chdir(tmp_path)
    here = str(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p and os.path.abspath(p) != here])
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("kern_"):
            del sys.modules[name]


def _write(folder: Path, relative: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(KERNEL)
    return path


def test_check_said_no_module_named_mykern_without_pythonpath(folder):
    """Caught: in a folder holding mykern.py, ``check mykern:softmax`` said ``No module named 'mykern'``."""
    _write(folder, "kern_check.py")
    result = CliRunner().invoke(main, ["check", "kern_check:softmax", "--function", "softmax", "--dtype", "float64",
                                       "--samples", "1", "--max-ulp", "64", "--format", "csv"])
    assert result.exit_code == 0, result.output[-3000:]
    assert "kern_check:softmax" in result.stdout
    assert sys.path[0] == str(folder)


def test_check_accepts_a_file_path(folder):
    _write(folder, "sub/kern_file.py")
    result = CliRunner().invoke(main, ["check", "sub/kern_file.py:broken", "--function", "softmax", "--dtype",
                                       "float64", "--samples", "1", "--format", "csv"])
    assert result.exit_code == 1, result.output[-3000:]  # all zeros: far outside the budget, found and reported
    assert "FAIL" in result.stderr and "sub/kern_file.py:broken" in result.stdout


def test_fuzz_imports_from_the_current_folder(folder):
    _write(folder, "kern_fuzz.py")
    result = CliRunner().invoke(main, ["fuzz", "kern_fuzz:softmax", "softmax", "--dtype", "float64",
                                       "--max-examples", "5", "--seed", "1", "--no-database", "--max-ulp", "1e9"])
    assert result.exit_code == 0, result.output[-3000:]
    assert "cannot be imported" not in result.output


def test_report_candidate_imports_from_the_current_folder(folder):
    _write(folder, "kern_report.py")
    result = CliRunner().invoke(main, ["report", "--quick", "--candidate", "kern_report:softmax", "--function",
                                       "softmax", "--dtype", "float32", "--no-gradients", "--samples", "1",
                                       "--out", str(folder / "out"), "--format", "csv", "--no-progress"])
    assert result.exit_code == 0, result.output[-3000:]
    assert "kern_report:softmax" in result.stdout


def test_help_says_how_specs_are_imported():
    for command in (["--help"], ["check", "--help"], ["fuzz", "--help"], ["report", "--help"]):
        text = " ".join(CliRunner().invoke(main, command).output.split())
        assert "current folder first on sys.path" in text, command
        assert "path/to/kern.py:softmax" in text, command


def test_file_spec_in_the_library_and_its_errors(folder):
    path = _write(folder, "lib/kern_lib.py")
    impl = resolve(f"{path}:softmax", "softmax")
    assert impl(np.array([0.0, 0.0])).tolist() == [0.5, 0.5]
    assert resolve("lib/kern_lib.py:softmax", "softmax")(np.zeros(2)).tolist() == [0.5, 0.5]
    with pytest.raises(InvalidInput, match="cannot be imported: no Python file 'lib/missing.py'"):
        resolve("lib/missing.py:softmax", "softmax")
    with pytest.raises(InvalidInput, match="has no attribute 'nope'"):
        resolve("lib/kern_lib.py:nope", "softmax")
    _write(folder, "other/kern_lib.py")  # same module name, another file: refused, not substituted
    with pytest.raises(InvalidInput, match="already taken by"):
        resolve("other/kern_lib.py:softmax", "softmax")


def test_console_script_finds_a_module_in_the_current_folder(tmp_path):
    """The installed ``softmax-oracle`` script itself, from a folder holding the kernel."""
    script = Path(sys.executable).parent / "softmax-oracle"
    if not script.exists():
        pytest.skip("no softmax-oracle console script next to this interpreter")
    _write(tmp_path, "kern_script.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(script), "fuzz", "kern_script:softmax", "softmax", "--dtype", "float64",
                           "--max-examples", "3", "--seed", "0", "--no-database", "--max-ulp", "1e9"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
