"""The benchmark report: machine, versions, every figure beside its baseline, target verdicts."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata

from benchmarks.analyze import Measurement
from benchmarks.capture import ScenarioResult

RATE_TARGET = 300_000.0
"""hgobs JSON Lines records per second (wall time, end to end)."""
FLOOR_TARGET = 2.5
"""hgobs wall time / parse-only wall time on the same file."""
MEMORY_TARGET = 1.25
"""Peak memory on 4M records / peak memory on 1M records."""
CAPTURE_TARGETS = {"api_ok": 1.02, "api_401": 1.5, "exchange_ok": 1.5, "exchange_fail": 1.5}
"""(OTel httpx + hgobs) / OTel httpx alone, client CPU time per request."""
PACKAGES = ("hgobs", "pandas", "numpy", "orjson", "msgspec", "httpx",
            "opentelemetry-sdk", "opentelemetry-instrumentation-httpx")


def machine() -> list[str]:
    """Lines describing this machine."""
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            memory = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory}",
            f"- OS: {platform.platform()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()})"]


def versions() -> str:
    """The versions of the packages that matter, as one line."""
    out = []
    for name in PACKAGES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def _yes(ok: bool) -> str:
    return "**holds**" if ok else "**missed**"


def _analyzer(measurements: list[Measurement]) -> list[str]:
    lines = ["| input | records | size | hgobs wall | hgobs rec/s | hgobs CPU | hgobs peak "
             "| parse-only (parser) rec/s | hgobs / parse-only | pandas.read_json rec/s "
             "| pandas peak |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in measurements:
        pd_rate = f"{m.rate(m.pandas):,.0f} ({m.pandas.note})" if m.pandas else "-"
        pd_peak = f"{m.pandas.peak_mib:,.0f} MiB" if m.pandas else "-"
        if m.pandas and m.pandas.status != 0:
            pd_rate, pd_peak = f"failed (exit {m.pandas.status})", "-"
        failed = f" (exit {m.hgobs.status})" if m.hgobs.status != 0 else ""
        lines.append(
            f"| {m.fmt} | {m.records:,} | {m.size_bytes / 1e6:,.0f} MB | {m.hgobs.wall_s:.1f} s{failed} "
            f"| {m.rate(m.hgobs):,.0f} | {m.hgobs.cpu_s:.1f} s | {m.hgobs.peak_mib:,.0f} MiB "
            f"| {m.rate(m.parse_only):,.0f} ({m.parse_only.note}) "
            f"| {m.hgobs.wall_s / m.parse_only.wall_s:.2f}x | {pd_rate} | {pd_peak} |")
    return lines


def _analyzer_targets(measurements: list[Measurement]) -> list[str]:
    measurements = [m for m in measurements if m.hgobs.status == 0]
    jsonl = [m for m in measurements if m.fmt == "jsonl"]
    lines = ["| target | figure | verdict |", "|---|---|---|"]
    for m in jsonl:
        rate = m.rate(m.hgobs)
        lines.append(f"| >= {RATE_TARGET:,.0f} records/s, JSON Lines, {m.records:,} records "
                     f"| {rate:,.0f} records/s | {_yes(rate >= RATE_TARGET)} |")
    for m in measurements:
        ratio = m.hgobs.wall_s / m.parse_only.wall_s
        lines.append(f"| within {FLOOR_TARGET}x of parse-only, {m.fmt}, {m.records:,} records "
                     f"| {ratio:.2f}x | {_yes(ratio <= FLOOR_TARGET)} |")
    by_n = {m.records: m for m in jsonl}
    if 1_000_000 in by_n and 4_000_000 in by_n:
        growth = by_n[4_000_000].hgobs.peak_mib / by_n[1_000_000].hgobs.peak_mib
        lines.append(f"| peak memory 4M <= {MEMORY_TARGET}x of 1M (JSON Lines) "
                     f"| {by_n[1_000_000].hgobs.peak_mib:,.0f} -> "
                     f"{by_n[4_000_000].hgobs.peak_mib:,.0f} MiB ({growth:.2f}x) "
                     f"| {_yes(growth <= MEMORY_TARGET)} |")
    return lines


def _stages(stages: dict[str, float]) -> list[str]:
    n = stages.get("records") or 0
    if not n:
        return ["_Stage breakdown not available._"]
    names = {"read": "read and parse the file (readers)",
             "judge": "history facts and verdicts (judge)",
             "reduce": "report state (ReportState.add)",
             "report": "report tables (pandas), once",
             "render_json": "render JSON, once"}
    lines = [f"CPU time per stage of the analyzer on the {int(n):,}-record JSON Lines input "
             "(one process, collector paused, the clock read around every record):", "",
             "| stage | CPU s | us per record |", "|---|---:|---:|"]
    for key, label in names.items():
        if key in stages:
            lines.append(f"| {label} | {stages[key]:.2f} | {stages[key] / n * 1e6:.1f} |")
    return lines


def _capture(results: list[ScenarioResult]) -> list[str]:
    lines = ["| scenario | no instrumentation | OTel httpx | OTel httpx + hgobs | added by hgobs "
             "| ratio | target | verdict |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        target = CAPTURE_TARGETS[r.scenario]
        lines.append(f"| {r.scenario} | {r.us['none']:.1f} us | {r.us['otel']:.1f} us "
                     f"| {r.us['otel+hgobs']:.1f} us | {r.added_us:+.1f} us | {r.ratio:.4f}x "
                     f"| <= {target}x | {_yes(r.ratio <= target)} |")
    return lines


def markdown(measurements: list[Measurement], captured: list[ScenarioResult], *, quick: bool,
             seconds: float, stages: dict[str, float] | None = None,
             notes: list[str] | None = None) -> str:
    """The whole report as Markdown."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rounds = captured[0].rounds if captured else 0
    requests = captured[0].requests if captured else 0
    out = ["# Performance", "",
           "Written by `python -m benchmarks` (the numbers below are from one run of it; "
           "`python -m benchmarks --quick` checks the benchmark still works and its numbers "
           "mean nothing).", ""]
    if quick:
        out += ["**Quick mode: tiny inputs, few requests. These figures are not measurements.**",
                ""]
    out += [f"Run {when}, {seconds / 60:.1f} minutes.", "", "## Machine and versions", "",
            *machine(), f"- {versions()}", "",
            "## Analyzer", "",
            "Inputs are generated by `benchmarks/generate.py` from the capture records in "
            "`samples/attempts.jsonl` (80% successes, the rest spread over every failure "
            "sample; 40 clients, 6 services, 30 days, times up to 2 s out of order; history "
            "facts found again in write order, as one capturing process finds them). Each "
            "row is one file, timed three ways in the same run, one child process each: "
            "`hgobs analyze --format json FILE` end to end (start-up and rendering "
            "included), every line parsed by the fastest JSON parser installed (the floor "
            "for any Python tool), and `pandas.read_json(FILE, lines=True)`. rec/s is "
            "records per second of wall time; peak is the child's peak resident memory.", "",
            *_analyzer(measurements), "", *_analyzer_targets(measurements), ""]
    if stages:
        out += ["### Where the analyzer's time goes", "", *_stages(stages), ""]
    out += ["## Capture overhead", "",
            "Client CPU time per request (`time.process_time`, all threads of the client "
            "process; the loopback server runs in another process). Each round times "
            f"{requests} requests of every configuration back to back, the order rotating; "
            f"over {rounds} rounds, the per-configuration figures are medians, and *added* and "
            "*ratio* are the medians of each round's own difference and ratio (paired, so "
            "drift in the shared machine's speed cancels). Both instrumented clients share one "
            "SDK tracer provider (batch processor, dropping exporter) and meter provider "
            "(in-memory reader).", "",
            *_capture(captured), ""]
    if notes:
        out += ["## Notes", "", *notes, ""]
    return "\n".join(out).rstrip("\n") + "\n"
