"""``hgobs analyze --follow``: a summary redrawn in place while logs are followed, the report at the end.

Every judged item goes to the same ``ReportState`` as ``hgobs analyze`` (so the final report
is the one ``hgobs analyze`` would give for what was read) and its records to a
``SlidingWindow``. On a terminal, every ``interval_s`` seconds the summary is redrawn in
place (``rich.live``): the window's attempts and failures, what is failing now (open recovery
episodes, ``hgobs.reports.failing.failing_now``) with each category's fix, and the failure
categories of the window. Off a terminal nothing is drawn. Ctrl-C (SIGINT) or SIGTERM ends
the run; the caller then renders the report (``hgobs.cli`` prints it as ``analyze`` does).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

import pandas as pd

from hgobs import api
from hgobs.analysis.classify import Classified
from hgobs.analysis.state import ReportState
from hgobs.errors import ConfigError
from hgobs.live.options import DEFAULT_INTERVAL_S, DEFAULT_WINDOW
from hgobs.live.run import live_items, signals_stop
from hgobs.live.window import SlidingWindow, WindowCounts
from hgobs.reports import counted
from hgobs.reports.failing import FailingNow, failing_now, fix_of
from hgobs.reports.terminal import is_terminal
from hgobs.reports.text import failing_detail, ts
from hgobs.runsetup import check_client, client_fingerprint

MAX_FAILING_SHOWN = 8
"""Clients failing now shown in the summary (the report lists them all)."""
TABLE_WIDTH = 120
"""Columns from which what is failing now is a table; narrower, it is a list."""


def window_seconds(text: str) -> float:
    """``text`` (``15m``, ``1h``, ``90s``, ``2h30m``: a pandas ``Timedelta``) in seconds.
    Raises ``ConfigError`` (option ``--window``) when it is not a positive duration."""
    try:
        seconds = pd.Timedelta(text).total_seconds()
    except (ValueError, TypeError):
        seconds = math.nan
    if not seconds > 0:
        raise ConfigError("--window", "not a duration such as 15m, 1h or 90s")
    return seconds


def summary(counts: WindowCounts, failing: list[FailingNow], window: str) -> Any:
    """The summary as a ``rich`` renderable (see module doc)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if not counts.attempts:
        head = Text(f"hgobs: following, last {window}: no attempt read yet")
        return Group(head)
    rate = counts.failures / counts.attempts
    head = Text.assemble(
        ("hgobs ", "bold"), f"last {window} to {ts(pd.Timestamp(counts.end, unit='s'))}: ",
        (counted(counts.attempts, "attempt"), "bold"), ", ",
        (f"{counted(counts.failures, 'failure')} ({rate:.0%})",
         "bold red" if counts.failures else "bold green"))
    parts: list[Any] = [head]
    if failing:
        parts.append(_FailingNow(failing))
    else:
        parts.append(Text("Nothing failing now (every client's last exchange succeeded).",
                          "green"))
    if counts.by_category:
        table = Table(title=f"Failures in the last {window}", title_justify="left")
        table.add_column("category")
        table.add_column("count", justify="right")
        for category, n in counts.by_category:
            table.add_row(category, str(n))
        parts.append(table)
    return Group(*parts)


class _FailingNow:
    """What is failing now, laid out at render time for the width there is: a table (client,
    since, failures, category, fix) from ``TABLE_WIDTH`` columns, below it one line per client
    with its categories and fixes under it, so a fix is never squeezed to nothing."""

    def __init__(self, failing: list[FailingNow]) -> None:
        self.failing = failing

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        shown = self.failing[:MAX_FAILING_SHOWN]
        if options.max_width >= TABLE_WIDTH:
            table = Table(title="Failing now", title_justify="left", expand=True)
            table.add_column("client", no_wrap=True)
            table.add_column("since", no_wrap=True)
            table.add_column("failures", justify="right")
            table.add_column("category", no_wrap=True)
            table.add_column("fix", ratio=1)
            for one in shown:  # a row per category, the client's first
                for n, category in enumerate(one.categories):
                    first = n == 0
                    table.add_row(one.client if first else "",
                                  ts(one.since) if first else "",
                                  str(one.failures) if first else "",
                                  category, fix_of(category),
                                  end_section=n == len(one.categories) - 1)
            yield table
        else:
            yield Text("Failing now", "italic")
            for one in shown:
                yield Padding(Text.assemble((one.client, "bold"), f": {failing_detail(one)}"),
                              (0, 0, 0, 2))
                for category in one.categories:
                    yield Padding(Text.assemble((category, "red"), f": {fix_of(category)}"),
                                  (0, 0, 0, 4))
        if len(self.failing) > MAX_FAILING_SHOWN:
            yield Text(f"... and {len(self.failing) - MAX_FAILING_SHOWN} more")


def analyze_live(paths: Iterable[str], *, profile: str | None = None,
                 token_urls: Iterable[str] = (), client_id: str | None = None,
                 rejudge: bool = False, since: datetime | str | None = None,
                 until: datetime | str | None = None, bucket: str = "1d", recurring_min: int = 2,
                 lateness_s: float | None = None, from_end: bool = False,
                 window: str = DEFAULT_WINDOW, interval_s: float = DEFAULT_INTERVAL_S,
                 screen: TextIO | None = None, draw: bool | None = None) -> api.Report:
    """Follow ``paths`` (see module doc) until stopped; returns the ``Report`` of everything
    read, after the client id check ``hgobs.api.analyze`` makes (``ClientIdMismatchWarning``).
    ``screen`` (default standard output) gets the summary when ``draw`` (default:
    whether ``screen`` is a terminal). Options as ``hgobs.api.analyze`` and
    ``hgobs.live.run.live_items``; ``window`` (a duration, ``window_seconds``) and
    ``interval_s`` (seconds between redraws). Raises ``ConfigError``/``ProfileError`` for a
    bad option, before anything is read."""
    screen = screen or sys.stdout
    span = window_seconds(window)
    state = api.report_state(since=since, until=until, bucket=bucket,
                             recurring_min=recurring_min)
    sliding = SlidingWindow(span)
    live, judged = live_items(paths, profile=profile, token_urls=token_urls,
                              client_id=client_id, rejudge=rejudge, lateness_s=lateness_s,
                              from_end=from_end, on_notice=state.notice)
    if draw is None:
        draw = is_terminal(screen)
    display = _Display(screen, state, sliding, window, interval_s) if draw else None
    if display is not None:
        live.tick = display.tick
    with signals_stop(live):
        try:
            for one, _late in judged:
                state.add(one)
                if isinstance(one, Classified):
                    when = one.record.get("time")
                    if isinstance(when, (int, float)):
                        sliding.add(when, one.record.get("category"))
        finally:
            judged.close()
            if display is not None:
                display.close()
    if live.watermark.late:
        state.notice("late_records", live.watermark.late)
    report = api.report_of(state)
    check_client(client_fingerprint(client_id, None), report.breakdown["client"]["value"])
    return report


class _Display:
    """The summary on ``screen``, redrawn at most every ``interval_s`` seconds (``tick``)."""

    def __init__(self, screen: TextIO, state: ReportState, sliding: SlidingWindow,
                 window: str, interval_s: float) -> None:
        from rich.console import Console
        from rich.live import Live

        self.state = state
        self.sliding = sliding
        self.window = window
        self.interval_s = interval_s
        self._next = 0.0
        self._live = Live(console=Console(file=screen), auto_refresh=False, transient=True)
        self._live.start()

    def tick(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval_s
        failing = failing_now(api.report_of(self.state))
        self._live.update(summary(self.sliding.counts(), failing, self.window), refresh=True)

    def close(self) -> None:
        self._live.stop()
