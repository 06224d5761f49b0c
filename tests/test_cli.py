"""The hgobs command: analyze, classify and categories over JSON Lines records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hgobs.cli import cli
from hgobs.diagnosis.catalog import CATALOG
from hgobs.schema import SCHEMA_ID


def record_line(time: float, **fields) -> str:
    """One hgobs JSON Lines record at ``time``: an expired assertion refused with invalid_grant
    (``fields`` added or replacing)."""
    base = {"schema": SCHEMA_ID, "time": time, "endpoint.kind": "token_exchange",
            "environment": "sandbox", "http.method": "POST",
            "url": "https://sandbox.healthgorilla.com/oauth/token", "http.status": 400,
            "response.error": "invalid_grant", "request.body_kind": "form",
            "form.grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion.source": "assertion", "assertion.aud": "https://sandbox.healthgorilla.com/oauth/token",
            "assertion.iat": time - 3600, "assertion.exp": time - 3300}
    base.update(fields)
    return json.dumps(base)


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "attempts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_classify_prints_one_object_per_record_in_input_order(tmp_path):
    """classify prints source file:line, ISO time, category, confidence and evidence."""
    path = write(tmp_path, [record_line(1700000000.0), "", record_line(1700000100.0, **{"http.status": 200, "response.error": None})])
    result = CliRunner().invoke(cli, ["classify", str(path)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["source"] for o in out] == [f"{path}:1", f"{path}:3"]
    assert out[0]["time"] == "2023-11-14T22:13:20Z"
    assert out[0]["category"] == "expired_assertion"
    assert out[0]["confidence"] == "confirmed"
    assert out[0]["evidence"] == ["assertion.seconds_to_expiry=-3300"]
    assert out[1]["category"] == "ok"


def test_bad_lines_are_reported_with_file_and_line_and_never_fatal(tmp_path):
    """Unreadable lines are skipped with their file:line and reason; totals reconcile."""
    path = write(tmp_path, [record_line(1700000000.0), "{not json", '{"schema": "other"}', "[1,2]",
                            record_line(1700000001.0)])
    result = CliRunner().invoke(cli, ["classify", str(path)])
    assert result.exit_code == 0
    assert f"{path}:2: skipped: not JSON" in result.stderr
    assert f"{path}:3: skipped: not an hgobs record" in result.stderr
    assert f"{path}:4: skipped: not a JSON object" in result.stderr
    assert "5 read, 2 classified, 3 skipped" in result.stderr


def test_analyze_text_counts_categories_per_environment(tmp_path):
    """analyze prints the totals line and one row per (category, environment) with the fix."""
    path = write(tmp_path, [record_line(1700000000.0), record_line(1700000060.0),
                            record_line(1700000120.0, environment="production"), "junk"])
    # Wide (COLUMNS): a piped text report is 80 columns, and its long lines would wrap.
    result = CliRunner(env={"COLUMNS": "400"}).invoke(cli, ["analyze", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "4 records read, 3 classified (0 ok, 3 failed), 1 skipped" in result.stdout
    assert "expired_assertion" in result.stdout
    assert "2023-11-14 22:13:20Z" in result.stdout and "2023-11-14 22:15:20Z" in result.stdout
    assert "Make a fresh assertion immediately before each token request" in result.stdout
    assert f"{path}:4: not JSON" in result.stdout


def test_analyze_json_matches_counts(tmp_path):
    """analyze --format json gives counts, first/last seen and skipped lines."""
    write(tmp_path, [record_line(1700000000.0), record_line(1700000060.0)])
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", str(tmp_path)])
    doc = json.loads(result.stdout)
    assert doc["read"] == 2 and doc["totals"]["failed"] == 2
    assert doc["categories"] == [{
        "category": "expired_assertion", "environment": "sandbox", "count": 2,
        "fix": doc["categories"][0]["fix"], "first_seen": "2023-11-14T22:13:20Z",
        "last_seen": "2023-11-14T22:14:20Z"}]


def test_missing_path_is_a_usage_error(tmp_path):
    """A path that does not exist exits 2 and names the path."""
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output


def test_categories_lists_the_whole_catalog():
    """categories names every catalog id with its fix."""
    result = CliRunner().invoke(cli, ["categories", "--format", "json"])
    listed = json.loads(result.stdout)
    assert [c["id"] for c in listed] == [c.id for c in CATALOG]
    assert all(c["fix"] and c["source"] for c in listed)


def test_fail_on_sets_exit_code(tmp_path):
    """--fail-on exits 1 when a named category (or any failure) is present, else 0."""
    write(tmp_path, [record_line(1700000000.0)])
    runner = CliRunner()
    assert runner.invoke(cli, ["analyze", str(tmp_path), "--fail-on", "expired_assertion"]).exit_code == 1
    assert runner.invoke(cli, ["analyze", str(tmp_path), "--fail-on", "any"]).exit_code == 1
    assert runner.invoke(cli, ["analyze", str(tmp_path), "--fail-on", "rate_limited"]).exit_code == 0
    bad = runner.invoke(cli, ["analyze", str(tmp_path), "--fail-on", "no_such_category"])
    assert bad.exit_code == 2 and "no_such_category" in bad.output


def test_output_file_is_written_whole(tmp_path):
    """-o writes the report to the file and leaves no temporary file behind."""
    write(tmp_path, [record_line(1700000000.0)])
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["analyze", str(tmp_path / "attempts.jsonl"), "--format", "json", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text())["totals"]["failed"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.json"]


def test_the_command_loads_no_http_or_web_stack_until_a_command_needs_it():
    """``hgobs analyze`` on JSON Lines pays for neither httpx/PyJWT (raw inputs and capture)
    nor the emulator's web stack; ``hgobs emulate`` still finds its command."""
    import subprocess
    import sys

    heavy = ("httpx", "jwt", "starlette", "uvicorn", "opentelemetry")
    probe = ("import sys; from hgobs.cli import cli; "
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    result = CliRunner().invoke(cli, ["emulate", "--help"])
    assert result.exit_code == 0 and "Health Gorilla-like auth server" in result.output
    assert "emulate" in CliRunner().invoke(cli, ["--help"]).output


def test_standard_input_without_a_buffer_of_its_own_is_read_like_the_file():
    """``hgobs analyze -`` where standard input is a plain in-memory stream (as in a test
    harness or an embedding application): the same report as the file gives."""
    from tests.support.reports import analyze_json, without_sources

    samples = Path(__file__).resolve().parents[1] / "samples" / "attempts.jsonl"
    piped = without_sources(analyze_json("-", input=samples.read_bytes()))
    assert piped == without_sources(analyze_json(samples))
    assert piped["read"] == len(samples.read_text().splitlines())

def test_counts_of_one_are_singular(tmp_path):
    """One record read, one line skipped, one file left out: no '1 records', no '(s)'."""
    logs = tmp_path / "logs"
    logs.mkdir()
    write(logs, [record_line(1700000000.0), "{not json"])
    (logs / "notes.txt").write_text("not a log\n")
    result = CliRunner().invoke(cli, ["analyze", str(logs)])
    assert result.exit_code == 0, result.output
    assert "hgobs report: 2 records read, 1 classified (0 ok, 1 failed), 1 skipped" in result.stdout
    assert "Skipped 1 input line:" in result.stdout
    assert f"hgobs: left out 1 file found in folders that are not logs: {logs / 'notes.txt'}" \
        in result.stderr
    (logs / "attempts.jsonl").write_text(record_line(1700000000.0) + "\n")
    one = CliRunner().invoke(cli, ["analyze", str(logs / "attempts.jsonl")])
    assert "hgobs report: 1 record read, 1 classified (0 ok, 1 failed), 0 skipped" in one.stdout


SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "attempts.jsonl"


def test_fail_on_matches_only_failures_inside_the_report_window(tmp_path):
    """--fail-on looks at what the report counts: a failure before --since or at/after --until
    is not a match (exit 0), one inside the window is (exit 1)."""
    write(tmp_path, [record_line(1700000000.0)])  # expired_assertion at 2023-11-14T22:13:20Z
    runner = CliRunner()
    base = ["analyze", str(tmp_path / "attempts.jsonl")]
    later = runner.invoke(cli, [*base, "--fail-on", "expired_assertion",
                                "--since", "2030-01-01T00:00:00Z"])
    assert later.exit_code == 0, later.output
    assert "1 classified, 0 in the window (0 ok, 0 failed)" in later.stdout
    assert "--fail-on matched" not in later.stderr
    earlier = runner.invoke(cli, [*base, "--fail-on", "any", "--until", "2023-11-14T22:13:20Z"])
    assert earlier.exit_code == 0, earlier.output
    inside = runner.invoke(cli, [*base, "--fail-on", "any", "--since", "2023-11-14T22:13:20Z",
                                 "--until", "2023-11-14T22:13:21Z"])
    assert inside.exit_code == 1
    assert "hgobs: --fail-on matched: expired_assertion" in inside.stderr


def test_fail_on_with_a_window_after_the_samples_exits_0():
    """The samples hold environment_mismatch failures, all before 2030: a window from 2030
    reports no failure and --fail-on environment_mismatch exits 0; without the window, 1."""
    runner = CliRunner()
    base = ["analyze", str(SAMPLES), "--fail-on", "environment_mismatch"]
    windowed = runner.invoke(cli, [*base, "--since", "2030-01-01T00:00:00Z"])
    assert windowed.exit_code == 0, windowed.output
    assert "No failures found." in windowed.stdout
    whole = runner.invoke(cli, base)
    assert whole.exit_code == 1
    assert "hgobs: --fail-on matched: environment_mismatch" in whole.stderr


def _invalid_client_id(stdout: str) -> int:
    doc = json.loads(stdout)
    return sum(c["count"] for c in doc["categories"] if c["category"] == "invalid_client_id")


def test_client_id_whose_fingerprint_is_in_no_record_is_warned_about():
    """--client-id with a fingerprint key other than the records' (or another client id): one
    warning on stderr that iss/sub judgements may be wrong; the report is as it was. With the
    records' key and client id: no warning."""
    from hgobs.emulator.scenarios.exchange import MAIN
    from hgobs.emulator.scenarios.runner import FINGERPRINT_KEY

    runner = CliRunner()
    args = ["analyze", str(SAMPLES), "--format", "json",
            "--client-id", MAIN.client_id]
    wrong = runner.invoke(cli, args, env={"HGOBS_FINGERPRINT_KEY": "not-the-records-key"})
    assert wrong.exit_code == 0, wrong.output
    assert wrong.stderr.count("hgobs: warning:") == 1
    assert ("hgobs: warning: the fingerprint of --client-id under HGOBS_FINGERPRINT_KEY is none "
            "of the 3 client fingerprints (client.fp) of the records") in wrong.stderr
    assert "may be wrong" in wrong.stderr
    assert _invalid_client_id(wrong.stdout) == 13  # iss/sub judged against a foreign fingerprint
    right = runner.invoke(cli, args, env={"HGOBS_FINGERPRINT_KEY": FINGERPRINT_KEY.decode()})
    assert right.exit_code == 0, right.output
    assert "warning" not in right.stderr
    assert _invalid_client_id(right.stdout) == 2
    other = runner.invoke(cli, [*args[:-1], "not-a-client-of-the-records"],
                          env={"HGOBS_FINGERPRINT_KEY": FINGERPRINT_KEY.decode()})
    assert other.stderr.count("hgobs: warning: the fingerprint of --client-id") == 1


def test_classify_warns_too_when_the_client_fingerprint_is_in_no_record():
    """classify --client-id with another key: the same warning after the counts line."""
    from hgobs.emulator.scenarios.exchange import MAIN

    result = CliRunner().invoke(cli, ["classify", str(SAMPLES), "--client-id", MAIN.client_id],
                                env={"HGOBS_FINGERPRINT_KEY": "not-the-records-key"})
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-2:] == [
        "hgobs: 54 read, 54 classified, 0 skipped",
        "hgobs: warning: the fingerprint of --client-id under HGOBS_FINGERPRINT_KEY is none of "
        "the 3 client fingerprints (client.fp) of the records: the key or the client id is not "
        "the one the records were made with, so the iss/sub judgements against the client id "
        "(such as invalid_client_id) may be wrong"]


def test_output_file_run_says_how_many_lines_were_skipped_and_the_first(tmp_path):
    """With -o, stderr counts the skipped input lines, says the report lists them (the CSV
    report does not) and names the first five with their reason; nothing when none was."""
    path = write(tmp_path, [record_line(1700000000.0), "{not json", "[1, 2]",
                            *[f"junk {i}" for i in range(5)], record_line(1700000060.0)])
    runner = CliRunner()
    html = tmp_path / "mixed.html"
    result = runner.invoke(cli, ["analyze", str(path), "-o", str(html)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"hgobs: html report written to {html}",
        f"hgobs: 7 input lines skipped ({html} lists them under skipped input)",
        f"  {path}:2: not JSON (JSONDecodeError at column 2)",
        f"  {path}:3: not a JSON object",
        f"  {path}:4: not JSON (JSONDecodeError at column 1)",
        f"  {path}:5: not JSON (JSONDecodeError at column 1)",
        f"  {path}:6: not JSON (JSONDecodeError at column 1)",
        "  ... and 2 more"]
    assert f"{path}:8" in html.read_text()
    csv = runner.invoke(cli, ["analyze", str(path), "-o",
                              str(tmp_path / "mixed.csv")])
    assert ("hgobs: 7 input lines skipped (the CSV report does not list them; hgobs classify "
            "does)") in csv.stderr
    one = write(tmp_path, [record_line(1700000000.0), "{not json"])
    single = runner.invoke(cli, ["analyze", str(one), "-o", str(html)])
    assert single.stderr.splitlines()[1:] == [
        f"hgobs: 1 input line skipped ({html} lists them under skipped input)",
        f"  {one}:2: not JSON (JSONDecodeError at column 2)"]
    clean = write(tmp_path, [record_line(1700000000.0)])
    quiet = runner.invoke(cli, ["analyze", str(clean), "-o", str(html)])
    assert quiet.stderr.splitlines() == [f"hgobs: html report written to {html}"]


@pytest.mark.parametrize("engine", ["auto", "columnar", "streaming"])
def test_engine_is_deprecated_and_ignored(tmp_path, engine):
    """--engine is accepted for one release: one warning line on stderr, the same report as
    without it, also where the columnar engine once refused ('-')."""
    path = write(tmp_path, [record_line(1700000000.0), "{not json"])
    runner = CliRunner()
    plain = runner.invoke(cli, ["analyze", "--format", "json", "-"], input=path.read_bytes())
    given = runner.invoke(cli, ["analyze", "--format", "json", "--engine", engine, "-"],
                          input=path.read_bytes())
    assert given.exit_code == 0, given.output
    assert given.stderr.splitlines() == [
        "hgobs: warning: --engine is deprecated and ignored (there is one engine)",
        *plain.stderr.splitlines()]
    drop = ("generated_at",)
    assert ({k: v for k, v in json.loads(given.stdout).items() if k not in drop}
            == {k: v for k, v in json.loads(plain.stdout).items() if k not in drop})


def test_analyze_to_standard_output_says_how_many_lines_were_skipped(tmp_path):
    """Without -o: one stderr line counts the skipped lines and says where they are listed
    (the CSV report does not list them); nothing when none was skipped."""
    path = write(tmp_path, [record_line(1700000000.0), "{not json", "[1, 2]"])
    runner = CliRunner(env={"COLUMNS": "400"})  # the paths on one line
    text = runner.invoke(cli, ["analyze", str(path)])
    assert text.exit_code == 0, text.output
    assert text.stderr.splitlines() == [
        "hgobs: 2 input lines skipped (the report lists them under skipped input)"]
    assert f"{path}:2: not JSON" in text.stdout
    csv = runner.invoke(cli, ["analyze", "--format", "csv", str(path)])
    assert csv.stderr.splitlines() == [
        "hgobs: 2 input lines skipped (the CSV report does not list them; hgobs classify does)"]
    clean = write(tmp_path, [record_line(1700000000.0)])
    assert runner.invoke(cli, ["analyze", str(clean)]).stderr == ""


def test_classify_goes_on_past_times_out_of_range(tmp_path):
    """A record at a time in milliseconds, 1e300 or NaN is skipped with a reason naming its
    line (it cannot be placed in time); classify never stops on one, judges the rest and ends
    with its totals line."""
    times = ["1700000000000.0", "1e300", "NaN", "1700000000.0"]
    lines = [record_line(1700000000.0).replace("1700000000.0", t, 1) for t in times]
    path = write(tmp_path, lines)
    result = CliRunner().invoke(cli, ["classify", str(path)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["time"] for o in out] == ["2023-11-14T22:13:20Z"]
    assert result.stderr.splitlines() == [
        *[f"{path}:{n}: skipped: record time out of range (not seconds from 1970 to 2100)"
          for n in (1, 2, 3)],
        "hgobs: 4 read, 1 classified, 3 skipped"]


def test_rejudge_changes_a_verdict_stamped_with_these_rules(tmp_path):
    """A record stamped by these rules (and this profile) with another verdict keeps it,
    unless --rejudge."""
    from hgobs.diagnosis.stamp import RULES_DIGEST, profile_stamp
    from hgobs.profiles import load_profile

    stamp = {"diagnosis.rules": RULES_DIGEST,
             "diagnosis.profile": profile_stamp(load_profile("healthgorilla"))}
    path = write(tmp_path, [record_line(1700000000.0, category="rate_limited",
                                        confidence="confirmed", **stamp)])
    runner = CliRunner()
    kept = json.loads(runner.invoke(cli, ["classify", str(path)]).stdout)
    again = json.loads(runner.invoke(cli, ["classify", "--rejudge", str(path)]).stdout)
    assert (kept["category"], again["category"]) == ("rate_limited", "expired_assertion")
    report = json.loads(runner.invoke(cli, ["analyze", "--rejudge", "--format", "json",
                                            str(path)]).stdout)
    assert [c["category"] for c in report["categories"]] == ["expired_assertion"]
