"""The text report's layout: it fits the width, is coloured only when asked, and opens with what
is failing now; ``terminal.text_layout`` decides width and colour for the command line."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

import hgobs
from hgobs.cli import cli
from hgobs.diagnosis.catalog import CATEGORIES
from hgobs.reports import render
from hgobs.reports.terminal import MIN_WIDTH, PIPED_WIDTH, text_layout
from tests.analysis.records import CLIENT_A, CLIENT_B, rec, result
from tests.reports.sample import NOW, sample_report
from tests.support.whole import build_report

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def reports():
    with pytest.warns(hgobs.AnalysisWarning, match="synthetic data"):  # the samples' note
        samples = hgobs.analyze(SAMPLES, now=NOW)
    return {"sample": sample_report(), "samples": samples}


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("width", [MIN_WIDTH, 80, 120, 200])
@pytest.mark.parametrize("name", ["sample", "samples"])
def test_no_line_is_wider_than_the_width(reports, name, width):
    out = render(reports[name], "text", width=width)
    lines = out.splitlines()
    assert lines and max(cell_len(line) for line in lines) <= width
    assert all(line == line.rstrip() for line in lines)
    assert "\x1b" not in out


def test_it_opens_with_what_is_failing_now_and_each_fix(reports):
    """B (two failures, environment_mismatch, 22 h before the last failure) before C (one
    failure, at the last failure); A recovered and is not listed. At 80 columns the fixes
    wrap and stay whole."""
    out = render(reports["sample"], "text", width=80)
    lines = out.splitlines()
    assert lines[0] == "Failing now, as of the last failure read (2024-03-06 10:00:00Z):"
    section = _words(out[:out.index("hgobs report:")])
    fix_b = CATEGORIES["environment_mismatch"].fix
    fix_c = CATEGORIES["missing_access_token"].fix
    assert section == _words(
        f"{lines[0]} a1b2c3d4e5f60718: 2 failures since 2024-03-05 12:00:00Z (for 22 h) "
        f"environment_mismatch: {fix_b} "
        f"0c0ffee000000001: 1 failure at 2024-03-06 10:00:00Z "
        f"missing_access_token: {fix_c}")
    assert CLIENT_A not in section
    assert out.index("hgobs report: 16 records read") < out.index("Failures by category")


def test_the_markdown_report_opens_with_the_same_section(reports):
    out = render(reports["sample"], "md")
    assert out.startswith("# hgobs auth failure report\n\n## Failing now\n\n"
                          "As of the last failure read (2024-03-06 10:00:00Z):\n\n"
                          "- `a1b2c3d4e5f60718`: 2 failures since 2024-03-05 12:00:00Z "
                          "(for 22 h)\n  - `environment_mismatch`: ")
    assert ("- `0c0ffee000000001`: 1 failure at 2024-03-06 10:00:00Z\n"
            "  - `missing_access_token`: Store the access_token from the token response and "
            "send it as 'Authorization: Bearer &lt;access_token&gt;'.\n") in out
    assert out.index("## Failing now") < out.index("## Failures by category")


def test_an_episode_lists_every_category_with_its_fix():
    report = build_report(result(
        rec(0, "rate_limited", client=CLIENT_B), rec(30, "clock_skew", client=CLIENT_B),
        rec(90, "rate_limited", client=CLIENT_B)), now=NOW)
    out = render(report, "text", width=120)
    section = _words(out[:out.index("hgobs report:")])
    assert section.endswith(_words(
        f"a1b2c3d4e5f60718: 3 failures since 2024-03-04 00:00:00Z (for 1 min 30 s) "
        f"clock_skew: {CATEGORIES['clock_skew'].fix} "
        f"rate_limited: {CATEGORIES['rate_limited'].fix}"))
    assert "clock_skew, rate_limited" in out  # the recovery table's categories


@pytest.mark.parametrize(("records", "said"), [
    ((rec(0), rec(60, "ok")),
     "Nothing is failing now: every failure was followed by a successful token exchange of "
     "its client."),
    ((rec(60, "ok"),), "Nothing is failing now: no failures found."),
    ((), "Nothing is failing now: no failures found.")])
def test_nothing_failing_is_said_first(records, said):
    report = build_report(result(*records), now=NOW)
    for fmt in ("text", "md"):
        assert said in render(report, fmt).splitlines()[:6]
    assert render(report, "text").splitlines()[0] == said


def test_colour_only_when_asked_and_record_text_is_never_markup(monkeypatch, reports):
    """Red for what fails, green for what works, bold titles; none without ``color`` even
    with FORCE_COLOR set; text that looks like rich markup is printed as it is."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = render(reports["sample"], "text", width=100, color=True)
    assert "\x1b[31m" in coloured and "\x1b[32m" in coloured and "\x1b[1m" in coloured
    assert max(cell_len(ANSI.sub("", line)) for line in coloured.splitlines()) <= 100
    assert ANSI.sub("", coloured).splitlines()[0] == render(reports["sample"], "text",
                                                            width=100).splitlines()[0]
    assert "\x1b" not in render(reports["sample"], "text", width=100)
    odd = build_report(result(rec(0, env="[red]prod[/red] :smile:")), now=NOW)
    assert "[red]prod[/red] :smile:" in render(odd, "text", width=200)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "to_file", "env", "width", "color"), [
    (io.StringIO(), False, {}, PIPED_WIDTH, False),
    (io.StringIO(), False, {"FORCE_COLOR": "1"}, PIPED_WIDTH, True),
    (io.StringIO(), False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, PIPED_WIDTH, False),
    (io.StringIO(), False, {"FORCE_COLOR": ""}, PIPED_WIDTH, False),
    (io.StringIO(), False, {"COLUMNS": "132"}, 132, False),
    (io.StringIO(), False, {"COLUMNS": "12"}, MIN_WIDTH, False),
    (io.StringIO(), False, {"COLUMNS": "wide"}, PIPED_WIDTH, False),
    (_Tty(), False, {"COLUMNS": "100"}, 100, True),
    (_Tty(), False, {"COLUMNS": "100", "NO_COLOR": "1"}, 100, False),
    (_Tty(), False, {"COLUMNS": "100", "NO_COLOR": ""}, 100, True),
    (_Tty(), True, {"FORCE_COLOR": "1"}, PIPED_WIDTH, False),
])
def test_text_layout(stream, to_file, env, width, color):
    assert text_layout(stream, to_file=to_file, environ=env) == {"width": width,
                                                                 "color": color}


def test_a_terminal_without_columns_gives_its_own_width(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("shutil.get_terminal_size", lambda fallback: os.terminal_size((97, 30)))
    assert text_layout(_Tty(), environ={}) == {"width": 97, "color": True}


def test_the_cli_writes_80_columns_to_a_pipe_and_colour_only_when_forced(tmp_path):
    runner = CliRunner(env={"COLUMNS": None, "NO_COLOR": None, "FORCE_COLOR": None})
    plain = runner.invoke(cli, ["analyze", str(SAMPLES)])
    assert plain.exit_code == 0
    assert max(cell_len(line) for line in plain.stdout.splitlines()) == 80
    assert "\x1b" not in plain.stdout
    forced = runner.invoke(cli, ["analyze", str(SAMPLES)], env={"FORCE_COLOR": "1"})
    assert "\x1b[31m" in forced.stdout
    assert ANSI.sub("", forced.stdout) == plain.stdout
    assert "\x1b" not in runner.invoke(cli, ["analyze", str(SAMPLES)],
                                       env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    target = tmp_path / "report.txt"
    runner.invoke(cli, ["analyze", str(SAMPLES), "-o", str(target)], env={"FORCE_COLOR": "1"})
    assert target.read_text() == plain.stdout
