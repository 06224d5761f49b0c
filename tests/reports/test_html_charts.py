"""The HTML report's SVG charts, palette and sections, read back from the page (no browser)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from hgobs.diagnosis.catalog import PRIORITY
from hgobs.reports import render, svg
from hgobs.reports.palette import PALETTE, category_colours
from tests.analysis.records import CLIENT_A, CLIENT_C, DAY, HOUR, rec, result
from tests.reports.dom import Node, parse
from tests.reports.sample import NOW, sample_report, sample_result
from tests.support.whole import build_report


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def labels(start: str, end: str, count: int = 6, least: str | None = None) -> list[str]:
    """The tick labels (and second lines) of a time axis, in order."""
    ticks = svg.time_ticks(utc(start), utc(end), count,
                           None if least is None else pd.Timedelta(least))
    return [f"{label}|{second}" for _, label, second in ticks]


def test_day_ticks_name_days_and_the_year_once():
    assert labels("2025-11-24", "2025-11-29", 10, "1D") == [
        "24 Nov|2025", "25 Nov|", "26 Nov|", "27 Nov|", "28 Nov|", "29 Nov|"]


def test_a_single_day_bucket_gets_hours_never_fractions_of_a_second():
    """One daily bucket spans a day: ticks every few hours, the date once."""
    got = labels("2024-03-04", "2024-03-05", 6)
    assert got == ["00:00|4 Mar 2024", "06:00|", "12:00|", "18:00|", "00:00|5 Mar 2024"]


@pytest.mark.parametrize("span", ["1s", "10s", "1min", "15min", "1h"])
def test_short_spans_never_get_millisecond_ticks(span):
    """Down to a one-second bucket, labels are HH:MM or HH:MM:SS, never with a fraction."""
    start = utc("2024-03-04 10:00:00")
    ticks = svg.time_ticks(start, start + pd.Timedelta(span), 6)
    assert len(ticks) >= 2
    assert all("." not in label and len(label) in (5, 8) for _, label, _ in ticks)
    assert all(t.value % 1_000_000_000 == 0 for t, _, _ in ticks)


def test_ticks_across_a_new_year_name_both_years():
    got = labels("2024-12-20", "2025-01-20", 6, "1D")
    assert got[0].endswith("|2024") and any(g.endswith("|2025") for g in got[1:])


def test_nice_ticks_cover_the_top_value_in_round_steps():
    assert svg.nice_ticks(12) == [0, 5, 10, 15]
    assert svg.nice_ticks(1) == [0, 1]
    assert svg.nice_ticks(0) == [0, 1]
    assert svg.nice_ticks(230) == [0, 50, 100, 150, 200, 250]


def test_palette_has_distinct_colours_given_in_catalog_order():
    assert len(PALETTE) >= 12 and len(set(PALETTE)) == len(PALETTE)
    colours = category_colours(["rate_limited", "network_failure", "expired_assertion",
                                "not_in_the_catalog"])
    assert list(colours) == ["network_failure", "expired_assertion", "rate_limited",
                             "not_in_the_catalog"]
    assert list(colours.values()) == list(PALETTE[:4])
    every = category_colours(PRIORITY)
    assert len(set(list(every.values())[:len(PALETTE)])) == len(PALETTE)


def test_svg_text_is_escaped():
    """Labels and titles are escaped in SVG text as in HTML."""
    out = svg.hbars([("<b>x</b>", svg.Bar(3, "#000000", 'a "quoted" & <odd> title'), "3 & 4")],
                    "t<", "x&y")
    assert "<b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "&amp; &lt;odd&gt;" in out and "3 &amp; 4" in out and 'aria-label="t&lt;"' in out


def test_charts_need_something_to_draw():
    with pytest.raises(ValueError, match="no rows"):
        svg.hbars([], "t", "x")
    with pytest.raises(ValueError, match="no columns"):
        svg.time_bars([], "t", "y", "x")
    with pytest.raises(ValueError, match="no points"):
        svg.time_lines([("k", "#000", [])], "t", "y", "x", pd.Timedelta("1D"))


@pytest.fixture(scope="module")
def page() -> Node:
    return parse(render(sample_report(), "html"))


def fills(root: Node, chart: str) -> dict[str, str]:
    """Category -> fill of its marks in one chart (the category is the title's first line)."""
    panel = root.find("div", data_chart=chart)
    return {m.find("title").all_text().split("\n")[0].split(":")[0]: m.attrs["fill"]
            for m in panel.find_all("rect", class_="mark")}


def test_a_category_keeps_its_colour_in_every_chart_and_legend(page):
    timeline, share = fills(page, "timeline"), fills(page, "share")
    assert set(timeline) == set(share) and len(set(share.values())) == len(share)
    assert timeline == share
    legend = page.find("div", data_chart="timeline").find("ul", class_="legend")
    for item in legend.find_all("li"):
        swatch = item.find("span", class_="swatch").attrs["style"]
        assert swatch == f"background:{share[item.all_text()]}"


def test_the_page_opens_with_what_is_failing_now(page):
    """Failing now comes before the totals; each open episode lists every category, its fix
    and a human duration; the worst (most failures) first."""
    main = page.find("main")
    sections = [n.attrs.get("id") or n.attrs.get("class") for n in main.children
                if n.tag == "section"]
    assert sections[:4] == ["failing-now", "cards", "categories", "charts"]
    episodes = page.find("section", id="failing-now").find_all("article", class_="episode")
    assert [(e.attrs["data-client"], e.attrs["data-failures"]) for e in episodes] == [
        ("a1b2c3d4e5f60718", "2"), (CLIENT_C, "1")]
    first = episodes[0]
    assert "failing for 22 h" in first.find("h3").all_text()  # to the last failure, 03-06 10:00
    assert "since 2024-03-05 12:00:00Z" in first.find("h3").all_text()
    assert [li.attrs["data-category"] for li in first.find_all("li")] == ["environment_mismatch"]
    assert first.find("p", class_="fix").all_text().startswith("Use one environment")


def test_recovery_lists_every_category_and_a_human_duration(page):
    rows = page.find("div", id="recovery").find("tbody").find_all("tr")
    cats = [[s.attrs["data-category"] for s in r.find_all("span", class_="cat")] for r in rows]
    assert ["audience_mismatch", "rate_limited"] in cats
    durations = [r.find_all("td")[4].all_text() for r in rows]
    assert durations[:3] == ["5 min", "1 min 30 s", "2 min"]
    assert durations[3] == "-" and rows[3].find("span", class_="open")


def test_without_an_earlier_window_no_category_is_called_new(page):
    changes = page.find("div", id="changes")
    assert not changes.find_all("table") and "new" not in changes.all_text().split()
    assert not page.find_all(class_="status-new")


def test_with_an_earlier_window_changes_are_shown():
    """With ``since`` the window before it was read: the statuses are shown."""
    report = build_report(sample_result(), bucket="1D", now=NOW,
                          since=datetime(2024, 3, 6, tzinfo=timezone.utc))
    root = parse(render(report, "html"))
    rows = root.find("div", id="changes").find("tbody").find_all("tr")
    got = {r.find("code").all_text(): r.find("span").all_text() for r in rows}
    assert got == {c: s for c, s in zip(report.changes["category"], report.changes["status"],
                                        strict=True)}
    assert "new" in got.values() and "resolved" in got.values()


def test_nothing_failing_now_says_so():
    """Every failure followed by a successful exchange: an all-clear line, no episode."""
    report = build_report(result(rec(HOUR), rec(HOUR + 60, "ok"), rec(DAY, client=CLIENT_A),
                                 rec(DAY + 5, "ok")), bucket="1h", now=NOW)
    root = parse(render(report, "html"))
    section = root.find("section", id="failing-now")
    assert "Nothing is failing now" in section.all_text()
    assert not section.find_all("article")


def test_a_single_bucket_timeline_has_no_millisecond_ticks():
    """All failures in one 15-minute bucket: ticks in HH:MM, the date once, no fractions."""
    report = build_report(result(rec(HOUR), rec(HOUR + 30)), bucket="15min", now=NOW)
    panel = parse(render(report, "html")).find("div", data_chart="timeline")
    ticks = [t.all_text() for t in panel.find_all("text", class_="tick")]
    times = [t for t in ticks if ":" in t]
    assert times and all(len(t) == 5 for t in times), ticks
    assert "4 Mar 2024" in ticks and not [t for t in ticks if "." in t]
    assert len(panel.find_all("rect", class_="mark")) == 1


def test_a_span_of_centuries_still_gets_a_few_ticks():
    ticks = svg.time_ticks(utc("1800-01-01"), utc("2200-01-01"), 6)
    assert 2 <= len(ticks) <= 7
    assert all(len(label) <= 6 for _, label, _ in ticks)
