"""Scaling benchmark: ``hgobs analyze`` on a local Dask cluster of 1 and 2 workers, and alone.

For each input, child processes are timed one after another on the same files (wall time:
the cluster's start, the survey, the partitions and the merge, as a user waits for them):

- ``single``: ``hgobs analyze --format json --profile P FILES`` (one process);
- ``1 worker`` and ``2 workers``: the same with ``--workers N`` (a LocalCluster of N worker
  processes, one thread each).

The inputs span ``DAYS`` days (months of logs, as the issue describes; a partition's warm-up
is 7 days of it): hgobs JSON Lines in one file of 1M and one of 4M records (split by byte
range), and OTLP JSON as rotated files (one export line per 50 spans of one service, cut into
``OTLP_FILES`` files in time order, as a Collector's file exporter with rotation leaves them).
Each cluster report is compared with the single-process one (``generated_at`` aside).
``python -m benchmarks.scaling [--quick]`` writes the "## Scaling (Dask)" section of
``docs/performance.md``; ``python -m benchmarks`` runs it too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.adversarial import write_section
from benchmarks.analyze import Run, say, timed, write_profile

SECTION = "## Scaling (Dask)"
DAYS = 120.0
OTLP_FILES = 40
FULL = (("jsonl", 1_000_000), ("jsonl", 4_000_000), ("otlp", 100_000))
QUICK = (("jsonl", 2_000),)
TARGET = 1.7
"""Wall time with 1 worker / wall time with 2 workers, at least."""


@dataclass(frozen=True)
class Row:
    """One input: ``fmt``, ``records``, ``size_bytes``, the ``single`` run and one run per
    worker count (``runs``), and whether each cluster report equals the single one (``same``)."""

    fmt: str
    records: int
    size_bytes: int
    single: Run
    runs: dict[int, Run]
    same: dict[int, bool]


def _inputs(work: Path, fmt: str, records: int) -> list[Path]:
    """The files of one input (generated unless present)."""
    from benchmarks import generate

    if fmt == "jsonl":
        path = work / f"scaling-{records}.jsonl"
        if not path.exists():
            say(f"generating {records:,} records of jsonl over {DAYS:g} days")
            generate.write(path, generate.Spec(records, days=DAYS), "jsonl")
        return [path]
    folder = work / f"scaling-{records}-otlp"
    if not folder.exists():
        say(f"generating {records:,} records of OTLP over {DAYS:g} days")
        whole = work / f"scaling-{records}.otlp.json"
        generate.write(whole, generate.Spec(records, days=DAYS, services=1), "otlp")
        lines = whole.read_bytes().splitlines(keepends=True)
        folder.mkdir()
        per = -(-len(lines) // OTLP_FILES)
        for i in range(0, len(lines), per):
            (folder / f"traces-{i // per:03d}.json").write_bytes(b"".join(lines[i:i + per]))
        whole.unlink()
    return sorted(folder.iterdir())


def _hgobs(files: list[Path], profile: Path, *options: str) -> Run:
    return timed([sys.executable, "-c",
                  "import sys; from hgobs.cli import main; sys.argv[0] = 'hgobs'; main()",
                  "analyze", "--format", "json", "--profile", str(profile), *options,
                  *map(str, files)])


def _report(run: Run) -> dict:
    try:
        doc = json.loads(run.output)
    except ValueError:
        return {}
    doc.pop("generated_at", None)
    return doc


def measure(work: Path, inputs: tuple[tuple[str, int], ...], keep: bool) -> list[Row]:
    """Time each input alone and on 1 and 2 workers (see module doc)."""
    profile = write_profile(work)
    rows = []
    for fmt, records in inputs:
        files = _inputs(work, fmt, records)
        size = sum(f.stat().st_size for f in files)
        say(f"scaling: {fmt} {records:,} records ({size / 1e6:,.0f} MB)")
        single = _hgobs(files, profile)
        runs = {n: _hgobs(files, profile, "--workers", str(n)) for n in (1, 2)}
        want = _report(single)
        same = {n: bool(want) and _report(run) == want for n, run in runs.items()}
        for name, run in (("single", single), *((f"{n} workers", r) for n, r in runs.items())):
            say(f"scaling: {name}: wall {run.wall_s:.2f} s, exit {run.status}")
        rows.append(Row(fmt, records, size, single, runs, same))
        if not keep:
            for f in files:
                f.unlink()
    return rows


def markdown(rows: list[Row], quick: bool) -> str:
    """The section: a row per input and run, the speed-up, per-worker throughput."""
    out = [SECTION, ""]
    if quick:
        out += ["*Quick run (`--quick`): tiny inputs; the figures only show that the benchmark "
                "works.*", ""]
    out += [f"`python -m benchmarks.scaling`; inputs over {DAYS:g} days; wall time of "
            "`hgobs analyze --format json`, cluster start included; one machine "
            f"({os.cpu_count()} CPUs).", "",
            "| input | records | MB | run | wall s | records/s per worker | same report |",
            "|---|---:|---:|---|---:|---:|---|"]
    for row in rows:
        name = "hgobs JSON Lines" if row.fmt == "jsonl" else f"OTLP JSON, {OTLP_FILES} files"
        mb = f"{row.size_bytes / 1e6:,.0f}"
        out.append(f"| {name} | {row.records:,} | {mb} | single process | "
                   f"{row.single.wall_s:.1f} | {row.records / row.single.wall_s:,.0f} | - |")
        for n, run in row.runs.items():
            out.append(f"| {name} | {row.records:,} | {mb} | {n} worker{'s' * (n > 1)} | "
                       f"{run.wall_s:.1f} | {row.records / run.wall_s / n:,.0f} | "
                       f"{'yes' if row.same[n] else 'NO'} |")
    out += ["", f"Speed-up of 2 workers over 1 (target at least {TARGET}x):", ""]
    for row in rows:
        ratio = row.runs[1].wall_s / row.runs[2].wall_s if row.runs[2].wall_s else float("nan")
        verdict = "met" if ratio >= TARGET else "not met"
        out.append(f"- {row.fmt} {row.records:,} records: {ratio:.2f}x ({verdict})")
    return "\n".join(out) + "\n"


def run(out: Path, work: Path | None = None, quick: bool = False, keep: bool = False) -> bool:
    """Measure and write the section into ``out``; True when every run exited 0."""
    folder = work or Path(tempfile.mkdtemp(prefix="hgobs-scaling-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        rows = measure(folder, QUICK if quick else FULL, keep=keep or work is not None)
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)
    write_section(out, markdown(rows, quick), SECTION)
    return all(r.single.status == 0 and all(x.status == 0 for x in r.runs.values())
               for r in rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.scaling [--quick] [--out FILE] [--workdir DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check it works")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs"
                                             / "performance.md"))
    parser.add_argument("--workdir", help="folder for generated inputs (default: temporary)")
    args = parser.parse_args(argv)
    ok = run(Path(args.out), Path(args.workdir) if args.workdir else None, args.quick)
    say(f"wrote the scaling section of {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
