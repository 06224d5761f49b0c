"""Memory stays flat while records are appended to a followed file: what the watermark, the
feed, the followers and the judge hold is bounded, so traced memory once 20,000 records were
appended and judged is about what it was at 5,000 (the benchmark, ``benchmarks.follow``,
measures 100k against 1M). Records are appended a chunk at a time, each once the one before
was judged, so both measures see the same state: everything read, nothing in flight; tracing
starts after a warm-up, so caches filled by earlier tests in this process do not count."""

from __future__ import annotations

import gc
import tracemalloc

from hgobs.analysis.classify import Classified
from hgobs.live.run import live_items
from tests.live.kit import append, sample_lines, with_time

RECORDS = 20_000
WARM_UP = 2_000
FIRST = 5_000
CHUNK = 1_000
SPACING_S = 30
"""Seconds of record time between two records: the judge's history keeps facts for up to a
day of record time (``hgobs.diagnosis.history.MAX_HORIZON_S``), so 2,880 records in it is
full, and flat from then on."""
GROWTH_BYTES = 256 << 10


def test_memory_is_flat_over_appended_records(tmp_path):
    line = with_time(sample_lines()[0], 0)
    head, _, tail = line.partition('"time": 0')
    log = tmp_path / "app.log"
    log.write_text("", encoding="utf-8")
    t0 = 1_764_000_000.0

    def write(start: int) -> None:
        append(log, *(f'{head}"time": {t0 + SPACING_S * n:.1f}{tail}'
                      for n in range(start, start + CHUNK)))

    live, judged = live_items([str(log)], lateness_s=1.0, poll_s=0.01)
    seen = written = 0
    measured = {}
    write(written)
    written += CHUNK
    try:
        for one, late in judged:
            assert isinstance(one, Classified) and not late
            seen += 1
            if seen < written:
                continue
            if seen == WARM_UP:  # what earlier tests left in caches is turned over by now
                tracemalloc.start()
            if seen in (FIRST, RECORDS):
                gc.collect()
                measured[seen] = tracemalloc.get_traced_memory()[0]
            if seen == RECORDS:
                live.stop()
                continue
            write(written)
            written += CHUNK
    finally:
        judged.close()
        tracemalloc.stop()
    assert seen == RECORDS
    assert measured[RECORDS] - measured[FIRST] < GROWTH_BYTES, measured
