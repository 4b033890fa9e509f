"""The findings corpus: every record's numbers against the oracle, the repros against the installed
libraries, the ``findings`` command, and the generated docs."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
from click.testing import CliRunner

from softmax_oracle.candidates import FUNCTIONS
from softmax_oracle.cli import main
from softmax_oracle.findings import (
    FINDINGS,
    FIXED_MAX_ULP,
    KINDS,
    LIBRARIES,
    SCHEMA,
    SCHEMA_VERSION,
    docs_page,
    findings_json,
    measured_of,
    readme_section,
    recheck,
    recheck_table,
)
from softmax_oracle.findings import _recheck
from softmax_oracle.findings._measure import as_format, call_of
from softmax_oracle.formats import format_of
from softmax_oracle.ulp import Mismatch, class_mismatches, ulp_distance, ulp_error

ROOT = Path(__file__).resolve().parents[1]
NORMAL, RANGE, CLASS, SIGN = KINDS
BY_ID = {f.id: f for f in FINDINGS}
ids = [f.id for f in FINDINGS]


def _installed(library: str) -> bool:
    return _recheck.installed_version(library) is not None


def _value(f, field: str) -> np.ndarray:
    return as_format(float.fromhex(getattr(f, field)), f.dtype)


# --- the corpus as a whole ---------------------------------------------------------------------

def test_corpus_meets_the_issue_targets():
    assert len(FINDINGS) >= 12
    assert sum(f.kind == NORMAL for f in FINDINGS) >= 6
    assert {"scipy", "torch", "jax"} <= {f.library for f in FINDINGS}


def test_records_are_well_formed():
    assert len(set(ids)) == len(ids)
    for f in FINDINGS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", f.id), f.id
        assert f.id.startswith(f.library + "-"), f.id
        assert f.library in LIBRARIES and f.kind in KINDS
        assert f.oracle_function in FUNCTIONS and f.function in (f.oracle_function, "grad." + f.oracle_function)
        assert format_of(f.dtype).name == f.dtype
        assert f.cause and f.fix and f.version_measured
        assert "fromhex" in f.repro and "print(" in f.repro
        args, _ = call_of(f.arguments, f.options)
        assert str(np.asarray(args[0]).dtype) == f.dtype


# --- every record against the oracle ---------------------------------------------------------------

@pytest.mark.parametrize("finding", FINDINGS, ids=ids)
def test_record_matches_the_oracle(finding):
    m = measured_of(finding)
    assert m.rounded == finding.rounded
    assert m.exact == finding.exact
    np.testing.assert_allclose(m.ulp_error, finding.ulp_error, rtol=1e-12)  # NaN == NaN here
    np.testing.assert_allclose(m.relative_error, finding.relative_error, rtol=1e-12)
    if finding.condition is None:
        assert m.condition is None
    else:
        # an order of magnitude, computed at 80 bits (report._condition): a few digits are all it promises
        assert m.condition == pytest.approx(finding.condition, rel=1e-3)
    # the stored exact value is the oracle's to its 30 digits, and rounds to the stored rounded value
    with mpmath.workprec(200):  # parse the 30 digits at more than their precision
        assert mpmath.almosteq(mpmath.mpf(finding.exact), m.exact_value, rel_eps=mpmath.mpf(10) ** -28)
    assert ulp_error(_value(finding, "rounded"), m.exact_value) <= 0.5


@pytest.mark.parametrize("finding", FINDINGS, ids=ids)
def test_kind_matches_the_numbers(finding):
    """The kind is what the numbers show, with ULP figures consistent with ``softmax_oracle.ulp``."""
    got, rounded = _value(finding, "got"), _value(finding, "rounded")
    mismatch = Mismatch(int(class_mismatches(got, rounded)))
    smallest_normal = 2.0 ** format_of(rounded.dtype).emin
    if finding.kind == CLASS:
        assert mismatch not in (Mismatch.NONE, Mismatch.ZERO_SIGN)
        assert math.isnan(finding.ulp_error)
        return
    assert mismatch in (Mismatch.NONE, Mismatch.ZERO_SIGN)
    if finding.kind == SIGN:
        assert float(got) == float(rounded) == 0 and np.signbit(got) != np.signbit(rounded)
        return
    assert finding.ulp_error > FIXED_MAX_ULP
    distance = int(ulp_distance(got, rounded))
    assert distance >= 1
    if finding.kind == NORMAL:
        assert abs(float(rounded)) >= smallest_normal  # the due result is a normal number
        if abs(float(got)) >= smallest_normal and np.sign(got) == np.sign(rounded):
            # same binade or a neighbour: the step count is the ULP error to within one step
            assert abs(distance - finding.ulp_error) <= max(1.0, 0.5 * finding.ulp_error)
    else:  # the due result is subnormal or overflows, the library's is not representable that way
        assert abs(float(rounded)) < smallest_normal or math.isinf(float(rounded))


# --- the repros against the installed libraries ----------------------------------------------

@pytest.mark.parametrize("finding", FINDINGS, ids=ids)
def test_repro_still_shows_the_defect(finding):
    if not _installed(finding.library):
        pytest.skip(f"{finding.library} is not installed")
    result = recheck(finding)
    assert result.status == "present", (
        f"{finding.id} on {finding.library} {result.version}: {result.status} ({result.detail}); if the library "
        "fixed it, say so in the corpus (tools/make_findings.py) instead of dropping the record silently")
    if result.version == finding.version_measured:
        assert result.same_result, (result.got, finding.got)


def test_a_repro_runs_standalone():
    """A repro is pasteable: run as a script it prints the recorded result."""
    finding = next(f for f in FINDINGS if f.library == "scipy")
    if not _installed("scipy"):
        pytest.skip("scipy is not installed")
    out = subprocess.run([sys.executable, "-c", finding.repro], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == finding.got


# --- recheck's classification -----------------------------------------------------------------------

def _returning(value: float):
    return lambda text: value


@pytest.mark.parametrize("finding", [f for f in FINDINGS if f.kind in (NORMAL, RANGE)][:1]
                         + [next(f for f in FINDINGS if f.kind == SIGN), next(f for f in FINDINGS if f.kind == CLASS)],
                         ids=lambda f: f.kind)
def test_recheck_tells_present_from_fixed(finding, monkeypatch):
    monkeypatch.setattr(_recheck, "installed_version", lambda library: "9.9")
    present = recheck(finding, runner=_returning(float.fromhex(finding.got)))
    assert (present.status, present.same_result) == ("present", True)
    fixed = recheck(finding, runner=_returning(float.fromhex(finding.rounded)))
    assert (fixed.status, fixed.same_result) == ("fixed", False)


def test_recheck_absent_and_error(monkeypatch):
    finding = FINDINGS[0]
    monkeypatch.setattr(_recheck, "installed_version", lambda library: None)
    assert recheck(finding).status == "absent"
    monkeypatch.setattr(_recheck, "installed_version", lambda library: "9.9")

    def boom(text: str) -> float:
        raise RuntimeError("kernel removed")

    result = recheck(finding, runner=boom)
    assert result.status == "error" and "kernel removed" in result.detail


def test_run_repro_needs_a_hex_float():
    assert _recheck.run_repro("print((0.5).hex())") == 0.5
    with pytest.raises(ValueError, match="not a hex float"):
        _recheck.run_repro("print('hello')")
    with pytest.raises(ValueError, match="printed nothing"):
        _recheck.run_repro("x = 1")


def test_as_format_refuses_a_value_outside_the_format():
    with pytest.raises(ValueError, match="not a float16 value"):
        as_format(0.1, "float16")
    assert as_format(float.fromhex("0x1.0a4p+3"), "float16").dtype == np.float16


# --- the command -------------------------------------------------------------------------------------

def test_cli_lists_findings_as_markdown():
    result = CliRunner().invoke(main, ["findings"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("| id | library | function | dtype | kind | ULP error |")
    for f in FINDINGS:
        assert f"`{f.id}`" in result.stdout


def test_cli_lists_findings_as_json():
    result = CliRunner().invoke(main, ["findings", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["schema"], doc["schema_version"]) == (SCHEMA, SCHEMA_VERSION)
    assert [f["id"] for f in doc["findings"]] == ids
    wrong_class = next(f for f in doc["findings"] if f["kind"] == CLASS)
    assert wrong_class["ulp_error"] is None  # NaN is not JSON
    assert "rechecks" not in doc


@pytest.fixture
def simulated(monkeypatch):
    """jax absent, scipy fixed, torch still present, one torch repro broken: no library runs."""
    monkeypatch.setattr(_recheck, "installed_version", lambda library: None if library == "jax" else "9.9")
    broken = FINDINGS[-1].id

    def fake_run(text: str, *, name: str = "") -> float:
        f = next(f for f in FINDINGS if name == f"<finding {f.id}>")
        if f.id == broken:
            raise ImportError("cannot import name 'kl_div'")
        return float.fromhex(f.rounded if f.library == "scipy" else f.got)

    monkeypatch.setattr(_recheck, "run_repro", fake_run)
    return broken


def test_cli_recheck_statuses_and_exit_code(simulated):
    result = CliRunner().invoke(main, ["findings", "--recheck", "--format", "json"])
    assert result.exit_code == 1  # one repro raised
    doc = json.loads(result.stdout)
    status = {r["id"]: r["status"] for r in doc["rechecks"]}
    for f in FINDINGS:
        expected = ("error" if f.id == simulated else "absent" if f.library == "jax"
                    else "fixed" if f.library == "scipy" else "present")
        assert status[f.id] == expected, f.id
    assert doc["summary"] == {
        "present": sum(f.library == "torch" for f in FINDINGS) - 1,
        "fixed": sum(f.library == "scipy" for f in FINDINGS),
        "absent": sum(f.library == "jax" for f in FINDINGS),
        "error": 1,
    }


def test_cli_recheck_markdown(simulated, monkeypatch):
    fixed = "torch-kl-div-masked-input-nan-float32"
    monkeypatch.setattr(_recheck, "run_repro", lambda text, *, name="": 0.0 if name == f"<finding {fixed}>" else
                        float.fromhex(next(f.got for f in FINDINGS if f"<finding {f.id}>" == name)))
    result = CliRunner().invoke(main, ["findings", "--recheck"])
    assert result.exit_code == 0, result.output
    assert f"| `{fixed}` | torch | 9.9 | fixed |" in result.stdout
    assert "| `jax-log-softmax-dominant-logit-float32` | jax | absent | absent |" in result.stdout
    n_jax = sum(f.library == "jax" for f in FINDINGS)
    assert f"{len(FINDINGS)} findings rechecked: {len(FINDINGS) - n_jax - 1} present, 1 fixed, {n_jax} absent, " \
           "0 error" in result.stderr


def test_recheck_table_renders_each_status():
    results = [
        _recheck.Recheck(FINDINGS[0].id, "present", "1.0", FINDINGS[0].got, 5.0, True, "above"),
        _recheck.Recheck(FINDINGS[1].id, "absent", None, None, None, False, "not installed"),
    ]
    text = recheck_table(results, FINDINGS)
    assert "| present | 5 | yes |" in text and "| absent | — | — |" in text
    assert text.rstrip().endswith("2 findings rechecked: 1 present, 0 fixed, 1 absent, 0 error")
    assert json.loads(findings_json(FINDINGS[:2], results))["summary"]["absent"] == 1


# --- generated docs ------------------------------------------------------------------------------------

def test_docs_page_is_generated_from_the_corpus():
    assert (ROOT / "docs" / "findings.md").read_text() == docs_page(FINDINGS), \
        "docs/findings.md is stale: run python tools/make_findings.py --docs-only"


def test_readme_section_is_generated_from_the_corpus():
    assert readme_section(FINDINGS) in (ROOT / "README.md").read_text(), \
        "README's 'What the oracle found' is stale: run python tools/make_findings.py --docs-only"


def test_docstring_examples():
    import doctest

    import softmax_oracle.findings as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
