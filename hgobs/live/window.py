"""A sliding window of classified records: attempts and failures per category in the last N seconds.

The window ends at the newest record time seen (record time, not the clock: a log replayed or
read late gives the same window as it did live) and spans ``window_s`` seconds before it.
Counts are kept per whole second, so memory is bounded by the window's length in seconds
times the categories seen in it, whatever the rate of records.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass

from hgobs.diagnosis.catalog import OK


@dataclass(frozen=True)
class WindowCounts:
    """What a window holds: ``start`` and ``end`` (epoch seconds; NaN when empty),
    ``attempts``, ``failures`` and ``by_category`` (failure category -> count, most first)."""

    start: float
    end: float
    attempts: int
    failures: int
    by_category: tuple[tuple[str, int], ...]


class SlidingWindow:
    """Counts of the records of the last ``window_s`` seconds of record time (see module doc).
    ``add(time, category)`` takes one classified record; ``counts()`` gives a
    ``WindowCounts``. A record older than the window when it comes is not counted."""

    def __init__(self, window_s: float) -> None:
        if not window_s > 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self._seconds: deque[tuple[int, Counter[str]]] = deque()  # (second, counts), oldest first
        self._total: Counter[str] = Counter()
        self._newest = -math.inf

    def add(self, when: float, category: str | None) -> None:
        """Count one record at ``when`` (epoch seconds) whose verdict is ``category``."""
        if when > self._newest:
            self._newest = when
            self._evict()
        if when <= self._newest - self.window_s:
            return
        second = int(when)
        key = str(category) if category is not None else "unclassified"
        seconds = self._seconds
        if seconds and seconds[-1][0] == second:
            counts = seconds[-1][1]
        elif not seconds or seconds[-1][0] < second:
            counts = Counter()
            seconds.append((second, counts))
        else:  # a little out of order: find its second (the deque is short near its end)
            counts = next((c for s, c in reversed(seconds) if s == second), Counter())
            if not any(s == second for s, _ in seconds):
                seconds.append((second, counts))
                self._seconds = deque(sorted(seconds, key=lambda pair: pair[0]))
        counts[key] += 1
        self._total[key] += 1

    def _evict(self) -> None:
        oldest = self._newest - self.window_s
        seconds = self._seconds
        if not seconds or seconds[0][0] + 1 > oldest:
            return
        while seconds and seconds[0][0] + 1 <= oldest:
            _, counts = seconds.popleft()
            self._total.subtract(counts)
        self._total = +self._total  # drop zero counts

    def counts(self) -> WindowCounts:
        """The window's counts now."""
        attempts = sum(self._total.values())
        failed = [(c, n) for c, n in self._total.most_common() if c != OK]
        end = self._newest if attempts else math.nan
        return WindowCounts(start=end - self.window_s, end=end, attempts=attempts,
                            failures=sum(n for _, n in failed), by_category=tuple(failed))
