"""Streaming reducers: per-record updates whose state is bounded by distinct keys, not records.

The report state (``hgobs.analysis.state``) is built of these (the test oracles over a frame
of every record use them too, so a trend is computed by one piece of code):

- ``time_ns``: a record time (float seconds) as the integer nanoseconds pandas makes of it;
- ``credential_environment``: the credential side of an environment mismatch;
- ``Episodes``: time to recovery per client (first failure -> next successful token exchange);
- ``Sample``: the first and last ``keep`` items of each group, and how many there were.

Each reducer expects its records in time order (input order for equal times); ``absorb``
takes in a reducer fed the records that follow, so contiguous parts reduce apart and combine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

NS_PER_S = 1_000_000_000


def time_ns(seconds: float) -> int:
    """``seconds`` since the epoch as integer nanoseconds, rounded exactly as
    ``pandas.to_datetime(..., unit="s")`` rounds a float64 (whole part, then the fraction
    rounded to 9 digits)."""
    whole = int(seconds)
    return whole * NS_PER_S + int(round(seconds - whole, 9) * NS_PER_S)


CREDENTIAL_ENVIRONMENT_FIELDS = ("assertion.aud_environment", "assertion.iss_ok_environment",
                                 "presented.issued_environment")
"""Record fields that say which environment a credential belongs to."""
_ORDER_API = ("presented.issued_environment", "assertion.aud_environment",
              "assertion.iss_ok_environment")
_ORDER_EXCHANGE = ("assertion.aud_environment", "assertion.iss_ok_environment",
                   "presented.issued_environment")


def credential_environment(kind: str, called: str, facts: Mapping[str, Any]) -> str:
    """The environment the credential of an ``environment_mismatch`` record belongs to.

    For API calls ``presented.issued_environment`` is asked first, for token exchanges
    ``assertion.aud_environment`` then ``assertion.iss_ok_environment``: the first known value
    that differs from ``called``, else the first known value, else ``unknown``.
    """
    order = _ORDER_API if kind == "api_call" else _ORDER_EXCHANGE
    known = [str(v) for v in (facts.get(k) for k in order) if isinstance(v, str) and v]
    other = [v for v in known if v != called]
    return (other or known or ["unknown"])[0]


class Episodes:
    """Time to recovery per client, fed failures and successful token exchanges in time order.

    An episode opens at a client's failure and closes at that client's next successful token
    exchange; the failures in between belong to it, and the episode keeps the set of their
    categories (at most one entry per catalog category). Per client the first ``keep`` and the last
    ``keep`` closed episodes are kept (all when ``keep`` is None), and the open one; ``total``
    counts every episode. State: one open episode per client, at most ``2 * keep`` closed, and
    the time of the client's first success before its first failure (what ``absorb`` needs to
    close an episode left open by an earlier part of the input).
    """

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.total = 0
        # client -> [category, failed_at, failures, n, categories (a set)]
        self._open: dict[Hashable, list[Any]] = {}
        self._first: dict[Hashable, list[tuple[Any, ...]]] = {}
        self._last: dict[Hashable, deque[tuple[Any, ...]]] = {}
        self._count: dict[Hashable, int] = {}
        self._leading: dict[Hashable, float] = {}  # client -> first success before any failure

    def failure(self, client: Hashable, category: Any, at: float) -> None:
        """A failure of ``client`` at ``at`` (seconds): opens an episode or joins the open one."""
        episode = self._open.get(client)
        if episode is None:
            n = self._count.get(client, 0)
            self._count[client] = n + 1
            self.total += 1
            self._open[client] = [category, at, 1, n, {category}]
        else:
            episode[2] += 1
            episode[4].add(category)

    def success(self, client: Hashable, at: float) -> None:
        """A successful token exchange of ``client`` at ``at``: closes its open episode."""
        episode = self._open.pop(client, None)
        if episode is None:
            if not self._count.get(client) and client not in self._leading:
                self._leading[client] = at
            return
        self._close(client, (client, episode[0], episode[1], at, episode[2], episode[3],
                             frozenset(episode[4])))

    def _close(self, client: Hashable, row: tuple[Any, ...]) -> None:
        first = self._first.setdefault(client, [])
        if self.keep is None or len(first) < self.keep:
            first.append(row)
        else:
            self._last.setdefault(client, deque(maxlen=self.keep)).append(row)

    def absorb(self, later: Episodes) -> None:
        """Take in the episodes of ``later``, fed the events that follow this one's (same
        ``keep``): afterwards this holds what feeding both runs of events in turn would have.

        Per client: an episode left open here closes at ``later``'s first success before any
        failure, or else takes in ``later``'s first episode (its failures, its end); ``later``'s
        episodes are numbered on from this one's; an episode that goes on holds the categories
        of both parts. Raises ValueError for another ``keep``.
        """
        if later.keep != self.keep:
            raise ValueError("episodes kept per client differ")
        for client in {**later._count, **later._leading}:
            count = self._count.get(client, 0)
            if client not in self._leading and count == 0 and client in later._leading:
                self._leading[client] = later._leading[client]
            rows = later._rows_of(client)
            opened = later._open.get(client)
            later_count = later._count.get(client, 0)
            shift = count
            episode = self._open.get(client)
            if episode is not None:
                if client in later._leading:  # closed by a success before later's failures
                    del self._open[client]
                    self._close(client, (client, episode[0], episode[1],
                                         later._leading[client], episode[2], episode[3],
                                         frozenset(episode[4])))
                elif later_count:  # later's first episode is the rest of this open one
                    shift -= 1
                    self.total -= 1
                    if opened is not None and opened[3] == 0:  # and it is still open
                        episode[2] += opened[2]
                        episode[4] |= opened[4]
                        opened = None
                    else:
                        del self._open[client]
                        if rows and rows[0][5] == 0:  # (not kept only when ``keep`` is 0)
                            head = rows.pop(0)
                            self._close(client, (client, episode[0], episode[1], head[3],
                                                 episode[2] + head[4], episode[3],
                                                 frozenset(episode[4]) | head[6]))
            for row in rows:
                self._close(client, (*row[:5], row[5] + shift, row[6]))
            if opened is not None:  # a copy: ``later`` is not changed by what follows
                self._open[client] = [opened[0], opened[1], opened[2], opened[3] + shift,
                                      set(opened[4])]
            if later_count:
                self._count[client] = shift + later_count
            self.total += later_count

    def _rows_of(self, client: Hashable) -> list[tuple[Any, ...]]:
        """``client``'s kept closed episodes in order (a gap between the first and the last
        ``keep`` when there were more)."""
        return [*self._first.get(client, ()), *self._last.get(client, ())]

    @property
    def kept(self) -> int:
        """Episodes ``rows`` returns."""
        return (sum(map(len, self._first.values())) + sum(map(len, self._last.values()))
                + len(self._open))

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """``(client, category, failed_at, recovered_at or None, failures, n, categories)``
        per kept episode, ``n`` numbering the client's episodes from 0, ``category`` the one
        that opened it and ``categories`` (a frozenset) those of all its failures."""
        for rows in self._first.values():
            yield from rows
        for last in self._last.values():
            yield from last
        for client, (category, failed_at, failures, n, categories) in self._open.items():
            yield client, category, failed_at, None, failures, n, frozenset(categories)


class Sample:
    """The first ``keep`` and the last ``keep`` items added per group (all when ``keep`` is
    None), in the order added, and how many each group had."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.counts: dict[Hashable, int] = {}
        self._first: dict[Hashable, list[Any]] = {}
        self._last: dict[Hashable, deque[Any]] = {}

    def add(self, group: Hashable, item: Any) -> None:
        """Add ``item`` to ``group``."""
        n = self.counts.get(group, 0)
        self.counts[group] = n + 1
        if self.keep is None or n < self.keep:
            self._first.setdefault(group, []).append(item)
        else:
            self._last.setdefault(group, deque(maxlen=self.keep)).append(item)

    def absorb(self, later: Sample) -> None:
        """Take in the items of ``later``, added after this one's (same ``keep``): afterwards
        this holds what adding both in turn would have. Raises ValueError for another
        ``keep``."""
        if later.keep != self.keep:
            raise ValueError("items kept per group differ")
        for group, n in later.counts.items():
            items = [*later._first.get(group, ()), *later._last.get(group, ())]
            held = self.counts.get(group, 0)
            # later's items past its first ``keep`` follow a gap only when later had more than
            # ``2 * keep``: then they are the group's last ``keep`` whatever came before.
            for item in items:
                self.add(group, item)
            self.counts[group] = held + n

    @property
    def total(self) -> int:
        """Items added."""
        return sum(self.counts.values())

    @property
    def kept(self) -> int:
        """Items ``items`` returns."""
        return sum(map(len, self._first.values())) + sum(map(len, self._last.values()))

    def items(self) -> Iterator[Any]:
        """The kept items, group by group, each group's in the order added."""
        for group, first in self._first.items():
            yield from first
            yield from self._last.get(group, ())
