"""The benchmark report: machine, versions, every figure beside its baseline, target verdicts."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata

from benchmarks.analyze import Measurement
from benchmarks.capture import ScenarioResult

DEFAULT_TARGET = 3.0
"""``hgobs analyze`` CPU time / plain-decode CPU time, 1M JSON Lines records (issue 13 item 7)."""
REJUDGE_TARGET = 5.0
"""The same with ``--rejudge`` (every record judged again)."""
MEMORY_TARGET = 1.25
"""Peak memory on 4M records / peak memory on 1M records."""
OTLP_TARGET = 2.0
"""``hgobs analyze`` CPU time / plain-decode CPU time of the same OTLP JSON file."""
CAPTURE_TARGETS = {"api_ok": 1.02, "api_401": 1.5, "exchange_ok": 1.5, "exchange_fail": 1.5}
"""(OTel httpx + hgobs) / OTel httpx alone, client CPU time per request."""
PACKAGES = ("hgobs", "pandas", "numpy", "msgspec", "httpx",
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
    lines = ["| input | records | size | run | CPU | wall | peak | CPU / plain decode |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for m in measurements:
        for name, run in (*m.runs.items(), ("plain decode", m.plain)):
            failed = f" (exit {run.status})" if run.status != 0 else ""
            ratio = f"{run.cpu_s / m.plain.cpu_s:.2f}x" if m.plain.cpu_s else "-"
            lines.append(f"| {m.fmt} | {m.records:,} | {m.size_bytes / 1e6:,.0f} MB | {name}{failed} "
                         f"| {run.cpu_s:.1f} s | {run.wall_s:.1f} s | {run.peak_mib:,.0f} MiB "
                         f"| {ratio} |")
    return lines


def _verdict(figure: float, target: float) -> str:
    if figure <= target:
        return "**holds**"
    return f"**missed** by {figure - target:.3g}x ({(figure / target - 1) * 100:.1f}% over)"


def _analyzer_targets(measurements: list[Measurement]) -> list[str]:
    good = [m for m in measurements if m.ok]
    jsonl = {m.records: m for m in good if m.fmt == "jsonl"}
    lines = ["| target (issue 13 item 7) | figure | verdict |", "|---|---|---|"]
    first = min(jsonl) if jsonl else None
    if first is not None:
        m = jsonl[first]
        for name, target in (("default", DEFAULT_TARGET), ("rejudge", REJUDGE_TARGET)):
            if name in m.runs:
                ratio = m.ratio(name)
                lines.append(f"| {name}: CPU <= {target:g}x plain decode, {m.records:,} JSON "
                             f"Lines records | {ratio:.2f}x | {_verdict(ratio, target)} |")
    if len(jsonl) >= 2:
        small, large = jsonl[min(jsonl)], jsonl[max(jsonl)]
        growth = large.runs["default"].peak_mib / small.runs["default"].peak_mib
        lines.append(f"| peak memory {large.records:,} <= {MEMORY_TARGET}x of {small.records:,} "
                     f"| {small.runs['default'].peak_mib:,.0f} -> "
                     f"{large.runs['default'].peak_mib:,.0f} MiB ({growth:.3f}x) "
                     f"| {_verdict(growth, MEMORY_TARGET)} |")
    for m in good:
        if m.fmt == "otlp":
            ratio = m.ratio("default")
            lines.append(f"| OTLP JSON: CPU <= {OTLP_TARGET:g}x its parse-only floor, "
                         f"{m.records:,} records | {ratio:.2f}x | {_verdict(ratio, OTLP_TARGET)} |")
    return lines


_STAGES = {"read": "read: lines, lean decode, time order (`read_paths`)",
           "judge": "judge: history facts, stamp check, verdicts (`judge`)",
           "reduce": "reduce: report state (`ReportState.add`)"}
_STEPS = {"plain_decode": "plain `msgspec.json.Decoder().decode` (the yardstick)",
          "lean_decode": "lean decode of a line (`jsonl.parse_lean`)",
          "whole_decode": "whole typed decode of a line (`jsonl.parse_line`)",
          "annotate": "history facts of a lean record (`History.annotate`)"}


def _stages(stages: dict[str, float]) -> list[str]:
    n = stages.get("records") or 0
    if not n:
        return ["_Stage breakdown not available._"]
    lines = [f"CPU time per record of the default run on the {int(n):,}-record JSON Lines "
             "input (one process, collector paused, the clock read around every record, "
             "which adds to each stage):", "",
             "| stage | CPU s | us per record |", "|---|---:|---:|"]
    for key, label in _STAGES.items():
        if key in stages:
            lines.append(f"| {label} | {stages[key]:.2f} | {stages[key] / n * 1e6:.2f} |")
    for key, label in (("report", "report tables (pandas), once"),
                       ("render_json", "render JSON, once")):
        if key in stages:
            lines.append(f"| {label} | {stages[key]:.2f} | {stages[key] / n * 1e6:.2f} |")
    steps = stages.get("steps") or 0
    if steps:
        lines += ["", f"Steps timed alone on the first {int(steps):,} lines (same process):", "",
                  "| step | us per record |", "|---|---:|"]
        for key, label in _STEPS.items():
            if key in stages:
                lines.append(f"| {label} | {stages[key] / steps * 1e6:.2f} |")
    return lines


def analyzer_section(measurements: list[Measurement], stages: dict[str, float] | None,
                     load: tuple[float, float], *, quick: bool) -> list[str]:
    """The "## Analyzer" section: each input's runs, the targets, where the time goes;
    ``load`` is the 1-minute load average before and after the runs."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["## Analyzer", ""]
    if quick:
        out += ["**Quick mode: tiny inputs. These figures are not measurements.**", ""]
    out += [f"Measured {when} on {os.cpu_count()} cores, load average {load[0]:.1f} before "
            f"and {load[1]:.1f} after (other jobs share the machine, so ratios are of CPU time, "
            "user + system, of each child process; wall time is shown for reference).", "",
            "Inputs are generated by `benchmarks/generate.py` from the capture records in "
            "`samples/attempts.jsonl` (80% successes, the rest spread over every failure "
            "sample; 40 clients, 6 services, 30 days, times up to 2 s out of order; history "
            "facts found again in write order, as one capturing process finds them; stamped "
            "under the samples' profile). Each file is timed in one run, one child process "
            "each: `hgobs analyze --format json --profile P FILE` end to end (start-up, "
            "report and rendering included; `P` the profile the records were stamped under, "
            "so stamped verdicts whose history facts are found again are kept), the same with "
            "`--rejudge` (every record judged again), and a plain "
            "`msgspec.json.Decoder().decode` of every line (for OTLP JSON, one export request "
            "per line: its parse-only floor).", "",
            *_analyzer(measurements), "", *_analyzer_targets(measurements), ""]
    if stages:
        out += ["### Where the analyzer's time goes", "", *_stages(stages), ""]
    return out


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
             notes: list[str] | None = None, load: tuple[float, float] = (0.0, 0.0)) -> str:
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
            *analyzer_section(measurements, stages, load, quick=quick)]
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
