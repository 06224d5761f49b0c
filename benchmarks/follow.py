"""Live mode: memory and throughput of ``hgobs classify --follow`` over appended records.

A child process runs ``hgobs classify --follow LOG --lateness 1``; this process appends
records to LOG (hgobs JSON Lines, one sample success a second apart in record time, written
in chunks of ``CHUNK`` while at most ``AHEAD`` records are waiting to be printed, so the
file grows while it is followed) and reads the verdicts the child prints. At each checkpoint
(100,000 and 1,000,000 verdicts; 2,000 and 10,000 with ``--quick``) it reads the child's
resident memory now (``VmRSS``) and at its peak so far (``VmHWM``, Linux ``/proc``), and the
verdicts per second since the previous checkpoint. Flat memory: the peak at the last
checkpoint is within ``MEMORY_TARGET`` of the peak at the first.

``python -m benchmarks.follow [--quick]`` writes its section of ``docs/performance.md``
(``python -m benchmarks`` runs it too).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.adversarial import write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Live mode (follow)"
FULL = (100_000, 1_000_000)
QUICK = (2_000, 10_000)
CHUNK = 5_000
AHEAD = 50_000
MEMORY_TARGET = 1.10
"""Peak resident memory at the last checkpoint / at the first."""


def _memory_kib(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of process ``pid`` in KiB (0, 0 where ``/proc`` has none)."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            for line in status:
                parts = line.split()
                if len(parts) > 1 and parts[0] in values:
                    values[parts[0]] = int(parts[1])
    except (OSError, ValueError):
        pass
    return values["VmRSS:"], values["VmHWM:"]


def _record_line() -> tuple[str, str]:
    """The first sample record as the text before and after its time value."""
    line = (ROOT / "samples" / "attempts.jsonl").read_text(encoding="utf-8").splitlines()[0]
    record = json.loads(line)
    record["time"] = 0
    head, _, tail = json.dumps(record).partition('"time": 0')
    return head + '"time": ', tail + "\n"


def measure(checkpoints: tuple[int, ...], folder: Path) -> list[tuple[int, int, int, float]]:
    """``(verdicts, VmRSS KiB, VmHWM KiB, verdicts per second since the checkpoint before)``
    at each of ``checkpoints`` (see module doc)."""
    head, tail = _record_line()
    log = folder / "follow.jsonl"
    log.write_text("", encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-m", "hgobs.cli", "classify", "--follow",
                              "--lateness", "1", str(log)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    rows: list[tuple[int, int, int, float]] = []
    written = seen = 0
    t0 = 1_764_000_000
    last = max(checkpoints)
    started = time.monotonic()
    try:
        with open(log, "a", encoding="utf-8") as out:
            assert child.stdout is not None
            while seen < last:
                while written < last and written - seen < AHEAD:
                    out.write("".join(f"{head}{t0 + n}{tail}"
                                      for n in range(written, written + CHUNK)))
                    out.flush()
                    written += CHUNK
                if not child.stdout.readline():
                    raise RuntimeError("hgobs classify --follow ended early")
                seen += 1
                if seen in checkpoints:
                    now = time.monotonic()
                    before = rows[-1][0] if rows else 0
                    rows.append((seen, *_memory_kib(child.pid), (seen - before) / (now - started)))
                    started = now
    finally:
        child.terminate()
        child.wait(timeout=60)
    return rows


def markdown(rows: list[tuple[int, int, int, float]], quick: bool) -> str:
    """The section: a row per checkpoint and the flat-memory verdict."""
    lines = [SECTION, "", "Written by `python -m benchmarks.follow` (also run by `python -m "
             "benchmarks`): `hgobs classify --follow --lateness 1` in a child process while "
             "records are appended to the file it follows (one sample success a second apart, "
             f"in chunks of {CHUNK:,}, at most {AHEAD:,} waiting), its resident memory read from "
             "`/proc` when it has printed each number of verdicts.", ""]
    if quick:
        lines += ["Quick mode: tiny sizes, the figures mean nothing.", ""]
    lines += ["| verdicts printed | RSS now (MiB) | peak RSS (MiB) | verdicts/s since the row before |",
              "|---:|---:|---:|---:|"]
    for seen, rss, hwm, rate in rows:
        lines.append(f"| {seen:,} | {rss / 1024:,.1f} | {hwm / 1024:,.1f} | {rate:,.0f} |")
    ratio = rows[-1][2] / rows[0][2] if rows and rows[0][2] else float("nan")
    verdict = "met" if ratio <= MEMORY_TARGET else "NOT met"
    lines += ["", f"Peak memory at {rows[-1][0]:,} / at {rows[0][0]:,} verdicts: {ratio:.2f} "
              f"(target at most {MEMORY_TARGET:.2f}: {verdict}). What a live run holds is "
              "bounded: the watermark's records within --lateness, a feed of 16 batches of 256 "
              "items per followed file, and the judge's history (a day of record time at most, "
              "capped by entries).", ""]
    return "\n".join(lines)


def run(out: Path, quick: bool = False) -> None:
    """Measure and write the section into ``out``."""
    with tempfile.TemporaryDirectory(prefix="hgobs-follow-") as folder:
        rows = measure(QUICK if quick else FULL, Path(folder))
    write_section(out, markdown(rows, quick), SECTION)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.follow [--quick] [--out FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.follow")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    run(Path(args.out), args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
