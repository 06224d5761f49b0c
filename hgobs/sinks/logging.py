"""Logging sink: one standard-library log record per auth attempt on the ``hgobs`` logger.

A failed attempt is logged at WARNING and a successful one at INFO, each only when the
``hgobs`` logger is enabled for that level: under the library default (the root logger at
WARNING, as ``logging.basicConfig()`` leaves it) failures are logged and successes are not.
The record's scalar fields ride along as ``extra`` attributes ``hgobs.<field>`` (redacted
facts only, as on the span); the message names the endpoint kind, environment and category.
"""

from __future__ import annotations

import logging

from hgobs.schema import ATTRIBUTE_PREFIX, Record, scalar_attributes

RECORD_LOG = logging.getLogger("hgobs")
MESSAGE = "hgobs auth attempt %s %s: %s"
"""``%``-style format: endpoint kind, environment, category (``hgobs auth attempt token_exchange
sandbox: expired_assertion``)."""


def level_of(record: Record) -> int:
    """``logging.WARNING`` for a failed attempt (``outcome`` is ``failed``), else ``logging.INFO``."""
    return logging.WARNING if record.get("outcome") == "failed" else logging.INFO


def log_record(record: Record) -> None:
    """Log ``record`` on the ``hgobs`` logger at ``level_of(record)`` if that level is enabled.

    Nothing is built (no ``extra`` mapping, no message) when the level is disabled. Errors from
    handlers are the logging module's to report (``logging.raiseExceptions``); the caller runs
    this under ``hgobs.capture.guard.guarded``."""
    level = level_of(record)
    if not RECORD_LOG.isEnabledFor(level):
        return
    extra = {ATTRIBUTE_PREFIX + k: v for k, v in scalar_attributes(record).items()}
    RECORD_LOG.log(level, MESSAGE, record.get("endpoint.kind"), record.get("environment"),
                   record.get("category"), extra=extra)


class LogSink:
    """The logging sink as a ``hgobs.sinks.Sink``: ``write`` is ``log_record``; the logging
    module's handlers own delivery, so ``flush`` and ``close`` have nothing to wait for."""

    def write(self, record: Record) -> None:
        """``log_record(record)``."""
        log_record(record)

    def flush(self, timeout: float = 0.0) -> bool:
        """Nothing queued here: True."""
        return True

    def close(self, timeout: float = 0.0) -> None:
        """Nothing held here."""
