"""Partitions of a run by time: cut points that balance bytes, and the blocks each must read.

Partition ``p`` judges and reduces the items whose time order key (a record's time; an item
without one takes the key of the item before it in its file, ``-inf`` at a file's start) lies in
``[start, end)``. Before ``start`` it judges, without counting, the items of a *warm-up* as long
as the longest history horizon (``hgobs.diagnosis.history.CLIENT_ENV_HORIZON_S``), so the judge
holds at ``start`` the history a single pass would, and every verdict is the same.

From each block's survey (``hgobs.cluster.blocks.Block``) the key range of its items is bounded:
a record at most ``lateness`` seconds behind the latest before it in its file (the readers'
bound, ``hgobs.readers.merge``) is no earlier than the block's first time less the bound, and no
later than the next block's first time plus it (or the file's last time). A partition reads, of
each file, the consecutive blocks from the first to the last whose range meets
``[start - warm-up, end)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from hgobs.cluster.blocks import Block

__all__ = ["Part", "cut_points", "extents", "plan"]

Piece = tuple[int, tuple[tuple[int, int, int], ...]]
"""``(file number, ((offset, length, lines before), ...))``: consecutive blocks of one file;
length -1 for a whole file."""


@dataclass(frozen=True)
class Part:
    """One partition: ``number`` (its place in time order), keys ``[start, end)`` (epoch s,
    infinite at the ends), the ``pieces`` it reads (file order) and their ``size`` (bytes)."""

    number: int
    start: float
    end: float
    pieces: tuple[Piece, ...]
    size: int


def extents(blocks: Sequence[Block], lateness_s: float) -> list[tuple[float, float]]:
    """``(lowest, highest)`` key of the items of each of one file's ``blocks`` (in file
    order), as the module doc bounds them; ``-inf`` for items with no time before them."""
    out = []
    inf = math.inf
    known = [b.first for b in blocks]
    for k, block in enumerate(blocks):
        before = next((f for f in reversed(known[:k]) if f is not None), None)
        after = next((f for f in known[k + 1:] if f is not None), None)
        if block.first is None and before is None and after is None and block.last is None:
            out.append((-inf, -inf))  # no time in the file up to here: keys are -inf
            continue
        lows = []
        if block.first is not None:
            lows.append(block.first - lateness_s)
        if block.lead or block.first is None:
            lows.append(-inf if before is None else before - lateness_s)
        highs = []
        if after is not None:
            highs.append(after + lateness_s)
        elif block.last is not None:
            highs.append(block.last)
        else:
            highs.append(inf)
        out.append((min(lows), max(highs)))
    return out


def cut_points(weighted: Sequence[tuple[float, int]], parts: int, warm_bytes: float = 0.0
               ) -> list[float]:
    """Up to ``parts - 1`` increasing times that split ``weighted`` (``(time, bytes)`` pairs)
    into parts of about equal work, each part after the first also reading ``warm_bytes``
    of warm-up (so the first part gets that much more of its own)."""
    points = sorted((t, w) for t, w in weighted if math.isfinite(t))
    total = sum(w for _, w in points)
    cuts: list[float] = []
    if parts <= 1 or total <= 0:
        return cuts
    share = (total + (parts - 1) * warm_bytes) / parts
    if share <= warm_bytes:  # warm-ups longer than the parts: balance the bytes alone
        share, warm_bytes = total / parts, 0.0
    goals = [share + k * (share - warm_bytes) for k in range(parts - 1)]
    running, goal = 0, 0
    for t, w in points:
        while goal < len(goals) and running >= goals[goal]:
            if not cuts or t > cuts[-1]:
                cuts.append(t)
            goal += 1
        running += w
    return cuts


def plan(blocks: Sequence[Block], parts: int, warmup_s: float, lateness_s: float,
         cuts: Sequence[float] | None = None) -> list[Part]:
    """The partitions of a run whose files' blocks are ``blocks`` (any order): ``parts`` of
    them balanced by bytes (``cut_points``), or those the increasing ``cuts`` make."""
    by_file: dict[int, list[Block]] = {}
    for block in blocks:
        by_file.setdefault(block.file, []).append(block)
    ranges: dict[int, list[tuple[float, float]]] = {}
    for file, own in by_file.items():
        own.sort(key=lambda b: b.offset)
        ranges[file] = extents(own, lateness_s)
    if cuts is None:
        timed = [(b.first, b.length) for b in blocks if b.first is not None]
        span = max(t for t, _ in timed) - min(t for t, _ in timed) if timed else 0.0
        total = sum(b.length for b in blocks)
        warm = total * min(1.0, warmup_s / span) if span > 0 else 0.0
        cuts = cut_points(timed, parts, warm)
    bounds = [-math.inf, *cuts, math.inf]
    out = []
    for number, (start, end) in enumerate(itertools.pairwise(bounds)):
        lower = start - warmup_s
        pieces, size = [], 0
        for file in sorted(by_file):
            own, spans = by_file[file], ranges[file]
            chosen = [k for k, (lo, hi) in enumerate(spans) if lo < end and hi >= lower]
            if not chosen:
                continue
            lines = [0]
            for block in own:
                lines.append(lines[-1] + block.lines)
            run = tuple((own[k].offset, -1 if own[k].whole else own[k].length, lines[k])
                        for k in range(chosen[0], chosen[-1] + 1))
            size += sum(own[k].length for k in range(chosen[0], chosen[-1] + 1))
            pieces.append((file, run))
        out.append(Part(number, start, end, tuple(pieces), size))
    return out
