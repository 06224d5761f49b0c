"""How far a cluster run is: tasks tell their bytes and records, the client sums them on stderr.

A partition's task publishes ``(part, bytes read, records counted)`` every ``TELL_EVERY`` items
as a Dask worker event (``Worker.log_event`` on the topic ``TOPIC``); the client subscribes to
it (``Client.subscribe_topic``) and shows the sums with ``hgobs.progress.Progress``, which
writes nothing when standard error is not a terminal. Counts only: no name, no record.
"""

from __future__ import annotations

import threading
from typing import Any

from hgobs.progress import Progress

__all__ = ["TELL_EVERY", "TOPIC", "Tally", "tell"]

TOPIC = "hgobs-progress"
TELL_EVERY = 20_000
"""Items a task judges between two progress events."""


def tell(part: int, done_bytes: int, records: int) -> None:
    """Publish a task's absolute counts (nothing outside a Dask worker)."""
    try:
        from distributed import get_worker

        get_worker().log_event(TOPIC, {"part": part, "bytes": done_bytes, "records": records})
    except (ImportError, ValueError):  # not in a worker (a test calling the task directly)
        return


class Tally:
    """The client's side: the latest counts of each part, shown on ``progress`` (when given)
    against ``total_bytes``, the bytes the partitions read in all."""

    def __init__(self, progress: Progress | None, total_bytes: int) -> None:
        self._progress = progress
        self._total = total_bytes
        self._parts: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def handle(self, event: Any) -> None:
        """A ``(time, message)`` event from ``TOPIC``."""
        message = event[1] if isinstance(event, tuple) else event
        if isinstance(message, dict):
            self.set(int(message["part"]), int(message["bytes"]), int(message["records"]))

    def set(self, part: int, done_bytes: int, records: int) -> None:
        """Record ``part``'s counts and show the sums (monotone: a rerun task restarts low)."""
        with self._lock:
            old = self._parts.get(part, (0, 0))
            self._parts[part] = (max(old[0], done_bytes), max(old[1], records))
            done = sum(b for b, _ in self._parts.values())
            count = sum(r for _, r in self._parts.values())
            if self._progress is not None:
                self._progress.update(done_bytes=min(done, self._total),
                                      total_bytes=self._total, records=count)
