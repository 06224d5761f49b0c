"""Time order across followed inputs: a watermark with a lateness bound, in record and wall time.

Records from every followed input wait in one heap, ordered by ``(time, arrival)``. A
record is released (handed to the judge) when

- the *watermark* is more than ``lateness_s`` past its time (record time, as the readers'
  reorder buffers use it). The watermark is the newest record time read from any input,
  except while inputs are still reading (catching up on what a file held, or a burst): then
  it is the oldest of *their* newest times, so files read from their start are merged in
  time order (as ``hgobs classify`` merges files), while an input that waits for lines (a
  quiet file) holds nothing back;
- or, once every input has been read to its end at least once, it has waited ``wait_s`` in
  wall time (at most ``lateness_s``; no wait with a single input, which has nobody to wait
  for): the lines of other files written at the same moment are read within a poll or two,
  so a live record is printed about a second after it is written, and a quiet log's last
  record is never held;
- or the heap holds ``max_buffered`` records (the earliest is released; memory cap).

A record older than a record already released is *late*: it is released at once, where it
stands, and marked so (``hgobs classify --follow`` prints ``"late": true``); the judge sees
it without the history that came after it. Skips and records without a time are released at
once. A record whose ``time`` is out of range is a skip with the readers' reason
(``hgobs.readers.merge``). Memory: the heap (bounded), one entry per input.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterator

from hgobs.readers.base import Item
from hgobs.readers.merge import TIME_OUT_OF_RANGE
from hgobs.schema import time_in_range

Released = tuple[Item, bool]
"""A released item and whether it is late."""
_NOTHING: list[Released] = []  # what most adds release (never appended to)


class Watermark:
    """The reorder buffer of a live run (see module doc). Feed it with ``add`` and the
    inputs' states (``reading``, ``idle``, ``gone``); ``due(now)`` gives what is released by
    then (``now``: wall-clock seconds, any monotonic origin); ``drain()`` everything left.
    ``lateness_s`` and ``wait_s``: seconds (see module doc)."""

    def __init__(self, lateness_s: float, max_buffered: int, wait_s: float = 1.0) -> None:
        self.lateness_s = lateness_s
        self.wait_s = min(wait_s, lateness_s)
        self.max_buffered = max(1, max_buffered)
        self.late = 0
        """Late records released (see module doc)."""
        self.full = 0
        """Records released early because the heap was full."""
        self._heap: list[tuple[float, int, Item]] = []
        self._arrivals: deque[tuple[float, float]] = deque()  # (wall time read, record time)
        self._overdue = -math.inf  # times of arrivals dropped over the cap (see due)
        self._seq = 0
        self._floor = -math.inf  # the newest time released
        self._newest: dict[int, float] = {}
        self._reading: set[int] = set()
        self._never_idle: set[int] = set()
        self._known: set[int] = set()

    def reading(self, sid: int) -> None:
        """Input ``sid`` reads (its first state, and again after ``idle``)."""
        self._reading.add(sid)
        if sid not in self._known:
            self._known.add(sid)
            self._never_idle.add(sid)

    def idle(self, sid: int) -> None:
        """Input ``sid`` has read everything there is and waits."""
        self._reading.discard(sid)
        self._never_idle.discard(sid)

    def gone(self, sid: int) -> None:
        """Input ``sid`` has ended (standard input closed, a follower stopped)."""
        self.idle(sid)

    def add(self, sid: int, item: Item, now: float) -> list[Released]:
        """Take ``item`` of input ``sid`` read at ``now``; returns what it releases at once
        (itself when it is a skip, untimed or late; a record the full heap lets go)."""
        record = item.record
        when = None if record is None else record.get("time")
        if when is None or isinstance(when, bool) or not isinstance(when, (int, float)):
            return [(item, False)]
        if not time_in_range(when):
            return [(Item(item.source, reason=TIME_OUT_OF_RANGE), False)]
        if when < self._floor:
            self.late += 1
            return [(item, True)]
        if when > self._newest.get(sid, -math.inf):
            self._newest[sid] = when
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, item))
        self._arrivals.append((now, when))
        if len(self._arrivals) > self.max_buffered:
            dropped = self._arrivals.popleft()[1]
            if dropped > self._overdue:
                self._overdue = dropped
        if len(self._heap) > self.max_buffered:
            self.full += 1
            return [self._pop()]
        return _NOTHING

    def _pop(self) -> Released:
        when, _, item = heapq.heappop(self._heap)
        if when > self._floor:
            self._floor = when
        return item, False

    def watermark(self) -> float:
        """The time records are released up to (less the bound), see module doc."""
        reading = [self._newest[s] for s in self._reading if s in self._newest]
        if reading:
            return min(reading)
        return max(self._newest.values(), default=-math.inf)

    def due(self, now: float) -> Iterator[Released]:
        """The records released by wall-clock ``now`` (see module doc), in time order. A
        record that waited long enough is released with every record before it in time."""
        heap, arrivals = self._heap, self._arrivals
        if not heap:
            arrivals.clear()
            self._overdue = -math.inf
            return
        floor = self._floor
        while arrivals and arrivals[0][1] <= floor:  # released already (by record time)
            arrivals.popleft()
        oldest = now - (self.wait_s if len(self._known) > 1 else 0.0)
        limit = self.watermark() - self.lateness_s
        cut = -math.inf
        if not self._never_idle:  # settled: wall time counts
            cut = self._overdue
            self._overdue = -math.inf
            while arrivals and arrivals[0][0] <= oldest:
                when = arrivals.popleft()[1]
                if when > cut:
                    cut = when
        while heap and (heap[0][0] < limit or heap[0][0] <= cut):
            yield self._pop()

    def drain(self) -> Iterator[Released]:
        """Every record still held, in time order."""
        while self._heap:
            yield self._pop()

    def __len__(self) -> int:
        return len(self._heap)
