"""Analyzer benchmark: ``hgobs analyze --format json`` end to end beside two baselines.

For each input file, in one run, three child processes are timed on the same file:

- ``hgobs``: ``python -m hgobs.cli analyze --format json FILE`` (report to a null device);
- ``parse-only``: read every line and parse it with the fastest JSON parser installed (of
  ``orjson`` and ``msgspec``, whichever is faster on the first lines of the file): the floor
  for any Python tool that looks at every record;
- ``pandas.read_json``: ``pandas.read_json(FILE, lines=True)`` (with ``chunksize`` when the
  whole file would not fit in memory as a DataFrame; the result says so).

Each child's wall time (s), CPU time (user + system, s) and peak resident memory (MiB, from
``wait4``'s ``ru_maxrss``) are taken; throughput is records / wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PANDAS_WHOLE_FILE_MAX_BYTES = 1 << 30
"""Files larger than this (bytes) are read by the pandas baseline in chunks of about
``PANDAS_CHUNK_BYTES``: whole, they would not fit in this machine's memory as a DataFrame."""
PANDAS_CHUNK_BYTES = 200 << 20

PARSE_ONLY = r"""
import sys, time
path, n = sys.argv[1], 20000
parsers = {}
try:
    import orjson
    parsers["orjson"] = orjson.loads
except ImportError:
    pass
try:
    import msgspec
    parsers["msgspec"] = msgspec.json.Decoder().decode
except ImportError:
    pass
import json
parsers.setdefault("json", json.loads)
with open(path, "rb") as f:
    head = [line for _, line in zip(range(n), f)]
best, best_t = None, float("inf")
for name, parse in parsers.items():
    t = time.perf_counter()
    for line in head:
        parse(line)
    t = time.perf_counter() - t
    if t < best_t:
        best, best_t = name, t
parse = parsers[best]
count = 0
start = time.perf_counter()
with open(path, "rb") as f:
    for line in f:
        if line.strip():
            parse(line)
            count += 1
print(best, count, time.perf_counter() - start)
"""

PANDAS = r"""
import sys, time
import pandas as pd
path, chunk = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
if chunk:
    rows = 0
    with pd.read_json(path, lines=True, chunksize=chunk) as reader:
        for part in reader:
            rows += len(part)
else:
    rows = len(pd.read_json(path, lines=True))
print(rows, time.perf_counter() - start)
"""


@dataclass(frozen=True)
class Run:
    """One timed child process: ``wall_s``, ``cpu_s`` (user + system), ``peak_mib``, its
    exit ``status``, what it printed (``output``) and a ``note``."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    status: int
    output: str
    note: str = ""


def timed(argv: list[str], note: str = "") -> Run:
    """Run ``argv`` to completion; its own resource usage via ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
               peak_mib=usage.ru_maxrss / 1024.0, status=proc.returncode, output=output,
               note=note)


def hgobs_run(path: Path) -> Run:
    """``hgobs analyze --format json`` on ``path`` (the report itself is discarded)."""
    return timed([sys.executable, "-c",
                  "import sys; from hgobs.cli import main; sys.argv[0] = 'hgobs'; main()",
                  "analyze", "--format", "json", str(path)], note="report rendered, discarded")


def parse_only_run(path: Path) -> Run:
    """Every line parsed by the fastest installed parser; ``note`` names it."""
    run = timed([sys.executable, "-c", PARSE_ONLY, str(path)])
    parser = run.output.split()[0] if run.output.split() else "?"
    return Run(run.wall_s, run.cpu_s, run.peak_mib, run.status, run.output, note=parser)


def pandas_run(path: Path) -> Run:
    """``pandas.read_json(lines=True)`` on ``path`` (in chunks past the size limit)."""
    size = path.stat().st_size
    chunk = 0
    if size > PANDAS_WHOLE_FILE_MAX_BYTES:
        with open(path, "rb") as f:
            head = [len(line) for _, line in zip(range(1000), f, strict=False)]
        chunk = max(1, int(PANDAS_CHUNK_BYTES / (sum(head) / len(head))))
    run = timed([sys.executable, "-c", PANDAS, str(path), str(chunk)])
    note = f"chunksize={chunk}" if chunk else "whole file"
    return Run(run.wall_s, run.cpu_s, run.peak_mib, run.status, run.output, note=note)


@dataclass(frozen=True)
class Measurement:
    """The three runs on one file of ``records`` records and ``size_bytes`` bytes."""

    fmt: str
    records: int
    size_bytes: int
    hgobs: Run
    parse_only: Run
    pandas: Run | None

    def rate(self, run: Run) -> float:
        """Records per second of wall time."""
        return self.records / run.wall_s if run.wall_s else float("nan")


def measure(path: Path, fmt: str, records: int, with_pandas: bool = True) -> Measurement:
    """Time hgobs and the baselines on ``path`` (hgobs first, then the baselines)."""
    hg = hgobs_run(path)
    floor = parse_only_run(path)
    pd_run = pandas_run(path) if with_pandas else None
    return Measurement(fmt=fmt, records=records, size_bytes=path.stat().st_size, hgobs=hg,
                       parse_only=floor, pandas=pd_run)


STAGES = r"""
import gc, json, sys, time
from hgobs.analysis.classify import Classified, judge
from hgobs.analysis.state import ReportState
from hgobs.profiles import load_profile
from hgobs.readers import ReadContext, read_paths
from hgobs.reports import render

path = sys.argv[1]
clock = time.process_time
out = dict.fromkeys(["read", "judge", "reduce"], 0.0)


def timed(name, items):
    items = iter(items)
    while True:
        t = clock()
        try:
            item = next(items)
        except StopIteration:
            out[name] += clock() - t
            return
        out[name] += clock() - t
        yield item


gc.disable()
state = ReportState()
judged = judge(timed("read", read_paths([path], ReadContext())), load_profile())
for item in timed("judge", judged):
    t = clock()
    state.add(item)
    out["reduce"] += clock() - t
out["judge"] -= out["read"]
t = clock(); report = state.report(); out["report"] = clock() - t
t = clock(); render(report, "json"); out["render_json"] = clock() - t
print(json.dumps({"records": state.read, **out}))
"""


def stages(path: Path) -> dict[str, float]:
    """CPU seconds of each stage of the analyzer on ``path``, run in one child process,
    collector paused: ``read`` (files to records, ``hgobs.readers.read_paths``), ``judge``
    (history facts and verdicts, ``hgobs.analysis.classify.judge``), ``reduce``
    (``ReportState.add``), ``report`` (pandas tables) and ``render_json``; plus ``records``.
    The clock is read around every record, which adds its own cost to each stage."""
    import json

    run = timed([sys.executable, "-c", STAGES, str(path)])
    if run.status != 0 or not run.output.strip():
        return {}
    result: dict[str, float] = json.loads(run.output.strip().splitlines()[-1])
    return result
