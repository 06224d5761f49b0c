"""Analyzer benchmark: ``hgobs analyze`` against a plain decode of every line, in one run.

For each input file, child processes are timed on the same file, one after another:

- ``default``: ``hgobs analyze --format json --profile P FILE`` (report to a null device),
  ``P`` the profile the generated records were stamped under (``generate.samples_profile``,
  written as TOML in the work folder): a service analyzing its own logs, where a stamped
  verdict whose history facts are found again unchanged is kept (issue 13 item 5);
- ``rejudge``: the same with ``--rejudge`` (every record judged again), where asked for;
- ``plain decode``: ``msgspec.json.Decoder().decode`` of every line, nothing else (issue 13
  item 7's yardstick; for OTLP JSON, one export request per line, its parse-only floor).

Each child's wall time (s), CPU time (user + system, s, from ``wait4``: ratios are of CPU
time, which a machine shared with other jobs disturbs far less than wall time) and peak resident
memory (MiB, ``ru_maxrss``) are taken. ``python -m benchmarks.analyze`` runs this part alone
and rewrites the "## Analyzer" section of the report (``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PLAIN_DECODE = r"""
import sys, msgspec
decode = msgspec.json.Decoder().decode
count = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        if line.strip():
            decode(line)
            count += 1
print(count)
"""


@dataclass(frozen=True)
class Run:
    """One timed child process: ``wall_s``, ``cpu_s`` (user + system), ``peak_mib``, its
    exit ``status`` and what it printed (``output``)."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    status: int
    output: str


def timed(argv: list[str]) -> Run:
    """Run ``argv`` to completion; its own resource usage via ``wait4``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return Run(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
               peak_mib=usage.ru_maxrss / 1024.0, status=os.waitstatus_to_exitcode(status),
               output=output)


def hgobs_run(path: Path, profile: Path, *options: str) -> Run:
    """``hgobs analyze --format json --profile profile [options] path`` (report discarded)."""
    return timed([sys.executable, "-c",
                  "import sys; from hgobs.cli import main; sys.argv[0] = 'hgobs'; main()",
                  "analyze", "--format", "json", "--profile", str(profile), *options,
                  str(path)])


def plain_run(path: Path) -> Run:
    """Every line of ``path`` decoded by ``msgspec.json.Decoder().decode``."""
    return timed([sys.executable, "-c", PLAIN_DECODE, str(path)])


@dataclass(frozen=True)
class Measurement:
    """The runs on one file of ``records`` records and ``size_bytes`` bytes: ``runs`` by name
    (``default``, ``rejudge``) and the ``plain`` decode."""

    fmt: str
    records: int
    size_bytes: int
    plain: Run
    runs: dict[str, Run] = field(default_factory=dict)

    def ratio(self, name: str) -> float:
        """CPU time of run ``name`` / CPU time of the plain decode."""
        return self.runs[name].cpu_s / self.plain.cpu_s if self.plain.cpu_s else float("nan")

    @property
    def ok(self) -> bool:
        """Every child exited 0."""
        return self.plain.status == 0 and all(r.status == 0 for r in self.runs.values())


def measure(path: Path, fmt: str, records: int, profile: Path, rejudge: bool = True
            ) -> Measurement:
    """Time hgobs (default, then ``--rejudge`` when asked) and the plain decode on ``path``."""
    runs = {"default": hgobs_run(path, profile)}
    if rejudge:
        runs["rejudge"] = hgobs_run(path, profile, "--rejudge")
    return Measurement(fmt=fmt, records=records, size_bytes=path.stat().st_size,
                       plain=plain_run(path), runs=runs)


def write_profile(folder: Path) -> Path:
    """The profile the generated records are stamped under, as TOML in ``folder``."""
    from benchmarks.generate import samples_profile

    path = folder / "samples-profile.toml"
    path.write_text(samples_profile().to_toml(), encoding="utf-8")
    return path


STAGES = r"""
import gc, json, sys, time
import msgspec
from hgobs.analysis.classify import HISTORY_FIELDS, judge
from hgobs.analysis.state import ReportState
from hgobs.diagnosis import History
from hgobs.profiles import load_profile
from hgobs.readers import ReadContext, read_paths
from hgobs.readers.jsonl import parse_lean, parse_line
from hgobs.reports import render

path, profile, steps = sys.argv[1], load_profile(sys.argv[2]), int(sys.argv[3])
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
items = timed("read", read_paths([path], ReadContext(profile=profile, lean=True)))
for item in timed("judge", judge(items, profile)):
    t = clock()
    state.add(item)
    out["reduce"] += clock() - t
out["judge"] -= out["read"]
t = clock(); report = state.report(); out["report"] = clock() - t
t = clock(); render(report, "json"); out["render_json"] = clock() - t
out["records"] = state.read

with open(path, "rb") as f:
    lines = [line for _, line in zip(range(steps), f)]
steps = out["steps"] = len(lines)
decode = msgspec.json.Decoder().decode
for name, step in (("plain_decode", decode), ("lean_decode", lambda b: parse_lean(b, "")),
                   ("whole_decode", lambda b: parse_line(b, ""))):
    t = clock()
    for line in lines:
        step(line)
    out[name] = clock() - t
records = [parse_lean(line, "").record for line in lines]
for r in records:
    for name in HISTORY_FIELDS:
        r.pop(name, None)
history = History(max_entries=200_000, profile=profile)
t = clock()
for r in records:
    history.annotate(r)
out["annotate"] = clock() - t
print(json.dumps(out))
"""
STEP_LINES = 50_000
"""Lines of the input each step of ``stages`` is timed on alone (held in memory)."""


def stages(path: Path, profile: Path, steps: int = STEP_LINES) -> dict[str, float]:
    """CPU seconds of each stage of the default analysis of ``path`` under ``profile``, in one
    child process, collector paused: ``read`` (files to lean items, ``read_paths``), ``judge``
    (history facts and verdicts, ``judge``), ``reduce`` (``ReportState.add``), ``report``
    (pandas tables) and ``render_json``, over ``records`` records; the clock is read around
    every record, which adds its own cost to each stage. Then steps timed alone on the first
    ``steps`` lines: ``plain_decode``, ``lean_decode`` (``jsonl.parse_lean``),
    ``whole_decode`` (``jsonl.parse_line``), ``annotate`` (``History.annotate`` of the lean
    records). Empty when the child fails."""
    run = timed([sys.executable, "-c", STAGES, str(path), str(profile), str(steps)])
    if run.status != 0 or not run.output.strip():
        return {}
    result: dict[str, float] = json.loads(run.output.strip().splitlines()[-1])
    return result


FULL = (("jsonl", 1_000_000, True), ("jsonl", 4_000_000, False), ("otlp", 100_000, False))
"""The inputs of a full run: (format, records, also ``--rejudge``). The stage breakdown runs
on the first."""
QUICK = (("jsonl", 2_000, True), ("otlp", 2_000, False))
SUFFIX = {"jsonl": ".jsonl", "otlp": ".otlp.json"}


def run_all(inputs: tuple[tuple[str, int, bool], ...], work: Path, keep: bool
            ) -> tuple[list[Measurement], dict[str, float], tuple[float, float]]:
    """Generate (unless present in ``work``) and measure each input, then the stages of the
    first; inputs are deleted after use unless ``keep``. Returns the measurements, the
    stages and the load average (1 minute) before and after."""
    from benchmarks import generate

    before = os.getloadavg()[0]
    profile = write_profile(work)
    measurements: list[Measurement] = []
    stage_figures: dict[str, float] = {}
    for i, (fmt, n, rejudge) in enumerate(inputs):
        path = work / f"{n}{SUFFIX[fmt]}"
        if not path.exists():
            say(f"generating {n:,} records of {fmt}")
            generate.write(path, generate.Spec(n), fmt)
        say(f"analyzing {path.name} ({path.stat().st_size / 1e6:,.0f} MB)")
        measurements.append(measure(path, fmt, n, profile, rejudge))
        for name, run in (*measurements[-1].runs.items(), ("plain", measurements[-1].plain)):
            say(f"{path.name} {name}: CPU {run.cpu_s:.2f} s, wall {run.wall_s:.2f} s, "
                f"peak {run.peak_mib:.1f} MiB, exit {run.status}")
        if i == 0:
            say(f"stage breakdown on {path.name}")
            stage_figures = stages(path, profile)
        if not keep:
            path.unlink()
    return measurements, stage_figures, (before, os.getloadavg()[0])


def say(text: str) -> None:
    """A progress line on standard error."""
    print(f"benchmarks: {text}", file=sys.stderr, flush=True)


def replace_analyzer(report: str, section: list[str]) -> str:
    """``report`` (Markdown) with its "## Analyzer" section, up to the next "## " heading,
    replaced by ``section`` (appended when it has none)."""
    lines = report.rstrip("\n").split("\n")
    if "## Analyzer" in lines:
        start = lines.index("## Analyzer")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
    else:
        start = end = len(lines)
    while section and not section[-1]:
        section = section[:-1]
    new = [*section, ""] if end < len(lines) else section
    return "\n".join(lines[:start] + new + lines[end:]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.analyze``: the analyzer part alone; returns the exit code."""
    from benchmarks import report

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.analyze",
        description="Measure the analyzer alone and rewrite the '## Analyzer' section of the "
                    "report (the other sections are kept).")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check it works")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs"
                                             / "performance.md"))
    parser.add_argument("--workdir", help="folder for generated inputs (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hgobs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        measurements, stage_figures, load = run_all(QUICK if args.quick else FULL, work,
                                                    keep=args.keep or bool(args.workdir))
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    previous = out.read_text(encoding="utf-8") if out.exists() else "# Performance\n"
    out.write_text(replace_analyzer(previous, report.analyzer_section(
        measurements, stage_figures, load, quick=args.quick)), encoding="utf-8")
    say(f"wrote the analyzer section of {out}")
    return 0 if all(m.ok for m in measurements) else 1


if __name__ == "__main__":
    sys.exit(main())
