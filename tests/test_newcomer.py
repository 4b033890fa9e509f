"""Regressions from a newcomer's first hour (issue 10): a fresh venv, the README's commands.

Each test is named after what it caught: mpmath 1.4's removed ``libmp.fnzero``,
the warnings (``test_a_warning_inside_softmax_oracle_fails_the_suite``) and the
missing submodule attributes are here; the current folder on ``sys.path`` is in
``tests/test_cli_specs.py``, JAX's float64 in ``tests/test_candidates_jax.py``.
"""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

import pytest
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


DOCUMENTED_SURFACE = {
    "oracle", "exact", "formats", "rounding",
    "numpy_impl", "ulp", "compare", "testing", "fuzz", "strategies", "candidates", "report",
    "OracleError", "InvalidInput", "PrecisionExhausted", "__version__",
}
LAZY = ("numpy_impl", "ulp", "compare", "testing", "fuzz", "strategies", "candidates", "report")


def _has_findings() -> bool:
    import importlib.util

    return importlib.util.find_spec("softmax_oracle.findings") is not None


def test_all_is_exactly_the_documented_surface():
    import softmax_oracle as so

    expected = DOCUMENTED_SURFACE | ({"findings"} if _has_findings() else set())
    assert sorted(so.__all__) == sorted(expected)
    assert len(so.__all__) == len(set(so.__all__))
    assert dir(so) == sorted(expected)
    for name in so.__all__:
        assert getattr(so, name) is not None


def test_no_module_promised_that_does_not_exist():
    import softmax_oracle as so

    if _has_findings():
        assert so.findings.__name__ == "softmax_oracle.findings"
    else:
        assert "findings" not in so.__all__ and "findings" not in dir(so)
        with pytest.raises(AttributeError, match="has no attribute 'findings'"):
            so.findings  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'no_such_module'"):
        so.no_such_module  # noqa: B018


def test_submodules_are_attributes_loaded_on_first_use():
    """Caught: ``so.numpy_impl.accurate.softmax(x)`` raised AttributeError (so did ulp, compare, ...).

    In a fresh interpreter: ``import softmax_oracle`` loads none of them (nor
    Hypothesis, SciPy, matplotlib or click), and each is there on first access.
    """
    code = f"""
import sys
import numpy as np
import softmax_oracle as so
heavy = [m for m in ("hypothesis", "scipy", "matplotlib", "click") if m in sys.modules]
early = [n for n in {LAZY!r} if "softmax_oracle." + n in sys.modules]
assert not heavy and not early, (heavy, early)
assert so.numpy_impl.accurate.softmax(np.array([0.0, 0.0])).tolist() == [0.5, 0.5]
for name in {LAZY!r}:
    module = getattr(so, name)
    assert module is sys.modules["softmax_oracle." + name], name
assert so.compare.compare is sys.modules["softmax_oracle.compare"].compare
assert so.testing.assert_matches_oracle
from softmax_oracle import *  # noqa
assert ulp is so.ulp and report is so.report
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


PROBE = '''
import warnings

import numpy as np


def _inside_softmax_oracle(source):
    """Run ``source`` as code of a module named softmax_oracle.probe (warnings are attributed to it)."""
    namespace = {"__name__": "softmax_oracle.probe", "np": np, "warnings": warnings}
    exec(compile("def run():\\n    " + source, "softmax_oracle/probe.py", "exec"), namespace)
    return namespace["run"]()


def test_user_warning_in_package():
    _inside_softmax_oracle("warnings.warn('deprecated soon', UserWarning)")


def test_fp_warning_in_package():
    _inside_softmax_oracle("return np.float32(np.float64(1e300))")


def test_fp_warning_in_a_test():
    np.exp(np.float64(1000.0))


def test_silenced_fp_warning_in_package():
    _inside_softmax_oracle("with np.errstate(over='ignore'):\\n        return np.float32(np.float64(1e300))")


def test_other_library_deprecation_is_only_reported():
    namespace = {"__name__": "otherlib", "warnings": warnings}
    exec("def run():\\n    warnings.warn('old api', DeprecationWarning)", namespace)
    namespace["run"]()
'''


def test_a_warning_inside_softmax_oracle_fails_the_suite(pytester):
    """Caught: 399 warnings scrolled past a newcomer's run; pyproject's filterwarnings now fail on them."""
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest("-c", str(ROOT / "pyproject.toml"), "--rootdir", str(pytester.path),
                                "-p", "no:cacheprovider", "test_probe.py")
    result.assert_outcomes(passed=2, failed=3, warnings=1)
    text = result.stdout.str()  # each failure's own section (the short summary is cut to the terminal width)
    for test, error in [("test_user_warning_in_package", r"UserWarning: deprecated soon"),
                        ("test_fp_warning_in_package", r"RuntimeWarning: overflow encountered in cast"),
                        ("test_fp_warning_in_a_test", r"RuntimeWarning: overflow encountered in exp")]:
        section = re.search(rf"_ {test} _+\n(.*?)(?=\n_{{3,}} |\n=)", text, re.S)
        assert section and re.search(rf"^E\s+{error}", section.group(1), re.M), test
    assert "DeprecationWarning: old api" in text
