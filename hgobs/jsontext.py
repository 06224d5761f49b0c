"""JSON text parsed fast, with the standard library's results.

Capture (the JWT header and claims, response bodies) and the readers accept exactly what
``json.loads`` accepts and read it to the same values (errors and skip reasons come from the
standard library too). ``msgspec`` parses UTF-8 JSON several times
faster; every document it accepts it reads to the same value as ``json.loads`` would, integers
beyond 64 bits included, and what it refuses (``NaN`` and ``Infinity``, numbers beyond the
float range, escaped lone surrogates, a byte order mark, text that is not UTF-8 or not JSON)
is left to the standard library (``loads``, or the caller's own path after ``fast_loads``).
``tests/readers/test_jsontext.py`` and ``tests/capture/test_jsonload.py`` compare both on odd,
generated and damaged documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


def loads(data: bytes, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(data, parse_constant=parse_constant)``: its value, or the error it raises
    (``ValueError``, ``RecursionError``). A document ``fast_loads`` reads holds no constant."""
    value = fast_loads(data)
    if value is not REFUSED:
        return value
    if parse_constant is None:
        return json.loads(data)
    return json.loads(data, parse_constant=parse_constant)
