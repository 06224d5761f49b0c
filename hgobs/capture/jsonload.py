"""Decode JSON bytes exactly as ``json.loads`` does, by ``orjson`` where the two agree.

Capture decodes a few small JSON documents per token exchange (the JWT header and claims, the
response body); ``orjson`` does it in a fifth of the time. It refuses some inputs the standard
library takes (``NaN`` and ``Infinity``, numbers too large for a double, lone surrogates, a
UTF-8 byte order mark, UTF-16 and UTF-32): those are decoded by ``json``. Two inputs it takes
are decoded otherwise, so they go to ``json`` without asking ``orjson``:

- an integer beyond the 64-bit range, which ``orjson`` turns into a float: any run of 19 or
  more digits goes to ``json``;
- nesting deeper than the interpreter's recursion limit allows ``json`` (``RecursionError``)
  but within ``orjson``'s own limit: more than ``MAX_BRACKETS`` opening brackets go to ``json``.

So the result, or the exception raised (``json``'s own), is the one ``json.loads`` gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

MAX_BRACKETS = 64
"""Most ``[`` and ``{`` bytes (counted anywhere, strings included) that ``orjson`` decodes."""
_LONG_RUN = b"0" * 19
_SHAPE = bytes(48 if 48 <= i <= 57 else 91 if i in (91, 123) else 32 for i in range(256))
"""Byte translation: digits to ``0``, ``[`` and ``{`` to ``[``, anything else to a space."""


def loads(data: bytes, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(data, parse_constant=parse_constant)``; raises what it raises."""
    shape = data.translate(_SHAPE)
    if _LONG_RUN not in shape and shape.count(b"[") <= MAX_BRACKETS:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    if parse_constant is None:
        return json.loads(data)
    return json.loads(data, parse_constant=parse_constant)
