"""One partition's task on a worker: read its blocks, merge them in time order, warm up, reduce.

The worker reads the blocks a partition needs itself (``hgobs.cluster.blocks.piece_items``),
merges its files as a single run does (``hgobs.readers.merge.merged``: the same key, file and
line order), judges every item with a key before the partition's end (``judge``, with the
worker's own fingerprint key), and adds to a ``ReportState`` only those whose key is at or after
its start: those before are the warm-up that fills the judge's history. What it returns is
small: the state and the counts the client reports on (``PartResult``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hgobs.analysis.classify import gc_paused, judge
from hgobs.analysis.state import ReportState
from hgobs.cluster.blocks import RunSpec, piece_items, worker_context
from hgobs.cluster.partition import Part
from hgobs.cluster.progress import TELL_EVERY, tell
from hgobs.cluster.sources import Source
from hgobs.readers.base import Item
from hgobs.readers.merge import merged
from hgobs.schema import TIME_END_S

__all__ = ["PartResult", "reduce_part"]


@dataclass
class PartResult:
    """What a partition's task returns: its ``state``; the records read out of time order
    beyond the lateness bound (``late``) and full reorder buffers (``reorder_full``), per file;
    profile names records gave that are not built in (``unknown_profiles``, plus the name of
    the profile they were judged under); files found in folders in no known format
    (``ignored``); bytes read (``bytes_read``) and the worker process's id (``pid``)."""

    state: ReportState
    late: dict[str, int] = field(default_factory=dict)
    reorder_full: dict[str, int] = field(default_factory=dict)
    unknown_profiles: set[str] = field(default_factory=set)
    unknown_profile: str | None = None
    ignored: list[str] = field(default_factory=list)
    bytes_read: int = 0
    pid: int = 0


def _keyed(items: Iterator[Item], start: float, end: float, counted: list[bool]
           ) -> Iterator[Item]:
    """``items`` (merged, time order) up to the first whose key reaches ``end``; before
    each is handed on, ``counted[0]`` says whether its key is at or after ``start``."""
    key = -math.inf
    try:
        for item in items:
            record = item.record
            when = None if record is None else record.get("time")
            if (when.__class__ is float or when.__class__ is int) and 0 <= when < TIME_END_S:
                key = when
            if key >= end:
                return
            counted[0] = key >= start
            yield item
    finally:
        getattr(items, "close", lambda: None)()


def reduce_part(part: Part, sources: Mapping[int, Source], spec: RunSpec,
                options: Mapping[str, Any]) -> PartResult:
    """The ``PartResult`` of ``part`` (see module doc); ``sources`` are the run's files that
    ``part`` reads, by number; ``options`` the ``ReportState``'s keyword arguments. Tells the
    client how far it is (``hgobs.cluster.progress.tell``) as it goes."""
    import os

    ctx = worker_context(spec)
    state = ReportState(**options)
    ignored: list[str] = []
    runs = {sources[file].name: (sources[file], blocks) for file, blocks in part.pieces}
    files = [(sources[file].name, None if sources[file].named else ignored)
             for file, _ in part.pieces]

    def opened(name: str, listed: list[str] | None) -> Iterator[Item]:
        source, blocks = runs[name]
        return piece_items(source, list(blocks), spec, ctx, listed)

    counted = [False]
    items = _keyed(merged(files, ctx, opened), part.start, part.end, counted)
    seen = 0
    with gc_paused():
        for judged in judge(items, ctx.profiles, spec.client_fp, trust=spec.trust,
                            on_notice=state.notice):
            if counted[0]:
                state.add(judged)
            seen += 1
            if not seen % TELL_EVERY:
                tell(part.number, ctx.tally.done, state.read)
    tell(part.number, ctx.tally.done, state.read)
    unknown = ctx.profiles.unknown
    return PartResult(state, dict(ctx.late), dict(ctx.reorder_full),
                      set(ctx.profiles.unknown_names),
                      unknown.name if unknown is not None else None, sorted(set(ignored)),
                      ctx.tally.done, os.getpid())
