"""The pytest plugin (entry point pytest11), run in inner pytest sessions with ``pytester``."""

from __future__ import annotations

import importlib.metadata
import re

import ml_dtypes
import numpy as np
import pytest

KERNELS = '''
import numpy as np
import scipy.special as sc


def naive_log_softmax(x, axis=-1):  # x - logsumexp(x) rounded to float32 first: ~4604 ULP at x = 10
    return sc.log_softmax(x, axis=axis)
'''


def _run(pytester, source, *options):
    pytester.makepyfile(kernels=KERNELS)
    pytester.makepyfile(test_user=source)
    return pytester.runpytest("-p", "no:cacheprovider", "-W", "error::RuntimeWarning", *options)


def test_plugin_is_registered_under_pytest11():
    points = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "softmax_oracle"]
    assert [e.value for e in points] == ["_softmax_oracle_pytestplugin"]


def test_options_in_help(pytester):
    text = " ".join(pytester.runpytest("--help").stdout.str().split())
    assert "--oracle-max-ulp=ULP" in text and "--oracle-engine={auto,mpfr}" in text
    assert "an explicit max_ulp= in a test wins unless this one is stricter" in text


@pytest.mark.parametrize(("option", "message"), [
    (["--oracle-max-ulp", "-1"], "--oracle-max-ulp must be a number >= 0; got '-1'"),
    (["--oracle-max-ulp", "one"], "--oracle-max-ulp must be a number >= 0; got 'one'"),
    (["--oracle-engine", "fast"], "invalid choice: 'fast' (choose from"),
], ids=["negative", "text", "engine"])
def test_invalid_options_are_usage_errors(pytester, option, message):
    result = pytester.runpytest(*option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_options_reach_the_fixture_and_plain_calls(pytester):
    result = _run(pytester, '''
from softmax_oracle.testing import current_defaults


def test_fixture(softmax_oracle):
    assert softmax_oracle.max_ulp == 0.75 and softmax_oracle.engine == "mpfr"
    assert current_defaults().max_ulp == 0.75 and current_defaults().engine == "mpfr"
    assert softmax_oracle.oracle.softmax.__module__ == "softmax_oracle.oracle"
    assert softmax_oracle.oracle.grad.softmax.__module__ == "softmax_oracle.oracle.grad"
''', "--oracle-max-ulp", "0.75", "--oracle-engine", "mpfr")
    result.assert_outcomes(passed=1)
    assert "softmax-oracle: --oracle-max-ulp=0.75 --oracle-engine=mpfr" in result.stdout.str()


def test_without_options_the_defaults_are_the_library_s(pytester):
    result = _run(pytester, '''
import numpy as np


def test_fixture(softmax_oracle):
    assert softmax_oracle.max_ulp is None and softmax_oracle.engine is None
    x = np.array([1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    assert softmax_oracle.oracle.softmax(x).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    softmax_oracle.assert_matches_oracle("numpy-accurate", "softmax", x)
''')
    result.assert_outcomes(passed=1)


BUDGETS = '''
import numpy as np
from kernels import naive_log_softmax
from softmax_oracle.testing import assert_matches_oracle

X = np.array([10, 0, -10], dtype=np.float32)


def test_default_budget(softmax_oracle):
    softmax_oracle.assert_matches_oracle(naive_log_softmax, "log_softmax", X)


def test_explicit_loose_budget():
    assert_matches_oracle(naive_log_softmax, "log_softmax", X, max_ulp=5000)
'''


def test_max_ulp_option_replaces_the_default_explicit_wins_unless_stricter(pytester):
    loose = _run(pytester, BUDGETS, "--oracle-max-ulp", "10000")
    loose.assert_outcomes(passed=2)  # the default 1.0 became 10000; the explicit 5000 stands
    strict = _run(pytester, BUDGETS, "--oracle-max-ulp", "4000")
    strict.assert_outcomes(failed=2)  # 4000 is stricter than the explicit 5000: it applies
    assert strict.stdout.str().count("(budget 4000.0)") >= 2


def test_failing_assertion_message(pytester):
    result = _run(pytester, BUDGETS)
    result.assert_outcomes(failed=1, passed=1)
    text = result.stdout.str()
    assert "Not within 1.0 ULP of the correctly rounded log_softmax (float32): kernels.naive_log_softmax" in text
    assert re.search(r"Max ULP error: 460\d\.\d+ at index \(0,\) \(budget 1\.0\)", text)
    assert ("Worst input: log_softmax(np.array(list(map(float.fromhex, ['0x1.4000000000000p+3', '0x0.0p+0', "
            "'-0x1.4000000000000p+3'])), dtype=np.float32))") in text


SUMMARY = '''
import ml_dtypes
import numpy as np
import pytest
from kernels import naive_log_softmax
from softmax_oracle.testing import assert_matches_oracle


@pytest.mark.parametrize("scale", [1.0, 10.0, 1000.0])
def test_accurate(softmax_oracle, scale):
    softmax_oracle.assert_matches_oracle("numpy-accurate", "softmax", np.array([1.0, 2.0, 3.0]) * scale, max_ulp=2)


def test_naive():
    assert_matches_oracle(naive_log_softmax, "log_softmax", np.array([10, 0, -10], dtype=np.float32), max_ulp=5000)


def test_naive_fails():
    assert_matches_oracle(naive_log_softmax, "log_softmax", np.array([[10, 0, -10]], dtype=np.float32))


def test_gradient_bfloat16():
    x = np.array([0.5, -1.0, 3.0]).astype(ml_dtypes.bfloat16)
    assert_matches_oracle("numpy-stable", "softmax", x, grad=True, max_ulp=1000)


def test_raises():
    def broken(x, axis=-1):
        raise RuntimeError("kernel crashed")
    with pytest.raises(AssertionError, match="raised RuntimeError"):
        assert_matches_oracle(broken, "sigmoid", np.array([1.0]))
'''


def _table(text: str) -> dict[tuple[str, str, str], list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "softmax-oracle accuracy" in line)
    rows = {}
    for line in lines[start + 2:]:
        if line.startswith("worst input of each row"):
            break
        cells = line.split()
        rows[tuple(cells[:3])] = cells[3:]
    return rows


def test_summary_table_counts_passing_and_failing_checks(pytester):
    result = _run(pytester, SUMMARY)
    result.assert_outcomes(passed=6, failed=1)
    text = result.stdout.str()
    assert "softmax-oracle accuracy (assert_matches_oracle, passing checks included)" in text
    rows = _table(text)
    # checks, elements, failed, worst ULP, budget, class mismatches, raised
    accurate = rows[("numpy-accurate", "softmax", "float64")]
    assert accurate[:3] == ["3", "9", "0"] and float(accurate[3]) <= 2 and accurate[4:] == ["2", "0", "0"]
    naive = rows[("kernels.naive_log_softmax", "log_softmax", "float32")]
    assert naive[:3] == ["2", "6", "1"] and 4600 < float(naive[3]) < 4610 and naive[5:] == ["0", "0"]
    assert rows[("numpy-stable", "grad.softmax", "bfloat16")][:3] == ["1", "3", "0"]
    broken = next(v for k, v in rows.items() if k[1] == "sigmoid")
    assert broken == ["1", "1", "1", "-", "-", "0", "1"]
    first = text.splitlines().index(next(line for line in text.splitlines() if line.startswith("kernels.")))
    assert first < text.splitlines().index(next(line for line in text.splitlines()
                                                 if line.startswith("numpy-accurate")))  # worst first


def test_summary_repro_is_pasteable(pytester):
    text = _run(pytester, SUMMARY).stdout.str()
    line = next(line for line in text.splitlines() if line.startswith("  kernels.naive_log_softmax log_softmax"))
    call = line.split(": ", 1)[1]
    assert call.startswith("log_softmax(np.array(list(map(float.fromhex, ")
    namespace = {"np": np, "ml_dtypes": ml_dtypes, "log_softmax": lambda x: x}
    rebuilt = eval(call, namespace)  # noqa: S307 - the point: the line is Python that rebuilds the input
    assert rebuilt.dtype == np.float32 and rebuilt.tolist() in ([10.0, 0.0, -10.0], [[10.0, 0.0, -10.0]])
    grad_line = next(line for line in text.splitlines() if "numpy-stable grad.softmax bfloat16" in line)
    assert "dtype=ml_dtypes.bfloat16" in grad_line and "grad.softmax(" in grad_line


def test_no_summary_and_no_import_when_unused(pytester):
    pytester.makepyfile(test_plain='''
import sys


def test_plain():
    assert "softmax_oracle" not in sys.modules
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "softmax-oracle accuracy" not in result.stdout.str()
