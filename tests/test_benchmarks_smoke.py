"""The benchmark still works: `python -m benchmarks --quick` writes a complete report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_writes_every_section(tmp_path):
    """Quick mode runs generation, the analyzer with both baselines, the stage breakdown and
    the capture scenarios, and writes each into the report (its numbers are not checked)."""
    out = tmp_path / "performance.md"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out),
                           "--workdir", str(tmp_path / "inputs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for heading in ("## Machine and versions", "## Analyzer", "### Where the analyzer's time goes",
                    "## Capture overhead", "## Live mode (follow)", "## Scaling (Dask)"):
        assert heading in text
    for row in ("| jsonl | 2,000 |", "| otlp | 2,000 |", "| api_ok |", "| api_401 |",
                "| exchange_ok |", "| exchange_fail |"):
        assert row in text
    assert "failed (exit" not in text and "not available" not in text
    assert "Quick mode" in text
