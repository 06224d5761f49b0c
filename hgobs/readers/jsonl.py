"""Reader for hgobs JSON Lines (the capture sink's output): one record per line.

Yields ``Item`` objects in input order: a record with its source ``<file>:<line>``, or a skip
with the reason. Every non-blank line yields exactly one item, so totals reconcile
(lines read = records + skipped). Reasons never quote the line (it may hold secrets).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from hgobs.readers.base import Item, ReadContext
from hgobs.schema import FIELD_NAMES, SCHEMA_ID

MAX_LINE_BYTES = 1 << 20
"""Longest line read as a record (bytes); longer lines are skipped with a reason."""


def parse_line(raw: bytes, source: str) -> Item:
    """One line of hgobs JSON Lines -> an ``Item`` (never raises)."""
    if len(raw) > MAX_LINE_BYTES:
        return Item(source, reason=f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Item(source, reason=f"not UTF-8 (byte {exc.start})")
    try:
        obj: Any = json.loads(text)
    except ValueError as exc:
        return Item(source, reason=f"not JSON ({type(exc).__name__} at column {getattr(exc, 'colno', '?')})")
    if not isinstance(obj, dict):
        return Item(source, reason="not a JSON object")
    schema = obj.pop("schema", None)
    if schema != SCHEMA_ID:
        return Item(source, reason=f"not an hgobs record (schema {str(schema)[:40]!r})")
    record = {k: v for k, v in obj.items() if k in FIELD_NAMES}
    if not isinstance(record.get("time"), (int, float)) or isinstance(record.get("time"), bool):
        return Item(source, reason="record has no numeric 'time'")
    if record.get("endpoint.kind") not in ("token_exchange", "api_call"):
        return Item(source, reason="record has no valid 'endpoint.kind'")
    return Item(source, record=record)


NAME = "hgobs-jsonl"


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of an open binary ``stream`` named ``name``; blank lines are not records."""
    for lineno, raw in enumerate(stream, start=1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        yield parse_line(line, f"{name}:{lineno}")


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first bytes of a file look like hgobs JSON Lines."""
    first = head.lstrip()[:200]
    return first.startswith(b"{") and SCHEMA_ID.encode() in head.split(b"\n", 1)[0]
