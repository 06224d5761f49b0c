"""Reader for logfmt application logs (``time=... level=error msg="..." status=400 url=...``).

logfmt (Heroku's, and what Go's ``log/slog`` ``TextHandler``, logrus's text formatter, and
structlog's ``LogfmtRenderer`` write) is one event per line of ``key=value`` pairs, a value in
double quotes when it holds spaces (``\\"`` and ``\\\\`` escaped inside). Each line is split by a
single left-to-right scan (no regular expression), then read by the key spellings of
``hgobs.readers.appfields`` (``url``, ``method``, ``status``, ``body``/``error`` ...).
Reference: https://brandur.org/logfmt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from hgobs.readers.appfields import MAX_FIELDS, MESSAGE_KEYS, TIME_KEYS, read_events
from hgobs.readers.base import Item, ReadContext

NAME = "logfmt"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@/")


def pairs(line: str) -> tuple[dict[str, str], int]:
    """The ``key=value`` pairs of one logfmt line (at most ``MAX_FIELDS``; the first of a
    repeated key kept) and how many space-separated tokens were not pairs. Linear in the line."""
    out: dict[str, str] = {}
    other = i = 0
    n = len(line)
    while i < n and len(out) < MAX_FIELDS:
        while i < n and line[i] in " \t":
            i += 1
        start = i
        while i < n and line[i] in _KEY_CHARS:
            i += 1
        key = line[start:i]
        if not key or i >= n or line[i] != "=":
            while i < n and line[i] not in " \t":
                i += 1
            other += i > start
            continue
        i += 1
        if i < n and line[i] == '"':
            i += 1
            chars = []
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                    chars.append({"n": "\n", "t": "\t"}.get(line[i], line[i]))
                else:
                    chars.append(line[i])
                i += 1
            i += 1
            value = "".join(chars)
        else:
            begin = i
            while i < n and line[i] not in " \t":
                i += 1
            value = line[begin:i]
        out.setdefault(key, value)
    return out, other


def _event(raw: bytes) -> dict[str, Any] | str:
    """The pairs of one logfmt line, or the reason it is none."""
    found, _ = pairs(raw.decode("utf-8", "surrogateescape"))
    return found if found else "not a logfmt line (no key=value pairs)"


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """One item per non-blank line of a logfmt log (``appfields.read_events``): a record, or a
    skip with the reason (a line without pairs is ``not a logfmt line``); an event without a
    time takes the last one seen."""
    return read_events(stream, name, ctx, _event)


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first line that is not blank starts with a ``key=`` pair, holds at least
    three pairs, a time or message key among them, and at most one token that is no pair."""
    line = head.lstrip().split(b"\n", 1)[0].decode("utf-8", "replace")
    if not line or line[0] not in _KEY_CHARS or line.startswith(("{", "[")):
        return False
    found, other = pairs(line[:4096])
    keys = {key.lower() for key in found}
    first = line.split("=", 1)[0]
    return (len(found) >= 3 and other <= 1 and first in found
            and bool(keys & {*TIME_KEYS, *MESSAGE_KEYS, "level"}))
