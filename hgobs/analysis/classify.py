"""Offline classification: items from the readers -> diagnosed records, streaming.

Records are judged with the same rules as capture (``hgobs.diagnose``), each at its own recorded
time. Rules that need history (assertion reuse, access-token age and origin) must see the
records in time order, so records pass through a bounded *reorder window*: ``judge`` holds the
last ``reorder_window`` records and always judges the earliest of them (ties: input order), and
no record waits for more than ``reorder_window`` later ones. Input that is never further out of
time order than the window is therefore judged exactly as if it had been sorted whole; a record
further out of order is judged without the history that comes after it in the window. Memory is
bounded by the window and by ``History`` (``history_entries`` per table), whatever the input
size.

Totals reconcile: every item is either classified or skipped with its reason. ``classify``
keeps the earlier materialising API (a ``Result`` in input order, every record sorted by time
first); ``judge`` and ``judge_in_input_order`` stream.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hgobs.catalog import CATEGORIES, CONFIRMED, OK
from hgobs.diagnose import Diagnosis, History, diagnose, is_failure
from hgobs.diagnosis.stamp import stamp_matches
from hgobs.profiles import Profile
from hgobs.readers.base import Item
from hgobs.schema import Record

HISTORY_FIELDS = ("assertion.reused_after_s", "assertion.iss_ok_environment", "presented.age_s",
                  "presented.issued_expires_in", "presented.issued_environment",
                  "presented.after_failed_exchange", "presented.exchange_span_id")
"""Fields ``History.annotate`` adds: facts about earlier records."""
DIAGNOSIS_FIELDS = ("outcome", "category", "confidence", "fix", "evidence", "also", "group",
                    "diagnosis.rules", "diagnosis.profile")
RECOMPUTED_FIELDS = HISTORY_FIELDS + DIAGNOSIS_FIELDS
"""Fields a record may carry from capture that this run computes again."""

DEFAULT_REORDER_WINDOW = 10_000
"""Records held to put the input in time order before judging (see module doc)."""
DEFAULT_HISTORY_ENTRIES = 200_000
"""Entries of each ``History`` table (assertions, issued values, environments per ``iss``)."""


@dataclass(frozen=True)
class Classified:
    """One classified record and where it came from (``<file>:<line>``)."""

    source: str
    record: Record


@dataclass
class Result:
    """The outcome of a run: classified records and skipped items, both in input order."""

    classified: list[Classified] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Items read (= classified + skipped)."""
        return len(self.classified) + len(self.skipped)


Judged = Classified | Item
"""What ``judge`` yields: a classified record, or an ``Item`` that was skipped."""


class _Judge:
    """Annotates and diagnoses one record at a time, in the order it is given them.

    With ``trust``, a record stamped by these very rules under this very profile
    (``hgobs.diagnosis.stamp.stamp_matches``) whose history facts, found again here, equal the ones it
    carries keeps the diagnosis it carries: the rules are pure functions of the record, so
    judging it again would give the same verdict. Any other record is judged again.
    """

    def __init__(self, profile: Profile, client_fp: str | None, history_entries: int,
                 trust: bool = True) -> None:
        self.profile = profile
        self.client_fp = client_fp
        self.trust = trust and client_fp is None
        self.history = History(max_entries=history_entries, profile=profile)

    def __call__(self, record: Record) -> Record:
        """Judge ``record`` in place (see ``classify``) and return it."""
        recorded = self.take_recorded(record)
        self.history.annotate(record)
        return self.decide(record, recorded)

    def take_recorded(self, record: Record) -> Record:
        """Remove the fields this run computes again from ``record`` (returned, those present),
        and judge ``iss``/``sub`` against the configured client id when there is one."""
        pop = record.pop
        recorded = {}
        for name in RECOMPUTED_FIELDS:
            value = pop(name, None)
            if value is not None:
                recorded[name] = value
        client_fp = self.client_fp
        if client_fp is not None:
            for claim in ("iss", "sub"):
                if record.get(f"assertion.{claim}_fp"):
                    record[f"assertion.{claim}_is_client"] = (
                        record[f"assertion.{claim}_fp"] == client_fp)
        return recorded

    def trusted(self, record: Record, recorded: Record) -> bool:
        """True when ``record`` (history facts added) may keep its ``recorded`` diagnosis."""
        if not self.trust or not stamp_matches(recorded, self.profile):
            return False
        category = recorded.get("category")
        if category != OK and category not in CATEGORIES:
            return False
        get = record.get
        return all(get(name) == recorded.get(name) for name in HISTORY_FIELDS)

    def decide(self, record: Record, recorded: Record) -> Record:
        """Diagnose ``record`` (history facts already added) in place and return it."""
        if self.trusted(record, recorded):
            for name in DIAGNOSIS_FIELDS:
                if name in recorded:
                    record[name] = recorded[name]
        elif is_failure(record):
            record.update(diagnose(record, self.profile).as_fields())
        else:  # what ``diagnose`` returns for every attempt that did not fail
            record.update(_OK_FIELDS)
        return record


_OK_FIELDS = Diagnosis(OK, CONFIRMED).as_fields()
"""The diagnosis fields of a success (``diagnose`` returns ``Diagnosis(OK, CONFIRMED)``
whenever ``is_failure`` is false); all immutable values, so one dict serves every record."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting still frees everything).

    Records are trees of dicts, lists and strings, never cycles, yet each one allocates enough
    containers to trigger collections that scan the whole reorder window and history again
    and again: about a fifth of the analyzer's time on a large input. Wrap a streaming run
    in this; the collector is restored (and run once) on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _time_key(record: Record) -> float:
    """The time a record is ordered by: its ``time``, or 0.0 when it has none (as before)."""
    t = record.get("time", 0.0)
    return t if isinstance(t, (int, float)) and t == t else 0.0


def _judge(items: Iterable[Item], profile: Profile, client_fp: str | None,
           reorder_window: int | None, history_entries: int, trust: bool = True
           ) -> Iterator[tuple[int, Judged]]:
    """``judge``, each result paired with its item's input number (0-based)."""
    if reorder_window is not None and reorder_window < 1:
        raise ValueError("reorder_window must be at least 1")
    judge_one = _Judge(profile, client_fp, history_entries, trust)
    limit = reorder_window if reorder_window is not None else -1
    heap: list[tuple[float, int, list[Any]]] = []
    fifo: deque[list[Any]] = deque()  # pending entries in input order, for the age limit
    pending = 0
    push, pop = heapq.heappush, heapq.heappop
    for number, item in enumerate(items):
        record = item.record
        if record is None:
            yield number, item
            continue
        entry = [item.source, record, False, number]  # source, record, judged, input number
        push(heap, (_time_key(record), number, entry))
        pending += 1
        if limit < 0:
            continue
        if limit < pending:
            head = pop(heap)[2]
            while head[2]:
                head = pop(heap)[2]
            head[2] = True
            pending -= 1
            yield head[3], Classified(head[0], judge_one(head[1]))
        fifo.append(entry)
        while fifo:
            head = fifo[0]
            if head[2]:
                fifo.popleft()
            elif head[3] <= number - limit:  # waited for ``limit`` later items: judge it now
                fifo.popleft()
                head[2] = True
                pending -= 1
                yield head[3], Classified(head[0], judge_one(head[1]))
            else:
                break
    while heap:
        head = pop(heap)[2]
        if not head[2]:
            head[2] = True
            yield head[3], Classified(head[0], judge_one(head[1]))


def judge(items: Iterable[Item], profile: Profile, client_fp: str | None = None, *,
          reorder_window: int | None = DEFAULT_REORDER_WINDOW,
          history_entries: int = DEFAULT_HISTORY_ENTRIES, trust: bool = True
          ) -> Iterator[Judged]:
    """Classify ``items`` as they stream in; yields each as soon as it is judged.

    Skipped items are yielded at once; records are yielded in the order they are judged (time
    order within the reorder window, see module doc), each a ``Classified`` whose record has
    been annotated and diagnosed in place (readers hand over the dicts they yield). Records of
    one run see each other's history. ``reorder_window`` (records; None: hold every record
    until the end, exact time order but memory that grows with the input) and
    ``history_entries`` bound memory. ``client_fp`` is the keyed fingerprint of the client id
    to judge ``iss``/``sub`` against (it matches ``assertion.iss_fp`` only under the same
    ``HGOBS_FINGERPRINT_KEY``). With ``trust`` (the default; never with ``client_fp``), a record
    stamped by these rules keeps its diagnosis when its history facts are found again unchanged
    (see ``_Judge``).
    """
    for _, judged in _judge(items, profile, client_fp, reorder_window, history_entries, trust):
        yield judged


def judge_in_input_order(items: Iterable[Item], profile: Profile, client_fp: str | None = None,
                         *, reorder_window: int | None = DEFAULT_REORDER_WINDOW,
                         history_entries: int = DEFAULT_HISTORY_ENTRIES, trust: bool = True
          ) -> Iterator[Judged]:
    """Like ``judge``, but yields records and skipped items in input order.

    Each is held until every item before it has been yielded; since no record waits for more
    than ``reorder_window`` later items, at most about that many are held.
    """
    held: dict[int, Judged] = {}
    following = 0
    for number, judged in _judge(items, profile, client_fp, reorder_window, history_entries, trust):
        if number != following:
            held[number] = judged
            continue
        yield judged
        following += 1
        while following in held:
            yield held.pop(following)
            following += 1


def classify(items: Iterable[Item], profile: Profile, client_fp: str | None = None) -> Result:
    """Diagnose every record of ``items`` and return them all, in input order.

    Materialises the input: every record is sorted by time (a stable sort, so equal times keep
    input order) before any is judged, and history remembers them all. For inputs of any size
    use ``judge`` (streaming, bounded memory).
    """
    collected = [item if item.record is None else Item(item.source, dict(item.record))
                 for item in items]
    records = sum(1 for item in collected if item.record is not None)
    result = Result()
    for judged in judge_in_input_order(collected, profile, client_fp, reorder_window=None,
                                       history_entries=max(10_000, records)):
        if isinstance(judged, Classified):
            result.classified.append(judged)
        else:
            result.skipped.append(judged)
    return result


__all__ = ["DEFAULT_HISTORY_ENTRIES", "DEFAULT_REORDER_WINDOW", "Classified", "Judged", "Result",
           "classify", "gc_paused", "judge", "judge_in_input_order"]
