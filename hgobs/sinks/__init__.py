"""Sinks: where a finished auth attempt record goes, behind one ``Sink`` protocol.

``jsonl.JsonlSink`` (a JSON Lines file) and ``logging.LogSink`` (one standard-library log record
per attempt) are sinks. The OpenTelemetry span and metrics (``otel``) are not: they are fed the
record together with the live span (attributes, events, exemplars) by the recorder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from hgobs.schema import Record


@runtime_checkable
class Sink(Protocol):
    """Takes finished, redacted records (``hgobs.schema`` fields, diagnosed).

    ``write`` must not block on I/O (queue, or drop and count) and may raise only for a fault of
    its own (the recorder runs it under ``hgobs.capture.guard.guarded``); ``flush`` waits up
    to ``timeout`` seconds until everything written is delivered and says whether it is;
    ``close`` flushes (same bound) and releases what the sink holds (a later ``write`` may open
    it again).
    """

    def write(self, record: Record, attributes: Mapping[str, Any] | None = None) -> None:
        """Take one record; ``attributes``, when given, are its scalar fields as span
        attributes (``hgobs.<field>``), made once by the span sink for any sink that wants
        them (the logging sink does)."""

    def flush(self, timeout: float = ...) -> bool:
        """Deliver what was written, waiting at most ``timeout`` seconds; True when done."""

    def close(self, timeout: float = ...) -> None:
        """Flush, then release the sink's resources."""
