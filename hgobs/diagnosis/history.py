"""``History``: what earlier records said, kept for a time horizon, for the rules that need it.

Each table keeps an entry for as long as a rule can still use it, measured on the records' own
``time`` (never the wall clock, never a count of other records), so whether client A's reused
assertion is caught does not depend on how many records other clients wrote in between:

=====================  ===========================================================================
table                  an entry lives until
=====================  ===========================================================================
assertions             the assertion's ``exp`` plus ``LEEWAY_S`` (``hgobs.diagnosis.rules``): a
                       server must refuse it as expired after that anyway, and keeps ``jti``
                       values only "for the length of time for which the JWT would be considered
                       valid" (RFC 7523 section 3, RFC 7519 section 4.1.7). Without a usable
                       ``exp``: the profile's longest assertion lifetime (``max_assertion_lifetime_s``,
                       else ``DEFAULT_ASSERTION_LIFETIME_S``) plus the leeway, from first use;
                       never longer than ``MAX_HORIZON_S`` from first use.
issued access values   issue time plus ``expires_in`` (RFC 6749 section 5.1; else
                       ``DEFAULT_EXPIRES_IN_S``) plus ``ISSUED_GRACE_S``: a client that keeps
                       presenting an expired value is told so for that long after expiry.
last exchange per      ``TRACE_HORIZON_S`` after the exchange: a refused API call after a failed
trace                  exchange in the same trace comes within the same piece of work.
environments where     ``CLIENT_ENV_HORIZON_S`` after its last success: which environment a client
a client succeeded     is configured for changes with a deployment, and a week spans a release.
=====================  ===========================================================================

Lookups check the horizon, so expiry is exact whatever the order entries are dropped in;
expired entries are dropped as records arrive (a min-heap keyed by expiry for the tables whose
horizon varies per entry, insertion order for the fixed ones; at most once per
``PURGE_EVERY_S`` of record time, and before a cap pushes anything out), O(log n) per record. Records
arrive in time order within the reader's lateness bound. ``max_entries`` per table (and
``trace_entries`` for traces) caps memory as a safety net: when the cap pushes out an entry
before its horizon, ``overflowed`` counts it, so a report can say its history facts may be
incomplete instead of changing verdicts silently. Thread-safe; used by the live instrumentor
and, in time order, by the analyzer.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import OrderedDict
from typing import Any

from hgobs.diagnosis.read import is_api, is_exchange, is_failure, to_seconds
from hgobs.diagnosis.rules import LEEWAY_S, Record
from hgobs.profiles import Profile

DEFAULT_ASSERTION_LIFETIME_S = 3600.0
"""Assertion lifetime assumed without ``exp`` when the profile sets no limit (seconds)."""
MAX_HORIZON_S = 86_400.0
"""Longest an assertion is remembered from first use, whatever its ``exp`` says (seconds)."""
DEFAULT_EXPIRES_IN_S = 3600.0
"""``expires_in`` assumed when the token response gave none (seconds; RFC 6749 section 5.1
leaves the default to the server, and an hour is the common one)."""
ISSUED_GRACE_S = 86_400.0
"""How long after its expiry an issued access value is still recognised (seconds)."""
TRACE_HORIZON_S = 300.0
"""How long the last token exchange of a trace is remembered (seconds)."""
PURGE_EVERY_S = 1.0
"""Expired entries are dropped at most once per this many seconds of record time (and
whenever a cap is reached), so memory holds at most that much expired history."""
CLIENT_ENV_HORIZON_S = 7 * 86_400.0
"""How long after its last success an ``iss`` is remembered as working in an environment
(seconds): one entry per client, so a week (a release cycle) costs little memory."""


STALE_SLACK = 64
"""Stale heap items (a key's earlier expiries) a ``_Horizon`` may hold beyond its entries."""


class _Horizon:
    """A table of ``key -> (expires_at, value)`` whose entries each expire at their own time,
    with a min-heap of ``(expires_at, key)``: stale heap items (a key's earlier expiries) are
    skipped when popped, and the heap is rebuilt from the entries when they outnumber them, so
    it holds at most ``2 * len(entries) + STALE_SLACK`` items (amortised O(log n) per put)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.entries: dict[str, tuple[float, Any]] = {}
        self.heap: list[tuple[float, str]] = []

    def get(self, key: str, now: float) -> Any:
        entry = self.entries.get(key)
        return entry[1] if entry is not None and entry[0] >= now else None

    def put(self, key: str, expires_at: float, value: Any, now: float) -> int:
        """Store; returns how many live entries the cap pushed out."""
        old = self.entries.get(key)
        entries = self.entries
        entries[key] = (expires_at, value)
        if old is None or old[0] != expires_at:
            heapq.heappush(self.heap, (expires_at, key))
            if len(self.heap) > 2 * len(entries) + STALE_SLACK:  # a key's earlier expiries
                self.heap = [(at, k) for k, (at, _) in entries.items()]
                heapq.heapify(self.heap)
        forced = 0
        if len(self.entries) > self.cap:
            self.expire(now)  # what expired goes first, uncounted
            while len(self.entries) > self.cap:
                forced += self._pop_earliest()
        return forced

    def expire(self, now: float) -> None:
        heap, entries = self.heap, self.entries
        while heap and heap[0][0] < now:
            at, key = heapq.heappop(heap)
            entry = entries.get(key)
            if entry is not None and entry[0] == at:
                del entries[key]

    def _pop_earliest(self) -> int:
        at, key = heapq.heappop(self.heap)
        entry = self.entries.get(key)
        if entry is None or entry[0] != at:
            return 0
        del self.entries[key]
        return 1


class _Recent:
    """A table whose entries all live ``horizon`` seconds after their last update: insertion
    order is expiry order (records come in time order), so the oldest is always first."""

    def __init__(self, horizon: float, cap: int) -> None:
        self.horizon = horizon
        self.cap = cap
        self.entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str, now: float) -> Any:
        entry = self.entries.get(key)
        return entry[1] if entry is not None and entry[0] + self.horizon >= now else None

    def put(self, key: str, now: float, value: Any) -> int:
        """Store (as most recent); returns how many live entries the cap pushed out."""
        entries = self.entries
        entries[key] = (now, value)
        entries.move_to_end(key)
        forced = 0
        if len(entries) > self.cap:
            self.expire(now)  # what expired goes first, uncounted
            while len(entries) > self.cap:
                entries.popitem(last=False)
                forced += 1
        return forced

    def expire(self, now: float) -> None:
        entries, horizon = self.entries, self.horizon
        while entries:
            key, (at, _) = next(iter(entries.items()))
            if at + horizon >= now:
                return
            del entries[key]


class History:
    """Earlier records' facts, each kept for its time horizon (see the module doc).

    ``max_entries`` caps each of the assertion, issued-value and environment tables and
    ``trace_entries`` the trace table (entries, a safety net for memory); ``profile`` gives the
    longest assertion lifetime. ``overflowed`` counts entries the caps pushed out before their
    horizon (0 means every history fact was found as if memory were unbounded).
    """

    def __init__(self, max_entries: int = 10_000, profile: Profile | None = None,
                 trace_entries: int = 1_000) -> None:
        lifetime = profile.max_assertion_lifetime_s if profile is not None else None
        self.assertion_lifetime_s = float(lifetime) if lifetime else DEFAULT_ASSERTION_LIFETIME_S
        self.max_entries = max_entries
        self.trace_entries = trace_entries
        self.overflowed = 0
        """Entries pushed out by ``max_entries`` or ``trace_entries`` before their horizon."""
        self._assertions = _Horizon(max_entries)
        self._issued = _Horizon(max_entries)
        self._client_envs = _Recent(CLIENT_ENV_HORIZON_S, max_entries)
        self._traces = _Recent(TRACE_HORIZON_S, trace_entries)
        self._purge_at = -math.inf
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Entries held in all tables (expired ones not yet dropped included)."""
        return (len(self._assertions.entries) + len(self._issued.entries)
                + len(self._client_envs.entries) + len(self._traces.entries))

    def annotate(self, r: Record) -> None:
        """Add history facts to ``r`` in place, then remember what ``r`` sent; first drop
        what expired by ``r``'s ``time``. A record whose ``time`` is not a finite number of
        seconds is left alone (a reuse "after NaN seconds" is no fact)."""
        now = r.get("time")
        if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
            return  # a record without a finite time neither learns nor teaches anything
        with self._lock:
            if now >= self._purge_at:  # lookups check horizons: purging is for memory only
                self._purge_at = now + PURGE_EVERY_S
                for table in (self._assertions, self._issued, self._client_envs, self._traces):
                    table.expire(now)
            self._assertion(r, now)
            self._presented(r, now)
            self._trace(r, now)
            self._environments(r, now)

    def _assertion_expiry(self, r: Record, now: float) -> float:
        exp = to_seconds(r.get("assertion.exp"))
        default = now + self.assertion_lifetime_s + LEEWAY_S
        if exp is None:
            return default
        return min(exp + LEEWAY_S, now + MAX_HORIZON_S)

    def _assertion(self, r: Record, now: float) -> None:
        if not is_exchange(r) or r.get("assertion.source") not in ("assertion", "client_assertion"):
            return
        keys = [f"a:{r['assertion.fp']}"] if r.get("assertion.fp") else []
        if r.get("assertion.jti_fp") and r.get("assertion.iss_fp"):
            keys.append(f"j:{r['assertion.iss_fp']}:{r['assertion.jti_fp']}")
        table = self._assertions
        found = [(k, table.entries[k][0], first) for k in keys
                 if (first := table.get(k, now)) is not None]
        first_seen = min((f for _, _, f in found), default=now)
        if found:
            r["assertion.reused_after_s"] = round(now - first_seen, 3)
        expires_at = self._assertion_expiry(r, now)
        alive = {k: at for k, at, _ in found}
        for k in keys:
            self.overflowed += table.put(k, max(expires_at, alive.get(k, expires_at)), first_seen, now)

    def _presented(self, r: Record, now: float) -> None:
        fp = r.get("presented.fp")
        if not fp or not is_api(r):
            return
        issued = self._issued.get(fp, now)
        if issued is None:
            return
        issued_at, expires_in, env = issued
        r["presented.age_s"] = round(now - issued_at, 3)
        if expires_in is not None:
            r["presented.issued_expires_in"] = expires_in
        if env:
            r["presented.issued_environment"] = env

    def _trace(self, r: Record, now: float) -> None:
        trace_id = r.get("trace_id")
        if not trace_id:
            return
        if is_exchange(r):
            # kept by reference: the diagnosis set after ``annotate`` is seen by later calls
            self.overflowed += self._traces.put(trace_id, now, r)
            return
        exchange = self._traces.get(trace_id, now) if is_api(r) else None
        if exchange is not None and exchange.get("outcome") == "failed" and exchange.get("category"):
            r["presented.after_failed_exchange"] = exchange["category"]
            if exchange.get("span_id"):
                r["presented.exchange_span_id"] = exchange["span_id"]

    def _environments(self, r: Record, now: float) -> None:
        if not is_exchange(r):
            return
        iss_fp, env = r.get("assertion.iss_fp"), r.get("environment")
        ok_in = self._client_envs.get(iss_fp, now) if iss_fp and env else None
        if ok_in and env not in ok_in and is_failure(r):
            r["assertion.iss_ok_environment"] = sorted(ok_in)[0]
        if not r.get("issued.fp"):
            return
        expires_in = r.get("issued.expires_in")
        ttl = to_seconds(expires_in) if expires_in is not None else None
        expires_at = now + (ttl if ttl is not None else DEFAULT_EXPIRES_IN_S) + ISSUED_GRACE_S
        self.overflowed += self._issued.put(r["issued.fp"], expires_at, (now, expires_in, env), now)
        if iss_fp and env:
            self.overflowed += self._client_envs.put(iss_fp, now, (ok_in or frozenset()) | {env})
