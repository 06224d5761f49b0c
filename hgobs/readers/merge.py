"""Time order across inputs: each file's items through a reorder buffer, files k-way merged.

A log file is nearly sorted by time (concurrent writers and clock steps leave it a little out
of order), so each file passes through a reorder buffer bounded by a *lateness bound* in
seconds (``ReadContext.lateness_s``, default ``DEFAULT_LATENESS_S``): an item is released once
a record at least that much later has been read from the same file. The files' released items
are then merged by ``heapq`` on ``(time, file, line)``, so a folder of per-replica files is read
in the same order as the same records in one time-sorted file.

- A record earlier than the bound allows (older than the file's newest time by more than the
  bound) is *late*: it is yielded at once, where it stands, and counted per file in
  ``ReadContext.late``; one warning per file gives the count (logger ``hgobs.readers``; the
  CLI says it on standard error).
- An item without a time (a skip, or a record with no ``time``) keeps its place in its file:
  it follows the item read before it.
- A record whose ``time`` is a number out of range (before 1970, from 2100 on: negative
  seconds, milliseconds, 1e300, NaN, infinities) is a skip with ``TIME_OUT_OF_RANGE`` as its
  reason, kept in its place like other skips: counted, never a stop.
- A file's buffer holds at most ``ReadContext.max_buffered`` items; when full, its earliest
  item is released early, and any record later found to be earlier than it is late (counted
  as above, never a silent change of order). Buffer-full events are counted in
  ``ReadContext.reorder_full``.
- Open descriptors stay bounded whatever the number of files: when there are more than
  ``MAX_OPEN_AT_START`` files, a first pass reads each regular file up to its first timed
  record (then closes it), and a file is opened only when the merge reaches that time less the
  bound, and closed at its end: the files open at once are those whose records overlap in time
  (a handful for rotated files; one per replica for per-replica logs). Standard input and pipes
  are read once, from the start.

Memory: the buffers of the open files, plus one small entry per input file name.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
from collections.abc import Callable, Iterator

from hgobs.readers.base import Item, ReadContext
from hgobs.schema import TIME_END_S, time_in_range

__all__ = ["MAX_OPEN_AT_START", "first_time", "item_time", "merged", "ordered"]

MAX_OPEN_AT_START = 32
"""Up to this many files are opened at once from the start; more are opened as the merge
reaches them (after a first pass learns each file's first time)."""

TIME_OUT_OF_RANGE = "record time out of range (not seconds from 1970 to 2100)"
"""The skip reason of a record whose ``time`` is a number out of range (negative,
milliseconds, 1e300, not finite): it cannot be put in time order, nor bucketed."""
LOGGER = logging.getLogger("hgobs.readers")
LOGGER.addHandler(logging.NullHandler())  # a library's warnings go where the application says

Opener = Callable[[str, "list[str] | None"], Iterator[Item]]
"""``(file name, ignored) -> its items in file order`` (``hgobs.readers.read_file``)."""


def item_time(item: Item) -> float | None:
    """The time ``item`` is ordered by: its record's ``time`` (epoch seconds) when that is a
    number in range (``hgobs.schema.time_in_range``), else None (a skip, or a record without a
    usable time). ``ordered`` reads the same inline."""
    record = item.record
    when = None if record is None else record.get("time")
    return when if time_in_range(when) else None


def ordered(items: Iterator[Item], name: str, ctx: ReadContext
            ) -> Iterator[tuple[float, int, Item]]:
    """``(key time, line, item)`` for each of one file's ``items``, in time order within
    ``ctx.lateness_s`` (see module doc); ``line`` counts items from 1. Closing it closes
    ``items`` (and so the file)."""
    bound = ctx.lateness_s
    cap = max(1, ctx.max_buffered)
    push, pop = heapq.heappush, heapq.heappop
    buffer: list[tuple[float, int, Item]] = []
    floor = -math.inf  # items earlier than this can no longer be put in order
    last = -math.inf   # key of the item read before (an untimed item follows it)
    late = full = 0
    try:
        for seq, item in enumerate(items, start=1):
            record = item.record
            when = None if record is None else record.get("time")  # item_time, inline (hot)
            if when.__class__ is not float and when.__class__ is not int:
                when = None
                key = last
            elif not 0 <= when < TIME_END_S:
                when, key = None, last
                item = Item(item.source, reason=TIME_OUT_OF_RANGE)
            else:
                key = last = when
            if key < floor:
                late += when is not None
                yield key, seq, item
                continue
            entry = (key, seq, item)
            if when is not None and when - bound > floor:
                floor = when - bound
                if buffer and buffer[0][0] <= floor:
                    push(buffer, entry)
                    while buffer and buffer[0][0] <= floor:
                        yield pop(buffer)
                    continue
            push(buffer, entry)
            if len(buffer) > cap:
                entry = pop(buffer)
                floor = entry[0]
                full += 1
                yield entry
        while buffer:
            yield pop(buffer)
    finally:
        getattr(items, "close", lambda: None)()
    if late:
        ctx.late[name] = ctx.late.get(name, 0) + late
        LOGGER.warning("%s: %d record(s) more than %g s out of time order were read where they "
                       "stand", name, late, bound)
    if full:
        ctx.reorder_full[name] = ctx.reorder_full.get(name, 0) + full
        LOGGER.warning("%s: the reorder buffer (%d items) was full %d time(s)", name, cap, full)


def first_time(items: Iterator[Item]) -> float | None:
    """The time of the first timed record of ``items`` (read no further; the iterator is closed
    so its file is), or None when there is none."""
    try:
        for item in items:
            when = item_time(item)
            if when is not None:
                return when
        return None
    finally:
        getattr(items, "close", lambda: None)()


def _regular(name: str) -> bool:
    try:
        return name != "-" and os.path.isfile(name)
    except (OSError, ValueError):
        return False


def merged(files: list[tuple[str, list[str] | None]], ctx: ReadContext, open_items: Opener
           ) -> Iterator[Item]:
    """Items of ``files`` merged by ``(time, file, line)`` (see module doc). Each file is a
    ``(name, ignored)`` pair and ``open_items(name, ignored)`` gives its items in file order
    (``ignored``: where a file in no known format is listed instead of skipped, or None); the
    first pass lists nothing."""
    if len(files) == 1:
        for entry in ordered(open_items(*files[0]), files[0][0], ctx):
            yield entry[2]
        return
    lazy = len(files) > MAX_OPEN_AT_START
    pending: list[tuple[float, int]] = []
    for index, (name, _) in enumerate(files):
        start = -math.inf
        if lazy and _regular(name):
            first = first_time(open_items(name, []))
            if first is not None:
                start = first - ctx.lateness_s
        pending.append((start, index))
    heapq.heapify(pending)
    active: list[tuple[float, int, int, Item, Iterator[tuple[float, int, Item]]]] = []
    try:
        while active or pending:
            if pending and (not active or pending[0] < (active[0][0], active[0][1])):
                _, index = heapq.heappop(pending)
                name, ignored = files[index]
                stream = ordered(open_items(name, ignored), name, ctx)
                head = next(stream, None)
                if head is not None:
                    heapq.heappush(active, (head[0], index, head[1], head[2], stream))
                continue
            _, index, _, item, stream = active[0]
            yield item
            head = next(stream, None)
            if head is None:
                heapq.heappop(active)
            else:
                heapq.heapreplace(active, (head[0], index, head[1], head[2], stream))
    finally:
        for *_, stream in active:
            stream.close()  # type: ignore[attr-defined]
