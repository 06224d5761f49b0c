"""HTML report sections about episodes and change: failing now, recovery, new/regressed.

``failing`` opens the page: one item per open recovery episode (``failing.failing_now``,
worst first) with the client, since when, for how long (``durations.human_duration``), and
every category of the episode with its catalog fix, in fix order. ``recovery`` lists every
episode with all its categories and a human duration. ``changes`` shows new, regressed and
resolved categories only when an earlier window exists to compare with
(``Report.has_earlier_window``).
"""

from __future__ import annotations

from html import escape

from hgobs.analysis.tables import Report
from hgobs.diagnosis.catalog import CATEGORIES
from hgobs.reports import counted
from hgobs.reports.durations import human_duration
from hgobs.reports.failing import failing_now, fixes_for
from hgobs.reports.html_parts import code, num, panel, table
from hgobs.reports.text import ts


def swatch(colour: str) -> str:
    """A small square of ``colour`` (a palette CSS colour), shown before a category."""
    return f'<span class="swatch" style="background:{colour}"></span>'


def category_label(category: str, colours: dict[str, str]) -> str:
    """A category id in code with its colour swatch (grey when the page has no colour)."""
    return (f'<span class="cat" data-category="{escape(category)}">'
            f"{swatch(colours.get(category, '#9aa5b1'))}{code(category)}</span>")


def failing(report: Report, colours: dict[str, str]) -> str:
    """The "Failing now" section: each open episode with every category and its fix."""
    items = failing_now(report)
    if not items:
        body = ('<p class="all-clear">Nothing is failing now: every failure in the report was '
                "followed by a successful token exchange of its client.</p>")
        return f'<section class="panel failing-now" id="failing-now"><h2>Failing now</h2>{body}</section>'
    out = []
    for item in items:
        fixes = "".join(
            f'<li data-category="{escape(cat)}">{category_label(cat, colours)} '
            f'<span class="title">{escape(CATEGORIES[cat].title if cat in CATEGORIES else "")}'
            f'</span><p class="fix">{escape(fix)}</p></li>'
            for cat, fix in fixes_for(item.categories))
        out.append(
            f'<article class="episode" data-client="{escape(item.client)}" '
            f'data-failures="{item.failures}"><h3>client {code(item.client)} '
            f'<span class="open">failing for {escape(human_duration(item.seconds))}</span> '
            f'<span class="since">since {escape(ts(item.since))}, '
            f"{escape(counted(item.failures, 'failure'))}</span></h3>"
            f'<ol class="fixes">{fixes}</ol></article>')
    heading = f"Failing now: {counted(len(items), 'client')}"
    note = ('<p class="note">Open recovery episodes, worst first: failures not yet followed by '
            "a successful token exchange of the same client; fixes in the order to try them. "
            "The duration runs from the first failure to the last failure in the report.</p>")
    return (f'<section class="panel failing-now" id="failing-now"><h2>{escape(heading)}</h2>'
            f'{"".join(out)}{note}</section>')


def changes(report: Report) -> str:
    """New, regressed and resolved categories against the previous window, or a note saying
    why there is no comparison."""
    if not report.has_earlier_window:
        return panel("changes", "New, regressed and resolved categories",
                     '<p class="empty">No earlier window to compare with: the window starts at '
                     "the first record read. Give --since to compare a window with the one "
                     "before it.</p>")
    return panel(
        "changes", "New, regressed and resolved categories",
        table(report.changes, ["category", "status", "now", "previous", "earlier",
                               "last seen before"],
              lambda r: (code(r.category),
                         f'<span class="status-{escape(r.status)}">{escape(r.status)}</span>',
                         num(r.current), num(r.previous), num(r.earlier),
                         escape(ts(r.last_seen_before))), "No change."),
        "Against the previous window of the same length.")


def recovery(report: Report, colours: dict[str, str]) -> str:
    """Every recovery episode with all its categories and how long it took (human)."""
    return panel(
        "recovery", "Time to recovery",
        table(report.recovery, ["client", "categories", "failed at", "recovered at",
                                "time to recover", "failures"],
              lambda r: (code(r.client),
                         " ".join(category_label(str(c), colours) for c in r.categories),
                         escape(ts(r.failed_at)),
                         '<span class="open">open</span>' if r.open
                         else escape(ts(r.recovered_at)),
                         ("-" if r.open else human_duration(float(r.seconds)),
                          None if r.open else float(r.seconds)),
                         num(r.failures)), "No failures."),
        "From a first failure to the next successful token exchange of that client; an open "
        "episode has not recovered yet.")
