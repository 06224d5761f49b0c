"""A 1 GB input completes in bounded memory: the analyzer streams.

``hgobs analyze --format json`` runs as a child process over JSON Lines of 500 MB and of 1 GB
(``tests.reliability.bigfiles``: the sample records repeated, the distinct clients and services
fixed) and its peak resident memory (``ru_maxrss`` of the child, measured alone in a fresh
wrapper process) must not grow with the input. Memory grows until the analyzer's bounded
caches are full (history: 200,000 entries per table, about 340 MB of these records; the reorder
window: 10,000 records) and must stay flat after that: the 1 GB run may peak at most 10% +
16 MiB above the 500 MB run (allocator noise; twice the records must not show), and below
``BOUND``, while every record is read and classified.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability import tally
from tests.reliability.bigfiles import write_jsonl

PROMISE = tally.BAD_INPUT
HGOBS = Path(sys.executable).with_name("hgobs")
MB = 1_000_000
BOUND = 512 * 1024 * 1024
"""Peak resident memory allowed for any input size (bytes)."""
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
sys.stderr.write(done.stderr)
"""


def peak_rss(*args: str) -> tuple[int, int]:
    """Peak resident bytes of the command run alone as a child, and its exit status."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True,
                          timeout=3000, check=True)
    kib, code = done.stdout.split()
    assert int(code) == 0, done.stderr
    return int(kib) * 1024, int(code)


def analyze(tmp: Path, size: int) -> tuple[int, dict[str, int]]:
    """Peak memory of ``hgobs analyze --format json`` over ``size`` bytes, and the totals."""
    source = tmp / f"attempts-{size // MB}MB.jsonl"
    records = write_jsonl(source, size)
    out = tmp / f"report-{size // MB}MB.json"
    peak, _ = peak_rss(str(HGOBS), "analyze", str(source), "--format", "json", "-o", str(out))
    totals = json.loads(out.read_text())["totals"]
    assert totals["read"] == totals["classified"] == records
    source.unlink()
    tally.tried(PROMISE, "records analyzed in the size test", records)
    return peak, totals


@pytest.mark.slow
def test_peak_memory_does_not_grow_from_500MB_to_1GB(tmp_path):
    """Analyzing 1 GB peaks within 10% + 16 MiB of analyzing 500 MB, and under 512 MiB."""
    small, _ = analyze(tmp_path, 500 * MB)
    large, _ = analyze(tmp_path, 1_000 * MB)
    print(f"peak RSS: 500 MB input {small / 2**20:.0f} MiB, 1 GB input {large / 2**20:.0f} MiB")
    assert large < small * 1.10 + 16 * 2**20, (small, large)
    assert large < BOUND, large
