"""The README's examples run and say what they show (Quick start, Use it in your tests, Check your own kernel)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def _blocks(title: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(_section(title)) if lang == language]


def test_quick_start_is_two_one_line_commands():
    (block,) = _blocks("Quick start", "bash")
    first, second = block.strip("\n").split("\n")
    assert "pip install ." in first and first.endswith("softmax-oracle report --quick --out report")
    assert "pip install '.[test]'" in second and second.endswith("python -m pytest -q")


def test_use_it_in_your_tests_plugin_example(pytester):
    test_file, _ = _blocks("Use it in your tests", "python")
    pytester.makepyfile(test_my_kernel=test_file)
    pytester.makeconftest("from softmax_oracle.strategies import register_profiles\nregister_profiles()\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error::RuntimeWarning")
    result.assert_outcomes(passed=2)
    (shown,) = _blocks("Use it in your tests", "text")
    got = result.stdout.lines
    title, header = shown.splitlines()[:2]
    assert title in got and header.split() == got[got.index(title) + 1].split()
    row = next(line for line in got if line.startswith("test_my_kernel.my_softmax"))
    assert row.split()[:3] == ["test_my_kernel.my_softmax", "softmax", "float32"]
    prefix = shown.splitlines()[-1].split("[...")[0]
    assert any(line.startswith(prefix) for line in got), prefix


def test_use_it_in_your_tests_failure_example():
    _, example = _blocks("Use it in your tests", "python")
    with pytest.raises(AssertionError) as failure:
        exec(compile(example, "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    message = str(failure.value)
    shown = [line[2:] for line in example.splitlines() if line.startswith("# ")]
    assert shown, "the example shows no message"
    for line in shown:
        expected = line.removeprefix("AssertionError: ").split("...")[0].rstrip()
        assert expected in message, expected


def test_check_your_own_kernel_example(tmp_path, monkeypatch):
    (kernel,) = _blocks("Check your own kernel", "python")
    (command,) = _blocks("Check your own kernel", "bash")
    (tmp_path / "mykern.py").write_text(kernel)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "mykern", raising=False)
    words = shlex.split(command.strip())
    assert words[:3] == ["softmax-oracle", "check", "mykern:softmax"]
    from softmax_oracle.cli import main

    result = CliRunner().invoke(main, words[1:] + ["--format", "csv"])
    sys.modules.pop("mykern", None)
    assert result.exit_code == 1, result.output[-2000:]
    said = re.search(r"`(FAIL: .*?)`", _section("Check your own kernel")).group(1)
    for part in said.split("..."):
        assert part.strip().split(" max ")[0] in result.stderr, part
