"""The Python API: ``hgobs.analyze`` -> a Report of DataFrames, ``hgobs.classify`` -> verdicts."""

from __future__ import annotations

import json
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import hgobs
from hgobs.api import AnalysisWarning, ClassifiedRecord, ClientIdMismatchWarning, Skipped
from hgobs.cli import cli
from hgobs.errors import ConfigError, ProfileError
from tests.test_cli import record_line, write
from tests.test_lean_install import lean_run

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "attempts.jsonl"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_analyze_returns_the_report_the_cli_renders():
    """hgobs.analyze gives a Report whose tables are DataFrames and whose JSON rendering is
    the CLI's report, value for value (apart from when it was made)."""
    report = hgobs.analyze(SAMPLES, now=NOW)
    assert isinstance(report, hgobs.Report)
    assert isinstance(report.categories, pd.DataFrame) and isinstance(report.records, pd.DataFrame)
    assert dict(report.totals) == {"read": 54, "classified": 54, "skipped": 0, "attempts": 54,
                                   "ok": 9, "failed": 45, "token_exchange": 45, "api_call": 9}
    ours = json.loads(report.render("json"))
    assert ours["generated_at"] == "2026-01-02T03:04:05Z"
    cli_doc = json.loads(CliRunner().invoke(cli, ["analyze", "--format", "json",
                                                  str(SAMPLES)]).stdout)
    assert {**ours, "generated_at": None} == {**cli_doc, "generated_at": None}


@pytest.mark.parametrize("suffix, starts", [(".html", "<!doctype html>"), (".json", "{"),
                                            (".md", "# hgobs auth failure report"), (".csv", "bucket,"),
                                            (".txt", "Failing now, as of")])
def test_write_picks_the_format_from_the_extension(tmp_path, suffix, starts):
    """report.write(path) writes the format the extension names, whole, and says which."""
    report = hgobs.analyze(SAMPLES, now=NOW)
    target = tmp_path / f"report{suffix}"
    fmt = report.write(target)
    assert target.read_text().lower().startswith(starts.lower())
    assert target.read_text() == report.render(fmt)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_options_mirror_the_cli(tmp_path):
    """since/until (ISO text or datetimes), bucket and client_id work as the CLI's options."""
    path = write(tmp_path, [record_line(1700000000.0), record_line(1700003600.0)])
    windowed = hgobs.analyze(path, since="2023-11-14T23:00:00Z", bucket="1h")
    assert windowed.totals["attempts"] == 1 and windowed.bucket_seconds == 3600.0
    same = hgobs.analyze(path, since=datetime(2023, 11, 14, 23), bucket="1h")
    assert same.totals["attempts"] == 1
    assert list(hgobs.analyze(path, until="2023-11-14T23:00:00").categories["count"]) == [1]


@pytest.mark.parametrize("options, option", [
    ({"bucket": "fortnightly"}, "bucket"), ({"recurring_min": 0}, "recurring_min"),
    ({"since": "2025-01-02", "until": "2025-01-01"}, "since"), ({"since": "yesterday"}, "since"),
    ({"format": "pdf"}, "format")])
def test_bad_options_raise_config_error_before_reading(tmp_path, options, option):
    """A bad option is a ConfigError naming it, raised before any input is opened (the path
    given does not exist)."""
    missing = tmp_path / "never-read.jsonl"
    if option == "format":
        with pytest.raises(ConfigError, match="not one of text, json, markdown, csv, html"):
            hgobs.analyze(SAMPLES).render("pdf")
        return
    with pytest.raises(ConfigError) as caught:
        hgobs.analyze(missing, **options)
    assert caught.value.option == option
    assert str(caught.value).startswith(f"{option}: ")


def test_a_bad_profile_or_path_is_said():
    """An unknown profile raises ProfileError; a path that matches nothing FileNotFoundError."""
    with pytest.raises(ProfileError):
        hgobs.analyze(SAMPLES, profile="no-such-provider")
    with pytest.raises(FileNotFoundError):
        hgobs.analyze("no/such/folder/*.jsonl")


def test_classify_yields_verdicts_and_skipped_items_in_input_order(tmp_path):
    """One ClassifiedRecord per record, one Skipped per unreadable line, in input order; a record
    whose time is out of range (milliseconds, NaN) is a Skipped whose reason quotes nothing."""
    path = write(tmp_path, [record_line(1700000000.0), "{not json",
                            record_line(1700000000.0).replace("1700000000.0", "1700000000000.0", 1),
                            record_line(1700000001.0).replace("1700000001.0", "NaN", 1)])
    got = list(hgobs.classify(path))
    assert [type(v) for v in got] == [ClassifiedRecord, Skipped, Skipped, Skipped]
    assert got[0].time == "2023-11-14T22:13:20Z" and got[0].category == "expired_assertion"
    assert got[0].as_dict() == {"source": f"{path}:1", "time": "2023-11-14T22:13:20Z",
                                "category": "expired_assertion", "confidence": "confirmed",
                                "evidence": ["assertion.seconds_to_expiry=-3300"], "also": []}
    assert got[1] == Skipped(f"{path}:2", "not JSON (JSONDecodeError at column 2)")
    assert [got[2].reason, got[3].reason] == [
        "record time out of range (not seconds from 1970 to 2100)"] * 2


def test_rejudge_judges_a_stamped_verdict_again(tmp_path):
    """A record stamped by these rules under the profile in use keeps its verdict (also when
    that profile is named); with rejudge, or under another profile, it is judged again."""
    from hgobs.diagnosis.stamp import RULES_DIGEST, profile_stamp
    from hgobs.profiles import load_profile

    stamped = record_line(1700000000.0, category="rate_limited", confidence="confirmed",
                          **{"diagnosis.rules": RULES_DIGEST,
                             "diagnosis.profile": profile_stamp(load_profile("healthgorilla"))})
    path = write(tmp_path, [stamped])
    assert [v.category for v in hgobs.classify(path)] == ["rate_limited"]
    assert [v.category for v in hgobs.classify(path, profile="healthgorilla")] == ["rate_limited"]
    assert [v.category for v in hgobs.classify(path, rejudge=True)] == ["expired_assertion"]
    other = hgobs.classify(path, token_urls=["https://auth.example.test/oauth/token"])
    assert [v.category for v in other] == ["expired_assertion"]
    kept = hgobs.analyze(path).categories["category"].tolist()
    again = hgobs.analyze(path, rejudge=True).categories["category"].tolist()
    assert (kept, again) == (["rate_limited"], ["expired_assertion"])


def test_notes_are_warnings(tmp_path):
    """A file in a folder that is not a log, and a client id whose fingerprint is in no record,
    are AnalysisWarnings; a client id without a key too; the report is made all the same."""
    (tmp_path / "notes.txt").write_text("not a log\n")
    write(tmp_path, [record_line(1700000000.0, **{"client.fp": "fp-of-someone-else"})])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = hgobs.analyze(tmp_path, client_id="my-client", fingerprint_key="a-key")
        no_key = list(hgobs.classify(tmp_path, client_id="my-client", fingerprint_key=""))
    assert report.totals["classified"] == 1 and len(no_key) == 1
    said = [(w.category, str(w.message).split(" ")[0:3]) for w in caught]
    assert said == [
        (AnalysisWarning, ["left", "out", "1"]),
        (ClientIdMismatchWarning, ["the", "fingerprint", "of"]),
        (AnalysisWarning, ["--client-id", "needs", "HGOBS_FINGERPRINT_KEY"]),
        (AnalysisWarning, ["left", "out", "1"])]
    assert all(w.filename == __file__ for w in caught)


def test_the_api_without_the_analyze_extra_names_it(tmp_path):
    """On the lean install ``import hgobs`` works and hgobs.analyze raises MissingExtraError
    naming the analyze extra; pandas is not imported by ``import hgobs``."""
    probe = ("import sys, hgobs\n"
             "print('pandas' in sys.modules)\n"
             "try: hgobs.analyze\n"
             "except hgobs.MissingExtraError as e: print(e.extras, e)\n")
    done = lean_run(tmp_path, [sys.executable, "-c", probe], extras=("instruments",))
    assert done.stdout.splitlines() == [
        "False", "('analyze',) hgobs.analyze needs pip install 'hgobs[analyze]' "
        "(click is not installed)"], done.stderr


def test_the_readme_example_runs(tmp_path):
    """The README's Python API example runs as written (in a folder holding samples/, here with
    one more file whose second line is damaged) and writes the HTML report it names."""
    import re
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[1]
    section = (root / "README.md").read_text().split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    shutil.copytree(root / "samples", tmp_path / "samples")
    first = (root / "samples" / "attempts.jsonl").read_text().splitlines()[0]
    (tmp_path / "samples" / "more.jsonl").write_text(first + "\n{cut\n")
    done = subprocess.run([sys.executable, "-W", "ignore::hgobs.api.AnalysisWarning", "-c", code],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "32"
    assert "samples/attempts.jsonl:1 2025-11-24T16:00:00Z ok" in done.stdout
    assert "samples/more.jsonl:2 skipped: not JSON" in done.stdout
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
