"""JSON text parsed fast, with the standard library's results.

The readers accept exactly what ``json.loads`` accepts and read it to the same values (their
skip reasons come from the standard library too). ``msgspec`` parses UTF-8 JSON several times
faster; every document it accepts it reads to the same value as ``json.loads`` would, integers
beyond 64 bits included, and what it refuses (``NaN`` and ``Infinity``, numbers beyond the
float range, escaped lone surrogates, a byte order mark, text that is not UTF-8 or not JSON)
is left to the caller's standard-library path. ``tests/readers/test_jsontext.py`` compares both
on odd documents.
"""

from __future__ import annotations

from typing import Any

import msgspec

REFUSED: Any = object()
"""Returned by ``fast_loads`` for text it leaves to ``json.loads``."""

_decode = msgspec.json.Decoder().decode


def fast_loads(data: bytes) -> Any:
    """The value of the JSON text ``data`` (bytes, UTF-8), as ``json.loads`` reads it; or
    ``REFUSED`` when ``json.loads`` must decide (it may still accept it, e.g. ``NaN``). Never
    raises."""
    try:
        return _decode(data)
    except (msgspec.MsgspecError, RecursionError):
        return REFUSED
