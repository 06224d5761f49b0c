"""What a worker reads: a file's blocks surveyed (times, lines) and a run of blocks read as items.

A file is *split* into byte ranges (``blocksize`` each, cut at line ends: ``sources.read_range``)
when it is hgobs JSON Lines as is (not gzip, no byte order mark, LF line ends, first line that is
not blank a record of the schema): every line is then a record on its own and a range of lines
reads as the same items as the whole file would give there, its line numbers shifted by the
lines before it. Any other file (gzip, OTLP JSON, HAR, span exports, application logs) is one
block, read whole through ``hgobs.readers.read_file``.

``survey`` reads one block and says where it lies in time: the time of its first timed record
(a split block's head only), its line count, and for a whole file or a file's last block the
latest time in it (a large file in a line format, such as OTLP JSON Lines, from its two ends
only: ``_ends``). The partition planner (``hgobs.cluster.partition``) works from these.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hgobs.cluster.sources import Source, open_source, read_range
from hgobs.readers import ReadContext, detect, jsonl, read_file
from hgobs.readers.base import Item
from hgobs.readers.merge import item_time
from hgobs.runsetup import read_context

__all__ = ["Block", "RunSpec", "piece_items", "splittable", "survey", "worker_context"]

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
ENDS_BYTES = 1 << 20
"""How much of each end of a large file in a line format its survey reads (``_ends``)."""


@dataclass(frozen=True)
class RunSpec:
    """What every task of a run needs besides its blocks: the ``profile`` (name, file or
    ``Profile``), ``token_urls``, ``client_id``, ``client_fp`` (its keyed fingerprint, made by
    the client), ``trust`` (``judge``'s), the storage ``options`` and ``blocksize`` (bytes).
    Never the fingerprint key: each worker reads its own ``HGOBS_FINGERPRINT_KEY``."""

    profile: Any
    token_urls: tuple[str, ...]
    client_id: str | None
    client_fp: str | None
    trust: bool
    options: Mapping[str, Any] = field(repr=False)  # may hold credentials: never shown
    blocksize: int = 64 << 20


@dataclass(frozen=True)
class Block:
    """One block of input file number ``file``: bytes ``[offset, offset + length)`` (lines
    starting there; ``whole``: the whole file), ``lines`` (LF count of a split block),
    ``first`` (time of its first timed record, epoch s, None: none), ``last`` (latest time, for
    a whole file or a file's last block; None otherwise or when there is none), ``lead``
    (items without a time before the first timed one) and ``ignored`` (a file found in a
    folder that is in no format hgobs reads: listed, not read)."""

    file: int
    offset: int
    length: int
    whole: bool
    lines: int = 0
    first: float | None = None
    last: float | None = None
    lead: bool = False
    ignored: bool = False


def worker_context(spec: RunSpec) -> ReadContext:
    """The readers' context on a worker: the run's profile and client id, the fingerprint key
    of the worker's own environment (``hgobs.runsetup.read_context``)."""
    with warnings.catch_warnings():  # the client has said it once
        warnings.simplefilter("ignore")
        return read_context(spec.profile, spec.token_urls, spec.client_id, None)


def splittable(source: Source, spec: RunSpec) -> bool:
    """Whether ``source`` may be read by byte range (see module doc): larger than a block and
    plain hgobs JSON Lines from its first bytes. Reads at most 4 KiB."""
    if source.size <= spec.blocksize:
        return False
    try:
        head = read_range(source.name, spec.options, 0, 4096)[:4096]
    except OSError:
        return False
    if head.startswith((b"\x1f\x8b", *_BOMS)) or b"\n" not in head:
        return False  # gzip, a byte order mark, CR-only lines or a long first line: whole
    text = head.lstrip()
    return bool(text) and head[:len(head) - len(text)].strip() == b"" and \
        detect(text, source.name) is jsonl


def _range_items(source: Source, spec: RunSpec, ctx: ReadContext, offset: int, length: int,
                 line0: int) -> Iterator[Item]:
    """Items of the lines starting in ``[offset, offset + length)`` of a split file, numbered
    as in the whole file (``line0`` lines before them)."""
    data = read_range(source.name, spec.options, offset, length)
    ctx.tally.done += len(data)
    yield from jsonl.read(io.BytesIO(data), source.name, ctx, before=line0)


def _whole_items(source: Source, spec: RunSpec, ctx: ReadContext,
                 ignored: list[str] | None) -> Iterator[Item]:
    return read_file(source.name, ctx, ignored,
                     opener=lambda name, tally: open_source(name, spec.options, tally))


def survey(source: Source, index: int, spec: RunSpec, offset: int, length: int,
           whole: bool) -> Block:
    """Read one block of ``source`` (file number ``index``) and say where it lies (``Block``).
    A split block is read to its first timed record for ``first`` and counted for ``lines``;
    a whole file, and a file's last block, are read through for ``last``."""
    ctx = worker_context(spec)
    ends = _ends(source, index, spec, ctx) if whole else None
    if ends is not None:
        return ends
    if whole:
        ignored: list[str] = []
        items = _whole_items(source, spec, ctx, None if source.named else ignored)
        lines = 0
    else:
        data = read_range(source.name, spec.options, offset, length)
        lines = data.count(b"\n")
        items = jsonl.read(io.BytesIO(data), source.name, ctx)
        ignored = []
    through = whole or offset + length >= source.size
    first = None
    last = -math.inf
    lead = False
    for item in items:
        when = item_time(item)
        if when is None:
            lead = lead or first is None
            continue
        if first is None:
            first = when
            if not through:
                break
        last = max(last, when)
    getattr(items, "close", lambda: None)()
    return Block(index, offset, length, whole, lines, first,
                 last if through and last > -math.inf else None, lead, bool(ignored))


def _ends(source: Source, index: int, spec: RunSpec, ctx: ReadContext) -> Block | None:
    """A large file in a line format (OTLP JSON Lines, application logs; not gzip, not a
    whole document) surveyed from its ends alone: the first timed record of its first
    ``ENDS_BYTES`` and the latest of its last lines (from ``ENDS_BYTES`` before its end, or
    further back when its last line is longer) plus the lateness bound (a record
    no more than the bound behind the ones before it is no later than that). None when the
    file is not such a file, or its ends say nothing: it is then read through."""
    if source.size < 8 * ENDS_BYTES:
        return None
    try:
        head = read_range(source.name, spec.options, 0, ENDS_BYTES)
        span, tail = ENDS_BYTES, b""
        while not tail.strip() and span <= source.size // 4:  # a line longer than the span
            tail = read_range(source.name, spec.options, source.size - span, span)
            span *= 4
    except OSError:
        return None
    text = head.lstrip()
    cr, lf = head.find(b"\r"), head.find(b"\n")
    if head.startswith((b"\x1f\x8b", *_BOMS)) or lf < 0 or (0 <= cr < lf and cr + 1 != lf):
        return None  # gzip, a byte order mark, one line or CR-only line ends: read through
    reader = detect(text[:4096], source.name)
    if reader is None or reader.WHOLE_DOCUMENT:
        return None
    first, lead = None, False
    for item in reader.read(io.BytesIO(head), source.name, ctx):
        first = item_time(item)
        if first is not None:
            break
        lead = True
    times = [t for item in reader.read(io.BytesIO(tail), source.name, ctx)
             if (t := item_time(item)) is not None]
    if first is None or not times:
        return None
    return Block(index, 0, source.size, True, 0, first, max(times) + ctx.lateness_s, lead)


def piece_items(source: Source, blocks: list[tuple[int, int, int]], spec: RunSpec,
                ctx: ReadContext, ignored: list[str] | None) -> Iterator[Item]:
    """The items of a run of consecutive blocks of ``source``, each ``(offset, length, lines
    before it)``; a whole file (one block, length -1) through the readers. ``ignored``: where
    a file found in a folder in no known format is listed."""
    for offset, length, line0 in blocks:
        if length < 0:
            yield from _whole_items(source, spec, ctx, ignored)
        else:
            yield from _range_items(source, spec, ctx, offset, length, line0)
