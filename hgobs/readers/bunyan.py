"""Reader for Bunyan and pino JSON logs (pino-http's request lines among them): one event per line.

Bunyan writes ``{"name", "hostname", "pid", "level": 30, "msg", "time": ISO text, "v": 0}``;
pino the same with ``time`` in epoch milliseconds (and ``v`` absent). An HTTP exchange is read
from their ``req``/``res``/``err`` objects as their standard serializers write them
(``req.method``, ``req.url``, ``req.headers``; ``res.statusCode``, ``res.headers`` or Bunyan's
raw ``res.header``; ``err.code``/``err.type``): pino-http's ``req.url`` is the path, put on the
``host`` header (``hgobs.readers.appfields``). References:
https://github.com/trentm/node-bunyan#core-fields, https://github.com/pinojs/pino-http#pinohttpopts-stream,
https://github.com/pinojs/pino-std-serializers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from hgobs.readers.appfields import first_event, read_events
from hgobs.readers.base import Item, ReadContext
from hgobs.schema import SCHEMA_ID

NAME = "bunyan-pino"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
_LEVELS = frozenset({10, 20, 30, 40, 50, 60})


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first line is a JSON object with a numeric Bunyan/pino ``level`` (10 to
    60), a ``time``, and ``v`` (Bunyan), ``hostname``, ``pid`` or ``msg``; and the head names no
    hgobs record."""
    event = first_event(head)
    if event is None or SCHEMA_ID.encode() in head:
        return False
    level = event.get("level")
    return (isinstance(level, int) and not isinstance(level, bool) and level in _LEVELS
            and "time" in event and any(k in event for k in ("v", "hostname", "pid", "msg")))


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """One item per non-blank line of a Bunyan or pino log (``appfields.read_events``)."""
    return read_events(stream, name, ctx)
