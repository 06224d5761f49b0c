"""Reader for ECS JSON logs (Elastic Common Schema, as ``ecs-logging`` writes them): one event per line.

``ecs-logging``'s formatters (Python's ``StdlibFormatter``/``StructlogFormatter``, and the same
shape from its Java, .NET, Go, Node and Ruby siblings) write one JSON object per line with
``@timestamp``, ``log.level``, ``message`` and ``ecs.version``, nesting dotted field names
(``http.response.status_code`` is ``{"http": {"response": {"status_code": ...}}}``). An HTTP
exchange is read from the ECS fields ``http.request.method``, ``url.full`` (or ``url.domain``
+ ``url.path``), ``http.response.status_code``, ``http.response.body.content`` and, for a
request that got no answer, ``error.type`` (``hgobs.readers.appfields``). Reference:
https://www.elastic.co/guide/en/ecs/current/ecs-http.html and ecs-url.html.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from hgobs.readers.appfields import first_event, read_events
from hgobs.readers.base import Item, ReadContext
from hgobs.schema import SCHEMA_ID

NAME = "ecs-json"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first line is a JSON object with ``ecs.version`` (or ``ecs: {version}``)
    and the head names no hgobs record."""
    event = first_event(head)
    if event is None or SCHEMA_ID.encode() in head:
        return False
    ecs = event.get("ecs")
    return "ecs.version" in event or (isinstance(ecs, dict) and "version" in ecs)


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """One item per non-blank line of an ECS log (``hgobs.readers.appfields.read_events``)."""
    return read_events(stream, name, ctx)
