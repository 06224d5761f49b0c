"""Every input-format example the README shows classifies as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hgobs.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "samples/attempts.jsonl": None,
    "examples/otlp-traces.jsonl": ["ok", "environment_mismatch", "expired_assertion", "assertion_as_access_token"],
    "examples/jaeger-trace.json": ["ok", "environment_mismatch", "expired_assertion", "assertion_as_access_token"],
    "examples/zipkin-spans.json": ["ok", "environment_mismatch", "expired_assertion", "assertion_as_access_token"],
    "examples/browser-export.har": ["assertion_as_access_token", "environment_mismatch"],
    "examples/curl-verbose.txt": ["expired_assertion"],
    "examples/app.log": ["missing_access_token", "insufficient_scope", "rate_limited"],
}


def test_readme_lists_every_example():
    """The README's per-format commands (``hgobs classify FILE``, no option first) name
    exactly these files."""
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"^hgobs classify ([^-\s]\S*)", readme, flags=re.M))
    assert named == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_example_classifies_as_documented(path, monkeypatch):
    """Each example is read whole (nothing skipped) and gives the documented categories."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, ["classify", path])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and "0 skipped" in result.stderr
    if EXPECTED[path] is not None:
        assert [r["category"] for r in rows] == EXPECTED[path]
