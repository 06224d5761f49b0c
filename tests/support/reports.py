"""The JSON report ``hgobs analyze`` prints, as a test compares it (``generated_at`` dropped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hgobs.cli import cli


def analyze_json(*args: str | Path, input: bytes | None = None,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """``hgobs analyze --format json ARGS`` run in this process; its report without
    ``generated_at``. Fails the test when the command does not exit 0."""
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", *map(str, args)],
                                input=input, env=env)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    doc.pop("generated_at")
    return doc


def without_sources(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the drill-down's ``source`` (file and line) taken out of each record, to
    compare a report of standard input with one of the file."""
    for row in doc.get("records", []):
        row.pop("source")
    return doc
