"""Regressions from a newcomer's first hour (issue 10): a fresh venv, the README's commands.

Each test is named after what it caught.  The other four are next to the code
they cover: ``test_submodules_are_attributes_loaded_on_first_use`` (here),
warnings (``test_a_warning_inside_softmax_oracle_fails_the_suite``), the current
folder on ``sys.path`` (``tests/test_cli.py``), JAX's float64
(``tests/test_candidates_jax.py``).
"""

from __future__ import annotations

import ast
import pathlib

from mpmath import libmp

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _libmp_names(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "libmp"}


def test_mpmath_1_4_removed_fnzero_every_libmp_name_used_exists():
    """Caught: ``tests/test_ulp.py`` read ``mpmath.libmp.fnzero``, gone in mpmath 1.4 (2 failures).

    Every ``libmp.<name>`` the package and its tests use exists in the installed
    mpmath; CI runs this under mpmath 1.4 (no torch) and 1.3 (torch pins it).
    """
    files = sorted((ROOT / "src" / "softmax_oracle").rglob("*.py")) + sorted((ROOT / "tests").glob("*.py"))
    missing = {f"{path.relative_to(ROOT)}: libmp.{name}"
               for path in files for name in _libmp_names(path) if not hasattr(libmp, name)}
    assert not missing, sorted(missing)
