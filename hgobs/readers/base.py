"""What every reader shares: the ``Item`` it yields and the ``ReadContext`` it reads with.

A reader module has ``NAME``, ``sniff(head: bytes, name: str) -> bool`` (does a file whose first
bytes are ``head`` look like this format) and ``read(stream, name, ctx) -> Iterator[Item]``.
Every unit a reader reads (line, entry, span, transcript block) yields exactly one ``Item``: a
record, or a skip with a reason, so totals reconcile. Reasons never quote the input (it may hold
secrets). Readers of raw HTTP (HAR, ``curl -v``, text logs) build records with
``hgobs.readers.raw``, which applies the same allowlist and redaction as capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hgobs.profiles import Profile, load_profile
from hgobs.redaction import Fingerprinter
from hgobs.schema import Record


@dataclass(frozen=True)
class Item:
    """One input unit: ``record`` (None when skipped), its ``source`` and a skip ``reason``.

    ``source`` is ``<file>:<line>`` for line formats and ``<file>#<entry>`` for entries of a
    document (HAR entries, spans of a trace file).
    """

    source: str
    record: Record | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReadContext:
    """How to read: the provider ``profile``, the configured ``client_id`` and the
    ``fingerprint`` function used for values that raw inputs hold in clear."""

    profile: Profile = field(default_factory=load_profile)
    client_id: str | None = None
    fingerprint: Fingerprinter = field(default_factory=Fingerprinter)
