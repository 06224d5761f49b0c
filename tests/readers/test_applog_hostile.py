"""Junk given to the application-log readers: every non-blank line is one item, nothing
raises, work stays linear, and no reason quotes the input."""

from __future__ import annotations

import io
import json
import time

import pytest

from hgobs.readers import bunyan, ecs, jsonlog, logfmt, otelconsole, pylog
from hgobs.readers.appfields import MAX_FIELDS, flatten

READERS = [ecs, bunyan, jsonlog, logfmt, otelconsole, pylog]
MARK = "zq-planted-9f3"
JUNK = [
    b'{"message": "' + MARK.encode() + b'", "url": 5, "status": "abc"}',
    b'{"msg": "x", "req": {"url": "/no-host"}, "res": {"statusCode": 401}, "time": "never"}',
    b'{"event": "x", "url": "https://sandbox.healthgorilla.com/oauth/token", "status": 999}',
    b'{"event": "' + MARK.encode() + b'", "url": "https://sandbox.healthgorilla.com/oauth/token"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
    b"\xff\xfe not utf-8 " + MARK.encode(),
    b'level=error msg="unterminated ' + MARK.encode(),
    b"Traceback (most recent call last):",
    b"    " + MARK.encode(),
    b"}",
    b"{",
]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
def test_junk_is_accounted_for_and_never_quoted(reader):
    data = b"\n".join(JUNK) + b"\n"
    items = list(reader.read(io.BytesIO(data), "junk.log"))
    assert items, reader.NAME
    if not reader.WHOLE_DOCUMENT and reader is not pylog:  # line readers: one item per line
        assert len(items) == len([line for line in JUNK if line.strip()])
    assert not any(MARK in (i.reason or "") for i in items)
    assert not any(MARK in json.dumps(i.record) for i in items if i.record)


def test_wide_and_deep_events_are_cut():
    """An event of 100,000 keys or 1,000 levels is read as far as the bounds say."""
    assert len(flatten({f"k{i}": i for i in range(100_000)})) == MAX_FIELDS
    deep: dict = {}
    node = deep
    for _ in range(1000):
        node["a"] = {}
        node = node["a"]
    assert max(len(k.split(".")) for k in flatten(deep)) <= 8


def test_a_huge_message_is_read_in_linear_time():
    """Many braces and URLs in one 1 MB message: bounded matching, a reason, quickly."""
    line = json.dumps({"event": "{" * 400_000 + "https://a " * 20_000, "time": 1}).encode()
    started = time.perf_counter()
    items = list(jsonlog.read(io.BytesIO(line + b"\n"), "big.log"))
    assert len(items) == 1 and items[0].record is None
    assert time.perf_counter() - started < 5.0
