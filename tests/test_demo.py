"""`hgobs demo` runs end to end offline: capture records and an HTML report with every category."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hgobs.cli import cli
from hgobs.emulator.scenarios import SCENARIOS


def test_demo_writes_records_and_report(tmp_path):
    """The demo records every scenario's category and writes a report naming each of them."""
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out / "attempts.jsonl") in result.output
    assert str(out / "report.html") in result.output
    records = [json.loads(line) for line in (out / "attempts.jsonl").read_text().splitlines()]
    assert {r["category"] for r in records} == set(SCENARIOS.values())
    html = (out / "report.html").read_text()
    for category in set(SCENARIOS.values()) - {"ok"}:
        assert category in html
    assert "<script src=\"http" not in html  # self-contained
    failures = sum(r["outcome"] == "failed" for r in records)
    assert f"{len(records)} auth attempts recorded" in result.output
    assert failures > 20
