"""JSON Lines sink: append each auth attempt record as one JSON object per line."""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import Any

from hgobs.schema import SCHEMA_ID, Record


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(record: Record) -> str:
    """One record as a single JSON line (no newline), with ``"schema"`` first; a non-finite
    number (not JSON, RFC 8259 section 6) is written as null."""
    return json.dumps({"schema": SCHEMA_ID, **{k: _finite(v) for k, v in record.items()}},
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


class JsonlSink:
    """Appends records to ``path`` (created with its folder; mode 0600), one line per write.

    Each record is written with one ``write`` on a file opened with ``O_APPEND``, so lines of
    several processes do not interleave. Thread-safe. Raises ``OSError`` when the file cannot be
    opened or written (the instrumentor's guard catches it).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def write(self, record: Record) -> None:
        """Append ``record`` as one line."""
        data = (dumps(record) + "\n").encode("utf-8")
        with self._lock:
            os.write(self._open(), data)

    def close(self) -> None:
        """Close the file (a later ``write`` opens it again)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
