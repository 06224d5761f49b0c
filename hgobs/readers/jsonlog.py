"""Reader for flat JSON application logs (structlog, python-json-logger, any one-object-per-line log).

structlog's ``JSONRenderer`` and python-json-logger's ``JsonFormatter`` write one JSON object
per line whose keys are whatever the code logged: the message (``event``, ``message`` or
``msg``), a time (``timestamp``, ``asctime`` ...) and the call's own keyword arguments or
``extra`` fields. Neither library defines HTTP fields, so an exchange is read by the common key
spellings listed in ``hgobs.readers.appfields`` (``url``/``request_url``, ``method``,
``status``/``status_code``, ``response``/``body``/``error``, ``exception``/``exc_info`` for a
traceback). Tried after every other JSON format (``hgobs.readers.REGISTRY``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from hgobs.readers.appfields import (
    MESSAGE_KEYS,
    STATUS_KEYS,
    URL_KEYS,
    first_event,
    read_events,
)
from hgobs.readers.base import Item, ReadContext
from hgobs.schema import SCHEMA_ID

NAME = "json-app-log"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
_KEYS = frozenset((*MESSAGE_KEYS, *URL_KEYS, *STATUS_KEYS))


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first line is a JSON object with a message, URL or status key (any
    spelling of ``appfields``, top level, any letter case) and the head names no hgobs
    record."""
    event = first_event(head)
    if event is None or SCHEMA_ID.encode() in head:
        return False
    return any(str(key).lower() in _KEYS for key in event)


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """One item per non-blank line of a JSON application log (``appfields.read_events``)."""
    return read_events(stream, name, ctx)
