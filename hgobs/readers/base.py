"""What every reader shares: the ``Reader`` protocol, the ``Item`` it yields, the ``ReadContext``.

A reader module satisfies ``Reader``: ``NAME``, ``sniff(head: bytes, name: str) -> bool`` (does
a file whose first bytes are ``head`` look like this format) and ``read(stream, name, ctx) ->
Iterator[Item]``; ``hgobs.readers.REGISTRY`` lists them once, in the order they are sniffed.
Every unit a reader reads (line, entry, span, transcript block) yields exactly one ``Item``: a
record, or a skip with a reason, so totals reconcile. Reasons never quote the input (it may hold
secrets). Readers of raw HTTP (HAR, ``curl -v``, text logs) build records with
``hgobs.readers.raw``, which applies the same allowlist and redaction as capture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

from hgobs.profiles import Profile, ProfileSet
from hgobs.readers.files import ByteTally
from hgobs.redaction import Fingerprinter
from hgobs.schema import Record


@dataclass(frozen=True)
class Item:
    """One input unit: ``record`` (None when skipped), its ``source`` and a skip ``reason``.

    ``source`` is ``<file>:<line>`` for line formats and ``<file>#<entry>`` for entries of a
    document (HAR entries, spans of a trace file). ``full`` is set only on a lean item (asked
    for with ``ReadContext.lean``): then ``record`` holds just the ``ANALYSIS_FIELDS`` the line
    has, and ``full()`` decodes the whole record again (a new dict at each call, the same
    dict the reader yields without ``lean``).
    """

    source: str
    record: Record | None = None
    reason: str | None = None
    full: Callable[[], Record] | None = None


ANALYSIS_FIELDS = (
    "time", "endpoint.kind", "environment", "service.name", "client.fp", "http.status",
    "trace_id", "span_id", "assertion.source", "assertion.fp", "assertion.jti_fp",
    "assertion.iss_fp", "assertion.sub_fp", "assertion.exp", "assertion.aud_environment",
    "presented.fp", "issued.fp", "issued.expires_in",
    "assertion.reused_after_s", "assertion.iss_ok_environment", "presented.age_s",
    "presented.issued_expires_in", "presented.issued_environment",
    "presented.after_failed_exchange", "presented.exchange_span_id",
    "outcome", "category", "confidence", "fix", "evidence", "also", "also_confidence", "group",
    "diagnosis.rules", "diagnosis.profile", "profile", "url")
"""The record fields the analysis reads of a record it does not judge again: the history
facts ``hgobs.diagnosis.History`` reads and adds, the verdict and stamp a record carries, the
report's keys (``hgobs.analysis.state``) and the drill-down's columns. A lean item holds only
these (``Item.full`` gives the rest, for a record whose failure is judged again)."""


DEFAULT_LATENESS_S = 300.0
"""How far (seconds) a record may be out of time order in its file and still be read in order:
concurrent writers of one log and clock adjustments leave records seconds apart, rarely more
than a few minutes; a longer bound holds more records in memory (``hgobs.readers.merge``)."""
DEFAULT_MAX_BUFFERED = 200_000
"""Items one file's reorder buffer holds at most (memory cap; when hit, it is counted)."""


@dataclass(frozen=True)
class ReadContext:
    """How to read: the provider ``profile`` (one ``Profile``, or a ``ProfileSet``: by default
    every built-in, picked per URL and record as ``--profile auto`` does; ``profiles`` is it
    as a set), the configured ``client_id``, the ``fingerprint``
    function used for values that raw inputs hold in clear, and the time order's
    ``lateness_s`` (seconds) and ``max_buffered`` (items per file), see
    ``hgobs.readers.merge``. With ``lean``, a reader that can decode only the
    ``ANALYSIS_FIELDS`` of a record (the JSON Lines reader) yields lean items (see ``Item``).

    What reading found is counted here, by file name: ``late`` (records read out of time order,
    beyond the lateness bound) and ``reorder_full`` (times a file's reorder buffer was full);
    ``repeated`` lists inputs that name a file already read (read once); ``notes`` holds the
    note of each walked folder's manifest (folder -> note, ``hgobs.readers.manifest``);
    ``tally`` counts the bytes read of the inputs' total size (``ByteTally``).
    """

    profile: Profile | ProfileSet = field(default_factory=ProfileSet.auto)
    client_id: str | None = None
    fingerprint: Fingerprinter = field(default_factory=Fingerprinter)
    lateness_s: float = DEFAULT_LATENESS_S
    max_buffered: int = DEFAULT_MAX_BUFFERED
    lean: bool = False
    late: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    reorder_full: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    repeated: list[str] = field(default_factory=list, compare=False, hash=False)
    notes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    tally: ByteTally = field(default_factory=ByteTally, compare=False, hash=False)
    profiles: ProfileSet = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "profiles", ProfileSet.of(self.profile))

    @property
    def late_records(self) -> int:
        """Records read out of time order beyond the lateness bound, over every file."""
        return sum(self.late.values())


class Reader(Protocol):
    """What a reader module provides (each module in ``hgobs/readers/`` for one format)."""

    NAME: str
    """The format's name, as messages give it (``hgobs-jsonl``, ``otlp-json``, ...)."""
    WHOLE_DOCUMENT: bool
    """True when the whole (size-bounded) document is read before any item is yielded: its
    items are then put in time order before the merge (``hgobs.readers.read_file``); False for
    a stream of lines, nearly in time order already."""

    def sniff(self, head: bytes, name: str = "") -> bool:
        """True when a file whose first bytes (from its first line that is not blank) are
        ``head`` looks like this format; ``name`` is never decisive."""

    def read(self, stream: IO[bytes], name: str, ctx: ReadContext | None = None
             ) -> Iterator[Item]:
        """One ``Item`` per unit of the binary ``stream`` (a file called ``name``), in input
        order; never raises for bad input (a skip with a reason instead)."""
