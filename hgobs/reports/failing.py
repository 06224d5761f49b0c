"""What is failing now: the open recovery episodes of a ``Report``, worst first, with their fixes.

One list shared by the text, Markdown and HTML reports (and the live summary), so each shows
the same clients, categories and fixes in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from hgobs.analysis.tables import Report
from hgobs.diagnosis.catalog import CATEGORIES


@dataclass(frozen=True)
class FailingNow:
    """One client whose last failures were not followed by a successful token exchange.

    ``client``: the client fingerprint (never a credential); ``categories``: the category ids
    of the episode's failures in catalog fix order; ``since``: UTC time of the episode's first
    failure; ``failures``: failed records in the episode; ``fix``: the catalog fix of the
    first category; ``seconds``: how long it has been failing, from ``since`` to the latest
    failure the report saw (``as_of``), so a report of old logs reads the same on any day.
    """

    client: str
    categories: tuple[str, ...]
    since: pd.Timestamp
    failures: int
    fix: str
    seconds: float


def fix_of(category: str) -> str:
    """The catalog fix of ``category`` (an id); that of ``unclassified`` for an unknown id."""
    known = CATEGORIES.get(category) or CATEGORIES["unclassified"]
    return known.fix


def fixes_for(categories: Iterable[str]) -> list[tuple[str, str]]:
    """``(category, fix)`` for each id of ``categories``, in the order given."""
    return [(c, fix_of(c)) for c in categories]


def as_of(report: Report) -> pd.Timestamp | None:
    """The latest failure time in ``report`` (UTC), None when it holds no failure."""
    if report.categories.empty:
        return None
    latest = pd.Timestamp(report.categories["last_seen"].max())
    return None if pd.isna(latest) else latest


def failing_now(report: Report) -> list[FailingNow]:
    """One ``FailingNow`` per open recovery episode of ``report`` (``report.recovery`` rows
    whose ``open`` is true), worst first: most failures, then the earliest ``since``, then the
    client. Empty when every episode closed (or there were none)."""
    recovery = report.recovery
    if recovery.empty:
        return []
    open_rows = recovery[recovery["open"].astype(bool)]
    latest = as_of(report)
    out = []
    for client, categories, since, failures in zip(
            open_rows["client"], open_rows["categories"], open_rows["failed_at"],
            open_rows["failures"], strict=True):
        since = pd.Timestamp(since)
        categories = tuple(str(c) for c in categories)
        seconds = 0.0 if latest is None else max(0.0, (latest - since).total_seconds())
        out.append(FailingNow(client=str(client), categories=categories, since=since,
                              failures=int(failures), fix=fix_of(categories[0]),
                              seconds=seconds))
    out.sort(key=lambda f: (-f.failures, f.since, f.client))
    return out
