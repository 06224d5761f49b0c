"""Benchmark inputs: realistic capture records as hgobs JSON Lines or OTLP JSON, of any size.

Records are drawn from ``samples/attempts.jsonl`` (records the instrumented client made
against the emulator, one per documented failure, and successes), so each has the real capture
record shape and the diagnosis capture gave it. Each drawn record gets its own time, client,
service, trace and span ids and fresh fingerprints (assertion, ``jti``, issued access value);
an API call presents a value some earlier exchange of its client was issued, so the history
rules have work to do. ``ok_share`` of the records (default 80%) are successes; the rest are
spread evenly over the failure samples, so over every category the samples show.

The history facts are then found again, as the capturing process would have found them: each
record, in write order, goes through ``hgobs.diagnosis.History.annotate``, and a failure whose
facts changed (an API call now presents another exchange's value) is diagnosed again under the
samples' profile, with the samples' rules stamp. So the generated log is one a single capturing
process could have written, and its history facts agree with what the analyzer finds, except
where the analyzer's time order differs from the write order.

Times advance evenly over ``days`` with up to ``jitter_s`` seconds of noise, so the input is a
little out of time order, as concurrent writers leave it.

``python -m benchmarks.generate OUT [--records N] [--format jsonl|otlp] [--seed S]`` writes such
a file, e.g. a large input to try ``hgobs analyze`` and its progress display on.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from hgobs.analysis.classify import HISTORY_FIELDS
from hgobs.diagnosis import History, diagnose, is_failure
from hgobs.profiles import Profile
from hgobs.schema import SCHEMA_ID

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "attempts.jsonl"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SAMPLES_PORT = 8741
"""The emulator port of ``scripts/make_samples.py`` (it appears in the samples' URLs)."""
SPANS_PER_LINE = 50
"""Spans per OTLP line (one export batch)."""


@dataclass(frozen=True)
class Spec:
    """What to generate: ``records`` records, ``ok_share`` successes (0..1), ``clients``
    client ids over ``services`` services, times over ``days`` days with ``jitter_s`` seconds
    of disorder, from random ``seed``."""

    records: int
    ok_share: float = 0.8
    clients: int = 40
    services: int = 6
    days: float = 30.0
    jitter_s: float = 2.0
    seed: int = 7


def templates(path: Path = SAMPLES) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The sample records split into (successes, failures), ``schema`` removed."""
    ok: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        record = orjson.loads(line)
        record.pop("schema", None)
        (ok if record.get("category") == "ok" else failed).append(record)
    if not ok or not failed:
        raise ValueError(f"{path} needs both successful and failed records")
    return ok, failed


def records(spec: Spec) -> Iterator[dict[str, Any]]:
    """``spec.records`` generated records, in write order (see module doc)."""
    rng = random.Random(spec.seed)
    ok, failed = templates()
    clients = [f"{rng.getrandbits(64):016x}" for _ in range(spec.clients)]
    services = [f"svc-{i}" for i in range(spec.services)]
    service_of = {c: services[i % len(services)] for i, c in enumerate(clients)}
    issued: dict[str, str] = {}
    history, profile = History(), samples_profile()
    step = spec.days * 86_400.0 / max(1, spec.records)
    bits = rng.getrandbits
    for i in range(spec.records):
        template = rng.choice(ok) if rng.random() < spec.ok_share else rng.choice(failed)
        record = dict(template)
        client = clients[bits(16) % len(clients)]
        t = round(START + i * step + (rng.random() - 0.5) * 2 * spec.jitter_s, 6)
        record["time"] = t
        record["client.fp"] = client
        record["service.name"] = service_of[client]
        record["trace_id"] = f"{bits(128):032x}"
        record["span_id"] = f"{bits(64):016x}"
        if "server.date" in record:
            record["server.date"] = round(t - record.get("clock.offset_s", 0.0), 3)
        for name in ("assertion.fp", "assertion.jti_fp"):
            if name in record:
                record[name] = f"{bits(64):016x}"
        for name in ("assertion.iat", "assertion.exp", "assertion.nbf"):
            value = record.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 1e11:
                record[name] = int(value - template["time"] + t)
        if record.get("issued.fp"):
            record["issued.fp"] = f"{bits(64):016x}"
            issued[client] = record["issued.fp"]
        if record.get("presented.fp") and client in issued:
            record["presented.fp"] = issued[client]
        carried = [record.pop(name, None) for name in HISTORY_FIELDS]
        history.annotate(record)
        if [record.get(name) for name in HISTORY_FIELDS] != carried and is_failure(record):
            record.update(diagnose(record, profile).as_fields())
        yield record


def samples_profile() -> Profile:
    """The profile ``scripts/make_samples.py`` records under: its emulator's, on its port."""
    from hgobs.emulator.server import emulator_profile

    return emulator_profile(f"http://127.0.0.1:{SAMPLES_PORT}")


def jsonl_line(record: dict[str, Any]) -> bytes:
    """One record as the capture sink writes it (``schema`` first), newline included."""
    return orjson.dumps({"schema": SCHEMA_ID, **record}) + b"\n"


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [{"stringValue": str(x)} for x in v]}}
    return {"stringValue": str(v)}


def otlp_span(record: dict[str, Any]) -> dict[str, Any]:
    """The span hgobs's OpenTelemetry sink makes of ``record``, as OTLP JSON."""
    start = int(record["time"] * 1e9)
    end = start + int(record.get("duration_s", 0.05) * 1e9)
    attributes = [{"key": "hgobs." + k, "value": _value(v)} for k, v in record.items()
                  if k not in ("trace_id", "span_id") and v is not None]
    span: dict[str, Any] = {
        "traceId": record["trace_id"], "spanId": record["span_id"],
        "name": f"hgobs {record['endpoint.kind'].replace('_', ' ')}", "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
        "attributes": attributes}
    if record.get("outcome") == "failed":
        span["status"] = {"code": 2, "message": str(record.get("category"))}
    return span


def otlp_line(batch: list[dict[str, Any]]) -> bytes:
    """One OTLP ``TracesData`` line holding the spans of ``batch`` (one service)."""
    service = batch[0].get("service.name") or "unknown"
    doc = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "hgobs"}, "spans": [otlp_span(r) for r in batch]}]}]}
    return orjson.dumps(doc) + b"\n"


def write(path: Path, spec: Spec, fmt: str = "jsonl") -> int:
    """Write ``spec.records`` records to ``path`` as ``jsonl`` or ``otlp``; returns bytes."""
    size = 0
    with open(path, "wb", buffering=1 << 20) as out:
        if fmt == "jsonl":
            size = _write_jsonl(out, spec)
        elif fmt == "otlp":
            size = _write_otlp(out, spec)
        else:
            raise ValueError(f"unknown format {fmt!r}")
    return size


def _write_jsonl(out: BinaryIO, spec: Spec) -> int:
    size = 0
    chunk: list[bytes] = []
    for record in records(spec):
        chunk.append(jsonl_line(record))
        if len(chunk) == 4096:
            data = b"".join(chunk)
            size += out.write(data)
            chunk.clear()
    data = b"".join(chunk)
    return size + out.write(data)


def _write_otlp(out: BinaryIO, spec: Spec) -> int:
    size = 0
    batches: dict[str, list[dict[str, Any]]] = {}
    for record in records(spec):
        batch = batches.setdefault(record.get("service.name") or "", [])
        batch.append(record)
        if len(batch) == SPANS_PER_LINE:
            size += out.write(otlp_line(batch))
            batch.clear()
    for batch in batches.values():
        if batch:
            size += out.write(otlp_line(batch))
    return size


def main(argv: list[str] | None = None) -> int:
    """Write a generated file (see the module doc for the options); returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate",
                                     description="Write generated capture records to OUT.")
    parser.add_argument("out", type=Path, help="the file to write (replaced if it exists)")
    parser.add_argument("--records", type=int, default=200_000, help="how many (default 200000)")
    parser.add_argument("--format", choices=("jsonl", "otlp"), default="jsonl",
                        help="hgobs JSON Lines (default) or OTLP JSON export lines")
    parser.add_argument("--seed", type=int, default=Spec.seed, help="random seed")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    size = write(args.out, Spec(records=args.records, seed=args.seed), args.format)
    print(f"{args.out}: {args.records} records, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
