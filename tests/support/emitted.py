"""Collect everything hgobs emits in a test: spans, metric points, log records, JSON Lines.

``Emitted`` gathers, after the requests ran, every string hgobs put anywhere (span names,
attribute keys and values, status descriptions, events; metric names, units, descriptions and
data point attributes; log messages and ``extra`` attributes on the ``hgobs`` logger tree; the
JSON Lines file), each tagged with where it was seen, and every key it used. ``OpenSpans`` is a
span processor that tells which spans were started but never ended. ``loop_profile`` is a
provider profile whose token URL and API base live on one loopback origin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from hgobs.profiles import Profile, profile_from_mapping
from hgobs.sinks.jsonl import flush_all

STANDARD_LOG_ATTRIBUTES = frozenset(
    logging.LogRecord("x", logging.INFO, "x", 1, "x", None, None).__dict__
) | {"message", "asctime", "taskName"}


def loop_profile(origin: str, name: str = "loop") -> Profile:
    """Environment ``sandbox``: token URL ``{origin}/oauth/token``, API base ``{origin}/fhir``."""
    return profile_from_mapping({
        "name": name,
        "environments": {"sandbox": {"token_urls": [f"{origin}/oauth/token"],
                                     "api_bases": [f"{origin}/fhir"]}},
    })


class LogCollector(logging.Handler):
    """Keeps every record logged on a logger tree."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def extras(self, record: logging.LogRecord) -> dict[str, Any]:
        """The ``extra`` attributes of ``record`` (everything not standard on a LogRecord)."""
        return {k: v for k, v in record.__dict__.items() if k not in STANDARD_LOG_ATTRIBUTES}


@contextmanager
def collect_logs(name: str = "hgobs", level: int = logging.DEBUG) -> Iterator[LogCollector]:
    """Attach a ``LogCollector`` to logger ``name`` at ``level`` for the block, then restore."""
    logger = logging.getLogger(name)
    handler = LogCollector()
    old_level = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class OpenSpans(SpanProcessor):
    """Remembers started spans until they end."""

    def __init__(self) -> None:
        self.started: dict[int, str] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started[span.get_span_context().span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.get_span_context()
        if ctx is not None:
            self.started.pop(ctx.span_id, None)

    def open_names(self) -> list[str]:
        return sorted(self.started.values())


def _flatten(value: Any) -> Iterator[str]:
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _flatten(v)
    elif value is not None:
        yield str(value)


class Emitted:
    """Everything one test's telemetry, logs and JSON Lines file hold, as tagged strings."""

    def __init__(self, telemetry: Any, logs: LogCollector | None = None,
                 jsonl: Path | None = None, scope: str | None = "hgobs") -> None:
        self.spans = [s for s in telemetry.spans()
                      if scope is None or s.instrumentation_scope.name == scope]
        data = telemetry.reader.get_metrics_data()
        self.metrics = [m for rm in (data.resource_metrics if data else ())
                        for sm in rm.scope_metrics
                        if scope is None or sm.scope.name == scope
                        for m in sm.metrics]
        self.logs = logs.records if logs is not None else []
        self._logs = logs
        if jsonl is not None:
            flush_all()  # the JSON Lines sink writes on its own thread
        self.jsonl_text = jsonl.read_text() if jsonl is not None and jsonl.exists() else ""

    def jsonl_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.jsonl_text.splitlines() if line.strip()]

    def strings(self) -> Iterator[tuple[str, str]]:
        """``(where, text)`` for every string emitted."""
        for s in self.spans:
            yield "span.name", s.name
            yield "span.status", s.status.description or ""
            for k, v in (s.attributes or {}).items():
                yield "span.attribute.key", k
                for text in _flatten(v):
                    yield f"span.attribute[{k}]", text
            for event in s.events:
                yield "span.event", event.name
                for k, v in (event.attributes or {}).items():
                    yield "span.event.attribute", k
                    for text in _flatten(v):
                        yield f"span.event[{k}]", text
        for m in self.metrics:
            yield "metric.name", m.name
            yield "metric.unit", m.unit or ""
            yield "metric.description", m.description or ""
            for point in m.data.data_points:
                for k, v in (point.attributes or {}).items():
                    yield "metric.attribute.key", k
                    for text in _flatten(v):
                        yield f"metric.attribute[{k}]", text
        for r in self.logs:
            yield f"log[{r.name}].message", r.getMessage()
            assert self._logs is not None
            for k, v in self._logs.extras(r).items():
                yield "log.extra.key", k
                for text in _flatten(v):
                    yield f"log.extra[{k}]", text
            if r.exc_info and r.exc_info[1] is not None:
                yield "log.exc", repr(r.exc_info[1])
        if self.jsonl_text:
            yield "jsonl", self.jsonl_text

    def span_keys(self) -> set[str]:
        return {k for s in self.spans for k in (s.attributes or {})}

    def metric_keys(self) -> set[str]:
        return {k for m in self.metrics for p in m.data.data_points for k in (p.attributes or {})}

    def metric_names(self) -> set[str]:
        return {m.name for m in self.metrics}

    def log_keys(self) -> set[str]:
        if self._logs is None:
            return set()
        return {k for r in self.logs for k in self._logs.extras(r)}

    def jsonl_keys(self) -> set[str]:
        return {k for rec in self.jsonl_records() for k in rec}


def find_leaks(emitted: Iterable[tuple[str, str]], needles: Iterable[str],
               min_len: int = 8) -> list[tuple[str, str, str]]:
    """``(where, piece, text)`` for each emitted text holding a ``min_len`` piece of a needle."""
    pieces: dict[str, str] = {}
    for needle in needles:
        for i in range(0, max(len(needle) - min_len, 0) + 1):
            pieces.setdefault(needle[i:i + min_len], needle)
    found: list[tuple[str, str, str]] = []
    for where, text in emitted:
        for piece in pieces:
            if piece in text:
                found.append((where, piece, text[:300]))
                break
    return found


def refused_exchange(server: Any, telemetry: Any, tmp_path: Path, description: str, *,
                     client_id: str, client_secret: str) -> Emitted:
    """One ``client_credentials`` exchange through an instrumented client to ``server`` (a
    loopback server), answered 401 ``invalid_client`` with ``description``; what hgobs
    emitted (spans, metrics, logs, the JSON Lines file in ``tmp_path``)."""
    import httpx

    import hgobs
    from tests.support.loopback import Reply

    server.script.load([Reply(401, [("content-type", "application/json")], json.dumps(
        {"error": "invalid_client", "error_description": description}).encode())])
    jsonl = tmp_path / "attempts.jsonl"
    with collect_logs() as logs, httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin), jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        client.post(f"{server.origin}/oauth/token",
                    data={"grant_type": "client_credentials", "client_id": client_id,
                          "client_secret": client_secret})
        hgobs.uninstrument_client(client)
    return Emitted(telemetry, logs, jsonl)
