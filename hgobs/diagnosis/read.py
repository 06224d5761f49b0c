"""Record readers the rules share: typed field access, the server's words, failure and kind.

Each is a small pure function of one record (a ``dict`` of schema fields, ``hgobs.schema``);
none raises on a missing or mistyped field.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from hgobs.diagnosis.catalog import CONFIRMED, LIKELY
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE

Record = dict[str, Any]
REFUSED_API_STATUSES = frozenset({401, 403, 429})
"""API call statuses that are auth refusals (RFC 6750 section 3.1; RFC 6585 section 4)."""


def text(value: Any) -> str:
    """``value`` when it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def to_seconds(value: Any) -> float | None:
    """A NumericDate claim as seconds (milliseconds scaled down); None if not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value / 1000.0 if value > 1e11 else float(value)


def server_said(r: Record, pattern: str) -> bool:
    """True when the server's words (error description, message, challenge description)
    match ``pattern``, case-insensitively."""
    get = r.get
    return matches(f"{text(get('response.error_description'))} {text(get('response.message'))} "
                   f"{text(get('challenge.error_description'))}", pattern)


@functools.lru_cache(maxsize=1024)
def matches(words: str, pattern: str) -> bool:
    """``re.search(pattern, words, re.I)`` found something (remembered: a server says the same
    few things, and each rule asks its own question of them; 1,024 texts at most)."""
    return re.search(pattern, words, re.I) is not None


def error(r: Record) -> str:
    """The OAuth ``error`` code the server answered (body first, then the challenge), or ``""``."""
    return text(r.get("response.error")) or text(r.get("challenge.error"))


def refused_like(r: Record, *errors: str) -> str:
    """CONFIRMED when the server answered one of ``errors`` (or an empty body), else LIKELY."""
    if error(r) in errors or r.get("response.body_empty"):
        return CONFIRMED
    return LIKELY


def is_exchange(r: Record) -> bool:
    """True for a token exchange (``endpoint.kind``)."""
    return r.get("endpoint.kind") == TOKEN_EXCHANGE


def is_api(r: Record) -> bool:
    """True for an API call (``endpoint.kind``)."""
    return r.get("endpoint.kind") == API_CALL


def is_failure(r: Record) -> bool:
    """True when the attempt failed: a token exchange without a 2xx, or a refused API call."""
    status = r.get("http.status")
    if is_api(r):
        return status is None or status in REFUSED_API_STATUSES or status >= 400
    return status is None or not 200 <= status < 300


def called_token_url(r: Record) -> str:
    """The URL called, without its query."""
    return text(r.get("url")).split("?", 1)[0]
