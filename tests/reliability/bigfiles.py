"""Large JSON Lines inputs made from the committed samples, for the size and interruption tests.

``write_jsonl(path, size)`` repeats the records of ``samples/attempts.jsonl`` until ``size``
bytes, giving each record its own time (spread evenly over ``SPAN_S``, four weeks, whatever the
size: the time buckets a report counts by stay the same) and each copy its own assertion,
``jti``, issued and presented fingerprints, so the history rules see distinct attempts. Clients,
services and environments stay those of the samples: the distinct keys a report groups by do
not grow with the file, only the number of records does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "attempts.jsonl"
SPAN_S = 28 * 86400
_TIME_RE = re.compile(rb'"time":[0-9.]+')
_FP_RE = re.compile(rb'("(?:assertion\.fp|assertion\.jti_fp|issued\.fp|presented\.fp)":")([0-9a-f]{8})')


def write_jsonl(path: Path, size: int) -> int:
    """Write about ``size`` bytes of records to ``path``; the number of records written."""
    lines = [line for line in SAMPLES.read_bytes().splitlines() if line.strip()]
    start = json.loads(lines[0])["time"]
    step = SPAN_S / max(1, size * len(lines) // sum(len(x) + 1 for x in lines))
    written = count = 0
    with path.open("wb", buffering=1 << 20) as out:
        copy = 0
        while written < size:
            chunk = []
            stamp = f"{copy:08x}".encode()
            for line in lines:
                line = _TIME_RE.sub(f'"time":{start + count * step:.3f}'.encode(), line, count=1)
                line = _FP_RE.sub(rb"\g<1>" + stamp, line)
                chunk.append(line)
                count += 1
            data = b"\n".join(chunk) + b"\n"
            out.write(data)
            written += len(data)
            copy += 1
    return count
