"""Command-line habits: relative times, ``--format md``, output extensions, shell completion,
and help that does not import the analyzer (pandas)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

import hgobs
from hgobs import api
from hgobs.cli import cli
from hgobs.cliparts import EMULATE_HELP, LazyGroup, classify_totals, skipped_line
from hgobs.dispatch import COMMANDS
from hgobs.errors import ConfigError
from hgobs.options import format_for, format_named, parse_time, relative_seconds
from tests.test_cli import record_line, write
from tests.test_lean_install import lean_run

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
T = 1700000000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(("text", "back"), [
    ("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), (" 0h ", timedelta(0)),
    ("007d", timedelta(days=7))])
def test_a_relative_time_is_that_long_before_now(text, back):
    assert parse_time(text, "since", now=NOW) == NOW - back
    assert api.parse_time(text, "since", now=NOW) == NOW - back


def test_a_naive_now_is_utc_and_iso_times_still_parse():
    assert parse_time("1h", now=datetime(2026, 3, 1, 12)) == datetime(2026, 3, 1, 11,
                                                                      tzinfo=timezone.utc)
    assert parse_time("2025-11-28T01:00:00Z") == datetime(2025, 11, 28, 1, tzinfo=timezone.utc)
    assert parse_time("2025-11-28") == datetime(2025, 11, 28, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["24", "h", "-5h", "1.5h", "24H", "24 h", "5y", "yesterday",
                                  "1234567890d", "٣h", ""])
def test_other_text_is_no_time_and_the_error_names_the_forms(text):
    assert relative_seconds(text) is None
    with pytest.raises(ConfigError) as caught:
        parse_time(text, "since", now=NOW)
    message = str(caught.value)
    assert message.startswith("since: not a time; give ISO 8601")
    assert "90s, 30m, 24h, 7d, 2w" in message


def test_a_relative_time_before_year_one_is_a_config_error():
    with pytest.raises(ConfigError, match="before year 1"):
        parse_time("999999999w", "since", now=NOW)


def test_the_api_counts_a_relative_since_back_from_its_now(tmp_path):
    """Records an hour apart; since 1h before a now 90 minutes after the first keeps the
    second only; until 1h keeps the first only."""
    path = write(tmp_path, [record_line(T), record_line(T + 3600)])
    now = datetime.fromtimestamp(T + 5400, tz=timezone.utc)
    assert hgobs.analyze(path, since="1h", now=now).totals["attempts"] == 1
    assert hgobs.analyze(path, since="90m", now=now).totals["attempts"] == 2
    until = hgobs.analyze(path, until="1h", now=now, bucket="1h")
    assert until.totals["attempts"] == 1
    assert until.until == datetime.fromtimestamp(T + 1800, tz=timezone.utc)


def test_the_cli_takes_relative_times(tmp_path):
    """The records are from 2023: --since 24h leaves none, --since 3000w (57 years) all."""
    path = write(tmp_path, [record_line(T), record_line(T + 3600)])
    runner = CliRunner()
    recent = runner.invoke(cli, ["analyze", str(path), "--since", "24h", "--format", "json"])
    assert recent.exit_code == 0, recent.output
    assert json.loads(recent.stdout)["totals"]["attempts"] == 0
    every = runner.invoke(cli, ["analyze", str(path), "--since", "3000w", "--format", "json"])
    assert json.loads(every.stdout)["totals"]["attempts"] == 2
    bad = runner.invoke(cli, ["analyze", str(path), "--since", "yesterday"])
    assert bad.exit_code == 2
    assert "90s, 30m, 24h, 7d, 2w" in bad.stderr and "yesterday" not in bad.stderr


def test_format_md_is_markdown(tmp_path):
    path = write(tmp_path, [record_line(T)])
    runner = CliRunner()
    md = runner.invoke(cli, ["analyze", str(path), "--format", "md"])
    markdown = runner.invoke(cli, ["analyze", str(path), "--format", "markdown"])
    assert md.exit_code == 0 and md.stdout.startswith("# ")
    assert md.stdout.replace("\n", "")[:200] == markdown.stdout.replace("\n", "")[:200]
    assert format_named("md") == "markdown"
    assert hgobs.analyze(path).render("md").startswith("# ")


@pytest.mark.parametrize("name", ["report.pdf", "report", "report.json.bak", "notes.tx"])
def test_an_output_file_that_names_no_format_is_a_usage_error(tmp_path, name):
    """Exit 2 before reading (the input does not exist), naming the extensions and formats;
    nothing written."""
    target = tmp_path / name
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "missing.jsonl"), "-o",
                                      str(target)])
    assert result.exit_code == 2
    assert ".md" in result.stderr and ".html" in result.stderr and "--format" in result.stderr
    assert "no such file" not in result.stderr
    assert not target.exists()
    with pytest.raises(ConfigError):
        format_for(str(target))


def test_format_names_the_format_of_any_output_file_and_known_extensions_need_none(tmp_path):
    path = write(tmp_path, [record_line(T)])
    runner = CliRunner()
    named = runner.invoke(cli, ["analyze", str(path), "-o", str(tmp_path / "report"),
                                "--format", "json"])
    assert named.exit_code == 0, named.output
    assert json.loads((tmp_path / "report").read_text())["totals"]["attempts"] == 1
    assert runner.invoke(cli, ["analyze", str(path), "-o", str(tmp_path / "r.TXT")]).exit_code == 0
    assert (tmp_path / "r.TXT").read_text().startswith("Failing now, as of")
    assert format_for(None) == "text" and format_for("a/b.Markdown") == "markdown"
    with pytest.raises(ConfigError, match="output: "):
        hgobs.analyze(path).write(tmp_path / "r.pdf")


def _hgobs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``hgobs`` (the console script's entry point) in a child process."""
    return subprocess.run([sys.executable, "-c", "from hgobs.dispatch import main; main()",
                           *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_shell_completion_scripts_and_answers_come_from_the_console_script():
    bash = _hgobs({"_HGOBS_COMPLETE": "bash_source"})
    assert bash.returncode == 0
    assert "complete -o nosort -F _hgobs_completion hgobs" in bash.stdout
    assert "#compdef hgobs" in _hgobs({"_HGOBS_COMPLETE": "zsh_source"}).stdout
    assert "complete --no-files --command hgobs" in _hgobs(
        {"_HGOBS_COMPLETE": "fish_source"}).stdout
    words = _hgobs({"_HGOBS_COMPLETE": "bash_complete", "COMP_WORDS": "hgobs analyze --format ",
                    "COMP_CWORD": "3"})
    assert words.stdout.split() == ["plain,text", "plain,json", "plain,markdown", "plain,csv",
                                    "plain,html", "plain,md"]
    commands = _hgobs({"_HGOBS_COMPLETE": "bash_complete", "COMP_WORDS": "hgobs c",
                       "COMP_CWORD": "1"})
    assert commands.stdout.split() == ["plain,categories", "plain,check-assertion",
                                       "plain,classify"]


def test_completion_without_the_analyze_extra_prints_no_script(tmp_path):
    """The lean install: nothing on stdout for the shell to run, the reason on stderr."""
    result = lean_run(tmp_path, [sys.executable, "-c", "from hgobs.dispatch import main; main()"],
                      env={"_HGOBS_COMPLETE": "bash_source"})
    assert result.returncode == 2 and result.stdout == ""
    assert "hgobs[analyze]" in result.stderr


HEAVY = ("pandas", "numpy", "plotly", "pyarrow", "starlette")


@pytest.mark.parametrize("command", [None, *sorted(COMMANDS - {"emulate"})])
def test_help_imports_no_analyzer(command):
    """``hgobs --help`` and each command's help load neither pandas nor numpy nor plotly (nor
    the emulator's web stack)."""
    args = ["--help"] if command is None else [command, "--help"]
    probe = ("import sys\nfrom hgobs.dispatch import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as e:\n    code = e.code\n"
             f"sys.stderr.write(repr(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip(), result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_the_group_help_lists_emulate_as_the_command_says_itself():
    """The help a group lists before the emulator is loaded equals the help listed after (a
    fresh group: another test may have loaded it into ``cli`` already)."""
    from hgobs.emulator import emulate

    assert emulate.help.split(".")[0] + "." == EMULATE_HELP
    fresh = LazyGroup("hgobs", commands={k: v for k, v in cli.commands.items()
                                         if k != "emulate"}, help=cli.help)
    before = CliRunner().invoke(fresh, ["--help"]).output
    assert "emulate" not in fresh.commands and "emulate" in before
    with fresh.make_context("hgobs", ["--help"], resilient_parsing=True) as ctx:
        assert fresh.get_command(ctx, "emulate") is emulate
    assert CliRunner().invoke(fresh, ["--help"]).output == before


@pytest.mark.parametrize("text", ["1500-01-01", "0001-01-01T00:00:00Z", "2500-01-01",
                                  "9999-12-31", "20000w", "200000d"])
def test_a_time_the_analyzer_cannot_hold_is_a_usage_error(tmp_path, text):
    """Times before 1677-09-22 or after 2262-04-10 (pandas' nanosecond timestamps) are refused
    by ``parse_time`` naming the range, as a usage error on the command line (exit 2, no
    traceback) and a ``ConfigError`` from the API, for --since and --until alike."""
    with pytest.raises(ConfigError, match="from 1677-09-22 to 2262-04-10"):
        parse_time(text, "since", now=NOW)
    path = write(tmp_path, [record_line(T)])
    for option in ("--since", "--until"):
        result = CliRunner().invoke(cli, ["analyze", str(path), option, text])
        assert result.exit_code == 2, result.output
        assert "1677-09-22 to 2262-04-10" in result.stderr and "Traceback" not in result.output
    with pytest.raises(ConfigError):
        hgobs.analyze(path, until=datetime(1500, 1, 1, tzinfo=timezone.utc))
    assert parse_time("1677-09-22", now=NOW).year == 1677  # the ends are times
    assert parse_time("2262-04-10T23:59:59Z", now=NOW).year == 2262


def test_classify_says_its_totals_and_skips_in_one_wording_live_or_not():
    """The lines hgobs classify and hgobs classify --follow both say on standard error."""
    assert classify_totals(5, 2) == "hgobs: 7 read, 5 classified, 2 skipped"
    assert classify_totals(5, 0, late=1) == \
        "hgobs: 5 read, 5 classified, 0 skipped, 1 record late (beyond --lateness)"
    assert classify_totals(5, 0, late=3).endswith(", 3 records late (beyond --lateness)")
    assert skipped_line("app.log:3", "not JSON") == "app.log:3: skipped: not JSON"
