"""ReportState.merge: any split of a time-ordered input into contiguous parts, reduced apart and
merged in order, gives the report of the whole; merging is associative; notices add up."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate import Spec, records
from hgobs.analysis.classify import Judged, judge
from hgobs.analysis.reduce import Episodes
from hgobs.analysis.state import ReportState
from hgobs.profiles import load_profile
from hgobs.readers.base import Item
from hgobs.reports import render
from hgobs.reports.json_report import document

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def _judged() -> list[Judged]:
    """400 generated records of 3 clients over 6 hours (half of them failures, so recovery
    episodes run across any split), in time order, judged once; a skipped item every 37."""
    recs = sorted(records(Spec(400, ok_share=0.5, clients=3, services=2, days=0.25, seed=11)),
                  key=lambda r: r["time"])
    items: list[Item] = []
    for i, r in enumerate(recs):
        if i % 37 == 5:
            items.append(Item(f"gen.jsonl:{len(items) + 1}", reason="not JSON"))
        items.append(Item(f"gen.jsonl:{len(items) + 1}", record=r))
    return list(judge(items, load_profile()))


JUDGED = _judged()
OPTIONS = [
    {"sample_size": 1, "skipped_sample": 2},
    {"sample_size": None, "skipped_sample": None, "bucket": "15min",
     "since": datetime(2026, 1, 1, 1, tzinfo=timezone.utc),
     "until": datetime(2026, 1, 1, 4, tzinfo=timezone.utc)},
]
EXAMPLES = settings(max_examples=12)
"""Each example builds several reports (pandas tables): a dozen keeps the suite fast."""


def _state(items: list[Judged], options: dict) -> ReportState:
    state = ReportState(**options)
    for item in items:
        state.add(item)
    return state


def _doc(state: ReportState) -> dict:
    return document(state.report(NOW))


def test_the_input_exercises_what_merge_must_carry():
    """The records cross clients' recovery episodes, several categories, skipped items and
    the window options, so a split falls inside open episodes."""
    whole = _state(JUDGED, {"sample_size": 1})
    doc = _doc(whole)
    assert doc["totals"]["skipped"] == 11 and doc["totals"]["failed"] > 100
    assert len({r["category"] for r in doc["records"]}) >= 5
    assert doc["samples"]["recovery"]["total"] > 20


@pytest.mark.parametrize("options", OPTIONS, ids=["tiny-samples", "window-whole-samples"])
@EXAMPLES
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(JUDGED)), max_size=6))
def test_any_split_merges_to_the_report_of_the_whole(options, cuts):
    """Cut the input anywhere (empty parts too), reduce each part apart, merge in order: the
    JSON report equals the whole input's."""
    bounds = [0, *sorted(cuts), len(JUDGED)]
    parts = [_state(JUDGED[a:b], options) for a, b in itertools.pairwise(bounds)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert _doc(merged) == _doc(_state(JUDGED, options))


@EXAMPLES
@given(a=st.integers(0, len(JUDGED)), b=st.integers(0, len(JUDGED)))
def test_merge_is_associative_and_leaves_its_operands_alone(a, b):
    """(x + y) + z == x + (y + z) for three contiguous parts; x, y, z unchanged after."""
    a, b = sorted((a, b))
    options = {"sample_size": 1, "skipped_sample": 3}
    x, y, z = (_state(JUDGED[i:j], options) for i, j in ((0, a), (a, b), (b, len(JUDGED))))
    before = [_doc(s) for s in (x, y, z)]
    assert _doc(x.merge(y).merge(z)) == _doc(x.merge(y.merge(z)))
    assert [_doc(s) for s in (x, y, z)] == before


def test_states_with_other_options_do_not_merge():
    """Another bucket or sample size: ValueError, nothing merged."""
    with pytest.raises(ValueError, match="different options"):
        ReportState(bucket="1h").merge(ReportState(bucket="1d"))
    with pytest.raises(ValueError, match="different options"):
        ReportState(sample_size=1).merge(ReportState(sample_size=2))


def test_an_open_episode_closes_or_grows_in_the_next_part():
    """Client c fails at 1 and 2 (part one), fails at 3 and recovers at 4 (part two): one
    episode of three failures, 1 -> 4; client d's part-two success closes its part-one
    failure at 5."""
    first, second = Episodes(), Episodes()
    first.failure("c", "expired_assertion", 1.0)
    first.failure("c", "expired_assertion", 2.0)
    first.failure("d", "clock_skew", 1.5)
    second.success("d", 5.0)
    second.failure("c", "invalid_signature", 3.0)
    second.success("c", 4.0)
    second.failure("c", "clock_skew", 6.0)
    first.absorb(second)
    assert sorted(first.rows(), key=lambda r: (r[0], r[5])) == [
        ("c", "expired_assertion", 1.0, 4.0, 3, 0,
         frozenset({"expired_assertion", "invalid_signature"})),
        ("c", "clock_skew", 6.0, None, 1, 1, frozenset({"clock_skew"})),
        ("d", "clock_skew", 1.5, 5.0, 1, 0, frozenset({"clock_skew"}))]
    assert first.total == 3


def test_an_open_episode_keeps_the_categories_of_both_parts_while_still_open():
    """Client c fails with one category in part one and another in part two, never
    recovering: one open episode holding both; the parts are not changed by the merge."""
    first, second = Episodes(), Episodes()
    first.failure("c", "clock_skew", 1.0)
    second.failure("c", "invalid_signature", 2.0)
    second.failure("c", "clock_skew", 3.0)
    merged = Episodes()
    merged.absorb(first)
    merged.absorb(second)
    assert list(merged.rows()) == [
        ("c", "clock_skew", 1.0, None, 3, 0, frozenset({"clock_skew", "invalid_signature"}))]
    assert list(first.rows()) == [("c", "clock_skew", 1.0, None, 1, 0, frozenset({"clock_skew"}))]
    assert list(second.rows()) == [
        ("c", "invalid_signature", 2.0, None, 2, 0,
         frozenset({"clock_skew", "invalid_signature"}))]


_EVENTS = st.lists(st.tuples(st.sampled_from("cd"),
                             st.sampled_from([None, "clock_skew", "invalid_signature",
                                              "expired_assertion"])),
                   max_size=30)
"""Events of two clients: None is a successful token exchange, else a failure's category."""


def _episodes(events: list, start: int, keep: int | None) -> Episodes:
    out = Episodes(keep)
    for i, (client, category) in enumerate(events, start):
        if category is None:
            out.success(client, float(i))
        else:
            out.failure(client, category, float(i))
    return out


@EXAMPLES
@given(events=_EVENTS, cuts=st.tuples(st.integers(0, 30), st.integers(0, 30)),
       keep=st.sampled_from([None, 1, 2]))
def test_episodes_of_three_parts_merge_into_the_episodes_of_the_whole(events, cuts, keep):
    """Any two cuts: the three parts' episodes, absorbed in order either way round, are the
    whole's (categories included), and ``total`` adds up."""
    a, b = sorted(min(c, len(events)) for c in cuts)
    whole = _episodes(events, 0, keep)
    key = lambda r: (r[0], r[5])  # noqa: E731
    for grouping in ("left", "right"):
        x, y, z = (_episodes(events[i:j], i, keep) for i, j in ((0, a), (a, b), (b, len(events))))
        if grouping == "left":
            x.absorb(y)
            x.absorb(z)
            merged = x
        else:
            y.absorb(z)
            x.absorb(y)
            merged = x
        assert sorted(merged.rows(), key=key) == sorted(whole.rows(), key=key)
        assert merged.total == whole.total


def test_notices_add_up_and_show_only_when_not_zero():
    """Notice counters merge by addition; a report shows them in JSON, text, Markdown and
    HTML only when one is not zero (so reports without them stay as they were)."""
    quiet = _state(JUDGED[:50], {})
    quiet.notice("late_records", 0)
    assert "notices" not in _doc(quiet)
    assert "Notice:" not in render(quiet.report(NOW), "text")
    one, two = _state(JUDGED[:50], {}), _state(JUDGED[50:], {})
    one.notice("late_records", 2)
    two.notice("late_records")
    two.notice("history_overflowed", 5)
    merged = one.merge(two)
    assert merged.notices == {"late_records": 3, "history_overflowed": 5}
    report = merged.report(NOW)
    assert _doc(merged)["notices"] == {"late_records": 3, "history_overflowed": 5}
    for fmt in ("text", "markdown", "html"):
        text = render(report, fmt)
        assert "late_records: 3 read out of time order" in text, fmt
        assert "history_overflowed: 5 history entries dropped" in text, fmt


def test_history_entries_pushed_out_by_the_cap_are_a_notice():
    """A history of 3 entries per table on 400 records: the judge reports what the cap pushed
    out before its horizon, and the report says so; the default cap reports nothing."""
    recs = sorted(records(Spec(400, ok_share=0.5, clients=3, services=2, days=0.25, seed=11)),
                  key=lambda r: r["time"])
    for entries, expect in ((3, True), (200_000, False)):
        state = ReportState()
        items = [Item(f"gen.jsonl:{i + 1}", record=dict(r)) for i, r in enumerate(recs)]
        for judged in judge(items, load_profile(), history_entries=entries,
                            on_notice=state.notice):
            state.add(judged)
        notices = _doc(state).get("notices", {})
        assert (notices.get("history_overflowed", 0) > 0) is expect, notices
