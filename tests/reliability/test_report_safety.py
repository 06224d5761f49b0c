"""Reports are safe to open and quote nothing they should not (issue 12, item 5: reports).

CSV cells that a spreadsheet would run as a formula are neutralised (OWASP, CSV Injection);
free text such as a service name passes the scrubber before any report table holds it; skip
reasons never quote the input.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hgobs.cli import cli
from hgobs.reports.csv_report import FORMULA_STARTS, cell
from tests.reliability import tally

PROMISE = tally.SECRETS
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
TOKEN = "Zq8vN3kR7wT1yP5sXc9mB2nL"


def _records(services: list[str]) -> str:
    first = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    return "".join(json.dumps({**first, "time": first["time"] + i, "service.name": s}) + "\n"
                   for i, s in enumerate(services))


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                   "\tx", "\rx"])
def test_formula_cells_are_prefixed(value):
    """A cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'``."""
    assert cell(value) == "'" + value
    assert cell("ok-value") == "ok-value" and cell(-3) == -3


def test_csv_report_cells_never_start_a_formula(tmp_path):
    """No cell of the CSV report of records with formula-like service names starts one."""
    path = tmp_path / "a.jsonl"
    path.write_text(_records(["=cmd|'/c calc'!A1", "+SUM(1)", "-x", "@y", "plain-svc"]))
    result = CliRunner().invoke(cli, ["analyze", "--format", "csv", str(path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    services = {row[3] for row in rows[1:]}
    assert "plain-svc" in services and "'=cmd|'/c calc'!A1" in services
    assert not any(c.startswith(FORMULA_STARTS) for row in rows for c in row)


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "csv", "html"])
def test_service_names_pass_the_scrubber_in_every_report(tmp_path, fmt):
    """A service name holding a token or an e-mail address shows in no report format."""
    path = tmp_path / "a.jsonl"
    path.write_text(_records([f"svc-{TOKEN}", "billing jöhn.dœ@exämple.co.jp"]))
    result = CliRunner().invoke(cli, ["analyze", "--format", fmt, str(path)])
    assert result.exit_code == 0, result.output
    assert TOKEN[:8] not in result.output and "exämple" not in result.output


def test_skip_reasons_never_quote_the_input(tmp_path):
    """A JSON Lines record of another schema is skipped without its schema value in the reason."""
    path = tmp_path / "a.jsonl"
    path.write_text(_records(["svc"]) + json.dumps({"schema": f"x/{TOKEN}", "time": 1}) + "\n")
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    assert "another schema" in result.stdout and TOKEN[:8] not in result.output


CONTROLS = "\x1b[2J\x1b]0;title\x07\r\n\x9b31m\u202e"
"""Terminal escapes (clear screen, set the window title, a C1 CSI), a line break and a
right-to-left override: what a hostile record could put in free text to rewrite a terminal or
forge report lines."""


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "csv", "html"])
def test_control_characters_of_free_text_reach_no_report(tmp_path, fmt):
    """A service name and a client that hold control characters reach no report format with
    them: no escape sequence, and no report line starts with what followed a line break."""
    first = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({**first, "time": first["time"] + i, "outcome": "error",
                                        "category": "invalid_client",
                                        "service.name": f"svc{CONTROLS}FORGED-SVC",
                                        "client.fp": f"cl{CONTROLS}FORGED-CLIENT"}) + "\n"
                            for i in range(3)))
    result = CliRunner().invoke(cli, ["analyze", "--format", fmt, str(path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "FORGED-SVC" in out or fmt != "text"  # the value is shown, less its controls
    for char in ("\x1b", "\x07", "\r", "\x9b", "\u202e"):
        assert char not in out, (fmt, repr(char))
    assert not [line for line in out.splitlines() if line.lstrip(" -|\"").startswith("FORGED")]


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Zq8vN3kR7wT1yP5sXc9mB2nLQ4tH6jW0"
PLANTED = {"jwt": JWT, "bearer": "Bearer Zq8vN3kR7wT1yP5sXc9m", "mail": "canary.jones@example.org",
           "secret": "client_secret=Zq8vN3kR7wT1", "fhir": "Patient/Zq8vN3kR7w",
           "search": "https://h.example/fhir/Patient?family=Zq8vN3kR7w"}
"""Secrets and patient data a record from elsewhere (not written by hgobs capture, which
scrubs them) may hold in its free text; every one holds ``Zq8vN3kR7w`` or ``canary.jones``."""


@pytest.mark.parametrize("rejudge", [False, True])
def test_evidence_and_fixes_of_foreign_records_hold_no_secret_in_any_report(tmp_path, rejudge):
    """Failed records whose stamped ``evidence``, ``also`` and ``fix`` hold secrets, and whose
    fields the rules quote as evidence when judged again (``url``, ``request.content_type``,
    ``response.error``) hold them too: no report format shows any of them; the evidence hgobs
    wrote itself is shown as it was."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    kept = {e for r in records for e in r.get("evidence") or []}
    planted = list(PLANTED.values())
    for i, r in enumerate(records):
        if r.get("outcome") != "ok":
            value = planted[i % len(planted)]
            r.update({"evidence": [*r.get("evidence", []), f"url={value}"],
                      "also": [value], "fix": f"send {value}", "url": value,
                      "request.content_type": value, "response.error": value})
    path = tmp_path / "foreign.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    shown = ""
    for fmt in ("text", "json", "markdown", "csv", "html"):
        args = ["analyze", "--format", fmt, str(path), *(["--rejudge"] if rejudge else [])]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "Zq8vN3kR7w" not in result.output and "canary.jones" not in result.output, fmt
        shown += result.stdout
    if not rejudge:
        assert kept and all(e in shown for e in kept if '"' not in e and "<" not in e)


@pytest.mark.parametrize("rejudge", [False, True])
def test_environments_and_confidence_of_foreign_records_hold_no_secret(tmp_path, rejudge):
    """A record's ``environment`` and ``assertion.aud_environment`` (report dimensions and
    mismatch directions) and its stamped ``confidence`` holding secrets: no report format
    shows them."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    planted = list(PLANTED.values())
    for i, r in enumerate(records):
        value = planted[i % len(planted)]
        r.update({"environment": value, "assertion.aud_environment": value})
        if r.get("outcome") != "ok":
            r["confidence"] = value
    path = tmp_path / "foreign.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    for fmt in ("text", "json", "markdown", "csv", "html"):
        args = ["analyze", "--format", fmt, str(path), *(["--rejudge"] if rejudge else [])]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "Zq8vN3kR7w" not in result.output and "canary.jones" not in result.output, fmt
