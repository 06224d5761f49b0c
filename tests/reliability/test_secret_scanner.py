"""An independent secret scanner (detect-secrets, every plugin) finds nothing in what hgobs writes.

Scanned: everything ``hgobs demo`` writes (capture records, scenario index, HTML report), what
the sample run writes (``run_all`` into a fresh folder, as ``scripts/make_samples.py`` does), and
``hgobs analyze`` and ``hgobs classify`` over ``samples/`` and ``examples/`` in every report
format, output and errors. The scanner flags the keyed HMAC fingerprints hgobs records on
purpose (16 hex digits: ``assertion.fp``, ``client.fp`` ...; they reveal nothing without the
key): exactly those values, as the records carry them, are allowed; any other finding fails.
The emulator's registered client secrets, which the demo signs with, must not appear at all (no
24-character piece of them: they are made of words, so shorter pieces such as ``emulator``
are ordinary text).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from hgobs.cli import cli
from hgobs.emulator.scenarios import run_all
from hgobs.emulator.scenarios.kit import REGISTRATIONS, WRONG_SECRET
from hgobs.readers import ReadContext, read_paths
from hgobs.redaction import Fingerprinter
from hgobs.reports import FORMATS
from tests.reliability import leaks, tally

PROMISE = tally.SECRETS
REPO = Path(__file__).resolve().parents[2]
HGOBS = Path(sys.executable).with_name("hgobs")
EMULATOR_SECRETS = [r.client_secret for r in REGISTRATIONS] + [WRONG_SECRET]
KEY = "scanner-test-fingerprint-key-01"
"""``HGOBS_FINGERPRINT_KEY`` of the analyze runs, so the fingerprints they show are known."""


def fingerprints(folder: Path) -> set[str]:
    """Every fingerprint the run can have written: the ``*fp`` fields of the JSON Lines records
    under ``folder``, and of every record read from the analyzed inputs with ``KEY``."""
    records = [json.loads(line) for path in folder.rglob("*.jsonl")
               for line in path.read_text().splitlines()]
    ctx = ReadContext(fingerprint=Fingerprinter(KEY.encode()))
    named = [path for path in inputs(folder) if Path(path).exists()]
    records += [i.record for i in read_paths(named, ctx) if i.record is not None]
    return {v for r in records for k, v in r.items() if k.endswith("fp") and isinstance(v, str)}


def inputs(folder: Path) -> list[str]:
    """What the sample run analyzes: the committed samples and examples, and the fresh run."""
    return [str(REPO / "samples"), str(REPO / "examples"), str(folder / "samples")]


def scan(folder: Path) -> list[tuple[str, str, str]]:
    """``(file, finding type, value)`` for everything detect-secrets finds under ``folder``
    (HTML pages whole: they hold no third-party code), less the allowed fingerprints."""
    collection = SecretsCollection()
    with default_settings():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            collection.scan_file(str(path))
    allowed = fingerprints(folder)
    return [(Path(name).name, secret.type, secret.secret_value or "")
            for name, secret in collection
            if not (secret.type == "Hex High Entropy String" and secret.secret_value in allowed)]


def produce(folder: Path) -> None:
    """Run the demo and the sample run into ``folder``, and every report and CLI output."""
    done = subprocess.run([str(HGOBS), "demo", "--out", str(folder / "demo")], cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    (folder / "demo-output.txt").write_text(done.stdout + done.stderr)
    run_all(folder / "samples", seed=0, port=0)
    runner = CliRunner(env={"HGOBS_FINGERPRINT_KEY": KEY})
    reports = folder / "reports"
    reports.mkdir()
    for fmt in FORMATS:
        result = runner.invoke(cli, ["analyze", *inputs(folder), "--format", fmt, "-o",
                                     str(reports / f"report.{fmt}")])
        assert result.exit_code == 0, result.output
    for args in (["analyze", *inputs(folder)], ["classify", *inputs(folder)]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        (reports / f"{args[0]}-stdout.txt").write_text(result.stdout)
        (reports / f"{args[0]}-stderr.txt").write_text(result.stderr)


def check(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) >= 12, files
    tally.tried(PROMISE, "files scanned by detect-secrets", len(files))
    assert scan(folder) == []
    texts = [(str(p.relative_to(folder)), p.read_text("utf-8", "replace")) for p in files]
    found = leaks.find(texts, EMULATOR_SECRETS, size=24)  # they are words: 24 is unique
    assert found == [], leaks.report(found)


def test_scanner_finds_nothing_in_demo_and_sample_outputs(tmp_path):
    """detect-secrets finds nothing but keyed fingerprints in the demo's and the sample run's
    files, reports and CLI output, nor any emulator client secret."""
    produce(tmp_path)
    check(tmp_path)


def test_scanner_sees_a_planted_secret(tmp_path):
    """The scan itself reports a JWT and a keyword secret written into a report folder."""
    (tmp_path / "report.txt").write_text(
        'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n'
        'client_secret = "Zq7xLw93KpR2mN8vT4yB"\n')
    assert {kind for _, kind, _ in scan(tmp_path)} >= {"JSON Web Token", "Secret Keyword"}
