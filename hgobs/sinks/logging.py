"""Logging sink: one standard-library log record per auth attempt on the ``hgobs`` logger.

A failed attempt is logged at WARNING and a successful one at INFO, each only when the
``hgobs`` logger is enabled for that level: under the library default (the root logger at
WARNING, as ``logging.basicConfig()`` leaves it) failures are logged and successes are not.
The record's scalar fields ride along as ``extra`` attributes ``hgobs.<field>`` (redacted
facts only, as on the span); the message names the endpoint kind, environment and category.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from hgobs.schema import ATTRIBUTE_PREFIX, Record, scalar_attributes

RECORD_LOG = logging.getLogger("hgobs")
MESSAGE = "hgobs auth attempt %s %s: %s"
"""``%``-style format: endpoint kind, environment, category (``hgobs auth attempt token_exchange
sandbox: expired_assertion``)."""


def level_of(record: Record) -> int:
    """``logging.WARNING`` for a failed attempt (``outcome`` is ``failed``), else ``logging.INFO``."""
    return logging.WARNING if record.get("outcome") == "failed" else logging.INFO


def log_record(record: Record, fields: Mapping[str, Any] | None = None) -> None:
    """Log ``record`` on the ``hgobs`` logger at ``level_of(record)`` if that level is enabled.

    ``fields``: the record's ``hgobs.<field>`` values when already made (the span's, from
    ``hgobs.sinks.otel.finish_span``), else made here. Nothing is built (no fields, no message)
    when the level is disabled. The log record is made by the logger's ``makeRecord`` (so a
    custom logger class or record factory applies) and given to its ``handle`` (level, filters,
    handlers as for ``Logger.log``); the fields are added to it in one update, since their
    ``hgobs.`` keys cannot clash with a ``LogRecord`` attribute (what ``Logger.log``'s ``extra``
    checks key by key). Its ``pathname``, ``lineno`` and ``funcName`` name this function, as the
    caller lookup ``Logger.log`` makes would (and which is not made). Errors from handlers are
    the logging module's to report (``logging.raiseExceptions``); the caller runs this under
    ``hgobs.capture.guard.guarded``."""
    level = level_of(record)
    if not RECORD_LOG.isEnabledFor(level):
        return
    if fields is None:
        fields = {ATTRIBUTE_PREFIX + k: v for k, v in scalar_attributes(record).items()}
    entry = RECORD_LOG.makeRecord(
        RECORD_LOG.name, level, _CODE.co_filename, _CODE.co_firstlineno, MESSAGE,
        (record.get("endpoint.kind"), record.get("environment"), record.get("category")),
        None, _CODE.co_name)
    entry.__dict__.update(fields)
    RECORD_LOG.handle(entry)


_CODE = log_record.__code__


class LogSink:
    """The logging sink as a ``hgobs.sinks.Sink``: ``write`` is ``log_record``; the logging
    module's handlers own delivery, so ``flush`` and ``close`` have nothing to wait for."""

    def write(self, record: Record, attributes: Mapping[str, Any] | None = None) -> None:
        """``log_record(record, attributes)``."""
        log_record(record, attributes)

    def flush(self, timeout: float = 0.0) -> bool:
        """Nothing queued here: True."""
        return True

    def close(self, timeout: float = 0.0) -> None:
        """Nothing held here."""
