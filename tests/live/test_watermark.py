"""The watermark: records in time order across inputs, a quiet input never stalls the output,
a record older than one already released is released at once and flagged late."""

from __future__ import annotations

from hgobs.live.order import Watermark
from hgobs.readers.base import Item
from hgobs.readers.merge import TIME_OUT_OF_RANGE
from tests.live.kit import Hgobs, append, sample_lines, with_time


def _item(name: str, when: float | None) -> Item:
    return Item(name, record={} if when is None else {"time": when})


def _names(released) -> list[tuple[str, bool]]:
    return [(item.source, late) for item, late in released]


def test_record_time_releases_in_order_across_inputs():
    order = Watermark(lateness_s=10, max_buffered=1000, wait_s=1)
    for sid in (0, 1):
        order.reading(sid)
    assert _names(order.add(0, _item("a1", 100), now=0)) == []
    assert _names(order.add(1, _item("b1", 95), now=0)) == []
    assert _names(order.due(now=0)) == []
    # Both still read: the watermark is the older of their newest times (b: 95).
    order.add(0, _item("a2", 120), now=0)
    assert _names(order.due(now=0)) == []
    order.add(1, _item("b2", 130), now=0)  # 120 - 10 releases 95 and 100
    assert _names(order.due(now=0)) == [("b1", False), ("a1", False)]
    assert len(order) == 2


def test_an_idle_input_does_not_hold_the_others():
    order = Watermark(lateness_s=10, max_buffered=1000, wait_s=1)
    for sid in (0, 1):
        order.reading(sid)
    order.add(1, _item("quiet", 50), now=0)
    order.idle(1)  # read to its end: waits for lines
    for n, when in enumerate((100, 200, 300)):
        order.add(0, _item(f"a{n}", when), now=0)
    assert _names(order.due(now=0)) == [("quiet", False), ("a0", False), ("a1", False)]
    # Input 0 still reads: wall time does not count until every input was read to its end.
    assert _names(order.due(now=60)) == []
    order.idle(0)  # now every input was read to its end: the last record waited long enough
    assert _names(order.due(now=60)) == [("a2", False)]


def test_wall_time_releases_a_quiet_logs_last_record():
    order = Watermark(lateness_s=300, max_buffered=1000, wait_s=1)
    for sid in (0, 1):
        order.reading(sid)
        order.idle(sid)
    order.add(0, _item("last", 1000), now=10)
    assert _names(order.due(now=10.5)) == []
    assert _names(order.due(now=11)) == [("last", False)]


def test_a_single_input_waits_for_nobody():
    order = Watermark(lateness_s=300, max_buffered=1000, wait_s=1)
    order.reading(0)
    order.idle(0)
    order.add(0, _item("only", 1000), now=10)
    assert _names(order.due(now=10)) == [("only", False)]


def test_late_records_skips_and_the_memory_cap():
    order = Watermark(lateness_s=300, max_buffered=2, wait_s=1)
    order.reading(0)
    order.idle(0)
    order.add(0, _item("t100", 100), now=0)
    assert _names(order.due(now=0)) == [("t100", False)]
    assert _names(order.add(0, _item("t50", 50), now=0)) == [("t50", True)]
    assert order.late == 1
    assert _names(order.add(0, _item("untimed", None), now=0)) == [("untimed", False)]
    ms = order.add(0, _item("ms", 1_764_000_000_000), now=0)
    assert [(i.source, i.reason) for i, _ in ms] == [("ms", TIME_OUT_OF_RANGE)]
    order.reading(0)
    for when in (200, 201, 202):
        released = _names(order.add(0, _item(f"t{when}", when), now=0))
    assert released == [("t200", False)] and order.full == 1
    assert _names(order.drain()) == [("t201", False), ("t202", False)]


def test_quiet_file_and_late_record_through_the_command(tmp_path):
    """Two followed files: the quiet one never stalls the busy one; a record then written to
    the quiet one, older than records already printed, is printed with "late": true."""
    line = sample_lines()[0]
    busy, quiet = tmp_path / "busy.jsonl", tmp_path / "quiet.jsonl"
    t0 = 1_764_000_000
    quiet.write_text(with_time(line, t0), encoding="utf-8")
    busy.write_text(with_time(line, t0 + 100), encoding="utf-8")
    run = Hgobs("classify", "--follow", "--lateness", "5", str(busy), str(quiet))
    try:
        got = run.verdicts(2)
        for n in range(1, 4):
            append(busy, with_time(line, t0 + 100 + 60 * n))
            got += run.verdicts(1)
        append(quiet, with_time(line, t0 + 150))
        late = run.verdicts(1)
    finally:
        code, err = run.stop()
    assert code == 0, err
    assert [v["source"] for v in got] == [f"{quiet}:1", f"{busy}:1", f"{busy}:2", f"{busy}:3",
                                          f"{busy}:4"]
    assert not any("late" in v for v in got)
    assert late[0]["source"] == f"{quiet}:2" and late[0]["late"] is True
    assert late[0]["category"] == "ok"
    assert "1 record late" in err
